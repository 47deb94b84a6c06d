//! What the credential knows and remembers between requests, shared by the silent chain (run
//! in the shared cache's fetch task) and the interactive sign-in (run in the caller's task):
//! the configuration, the account signed in, the browser flow's refresh tokens and whether
//! the broker reported itself unavailable; and what the credential does with the tokens a
//! step obtained (MSAL Python's `on_obtaining_tokens`).

use super::{
    authentication_record::AuthenticationRecord, credential_config::CredentialConfig,
    credential_persistence::CredentialPersistence, token_request::TokenRequest,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{AccessTokenInfo, RefreshToken, ResponseDetails, TenantId, TokenResponse, TokenType},
    platform::{BrokerAccount, BrokerRequest, BrokerToken, PlatformBroker},
};
use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};
use url::Url;

/// The credential's state; see the module documentation.
pub(crate) struct Session {
    pub(crate) config: CredentialConfig,
    /// The browser flow's refresh tokens, per tenant (lower-cased).
    refresh_tokens: Mutex<HashMap<String, RefreshToken>>,
    /// The broker's account: signed in before, or the configured record's.
    broker_account: Mutex<Option<BrokerAccount>>,
    /// Set once the broker reported itself unavailable: the browser flow is used from then on.
    broker_unavailable: Mutex<Option<Error>>,
    /// The browser flow's account: the configured record, then the last one signed in. Its
    /// tokens are looked for in the persistent cache.
    account: Mutex<Account>,
    pub(crate) persistence: Option<CredentialPersistence>,
    /// The configured tenant's token endpoint and the authority as records name it, built
    /// once: every refresh needs them.
    token_url: Url,
    record_authority: String,
}

/// The browser flow's account, and the parts of the token response it was read from, if it
/// was: the next response of the same account (every refresh) reuses it without reading it
/// again.
#[derive(Default)]
struct Account {
    /// Shared: every refresh hands it to its sign-in, and the silent steps read it.
    record: Option<Arc<AuthenticationRecord>>,
    read_from: Option<RecordSource>,
}

/// What [`AuthenticationRecord::from_token_response`] reads besides the session's constants.
#[derive(PartialEq, Eq)]
struct RecordSource {
    client_info: String,
    username: Option<String>,
    tenant_id: Option<String>,
    requested_tenant: TenantId,
}

impl Account {
    fn of(record: Option<AuthenticationRecord>) -> Self {
        Self {
            record: record.map(Arc::new),
            read_from: None,
        }
    }

    /// Whether the record was read from these very parts (compared without copying them).
    fn was_read_from(&self, details: &ResponseDetails, requested_tenant: &TenantId) -> bool {
        self.read_from.as_ref().is_some_and(|source| {
            details.client_info.as_deref() == Some(source.client_info.as_str())
                && details.id_token_account.username == source.username
                && details.id_token_account.tenant_id == source.tenant_id
                && *requested_tenant == source.requested_tenant
        })
    }
}

/// What an interactive sign-in (or a refresh) brought.
pub(crate) struct SignIn {
    pub(crate) token: AccessTokenInfo,
    /// The account, when the answer identified it.
    pub(crate) record: Option<Arc<AuthenticationRecord>>,
    /// Why the tokens could not be stored in the persistent cache, when it is configured.
    pub(crate) persist_error: Option<Error>,
}

impl Session {
    pub(crate) fn new(config: CredentialConfig) -> Self {
        let persistence = config.cache_persistence_options.clone().map(|options| {
            CredentialPersistence::new(
                options,
                config.environment.clone(),
                config.client_id.as_str(),
                &config.authority_name,
                config.clock.clone(),
            )
        });
        // A record of an earlier process names the broker's account too, where the broker can
        // find its accounts by home account id (the Linux broker; not WAM).
        let broker_account = match (&config.broker, &config.authentication_record) {
            (Some(broker), Some(record)) => broker.account_for_home_account_id(
                record.home_account_id(),
                Some(record.username()).filter(|u| !u.is_empty()),
            ),
            _ => None,
        };
        Self {
            token_url: config.authority.token_endpoint(&config.tenant_id),
            record_authority: config.authority.record_authority(),
            account: Mutex::new(Account::of(config.authentication_record.clone())),
            persistence,
            config,
            refresh_tokens: Mutex::new(HashMap::new()),
            broker_account: Mutex::new(broker_account),
            broker_unavailable: Mutex::new(None),
        }
    }

    /// The token endpoint of `tenant` at the configured authority.
    pub(crate) fn token_url(&self, tenant: &TenantId) -> Url {
        if *tenant == self.config.tenant_id {
            self.token_url.clone()
        } else {
            self.config.authority.token_endpoint(tenant)
        }
    }

