//! How the credential uses the persistent token cache: opened once per CAE mode, read for an
//! account's tokens, and merged into after every token response of the browser flow.

use crate::{
    oauth::RefreshToken, AccessTokenInfo, AuthenticationRecord, CacheEnvironment, CacheWrite,
    MsalTokenCache, PersistentTokenCache, Result, TokenCachePersistenceOptions, TokenType,
};
use azure_core::credentials::Secret;
use std::fmt;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// What the persistent cache holds for one request of one account.
#[derive(Default)]
pub(crate) struct StoredTokens {
    /// A Bearer access token for the request's scopes and tenant, valid beyond the expiry
    /// buffer.
    pub(crate) access_token: Option<AccessTokenInfo>,
    /// The account's refresh token for this client.
    pub(crate) refresh_token: Option<RefreshToken>,
}

/// One request's look-up in the cache: who, for what.
pub(crate) struct Lookup<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) environment: &'a str,
    pub(crate) realm: &'a str,
    pub(crate) scopes: &'a [String],
    /// Access tokens must be valid at least until then.
    pub(crate) valid_until: OffsetDateTime,
    /// A claims challenge: cached access tokens do not answer it (MSAL skips them too).
    pub(crate) has_claims: bool,
}

/// The credential's persistent caches (`<name>.nocae` and `<name>.cae`), opened on first use
/// (opening probes the Secret Service over D-Bus, so it cannot happen in `new`). A failure to
/// open is kept: the credential then runs from memory.
pub(crate) struct CredentialPersistence {
    options: TokenCachePersistenceOptions,
    environment: CacheEnvironment,
    nocae: OnceCell<Result<PersistentTokenCache>>,
    cae: OnceCell<Result<PersistentTokenCache>>,
}

impl CredentialPersistence {
    pub(crate) fn new(
        options: TokenCachePersistenceOptions,
        environment: CacheEnvironment,
    ) -> Self {
        Self {
            options,
            environment,
            nocae: OnceCell::new(),
            cae: OnceCell::new(),
        }
    }

    /// The cache of the CAE mode, or why it cannot be used.
    pub(crate) async fn cache(&self, cae: bool) -> Result<&PersistentTokenCache> {
        let cell = if cae { &self.cae } else { &self.nocae };
        let opened = cell
            .get_or_init(|| async {
                let opened = PersistentTokenCache::open_in(&self.options, cae, &self.environment).await;
                match &opened {
                    Ok(cache) => tracing::debug!(cache = %cache.describe(), "persistent token cache opened"),
                    Err(e) => tracing::warn!(error = %e, "the persistent token cache cannot be used; tokens are kept in memory only"),
                }
                opened
            })
            .await;
        opened.as_ref().map_err(Clone::clone)
    }

    /// The tokens the cache holds for `account` and the request. A cache that cannot be read
    /// (no store, corrupt, locked) is a warning and an empty answer: the credential goes on
    /// from memory.
    pub(crate) async fn find(
        &self,
        cae: bool,
        account: &AuthenticationRecord,
        lookup: &Lookup<'_>,
    ) -> StoredTokens {
        let Ok(cache) = self.cache(cae).await else {
            return StoredTokens::default();
        };
        let document = match cache.load().await {
            Ok(document) => document,
            Err(e) => {
                tracing::warn!(cache = %cache.describe(), error = %e, "the persistent token cache cannot be read; going on without it");
                return StoredTokens::default();
            }
        };
        find_in(&document, account, lookup)
    }

    /// Merges a token response into the cache, under its lock. Nothing is written when the
    /// response cannot be stored (a malformed `client_info`) or the stored document cannot be
    /// read.
    pub(crate) async fn store(&self, cae: bool, write: &CacheWrite) -> Result<()> {
        // Check the response on an empty document first, so a bad one never reaches the store.
        MsalTokenCache::new().add(write)?;
        let cache = self.cache(cae).await?;
        cache.modify(|document| document.add(write)).await??;
        tracing::debug!(cache = %cache.describe(), "token response stored in the persistent token cache");
        Ok(())
    }
}

fn find_in(
    document: &MsalTokenCache,
    account: &AuthenticationRecord,
    lookup: &Lookup<'_>,
) -> StoredTokens {
    let home = account.home_account_id();
    let access_token = if lookup.has_claims {
        None
    } else {
        document
            .access_token(
                lookup.client_id,
                home,
                lookup.environment,
                lookup.realm,
                lookup.scopes,
                lookup.valid_until,
            )
            .filter(|at| TokenType::parse(&at.token_type) == Some(TokenType::Bearer))
            .map(|at| AccessTokenInfo {
                token: Secret::new(at.secret.as_str().to_owned()),
                expires_on: at.expires_on,
                token_type: TokenType::Bearer,
                refresh_on: at.refresh_on,
            })
    };
    let refresh_token = document
        .refresh_token(lookup.client_id, home, lookup.environment)
        .map(|rt| RefreshToken::new(rt.as_str().to_owned()));
    StoredTokens {
        access_token,
        refresh_token,
    }
}

impl fmt::Debug for CredentialPersistence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialPersistence")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
