//! Text from outside (a token cache another app wrote, an authority's answer) made fit for a
//! terminal: no control characters (escape sequences, carriage returns) and no bidirectional
//! overrides, so it cannot move the cursor, retitle the window or reorder what is shown.

/// `text` without control characters and bidirectional overrides or isolates.
pub(crate) fn printable(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    text.chars()
        .filter(|c| !c.is_control() && !bidi(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_overrides_are_removed() {
        assert_eq!(printable("user@contoso.com"), "user@contoso.com");
        assert_eq!(
            printable("a\u{1b}[2J\u{1b}]0;t\u{7}b\r\n\u{202e}c\u{2066}"),
            "a[2J]0;tbc"
        );
        assert_eq!(printable("名前@例え.jp"), "名前@例え.jp");
    }
}