    /// The broker, unless there is none or it reported itself unavailable.
    pub(crate) fn usable_broker(&self) -> Option<Arc<dyn PlatformBroker>> {
        if lock(&self.broker_unavailable).is_some() {
            return None;
        }
        self.config.broker.clone()
    }

    /// Why there is no usable broker, for a step that needs one.
    pub(crate) fn why_no_broker(&self) -> Cow<'static, str> {
        match &*lock(&self.broker_unavailable) {
            Some(e) => format!("the platform broker is unavailable: {}", e.message()).into(),
            None => "this credential has no authentication broker (none on this platform, BrokerMode::BrowserOnly, or a device code credential)".into(),
        }
    }

    pub(crate) fn mark_unavailable(&self, reason: Error) {
        tracing::info!(reason = %reason, "the platform broker is unavailable; using the browser flow from now on");
        *lock(&self.broker_unavailable) = Some(reason);
    }

    /// A PoP request with no usable broker: never downgraded to Bearer.
    pub(crate) fn pop_needs_broker(&self) -> Error {
        Error::new(
            ErrorKind::PopNeedsBroker,
            format!("a proof-of-possession token needs a platform broker that can make one, and {}; the request is not downgraded to a bearer token", self.why_no_broker()),
        )
    }

    /// Before the browser flow, whose tokens go to the persistent cache when one is
    /// configured: the cache opens, its document can be read and its store could save (see
    /// `PersistentTokenCache::check_access`), so a broken cache is found before the user signs
    /// in, not after.
    pub(crate) async fn check_persistence(&self, request: &TokenRequest) -> Result<()> {
        match &self.persistence {
            Some(p) => p.check(request.enable_cae).await,
            None => Ok(()),
        }
    }

    pub(crate) fn broker_request(
        &self,
        broker: &dyn PlatformBroker,
        request: &TokenRequest,
    ) -> BrokerRequest {
        let config = &self.config;
        BrokerRequest {
            client_id: config.client_id.clone(),
            tenant_id: request.tenant.clone(),
            authority: config.authority.authority(&request.tenant),
            scopes: request.scopes.clone(),
            redirect_uri: config
                .broker_redirect_uri
                .clone()
                .unwrap_or_else(|| broker.redirect_uri(&config.client_id)),
            claims: request.claims.clone(),
            pop: request.pop.clone(),
            login_hint: config.login_hint.clone(),
            enable_msa_passthrough: config.enable_msa_passthrough,
            validate_authority: !config.disable_instance_discovery,
        }
    }

    /// The broker's account signed in before (or the record's), if any.
    pub(crate) fn broker_account(&self) -> Option<BrokerAccount> {
        lock(&self.broker_account).clone()
    }

    /// The browser flow's account: the record, or the last one signed in (or chosen).
    pub(crate) fn account(&self) -> Option<Arc<AuthenticationRecord>> {
        lock(&self.account).record.clone()
    }

    /// Makes `account` the one whose tokens the persistent cache's steps look for: the shared
    /// token cache credential's choice among the cache's accounts.
    pub(crate) fn choose_account(&self, account: AuthenticationRecord) {
        *lock(&self.account) = Account::of(Some(account));
    }

    /// This credential's own refresh token for the request's tenant.
    pub(crate) fn refresh_token(&self, request: &TokenRequest) -> Option<RefreshToken> {
        lock(&self.refresh_tokens)
            .get(&refresh_token_key(request))
            .cloned()
    }

    /// Forgets this credential's own refresh token for the request's tenant (the authority
    /// refused it).
    pub(crate) fn forget_refresh_token(&self, request: &TokenRequest) {
        lock(&self.refresh_tokens).remove(&refresh_token_key(request));
    }

    /// Checks a broker token against the request (never a Bearer for PoP or the reverse) and
    /// remembers its account for later silent calls.
    pub(crate) fn accept_broker_token(
        &self,
        token: BrokerToken,
        request: &TokenRequest,
    ) -> Result<AccessTokenInfo> {
        let wanted = if request.pop.is_some() {
            TokenType::Pop
        } else {
            TokenType::Bearer
        };
        if token.token.token_type != wanted {
            return Err(Error::protocol(format!(
                "the broker returned a {} token for a {} request; refusing it",
                token.token.token_type, wanted
            )));
        }
        if let Some(account) = token.account {
            *lock(&self.broker_account) = Some(account);
        }
        Ok(token.token)
    }

    /// The record of the account a broker token is for.
    pub(crate) fn broker_record(
        &self,
        token: &BrokerToken,
        request: &TokenRequest,
    ) -> Option<AuthenticationRecord> {
        AuthenticationRecord::from_broker_token(
            &self.config.authority.record_authority(),
            &self.config.client_id,
            token,
            &request.tenant,
        )
    }

    /// Takes in a token response of the browser or device code flow (or a refresh):
    /// remembers its account and refresh token, and stores it in the persistent cache when one
    /// is configured (a failure there is a warning: the tokens stay in memory). `grant_type`
    /// is the grant that got it, as MSAL records it.
    pub(crate) async fn accept_token_response(
        &self,
        response: TokenResponse,
        request: &TokenRequest,
        grant_type: &str,
    ) -> SignIn {
        let config = &self.config;
        let details = &response.details;
        let record = {
            let mut account = lock(&self.account);
            if account.was_read_from(details, &request.tenant) {
                account.record.clone()
            } else {
                let record = AuthenticationRecord::from_token_response(
                    &self.record_authority,
                    &config.client_id,
                    details.client_info.as_deref(),
                    &details.id_token_account,
                    &request.tenant,
                )
                .map(Arc::new);
                if let (Some(record), Some(client_info)) = (&record, &details.client_info) {
                    *account = Account {
                        record: Some(record.clone()),
                        read_from: Some(RecordSource {
                            client_info: client_info.clone(),
                            username: details.id_token_account.username.clone(),
                            tenant_id: details.id_token_account.tenant_id.clone(),
                            requested_tenant: request.tenant.clone(),
                        }),
                    };
                }
                record
            }
        };
        let mut persist_error = None;
        if let Some(persistence) = &self.persistence {
            if let Err(e) = persistence.store(request, &response, grant_type).await {
                tracing::warn!(error = %e, "the token response could not be stored in the persistent token cache; it is kept in memory only");
                persist_error = Some(e);
            }
        }
        if let Some(rt) = response.refresh_token {
            lock(&self.refresh_tokens).insert(refresh_token_key(request), rt);
        }
        SignIn {
            token: response.token,
            record,
            persist_error,
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("config", &self.config)
            .field(
                "broker_unavailable",
                &lock(&self.broker_unavailable).is_some(),
            )
            .finish_non_exhaustive()
    }
}

