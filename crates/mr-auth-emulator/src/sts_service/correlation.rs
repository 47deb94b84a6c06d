//! The `MS-CV` the emulator answers with and the check of the client's `X-MRC-CV`, both with
//! mr-auth-core's correlation vector (one validator for the client and the emulator).

use mr_auth_core::CorrelationVector;

/// A fresh `MS-CV`: a new 22-character correlation vector, then `.0`.
pub(super) fn new_ms_cv() -> String {
    format!("{}.0", CorrelationVector::new())
}

/// Whether `cv` is a correlation vector: a 16- or 22-character base of the standard base64
/// alphabet, optionally extended by `.<digits>` segments
/// ([`CorrelationVector::is_valid_header_value`]).
pub(super) fn is_correlation_vector(cv: &str) -> bool {
    CorrelationVector::is_valid_header_value(cv)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CV: &str = "DQzdx06xR5GYcLGnQTzs3w";

    #[test]
    fn ms_cv_shape() {
        let cv = new_ms_cv();
        assert_eq!(cv.len(), 24);
        assert!(cv.ends_with(".0"));
        assert!(is_correlation_vector(&cv));
        assert_ne!(new_ms_cv(), cv);
    }

    #[test]
    fn correlation_vector_validation() {
        assert!(is_correlation_vector(CV));
        assert!(is_correlation_vector("DQzdx06xR5GYcLGnQTzs3w.1.2"));
        assert!(is_correlation_vector("abcdefghijklmnop"));
        assert!(!is_correlation_vector(""));
        assert!(!is_correlation_vector("short"));
        assert!(!is_correlation_vector("DQzdx06xR5GYcLGnQTzs3-"));
        assert!(!is_correlation_vector("DQzdx06xR5GYcLGnQTzs3w."));
        assert!(!is_correlation_vector("DQzdx06xR5GYcLGnQTzs3w.x"));
    }
}
