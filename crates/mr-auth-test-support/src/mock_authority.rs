//! A loopback mock of the Entra ID authorize and token endpoints that checks what a real one
//! checks: client id, redirect URI, state round trip (through the browser), PKCE S256; and of
//! its device code grant (RFC 8628): the `devicecode` endpoint, scripted polling answers, and
//! a verification page where a browser enters the user code and approves. Its OpenID
//! configuration lets MSAL (Python) use it too, through a TLS front.
//!
//! It signs in one user ([`USERNAME`]) through the browser, and redeems the refresh tokens it
//! issued, and those a test hands it for other accounts ([`MockAuthority::accept_refresh_token`],
//! as if another app had signed them in), answering each for its own account. Its app is a
//! family app: every token response carries `foci` `1`, as Entra ID's do for the Azure CLI's
//! client id.
//!
//! Its access tokens are opaque strings by default; [`MockAuthority::issue_v1_access_tokens`]
//! makes them the v1 JWTs Entra ID issues for a resource such as Azure Storage, which a resource
//! server that reads them (Azurite with `--oauth basic`) accepts or refuses as Azure would.
//!
//! For `azure_identity`'s `ClientSecretCredential` it also serves a confidential client's
//! client credentials grant ([`CLIENT_SECRET`]); for benchmarks, kept-alive connections
//! ([`MockAuthority::start_keep_alive`]) and a count of every request it received
//! ([`Log::requests`]).

use crate::scripted_http::{serve, serve_keep_alive, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use mr_auth_core::{Clock, SystemClock};
use sha2::{Digest, Sha256};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};
use tokio::{task::JoinHandle, time::Instant};

/// The only client id the mock authority knows.
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
/// The secret of [`CLIENT_ID`] as a confidential client (the client credentials grant).
pub const CLIENT_SECRET: &str = "mock-client-secret-value";
/// The user the mock authority signs in (`preferred_username` of its id tokens).
pub const USERNAME: &str = "user@contoso.com";
/// The tenant the mock authority serves, as a domain (the path segment of its endpoints).
pub const TENANT: &str = "contoso.onmicrosoft.com";
/// The same tenant's id, as it appears in v1 access tokens (`tid`, and `iss`
/// `https://sts.windows.net/{TENANT_ID}/`).
pub const TENANT_ID: &str = "72f0a1c4-3b5d-4e6f-8a9b-0c1d2e3f4a5b";

/// An account the mock authority answers refresh tokens for (see
/// [`MockAuthority::accept_refresh_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockAccount {
    /// The object id: `uid` of `client_info`.
    pub uid: String,
    /// The home tenant: `utid` of `client_info`.
    pub utid: String,
    /// `preferred_username` of the id tokens.
    pub username: String,
}

impl MockAccount {
    /// The account `uid` of home tenant `utid`, named `username`.
    pub fn new(uid: &str, utid: &str, username: &str) -> Self {
        Self {
            uid: uid.to_owned(),
            utid: utid.to_owned(),
            username: username.to_owned(),
        }
    }
}

impl Default for MockAccount {
    /// The user the browser sign-in signs in: `{"uid":"u","utid":"t"}`, [`USERNAME`].
    fn default() -> Self {
        Self {
            uid: "u".to_owned(),
            utid: "t".to_owned(),
            username: USERNAME.to_owned(),
        }
    }
}

/// The shape of v1 access tokens (see [`MockAuthority::issue_v1_access_tokens`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V1AccessTokens {
    /// The `aud` claim. `None`: the resource of the requested scope
    /// (`https://storage.azure.com` for `https://storage.azure.com/.default`), as Entra ID does.
    pub audience: Option<String>,
    /// Issue tokens whose `nbf`/`exp` claims lie in the past while the token response still
    /// says `expires_in` seconds, so a client caches a token its resource server refuses.
    pub expired: bool,
}

/// What the authorize page does with the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeMode {
    /// Approve at once: a page that auto-posts code and state to the redirect URI (form_post).
    AutoPost,
    /// Approve with a 302 redirect carrying code and state in the query.
    QueryRedirect,
    /// Approve, but send back a different state (a forged response).
    WrongState,
    /// Redirect with `error` and `error_description`.
    Error {
        /// The `error` parameter.
        error: String,
        /// The `error_description` parameter.
        description: String,
        /// The `error_subcode` parameter, when given.
        subcode: Option<String>,
    },
    /// Show a page and never redirect (the user walked away).
    Stall,
}

