//! The start of a device code sign-in (RFC 8628 section 3.1-3.2, as Entra ID v2.0 serves it):
//! `POST {authority}/{tenant}/oauth2/v2.0/devicecode`, and its answer read strictly.

use super::{
    authority_client::{AuthorityClient, Resend},
    authority_error::authority_error,
    client_id::ClientId,
    device_code_prompt::DeviceCodePrompt,
    form_body::FormBody,
    secret_type::secret_type,
    token_response::NumberOrString,
};
use crate::error::{Error, ErrorKind, Result};
use azure_core::http::Context;
use mr_auth_core::is_loopback_url;
use serde::Deserialize;
use std::{fmt, time::Duration};
use time::OffsetDateTime;
use url::Url;

secret_type! {
    /// The device code the credential polls the token endpoint with: whoever holds it gets
    /// the tokens once the user has signed in.
    pub(crate) struct DeviceCode;
}

/// The polling interval when the authority names none (RFC 8628 section 3.2).
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest interval polled at: a `0` from the authority is taken as one second.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest interval accepted: an authority asking for more is not usable.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(300);
/// The longest a device code is waited for, whatever its `expires_in` says (Entra ID's
/// codes last 900 s).
pub(crate) const MAX_EXPIRES_IN: Duration = Duration::from_secs(3600);
/// The longest user code accepted (Entra ID's have 9 characters).
const MAX_USER_CODE_CHARS: usize = 64;

/// The authority's answer: the codes, where the user enters one, and the timing.
pub(crate) struct DeviceAuthorization {
    pub(crate) device_code: DeviceCode,
    pub(crate) user_code: String,
    pub(crate) verification_uri: Url,
    /// `expires_in`, at most [`MAX_EXPIRES_IN`].
    pub(crate) expires_in: Duration,
    /// `interval`, [`DEFAULT_INTERVAL`] when absent, at least [`MIN_INTERVAL`].
    pub(crate) interval: Duration,
    /// The authority's `message` without control characters, or one composed here.
    pub(crate) message: String,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("verification_uri", &self.verification_uri.as_str())
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct WireAuthorization {
    #[serde(default)]
    device_code: Option<String>,
    #[serde(default)]
    user_code: Option<String>,
    /// RFC 8628's (and Entra ID v2.0's) name.
    #[serde(default)]
    verification_uri: Option<String>,
    /// Entra ID v1.0's name.
    #[serde(default)]
    verification_url: Option<String>,
    #[serde(default)]
    expires_in: Option<NumberOrString>,
    #[serde(default)]
    interval: Option<NumberOrString>,
    #[serde(default)]
    message: Option<String>,
}

impl DeviceAuthorization {
    /// What the user is shown, with the code expiring `expires_in` after `now`.
    pub(crate) fn prompt(&self, now: OffsetDateTime) -> DeviceCodePrompt {
        DeviceCodePrompt {
            verification_uri: self.verification_uri.clone(),
            user_code: self.user_code.clone(),
            expires_on: now + self.expires_in,
            message: self.message.clone(),
        }
    }

