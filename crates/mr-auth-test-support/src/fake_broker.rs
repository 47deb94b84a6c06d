//! A scripted platform broker: each method answers from its script and records the call; an
//! interactive call dropped before it finished counts as cancelled (what WAM's `CancelOnDrop`
//! and the Linux broker's `cancelInteractiveFlow` do for real).

use crate::gate::Gate;
use async_trait::async_trait;
use azure_core::credentials::Secret;
use mr_auth_broker::{
    AccessTokenInfo, BrokerAccount, BrokerRequest, BrokerToken, ClientId, Error, ErrorKind,
    ParentWindowHandle, PlatformBroker, Result, TokenType,
};
use mr_auth_core::{Clock, SystemClock};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::sync::watch;

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `acquire_token_silently` for this account id.
    Silent(String),
    /// `acquire_token_with_default_account`.
    DefaultAccount,
    /// `acquire_token_interactively` with this parent window.
    Interactive(Option<isize>),
}

/// What one method answers, every time it is called.
#[derive(Debug, Clone)]
pub enum Script {
    /// A token (Bearer, or PoP when the request asks for PoP), for account `account`.
    Token {
        /// The account id the token is for.
        account: &'static str,
    },
    /// A token of this exact type, whatever was asked (to test downgrade refusal).
    TokenOfType(TokenType),
    /// An error of this kind.
    Fail(ErrorKind),
    /// Never finishes (until the caller's timeout or drop).
    Hang,
    /// Panics (a broken broker).
    Panic,
    /// Waits at the gate, then answers with the inner script.
    Held(Arc<Gate>, Box<Script>),
}

impl Script {
    /// `script`, held at `gate` first.
    pub fn held(gate: &Arc<Gate>, script: Script) -> Self {
        Self::Held(Arc::clone(gate), Box::new(script))
    }
}

/// The scripted broker. Build it with [`FakeBroker::new`] or
/// [`FakeBroker::interactive_only`] and struct-update syntax.
#[derive(Debug)]
pub struct FakeBroker {
    /// What `supports_pop` answers.
    pub supports_pop: bool,
    /// The script of `acquire_token_silently`.
    pub silent: Script,
    /// The script of `acquire_token_with_default_account`.
    pub default_account: Script,
    /// The script of `acquire_token_interactively`.
    pub interactive: Script,
    /// Tokens expire this long after the clock's now.
    pub expires_in: Duration,
    /// Tokens carry `refresh_on` this long after the clock's now.
    pub refresh_in: Option<Duration>,
    /// The clock token times are read from.
    pub clock: Arc<dyn Clock>,
    /// Every call, in order.
    pub calls: Mutex<Vec<Call>>,
    /// Every request, in order.
    pub requests: Mutex<Vec<BrokerRequest>>,
    /// Numbers the tokens.
    pub counter: AtomicUsize,
    /// Interactive calls dropped before they finished (see [`FakeBroker::wait_cancelled`]).
    pub cancelled: watch::Sender<usize>,
}

impl FakeBroker {
    /// A broker with these three scripts.
    pub fn new(silent: Script, default_account: Script, interactive: Script) -> Self {
        Self {
            supports_pop: true,
            silent,
            default_account,
            interactive,
            expires_in: Duration::from_secs(3600),
            refresh_in: None,
            clock: Arc::new(SystemClock),
            calls: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            counter: AtomicUsize::new(0),
            cancelled: watch::Sender::new(0),
        }
    }

    /// Interactive sign-in works; silent calls miss; no default account.
    pub fn interactive_only() -> Self {
        Self::new(
            Script::Fail(ErrorKind::AuthenticationRequired),
            Script::Fail(ErrorKind::AuthenticationRequired),
            Script::Token { account: "acct-1" },
        )
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls so far, forgetting them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The last request.
    pub fn last_request(&self) -> BrokerRequest {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the broker was called")
    }

    /// How many interactive calls were dropped before they finished.
    pub fn cancelled(&self) -> usize {
        *self.cancelled.borrow()
    }

    /// Waits until at least `n` interactive calls were dropped before they finished.
    pub async fn wait_cancelled(&self, n: usize) {
        let mut cancelled = self.cancelled.subscribe();
        let _ = cancelled.wait_for(|c| *c >= n).await;
    }

    fn record(&self, call: Call, request: &BrokerRequest) {
        self.calls.lock().unwrap().push(call);
        self.requests.lock().unwrap().push(request.clone());
    }

    async fn answer(&self, script: &Script, request: &BrokerRequest) -> Result<BrokerToken> {
        let mut script = script;
        while let Script::Held(gate, inner) = script {
            gate.pass().await;
            script = inner;
        }
        let token_type = match script {
            Script::Token { .. } => {
                if request.pop.is_some() {
                    TokenType::Pop
                } else {
                    TokenType::Bearer
                }
            }
            Script::TokenOfType(t) => *t,
            Script::Fail(kind) => return Err(Error::new(*kind, format!("scripted {kind}"))),
            Script::Hang => std::future::pending().await,
            Script::Panic => panic!("the scripted broker panics"),
            Script::Held(..) => unreachable!("unwrapped above"),
        };
        let account = match script {
            Script::Token { account } => account,
            _ => "acct-x",
        };
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let now = self.clock.now();
        Ok(BrokerToken {
            token: AccessTokenInfo {
                token: Secret::new(format!("broker-token-{n}")),
                expires_on: now + self.expires_in,
                token_type,
                refresh_on: self.refresh_in.map(|r| now + r),
            },
            account: Some(BrokerAccount {
                id: (*account).to_owned(),
                username: Some("user@contoso.com".into()),
            }),
        })
    }
}

/// Counts a cancellation when dropped before [`finish`](Unfinished::finish).
struct Unfinished<'a>(Option<&'a watch::Sender<usize>>);

impl Unfinished<'_> {
    fn finish(mut self) {
        self.0 = None;
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(cancelled) = self.0.take() {
            cancelled.send_modify(|c| *c += 1);
        }
    }
}

#[async_trait]
impl PlatformBroker for FakeBroker {
    fn supports_pop(&self) -> bool {
        self.supports_pop
    }

    fn redirect_uri(&self, client_id: &ClientId) -> String {
        format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}")
    }

    async fn acquire_token_silently(
        &self,
        request: &BrokerRequest,
        account: &BrokerAccount,
    ) -> Result<BrokerToken> {
        self.record(Call::Silent(account.id.clone()), request);
        self.answer(&self.silent, request).await
    }

    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> Result<BrokerToken> {
        self.record(Call::DefaultAccount, request);
        self.answer(&self.default_account, request).await
    }

    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken> {
        self.record(
            Call::Interactive(parent_window.map(|h| h.as_raw())),
            request,
        );
        let unfinished = Unfinished(Some(&self.cancelled));
        let answer = self.answer(&self.interactive, request).await;
        unfinished.finish();
        answer
    }
}