/// The device code grant's `grant_type`.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the token endpoint answers one device code poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// `authorization_pending`: the user has not finished yet.
    Pending,
    /// `slow_down` (RFC 8628 section 3.5).
    SlowDown,
    /// `authorization_declined`: the user said no.
    Declined,
    /// `expired_token`.
    Expired,
    /// `bad_verification_code`: the device code is not known.
    BadCode,
    /// The tokens.
    Success,
}

/// A device code sign-in the mock started.
#[derive(Debug, Clone)]
struct DeviceFlow {
    device_code: String,
    user_code: String,
    /// The scopes asked for: granted with the tokens (a poll need not repeat them).
    scope: String,
    /// `None` while the user has not answered on the verification page.
    approved: Option<bool>,
    redeemed: bool,
}

/// How the `devicecode` endpoint answers.
#[derive(Debug, Clone)]
struct DeviceSettings {
    expires_in: u64,
    interval: Option<u64>,
    message: Option<String>,
}

#[derive(Debug, Clone)]
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
}

/// What the mock authority saw and issued.
#[derive(Debug, Default)]
pub struct Log {
    /// Every request it received, whatever it was for (a request counter: a client that
    /// should need no network leaves it unchanged).
    pub requests: usize,
    /// Requests for the tenant's OpenID configuration.
    pub discovery_requests: usize,
    /// Requests to the authorize endpoint (one per interactive sign-in).
    pub authorize_requests: usize,
    /// `grant_type` of each token request, and whether it succeeded.
    pub token_requests: Vec<(String, bool)>,
    /// The query of the last authorize request.
    pub last_authorize_query: HashMap<String, String>,
    /// The form keys of the last token request, sorted.
    pub last_token_form_keys: Vec<String>,
    /// Every token value the mock issued (access and refresh), to look for in logs.
    pub issued_secrets: Vec<String>,
    /// The refresh tokens it redeemed, in order.
    pub redeemed_refresh_tokens: Vec<String>,
    /// Requests to the `devicecode` endpoint.
    pub device_code_requests: usize,
    /// The form of the last `devicecode` request.
    pub last_device_code_form: HashMap<String, String>,
    /// Each device code poll: when it came (`tokio::time::Instant`, so a test under
    /// `tokio::time::pause` reads paused time) and what it was answered.
    pub device_polls: Vec<(Instant, DevicePoll)>,
    /// The user codes entered on the verification page, in order.
    pub entered_user_codes: Vec<String>,
}

#[derive(Debug)]
struct State {
    mode: AuthorizeMode,
    tamper_challenge: bool,
    expires_in: u64,
    codes: HashMap<String, IssuedCode>,
    /// The refresh tokens it redeems, and whose they are.
    refresh_tokens: HashMap<String, MockAccount>,
    /// Whether a refresh token stays valid once redeemed (see
    /// [`MockAuthority::keep_refresh_tokens`]).
    keep_refresh_tokens: bool,
    counter: u64,
    v1_access_tokens: Option<V1AccessTokens>,
    clock: Arc<dyn Clock>,
    log: Log,
    /// `http://127.0.0.1:{port}`, or the TLS front clients reach it through.
    public_url: String,
    device: DeviceSettings,
    device_flows: Vec<DeviceFlow>,
    device_script: VecDeque<DevicePoll>,
}

