use std::fmt;
use zeroize::Zeroizing;

/// A refresh token from the authority, used for silent renewal before any UI is shown.
///
/// A secret: no `Display`, a redacted `Debug`, zeroized on drop.
#[derive(Clone)]
pub(crate) struct RefreshToken(Zeroizing<String>);

impl RefreshToken {
    pub(crate) fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let token = RefreshToken::new("rt-value".into());
        assert_eq!(token.secret(), "rt-value");
        assert!(!format!("{token:?}").contains("rt-value"));
    }
}
