use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, UNIX_EPOCH},
};

use base64::{
    engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD},
    Engine,
};
use bytes::Bytes;
use hyper::{
    header::{self, HeaderMap, HeaderName, HeaderValue},
    Method, Request, Response, StatusCode,
};
use uuid::Uuid;

use crate::{
    response_body::ResponseBody,
    stats::StatsRecorder,
    token_signer::{TokenClaims, TokenSigner},
    AadMode, Account, Clock, CredentialKind, Fault, Outcome, RequestSummary, Stats,
};

/// The only `api-version` the STS serves.
pub(crate) const API_VERSION: &str = "2019-02-28-preview";
/// Where the JSON Web Key Set is served, below the path prefix.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the OpenID-style discovery document is served, below the path prefix.
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Clock skew allowed when checking AAD tokens' `exp` and `nbf`.
const AAD_SKEW_SECS: u64 = 300;

static MS_CV: HeaderName = HeaderName::from_static("ms-cv");
static X_MRC_CV: HeaderName = HeaderName::from_static("x-mrc-cv");

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Which handler a request goes to.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Token(&'a str),
    Jwks,
    Discovery,
    MethodNotAllowed,
    NotFound,
}

/// Matches `{prefix}/Accounts/{id}/token` (segment names case-insensitive, as IIS-hosted
/// services match them), `{prefix}/.well-known/jwks.json` and
/// `{prefix}/.well-known/openid-configuration`.
fn route<'a>(method: &Method, path: &'a str, prefix: &str) -> Route<'a> {
    let Some(rest) = path.strip_prefix(prefix) else {
        return Route::NotFound;
    };
    let get_only = |route: Route<'a>| {
        if method == Method::GET {
            route
        } else {
            Route::MethodNotAllowed
        }
    };
    if rest == JWKS_PATH {
        return get_only(Route::Jwks);
    }
    if rest == DISCOVERY_PATH {
        return get_only(Route::Discovery);
    }
    let mut segments = rest.split('/');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(""), Some(accounts), Some(id), Some(token), None)
            if accounts.eq_ignore_ascii_case("accounts")
                && token.eq_ignore_ascii_case("token")
                && !id.is_empty() =>
        {
            get_only(Route::Token(id))
        }
        _ => Route::NotFound,
    }
}

/// A fresh `MS-CV`: 22 base64 characters from 16 random bytes, then `.0`.
fn new_ms_cv() -> String {
    let bytes: [u8; 16] = rand::random();
    let mut cv = String::with_capacity(24);
    STANDARD_NO_PAD.encode_string(bytes, &mut cv);
    cv.push_str(".0");
    cv
}

/// Whether `cv` is a correlation vector: a 16- or 22-character base of the standard base64
/// alphabet, optionally extended by `.<digits>` segments.
fn is_correlation_vector(cv: &str) -> bool {
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

/// Why a token request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rejection {
    status: StatusCode,
    www_authenticate: Option<&'static str>,
}

impl Rejection {
    const fn bad_request(message: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            www_authenticate: Some(message),
        }
    }

    const fn unauthorized(message: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            www_authenticate: Some(message),
        }
    }

    const fn status(status: StatusCode) -> Self {
        Self {
            status,
            www_authenticate: None,
        }
    }
}

fn classify_credential(headers: &HeaderMap) -> CredentialKind {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return CredentialKind::Missing;
    };
    match value.to_str().ok().and_then(bearer_value) {
        Some(credential) if credential.contains(':') => CredentialKind::AccountKey,
        Some(credential) if credential.split('.').count() == 3 => CredentialKind::AadToken,
        _ => CredentialKind::Unrecognized,
    }
}

fn bearer_value(header: &str) -> Option<&str> {
    let (scheme, value) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| value.trim())
        .filter(|v| !v.is_empty())
}