/// The mock authority, serving on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct MockAuthority {
    /// The port it listens on.
    pub port: u16,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for MockAuthority {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockAuthority {
    /// Starts the authority on an ephemeral loopback port. Each connection serves one request.
    pub async fn start(mode: AuthorizeMode) -> Self {
        Self::start_with(mode, false).await
    }

    /// As [`start`](Self::start), but connections stay open between requests, as Entra ID's
    /// do: for benchmarks of a client's cost per request, where a TLS handshake per request
    /// would drown what is measured.
    pub async fn start_keep_alive(mode: AuthorizeMode) -> Self {
        Self::start_with(mode, true).await
    }

    async fn start_with(mode: AuthorizeMode, keep_alive: bool) -> Self {
        let state = Arc::new(Mutex::new(State {
            mode,
            tamper_challenge: false,
            expires_in: 3600,
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            keep_refresh_tokens: false,
            counter: 0,
            v1_access_tokens: None,
            clock: Arc::new(SystemClock),
            log: Log::default(),
            public_url: String::new(),
            device: DeviceSettings {
                expires_in: 900,
                interval: Some(5),
                message: None,
            },
            device_flows: Vec::new(),
            device_script: VecDeque::new(),
        }));
        let s = Arc::clone(&state);
        let handler = move |req| {
            let s = Arc::clone(&s);
            async move { handle(&s, req) }
        };
        let (port, task) = if keep_alive {
            serve_keep_alive(handler).await
        } else {
            serve(handler).await
        };
        state.lock().unwrap().public_url = format!("http://127.0.0.1:{port}");
        Self { port, state, task }
    }

    /// The address clients reach the authority at, when not its own (a [`crate::TlsFront`]
    /// in front of it, for clients that insist on https): the endpoints its OpenID
    /// configuration names, the issuer of its id tokens and its verification page are there.
    pub fn set_public_url(&self, url: &str) {
        self.state.lock().unwrap().public_url = url.trim_end_matches('/').to_owned();
    }

    /// What the `devicecode` endpoint says from now on: `expires_in` (default 900 s) and
    /// `interval` (default `Some(5)`; `None` leaves it out, for the client's default).
    pub fn set_device_code_timing(&self, expires_in: u64, interval: Option<u64>) {
        let mut s = self.state.lock().unwrap();
        s.device.expires_in = expires_in;
        s.device.interval = interval;
    }

    /// The `message` of the `devicecode` answers from now on (`None`: the mock's own sentence
    /// with the address and the code).
    pub fn set_device_code_message(&self, message: Option<&str>) {
        self.state.lock().unwrap().device.message = message.map(str::to_owned);
    }

    /// The answers to the next device code polls, in order; once they are used up, a poll is
    /// answered by what the user did on the verification page (pending until they approved
    /// or declined).
    pub fn script_device_polls(&self, answers: impl IntoIterator<Item = DevicePoll>) {
        self.state.lock().unwrap().device_script = answers.into_iter().collect();
    }

    /// The user code of the last device code sign-in started, if any.
    pub fn user_code(&self) -> Option<String> {
        let s = self.state.lock().unwrap();
        s.device_flows.last().map(|f| f.user_code.clone())
    }

    /// What a user does on the verification page without a browser: approves (or declines)
    /// the sign-in of `user_code`; whether that code was waiting.
    pub fn answer_user_code(&self, user_code: &str, approve: bool) -> bool {
        answer(&mut self.state.lock().unwrap(), user_code, approve)
    }

    /// Its authority host, for the credential's `authority_host` option.
    pub fn authority_host(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The authority as an `AuthenticationRecord` names it: `127.0.0.1:<port>` (host and port:
    /// not the scheme's default port).
    pub fn record_authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Changes what the authorize page does from the next sign-in on.
    pub fn set_mode(&self, mode: AuthorizeMode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Record a different code challenge than the browser brought, so the client's (correct)
    /// verifier no longer matches: the authority must refuse the code.
    pub fn tamper_challenge(&self) {
        self.state.lock().unwrap().tamper_challenge = true;
    }

    /// Accept a refresh token again after it was redeemed, as Entra ID does (an older refresh
    /// token stays valid after a newer one is issued), so processes that read the same stored
    /// token at once all get tokens. By default a redeemed refresh token is refused.
    pub fn keep_refresh_tokens(&self) {
        self.state.lock().unwrap().keep_refresh_tokens = true;
    }

    /// The `expires_in` of the token responses from now on (default 3600 seconds).
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.lock().unwrap().expires_in = seconds;
    }

    /// Issue v1 JWT access tokens (`iss` `https://sts.windows.net/{TENANT_ID}/`, `aud`, `nbf`,
    /// `exp`, unsigned) instead of opaque ones, from the next token request on. Their times come
    /// from the system clock, as a resource server checks them against its own.
    pub fn issue_v1_access_tokens(&self, tokens: V1AccessTokens) {
        self.state.lock().unwrap().v1_access_tokens = Some(tokens);
    }

    /// Redeems `refresh_token` from now on (once: the answer rotates it, as Entra ID does), for
    /// `account`: a sign-in another app made, whose tokens the test put in a cache.
    pub fn accept_refresh_token(&self, refresh_token: &str, account: MockAccount) {
        let mut s = self.state.lock().unwrap();
        s.log.issued_secrets.push(refresh_token.to_owned());
        s.refresh_tokens.insert(refresh_token.to_owned(), account);
    }

    /// Reads the log.
    pub fn log<T>(&self, f: impl FnOnce(&Log) -> T) -> T {
        f(&self.state.lock().unwrap().log)
    }

    /// What the authorize endpoint does, without a browser: validates the authorize URL and
    /// returns `(redirect_uri, code, state)` for a scripted browser to deliver.
    pub fn approve(&self, authorize_url: &url::Url) -> Result<(String, String, String), String> {
        let query: HashMap<String, String> = authorize_url.query_pairs().into_owned().collect();
        let mut s = self.state.lock().unwrap();
        let code = authorize(&mut s, &query)?;
        Ok((query["redirect_uri"].clone(), code, query["state"].clone()))
    }
}

fn authorize(s: &mut State, q: &HashMap<String, String>) -> Result<String, String> {
    s.log.authorize_requests += 1;
    s.log.last_authorize_query = q.clone();
    let get = |k: &str| q.get(k).cloned().ok_or(format!("missing {k}"));
    if get("client_id")? != CLIENT_ID {
        return Err("AADSTS700016: unknown client".into());
    }
    if get("response_type")? != "code" || get("code_challenge_method")? != "S256" {
        return Err("bad response_type or code_challenge_method".into());
    }
    let redirect_uri = get("redirect_uri")?;
    if !redirect_uri.starts_with("http://localhost:") {
        return Err(format!(
            "AADSTS50011: redirect uri {redirect_uri} is not registered"
        ));
    }
    let scope = get("scope")?;
    for s in ["openid", "profile", "offline_access"] {
        if !scope.split(' ').any(|x| x == s) {
            return Err(format!("scope lacks {s}"));
        }
    }
    get("state")?;
    let mut challenge = get("code_challenge")?;
    if challenge.len() != 43 {
        return Err("bad code_challenge".into());
    }
    if s.tamper_challenge {
        challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(b"someone else's verifier"));
    }
    s.counter += 1;
    let code = format!("code-{}-{}", s.counter, uuid::Uuid::new_v4());
    s.log.issued_secrets.push(code.clone());
    s.codes.insert(
        code.clone(),
        IssuedCode {
            client_id: CLIENT_ID.into(),
            redirect_uri,
            challenge,
            nonce: get("nonce")?,
        },
    );
    Ok(code)
}

fn handle(state: &Mutex<State>, req: HttpRequest) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.log.requests += 1;
    let authorize_path = format!("/{TENANT}/oauth2/v2.0/authorize");
    let token_path = format!("/{TENANT}/oauth2/v2.0/token");
    if req.method == "GET" && req.path == authorize_path {
        let mode = s.mode.clone();
        let code = match authorize(&mut s, &req.query) {
            Ok(code) => code,
            Err(e) => return HttpResponse::new(400, "text/plain", e),
        };
        let redirect = req.query["redirect_uri"].clone();
        let state_value = req.query["state"].clone();
        return match mode {
            AuthorizeMode::AutoPost | AuthorizeMode::WrongState => {
                let st = if mode == AuthorizeMode::WrongState {
                    "forged-state".to_owned()
                } else {
                    state_value
                };
                HttpResponse::html(format!(
                    r#"<!DOCTYPE html><html><body><form method="post" action="{redirect}"><input type="hidden" name="code" value="{code}"><input type="hidden" name="state" value="{st}"></form><script>document.forms[0].submit();</script></body></html>"#
                ))
            }
            AuthorizeMode::QueryRedirect => {
                let mut to = url::Url::parse(&redirect).unwrap();
                to.query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", &state_value);
                let mut r = HttpResponse::new(302, "text/plain", "");
                r.headers.push(("Location".into(), to.to_string()));
                r
            }
            AuthorizeMode::Error {
                error,
                description,
                subcode,
            } => {
                let mut to = url::Url::parse(&redirect).unwrap();
                to.query_pairs_mut()
                    .append_pair("error", &error)
                    .append_pair("error_description", &description)
                    .append_pair("state", &state_value);
                if let Some(sub) = subcode {
                    to.query_pairs_mut().append_pair("error_subcode", &sub);
                }
                let mut r = HttpResponse::new(302, "text/plain", "");
                r.headers.push(("Location".into(), to.to_string()));
                r
            }
            AuthorizeMode::Stall => {
                HttpResponse::html("<html><body>Pick an account... (never)</body></html>")
            }
        };
    }
    if let Some(response) = device_routes(&mut s, &req) {
        return response;
    }
    if req.method == "POST" && req.path == token_path {
        let grant = req.form.get("grant_type").cloned().unwrap_or_default();
        let mut keys: Vec<String> = req.form.keys().cloned().collect();
        keys.sort();
        s.log.last_token_form_keys = keys;
        let result = token(&mut s, &req.form, &grant);
        s.log.token_requests.push((grant, result.is_ok()));
        return match result {
            Ok(body) => HttpResponse::json(200, body),
            Err((code, error, description)) => HttpResponse::json(
                400,
                serde_json::json!({
                    "error": error,
                    "error_description": format!("AADSTS{code}: {description}"),
                    "error_codes": [code],
                    "correlation_id": "00000000-0000-0000-0000-00000000c0de",
                }),
            ),
        };
    }
    HttpResponse::new(404, "text/plain", "not found")
}

fn token(
    s: &mut State,
    form: &HashMap<String, String>,
    grant: &str,
) -> Result<serde_json::Value, (u32, &'static str, String)> {
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return Err((700016, "unauthorized_client", "unknown client".into()));
    }
    if grant == "client_credentials" {
        return client_credentials(s, form);
    }
    if form.get("client_info").map(String::as_str) != Some("1") {
        return Err((
            900144,
            "invalid_request",
            "client_info=1 expected by this mock".into(),
        ));
    }
    let mut granted = form.get("scope").cloned();
    let (nonce, account) = match grant {
        "authorization_code" => {
            let code = form
                .get("code")
                .ok_or((900144, "invalid_request", "no code".to_owned()))?;
            let issued = s.codes.remove(code).ok_or((
                70000,
                "invalid_grant",
                "the code is unknown or was already redeemed".to_owned(),
            ))?;
            if form.get("redirect_uri") != Some(&issued.redirect_uri) {
                return Err((
                    50011,
                    "invalid_grant",
                    "the redirect uri differs from the authorize request's".into(),
                ));
            }
            if issued.client_id != CLIENT_ID {
                return Err((700016, "invalid_grant", "client mismatch".into()));
            }
            let verifier = form.get("code_verifier").ok_or((
                501481,
                "invalid_grant",
                "no code_verifier".to_owned(),
            ))?;
            s.log.issued_secrets.push(verifier.clone());
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != issued.challenge {
                return Err((501481, "invalid_grant", "The Code_Verifier does not match the code_challenge supplied in the authorization request".into()));
            }
            (Some(issued.nonce), MockAccount::default())
        }
        "refresh_token" => {
            let rt = form.get("refresh_token").ok_or((
                900144,
                "invalid_request",
                "no refresh_token".to_owned(),
            ))?;
            let known = if s.keep_refresh_tokens {
                s.refresh_tokens.get(rt).cloned()
            } else {
                s.refresh_tokens.remove(rt)
            };
            let account = known.ok_or((
                70000,
                "invalid_grant",
                "the refresh token is unknown".to_owned(),
            ))?;
            s.log.redeemed_refresh_tokens.push(rt.clone());
            (None, account)
        }
        DEVICE_CODE_GRANT => {
            granted = device_poll(s, form)?.or(granted);
            (None, MockAccount::default())
        }
        _ => return Err((70003, "unsupported_grant_type", grant.to_owned())),
    };
    let access = issue_access_token(s, granted.as_deref().unwrap_or_default());
    let refresh = format!("refresh-token-{}-{}", s.counter, uuid::Uuid::new_v4());
    s.refresh_tokens.insert(refresh.clone(), account.clone());
    s.log.issued_secrets.push(access.clone());
    s.log.issued_secrets.push(refresh.clone());
    // A real id token always has exp (mr-auth-core's decoder, which the credential reads the
    // nonce with, requires it); a fixed far-future one avoids reading the clock here.
    let claims = serde_json::json!({
        "aud": CLIENT_ID,
        "iss": issuer(s),
        "nonce": nonce,
        "sub": "user-1",
        "tid": TENANT,
        "preferred_username": account.username,
        "exp": 4_102_444_800u64,
    });
    let id_token = unsigned_jwt(&claims);
    Ok(serde_json::json!({
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": s.expires_in,
        "ext_expires_in": s.expires_in,
        "refresh_token": refresh,
        "id_token": id_token,
        "client_info": client_info(&account.uid, &account.utid),
        "scope": granted,
        "foci": "1",
    }))
}

