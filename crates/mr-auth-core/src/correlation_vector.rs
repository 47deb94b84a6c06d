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

    /// Whether `value` has the form of a correlation vector (22 characters of `[A-Za-z0-9+/]`).
    pub fn is_well_formed(value: &str) -> bool {
        value.len() == 22
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    }
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
