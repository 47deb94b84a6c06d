//! The silent half every credential of this crate is built on: what the credential remembers
//! between requests ([`Session`]), its chain of silent sources, and the in-memory token cache
//! (`mr-auth-core`'s single-flight cache) the chain runs in, so that any number of concurrent
//! callers of one request share one run and the cache stays bounded.

use super::{
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::{CredentialConfig, EXPIRY_BUFFER},
    session::Session,
    silent_chain::SilentChain,
    token_request::{CacheKey, TokenRequest},
};
use crate::{error::Error, error::Result, oauth::AccessTokenInfo};
use azure_core::http::Context;
use mr_auth_core::{TokenCache, TokenCacheOptions};
use std::{fmt, sync::Arc};

/// A credential's session, silent chain and in-memory cache.
pub(crate) struct SilentTokens {
    pub(crate) session: Arc<Session>,
    chain: Arc<SilentChain>,
    cache: TokenCache<CacheKey, AccessTokenInfo, Error>,
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
    ) -> Result<(TokenRequest, CacheKey)> {
        let request = TokenRequest::resolve(self.config(), scopes, options)?;
        let key = request.cache_key(self.config());
        Ok((request, key))
    }

    /// A token from memory, else from the chain's first source that has one, through the
    /// single-flight cache (never any UI).
    pub(crate) async fn get(
        &self,
        key: &CacheKey,
        request: &TokenRequest,
        context: &Context<'_>,
    ) -> Result<AccessTokenInfo> {
        let session = Arc::clone(&self.session);
        let chain = Arc::clone(&self.chain);
        let request = request.clone();
        let context = context.to_owned();
        self.cache
            .get_or_fetch(key, move || async move {
                chain.run(&session, &request, &context).await
            })
            .await
    }

    /// Keeps a token another step obtained (an interactive sign-in, an explicit refresh) for
    /// the request's key, and returns it.
    pub(crate) fn insert(&self, key: &CacheKey, token: AccessTokenInfo) -> Result<AccessTokenInfo> {
        self.cache.insert(key, token)
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
            .finish_non_exhaustive()
    }
}