/// An id token with `claims`, unsigned (`alg` `none`): the mock has no key, and its clients
/// read id tokens without checking a signature (the token came from the authority over TLS).
/// Public for tests that script an authority's answers themselves.
pub fn unsigned_jwt(claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A token response's `client_info`: `{"uid":..,"utid":..}` as base64url without padding.
pub fn client_info(uid: &str, utid: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!({"uid": uid, "utid": utid}).to_string())
}

/// The client credentials grant: a confidential client's own token (no refresh token, no id
/// token, no `client_info`), for a `/.default` scope.
fn client_credentials(
    s: &mut State,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, (u32, &'static str, String)> {
    if form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
        return Err((
            7000215,
            "invalid_client",
            "Invalid client secret provided".into(),
        ));
    }
    let scope = form.get("scope").map(String::as_str).unwrap_or_default();
    if scope.split(' ').count() != 1 || !scope.ends_with("/.default") {
        return Err((
            1002012,
            "invalid_scope",
            format!("the client credentials grant takes one /.default scope, not {scope:?}"),
        ));
    }
    let access = issue_access_token(s, scope);
    s.log.issued_secrets.push(access.clone());
    Ok(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": s.expires_in,
        "ext_expires_in": s.expires_in,
        "access_token": access,
    }))
}

