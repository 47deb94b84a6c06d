use super::{
    authentication_record::AuthenticationRecord,
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::{CredentialConfig, Surroundings},
    shared_cache_account::{admitted, shared_accounts, SharedCacheAccount, SIGN_IN},
    shared_token_cache_credential_options::SharedTokenCacheCredentialOptions,
    silent_chain::{Silent, SilentChain, SilentStep},
    silent_steps::{refresh, PersistentCache, RefreshTokens, Refreshed},
    silent_tokens::SilentTokens,
    token_request::TokenRequest,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::AccessTokenInfo,
    CachedAccount, MsalTokenCache,
};
use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::Context,
};
use std::{fmt, sync::Arc};

/// Entra ID tokens, silently, from the persistent token cache Microsoft's developer tools and
/// MSAL applications share: the sign-in `mr-auth login` (or azure-identity, or MSAL with its
/// extensions) left there. The Rust counterpart of the Python
/// `azure.identity.SharedTokenCacheCredential`; Rust's `azure_identity` has none.
///
/// It never shows any UI. For each request, after its in-memory cache:
///
/// 1. **the account**: among the accounts the cache holds a refresh token of `client_id` for,
///    at the authority host, the one the options name (an `authentication_record`, a
///    `username`, a `tenant_id`), or the only one;
/// 2. **its access token** for the scopes and tenant, when one is stored and valid beyond 5
///    minutes: no network at all (a claims challenge skips it);
/// 3. **its refresh token**, redeemed at the token endpoint; the new tokens are stored back in
///    the cache (under its cross-process lock), where other processes and apps find them.
///
/// When none gives a token it fails with [`ErrorKind::AuthenticationRequired`]: the message
/// says to run `mr-auth login` and lists the accounts it saw (several and none chosen, none
/// that fits, a refused refresh token). Concurrent callers of one request share one run; the
/// in-memory cache holds at most 64 requests' tokens.
///
/// ```no_run
/// use mr_auth_broker::{SharedTokenCacheCredential, SharedTokenCacheCredentialOptions};
///
/// # async fn run() -> mr_auth_broker::Result<()> {
/// // The only account `mr-auth login` (or another app) signed in, or the one named here.
/// let credential = SharedTokenCacheCredential::new(Some(SharedTokenCacheCredentialOptions {
///     username: Some("someone@contoso.com".to_owned()),
///     ..Default::default()
/// }))?;
/// let token = credential
///     .get_token_info(&["https://management.azure.com/.default"], None)
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
pub struct SharedTokenCacheCredential {
    /// The session, the silent chain (account, access token, refresh token) and the
    /// in-memory cache it runs in.
    tokens: SilentTokens,
    /// The chain's first step, which [`authenticate`](Self::authenticate) runs on its own.
    account: SharedCacheAccount,
}

impl SharedTokenCacheCredential {
    /// Builds the credential, validating every option. Nothing is read until a token is asked
    /// for.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for an empty `username`, or an `authentication_record` of
    /// another client id or authority host.
    pub fn new(options: Option<SharedTokenCacheCredentialOptions>) -> Result<Arc<Self>> {
        Self::with_surroundings(options.unwrap_or_default(), Surroundings::default())
    }

    /// The same, with the clock and environment given (tests inject theirs).
    pub(crate) fn with_surroundings(
        options: SharedTokenCacheCredentialOptions,
        surroundings: Surroundings,
    ) -> Result<Arc<Self>> {
        let filter = options.account_filter()?;
        let config = CredentialConfig::new(options.silent_half(), surroundings)?;
        let chain = SilentChain::new(vec![
            Box::new(SharedCacheAccount(filter.clone())),
            Box::new(PersistentCache),
            Box::new(RefreshTokens),
        ])
        .with_remedy(SIGN_IN);
        Ok(Arc::new(Self {
            tokens: SilentTokens::new(config, chain),
            account: SharedCacheAccount(filter),
        }))
    }

