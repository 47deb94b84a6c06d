//! Turning an STS response into a token or a typed error (spec sections 2, 3 and 6).

use crate::{jwt_expires_on, Error, ErrorKind};
use azure_core::credentials::{AccessToken, Secret};
use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;

/// What the client keeps of a response besides its body.
#[derive(Debug, Default, Clone)]
pub(crate) struct ResponseMeta {
    pub(crate) status: u16,
    pub(crate) ms_cv: Option<String>,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) retry_after: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    #[serde(rename = "AccessToken")]
    access_token: Option<String>,
}

/// A successful body: `{"AccessToken":"<jwt>"}` whose JWT has a usable `exp`.
pub(crate) fn parse_success(body: &[u8]) -> Result<AccessToken, Error> {
    let parsed: TokenBody = serde_json::from_slice(body).map_err(|error| {
        Error::new(
            ErrorKind::Protocol,
            "the STS answered 200 but the body is not the expected JSON object",
        )
        .with_source(error)
    })?;
    let token = parsed.access_token.ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            "the STS answered 200 but the body has no AccessToken field",
        )
    })?;
    let expires_on = jwt_expires_on(&token).map_err(|error| {
        Error::new(
            ErrorKind::Protocol,
            format!("the STS answered 200 but its AccessToken is unusable: {error}"),
        )
        .with_source(error)
    })?;
    Ok(AccessToken::new(Secret::new(token), expires_on))
}

/// The `Retry-After` value: delay seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = azure_core::time::parse_rfc7231(value).ok()?;
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// The message of a `WWW-Authenticate` header, bounded.
fn service_message(meta: &ResponseMeta) -> Option<String> {
    meta.www_authenticate
        .as_deref()
        .map(|value| crate::outside_text(value, MAX_SERVICE_MESSAGE))
}

const MAX_SERVICE_MESSAGE: usize = 1024;
const MAX_SERVICE_CODE: usize = 128;

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
    code: Option<serde_json::Value>,
    message: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<serde_json::Value>,
    message: Option<serde_json::Value>,
}

/// `error.code` and `error.message` of an error body (`{"error":{"code":..,"message":..}}`, or
/// the same two fields at the top level), bounded, with `secret` (the request's credential)
/// and its account-key part redacted should the service echo them. Anything else, including
/// a body that is not JSON, gives nothing.
pub(crate) fn service_error(body: &[u8], secret: &str) -> (Option<String>, Option<String>) {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return (None, None);
    };
    let (code, message) = match parsed.error {
        Some(detail) => (detail.code, detail.message),
        None => (parsed.code, parsed.message),
    };
    let text = |value: Option<serde_json::Value>, max: usize| {
        let value = match value? {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            _ => return None,
        };
        let value = redact(&value, secret);
        let value = crate::outside_text(value.trim(), max);
        (!value.is_empty()).then_some(value)
    };
    (
        text(code, MAX_SERVICE_CODE),
        text(message, MAX_SERVICE_MESSAGE),
    )
}

fn redact(text: &str, secret: &str) -> String {
    let mut text = text.to_owned();
    let key = secret.split_once(':').map(|(_, key)| key);
    for part in [Some(secret), key].into_iter().flatten() {
        if part.len() >= 8 && text.contains(part) {
            text = text.replace(part, "[redacted]");
        }
    }
    text
}

