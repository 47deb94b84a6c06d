/// `text` with every control character (escape sequences, CR, LF, BEL...) replaced by U+FFFD,
/// so that text from a file, a path or another program can be shown on a terminal as data:
/// what the workspace's errors do with such text where they are built.
///
/// ```
/// use mr_auth_core::without_control_characters;
///
/// let shown = without_control_characters("/tmp/a\u{1b}]0;title\u{7}\n".to_owned());
/// assert_eq!(shown, "/tmp/a\u{fffd}]0;title\u{fffd}\u{fffd}");
/// assert_eq!(without_control_characters("plain".to_owned()), "plain");
/// ```
pub fn without_control_characters(text: String) -> String {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect()
    } else {
        text
    }
}
