use crate::Error;
use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine as _};
use std::{fmt, str::FromStr};
use uuid::Uuid;

/// The `X-MRC-CV` correlation vector sent with every STS request: 22 characters of the
/// standard base64 alphabet, the unpadded base64 of 16 random bytes. A fresh one is made for
/// every call.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CorrelationVector(String);

impl CorrelationVector {
    /// A fresh random correlation vector.
    pub fn new() -> Self {
        Self::from_uuid(Uuid::new_v4())
    }

    /// The correlation vector of a given UUID's big-endian bytes (deterministic; for tests
    /// and for callers that want to tie the STS call to their own request id).
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(STANDARD_NO_PAD.encode(uuid.as_bytes()))
    }

    /// The 22-character value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `value` has the form of a correlation vector this crate sends (22 characters of
    /// `[A-Za-z0-9+/]`).
    pub fn is_well_formed(value: &str) -> bool {
        value.len() == 22 && is_base64_text(value)
    }

    /// Whether `value` is a correlation vector as a correlation-vector header (`X-MRC-CV`,
    /// `MS-CV`) may carry one: a base of 22 (version 2) or 16 (version 1) characters of
    /// `[A-Za-z0-9+/]`, optionally extended by `.<digits>` segments, at most 128 characters
    /// in all. What this crate sends is the bare 22-character base ([`is_well_formed`]).
    ///
    /// [`is_well_formed`]: Self::is_well_formed
    ///
    /// ```
    /// use mr_auth_core::CorrelationVector;
    /// assert!(CorrelationVector::is_valid_header_value("DQzdx06xR5GYcLGnQTzs3w.1.2"));
    /// assert!(!CorrelationVector::is_valid_header_value("DQzdx06xR5GYcLGnQTzs3w."));
    /// ```
    pub fn is_valid_header_value(value: &str) -> bool {
        if value.len() > 128 {
            return false;
        }
        let mut parts = value.split('.');
        let base = parts.next().unwrap_or_default();
        matches!(base.len(), 16 | 22)
            && is_base64_text(base)
            && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// Only characters of the standard base64 alphabet, no padding.
fn is_base64_text(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Parses a caller-supplied correlation vector (for
/// [`StsTokenRequestOptions::correlation_vector`](crate::StsTokenRequestOptions)): it must be
/// well formed, since the STS rejects anything else.
impl FromStr for CorrelationVector {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if Self::is_well_formed(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::invalid_input(
                "a correlation vector is 22 characters of [A-Za-z0-9+/] (the unpadded base64 of 16 bytes); make one with CorrelationVector::new or from_uuid",
            ))
        }
    }
}

impl Default for CorrelationVector {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CorrelationVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CorrelationVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorrelationVector({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_take_v1_and_v2_bases_and_digit_extensions() {
        for good in [
            "DQzdx06xR5GYcLGnQTzs3w",
            "DQzdx06xR5GYcLGnQTzs3w.0",
            "DQzdx06xR5GYcLGnQTzs3w.1.2",
            "abcdefghijklmnop",
            "abcdefghijklmno+.7",
        ] {
            assert!(CorrelationVector::is_valid_header_value(good), "{good}");
        }
        let long = format!("DQzdx06xR5GYcLGnQTzs3w{}", ".1".repeat(60));
        for bad in [
            "",
            "short",
            "DQzdx06xR5GYcLGnQTzs3-",
            "DQzdx06xR5GYcLGnQTzs3w.",
            "DQzdx06xR5GYcLGnQTzs3w.x",
            "DQzdx06xR5GYcLGnQTzs3w..1",
            "DQzdx06xR5GYcLGnQTzs3w==",
            long.as_str(),
        ] {
            assert!(!CorrelationVector::is_valid_header_value(bad), "{bad}");
        }
        let cv = CorrelationVector::new();
        assert!(CorrelationVector::is_valid_header_value(cv.as_str()));
        assert!(!CorrelationVector::is_well_formed(
            "DQzdx06xR5GYcLGnQTzs3w.0"
        ));
    }

    #[test]
    fn reproduces_the_fixed_uuid_vector_of_the_spec() {
        let uuid = Uuid::parse_str("0d0cddc7-4eb1-4791-9870-b1a7413cecdf").unwrap();
        assert_eq!(
            CorrelationVector::from_uuid(uuid).as_str(),
            "DQzdx06xR5GYcLGnQTzs3w"
        );
    }

    #[test]
    fn fresh_values_are_well_formed_and_differ() {
        let a = CorrelationVector::new();
        let b = CorrelationVector::new();
        assert!(CorrelationVector::is_well_formed(a.as_str()), "{a}");
        assert!(CorrelationVector::is_well_formed(b.as_str()), "{b}");
        assert_ne!(a, b);
    }

    #[test]
    fn parsing_accepts_only_well_formed_values() {
        let cv: CorrelationVector = "DQzdx06xR5GYcLGnQTzs3w".parse().unwrap();
        assert_eq!(cv.as_str(), "DQzdx06xR5GYcLGnQTzs3w");
        for bad in [
            "",
            "DQzdx06xR5GYcLGnQTzs3w=",
            "DQzdx06xR5GYcLGnQTzs-_",
            "x\r\ninjected: header",
        ] {
            let error = bad.parse::<CorrelationVector>().unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn well_formed_check_rejects_other_shapes() {
        assert!(!CorrelationVector::is_well_formed(
            "DQzdx06xR5GYcLGnQTzs3w="
        ));
        assert!(!CorrelationVector::is_well_formed("DQzdx06xR5GYcLGnQTzs3"));
        assert!(!CorrelationVector::is_well_formed("DQzdx06xR5GYcLGnQTzs-_"));
    }
}
