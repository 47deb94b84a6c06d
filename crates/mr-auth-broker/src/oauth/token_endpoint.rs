//! The authority's `/oauth2/v2.0/token` endpoint: posts a grant through the
//! [`AuthorityClient`] (bounded tries, retried only where the grant may be sent again), reads
//! the answer and returns the tokens it got, or a typed error. Storing them is the caller's
//! business.

use super::{
    authority_client::{AuthorityClient, Resend},
    authority_error::authority_error,
    authorization_code::AuthorizationCode,
    client_id::ClientId,
    device_authorization::DeviceCode,
    form_body::FormBody,
    pkce_verifier::PkceVerifier,
    refresh_token::RefreshToken,
    token_response::TokenResponse,
};
use crate::error::{Error, ErrorKind, Result};
use azure_core::http::Context;
use mr_auth_core::Clock;
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// What is exchanged for tokens at the token endpoint.
pub(crate) enum Grant<'a> {
    /// `grant_type=authorization_code`, with the PKCE verifier (used up here). Sent again only
    /// when the authority cannot have received it: a code is redeemed once.
    AuthorizationCode {
        code: &'a AuthorizationCode,
        verifier: PkceVerifier,
        redirect_uri: &'a str,
    },
    /// `grant_type=refresh_token`; transient failures are retried.
    RefreshToken(&'a RefreshToken),
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628): one poll. Sent
    /// once: the device code flow polls again, after its interval, itself.
    DeviceCode(&'a DeviceCode),
}

impl Grant<'_> {
    fn resend(&self) -> Resend {
        match self {
            Self::AuthorizationCode { .. } => Resend::IfNotReceived,
            Self::RefreshToken(_) => Resend::Transient,
            Self::DeviceCode(_) => Resend::Never,
        }
    }
}

/// The device code grant's `grant_type` (RFC 8628 section 3.4), as MSAL also records it.
pub(crate) const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The authority's `/oauth2/v2.0/token` endpoint.
#[derive(Debug, Clone)]
pub(crate) struct TokenEndpoint {
    client: AuthorityClient,
    clock: Arc<dyn Clock>,
}

#[derive(Deserialize, Default)]
struct WireError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<i64>,
    #[serde(default)]
    suberror: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

impl TokenEndpoint {
    pub(crate) fn new(client: AuthorityClient, clock: Arc<dyn Clock>) -> Self {
        Self { client, clock }
    }

    /// Posts the grant and returns the tokens, or a typed error. `redirect_uri` is the one to
    /// name in a "redirect uri not registered" error. An id token in the answer must be for
    /// `client_id` (its `aud`, as OpenID Connect requires).
    #[allow(clippy::too_many_arguments, reason = "each is one protocol parameter")]
    pub(crate) async fn request(
        &self,
        url: Url,
        client_id: &ClientId,
        grant: Grant<'_>,
        scopes: &[String],
        claims: Option<&str>,
        redirect_uri: &str,
        context: &Context<'_>,
    ) -> Result<TokenResponse> {
        let resend = grant.resend();
        let scope = scopes.join(" ");
        let body = {
            let mut form: Vec<(&str, &str)> = Vec::with_capacity(7);
            form.push(("client_id", client_id.as_str()));
            match &grant {
                Grant::AuthorizationCode {
                    code,
                    verifier,
                    redirect_uri,
                } => form.extend([
                    ("grant_type", "authorization_code"),
                    ("code", code.secret()),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier.secret()),
                ]),
                Grant::RefreshToken(token) => form.extend([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.secret()),
                ]),
                Grant::DeviceCode(code) => form.extend([
                    ("grant_type", DEVICE_CODE_GRANT_TYPE),
                    ("device_code", code.secret()),
                ]),
            }
            form.extend([("scope", scope.as_str()), ("client_info", "1")]);
            if let Some(claims) = claims {
                form.push(("claims", claims));
            }
            FormBody::new(&form)
        };
        drop(grant);
        let answer = self
            .client
            .post_form("token endpoint", &url, &body, resend, context)
            .await?;
        drop(body);
        let parsed = parse_response(&*self.clock, answer.status, &answer.body, redirect_uri)
            .and_then(|response| check_audience(response, client_id));
        parsed.map_err(|e| {
            let e = e.with_tries(answer.tries);
            let transient = matches!(e.kind(), ErrorKind::Throttled | ErrorKind::ServiceError);
            if resend == Resend::IfNotReceived && transient {
                e.with_note("the authorization code was not sent again (it can be redeemed once): sign in again")
            } else {
                e
            }
        })
    }
}