    /// Reads a 2xx answer strictly: every required field present and usable.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self> {
        let wire: WireAuthorization = serde_json::from_slice(bytes).map_err(|e| {
            Error::protocol("the devicecode endpoint answered with something that is not a device authorization").with_source(e)
        })?;
        let missing = |field: &str| {
            Error::protocol(format!(
                "the devicecode endpoint's answer has no usable {field}"
            ))
        };
        let device_code = wire
            .device_code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing("device_code"))?;
        let user_code = wire
            .user_code
            .filter(|c| {
                !c.is_empty()
                    && c.chars().count() <= MAX_USER_CODE_CHARS
                    && !c.chars().any(|ch| ch.is_control() || ch.is_whitespace())
            })
            .ok_or_else(|| missing("user_code"))?;
        let verification_uri = wire
            .verification_uri
            .or(wire.verification_url)
            .and_then(|uri| Url::parse(&uri).ok())
            .filter(|uri| {
                uri.scheme() == "https" || (uri.scheme() == "http" && is_loopback_url(uri))
            })
            .ok_or_else(|| missing("verification_uri (an https address)"))?;
        let expires_in = wire
            .expires_in
            .as_ref()
            .and_then(NumberOrString::seconds)
            .filter(|s| *s > 0)
            .ok_or_else(|| missing("expires_in"))?;
        let expires_in =
            Duration::from_secs(u64::try_from(expires_in).unwrap_or(u64::MAX)).min(MAX_EXPIRES_IN);
        let interval = match wire.interval.as_ref().map(NumberOrString::seconds) {
            None => DEFAULT_INTERVAL,
            Some(Some(s)) if s <= 0 => MIN_INTERVAL,
            Some(Some(s)) if Duration::from_secs(s.unsigned_abs()) <= MAX_INTERVAL => {
                Duration::from_secs(s.unsigned_abs())
            }
            Some(_) => {
                return Err(Error::protocol(format!(
                    "the devicecode endpoint's interval is not a number of seconds up to {}",
                    MAX_INTERVAL.as_secs()
                )))
            }
        };
        let message = wire
            .message
            .map(|m| m.chars().filter(|c| !c.is_control()).collect::<String>())
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| {
                format!("To sign in, open {verification_uri} in a browser and enter the code {user_code}.")
            });
        Ok(Self {
            device_code: DeviceCode::new(device_code),
            user_code,
            verification_uri,
            expires_in,
            interval,
            message,
        })
    }
}

/// `POST {authority}/{tenant}/oauth2/v2.0/devicecode` with the client id, the scopes (OpenID
/// Connect's included) and the claims, as MSAL sends them.
pub(crate) async fn request_device_authorization(
    client: &AuthorityClient,
    url: Url,
    client_id: &ClientId,
    scopes: &[String],
    claims: Option<&str>,
    context: &Context<'_>,
) -> Result<DeviceAuthorization> {
    let scope = scopes.join(" ");
    let mut form = vec![("client_id", client_id.as_str()), ("scope", scope.as_str())];
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    let body = FormBody::new(&form);
    // Asking again only makes another code, never shown: transient failures are retried.
    let answer = client
        .post_form(
            "devicecode endpoint",
            &url,
            &body,
            Resend::Transient,
            context,
        )
        .await?;
    let status = answer.status;
    let result = if (200..300).contains(&status) {
        DeviceAuthorization::from_json(&answer.body).map_err(|e| e.with_status(status))
    } else {
        Err(refusal(status, &answer.body))
    };
    result.map_err(|e| e.with_tries(answer.tries))
}

