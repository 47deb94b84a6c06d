use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use mr_auth_core::{
    AccountDomain, AccountId, Clock, Error, MixedRealityStsClient, MixedRealityStsClientOptions,
    SystemClock, TokenCache, TokenCacheOptions, DEFAULT_MAX_JITTER, DEFAULT_REFRESH_BEFORE,
    DEFAULT_RETRY_DELAY,
};
use std::{fmt, sync::Arc, time::Duration};

/// Options of [`MixedRealityTokenCredential`].
#[derive(Debug, Clone)]
pub struct MixedRealityTokenCredentialOptions {
    /// Refresh the token this long before it expires. Default 5 minutes.
    pub refresh_before: Duration,
    /// The bound of the random extra lead added to each token's refresh point, so a fleet of
    /// processes does not refresh in lockstep. Zero turns it off. Default 30 seconds.
    pub max_jitter: Duration,
    /// After a refresh failed while the cached token was still valid, wait this long before
    /// trying again (the cached token is served meanwhile). Default 30 seconds.
    pub retry_delay: Duration,
    /// The source of "now". Default [`SystemClock`]; tests inject a
    /// [`ManualClock`](mr_auth_core::ManualClock).
    pub clock: Arc<dyn Clock>,
}

impl Default for MixedRealityTokenCredentialOptions {
    fn default() -> Self {
        Self {
            refresh_before: DEFAULT_REFRESH_BEFORE,
            max_jitter: DEFAULT_MAX_JITTER,
            retry_delay: DEFAULT_RETRY_DELAY,
            clock: Arc::new(SystemClock),
        }
    }
}

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
///   others wait for.
///
/// The `scopes` passed to [`get_token`](TokenCredential::get_token) are **ignored**: a Mixed
/// Reality token is for the account, and the STS takes no scope. Call it from within a tokio
/// runtime (the STS request runs in a spawned task); for synchronous code see the `blocking`
/// feature.
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
    cache: TokenCache<(), AccessToken, Error>,
}

impl MixedRealityTokenCredential {
    /// A caching credential over `client`.
    pub fn new(
        client: Arc<MixedRealityStsClient>,
        options: Option<MixedRealityTokenCredentialOptions>,
    ) -> Arc<Self> {
        let options = options.unwrap_or_default();
        let cache = TokenCache::new(TokenCacheOptions {
            refresh_before: options.refresh_before,
            max_jitter: options.max_jitter,
            retry_delay: options.retry_delay,
            clock: options.clock,
            ..TokenCacheOptions::default()
        });
        Arc::new(Self { client, cache })
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
        self.cache
            .get_or_fetch(&(), || {
                let client = Arc::clone(&self.client);
                async move {
                    let token = client.get_token().await?;
                    tracing::debug!(
                        account_id = %client.account_id(),
                        expires_on = %token.access_token.expires_on,
                        ms_cv = token.ms_cv.as_deref().unwrap_or("none"),
                        "new Mixed Reality access token"
                    );
                    Ok(token.access_token)
                }
            })
            .await
    }

    /// Drops the cached token, so the next call asks the STS. Use it when a service rejected a
    /// token that had not expired yet (a revoked key, for example).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// The STS client this credential exchanges through.
    pub fn sts_client(&self) -> &Arc<MixedRealityStsClient> {
        &self.client
    }
}

#[async_trait::async_trait]
impl TokenCredential for MixedRealityTokenCredential {
    /// The Mixed Reality access token; `scopes` and `options` are ignored (see the type's
    /// documentation).
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.get_mixed_reality_token().await.map_err(Into::into)
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
