//! A fake Microsoft identity broker on a real D-Bus bus: it owns
//! `com.microsoft.identity.broker1`, serves `com.microsoft.identity.Broker1` at
//! `/com/microsoft/identity/broker1`, checks every request it receives against the protocol
//! (recording what is wrong, and answering a violation with a D-Bus error), records every
//! call, and answers as scripted.

use serde_json::{json, Value};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::{watch, Notify};

/// The broker's bus name.
pub const BUS_NAME: &str = "com.microsoft.identity.broker1";
/// The broker's object path.
pub const OBJECT_PATH: &str = "/com/microsoft/identity/broker1";
/// The redirect URI every request must carry.
pub const NATIVE_CLIENT_REDIRECT_URI: &str =
    "https://login.microsoftonline.com/common/oauth2/nativeclient";
/// `expiresOn` of the fake's tokens: 2100-01-01, in ms (no clock read in the fake).
pub const EXPIRES_ON_MS: i64 = 4_102_444_800_000;

/// What a token method answers.
#[derive(Debug, Clone)]
pub enum FakeOutcome {
    /// A token: PoP (`accessTokenType` 1) when the request has `popParams`, else Bearer.
    Token,
    /// A token of this `accessTokenType`, whatever was asked (to test downgrade refusal).
    TokenOfType(u8),
    /// `status: InteractionRequired` (as for an expired refresh token).
    InteractionRequired,
    /// `status: UserCanceled`: the user closed the broker's window.
    UserCancel,
    /// This `error` object.
    BrokerError(Value),
    /// This text, as it is (malformed JSON and the like).
    Raw(String),
    /// No answer until [`FakeLinuxBroker::release_held`] (then a token; calls after the
    /// release answer at once), or for an interactive call until `cancelInteractiveFlow`
    /// names it (then `UserCanceled`).
    Held,
}

/// What the fake answers.
#[derive(Debug, Clone)]
pub struct FakeScript {
    /// `linuxBrokerVersion`.
    pub version: String,
    /// The broker's accounts (`getAccounts`); the first one signs in interactively unless the
    /// request names another user.
    pub accounts: Vec<Value>,
    /// `acquireTokenSilently`.
    pub silent: FakeOutcome,
    /// `acquireTokenInteractively`.
    pub interactive: FakeOutcome,
    /// The `accessToken` of every token answer; default `fake-<type>-token-<n>`.
    pub access_token: Option<String>,
}

impl Default for FakeScript {
    fn default() -> Self {
        Self {
            version: "2.0.1".into(),
            accounts: vec![fake_account("user@contoso.com")],
            silent: FakeOutcome::Token,
            interactive: FakeOutcome::Token,
            access_token: None,
        }
    }
}

/// An account object as the broker describes it, for `username`.
pub fn fake_account(username: &str) -> Value {
    let oid = format!("{:08x}-0000-4000-8000-000000000001", username.len());
    let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    json!({
        "environment": "login.microsoftonline.com",
        "givenName": "Fake",
        "homeAccountId": format!("{oid}.{tid}"),
        "localAccountId": oid,
        "name": "Fake User",
        "passwordExpiry": 0,
        "realm": tid,
        "username": username,
    })
}

/// One call the fake received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The method name (`acquireTokenSilently`, ...).
    pub method: String,
    /// The correlation id the client sent.
    pub correlation_id: String,
    /// The request JSON (`Value::Null` when it was not JSON).
    pub request: Value,
}

/// How many calls of each method arrived (and how many are held).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeCounts {
    /// `getLinuxBrokerVersion`.
    pub version: usize,
    /// `getAccounts`.
    pub accounts: usize,
    /// `acquireTokenSilently`.
    pub silent: usize,
    /// `acquireTokenInteractively`.
    pub interactive: usize,
    /// `cancelInteractiveFlow`.
    pub cancel: usize,
    /// Calls waiting behind [`FakeOutcome::Held`] right now.
    pub held: usize,
}

