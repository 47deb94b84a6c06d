//! The sign-ins in the shared token cache for the CLI's client id, whichever MSAL app made
//! them (an earlier `mr-auth login`, azure-identity, MSAL with its extensions): for
//! `account list`, `login` adopting one, and `entra-token` naming them when not signed in.
//! Read through the library's `SharedTokenCacheCredential`, so the CLI sees exactly the
//! accounts a Rust program using that credential sees.

use crate::{cli_error::CliError, terminal_text::printable};
use mr_auth_broker::{
    AuthorityHost, CachedAccount, ClientId, SharedTokenCacheCredential,
    SharedTokenCacheCredentialOptions, TenantId, TokenCachePersistenceOptions,
};
use mr_auth_msal_cache::{describe_accounts, PersistentTokenCache};
use std::{sync::Arc, time::Duration};

/// Where the CLI looks for sign-ins: client id, authority host and cache.
#[derive(Debug, Clone)]
pub(crate) struct SharedCache {
    pub(crate) client_id: ClientId,
    pub(crate) authority_host: AuthorityHost,
    pub(crate) persistence: TokenCachePersistenceOptions,
    /// The bound of redeeming a refresh token (`--request-timeout-secs`).
    pub(crate) request_timeout: Duration,
}

impl SharedCache {
    /// The credential over this cache, for `username` and `tenant` (an alias such as
    /// `organizations` chooses no account).
    pub(crate) fn credential(
        &self,
        username: Option<&str>,
        tenant: Option<TenantId>,
    ) -> Result<Arc<SharedTokenCacheCredential>, CliError> {
        Ok(SharedTokenCacheCredential::new(Some(
            SharedTokenCacheCredentialOptions {
                client_id: self.client_id.clone(),
                tenant_id: tenant,
                authority: Some(self.authority_host.clone()),
                username: username.map(str::to_owned),
                cache_persistence_options: Some(self.persistence.clone()),
                request_timeout: self.request_timeout,
                ..Default::default()
            },
        ))?)
    }

    /// The accounts of the client id in the cache, read as azure-identity reads it (the
    /// plaintext file where there is no encrypted store; reading never creates one).
    pub(crate) async fn accounts(&self) -> Result<Vec<CachedAccount>, CliError> {
        let reading = Self {
            persistence: TokenCachePersistenceOptions {
                allow_unencrypted_storage: true,
                ..self.persistence.clone()
            },
            ..self.clone()
        };
        Ok(reading.credential(None, None)?.accounts().await?)
    }

    /// How `entra-token` tells a user who is not signed in about the sign-ins it saw (other
    /// than `except`'s, a home account id), `None` when there are none or the cache cannot be
    /// read: a sentence to append to the error.
    pub(crate) async fn adoption_hint(&self, except: Option<&str>) -> Option<String> {
        let accounts: Vec<CachedAccount> = match self.accounts().await {
            Ok(accounts) => accounts,
            Err(e) => {
                tracing::debug!(error = %e, "the shared token cache cannot be read for other sign-ins");
                return None;
            }
        }
        .into_iter()
        .filter(|a| except.is_none_or(|h| !h.eq_ignore_ascii_case(&a.home_account_id)))
        .collect();
        if accounts.is_empty() {
            return None;
        }
        let flag = if self.persistence.allow_unencrypted_storage || !self.is_plaintext().await {
            ""
        } else {
            " --allow-unencrypted-storage"
        };
        let example = accounts
            .iter()
            .map(|a| printable(&a.username))
            .find(|name| !name.is_empty())
            .unwrap_or_else(|| "USER".to_owned());
        Some(format!(
            "; the shared token cache holds sign-ins of client id {} (by mr-auth or another app): {}; `mr-auth login --username {example}{flag}` adopts one without signing in again",
            self.client_id,
            describe_accounts(&accounts),
        ))
    }

    /// Whether the cache read for accounts is a plaintext file.
    async fn is_plaintext(&self) -> bool {
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..self.persistence.clone()
        };
        PersistentTokenCache::open(&options, false)
            .await
            .is_ok_and(|c| c.is_plaintext())
    }
}