/// A new access token for `scope`: opaque, or a v1 JWT (see
/// [`MockAuthority::issue_v1_access_tokens`]).
fn issue_access_token(s: &mut State, scope: &str) -> String {
    s.counter += 1;
    match &s.v1_access_tokens {
        None => format!("access-token-{}-{}", s.counter, uuid::Uuid::new_v4()),
        Some(v1) => v1_access_token(v1, s.clock.now().unix_timestamp(), s.expires_in, scope),
    }
}

/// An unsigned v1 access token as Entra ID issues it for a v1 resource: the audience is the
/// resource (the requested scope without `/.default`) unless `v1` names another one.
fn v1_access_token(v1: &V1AccessTokens, now: i64, expires_in: u64, scope: &str) -> String {
    let resource = scope
        .split(' ')
        .find_map(|s| s.strip_suffix("/.default"))
        .unwrap_or_default();
    let audience = v1.audience.as_deref().unwrap_or(resource);
    let lifetime = i64::try_from(expires_in).unwrap_or(i64::MAX / 2);
    let (nbf, exp) = if v1.expired {
        (now - 2 * 3600, now - 3600)
    } else {
        (now - 300, now + lifetime)
    };
    let claims = serde_json::json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{TENANT_ID}/"),
        "iat": nbf,
        "nbf": nbf,
        "exp": exp,
        "appid": CLIENT_ID,
        "oid": "00000000-0000-0000-0000-0000000000a1",
        "scp": "user_impersonation",
        "sub": "user-1",
        "tid": TENANT_ID,
        "ver": "1.0",
        "uti": uuid::Uuid::new_v4().to_string(),
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"mock"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"unsigned: the mock authority has no key"),
    )
}

