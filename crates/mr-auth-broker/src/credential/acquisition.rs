use super::{
    credential_config::CredentialConfig,
    credential_persistence::{CredentialPersistence, Lookup},
    interactive_browser_broker_credential::EXPIRY_BUFFER,
    token_request::TokenRequest,
};
use crate::{
    oauth::{with_oidc_scopes, Grant, RefreshToken, TokenResponse},
    AccessTokenInfo, AuthenticationRecord, BrokerAccount, BrokerRequest, BrokerToken, Error,
    ErrorKind, PlatformBroker, Result, TenantId, TokenType,
};
use azure_core::http::Context;
use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};
use url::Url;

/// The acquisition steps after the cache, and what they remember between requests (the
/// broker's account, the browser flow's refresh tokens, whether the broker is unavailable).
///
/// Two entry points, so that the credential can run them in different places:
/// [`acquire_silently`](Self::acquire_silently) never shows UI and runs in the shared cache's
/// fetch task; [`acquire_interactively`](Self::acquire_interactively) shows UI and runs in the
/// caller's own task, so dropping the caller's future cancels it.
pub(crate) struct Acquirer {
    pub(crate) config: CredentialConfig,
    refresh_tokens: Mutex<HashMap<String, RefreshToken>>,
    broker_account: Mutex<Option<BrokerAccount>>,
    /// Set once the broker reported itself unavailable: the browser flow is used from then on.
    broker_unavailable: Mutex<Option<Error>>,
    /// The browser flow's account: the configured record, then the last one signed in. Its
    /// tokens are looked for in the persistent cache.
    account: Mutex<Option<AuthenticationRecord>>,
    persistence: Option<CredentialPersistence>,
}

/// What an interactive sign-in (or a refresh) brought.
pub(crate) struct SignIn {
    pub(crate) token: AccessTokenInfo,
    /// The account, when the answer identified it.
    pub(crate) record: Option<AuthenticationRecord>,
    /// Why the tokens could not be stored in the persistent cache, when it is configured.
    pub(crate) persist_error: Option<Error>,
}

impl Acquirer {
    pub(crate) fn new(config: CredentialConfig) -> Self {
        let persistence = config
            .token_cache_persistence
            .clone()
            .map(|o| CredentialPersistence::new(o, config.cache_environment.clone()));
        let broker_account = broker_account_of(config.authentication_record.as_ref());
        Self {
            account: Mutex::new(config.authentication_record.clone()),
            persistence,
            config,
            refresh_tokens: Mutex::new(HashMap::new()),
            broker_account: Mutex::new(broker_account),
            broker_unavailable: Mutex::new(None),
        }
    }

