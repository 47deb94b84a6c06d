use arc_swap::ArcSwap;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use mr_auth_core::{
    AccountDomain, AccountId, Error, ErrorKind, MixedRealityStsClient,
    MixedRealityStsClientOptions, StsTokenRequestOptions, TokenCache, TokenCacheOptions,
};
use std::{fmt, sync::Arc};

/// Options of [`MixedRealityTokenCredential`]: those of the token cache it keeps (refresh
/// ahead of expiry, jitter, retry delay after a failed refresh, expiry buffer, clock).
pub type MixedRealityTokenCredentialOptions = TokenCacheOptions;

/// The credential to give a Mixed Reality service client (Remote Rendering, Spatial Anchors,
/// or any `azure_core` pipeline with a bearer-token policy): it exchanges the STS client's
/// credential for a Mixed Reality access token and caches it.
///
/// Unlike the credential of Microsoft's SDKs, which calls the STS on every `get_token`, this
/// one:
///
/// - serves the cached token until its refresh point (5 minutes before expiry, minus a random
///   jitter of at most 30 seconds; both configurable);
/// - from the refresh point on, keeps serving the still-valid token while **one** background
///   request to the STS fetches the next;
/// - when there is no valid token, makes every caller wait for **one** STS request, however
///   many callers there are, and gives all of them its token or its error;
/// - never returns an expired token: if a refresh fails while the cached token is still valid,
///   it keeps serving it and logs a warning; once it has expired, callers get the error;
/// - is cancellation-safe: a caller that drops its future does not cancel the STS request the
///   others wait for;
/// - serves a fresh token without a lock: one atomic load, one read of the clock as an integer,
///   and (through [`TokenCredential`], which must return an owned token) one copy of the token
///   string; [`get_shared_token`](Self::get_shared_token) hands out the shared token itself.
///
/// Per-call options ([`StsTokenRequestOptions`]: timeout, retries, correlation vector) apply
/// to the STS request a call starts; a call's timeout also bounds its own wait for a request
/// another call started. Through [`TokenCredential::get_token`], put them into the request's
/// `Context` (`Context::new().with_value(StsTokenRequestOptions { .. })`).
///
/// The `scopes` passed to [`get_token`](TokenCredential::get_token) are **ignored**: a Mixed
/// Reality token is for the account, and the STS takes no scope. Call it from within a tokio
/// runtime (the STS request runs in the calling task, and moves to a spawned one if that
/// caller goes away before it ends); for synchronous code see the `blocking` feature.
///
/// ```no_run
/// use std::sync::Arc;
/// use azure_core::credentials::TokenCredential;
/// use mr_auth_credentials::{AccountKey, MixedRealityTokenCredential};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let credential = MixedRealityTokenCredential::with_account_key(
///     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
///     "eastus2.mixedreality.azure.com".parse()?,
///     AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY")?)?,
///     None,
///     None,
/// )?;
/// // Hand `credential` to a service client; or ask for the token yourself:
/// let token = credential.get_token(&[], None).await?;
/// println!("expires on {}", token.expires_on);
/// # Ok(()) }
/// ```
pub struct MixedRealityTokenCredential {
    client: Arc<MixedRealityStsClient>,
    cache: TokenCache<(), Arc<AccessToken>, Error>,
    /// The lock-free fast path in front of `cache`: the current token while it is fresh.
    fast: ArcSwap<Snapshot>,
}

/// What the fast path serves. `generation` changes on every [`clear_cache`]; a slow-path
/// caller only publishes a token if the snapshot it started from is still current, so a
/// token fetched before a clear is never published after it.
///
/// [`clear_cache`]: MixedRealityTokenCredential::clear_cache
#[derive(Default)]
struct Snapshot {
    generation: u64,
    fresh: Option<Fresh>,
}

struct Fresh {
    token: Arc<AccessToken>,
    /// Served from the fast path while the clock's `unix_nanos` is below this: the cache's
    /// refresh point for the token, never later than `expires_on - refresh_before`.
    until_unix_nanos: i128,
}