#[derive(Debug)]
struct State {
    script: Mutex<FakeScript>,
    calls: Mutex<Vec<RecordedCall>>,
    violations: Mutex<Vec<String>>,
    counts: watch::Sender<FakeCounts>,
    released: watch::Sender<bool>,
    /// Correlation ids of interactive calls in flight, and of those cancelled.
    interactive_in_flight: Mutex<HashSet<String>>,
    cancelled: Mutex<HashSet<String>>,
    cancel_signal: Notify,
    tokens_issued: Mutex<usize>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running fake. Dropping it drops its connection, which gives up the name.
#[derive(Debug)]
pub struct FakeLinuxBroker {
    state: Arc<State>,
    _connection: zbus::Connection,
}

impl FakeLinuxBroker {
    /// Connects to the bus at `address`, serves the broker object and takes the name.
    ///
    /// # Panics
    ///
    /// When the bus cannot be reached or the name is taken (a test failure).
    pub async fn start(address: &str, script: FakeScript) -> Self {
        let state = Arc::new(State {
            script: Mutex::new(script),
            calls: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            counts: watch::Sender::new(FakeCounts::default()),
            released: watch::Sender::new(false),
            interactive_in_flight: Mutex::new(HashSet::new()),
            cancelled: Mutex::new(HashSet::new()),
            cancel_signal: Notify::new(),
            tokens_issued: Mutex::new(0),
        });
        let connection = zbus::connection::Builder::address(address)
            .expect("a d-bus address")
            .serve_at(
                OBJECT_PATH,
                BrokerObject {
                    state: state.clone(),
                },
            )
            .expect("serve the broker object")
            .name(BUS_NAME)
            .expect("the broker's name")
            .build()
            .await
            .expect("the fake broker connects and owns its name");
        Self {
            state,
            _connection: connection,
        }
    }

    /// Changes the script for the calls that follow.
    pub fn set_script(&self, change: impl FnOnce(&mut FakeScript)) {
        change(&mut lock(&self.state.script));
    }

    /// Every call received, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.state.calls).clone()
    }

    /// The calls of one method, in order.
    pub fn calls_to(&self, method: &str) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// What was wrong with the requests received (empty when the client kept to the
    /// protocol).
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state.violations).clone()
    }

    /// The call counters now.
    pub fn counts(&self) -> FakeCounts {
        self.state.counts.borrow().clone()
    }

    /// Waits until the counters satisfy `until` (bound it with a timeout).
    pub async fn wait_for(&self, until: impl Fn(&FakeCounts) -> bool) -> FakeCounts {
        let mut rx = self.state.counts.subscribe();
        let counts = rx
            .wait_for(|c| until(c))
            .await
            .expect("the fake's counter sender lives as long as the fake");
        counts.clone()
    }

    /// Lets every held call answer, and every later one answer without waiting.
    pub fn release_held(&self) {
        self.state.released.send_replace(true);
    }
}

struct BrokerObject {
    state: Arc<State>,
}

impl State {
    fn count(&self, change: impl FnOnce(&mut FakeCounts)) {
        self.counts.send_modify(change);
    }

    fn violation(&self, method: &str, what: String) {
        lock(&self.violations).push(format!("{method}: {what}"));
    }

    /// Checks the three arguments; records the call. `Err` is the D-Bus error to answer.
    fn receive(
        &self,
        method: &str,
        protocol_version: &str,
        correlation_id: &str,
        request_json: &str,
    ) -> zbus::fdo::Result<Value> {
        let request: Value = serde_json::from_str(request_json).unwrap_or(Value::Null);
        lock(&self.calls).push(RecordedCall {
            method: method.to_owned(),
            correlation_id: correlation_id.to_owned(),
            request: request.clone(),
        });
        let mut wrong = Vec::new();
        if protocol_version != "0.0" {
            wrong.push(format!(
                "protocol version {protocol_version:?}, not \"0.0\""
            ));
        }
        if uuid::Uuid::parse_str(correlation_id).is_err() {
            wrong.push(format!("correlation id {correlation_id:?} is not a uuid"));
        }
        if !request.is_object() {
            wrong.push("the request is not a json object".to_owned());
        }
        self.fail_on(method, wrong)?;
        Ok(request)
    }

