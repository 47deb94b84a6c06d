//! Entry points for the `fuzz/` crate: each runs one parser of untrusted input on arbitrary
//! bytes and must never panic. Not part of the public API (the `fuzzing` feature exists only
//! for `cargo xtask fuzz`).

use crate::sts_response::{parse_retry_after, parse_success, status_error, ResponseMeta};
use time::OffsetDateTime;

/// 2025-01-01T00:00:00Z: a fixed "now", so a run is reproducible.
const NOW_UNIX_SECONDS: i64 = 1_735_689_600;

/// Reads a token's expiry and decodes its header and claims, as the credentials and the CLI's
/// `decode` do with a token from a server or a user.
pub fn jwt(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let expires_on = crate::jwt_expires_on(token);
    let decoded = crate::decode_jwt_unverified(token);
    // Both read `exp` by the same rules, so they must agree whenever the header is usable.
    if let Ok(decoded) = decoded {
        assert_eq!(expires_on, Ok(decoded.expires_on));
    }
}

/// Parses a 200 response body of the STS.
pub fn sts_success_body(data: &[u8]) {
    if let Ok(token) = parse_success(data) {
        // A token is only accepted with an expiry read from it.
        assert_eq!(
            crate::jwt_expires_on(token.token.secret()),
            Ok(token.expires_on)
        );
    }
}

/// Builds the typed error of a non-200 STS response from its status and headers. The input is
/// two bytes of status, then the `WWW-Authenticate`, `Retry-After` and `MS-CV` values
/// separated by `\n` (lossily decoded, as header values can be any bytes).
pub fn sts_error_response(data: &[u8]) {
    let Some((status, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\n').map(str::to_owned);
    let meta = ResponseMeta {
        status: u16::from_be_bytes(*status),
        www_authenticate: fields.next(),
        retry_after: fields.next(),
        ms_cv: fields.next(),
    };
    let now =
        OffsetDateTime::from_unix_timestamp(NOW_UNIX_SECONDS).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // The rest is the error body; the credential must never come back in the error.
    let body = fields.collect::<Vec<_>>().join("\n");
    let secret = "0123abcd-account:fuzz-account-key-secret";
    let tries = 1 + u32::from(status[0] % 4);
    let error = status_error(
        &meta,
        "https://sts.example",
        body.as_bytes(),
        secret,
        tries,
        now,
    );
    let rendered = error.to_string();
    assert!(
        !rendered.contains("fuzz-account-key-secret"),
        "the key leaked into the error"
    );
    if let Some(message) = error.service_message() {
        assert!(
            message.len() <= 1024 + 3,
            "the service message is not bounded"
        );
        assert!(!message.chars().any(char::is_control));
    }
    if let Some(value) = &meta.retry_after {
        let _ = parse_retry_after(value, now);
    }
}
