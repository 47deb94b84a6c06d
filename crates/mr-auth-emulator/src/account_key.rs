use std::fmt;

use zeroize::Zeroizing;

use crate::{Error, ErrorKind, Result};

/// An account key the emulator accepts (primary or secondary).
///
/// A secret: no `Display`, a redacted `Debug`, zeroized on drop, compared in constant time.
#[derive(Clone)]
pub struct AccountKey(Zeroizing<String>);

impl AccountKey {
    /// Wraps `key`. Empty or whitespace-only keys, and keys with control characters (which
    /// cannot travel in an `Authorization` header), are rejected.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = Zeroizing::new(key.into());
        if key.trim().is_empty() {
            return Err(Error::new(ErrorKind::InvalidConfig, "account key is empty"));
        }
        if key.chars().any(|c| c.is_control()) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "account key contains control characters",
            ));
        }
        Ok(Self(key))
    }

    /// The key itself. Keep it out of logs.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with `candidate` (the length is not hidden).
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        if expected.len() != candidate.len() {
            return false;
        }
        expected
            .iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_control_characters() {
        assert_eq!(
            AccountKey::new("  ").unwrap_err().kind(),
            ErrorKind::InvalidConfig
        );
        assert!(AccountKey::new("a\nb").is_err());
        assert!(AccountKey::new("ok-key").is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let key = AccountKey::new("super-secret").unwrap();
        assert!(!format!("{key:?}").contains("super-secret"));
        assert_eq!(key.secret(), "super-secret");
    }

    #[test]
    fn matches_exactly() {
        let key = AccountKey::new("abc").unwrap();
        assert!(key.matches(b"abc"));
        assert!(!key.matches(b"abd"));
        assert!(!key.matches(b"ab"));
        assert!(!key.matches(b"abcd"));
    }
}