    /// A token for `scopes` with per-request options (claims, CAE, tenant): the equivalent of
    /// the Python `get_token_info`. Returns the token type and refresh time too.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AuthenticationRequired`] when the cache has no account that fits or no
    /// token for it (the message lists the accounts seen); [`ErrorKind::PersistentCache`] when
    /// the cache cannot be read; the token endpoint's errors when a refresh fails other than
    /// by a refusal (network, 5xx); [`ErrorKind::PopNeedsBroker`] for a proof-of-possession
    /// request (the shared cache holds bearer tokens only).
    pub async fn get_token_info(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AccessTokenInfo> {
        self.get_token_info_with_context(scopes, options.unwrap_or_default(), &Context::new())
            .await
    }

    /// A fresh token from memory at once, else the silent chain through the cache.
    async fn get_token_info_with_context(
        &self,
        scopes: &[&str],
        options: BrokerTokenRequestOptions,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        if let Some(token) = self.tokens.fresh_if_plain(scopes, &options) {
            return Ok(token);
        }
        // In a box of its own, so that a hit's future stays a few words.
        Box::pin(self.get_token_info_from_cache(scopes, options, context)).await
    }

    async fn get_token_info_from_cache(
        &self,
        scopes: &[&str],
        options: BrokerTokenRequestOptions,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let plain = options.is_plain();
        let (request, key) = self.resolve(scopes, &options)?;
        (self.tokens)
            .get_remembering(scopes, plain, &key, &request, context)
            .await
    }

    /// Signs in silently with the account's refresh token (never a cached access token), for
    /// `scopes`, stores the new tokens in the cache and returns the account's
    /// [`AuthenticationRecord`]: how a tool adopts a sign-in another app made (`mr-auth login`
    /// does), proving the refresh token still works. Never any UI.
    ///
    /// # Errors
    ///
    /// As [`get_token_info`](Self::get_token_info); [`ErrorKind::AuthenticationRequired`] when
    /// the authority refused the refresh token (revoked, expired: sign in again), with its
    /// codes; [`ErrorKind::PersistentCache`] when the new tokens could not be stored (this
    /// credential still has them in memory).
    pub async fn authenticate(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AuthenticationRecord> {
        let (request, key) = self.resolve(scopes, &options.unwrap_or_default())?;
        let session = &self.tokens.session;
        let context = Context::new();
        let chosen = match self.account.attempt(session, &request, &context).await? {
            Silent::NotAvailable { reason, .. } => reason.into_owned(),
            Silent::Token(_) => String::new(),
        };
        match refresh(session, &request, &context).await? {
            Refreshed::SignedIn(sign_in) => {
                self.tokens.insert(&key, sign_in.token)?;
                if let Some(e) = sign_in.persist_error {
                    return Err(e);
                }
                sign_in
                    .record
                    .or_else(|| session.account())
                    .map(Arc::unwrap_or_clone)
                    .ok_or_else(|| {
                        Error::protocol("the refresh succeeded but neither the authority's answer nor the cache identified the account")
                    })
            }
            Refreshed::Refused(refusal) => Err(refused(&chosen, refusal)),
        }
    }

    /// The accounts this credential can use: those the (non-CAE) cache holds a refresh token
    /// of `client_id` for, at the authority host, in the cache's order. Their user names are
    /// the cache's text: clean them before showing them on a terminal.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PersistentCache`] when the cache cannot be opened or read.
    pub async fn accounts(&self) -> Result<Vec<CachedAccount>> {
        Ok(self.read_accounts().await?.1)
    }

    /// Those of [`accounts`](Self::accounts) that its `username`, `tenant_id` and
    /// `authentication_record` admit: it uses the account when there is exactly one.
    ///
    /// # Errors
    ///
    /// As [`accounts`](Self::accounts).
    pub async fn matching_accounts(&self) -> Result<Vec<CachedAccount>> {
        let (document, accounts) = self.read_accounts().await?;
        Ok(admitted(&document, &accounts, &self.account.0)
            .into_iter()
            .cloned()
            .collect())
    }

    /// The (non-CAE) cache, and its accounts of this client and authority.
    async fn read_accounts(&self) -> Result<(MsalTokenCache, Vec<CachedAccount>)> {
        let config = self.tokens.config();
        let Some(persistence) = &self.tokens.session.persistence else {
            return Ok((MsalTokenCache::new(), Vec::new()));
        };
        let document = persistence.read(false).await?;
        let accounts =
            shared_accounts(&document, config.client_id.as_str(), &config.authority_name);
        Ok((document, accounts))
    }

    /// The request, refused at once when it asks for proof-of-possession.
    fn resolve(
        &self,
        scopes: &[&str],
        options: &BrokerTokenRequestOptions,
    ) -> Result<(Arc<TokenRequest>, super::token_request::CacheKey)> {
        let resolved = self.tokens.resolve(scopes, options)?;
        if resolved.0.pop.is_some() {
            return Err(Error::new(
                ErrorKind::PopNeedsBroker,
                "a proof-of-possession token needs a platform broker that can make one, and the shared token cache holds bearer tokens only; the request is not downgraded to a bearer token",
            ));
        }
        Ok(resolved)
    }
}

/// The error when the authority refused the account's refresh token (or there was none).
fn refused(chosen: &str, refusal: Option<Error>) -> Error {
    let why = refusal
        .as_ref()
        .map_or("no refresh token is stored for it", Error::message);
    let error = Error::new(
        ErrorKind::AuthenticationRequired,
        format!("the shared token cache's account could not sign in silently: {why}; {SIGN_IN}. Shared token cache: {chosen}"),
    );
    match refusal {
        Some(refusal) => error
            .with_error_codes(refusal.error_codes().to_vec())
            .with_correlation_id(refusal.correlation_id().map(str::to_owned))
            .with_source(refusal),
        None => error,
    }
}

impl fmt::Debug for SharedTokenCacheCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.tokens.config();
        f.debug_struct("SharedTokenCacheCredential")
            .field("config", config)
            .field("cache", &config.cache_persistence_options)
            .field("account", &self.account)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for SharedTokenCacheCredential {
    /// A token for `scopes`. Per-request options ([`BrokerTokenRequestOptions`]: claims, CAE,
    /// tenant) are read from `options.method_options.context` when a caller put them there.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(token) = self.tokens.fresh_for_sdk(scopes, options.as_ref()) {
            return Ok(token.into());
        }
        let (request, context) = BrokerTokenRequestOptions::from_sdk(options);
        // The hit index was just looked up for these scopes: on to the cache, boxed as in
        // `get_token_info_with_context`.
        let token = Box::pin(self.get_token_info_from_cache(scopes, request, &context)).await?;
        Ok(token.into())
    }
}