impl MixedRealityTokenCredential {
    /// A caching credential over `client`.
    pub fn new(
        client: Arc<MixedRealityStsClient>,
        options: Option<MixedRealityTokenCredentialOptions>,
    ) -> Arc<Self> {
        let cache = TokenCache::new(options.unwrap_or_default());
        Arc::new(Self {
            client,
            cache,
            fast: ArcSwap::from_pointee(Snapshot::default()),
        })
    }

    /// Builds the STS client for `account_id` and `account_domain` over `credential` (an
    /// account-key credential or any Azure AD credential) and the caching credential over it.
    pub fn from_credential(
        account_id: AccountId,
        account_domain: AccountDomain,
        credential: Arc<dyn TokenCredential>,
        sts_options: Option<MixedRealityStsClientOptions>,
        options: Option<MixedRealityTokenCredentialOptions>,
    ) -> Result<Arc<Self>, Error> {
        let client =
            MixedRealityStsClient::new(account_id, account_domain, credential, sts_options)?;
        Ok(Self::new(client, options))
    }

    /// Builds the caching credential for an account key: account id, domain and key straight to
    /// the credential a Mixed Reality service client needs.
    pub fn with_account_key(
        account_id: AccountId,
        account_domain: AccountDomain,
        key: crate::AccountKey,
        sts_options: Option<MixedRealityStsClientOptions>,
        options: Option<MixedRealityTokenCredentialOptions>,
    ) -> Result<Arc<Self>, Error> {
        let credential = crate::AccountKeyCredential::new(account_id, key);
        Self::from_credential(account_id, account_domain, credential, sts_options, options)
    }

    /// The Mixed Reality access token, from the cache when fresh, with this crate's typed
    /// error (the [`TokenCredential`] impl converts it into `azure_core::Error`).
    pub async fn get_mixed_reality_token(&self) -> Result<AccessToken, Error> {
        if let Some(token) = self.fresh(|token| AccessToken::clone(token)) {
            return Ok(token);
        }
        let shared = self.slow_path(None).await?;
        Ok(AccessToken::clone(&shared))
    }

    /// The Mixed Reality access token as the shared value the cache holds (no copy of the
    /// token), with per-call `options` for the STS request this call may start.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mr_auth_core::StsTokenRequestOptions;
    /// # async fn run(credential: &mr_auth_credentials::MixedRealityTokenCredential) -> Result<(), mr_auth_core::Error> {
    /// let token = credential
    ///     .get_shared_token(Some(StsTokenRequestOptions {
    ///         timeout: Some(Duration::from_secs(5)),
    ///         ..StsTokenRequestOptions::default()
    ///     }))
    ///     .await?;
    /// println!("expires on {}", token.expires_on);
    /// # Ok(()) }
    /// ```
    pub async fn get_shared_token(
        &self,
        options: Option<StsTokenRequestOptions<'_>>,
    ) -> Result<Arc<AccessToken>, Error> {
        if let Some(token) = self.fresh(Arc::clone) {
            return Ok(token);
        }
        self.slow_path(options).await
    }

    /// The fresh token through `map`, without locking: `None` when there is none or it is due
    /// for refresh (then the cache decides).
    fn fresh<T>(&self, map: impl FnOnce(&Arc<AccessToken>) -> T) -> Option<T> {
        let snapshot = self.fast.load();
        let fresh = snapshot.fresh.as_ref()?;
        (self.cache.options().clock.coarse_unix_nanos() < fresh.until_unix_nanos)
            .then(|| map(&fresh.token))
    }