    fn fail_on(&self, method: &str, wrong: Vec<String>) -> zbus::fdo::Result<()> {
        if wrong.is_empty() {
            return Ok(());
        }
        for w in &wrong {
            self.violation(method, w.clone());
        }
        Err(zbus::fdo::Error::InvalidArgs(wrong.join("; ")))
    }

    /// Checks `authParameters` of a token request.
    fn check_auth_parameters(&self, request: &Value, authorization_type: u64) -> Vec<String> {
        let mut wrong = Vec::new();
        let Some(p) = request.get("authParameters").and_then(Value::as_object) else {
            return vec!["no authParameters object".to_owned()];
        };
        if p.get("authorizationType").and_then(Value::as_u64) != Some(authorization_type) {
            wrong.push(format!("authorizationType is not {authorization_type}"));
        }
        match p.get("authority").and_then(Value::as_str) {
            Some(a) if is_authority(a) => {}
            other => wrong.push(format!(
                "authority {other:?} is not an https (or loopback http) url without a trailing slash"
            )),
        }
        match p.get("clientId").and_then(Value::as_str) {
            Some(id) if uuid::Uuid::parse_str(id).is_ok() => {}
            other => wrong.push(format!("clientId {other:?} is not a guid")),
        }
        if p.get("redirectUri")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            wrong.push("no redirectUri".to_owned());
        }
        match p.get("requestedScopes").and_then(Value::as_array) {
            Some(s)
                if !s.is_empty() && s.iter().all(|x| x.as_str().is_some_and(|x| !x.is_empty())) => {
            }
            _ => wrong.push("requestedScopes is not a non-empty list of scopes".to_owned()),
        }
        if let Some(claims) = p.get("decodedClaims") {
            let ok = claims
                .as_str()
                .and_then(|c| serde_json::from_str::<Value>(c).ok())
                .is_some_and(|c| c.is_object());
            if !ok {
                wrong.push("decodedClaims is not a json object as text".to_owned());
            }
        }
        if let Some(pop) = p.get("popParams") {
            wrong.extend(check_pop_params(pop));
        }
        wrong
    }

    fn token(&self, request: &Value, token_type: Option<u8>, account: &Value) -> String {
        let pop = request["authParameters"].get("popParams").is_some();
        let token_type = token_type.unwrap_or(u8::from(pop));
        let n = {
            let mut issued = lock(&self.tokens_issued);
            *issued += 1;
            *issued
        };
        let scopes: Vec<&str> = request["authParameters"]["requestedScopes"]
            .as_array()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let access_token = lock(&self.script).access_token.clone().unwrap_or_else(|| {
            format!(
                "fake-{}-token-{n}",
                if token_type == 1 { "pop" } else { "bearer" }
            )
        });
        json!({"brokerTokenResponse": {
            "accessToken": access_token,
            "accessTokenType": token_type,
            "clientInfo": "eyJ1aWQiOiJmYWtlIn0",
            "expiresOn": EXPIRES_ON_MS,
            "extendedExpiresOn": EXPIRES_ON_MS,
            "grantedScopes": scopes.join(" "),
            "idToken": "fake-id-token",
            "account": account,
        }, "telemetry": {}})
        .to_string()
    }

    /// The answer for `outcome`; `Held` waits first.
    async fn answer(
        &self,
        outcome: FakeOutcome,
        request: &Value,
        account: &Value,
        correlation_id: &str,
        interactive: bool,
    ) -> String {
        let error =
            |e: Value| json!({"brokerTokenResponse": {"error": e}, "telemetry": {}}).to_string();
        match outcome {
            FakeOutcome::Token => self.token(request, None, account),
            FakeOutcome::TokenOfType(t) => self.token(request, Some(t), account),
            FakeOutcome::InteractionRequired => error(json!({
                "context": "invalid_grant AADSTS70043: The refresh token has expired. suberror: 'token_expired'",
                "errorCode": 0, "status": "InteractionRequired", "subStatus": 0, "tag": "fake-tag-silent"
            })),
            FakeOutcome::UserCancel => error(json!({
                "context": "the user closed the window", "errorCode": 0, "status": "UserCanceled", "subStatus": 0, "tag": "fake-tag-cancel"
            })),
            FakeOutcome::BrokerError(e) => error(e),
            FakeOutcome::Raw(text) => text,
            FakeOutcome::Held => {
                self.count(|c| c.held += 1);
                let cancel = async {
                    if interactive {
                        loop {
                            let signal = self.cancel_signal.notified();
                            if lock(&self.cancelled).contains(correlation_id) {
                                break;
                            }
                            signal.await;
                        }
                        false
                    } else {
                        std::future::pending::<bool>().await
                    }
                };
                let mut release = self.released.subscribe();
                let cancelled = tokio::select! {
                    _ = release.wait_for(|r| *r) => false,
                    _ = cancel => true,
                };
                self.count(|c| c.held -= 1);
                if cancelled {
                    error(
                        json!({"status": "UserCanceled", "context": "cancelled by cancelInteractiveFlow", "tag": "fake-tag-cancelled"}),
                    )
                } else {
                    self.token(request, None, account)
                }
            }
        }
    }
}

