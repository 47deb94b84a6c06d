use super::{
    authorization_code::AuthorizationCode, pkce_verifier::PkceVerifier, refresh_token::RefreshToken,
};
use crate::{AccessTokenInfo, CacheWrite, ClientId, Error, ErrorKind, Result, TokenType};
use azure_core::{
    credentials::Secret,
    http::{
        headers::{self, content_type},
        AsyncResponseBody, Context, Method, Pipeline, PipelineStreamOptions, Request,
    },
};
use futures::StreamExt as _;
use mr_auth_core::Clock;
use serde::Deserialize;
use std::{fmt, sync::Arc};
use url::Url;
use zeroize::Zeroizing;

/// What is exchanged for tokens at the token endpoint.
pub(crate) enum Grant<'a> {
    /// `grant_type=authorization_code`, with the PKCE verifier (used up here).
    AuthorizationCode {
        code: &'a AuthorizationCode,
        verifier: PkceVerifier,
        redirect_uri: &'a str,
    },
    /// `grant_type=refresh_token`.
    RefreshToken(&'a RefreshToken),
}

/// A successful token response.
pub(crate) struct TokenResponse {
    pub(crate) token: AccessTokenInfo,
    pub(crate) refresh_token: Option<RefreshToken>,
    /// The `nonce` claim of the id token, when one came back.
    pub(crate) id_token_nonce: Option<String>,
    pub(crate) has_id_token: bool,
    /// What the persistent cache stores besides the tokens (MSAL's `TokenCache.add` input).
    pub(crate) details: ResponseDetails,
}

/// The parts of a token response the persistent cache and the
/// [`AuthenticationRecord`](crate::AuthenticationRecord) are made of.
pub(crate) struct ResponseDetails {
    /// `expires_in`, seconds (checked positive).
    pub(crate) expires_in: i64,
    /// `ext_expires_in`, seconds, when given and positive.
    pub(crate) ext_expires_in: Option<i64>,
    /// `refresh_in`, seconds, when given and positive.
    pub(crate) refresh_in: Option<i64>,
    /// The granted `scope`, when given.
    pub(crate) scope: Option<String>,
    /// `client_info` (base64url JSON with `uid` and `utid`), when given.
    pub(crate) client_info: Option<String>,
    /// The id token, when given (it names the user: zeroized on drop, never logged).
    pub(crate) id_token: Option<Zeroizing<String>>,
}

impl TokenResponse {
    /// The response as MSAL's `TokenCache.add` takes it: the granted `scope` when the
    /// response has one, else `requested_scopes`; `realm` is the tenant as requested.
    pub(crate) fn cache_write(
        &self,
        client_id: &str,
        environment: &str,
        realm: &str,
        requested_scopes: &[String],
        grant_type: &str,
        now: time::OffsetDateTime,
    ) -> CacheWrite {
        let details = &self.details;
        let scopes = match &details.scope {
            Some(granted) => granted.split_whitespace().map(str::to_owned).collect(),
            None => requested_scopes.to_vec(),
        };
        CacheWrite {
            client_id: client_id.to_owned(),
            environment: environment.to_owned(),
            realm: realm.to_owned(),
            scopes,
            access_token: Some(Zeroizing::new(self.token.token.secret().to_owned())),
            token_type: Some(self.token.token_type.scheme().to_owned()),
            expires_in: details.expires_in,
            ext_expires_in: details.ext_expires_in,
            refresh_in: details.refresh_in,
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|rt| Zeroizing::new(rt.secret().to_owned())),
            id_token: details.id_token.clone(),
            client_info: details.client_info.clone(),
            grant_type: Some(grant_type.to_owned()),
            now: Some(now),
        }
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token", &self.token)
            .field("refresh_token", &self.refresh_token)
            .field("has_id_token", &self.has_id_token)
            .finish_non_exhaustive()
    }
}

/// The most the token endpoint's response body may be: 64 KiB, far beyond any token response
/// (the same bound as the STS client's, `mr_auth_core::MAX_RESPONSE_BYTES`).
pub(crate) const MAX_RESPONSE_BYTES: usize = mr_auth_core::MAX_RESPONSE_BYTES;

