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

/// The message of a `WWW-Authenticate` header, bounded so a hostile server cannot fill logs.
fn service_message(meta: &ResponseMeta) -> Option<String> {
    const MAX: usize = 1024;
    meta.www_authenticate.as_ref().map(|value| {
        let mut message: String = value.chars().filter(|c| !c.is_control()).collect();
        if message.len() > MAX {
            let mut end = MAX;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("...");
        }
        message
    })
}

/// The typed error for any non-200 status (after retries, if it was retried); `now` dates an
/// HTTP-date `Retry-After`.
pub(crate) fn status_error(meta: &ResponseMeta, endpoint: &str, now: OffsetDateTime) -> Error {
    let (kind, message) = match meta.status {
        400 => (
            ErrorKind::RequestRejected,
            "the STS rejected the request as malformed".to_owned(),
        ),
        401 => (
            ErrorKind::AuthenticationFailed,
            "the STS rejected the credential; check the account id and key (keys can be regenerated), or for Azure AD that the token is for the scope https://sts.mixedreality.azure.com//.default".to_owned(),
        ),
        403 => (
            ErrorKind::AuthenticationFailed,
            "the STS refused access; the identity is not allowed to use this account (check its role assignment)".to_owned(),
        ),
        404 => (
            ErrorKind::RequestRejected,
            format!("the STS at {endpoint} does not know this account; check that the account domain matches the account's region (for example eastus2.mixedreality.azure.com) and that the account id is right"),
        ),
        429 => (
            ErrorKind::Throttled,
            "the STS kept throttling the requests; try again later".to_owned(),
        ),
        408 => (
            ErrorKind::ServiceError,
            "the STS kept timing out the request".to_owned(),
        ),
        status @ 500..=599 => (
            ErrorKind::ServiceError,
            format!("the STS kept failing with status {status}; quote the MS-CV to support if it persists"),
        ),
        status @ 300..=399 => (
            ErrorKind::Protocol,
            format!("the STS answered with a redirect ({status}), which is not followed; check the endpoint"),
        ),
        status @ 400..=499 => (
            ErrorKind::RequestRejected,
            format!("the STS rejected the request with status {status}"),
        ),
        status => (
            ErrorKind::Protocol,
            format!("the STS answered with the unexpected status {status}"),
        ),
    };
    let retry_after = meta
        .retry_after
        .as_deref()
        .and_then(|value| parse_retry_after(value, now));
    Error::new(kind, message)
        .with_status(meta.status)
        .with_service_message(service_message(meta))
        .with_ms_cv(meta.ms_cv.clone())
        .with_retry_after(retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_609_459_200).unwrap()
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
        let error = status_error(&m, "https://sts.example", now());
        assert_eq!(error.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(error.service_message(), Some("Invalid token: errorMessage"));
        assert_eq!(error.ms_cv(), Some("cT1Z1Q1eTki0YgIK2wMXNQ.0"));
        assert_eq!(error.status(), Some(401));

        assert_eq!(
            status_error(&meta(400), "e", now()).kind(),
            ErrorKind::RequestRejected
        );
        assert_eq!(
            status_error(&meta(403), "e", now()).kind(),
            ErrorKind::AuthenticationFailed
        );
        let not_found = status_error(&meta(404), "https://sts.eastus", now());
        assert_eq!(not_found.kind(), ErrorKind::RequestRejected);
        assert!(
            not_found.message().contains("account domain"),
            "{not_found}"
        );
        assert_eq!(
            status_error(&meta(500), "e", now()).kind(),
            ErrorKind::ServiceError
        );
        assert_eq!(
            status_error(&meta(408), "e", now()).kind(),
            ErrorKind::ServiceError
        );
        assert_eq!(
            status_error(&meta(302), "e", now()).kind(),
            ErrorKind::Protocol
        );
        assert_eq!(
            status_error(&meta(418), "e", now()).kind(),
            ErrorKind::RequestRejected
        );
        assert_eq!(
            status_error(&meta(201), "e", now()).kind(),
            ErrorKind::Protocol
        );

        let mut throttled = meta(429);
        throttled.retry_after = Some("7".into());
        let error = status_error(&throttled, "e", now());
        assert_eq!(error.kind(), ErrorKind::Throttled);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
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
        let error = status_error(&m, "e", now());
        let message = error.service_message().unwrap();
        assert!(message.len() <= 1024 + 3);
        assert!(!message.contains('\n'));
    }
}