/// A string that is a GUID.
fn is_guid(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_str)
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
}

/// `https://host/tenant`, or plain http to a loopback mock authority; no trailing slash.
fn is_authority(a: &str) -> bool {
    let rest = a
        .strip_prefix("https://")
        .or_else(|| a.strip_prefix("http://127.0.0.1:"))
        .or_else(|| a.strip_prefix("http://localhost:"));
    rest.is_some_and(|r| r.contains('/') && !r.starts_with('/')) && !a.ends_with('/')
}

/// `popParams`: scheme `pop`, one of the methods a PoP token binds, a host and a path.
fn check_pop_params(pop: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    if pop.get("authenticationScheme").and_then(Value::as_str) != Some("pop") {
        wrong.push("popParams.authenticationScheme is not \"pop\"".to_owned());
    }
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
    if !pop
        .get("httpMethod")
        .and_then(Value::as_str)
        .is_some_and(|m| methods.contains(&m))
    {
        wrong.push("popParams.httpMethod is not an http method".to_owned());
    }
    if pop
        .get("uriHost")
        .and_then(Value::as_str)
        .is_none_or(|h| h.is_empty() || h.contains('/'))
    {
        wrong.push("popParams.uriHost is not a host".to_owned());
    }
    if !pop
        .get("uriPath")
        .and_then(Value::as_str)
        .is_some_and(|p| p.starts_with('/'))
    {
        wrong.push("popParams.uriPath is not an absolute path".to_owned());
    }
    if let Some(nonce) = pop.get("nonce") {
        if nonce.as_str().is_none_or(str::is_empty) {
            wrong.push("popParams.nonce is not a non-empty text".to_owned());
        }
    }
    wrong
}