    async fn slow_path(
        &self,
        options: Option<StsTokenRequestOptions<'_>>,
    ) -> Result<Arc<AccessToken>, Error> {
        let started_from = self.fast.load_full();
        let options = options.unwrap_or_default();
        let wait_bound = options.timeout;
        // The fetch may outlive this call (a spawned task finishes it if this caller goes
        // away): it gets owned copies of the per-call options.
        let fetch_options = StsTokenRequestOptions {
            timeout: options.timeout,
            retry: options.retry.clone(),
            correlation_vector: options.correlation_vector.clone(),
            method_options: azure_core::http::ClientMethodOptions {
                context: options.method_options.context.to_owned(),
            },
        };
        let fetch = self.cache.get_or_fetch(&(), || {
            let client = Arc::clone(&self.client);
            async move {
                let token = client.get_token_with_options(Some(fetch_options)).await?;
                tracing::debug!(
                    account_id = %client.account_id(),
                    expires_on = %token.access_token.expires_on,
                    ms_cv = token.ms_cv.as_deref().unwrap_or("none"),
                    "new Mixed Reality access token"
                );
                Ok(Arc::new(token.access_token))
            }
        });
        let token = match wait_bound {
            Some(bound) => tokio::time::timeout(bound, fetch).await.map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("no Mixed Reality token within the call's timeout of {bound:?} (the STS request other callers wait for keeps running)"),
                )
            })??,
            None => fetch.await?,
        };
        self.publish(&started_from, &token);
        Ok(token)
    }

    /// Puts `token` on the fast path until its refresh point, unless the cache was cleared
    /// (or another caller published) since `started_from` was read.
    fn publish(&self, started_from: &Arc<Snapshot>, token: &Arc<AccessToken>) {
        let options = self.cache.options();
        let nominal = token.expires_on - options.refresh_before.max(options.expiry_buffer);
        // `refresh_at` may already describe a newer token; `nominal` bounds it by this one's.
        let until = match self.cache.refresh_at(&()) {
            Some(refresh_at) => refresh_at.min(nominal),
            None => return,
        };
        let until_unix_nanos = until.unix_timestamp_nanos();
        if options.clock.unix_nanos() >= until_unix_nanos {
            return;
        }
        let next = Arc::new(Snapshot {
            generation: started_from.generation,
            fresh: Some(Fresh {
                token: Arc::clone(token),
                until_unix_nanos,
            }),
        });
        self.fast.compare_and_swap(started_from, next);
    }

    /// Drops the cached token, so the next call asks the STS. Use it when a service rejected a
    /// token that had not expired yet (a revoked key, for example).
    pub fn clear_cache(&self) {
        // The cache first: a caller that read the old snapshot and then got the old token
        // from the cache finds the generation changed and does not publish it.
        self.cache.clear();
        self.fast.rcu(|current| Snapshot {
            generation: current.generation.wrapping_add(1),
            fresh: None,
        });
    }

    /// The STS client this credential exchanges through.
    pub fn sts_client(&self) -> &Arc<MixedRealityStsClient> {
        &self.client
    }
}

#[async_trait::async_trait]
impl TokenCredential for MixedRealityTokenCredential {
    /// The Mixed Reality access token; `scopes` are ignored (see the type's documentation), and
    /// an [`StsTokenRequestOptions`] in the options' `Context` applies to this call.
    async fn get_token(
        &self,
        _scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(token) = self.fresh(|token| AccessToken::clone(token)) {
            return Ok(token);
        }
        let call_options = options.and_then(|options| {
            let context = options.method_options.context;
            let wanted = context.value::<StsTokenRequestOptions<'static>>()?.clone();
            Some(StsTokenRequestOptions {
                method_options: azure_core::http::ClientMethodOptions { context },
                ..wanted
            })
        });
        let shared = self.slow_path(call_options).await?;
        Ok(AccessToken::clone(&shared))
    }
}

impl fmt::Debug for MixedRealityTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MixedRealityTokenCredential")
            .field("client", &self.client)
            .field("cache", &self.cache)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccountKey;
    use std::time::Duration;

    #[test]
    fn debug_shows_the_account_but_never_the_key() {
        let credential = MixedRealityTokenCredential::with_account_key(
            "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse().unwrap(),
            "mixedreality.azure.com".parse().unwrap(),
            AccountKey::new("very-secret-key").unwrap(),
            None,
            None,
        )
        .unwrap();
        let text = format!("{credential:?}");
        assert!(
            text.contains("87e9abb1-79b9-4502-bbae-cfae8c610f23"),
            "{text}"
        );
        assert!(!text.contains("very-secret-key"), "{text}");
    }

    #[test]
    fn options_default_to_five_minutes_ahead_with_bounded_jitter() {
        let options = MixedRealityTokenCredentialOptions::default();
        assert_eq!(options.refresh_before, Duration::from_secs(300));
        assert_eq!(options.max_jitter, Duration::from_secs(30));
    }
}