/// The typed error for any non-200 status, after `tries` tries. `body` is the response body
/// (bounded), `secret` the request's credential (redacted from anything quoted), `now` the
/// time used to read a `Retry-After` date.
pub(crate) fn status_error(
    meta: &ResponseMeta,
    endpoint: &str,
    body: &[u8],
    secret: &str,
    tries: u32,
    now: OffsetDateTime,
) -> Error {
    let retried = tries > 1;
    let (kind, message, transient) = match meta.status {
        400 => (
            ErrorKind::RequestRejected,
            "the STS rejected the request as malformed".to_owned(),
            false,
        ),
        401 => (
            ErrorKind::AuthenticationFailed,
            "the STS rejected the credential; check the account id and key (keys can be regenerated), or for Azure AD that the token is for the scope https://sts.mixedreality.azure.com//.default".to_owned(),
            false,
        ),
        403 => (
            ErrorKind::AuthenticationFailed,
            "the STS refused access; the identity is not allowed to use this account (check its role assignment)".to_owned(),
            false,
        ),
        404 => (
            ErrorKind::RequestRejected,
            format!("the STS at {endpoint} does not know this account; check that the account domain matches the account's region (for example eastus2.mixedreality.azure.com) and that the account id is right"),
            false,
        ),
        429 if retried => (
            ErrorKind::Throttled,
            format!("the STS kept throttling the requests ({tries} tries); try again later"),
            true,
        ),
        429 => (
            ErrorKind::Throttled,
            "the STS throttled the request; try again later".to_owned(),
            true,
        ),
        408 if retried => (
            ErrorKind::ServiceError,
            format!("the STS kept timing out the request ({tries} tries); try again later"),
            true,
        ),
        408 => (
            ErrorKind::ServiceError,
            "the STS timed out the request; try again later".to_owned(),
            true,
        ),
        status @ (500 | 502 | 503 | 504) if retried => (
            ErrorKind::ServiceError,
            format!("the STS kept failing with status {status} ({tries} tries); try again later, and quote the MS-CV to support if it persists"),
            true,
        ),
        status @ (500 | 502 | 503 | 504) => (
            ErrorKind::ServiceError,
            format!("the STS failed with status {status}; try again later, and quote the MS-CV to support if it persists"),
            true,
        ),
        501 => (
            ErrorKind::ServiceError,
            format!("the server at {endpoint} answered 501 Not Implemented: it does not support the token request, and retrying will not help; check that the endpoint is a Mixed Reality STS"),
            false,
        ),
        505 => (
            ErrorKind::ServiceError,
            format!("the server at {endpoint} answered 505 HTTP Version Not Supported, and retrying will not help; check the endpoint and any proxy in between"),
            false,
        ),
        status @ 500..=599 => (
            ErrorKind::ServiceError,
            format!("the STS failed with status {status}, which is not a transient failure and is not retried; quote the MS-CV to support"),
            false,
        ),
        status @ 300..=399 => (
            ErrorKind::Protocol,
            format!("the STS answered with a redirect ({status}), which is not followed; check the endpoint"),
            false,
        ),
        status @ 400..=499 => (
            ErrorKind::RequestRejected,
            format!("the STS rejected the request with status {status}"),
            false,
        ),
        status => (
            ErrorKind::Protocol,
            format!("the STS answered with the unexpected status {status}"),
            false,
        ),
    };
    let retry_after = meta
        .retry_after
        .as_deref()
        .and_then(|value| parse_retry_after(value, now));
    let (code, service_error_message) = service_error(body, secret);
    Error::new(kind, message)
        .with_transient(transient)
        .with_status(meta.status)
        .with_service_message(service_message(meta))
        .with_service_error(code, service_error_message)
        .with_ms_cv(meta.ms_cv.clone())
        .with_retry_after(retry_after)
        .with_tries(tries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_735_689_600).unwrap()
    }

    fn meta(status: u16) -> ResponseMeta {
        ResponseMeta {
            status,
            ms_cv: Some("cT1Z1Q1eTki0YgIK2wMXNQ.0".into()),
            ..ResponseMeta::default()
        }
    }

    #[test]
    fn spec_success_body() {
        let token =
            parse_success(br#"{"AccessToken":"fake.eyJleHAiOjIxNDc0ODM2NDd9.fake","Other":1}"#)
                .unwrap();
        assert_eq!(token.expires_on.unix_timestamp(), 2_147_483_647);
        assert_eq!(token.token.secret(), "fake.eyJleHAiOjIxNDc0ODM2NDd9.fake");
    }

    #[test]
    fn spec_bad_bodies_are_protocol_errors() {
        let error = parse_success(br#"{"Foo":1}"#).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol);
        assert!(error.message().contains("no AccessToken"), "{error}");

        let error = parse_success(br#"{"AccessToken":"notajwt"}"#).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol);
        assert!(
            error.message().contains("three dot-separated segments"),
            "{error}"
        );

        for body in [
            &b"<html>"[..],
            b"",
            b"[]",
            br#"{"AccessToken":5}"#,
            b"\xff\xfe",
        ] {
            let error = parse_success(body).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Protocol, "{body:?}");
        }
    }

    #[test]
    fn status_mapping() {
        let mut m = meta(401);
        m.www_authenticate = Some("Invalid token: errorMessage".into());
        let error = status_error(&m, "https://sts.example", b"", "", 1, now());
        assert_eq!(error.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(error.service_message(), Some("Invalid token: errorMessage"));
        assert_eq!(error.ms_cv(), Some("cT1Z1Q1eTki0YgIK2wMXNQ.0"));
        assert_eq!(error.status(), Some(401));

        assert_eq!(
            status_error(&meta(400), "e", b"", "", 1, now()).kind(),
            ErrorKind::RequestRejected
        );
        assert_eq!(
            status_error(&meta(403), "e", b"", "", 1, now()).kind(),
            ErrorKind::AuthenticationFailed
        );
        let not_found = status_error(&meta(404), "https://sts.eastus", b"", "", 1, now());
        assert_eq!(not_found.kind(), ErrorKind::RequestRejected);
        assert!(
            not_found.message().contains("account domain"),
            "{not_found}"
        );
        assert_eq!(
            status_error(&meta(500), "e", b"", "", 1, now()).kind(),
            ErrorKind::ServiceError
        );
        assert_eq!(
            status_error(&meta(408), "e", b"", "", 1, now()).kind(),
            ErrorKind::ServiceError
        );
        assert_eq!(
            status_error(&meta(302), "e", b"", "", 1, now()).kind(),
            ErrorKind::Protocol
        );
        assert_eq!(
            status_error(&meta(418), "e", b"", "", 1, now()).kind(),
            ErrorKind::RequestRejected
        );
        assert_eq!(
            status_error(&meta(201), "e", b"", "", 1, now()).kind(),
            ErrorKind::Protocol
        );

        let mut throttled = meta(429);
        throttled.retry_after = Some("7".into());
        let error = status_error(&throttled, "e", b"", "", 1, now());
        assert_eq!(error.kind(), ErrorKind::Throttled);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn the_service_error_body_is_kept_bounded_and_without_the_secret() {
        let secret = "87e9abb1-79b9-4502-bbae-cfae8c610f23:my-secret-key";
        let body = br#"{"error":{"code":"InvalidKey","message":"key my-secret-key is not valid\r\nforged: line"}}"#;
        let error = status_error(&meta(401), "e", body, secret, 1, now());
        assert_eq!(error.service_error_code(), Some("InvalidKey"));
        let message = error.service_error_message().unwrap();
        assert_eq!(
            message,
            "key [redacted] is not valid\u{fffd}\u{fffd}forged: line"
        );
        let text = error.to_string();
        assert!(text.contains("InvalidKey"), "{text}");
        assert!(!text.contains("my-secret-key"), "{text}");

        let top_level = br#"{"code":404,"message":"no such account"}"#;
        let error = status_error(&meta(404), "e", top_level, secret, 1, now());
        assert_eq!(error.service_error_code(), Some("404"));
        assert_eq!(error.service_error_message(), Some("no such account"));

        let huge = format!(
            r#"{{"error":{{"code":"{}","message":"{}"}}}}"#,
            "c".repeat(5000),
            "m".repeat(5000)
        );
        let error = status_error(&meta(500), "e", huge.as_bytes(), secret, 1, now());
        assert!(error.service_error_code().unwrap().len() <= MAX_SERVICE_CODE + 3);
        assert!(error.service_error_message().unwrap().len() <= MAX_SERVICE_MESSAGE + 3);

        for body in [
            &b""[..],
            b"<html>",
            b"[]",
            br#"{"error":"x"}"#,
            br#"{"error":{"code":{}}}"#,
        ] {
            let error = status_error(&meta(401), "e", body, secret, 1, now());
            assert_eq!(error.service_error_code(), None, "{body:?}");
            assert_eq!(error.service_error_message(), None, "{body:?}");
        }
    }

    #[test]
    fn non_retryable_server_errors_say_so_and_are_not_transient() {
        for status in [501u16, 505, 507] {
            let error = status_error(&meta(status), "https://sts.example", b"", "", 1, now());
            assert_eq!(error.kind(), ErrorKind::ServiceError, "{status}");
            assert!(!error.is_transient(), "{status}");
            assert!(!error.message().contains("kept"), "{error}");
            assert!(error.message().contains("not"), "{error}");
        }
        let once = status_error(&meta(503), "e", b"", "", 1, now());
        assert!(once.is_transient());
        assert!(!once.message().contains("kept"), "{once}");
        let retried = status_error(&meta(503), "e", b"", "", 4, now());
        assert!(
            retried
                .message()
                .contains("kept failing with status 503 (4 tries)"),
            "{retried}"
        );
        assert_eq!(retried.tries(), Some(4));
    }

    #[test]
    fn retry_after_forms() {
        let now = OffsetDateTime::from_unix_timestamp(1_609_459_200).unwrap(); // 2021-01-01T00:00:00Z
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Fri, 01 Jan 2021 00:00:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Thu, 31 Dec 2020 00:00:10 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn huge_or_hostile_service_messages_are_bounded() {
        let mut m = meta(401);
        m.www_authenticate = Some(format!(
            "Invalid token: {}\r\nInjected: x",
            "é".repeat(5000)
        ));
        let error = status_error(&m, "e", b"", "", 1, now());
        let message = error.service_message().unwrap();
        assert!(message.len() <= 1024 + 3);
        assert!(!message.contains('\n'));
    }
}
