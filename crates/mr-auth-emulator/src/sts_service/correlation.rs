//! The `MS-CV` the emulator answers with and the check of the client's `X-MRC-CV`.

use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};

/// A fresh `MS-CV`: 22 base64 characters from 16 random bytes, then `.0`.
pub(super) fn new_ms_cv() -> String {
    let bytes: [u8; 16] = rand::random();
    let mut cv = String::with_capacity(24);
    STANDARD_NO_PAD.encode_string(bytes, &mut cv);
    cv.push_str(".0");
    cv
}

/// Whether `cv` is a correlation vector: a 16- or 22-character base of the standard base64
/// alphabet, optionally extended by `.<digits>` segments.
pub(super) fn is_correlation_vector(cv: &str) -> bool {
    if cv.len() > 128 {
        return false;
    }
    let mut parts = cv.split('.');
    let base = parts.next().unwrap_or_default();
    (base.len() == 22 || base.len() == 16)
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
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