/// The authority's refusal to start a device code sign-in, as a typed error.
pub(super) fn refusal(status: u16, bytes: &[u8]) -> Error {
    let wire: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let text = |key: &str| wire[key].as_str().unwrap_or_default().to_owned();
    let codes = wire["error_codes"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .filter_map(serde_json::Value::as_i64)
                .map(|c| format!("AADSTS{c}"))
                .collect()
        })
        .unwrap_or_default();
    let error = authority_error(
        &text("error"),
        &text("error_description"),
        None,
        codes,
        Some(text("correlation_id")).filter(|c| !c.is_empty()),
        "",
    );
    let error = match status {
        429 => error.retyped(ErrorKind::Throttled),
        500.. => error.retyped(ErrorKind::ServiceError),
        // The device code flow has no redirect URI: the registration's fix is the public
        // client setting alone.
        _ if error.kind() == ErrorKind::RedirectUriNotRegistered => Error::new(
            ErrorKind::RedirectUriNotRegistered,
            format!("the app registration does not allow public client flows, which the device code sign-in needs; set \"allow public client flows\" to yes under authentication ({})", error.message()),
        )
        .with_error_codes(error.error_codes().to_vec())
        .with_correlation_id(error.correlation_id().map(str::to_owned)),
        _ => error,
    };
    error.with_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<DeviceAuthorization> {
        DeviceAuthorization::from_json(json.as_bytes())
    }

    #[test]
    fn reads_entra_ids_answer() {
        let a = parse(r#"{"device_code":"dc","user_code":"ABCDEFGHI","verification_uri":"https://microsoft.com/devicelogin","expires_in":"900","interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCDEFGHI to authenticate."}"#).unwrap();
        assert_eq!(a.device_code.secret(), "dc");
        assert_eq!(a.user_code, "ABCDEFGHI");
        assert_eq!(
            a.verification_uri.as_str(),
            "https://microsoft.com/devicelogin"
        );
        assert_eq!(
            (a.expires_in, a.interval),
            (Duration::from_secs(900), DEFAULT_INTERVAL)
        );
        assert!(a.message.starts_with("To sign in"));
        let prompt = a.prompt(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            prompt.expires_on,
            OffsetDateTime::UNIX_EPOCH + Duration::from_secs(900)
        );
        assert!(!format!("{a:?}").contains("dc\""), "{a:?}");
    }

    #[test]
    fn v1_names_defaults_and_bounds() {
        let a = parse(r#"{"device_code":"dc","user_code":"U","verification_url":"https://microsoft.com/devicelogin","expires_in":99999999}"#).unwrap();
        assert_eq!(a.verification_uri.host_str(), Some("microsoft.com"));
        assert_eq!(a.interval, DEFAULT_INTERVAL);
        assert_eq!(a.expires_in, MAX_EXPIRES_IN, "clamped");
        assert!(
            a.message.contains("https://microsoft.com/devicelogin") && a.message.contains(" U.")
        );
        let fast = parse(r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x.example","expires_in":60,"interval":0}"#).unwrap();
        assert_eq!(fast.interval, MIN_INTERVAL);
    }

    #[test]
    fn control_characters_leave_the_message() {
        let a = parse("{\"device_code\":\"dc\",\"user_code\":\"U\",\"verification_uri\":\"https://x.example\",\"expires_in\":60,\"message\":\"open \\u001b[2J\\nhttps://x.example\\u0007 now\"}").unwrap();
        assert_eq!(a.message, "open [2Jhttps://x.example now");
    }

    #[test]
    fn unusable_answers_are_refused() {
        for bad in [
            "not json",
            r#"{"user_code":"U","verification_uri":"https://x.example","expires_in":60}"#,
            r#"{"device_code":"dc","verification_uri":"https://x.example","expires_in":60}"#,
            r#"{"device_code":"dc","user_code":"A B","verification_uri":"https://x.example","expires_in":60}"#,
            "{\"device_code\":\"dc\",\"user_code\":\"A\\u001b\",\"verification_uri\":\"https://x.example\",\"expires_in\":60}",
            r#"{"device_code":"dc","user_code":"U","expires_in":60}"#,
            r#"{"device_code":"dc","user_code":"U","verification_uri":"http://phish.example","expires_in":60}"#,
            r#"{"device_code":"dc","user_code":"U","verification_uri":"javascript:alert(1)","expires_in":60}"#,
            r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x.example"}"#,
            r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x.example","expires_in":0}"#,
            r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x.example","expires_in":60,"interval":301}"#,
            r#"{"device_code":"dc","user_code":"U","verification_uri":"https://x.example","expires_in":60,"interval":"soon"}"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{bad}: {e}");
        }
    }

    #[test]
    fn refusals_are_typed() {
        let e = refusal(400, br#"{"error":"unauthorized_client","error_description":"AADSTS7000218: client_assertion","error_codes":[7000218],"correlation_id":"c"}"#);
        assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered);
        assert!(e.message().contains("allow public client flows"), "{e}");
        assert_eq!((e.status(), e.correlation_id()), (Some(400), Some("c")));
        assert_eq!(e.redirect_uri(), None);
        assert_eq!(refusal(503, b"").kind(), ErrorKind::ServiceError);
        assert_eq!(refusal(429, b"{}").kind(), ErrorKind::Throttled);
        let e = refusal(
            400,
            br#"{"error":"invalid_scope","error_description":"AADSTS70011: bad scope"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(e.error_codes(), ["AADSTS70011"]);
    }
}