fn decode_json_segment(segment: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

fn numeric_claim(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<u64> {
    let value = claims.get(name)?;
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Checks an AAD bearer token according to `mode`; see [`AadMode`] for what each mode checks.
fn check_aad_token(mode: &AadMode, token: &str, now: u64) -> Result<(), Rejection> {
    if *mode == AadMode::Disabled {
        return Err(Rejection::unauthorized(
            "Invalid token: azure ad tokens are not accepted by this emulator; use an account key or enable aad mode",
        ));
    }
    let malformed =
        Rejection::unauthorized("Invalid token: the bearer token is not a well-formed jwt");
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed);
    };
    decode_json_segment(header).ok_or(malformed)?;
    let claims = decode_json_segment(payload).ok_or(malformed)?;
    let exp = numeric_claim(&claims, "exp");
    let expired = Rejection::unauthorized("Invalid token: the azure ad token has expired");
    match mode {
        AadMode::Verified { issuer, audience } => {
            if claims.get("iss").and_then(|v| v.as_str()) != Some(issuer.as_str()) {
                return Err(Rejection::unauthorized(
                    "Invalid token: the azure ad token has an unexpected issuer",
                ));
            }
            let audience_ok = match claims.get("aud") {
                Some(serde_json::Value::String(aud)) => aud == audience,
                Some(serde_json::Value::Array(auds)) => {
                    auds.iter().any(|a| a.as_str() == Some(audience.as_str()))
                }
                _ => false,
            };
            if !audience_ok {
                return Err(Rejection::unauthorized(
                    "Invalid token: the azure ad token has the wrong audience; request the scope https://sts.mixedreality.azure.com//.default",
                ));
            }
            match exp {
                None => {
                    return Err(Rejection::unauthorized(
                        "Invalid token: the azure ad token has no exp claim",
                    ))
                }
                Some(exp) if exp.saturating_add(AAD_SKEW_SECS) <= now => return Err(expired),
                Some(_) => {}
            }
            if numeric_claim(&claims, "nbf")
                .is_some_and(|nbf| nbf > now.saturating_add(AAD_SKEW_SECS))
            {
                return Err(Rejection::unauthorized(
                    "Invalid token: the azure ad token is not valid yet",
                ));
            }
            Ok(())
        }
        _ => match exp {
            Some(exp) if exp.saturating_add(AAD_SKEW_SECS) <= now => Err(expired),
            _ => Ok(()),
        },
    }
}

/// What the emulator serves, and its state: accounts, the signer, the fault queue, counters.
/// One per running emulator, shared by every connection.
pub(crate) struct StsService {
    pub(crate) accounts: HashMap<Uuid, Account>,
    pub(crate) aad: AadMode,
    pub(crate) signer: TokenSigner,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) token_lifetime: Duration,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) prefix: String,
    pub(crate) discovery: String,
    pub(crate) max_body_bytes: u64,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) stats: StatsRecorder,
}

impl fmt::Debug for StsService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsService")
            .field("accounts", &self.accounts.len())
            .field("aad", &self.aad)
            .field("signer", &self.signer)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn base_response(status: StatusCode, ms_cv: &str, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(ms_cv) {
        response.headers_mut().insert(MS_CV.clone(), value);
    }
    response
}