/// The authority's `/oauth2/v2.0/token` endpoint, called through an `azure_core` pipeline.
#[derive(Debug, Clone)]
pub(crate) struct TokenEndpoint {
    pipeline: Pipeline,
    clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
struct WireToken {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    expires_in: NumberOrString,
    #[serde(default)]
    refresh_in: Option<NumberOrString>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    ext_expires_in: Option<NumberOrString>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_info: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(i64),
    String(String),
}

impl NumberOrString {
    fn seconds(&self) -> Option<i64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::String(s) => s.trim().parse().ok(),
        }
    }
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
    pub(crate) fn new(pipeline: Pipeline, clock: Arc<dyn Clock>) -> Self {
        Self { pipeline, clock }
    }

    /// Posts the grant and returns the tokens, or a typed error. `redirect_uri` is the one to
    /// name in a "redirect uri not registered" error.
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
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("client_id", client_id.as_str());
            match &grant {
                Grant::AuthorizationCode {
                    code,
                    verifier,
                    redirect_uri,
                } => {
                    form.append_pair("grant_type", "authorization_code")
                        .append_pair("code", code.secret())
                        .append_pair("redirect_uri", redirect_uri)
                        .append_pair("code_verifier", verifier.secret());
                }
                Grant::RefreshToken(token) => {
                    form.append_pair("grant_type", "refresh_token")
                        .append_pair("refresh_token", token.secret());
                }
            }
            form.append_pair("scope", &scopes.join(" "))
                .append_pair("client_info", "1");
            if let Some(claims) = claims {
                form.append_pair("claims", claims);
            }
            Zeroizing::new(form.finish())
        };
        drop(grant);

        let mut request = Request::new(url, Method::Post);
        request.insert_header(
            headers::CONTENT_TYPE,
            content_type::APPLICATION_X_WWW_FORM_URLENCODED,
        );
        // The pipeline takes its own copy of the form (azure_core's request body is a `Bytes`
        // this crate cannot zeroize); the copy lives until the request is sent and dropped at
        // the end of this call, and is never logged (azure_core logs no bodies).
        request.set_body(body.as_bytes().to_vec());
        drop(body);
        let response = self
            .pipeline
            .stream(
                context,
                &mut request,
                Some(PipelineStreamOptions {
                    skip_checks: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    "could not reach the authority's token endpoint",
                )
                .with_source(e)
            })?;
        drop(request);
        let status = u16::from(response.status());
        let (_, _, body) = response.deconstruct();
        let bytes = read_bounded(body, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| e.with_status(status))?;
        parse_response(&*self.clock, status, &bytes, redirect_uri)
    }
}

/// Turns the token endpoint's answer (status and body) into tokens or a typed error.
fn parse_response(
    clock: &dyn Clock,
    status: u16,
    bytes: &[u8],
    redirect_uri: &str,
) -> Result<TokenResponse> {
    if (200..300).contains(&status) {
        let wire: WireToken = serde_json::from_slice(bytes).map_err(|e| {
            Error::protocol(
                "the token endpoint answered with something that is not a token response",
            )
            .with_status(status)
            .with_source(e)
        })?;
        return parse(clock, wire, status);
    }
    let wire: WireError = serde_json::from_slice(bytes).unwrap_or_default();
    let codes = wire
        .error_codes
        .iter()
        .map(|c| format!("AADSTS{c}"))
        .collect();
    let error = if wire.error.is_empty() && (status == 429 || status >= 500) {
        Error::new(
            ErrorKind::ServiceError,
            format!("the authority answered {status}; try again later"),
        )
    } else if status == 429 || status >= 500 {
        authority_error(
            &wire.error,
            &wire.error_description,
            None,
            codes,
            None,
            redirect_uri,
        )
        .retyped(ErrorKind::ServiceError)
    } else {
        authority_error(
            &wire.error,
            &wire.error_description,
            wire.suberror.as_deref(),
            codes,
            None,
            redirect_uri,
        )
    };
    Err(error
        .with_status(status)
        .with_correlation_id(wire.correlation_id))
}

fn parse(clock: &dyn Clock, wire: WireToken, status: u16) -> Result<TokenResponse> {
    let now = clock.now();
    let expires_in = wire
        .expires_in
        .seconds()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            Error::protocol("the token response has no usable expires_in").with_status(status)
        })?;
    let token_type = match wire.token_type.as_deref() {
        None => TokenType::Bearer,
        Some(t) => TokenType::parse(t).ok_or_else(|| {
            Error::protocol(format!(
                "the token response has the unknown token_type {t:?}"
            ))
        })?,
    };
    if wire.access_token.is_empty() {
        return Err(Error::protocol(
            "the token response has an empty access_token",
        ));
    }
    // A server can send any number: an instant past what the clock type holds is refused
    // (expiry) or ignored (refresh hint), never an overflow.
    let after = |s: i64| now.checked_add(time::Duration::seconds(s));
    let expires_on = after(expires_in).ok_or_else(|| {
        Error::protocol(format!(
            "the token response's expires_in ({expires_in} seconds) is out of range"
        ))
        .with_status(status)
    })?;
    let refresh_on = wire
        .refresh_in
        .as_ref()
        .and_then(NumberOrString::seconds)
        .filter(|s| *s > 0)
        .and_then(after);
    let id_token_nonce = wire.id_token.as_deref().and_then(id_token_nonce);
    let has_id_token = wire.id_token.is_some();
    let positive = |v: &Option<NumberOrString>| {
        v.as_ref()
            .and_then(NumberOrString::seconds)
            .filter(|s| *s > 0)
    };
    let details = ResponseDetails {
        expires_in,
        ext_expires_in: positive(&wire.ext_expires_in),
        refresh_in: positive(&wire.refresh_in),
        scope: wire.scope.filter(|s| !s.trim().is_empty()),
        client_info: wire.client_info.filter(|s| !s.is_empty()),
        id_token: wire.id_token.map(Zeroizing::new),
    };
    Ok(TokenResponse {
        token: AccessTokenInfo {
            token: Secret::new(wire.access_token),
            expires_on,
            token_type,
            refresh_on,
        },
        refresh_token: wire
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        id_token_nonce,
        has_id_token,
        details,
    })
}