/// An id token that came back must name this application as its audience (OpenID Connect
/// Core 3.1.3.7): one issued to another client is refused, never kept or used to name the
/// account.
fn check_audience(response: TokenResponse, client_id: &ClientId) -> Result<TokenResponse> {
    match &response.id_token_audience {
        None if !response.has_id_token => Ok(response),
        Some(audience) if audience.includes(client_id.as_str()) => Ok(response),
        Some(audience) => Err(Error::protocol(format!(
            "the id token was issued to another application (aud {}), not this client id {client_id}; refusing the token response",
            audience.describe()
        ))),
        None => Err(Error::protocol(
            "the id token has no usable aud (audience) claim; refusing the token response",
        )),
    }
}

/// Turns the token endpoint's answer (status and body) into tokens or a typed error.
pub(super) fn parse_response(
    clock: &dyn Clock,
    status: u16,
    bytes: &[u8],
    redirect_uri: &str,
) -> Result<TokenResponse> {
    if (200..300).contains(&status) {
        return TokenResponse::from_json(clock, status, bytes);
    }
    let wire: WireError = serde_json::from_slice(bytes).unwrap_or_default();
    let codes = wire
        .error_codes
        .iter()
        .map(|c| format!("AADSTS{c}"))
        .collect();
    let error = match transient_kind(status) {
        Some(kind) if wire.error.is_empty() => Error::new(
            kind,
            format!("the authority answered {status}; try again later"),
        ),
        Some(kind) => authority_error(
            &wire.error,
            &wire.error_description,
            None,
            codes,
            None,
            redirect_uri,
        )
        .retyped(kind),
        None => authority_error(
            &wire.error,
            &wire.error_description,
            wire.suberror.as_deref(),
            codes,
            None,
            redirect_uri,
        ),
    };
    Err(error
        .with_status(status)
        .with_correlation_id(wire.correlation_id))
}

/// The kind of an answer that retrying later may change: 429 is throttling, 5xx the service
/// failing (as `mr-auth-core` names them).
fn transient_kind(status: u16) -> Option<ErrorKind> {
    match status {
        429 => Some(ErrorKind::Throttled),
        500.. => Some(ErrorKind::ServiceError),
        _ => None,
    }
}