fn token_response(status: StatusCode, ms_cv: &str, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = base_response(status, ms_cv, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn json_content_type(response: &mut Response<ResponseBody>) {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
}

impl StsService {
    /// Queues faults after those already pending.
    pub(crate) fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(faults);
    }

    /// Removes every pending fault and returns how many there were.
    pub(crate) fn clear_faults(&self) -> usize {
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let count = faults.len();
        faults.clear();
        count
    }

    fn next_fault(&self) -> Option<Fault> {
        let fault = self
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        if fault.is_some() {
            // `faults_pending` changed.
            self.stats.touch();
        }
        fault
    }

    /// Waits until `condition` holds for the stats; see `RunningEmulator::wait_for_stats`.
    pub(crate) async fn wait_for_stats(&self, condition: impl Fn(&Stats) -> bool) -> Stats {
        let mut changes = self.stats.subscribe();
        loop {
            let stats = self.stats();
            if condition(&stats) {
                return stats;
            }
            // The sender lives in `self`, so it cannot be closed while we borrow it.
            let _ = changes.changed().await;
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let pending = self
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        self.stats.snapshot(pending)
    }

    pub(crate) fn record_connection(&self) {
        self.stats.record_connection();
    }

    fn now_secs(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Serves one request. `Err` closes the connection without a response.
    pub(crate) async fn handle<B>(
        self: Arc<Self>,
        request: Request<B>,
    ) -> Result<Response<ResponseBody>, DropConnection> {
        let route = route(request.method(), request.uri().path(), &self.prefix);
        let account_segment = match route {
            Route::Token(segment) => segment.to_owned(),
            other => {
                self.stats.record_other();
                return Ok(self.serve_other(&other));
            }
        };
        self.serve_token(request.headers(), request.uri().query(), &account_segment)
            .await
    }

    fn serve_other(&self, route: &Route<'_>) -> Response<ResponseBody> {
        let ms_cv = new_ms_cv();
        match route {
            Route::Jwks => {
                let mut response = base_response(
                    StatusCode::OK,
                    &ms_cv,
                    ResponseBody::full(Bytes::copy_from_slice(self.signer.jwks().as_bytes())),
                );
                json_content_type(&mut response);
                response
            }
            Route::Discovery => {
                let mut response = base_response(
                    StatusCode::OK,
                    &ms_cv,
                    ResponseBody::full(Bytes::copy_from_slice(self.discovery.as_bytes())),
                );
                json_content_type(&mut response);
                response
            }
            Route::MethodNotAllowed => {
                let mut response = base_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &ms_cv,
                    ResponseBody::empty(),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET"));
                response
            }
            Route::Token(_) | Route::NotFound => {
                base_response(StatusCode::NOT_FOUND, &ms_cv, ResponseBody::empty())
            }
        }
    }

    async fn serve_token(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        account_segment: &str,
    ) -> Result<Response<ResponseBody>, DropConnection> {
        let ms_cv = new_ms_cv();
        let fault = self.next_fault();
        let mut summary = RequestSummary {
            account_id: Uuid::try_parse(account_segment).ok(),
            correlation_vector: headers
                .get(&X_MRC_CV)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(64).collect()),
            ms_cv: Some(ms_cv.clone()),
            credential: classify_credential(headers),
            fault,
            outcome: Outcome::Status(200),
        };

        let mut no_exp = false;
        let mut truncate = false;
        match fault {
            Some(Fault::Status {
                status,
                retry_after_secs,
            }) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = token_response(status, &ms_cv, ResponseBody::empty());
                let headers = response.headers_mut();
                match status {
                    StatusCode::BAD_REQUEST => {
                        headers.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Invalid request: injected fault"),
                        );
                    }
                    StatusCode::UNAUTHORIZED => {
                        headers.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Invalid token: injected fault"),
                        );
                    }
                    _ => {}
                }
                if let Some(secs) = retry_after_secs {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                summary.outcome = Outcome::Status(status.as_u16());
                self.stats.record(summary, false);
                return Ok(response);
            }
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::DropConnection) => {
                summary.outcome = Outcome::Dropped;
                summary.ms_cv = None;
                self.stats.record(summary, false);
                return Err(DropConnection);
            }
            Some(Fault::GarbageBody) => {
                let mut response = token_response(
                    StatusCode::OK,
                    &ms_cv,
                    ResponseBody::full(Bytes::from_static(
                        b"<html>\xff\xfe not json {\"AccessToken\": </html>",
                    )),
                );
                json_content_type(&mut response);
                self.stats.record(summary, false);
                return Ok(response);
            }
            Some(Fault::TruncatedBody) => truncate = true,
            Some(Fault::TokenWithoutExp) => no_exp = true,
            None => {}
        }

        let (account, kind) = match self.authorize(headers, query, account_segment) {
            Ok(ok) => ok,
            Err(rejection) => {
                let mut response = token_response(rejection.status, &ms_cv, ResponseBody::empty());
                if let Some(message) = rejection.www_authenticate {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(message));
                }
                summary.outcome = Outcome::Status(rejection.status.as_u16());
                self.stats.record(summary, false);
                return Ok(response);
            }
        };

        let now = self.now_secs();
        let claims = TokenClaims {
            // From the thread-local generator: no system call per token.
            jti: uuid::Builder::from_random_bytes(rand::random()).into_uuid(),
            aid: account.id(),
            tid: account.tenant_id(),
            rid: account.resource_id(),
            aao: match kind {
                CredentialKind::AadToken => "AAD",
                _ => "AccountKey",
            },
            apr: account.region(),
            iss: &self.issuer,
            aud: &self.audience,
            iat: now,
            nbf: now,
            exp: (!no_exp).then(|| now.saturating_add(self.token_lifetime.as_secs())),
        };
        let Ok(token) = self.signer.sign(&claims) else {
            let response = token_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &ms_cv,
                ResponseBody::empty(),
            );
            summary.outcome = Outcome::Status(500);
            self.stats.record(summary, false);
            return Ok(response);
        };
        let mut body = String::with_capacity(token.len() + 20);
        body.push_str(r#"{"AccessToken":""#);
        body.push_str(&token);
        body.push_str(r#""}"#);
        let body = Bytes::from(body);
        let body = if truncate {
            summary.outcome = Outcome::Truncated;
            ResponseBody::truncated(body)
        } else {
            ResponseBody::full(body)
        };
        let mut response = token_response(StatusCode::OK, &ms_cv, body);
        json_content_type(&mut response);
        self.stats.record(summary, true);
        Ok(response)
    }

    /// Every check of a token request, in order: body size, `api-version`, `X-MRC-CV`, the
    /// account id, the account, the credential.
    fn authorize(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        account_segment: &str,
    ) -> Result<(&Account, CredentialKind), Rejection> {
        let declared_body = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if declared_body > self.max_body_bytes {
            return Err(Rejection::status(StatusCode::PAYLOAD_TOO_LARGE));
        }

        let mut api_version = None;
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if name.eq_ignore_ascii_case("api-version") {
                api_version = Some(value);
            }
        }
        match api_version.as_deref() {
            None => {
                return Err(Rejection::bad_request(
                    "Invalid request: the api-version query parameter is required; use 2019-02-28-preview",
                ))
            }
            Some(API_VERSION) => {}
            Some(_) => {
                return Err(Rejection::bad_request(
                    "Invalid request: unsupported api-version; use 2019-02-28-preview",
                ))
            }
        }

        match headers.get(&X_MRC_CV).map(HeaderValue::to_str) {
            None => {
                return Err(Rejection::bad_request(
                    "Invalid request: the X-MRC-CV header is required",
                ))
            }
            Some(Ok(cv)) if is_correlation_vector(cv) => {}
            Some(_) => {
                return Err(Rejection::bad_request(
                    "Invalid request: the X-MRC-CV header is not a correlation vector (22 base64 characters)",
                ))
            }
        }

        let Ok(account_id) = Uuid::try_parse(account_segment) else {
            return Err(Rejection::bad_request(
                "Invalid request: the account id in the path is not a guid",
            ));
        };
        let Some(account) = self.accounts.get(&account_id) else {
            return Err(Rejection::status(StatusCode::NOT_FOUND));
        };

        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            return Err(Rejection::unauthorized(
                "Invalid token: the Authorization header is required",
            ));
        };
        let Some(credential) = authorization.to_str().ok().and_then(bearer_value) else {
            return Err(Rejection::unauthorized(
                "Invalid token: use the Bearer scheme",
            ));
        };
        if let Some((id, key)) = credential.split_once(':') {
            let Ok(id) = Uuid::try_parse(id) else {
                return Err(Rejection::unauthorized(
                    "Invalid token: the account id in the credential is not a guid",
                ));
            };
            if id != account.id() {
                return Err(Rejection::unauthorized(
                    "Invalid token: the credential is for a different account than the request path",
                ));
            }
            if !account.accepts_key(key.as_bytes()) {
                return Err(Rejection::unauthorized(
                    "Invalid token: the account key is not valid",
                ));
            }
            return Ok((account, CredentialKind::AccountKey));
        }
        if credential.split('.').count() == 3 {
            check_aad_token(&self.aad, credential, self.now_secs())?;
            return Ok((account, CredentialKind::AadToken));
        }
        Err(Rejection::unauthorized(
            "Invalid token: the credential is neither <account id>:<account key> nor a jwt",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccountKey;
    use std::time::SystemTime;

    const ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
    const CV: &str = "DQzdx06xR5GYcLGnQTzs3w";

    #[derive(Debug)]
    struct FixedClock(u64);

    impl Clock for FixedClock {
        fn now(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(self.0)
        }
    }

    fn service(aad: AadMode) -> StsService {
        let id = Uuid::parse_str(ID).unwrap();
        let account = Account::new(id, AccountKey::new("primary").unwrap())
            .unwrap()
            .with_key(AccountKey::new("secondary").unwrap())
            .unwrap();
        StsService {
            accounts: HashMap::from([(id, account)]),
            aad,
            signer: TokenSigner::generate().unwrap(),
            clock: Arc::new(FixedClock(1_700_000_000)),
            token_lifetime: Duration::from_secs(86_400),
            issuer: "https://127.0.0.1:1/".to_owned(),
            audience: "https://aud/".to_owned(),
            prefix: String::new(),
            discovery: "{}".to_owned(),
            max_body_bytes: 10,
            faults: Mutex::new(VecDeque::new()),
            stats: StatsRecorder::new(8),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn good_headers() -> HeaderMap {
        headers(&[
            ("x-mrc-cv", CV),
            ("authorization", &format!("Bearer {ID}:primary")),
        ])
    }

    const QUERY: Option<&str> = Some("api-version=2019-02-28-preview");

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn routes() {
        let get = Method::GET;
        assert_eq!(
            route(&get, &format!("/Accounts/{ID}/token"), ""),
            Route::Token(ID)
        );
        assert_eq!(route(&get, "/accounts/x/TOKEN", ""), Route::Token("x"));
        assert_eq!(
            route(&get, "/sts/Accounts/x/token", "/sts"),
            Route::Token("x")
        );
        assert_eq!(route(&get, "/Accounts/x/token", "/sts"), Route::NotFound);
        assert_eq!(route(&get, "/Accounts//token", ""), Route::NotFound);
        assert_eq!(route(&get, "/Accounts/x/token/more", ""), Route::NotFound);
        assert_eq!(route(&get, "/Accounts/x", ""), Route::NotFound);
        assert_eq!(route(&get, "/", ""), Route::NotFound);
        assert_eq!(route(&get, JWKS_PATH, ""), Route::Jwks);
        assert_eq!(route(&get, DISCOVERY_PATH, ""), Route::Discovery);
        assert_eq!(
            route(&Method::POST, "/Accounts/x/token", ""),
            Route::MethodNotAllowed
        );
    }

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

    #[test]
    fn accepts_both_keys() {
        let svc = service(AadMode::Disabled);
        let (account, kind) = svc.authorize(&good_headers(), QUERY, ID).unwrap();
        assert_eq!(account.id().to_string(), ID);
        assert_eq!(kind, CredentialKind::AccountKey);
        let secondary = headers(&[
            ("x-mrc-cv", CV),
            ("authorization", &format!("bearer {ID}:secondary")),
        ]);
        assert!(svc.authorize(&secondary, QUERY, ID).is_ok());
    }

    #[test]
    fn request_errors_are_400_with_invalid_request() {
        let svc = service(AadMode::Disabled);
        for (headers, query, segment) in [
            (good_headers(), None, ID),
            (good_headers(), Some("api-version=2020-01-01"), ID),
            (headers(&[("authorization", "Bearer x:y")]), QUERY, ID),
            (
                headers(&[("x-mrc-cv", "nope"), ("authorization", "Bearer x:y")]),
                QUERY,
                ID,
            ),
            (good_headers(), QUERY, "not-a-guid"),
        ] {
            let rejection = svc.authorize(&headers, query, segment).unwrap_err();
            assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
            assert!(rejection
                .www_authenticate
                .unwrap()
                .starts_with("Invalid request: "));
        }
    }

    #[test]
    fn unknown_account_is_404() {
        let svc = service(AadMode::Disabled);
        let other = "0d0cddc7-4eb1-4791-9870-b1a7413cecdf";
        let rejection = svc.authorize(&good_headers(), QUERY, other).unwrap_err();
        assert_eq!(rejection, Rejection::status(StatusCode::NOT_FOUND));
    }

    #[test]
    fn oversized_body_is_413() {
        let svc = service(AadMode::Disabled);
        let mut h = good_headers();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        let rejection = svc.authorize(&h, QUERY, ID).unwrap_err();
        assert_eq!(rejection.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn credential_errors_are_401_with_invalid_token() {
        let svc = service(AadMode::Disabled);
        let other = "0d0cddc7-4eb1-4791-9870-b1a7413cecdf";
        for auth in [
            None,
            Some(format!("Basic {ID}:primary")),
            Some("Bearer".to_owned()),
            Some("Bearer   ".to_owned()),
            Some(format!("Bearer {ID}:wrong")),
            Some(format!("Bearer {ID}:")),
            Some(format!("Bearer {other}:primary")),
            Some("Bearer nope:primary".to_owned()),
            Some("Bearer opaque".to_owned()),
            Some(format!(
                "Bearer {}",
                jwt(serde_json::json!({"exp": 1_800_000_000u64}))
            )),
        ] {
            let mut h = headers(&[("x-mrc-cv", CV)]);
            if let Some(auth) = &auth {
                h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
            }
            let rejection = svc.authorize(&h, QUERY, ID).unwrap_err();
            assert_eq!(rejection.status, StatusCode::UNAUTHORIZED, "{auth:?}");
            assert!(rejection
                .www_authenticate
                .unwrap()
                .starts_with("Invalid token: "));
            // Never echo the credential.
            assert!(!rejection.www_authenticate.unwrap().contains("primary"));
        }
    }

    #[test]
    fn aad_verified_mode_checks_issuer_audience_and_time() {
        let mode = AadMode::Verified {
            issuer: "https://sts.windows.net/t/".to_owned(),
            audience: "https://sts.mixedreality.azure.com".to_owned(),
        };
        let now = 1_700_000_000;
        let good = serde_json::json!({
            "iss": "https://sts.windows.net/t/",
            "aud": "https://sts.mixedreality.azure.com",
            "exp": now + 3600,
            "nbf": now - 10,
        });
        assert!(check_aad_token(&mode, &jwt(good.clone()), now).is_ok());
        let mut array_aud = good.clone();
        array_aud["aud"] = serde_json::json!(["x", "https://sts.mixedreality.azure.com"]);
        assert!(check_aad_token(&mode, &jwt(array_aud), now).is_ok());
        let mut float_exp = good.clone();
        float_exp["exp"] = serde_json::json!((now + 3600) as f64 + 0.5);
        assert!(check_aad_token(&mode, &jwt(float_exp), now).is_ok());

        for (field, value) in [
            ("iss", serde_json::json!("https://evil/")),
            ("aud", serde_json::json!("https://other")),
            ("exp", serde_json::json!(now - 1000)),
            ("exp", serde_json::Value::Null),
            ("nbf", serde_json::json!(now + 1000)),
        ] {
            let mut claims = good.clone();
            claims[field] = value;
            let err = check_aad_token(&mode, &jwt(claims), now).unwrap_err();
            assert_eq!(err.status, StatusCode::UNAUTHORIZED, "{field}");
        }
        for malformed in ["a.b.c", "e30.e30", "e30.W10.x", "!!.e30.x"] {
            assert!(
                check_aad_token(&mode, malformed, now).is_err(),
                "{malformed}"
            );
        }
    }

    #[test]
    fn aad_permissive_mode_checks_only_shape_and_exp() {
        let now = 1_700_000_000;
        let mode = AadMode::Permissive;
        assert!(check_aad_token(&mode, &jwt(serde_json::json!({})), now).is_ok());
        assert!(check_aad_token(&mode, &jwt(serde_json::json!({"exp": now + 1})), now).is_ok());
        assert!(check_aad_token(&mode, &jwt(serde_json::json!({"exp": now - 600})), now).is_err());
        assert!(check_aad_token(&mode, "e30.e30.x", now).is_ok());
        assert!(check_aad_token(&mode, "e30.bm9wZQ.x", now).is_err());
        let svc = service(AadMode::Permissive);
        let h = headers(&[
            ("x-mrc-cv", CV),
            (
                "authorization",
                &format!("Bearer {}", jwt(serde_json::json!({}))),
            ),
        ]);
        let (_, kind) = svc.authorize(&h, QUERY, ID).unwrap();
        assert_eq!(kind, CredentialKind::AadToken);
    }

    #[test]
    fn classifies_credentials_without_keeping_them() {
        assert_eq!(
            classify_credential(&HeaderMap::new()),
            CredentialKind::Missing
        );
        assert_eq!(
            classify_credential(&good_headers()),
            CredentialKind::AccountKey
        );
        let aad = headers(&[("authorization", "Bearer a.b.c")]);
        assert_eq!(classify_credential(&aad), CredentialKind::AadToken);
        let basic = headers(&[("authorization", "Basic abc")]);
        assert_eq!(classify_credential(&basic), CredentialKind::Unrecognized);
    }

    #[tokio::test]
    async fn faults_are_consumed_in_order_then_normal_service() {
        let svc = Arc::new(service(AadMode::Disabled));
        svc.push_faults([
            Fault::Status {
                status: 429,
                retry_after_secs: Some(3),
            },
            Fault::DropConnection,
        ]);
        let request = || {
            let mut builder = Request::get(format!(
                "/Accounts/{ID}/token?api-version=2019-02-28-preview"
            ));
            for (name, value) in good_headers().iter() {
                builder = builder.header(name, value);
            }
            builder.body(()).unwrap()
        };
        let first = svc.clone().handle(request()).await.unwrap();
        assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(first.headers()[header::RETRY_AFTER], "3");
        assert!(svc.clone().handle(request()).await.is_err());
        let third = svc.clone().handle(request()).await.unwrap();
        assert_eq!(third.status(), StatusCode::OK);
        assert_eq!(
            third.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let stats = svc.stats();
        assert_eq!(stats.token_requests, 3);
        assert_eq!(stats.tokens_issued, 1);
        assert_eq!(stats.count(429), 1);
        assert_eq!(stats.dropped, 1);
        assert_eq!(stats.faults_pending, 0);
        assert_eq!(stats.recent[0].correlation_vector.as_deref(), Some(CV));
        assert_eq!(svc.clear_faults(), 0);
    }
}