/// The fuzzing entry: the first byte picks the status (2xx, 4xx, 429 or 5xx), the rest is the
/// body. A response that parses goes on as the credential takes it: its account record, and
/// its entries in a token cache, which must read back.
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_raw_response(data: &[u8]) {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let status = [200, 400, 401, 429, 500, 503][usize::from(*first) % 6];
    let clock = mr_auth_core::ManualClock::at_fixed_start();
    let Ok(response) = parse_response(&clock, status, body, "http://localhost:8400") else {
        return;
    };
    let client_id = ClientId::default();
    let tenant = crate::TenantId::default();
    let details = &response.details;
    let _ = crate::AuthenticationRecord::from_token_response(
        "login.microsoftonline.com",
        &client_id,
        details.client_info.as_deref(),
        details.id_token.as_deref().map(String::as_str),
        &tenant,
    );
    let write = response.cache_write(
        client_id.as_str(),
        "login.microsoftonline.com",
        tenant.as_str(),
        &["s".to_owned()],
        "authorization_code",
        clock.now(),
    );
    let mut cache = crate::MsalTokenCache::new();
    if cache.add(&write).is_ok() {
        crate::MsalTokenCache::from_slice(&cache.to_vec())
            .unwrap_or_else(|e| panic!("a cache this crate wrote does not parse: {e}"));
    }
}