#[zbus::interface(name = "com.microsoft.identity.Broker1")]
impl BrokerObject {
    #[zbus(name = "getLinuxBrokerVersion")]
    async fn get_linux_broker_version(
        &self,
        protocol_version: String,
        correlation_id: String,
        request_json: String,
    ) -> zbus::fdo::Result<String> {
        let method = "getLinuxBrokerVersion";
        self.state.count(|c| c.version += 1);
        let request =
            self.state
                .receive(method, &protocol_version, &correlation_id, &request_json)?;
        let mut wrong = Vec::new();
        if request
            .get("msalCppVersion")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            wrong.push("no msalCppVersion".to_owned());
        }
        self.state.fail_on(method, wrong)?;
        let version = lock(&self.state.script).version.clone();
        Ok(json!({ "linuxBrokerVersion": version }).to_string())
    }

    #[zbus(name = "getAccounts")]
    async fn get_accounts(
        &self,
        protocol_version: String,
        correlation_id: String,
        request_json: String,
    ) -> zbus::fdo::Result<String> {
        let method = "getAccounts";
        self.state.count(|c| c.accounts += 1);
        let request =
            self.state
                .receive(method, &protocol_version, &correlation_id, &request_json)?;
        let mut wrong = Vec::new();
        if !is_guid(request.get("clientId")) {
            wrong.push("clientId is not a guid".to_owned());
        }
        if request
            .get("redirectUri")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            wrong.push("no redirectUri".to_owned());
        }
        self.state.fail_on(method, wrong)?;
        let accounts = lock(&self.state.script).accounts.clone();
        Ok(json!({ "accounts": accounts }).to_string())
    }

    #[zbus(name = "acquireTokenSilently")]
    async fn acquire_token_silently(
        &self,
        protocol_version: String,
        correlation_id: String,
        request_json: String,
    ) -> zbus::fdo::Result<String> {
        let method = "acquireTokenSilently";
        self.state.count(|c| c.silent += 1);
        let request =
            self.state
                .receive(method, &protocol_version, &correlation_id, &request_json)?;
        let mut wrong = self.state.check_auth_parameters(&request, 1);
        let (outcome, accounts) = {
            let script = lock(&self.state.script);
            (script.silent.clone(), script.accounts.clone())
        };
        let home = request["account"]["homeAccountId"]
            .as_str()
            .unwrap_or_default();
        let account = accounts
            .iter()
            .find(|a| a["homeAccountId"] == home)
            .cloned();
        if account.is_none() {
            wrong.push(format!(
                "the top-level account {home:?} is not one of the broker's"
            ));
        }
        if request["authParameters"]["account"]["homeAccountId"]
            != request["account"]["homeAccountId"]
        {
            wrong.push("authParameters.account is not the top-level account".to_owned());
        }
        self.state.fail_on(method, wrong)?;
        let account = account.unwrap_or_default();
        Ok(self
            .state
            .answer(outcome, &request, &account, &correlation_id, false)
            .await)
    }

    #[zbus(name = "acquireTokenInteractively")]
    async fn acquire_token_interactively(
        &self,
        protocol_version: String,
        correlation_id: String,
        request_json: String,
    ) -> zbus::fdo::Result<String> {
        let method = "acquireTokenInteractively";
        self.state.count(|c| c.interactive += 1);
        let request =
            self.state
                .receive(method, &protocol_version, &correlation_id, &request_json)?;
        let mut wrong = self.state.check_auth_parameters(&request, 6);
        let p = &request["authParameters"];
        let username = p.get("username").and_then(Value::as_str);
        if p.get("account").is_some() || request.get("account").is_some() {
            wrong.push("an interactive request names an account".to_owned());
        }
        match (username, p.get("prompt").and_then(Value::as_str)) {
            (Some(u), None) if !u.is_empty() => {}
            (None, Some("select_account")) => {}
            other => wrong.push(format!(
                "neither a user name nor the account picker: {other:?}"
            )),
        }
        self.state.fail_on(method, wrong)?;
        let (outcome, accounts) = {
            let script = lock(&self.state.script);
            (script.interactive.clone(), script.accounts.clone())
        };
        let account = username
            .and_then(|u| accounts.iter().find(|a| a["username"] == u).cloned())
            .or_else(|| accounts.first().cloned())
            .unwrap_or_else(|| fake_account(username.unwrap_or("new@contoso.com")));
        lock(&self.state.interactive_in_flight).insert(correlation_id.clone());
        let answer = self
            .state
            .answer(outcome, &request, &account, &correlation_id, true)
            .await;
        lock(&self.state.interactive_in_flight).remove(&correlation_id);
        Ok(answer)
    }

    #[zbus(name = "cancelInteractiveFlow")]
    async fn cancel_interactive_flow(
        &self,
        protocol_version: String,
        correlation_id: String,
        request_json: String,
    ) -> zbus::fdo::Result<String> {
        let method = "cancelInteractiveFlow";
        let request =
            self.state
                .receive(method, &protocol_version, &correlation_id, &request_json)?;
        let mut wrong = Vec::new();
        if !is_guid(request.get("clientId")) {
            wrong.push("clientId is not a guid".to_owned());
        }
        if !lock(&self.state.interactive_in_flight).contains(&correlation_id) {
            wrong.push(format!(
                "correlation id {correlation_id} is not an interactive call in flight"
            ));
        }
        let result = self.state.fail_on(method, wrong);
        if result.is_ok() {
            lock(&self.state.cancelled).insert(correlation_id);
            self.state.cancel_signal.notify_waiters();
        }
        // Counted last, so a test that saw the count also sees the cancel's effect.
        self.state.count(|c| c.cancel += 1);
        result?;
        Ok("{}".to_owned())
    }
}