/// The fuzzing entry: the first byte picks the status (2xx, 4xx, 429 or 5xx), the rest is the
/// body; the response, when it parses. The crate's fuzzing module hands it on to what the
/// credential does with a response.
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_raw_response(data: &[u8], clock: &dyn Clock) -> Option<TokenResponse> {
    let (first, body) = data.split_first()?;
    let status = [200, 400, 401, 429, 500, 503][usize::from(*first) % 6];
    parse_response(clock, status, body, "http://localhost:8400").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::TokenType;
    use std::time::Duration;

    #[derive(Debug)]
    struct Canned(u16, &'static str);

    #[async_trait::async_trait]
    impl azure_core::http::HttpClient for Canned {
        async fn execute_request(
            &self,
            _: &azure_core::http::Request,
        ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
            Ok(azure_core::http::AsyncRawResponse::from_bytes(
                azure_core::http::StatusCode::from(self.0),
                azure_core::http::headers::Headers::new(),
                self.1.as_bytes().to_vec(),
            ))
        }
    }

    async fn call(status: u16, body: &'static str) -> Result<TokenResponse> {
        let options = azure_core::http::ClientOptions {
            transport: Some(azure_core::http::Transport::new(Arc::new(Canned(
                status, body,
            )))),
            ..Default::default()
        };
        let clock = Arc::new(mr_auth_core::ManualClock::at_fixed_start());
        let client = AuthorityClient::new(options, Duration::from_secs(60));
        let endpoint = TokenEndpoint::new(client, clock.clone());
        let rt = RefreshToken::new("rt".into());
        endpoint
            .request(
                Url::parse("https://login.example.com/t/oauth2/v2.0/token").unwrap(),
                &ClientId::default(),
                Grant::RefreshToken(&rt),
                &["s".to_owned()],
                None,
                "http://localhost:8400",
                &Context::new(),
            )
            .await
    }

    // Paused: the 429 and the 503 are retried after (virtual) backoff.
    #[tokio::test(start_paused = true)]
    async fn parses_success_and_maps_failures() {
        let ok = call(200, r#"{"access_token":"at","token_type":"Bearer","expires_in":"3600","refresh_in":1800,"refresh_token":"rt2"}"#)
            .await
            .unwrap();
        let start = mr_auth_core::ManualClock::at_fixed_start().now();
        assert_eq!(ok.token.expires_on, start + Duration::from_secs(3600));
        assert_eq!(ok.token.refresh_on, Some(start + Duration::from_secs(1800)));
        assert_eq!(ok.token.token_type, TokenType::Bearer);
        assert_eq!(ok.refresh_token.unwrap().secret(), "rt2");

        // A refresh hint past the clock type's range is ignored, not an overflow.
        let far = call(
            200,
            r#"{"access_token":"at","expires_in":60,"refresh_in":9223372036854775807}"#,
        )
        .await
        .unwrap();
        assert_eq!(far.token.refresh_on, None);

        for (status, body, kind) in [
            (200, "not json", ErrorKind::Protocol),
            (
                200,
                r#"{"access_token":"at","expires_in":0}"#,
                ErrorKind::Protocol,
            ),
            (
                200,
                r#"{"access_token":"at","token_type":"mac","expires_in":60}"#,
                ErrorKind::Protocol,
            ),
            // Found by the long fuzz run: an expiry past the clock type's range overflowed.
            (
                200,
                r#"{"access_token":"armr","expires_in":555500000670553598,"refresh_token":"r"}"#,
                ErrorKind::Protocol,
            ),
            (503, "", ErrorKind::ServiceError),
            (
                429,
                r#"{"error":"temporarily_unavailable","error_description":"AADSTS50196: loop"}"#,
                ErrorKind::Throttled,
            ),
            (
                400,
                r#"{"error":"invalid_grant","error_codes":[70000],"correlation_id":"c"}"#,
                ErrorKind::AuthenticationFailed,
            ),
            (
                400,
                r#"{"error":"interaction_required","error_codes":[50076]}"#,
                ErrorKind::AuthenticationRequired,
            ),
            (
                401,
                r#"{"error":"invalid_client","error_codes":[7000218]}"#,
                ErrorKind::RedirectUriNotRegistered,
            ),
        ] {
            let e = call(status, body).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{status} {body}: {e}");
            if status != 200 {
                assert_eq!(e.status(), Some(status));
            }
        }
        let e = call(
            400,
            r#"{"error":"invalid_grant","error_codes":[70000],"correlation_id":"c"}"#,
        )
        .await
        .unwrap_err();
        assert_eq!(
            (e.error_codes(), e.correlation_id()),
            (&["AADSTS70000".to_owned()][..], Some("c"))
        );
    }

    #[tokio::test]
    async fn an_oversized_response_is_refused_without_reading_it_all() {
        static HUGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{{\"access_token\":\"{}\"}}",
                "a".repeat(crate::oauth::authority_client::MAX_RESPONSE_BYTES)
            )
        });
        let e = call(200, HUGE.as_str()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("larger than"), "{e}");
    }
}
