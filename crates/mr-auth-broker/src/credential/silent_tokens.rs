//! The silent half every credential of this crate is built on: what the credential remembers
//! between requests ([`Session`]), its chain of silent sources, and the in-memory token cache
//! (`mr-auth-core`'s single-flight cache) the chain runs in, so that any number of concurrent
//! callers of one request share one run and the cache stays bounded; in front of it, the
//! lock-free hit path of plain requests ([`FreshTokens`]).

use super::{
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::{CredentialConfig, EXPIRY_BUFFER},
    fresh_tokens::FreshTokens,
    session::Session,
    silent_chain::SilentChain,
    token_request::{CacheKey, TokenRequest},
};
use crate::{error::Error, error::Result, oauth::AccessTokenInfo};
use azure_core::{credentials::TokenRequestOptions, http::Context};
use mr_auth_core::{TokenCache, TokenCacheOptions};
use std::{fmt, sync::Arc};

/// A credential's session, silent chain and in-memory cache.
pub(crate) struct SilentTokens {
    pub(crate) session: Arc<Session>,
    chain: Arc<SilentChain>,
    cache: TokenCache<CacheKey, AccessTokenInfo, Error>,
    fresh: FreshTokens,
}

impl SilentTokens {
    /// A session on `config`, whose silent sources are `chain`.
    pub(crate) fn new(config: CredentialConfig, chain: SilentChain) -> Self {
        let cache = TokenCache::new(TokenCacheOptions {
            expiry_buffer: EXPIRY_BUFFER,
            clock: config.clock.clone(),
            ..TokenCacheOptions::default()
        });
        Self {
            session: Arc::new(Session::new(config)),
            chain: Arc::new(chain),
            cache,
            fresh: FreshTokens::new(),
        }
    }

    /// The credential's validated options.
    pub(crate) fn config(&self) -> &CredentialConfig {
        &self.session.config
    }

    /// The request `scopes` and `options` make, and the key its tokens are cached under.
    pub(crate) fn resolve(
        &self,
        scopes: &[&str],
        options: &BrokerTokenRequestOptions,
    ) -> Result<(Arc<TokenRequest>, CacheKey)> {
        let request = TokenRequest::resolve(self.config(), scopes, options)?;
        let key = request.cache_key(self.config());
        Ok((Arc::new(request), key))
    }

    /// A token from memory, else from the chain's first source that has one, through the
    /// single-flight cache (never any UI).
    pub(crate) async fn get(
        &self,
        key: &CacheKey,
        request: &Arc<TokenRequest>,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let session = Arc::clone(&self.session);
        let chain = Arc::clone(&self.chain);
        let request = Arc::clone(request);
        let context = context.to_owned();
        self.cache
            .get_or_fetch(key, move || async move {
                chain.run(&session, &request, &context).await
            })
            .await
    }

    /// The token of a plain request (no per-request options) for exactly `scopes`, when the
    /// cache would hand it out at once: no lock, no shared write, no key built.
    pub(crate) fn fresh(&self, scopes: &[&str]) -> Option<AccessTokenInfo> {
        self.fresh
            .get(scopes, self.config().clock.coarse_unix_nanos())
    }

    /// [`fresh`](Self::fresh) when `options` make a plain request.
    pub(crate) fn fresh_if_plain(
        &self,
        scopes: &[&str],
        options: &BrokerTokenRequestOptions,
    ) -> Option<AccessTokenInfo> {
        if options.is_plain() {
            self.fresh(scopes)
        } else {
            None
        }
    }

    /// [`get`](Self::get) for `scopes`; when the request is `plain`, its token then becomes a
    /// [`fresh`](Self::fresh) hit.
    pub(crate) async fn get_remembering(
        &self,
        scopes: &[&str],
        plain: bool,
        key: &CacheKey,
        request: &Arc<TokenRequest>,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let token = self.get(key, request, context).await?;
        if plain {
            self.remember(scopes, key);
        }
        Ok(token)
    }

    /// [`fresh`](Self::fresh) for a caller of `azure_core`'s `TokenCredential::get_token`,
    /// when its options hold no per-request options (or only the defaults).
    pub(crate) fn fresh_for_sdk(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequestOptions<'_>>,
    ) -> Option<AccessTokenInfo> {
        let plain = options
            .and_then(|o| {
                o.method_options
                    .context
                    .value::<BrokerTokenRequestOptions>()
            })
            .is_none_or(BrokerTokenRequestOptions::is_plain);
        if plain {
            self.fresh(scopes)
        } else {
            None
        }
    }

    /// After a plain request for `scopes` was answered: its token becomes a
    /// [`fresh`](Self::fresh) hit until the cache's refresh point.
    pub(crate) fn remember(&self, scopes: &[&str], key: &CacheKey) {
        let now = self.config().clock.unix_nanos();
        self.fresh
            .remember(scopes, key, now, || self.cache.fresh_with_refresh_at(key));
    }

    /// Keeps a token another step obtained (an interactive sign-in, an explicit refresh) for
    /// the request's key, and returns it. The key's [`fresh`](Self::fresh) hits go (after the
    /// cache has the new token, so none can come back with the old one).
    pub(crate) fn insert(&self, key: &CacheKey, token: AccessTokenInfo) -> Result<AccessTokenInfo> {
        let stored = self.cache.insert(key, token);
        self.fresh.forget(key);
        stored
    }

    /// How many requests' tokens are in memory.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }
}

impl fmt::Debug for SilentTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SilentTokens")
            .field("cache", &self.cache)
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}