    /// Before an explicit sign-in with persistence asked for: the cache the browser flow would
    /// store into must open, so the user does not sign in for nothing.
    pub(crate) async fn check_persistence(&self, request: &TokenRequest) -> Result<()> {
        match &self.persistence {
            Some(p) if self.usable_broker().is_none() => {
                p.cache(request.enable_cae).await.map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// The silent steps: with a broker, its silent call for the known account, then (when
    /// `use_default_broker_account`) the OS default account; without one, the refresh token.
    /// A miss is [`ErrorKind::AuthenticationRequired`]; any other error is final.
    pub(crate) async fn acquire_silently(
        &self,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let mut miss: Option<Error> = None;
        if let Some(broker) = self.usable_broker() {
            check_pop_support(&*broker, request)?;
            match self.broker_silent(&*broker, request, &mut miss).await {
                Ok(Some(token)) => return self.accept_broker_token(token, request),
                Ok(None) => return Err(self.authentication_required(miss)),
                Err(e) if e.kind() == ErrorKind::BrokerUnavailable => self.mark_unavailable(e),
                Err(e) => return Err(e),
            }
        }
        if request.pop.is_some() {
            return Err(self.pop_needs_broker());
        }
        let rt_key = refresh_token_key(request);
        let mut stored_refresh_token = None;
        let account = lock(&self.account).clone();
        if let (Some(persistence), Some(account)) = (&self.persistence, account) {
            let realm = request.tenant.as_str().to_ascii_lowercase();
            let lookup = Lookup {
                client_id: self.config.client_id.as_str(),
                environment: &self.config.environment,
                realm: &realm,
                scopes: &request.scopes,
                valid_until: self.config.clock.now() + EXPIRY_BUFFER,
                has_claims: request.claims.is_some(),
            };
            let stored = persistence
                .find(request.enable_cae, &account, &lookup)
                .await;
            if let Some(token) = stored.access_token {
                tracing::debug!(
                    home_account_id = account.home_account_id(),
                    "access token from the persistent token cache"
                );
                return Ok(token);
            }
            stored_refresh_token = stored.refresh_token;
        }
        // The persistent cache's refresh token first (another process may have rotated it),
        // then this credential's own, when it is another one.
        let in_memory = self.lock_refresh_tokens().get(&rt_key).cloned();
        let mut candidates: Vec<(RefreshToken, bool)> = Vec::with_capacity(2);
        if let Some(stored) = stored_refresh_token {
            candidates.push((stored, true));
        }
        if let Some(own) = in_memory {
            if candidates.iter().all(|(c, _)| c.secret() != own.secret()) {
                candidates.push((own, false));
            }
        }
        let scopes = with_oidc_scopes(&request.scopes);
        let redirect = self
            .config
            .flow
            .redirect_uri
            .as_ref()
            .map_or("http://localhost", Url::as_str)
            .to_owned();
        for (refresh_token, from_store) in candidates {
            match self
                .config
                .token_endpoint
                .request(
                    self.config.authority_host.token_endpoint(&request.tenant),
                    &self.config.client_id,
                    Grant::RefreshToken(&refresh_token),
                    &scopes,
                    request.claims.as_deref(),
                    &redirect,
                    context,
                )
                .await
            {
                Ok(response) => {
                    return Ok(self
                        .accept_browser_response(response, request, "refresh_token")
                        .await
                        .token)
                }
                Err(e) if is_silent_miss(&e) => {
                    tracing::info!(reason = %e, from_store, "a refresh token was refused");
                    if !from_store {
                        self.lock_refresh_tokens().remove(&rt_key);
                    }
                    miss = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(self.authentication_required(miss))
    }

    /// The interactive step: the broker's dialog, or (no broker, or it is unavailable) the
    /// browser flow. Bounded by the configured timeout; dropping the future cancels it.
    pub(crate) async fn acquire_interactively(
        &self,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<SignIn> {
        if let Some(broker) = self.usable_broker() {
            check_pop_support(&*broker, request)?;
            let broker_request = self.broker_request(&*broker, request);
            let dialog = broker
                .acquire_token_interactively(&broker_request, self.config.parent_window_handle);
            match tokio::time::timeout(self.config.timeout, dialog).await {
                Ok(Ok(token)) => {
                    let record = self.broker_record(&token, &request.tenant);
                    return Ok(SignIn {
                        token: self.accept_broker_token(token, request)?,
                        record,
                        persist_error: None,
                    });
                }
                Ok(Err(e)) if e.kind() == ErrorKind::BrokerUnavailable => {
                    self.mark_unavailable(e);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::TimedOut,
                        format!("the broker's sign-in did not finish within {} s; finish it sooner, or raise the timeout", self.config.timeout.as_secs()),
                    ))
                }
            }
        }
        if request.pop.is_some() {
            return Err(self.pop_needs_broker());
        }
        let response = self
            .config
            .flow
            .sign_in(
                &request.tenant,
                &request.scopes,
                request.claims.as_deref(),
                context,
            )
            .await?;
        Ok(self
            .accept_browser_response(response, request, "authorization_code")
            .await)
    }

    /// The broker's silent steps; `Ok(None)` when they all missed (`miss` says why).
    async fn broker_silent(
        &self,
        broker: &dyn PlatformBroker,
        request: &TokenRequest,
        miss: &mut Option<Error>,
    ) -> Result<Option<BrokerToken>> {
        let broker_request = self.broker_request(broker, request);
        let known = self.lock_account().clone();
        if let Some(account) = known {
            match broker
                .acquire_token_silently(&broker_request, &account)
                .await
            {
                Ok(token) => return Ok(Some(token)),
                Err(e) if is_silent_miss(&e) => *miss = Some(e),
                Err(e) => return Err(e),
            }
        }
        if self.config.use_default_broker_account {
            match broker
                .acquire_token_with_default_account(&broker_request)
                .await
            {
                Ok(token) => return Ok(Some(token)),
                Err(e) if is_silent_miss(&e) => *miss = Some(e),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn broker_request(&self, broker: &dyn PlatformBroker, request: &TokenRequest) -> BrokerRequest {
        let config = &self.config;
        BrokerRequest {
            client_id: config.client_id.clone(),
            tenant_id: request.tenant.clone(),
            authority: config.authority_host.authority(&request.tenant),
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

    /// The broker, unless there is none or it reported itself unavailable.
    fn usable_broker(&self) -> Option<Arc<dyn PlatformBroker>> {
        if lock(&self.broker_unavailable).is_some() {
            return None;
        }
        self.config.broker.clone()
    }

    fn mark_unavailable(&self, reason: Error) {
        tracing::info!(reason = %reason, "the platform broker is unavailable; using the browser flow from now on");
        *lock(&self.broker_unavailable) = Some(reason);
    }

    fn pop_needs_broker(&self) -> Error {
        let reason = match &*lock(&self.broker_unavailable) {
            Some(e) => format!("the platform broker is unavailable: {}", e.message()),
            None => "this credential has no authentication broker (none on this platform, or BrokerMode::BrowserOnly)".to_owned(),
        };
        Error::new(
            ErrorKind::PopNeedsBroker,
            format!("a proof-of-possession token needs a platform broker that can make one, and {reason}; the request is not downgraded to a bearer token"),
        )
    }

    fn authentication_required(&self, cause: Option<Error>) -> Error {
        let message = if self.config.disable_interactive_fallback {
            "no token could be obtained silently and interactive sign-in is disabled (disable_interactive_fallback); sign in interactively once, or enable the fallback"
        } else {
            "no token could be obtained silently"
        };
        match cause {
            Some(cause) => Error::new(
                ErrorKind::AuthenticationRequired,
                format!("{message} ({})", cause.message()),
            )
            .with_error_codes(cause.error_codes().to_vec())
            .with_correlation_id(cause.correlation_id().map(str::to_owned))
            .with_source(cause),
            None => Error::new(ErrorKind::AuthenticationRequired, message),
        }
    }

    /// Checks a broker token against the request (never a Bearer for PoP or the reverse) and
    /// remembers its account for later silent calls.
    fn accept_broker_token(
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
            *self.lock_account() = Some(account);
        }
        Ok(token.token)
    }

    /// Takes in a token response of the browser flow: remembers its account and refresh
    /// token, and merges it into the persistent cache when one is configured (a failure
    /// there is a warning: the tokens stay in memory).
    async fn accept_browser_response(
        &self,
        response: TokenResponse,
        request: &TokenRequest,
        grant_type: &str,
    ) -> SignIn {
        let config = &self.config;
        let details = &response.details;
        let record = AuthenticationRecord::from_token_response(
            &config.environment,
            &config.client_id,
            details.client_info.as_deref(),
            details.id_token.as_deref().map(String::as_str),
            &request.tenant,
        );
        if let Some(record) = &record {
            *lock(&self.account) = Some(record.clone());
        }
        let mut persist_error = None;
        if let Some(persistence) = &self.persistence {
            let write = response.cache_write(
                config.client_id.as_str(),
                &config.environment,
                // The tenant as requested, as MSAL keys its entries (and looks them up).
                &request.tenant.as_str().to_ascii_lowercase(),
                &request.scopes,
                grant_type,
                config.clock.now(),
            );
            if let Err(e) = persistence.store(request.enable_cae, &write).await {
                tracing::warn!(error = %e, "the token response could not be stored in the persistent token cache; it is kept in memory only");
                persist_error = Some(e);
            }
        }
        if let Some(rt) = response.refresh_token {
            self.lock_refresh_tokens()
                .insert(refresh_token_key(request), rt);
        }
        SignIn {
            token: response.token,
            record,
            persist_error,
        }
    }

    /// The record of a broker's account: its home account id (the Linux broker's
    /// `homeAccountId`), else the access token's `oid.tid`; its user name, else the token's.
    fn broker_record(
        &self,
        token: &BrokerToken,
        tenant: &TenantId,
    ) -> Option<AuthenticationRecord> {
        let claims = mr_auth_core::decode_jwt_parts_unverified(token.token.token.secret())
            .map(|parts| parts.claims)
            .unwrap_or_default();
        let claim = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let from_account = token
            .account
            .as_ref()
            .and_then(|a| a.id.rsplit(':').next())
            .map(str::to_owned);
        let from_token = match (claim("oid"), claim("tid")) {
            (Some(oid), Some(tid)) => Some(format!("{oid}.{tid}")),
            _ => None,
        };
        let username = token
            .account
            .as_ref()
            .and_then(|a| a.username.clone())
            .or_else(|| {
                ["preferred_username", "upn", "unique_name"]
                    .into_iter()
                    .find_map(claim)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let token_tenant = claim("tid").and_then(|t| TenantId::new(t).ok());
        [from_account, from_token]
            .into_iter()
            .flatten()
            .find_map(|home| {
                // The token's tenant, else the account's home tenant (after the dot), else the
                // requested one.
                let tenant = token_tenant
                    .clone()
                    .or_else(|| {
                        home.split_once('.')
                            .and_then(|(_, tid)| TenantId::new(tid).ok())
                    })
                    .unwrap_or_else(|| tenant.clone());
                AuthenticationRecord::new(
                    self.config.environment.as_str(),
                    self.config.client_id.clone(),
                    home,
                    tenant,
                    username.as_str(),
                )
                .ok()
            })
    }

    fn lock_refresh_tokens(&self) -> MutexGuard<'_, HashMap<String, RefreshToken>> {
        lock(&self.refresh_tokens)
    }

    fn lock_account(&self) -> MutexGuard<'_, Option<BrokerAccount>> {
        lock(&self.broker_account)
    }
}

impl fmt::Debug for Acquirer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquirer")
            .field("config", &self.config)
            .field(
                "broker_unavailable",
                &lock(&self.broker_unavailable).is_some(),
            )
            .finish_non_exhaustive()
    }
}

/// Only whole values move in and out under these locks, so a poisoned one is consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn check_pop_support(broker: &dyn PlatformBroker, request: &TokenRequest) -> Result<()> {
    if request.pop.is_some() && !broker.supports_pop() {
        return Err(Error::new(
            ErrorKind::PopNeedsBroker,
            "the platform broker here cannot issue proof-of-possession tokens; the request is not downgraded to a bearer token",
        ));
    }
    Ok(())
}

/// The broker's account for a record of an earlier process: on Linux the Microsoft identity
/// broker knows accounts by their home account id, which the record holds (other brokers see a
/// foreign id, a silent miss). WAM's accounts have ids of their own that a record does not
/// hold, so on Windows the first silent call of a process needs `use_default_broker_account`.
fn broker_account_of(record: Option<&AuthenticationRecord>) -> Option<BrokerAccount> {
    #[cfg(target_os = "linux")]
    {
        record.map(|r| {
            crate::platform::account_for_home_account_id(
                r.home_account_id(),
                Some(r.username().to_owned()).filter(|u| !u.is_empty()),
            )
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = record;
        None
    }
}

/// Refresh tokens are kept per tenant.
fn refresh_token_key(request: &TokenRequest) -> String {
    request.tenant.as_str().to_ascii_lowercase()
}

/// A silent step that missed (go on to the next step) rather than failed.
fn is_silent_miss(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::AuthenticationRequired | ErrorKind::AuthenticationFailed
    )
}