/// The issuer of the mock's id tokens, as its OpenID configuration names it: its public URL
/// and the tenant, as Entra ID's (`https://login.microsoftonline.com/{tenant}/v2.0`). The mock
/// is not on the default port, and its issuer says so: azure-identity takes a record's
/// `authority` (host and port) from it.
fn issuer(s: &State) -> String {
    format!("{}/{TENANT}/v2.0", s.public_url)
}

/// The OpenID configuration, the `devicecode` endpoint and the verification page; `None` for
/// other requests.
fn device_routes(s: &mut State, req: &HttpRequest) -> Option<HttpResponse> {
    let tenant = format!("/{TENANT}");
    let path = req.path.strip_prefix(&tenant).unwrap_or(&req.path);
    match (req.method.as_str(), path) {
        ("GET", "/v2.0/.well-known/openid-configuration") => {
            s.log.discovery_requests += 1;
            let base = format!("{}/{TENANT}/oauth2/v2.0", s.public_url);
            Some(HttpResponse::json(
                200,
                serde_json::json!({
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "device_authorization_endpoint": format!("{base}/devicecode"),
                    "issuer": issuer(s),
                }),
            ))
        }
        ("POST", "/oauth2/v2.0/devicecode") if req.path.starts_with(&tenant) => {
            Some(start_device_flow(s, &req.form))
        }
        ("GET", "/devicelogin") if req.path == "/devicelogin" => {
            Some(HttpResponse::html(ENTER_CODE_PAGE))
        }
        ("POST", "/devicelogin") if req.path == "/devicelogin" => {
            let code = req.form.get("user_code").cloned().unwrap_or_default();
            s.log.entered_user_codes.push(code.clone());
            let approve = req.form.get("decision").map(String::as_str) != Some("decline");
            Some(if answer(s, code.trim(), approve) {
                HttpResponse::html("<!DOCTYPE html><html><body><p>You are signed in on the other device. You can close this window.</p></body></html>")
            } else {
                HttpResponse::new(
                    400,
                    "text/html; charset=utf-8",
                    "<!DOCTYPE html><html><body><p>That code is not valid.</p></body></html>",
                )
            })
        }
        _ => None,
    }
}

