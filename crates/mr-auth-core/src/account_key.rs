use std::fmt;

use zeroize::Zeroizing;

use crate::Error;

/// A Mixed Reality account key: a secret, the same type on both sides of the exchange (the
/// credential that sends it and the emulator that accepts it).
///
/// No `Display`; `Debug` prints only the type name; the memory is zeroed on drop. Read it with
/// [`secret`](Self::secret); compare it with [`matches`](Self::matches), in constant time.
#[derive(Clone)]
pub struct AccountKey(Zeroizing<String>);

impl AccountKey {
    /// Wraps `key`, refusing an empty (or all-whitespace) key and one with control characters
    /// (it travels in an `Authorization` header, which cannot carry them), with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = Zeroizing::new(key.into());
        if key.trim().is_empty() {
            return Err(Error::invalid_input(
                "the account key is empty; copy a key from the account's Access Keys page",
            ));
        }
        if key.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "the account key contains control characters, which an Authorization header \
                 cannot carry; copy the key again from the account's Access Keys page",
            ));
        }
        Ok(Self(key))
    }

    /// The key itself. Keep it out of logs.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this key, compared in constant time for keys of the same length
    /// (the length is not hidden).
    pub fn matches(&self, candidate: &[u8]) -> bool {
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
    use crate::ErrorKind;

    #[test]
    fn empty_key_is_rejected() {
        for key in ["", "   ", "\t"] {
            let error = AccountKey::new(key).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(error.message().contains("account key is empty"), "{error}");
        }
    }

    #[test]
    fn control_characters_are_rejected() {
        for key in ["a\nb", "key\r", "k\u{7f}ey", "\u{0}key"] {
            let error = AccountKey::new(key).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(error.message().contains("control characters"), "{error}");
            assert!(!error.to_string().contains(key), "the key is not echoed");
        }
        assert_eq!(AccountKey::new("ok-key").unwrap().secret(), "ok-key");
    }

    #[test]
    fn debug_is_redacted() {
        let key = AccountKey::new("super-secret").unwrap();
        assert_eq!(format!("{key:?}"), "AccountKey(<redacted>)");
        assert_eq!(key.secret(), "super-secret");
    }

    #[test]
    fn matches_exactly() {
        let key = AccountKey::new("abc").unwrap();
        assert!(key.matches(b"abc"));
        assert!(!key.matches(b"abd"));
        assert!(!key.matches(b"ab"));
        assert!(!key.matches(b"abcd"));
        assert!(!key.matches(b""));
    }
}
