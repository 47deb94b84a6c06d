//! The STS the emulator serves: this file holds the service's state and the request flow;
//! each step is in its own module (routing, correlation vectors, request checks, AAD token
//! checks, fault application, issuing).

mod aad_token_check;
mod authorization;
mod correlation;
mod fault_application;
mod issuing;
mod rejection;
mod route;

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use bytes::Bytes;
use hyper::{
    header::{self, HeaderMap, HeaderName, HeaderValue},
    Request, Response, StatusCode,
};
use uuid::Uuid;

use crate::{
    response_body::ResponseBody, stats::StatsRecorder, token_signer::TokenSigner, AadMode, Account,
    Clock, Fault, Outcome, RequestSummary, Stats,
};

pub(crate) use route::JWKS_PATH;

use authorization::classify_credential;
use correlation::new_ms_cv;
use fault_application::FaultEffect;
use route::{route, Route};

/// The only `api-version` the STS serves.
pub(crate) const API_VERSION: &str = "2019-02-28-preview";

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
        // Before 1970 reads as 0: nothing the emulator issues or checks lies there.
        u64::try_from(self.clock.now().unix_timestamp()).unwrap_or(0)
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

        let shape = match self.apply_fault(fault, &ms_cv, &mut summary).await {
            FaultEffect::Answered(answer) => return answer,
            FaultEffect::Serve(shape) => shape,
        };

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

        Ok(self.issue(account, kind, shape, &ms_cv, summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{aad_token_check::check_aad_token, rejection::Rejection};
    use crate::AccountKey;
    use crate::CredentialKind;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    use mr_auth_core::ManualClock;

    const ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
    const CV: &str = "DQzdx06xR5GYcLGnQTzs3w";

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
            clock: Arc::new(ManualClock::at_fixed_start()),
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
    fn aad_claims_checked_mode_checks_issuer_audience_and_time() {
        let mode = AadMode::ClaimsChecked {
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
    fn aad_signature_checked_mode_needs_a_configured_key_and_the_claims() {
        let now = 1_700_000_000;
        let signer = TokenSigner::generate().unwrap();
        let mode = AadMode::SignatureChecked {
            issuer: "https://sts.windows.net/t/".to_owned(),
            audience: "https://sts.mixedreality.azure.com".to_owned(),
            keys: crate::AadSigningKeys::from_jwks(signer.jwks()).unwrap(),
        };
        let signed = |signer: &TokenSigner, iss: &str| {
            signer
                .sign(&crate::token_signer::TokenClaims {
                    jti: Uuid::nil(),
                    aid: Uuid::nil(),
                    tid: Uuid::nil(),
                    rid: "r",
                    aao: "a",
                    apr: "p",
                    iss,
                    aud: "https://sts.mixedreality.azure.com",
                    iat: now - 10,
                    nbf: now - 10,
                    exp: Some(now + 3600),
                })
                .unwrap()
        };
        assert!(
            check_aad_token(&mode, &signed(&signer, "https://sts.windows.net/t/"), now).is_ok()
        );
        let other = TokenSigner::generate().unwrap();
        let unsigned = jwt(serde_json::json!({
            "iss": "https://sts.windows.net/t/",
            "aud": "https://sts.mixedreality.azure.com",
            "exp": now + 3600,
        }));
        for bad in [
            unsigned,
            signed(&other, "https://sts.windows.net/t/"),
            signed(&signer, "https://evil/"),
        ] {
            let err = check_aad_token(&mode, &bad, now).unwrap_err();
            assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        }
        let err =
            check_aad_token(&mode, &signed(&other, "https://sts.windows.net/t/"), now).unwrap_err();
        assert!(
            err.www_authenticate.unwrap().contains("signature"),
            "says why"
        );
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
        mr_auth_test_support::bounded(async move {
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
        })
        .await;
    }
}