/// The verification page: a form for the user code. The test's browser opens it with
/// `#code=<user code>` (a fragment: never sent to the server), and its script types the code
/// into the form and submits it, as a user would; without a fragment it waits for a user.
const ENTER_CODE_PAGE: &str = r#"<!DOCTYPE html><html><body>
<form method="post" action="/devicelogin"><label>Code <input name="user_code"></label>
<input type="hidden" name="decision" value="approve"><button>Next</button></form>
<script>
const found = /[#&]code=([^&]+)/.exec(location.hash);
if (found) {
  document.forms[0].user_code.value = decodeURIComponent(found[1]);
  document.forms[0].submit();
}
</script></body></html>"#;

/// `POST /{tenant}/oauth2/v2.0/devicecode`: checks the client and the scopes, starts a flow.
fn start_device_flow(s: &mut State, form: &HashMap<String, String>) -> HttpResponse {
    s.log.device_code_requests += 1;
    s.log.last_device_code_form = form.clone();
    let refuse = |code: u32, error: &str, description: &str| {
        HttpResponse::json(
            400,
            serde_json::json!({
                "error": error,
                "error_description": format!("AADSTS{code}: {description}"),
                "error_codes": [code],
            }),
        )
    };
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return refuse(700016, "unauthorized_client", "unknown client");
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    if ["openid", "profile", "offline_access"]
        .iter()
        .any(|needed| !scope.split(' ').any(|s| s == *needed))
    {
        return refuse(
            70011,
            "invalid_scope",
            "openid profile offline_access expected",
        );
    }
    s.counter += 1;
    let device_code = format!("device-code-{}-{}", s.counter, uuid::Uuid::new_v4());
    let user_code: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .chain("QWERTYUIO".chars())
        .take(9)
        .collect::<String>()
        .to_ascii_uppercase();
    s.log.issued_secrets.push(device_code.clone());
    s.device_flows.push(DeviceFlow {
        device_code: device_code.clone(),
        user_code: user_code.clone(),
        scope: scope.clone(),
        approved: None,
        redeemed: false,
    });
    let uri = format!("{}/devicelogin", s.public_url);
    let message = s.device.message.clone().unwrap_or_else(|| {
        format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate.")
    });
    let mut body = serde_json::json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": uri,
        "expires_in": s.device.expires_in,
        "message": message,
    });
    if let Some(interval) = s.device.interval {
        body["interval"] = interval.into();
    }
    HttpResponse::json(200, body)
}

/// The verification page's answer for `user_code`; whether that code was waiting for one.
fn answer(s: &mut State, user_code: &str, approve: bool) -> bool {
    match s
        .device_flows
        .iter_mut()
        .find(|f| f.user_code == user_code && f.approved.is_none())
    {
        Some(flow) => {
            flow.approved = Some(approve);
            true
        }
        None => false,
    }
}