/// A broker that cannot make PoP tokens does not get a PoP request.
pub(crate) fn check_pop_support(broker: &dyn PlatformBroker, request: &TokenRequest) -> Result<()> {
    if request.pop.is_some() && !broker.supports_pop() {
        return Err(Error::new(
            ErrorKind::PopNeedsBroker,
            "the platform broker here cannot issue proof-of-possession tokens; the request is not downgraded to a bearer token",
        ));
    }
    Ok(())
}

/// Only whole values move in and out under these locks, so a poisoned one is consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Refresh tokens are kept per tenant.
fn refresh_token_key(request: &TokenRequest) -> String {
    request.tenant.as_str().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{BrokerTokenRequestOptions, InteractiveBrowserBrokerCredentialOptions};
    use mr_auth_test_support::mock_authority::{client_info, unsigned_jwt};

    fn response(uid: &str, tid: &str, username: &str) -> TokenResponse {
        let id_token = unsigned_jwt(&serde_json::json!({
            "aud": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "tid": tid,
            "preferred_username": username,
        }));
        let body = serde_json::json!({
            "access_token": "at",
            "expires_in": 3600,
            "id_token": id_token,
            "client_info": client_info(uid, tid),
        });
        let clock = mr_auth_core::ManualClock::at_fixed_start();
        TokenResponse::from_json(&clock, 200, body.to_string().as_bytes()).unwrap()
    }

    /// Every refresh reuses the account read from the response before it only when the parts
    /// it is read from are the same: another account, tenant or user name is read anew.
    #[tokio::test]
    async fn the_account_follows_each_response() {
        let session = Session::new(CredentialConfig::for_test(
            InteractiveBrowserBrokerCredentialOptions::default(),
        ));
        let request = TokenRequest::resolve(
            &session.config,
            &["s"],
            &BrokerTokenRequestOptions::default(),
        )
        .unwrap();
        let account = |record: Option<Arc<AuthenticationRecord>>| {
            let record = record.unwrap();
            let current = session.account().unwrap();
            assert_eq!(record, current);
            (
                current.home_account_id().to_owned(),
                current.tenant_id().as_str().to_owned(),
                current.username().to_owned(),
            )
        };
        let expect = |uid: &str, tid: &str, user: &str| {
            (format!("{uid}.{tid}"), tid.to_owned(), user.to_owned())
        };
        let (t1, t2) = (
            "11111111-1111-1111-1111-111111111111",
            "22222222-2222-2222-2222-222222222222",
        );
        for (uid, tid, user) in [
            ("a", t1, "a@x"),
            ("a", t1, "a@x"),
            ("b", t1, "b@x"),
            ("b", t2, "b@x"),
            ("b", t2, "b2@x"),
            ("a", t1, "a@x"),
        ] {
            let sign_in = session
                .accept_token_response(response(uid, tid, user), &request, "refresh_token")
                .await;
            assert_eq!(account(sign_in.record), expect(uid, tid, user));
        }
    }
}
