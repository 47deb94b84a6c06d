use std::fmt;
use zeroize::Zeroizing;

/// The one-time authorization code the authority sends to the loopback receiver.
///
/// A secret: no `Display`, a redacted `Debug`, zeroized on drop.
pub(crate) struct AuthorizationCode(Zeroizing<String>);

impl AuthorizationCode {
    pub(crate) fn new(code: String) -> Self {
        Self(Zeroizing::new(code))
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let code = AuthorizationCode::new("the-code".into());
        assert_eq!(code.secret(), "the-code");
        assert!(!format!("{code:?}").contains("the-code"));
    }
}