/// One device code poll: the scripted answer, else what the user did; `Ok` means tokens, for
/// the scopes of the flow when the code is known.
fn device_poll(
    s: &mut State,
    form: &HashMap<String, String>,
) -> Result<Option<String>, (u32, &'static str, String)> {
    let code = form.get("device_code").cloned().unwrap_or_default();
    let known = s.device_flows.iter().position(|f| f.device_code == code);
    let answer = match (s.device_script.pop_front(), known) {
        (Some(scripted), _) => scripted,
        (None, None) => DevicePoll::BadCode,
        (None, Some(i)) => match (&s.device_flows[i].approved, s.device_flows[i].redeemed) {
            (_, true) => DevicePoll::BadCode,
            (None, _) => DevicePoll::Pending,
            (Some(true), _) => DevicePoll::Success,
            (Some(false), _) => DevicePoll::Declined,
        },
    };
    s.log.device_polls.push((Instant::now(), answer));
    match answer {
        DevicePoll::Success => Ok(known.map(|i| {
            s.device_flows[i].redeemed = true;
            s.device_flows[i].scope.clone()
        })),
        DevicePoll::Pending => Err((
            70016,
            "authorization_pending",
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.".into(),
        )),
        DevicePoll::SlowDown => Err((70016, "slow_down", "Polling too fast; slow down.".into())),
        DevicePoll::Declined => Err((
            70000,
            "authorization_declined",
            "The user declined the sign-in.".into(),
        )),
        DevicePoll::Expired => Err((70020, "expired_token", "The device code expired.".into())),
        DevicePoll::BadCode => Err((
            70019,
            "bad_verification_code",
            "The device code was not recognised.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{
        io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
        net::TcpStream,
    };

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn post_token(authority: &MockAuthority, pairs: &[(&str, &str)]) -> HttpResponse {
        handle(
            &authority.state,
            HttpRequest {
                method: "POST".into(),
                path: format!("/{TENANT}/oauth2/v2.0/token"),
                query: HashMap::new(),
                form: form(pairs),
            },
        )
    }

    fn body(response: &HttpResponse) -> serde_json::Value {
        serde_json::from_str(&response.body).unwrap()
    }

    #[tokio::test]
    async fn the_client_credentials_grant_wants_the_secret_and_one_default_scope() {
        crate::bounded(async {
            let authority = MockAuthority::start(AuthorizeMode::AutoPost).await;
            let grant = |secret: &str, scope: &str| {
                post_token(
                    &authority,
                    &[
                        ("client_id", CLIENT_ID),
                        ("client_secret", secret),
                        ("grant_type", "client_credentials"),
                        ("scope", scope),
                    ],
                )
            };
            let ok = grant(CLIENT_SECRET, "https://storage.azure.com/.default");
            assert_eq!(ok.status, 200, "{}", ok.body);
            let ok = body(&ok);
            assert!(ok["access_token"]
                .as_str()
                .unwrap()
                .starts_with("access-token-"));
            assert_eq!(ok["expires_in"], 3600);
            assert!(ok.get("refresh_token").is_none() && ok.get("id_token").is_none());

            let wrong_secret = grant("guess", "https://storage.azure.com/.default");
            assert_eq!(wrong_secret.status, 400);
            assert_eq!(body(&wrong_secret)["error"], "invalid_client");
            let two_scopes = grant(CLIENT_SECRET, "https://storage.azure.com/.default openid");
            assert_eq!(body(&two_scopes)["error"], "invalid_scope");
            authority.log(|log| {
                assert_eq!(log.requests, 3);
                let outcomes: Vec<bool> = log.token_requests.iter().map(|(_, ok)| *ok).collect();
                assert_eq!(outcomes, [true, false, false]);
            });
        })
        .await;
    }

    #[tokio::test]
    async fn refresh_tokens_are_single_use_unless_kept() {
        crate::bounded(async {
            let authority = MockAuthority::start(AuthorizeMode::AutoPost).await;
            let rt = "refresh-token-seeded";
            let seed = || authority.accept_refresh_token(rt, MockAccount::default());
            let refresh = || {
                post_token(
                    &authority,
                    &[
                        ("client_id", CLIENT_ID),
                        ("client_info", "1"),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", rt),
                        ("scope", "s openid"),
                    ],
                )
                .status
            };
            seed();
            assert_eq!((refresh(), refresh()), (200, 400));
            seed();
            authority.keep_refresh_tokens();
            assert_eq!((refresh(), refresh()), (200, 200));
        })
        .await;
    }

    /// Sends a GET for `path` on `stream` and reads one response; `None` when the server
    /// closed the connection instead.
    async fn get(stream: &mut BufReader<TcpStream>, path: &str) -> Option<(u16, String)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.get_mut().write_all(request.as_bytes()).await.ok()?;
        let mut status_line = String::new();
        if stream.read_line(&mut status_line).await.ok()? == 0 {
            return None;
        }
        let status = status_line.split(' ').nth(1)?.parse().ok()?;
        let mut length = 0;
        for _ in 0..64 {
            let mut header = String::new();
            stream.read_line(&mut header).await.ok()?;
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok()?;
                }
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.ok()?;
        Some((status, String::from_utf8(body).ok()?))
    }

    #[tokio::test]
    async fn discovery_names_the_public_url_and_keep_alive_serves_a_second_request() {
        crate::bounded(async {
            let path = format!("/{TENANT}/v2.0/.well-known/openid-configuration");
            let kept = MockAuthority::start_keep_alive(AuthorizeMode::AutoPost).await;
            let mut stream =
                BufReader::new(TcpStream::connect(("127.0.0.1", kept.port)).await.unwrap());
            let (status, first) = get(&mut stream, &path).await.unwrap();
            assert_eq!(status, 200);
            let first: serde_json::Value = serde_json::from_str(&first).unwrap();
            assert_eq!(
                first["token_endpoint"],
                format!("{}/{TENANT}/oauth2/v2.0/token", kept.authority_host())
            );
            kept.set_public_url("https://127.0.0.1:4443/");
            let (_, second) = get(&mut stream, &path)
                .await
                .expect("the connection stayed open");
            let second: serde_json::Value = serde_json::from_str(&second).unwrap();
            assert_eq!(
                second["authorization_endpoint"],
                format!("https://127.0.0.1:4443/{TENANT}/oauth2/v2.0/authorize")
            );
            kept.log(|log| assert_eq!((log.requests, log.discovery_requests), (2, 2)));

            let closing = MockAuthority::start(AuthorizeMode::AutoPost).await;
            let mut stream = BufReader::new(
                TcpStream::connect(("127.0.0.1", closing.port))
                    .await
                    .unwrap(),
            );
            assert!(get(&mut stream, &path).await.is_some());
            assert!(
                get(&mut stream, &path).await.is_none(),
                "closed after one request"
            );
            assert!(get(&mut stream, "/nothing").await.is_none());
            closing.log(|log| assert_eq!(log.requests, 1));
        })
        .await;
    }
}
