/// Text from outside (a server's answer, a broker's message, a file) as an error message may
/// quote it: control characters replaced by U+FFFD ([`without_control_characters`]), so it
/// cannot drive a terminal or forge log lines, and cut to at most `max_bytes` bytes (on a
/// character boundary, then `...`), so it cannot fill a screen or a log.
///
/// ```
/// use mr_auth_core::outside_text;
///
/// assert_eq!(outside_text("AADSTS50011: bad\u{1b}[2J", 100), "AADSTS50011: bad\u{fffd}[2J");
/// assert_eq!(outside_text("ééé", 3), "é...");
/// ```
///
/// [`without_control_characters`]: crate::without_control_characters
pub fn outside_text(text: &str, max_bytes: usize) -> String {
    let mut text = crate::without_control_characters(text.to_owned());
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}