/// Reads the response body, refusing more than `limit` bytes.
async fn read_bounded(mut body: AsyncResponseBody, limit: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                "the connection failed before the whole token response arrived",
            )
            .with_source(e)
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(Error::protocol(format!(
                "the token endpoint's response is larger than {limit} bytes, far beyond any token response; refusing to read it"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The `nonce` claim of an id token, read with `mr-auth-core`'s JWT decoder (the signature is
/// not checked: the token came straight from the authority over TLS, and only the nonce is
/// read, to bind it to this sign-in). The claims decoder, not the expiry one: the nonce does
/// not depend on `exp`, and an id token without a usable `exp` must not read as one without
/// a nonce.
fn id_token_nonce(id_token: &str) -> Option<String> {
    let parts = mr_auth_core::decode_jwt_parts_unverified(id_token).ok()?;
    parts.claims.get("nonce")?.as_str().map(str::to_owned)
}

/// Maps an OAuth error (from the redirect or the token endpoint) to a typed error.
pub(crate) fn authority_error(
    error: &str,
    description: &str,
    subcode: Option<&str>,
    mut codes: Vec<String>,
    correlation_id: Option<String>,
    redirect_uri: &str,
) -> Error {
    if codes.is_empty() {
        codes = aadsts_codes(description);
    }
    let has = |code: &str| codes.iter().any(|c| c == code);
    let first_line = description.lines().next().unwrap_or_default().trim();
    let detail = if first_line.is_empty() {
        error.to_owned()
    } else {
        format!("{error}: {first_line}")
    };
    let (kind, message) = if has("AADSTS50011") {
        (
            ErrorKind::RedirectUriNotRegistered,
            format!("the app registration does not list the redirect uri {redirect_uri}; add it under authentication, platform \"mobile and desktop applications\" ({detail})"),
        )
    } else if has("AADSTS7000218") {
        (
            ErrorKind::RedirectUriNotRegistered,
            format!("the app registration treats this app as a confidential client; register {redirect_uri} under \"mobile and desktop applications\" and set \"allow public client flows\" to yes ({detail})"),
        )
    } else if (error == "access_denied" && subcode == Some("cancel")) || has("AADSTS65004") {
        (
            ErrorKind::UserCancelled,
            format!("the sign-in was cancelled ({detail})"),
        )
    } else if matches!(
        error,
        "interaction_required" | "login_required" | "consent_required"
    ) {
        (
            ErrorKind::AuthenticationRequired,
            format!("the user has to sign in interactively ({detail})"),
        )
    } else if error.is_empty() {
        (
            ErrorKind::AuthenticationFailed,
            "the authority refused the request without saying why".to_owned(),
        )
    } else {
        (
            ErrorKind::AuthenticationFailed,
            format!("the authority refused the sign-in ({detail})"),
        )
    };
    let mut e = Error::new(kind, message)
        .with_error_codes(codes)
        .with_correlation_id(correlation_id);
    if kind == ErrorKind::RedirectUriNotRegistered {
        e = e.with_redirect_uri(redirect_uri);
    }
    e
}

/// The `AADSTS<digits>` codes mentioned in a description.
fn aadsts_codes(description: &str) -> Vec<String> {
    let mut codes = Vec::new();
    let mut rest = description;
    while let Some(i) = rest.find("AADSTS") {
        let digits: String = rest[i + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() && !codes.contains(&format!("AADSTS{digits}")) {
            codes.push(format!("AADSTS{digits}"));
        }
        rest = &rest[i + 6..];
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn finds_aadsts_codes() {
        assert_eq!(
            aadsts_codes("AADSTS50011: x. AADSTS7000218: y AADSTS50011"),
            ["AADSTS50011", "AADSTS7000218"]
        );
        assert!(aadsts_codes("nothing").is_empty());
    }

    #[test]
    fn maps_each_error_kind() {
        let uri = "http://localhost:8400";
        let e = authority_error(
            "invalid_client",
            "AADSTS7000218: The request body must contain client_assertion",
            None,
            vec![],
            None,
            uri,
        );
        assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered);
        assert!(e.message().contains("allow public client flows"));
        assert_eq!(e.redirect_uri(), Some(uri));
        let e = authority_error("access_denied", "", Some("cancel"), vec![], None, uri);
        assert_eq!(e.kind(), ErrorKind::UserCancelled);
        let e = authority_error(
            "interaction_required",
            "AADSTS50076",
            None,
            vec![],
            None,
            uri,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        let e = authority_error(
            "invalid_grant",
            "AADSTS501481: The Code_Verifier does not match",
            None,
            vec![],
            Some("c1".into()),
            uri,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(e.correlation_id(), Some("c1"));
        assert_eq!(e.redirect_uri(), None);
    }

    #[derive(Debug)]
    struct Canned(u16, &'static str);

    #[async_trait::async_trait]
    impl azure_core::http::HttpClient for Canned {
        async fn execute_request(
            &self,
            _: &Request,
        ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
            Ok(azure_core::http::AsyncRawResponse::from_bytes(
                azure_core::http::StatusCode::from(self.0),
                headers::Headers::new(),
                self.1.as_bytes().to_vec(),
            ))
        }
    }

    async fn call(status: u16, body: &'static str) -> Result<TokenResponse> {
        let options = azure_core::http::ClientOptions {
            transport: Some(azure_core::http::Transport::new(Arc::new(Canned(
                status, body,
            )))),
            retry: azure_core::http::RetryOptions::none(),
            ..Default::default()
        };
        let clock = Arc::new(mr_auth_core::ManualClock::at_fixed_start());
        let endpoint = TokenEndpoint::new(
            Pipeline::new(None, None, options, vec![], vec![], None),
            clock.clone(),
        );
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

    #[tokio::test]
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
                ErrorKind::ServiceError,
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

    #[test]
    fn reads_the_nonce_of_an_id_token() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let payload = URL_SAFE_NO_PAD.encode(br#"{"nonce":"n-1","sub":"x","exp":1700000000}"#);
        assert_eq!(
            id_token_nonce(&format!("e30.{payload}.sig")),
            Some("n-1".into())
        );
        assert_eq!(id_token_nonce("garbage"), None);
        for claims in [
            &br#"{"nonce":"n-2"}"#[..],
            br#"{"nonce":"n-2","exp":"soon"}"#,
            br#"{"nonce":"n-2","exp":1e300}"#,
        ] {
            let payload = URL_SAFE_NO_PAD.encode(claims);
            assert_eq!(
                id_token_nonce(&format!("e30.{payload}.sig")),
                Some("n-2".into()),
                "the nonce is read whatever exp is: {}",
                String::from_utf8_lossy(claims)
            );
        }
    }

    #[tokio::test]
    async fn an_oversized_response_is_refused_without_reading_it_all() {
        static HUGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "{{\"access_token\":\"{}\"}}",
                "a".repeat(MAX_RESPONSE_BYTES)
            )
        });
        let e = call(200, HUGE.as_str()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("larger than"), "{e}");
    }
}
