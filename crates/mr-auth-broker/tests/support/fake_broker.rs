//! A scripted platform broker: each method answers from its script and records the call.

use async_trait::async_trait;
use azure_core::credentials::Secret;
use mr_auth_broker::{
    AccessTokenInfo, BrokerAccount, BrokerRequest, BrokerToken, ClientId, Error, ErrorKind,
    ParentWindowHandle, PlatformBroker, Result, TokenType,
};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
    time::Duration,
};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Silent(String),
    DefaultAccount,
    Interactive(Option<isize>),
}

/// What one method answers, every time it is called.
#[derive(Debug, Clone)]
pub enum Script {
    /// A token (Bearer, or PoP when the request asks for PoP), for account `id`.
    Token {
        account: &'static str,
    },
    /// A token of this exact type, whatever was asked (to test downgrade refusal).
    TokenOfType(TokenType),
    Fail(ErrorKind),
    /// Never finishes (until the credential's timeout).
    Hang,
}

#[derive(Debug)]
pub struct FakeBroker {
    pub supports_pop: bool,
    pub silent: Script,
    pub default_account: Script,
    pub interactive: Script,
    pub expires_in: Duration,
    pub refresh_in: Option<Duration>,
    pub now: Mutex<OffsetDateTime>,
    pub calls: Mutex<Vec<Call>>,
    pub requests: Mutex<Vec<BrokerRequest>>,
    pub counter: AtomicUsize,
}

impl FakeBroker {
    pub fn new(silent: Script, default_account: Script, interactive: Script) -> Self {
        Self {
            supports_pop: true,
            silent,
            default_account,
            interactive,
            expires_in: Duration::from_secs(3600),
            refresh_in: None,
            now: Mutex::new(mr_auth_core::Clock::now(&mr_auth_core::SystemClock)),
            calls: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            counter: AtomicUsize::new(0),
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

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    pub fn last_request(&self) -> BrokerRequest {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the broker was called")
    }

    async fn answer(&self, script: &Script, request: &BrokerRequest) -> Result<BrokerToken> {
        self.requests.lock().unwrap().push(request.clone());
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
            Script::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                unreachable!("the credential's timeout ends this first")
            }
        };
        let account = match script {
            Script::Token { account } => account,
            _ => "acct-x",
        };
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let now = *self.now.lock().unwrap();
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
        self.calls
            .lock()
            .unwrap()
            .push(Call::Silent(account.id.clone()));
        self.answer(&self.silent, request).await
    }

    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> Result<BrokerToken> {
        self.calls.lock().unwrap().push(Call::DefaultAccount);
        self.answer(&self.default_account, request).await
    }

    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> Result<BrokerToken> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Interactive(parent_window.map(|h| h.as_raw())));
        self.answer(&self.interactive, request).await
    }
}
