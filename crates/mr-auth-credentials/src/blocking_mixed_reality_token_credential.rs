use crate::{
    blocking_runtime::BlockingRuntime, AccountKey, AccountKeyCredential,
    MixedRealityTokenCredential, MixedRealityTokenCredentialOptions,
};
use azure_core::credentials::{AccessToken, TokenCredential};
use mr_auth_core::{AccountDomain, AccountId, Error, MixedRealityStsClientOptions};
use std::{fmt, sync::Arc};

/// The caching [`MixedRealityTokenCredential`] for synchronous code: same cache, same single
/// STS request for any number of waiting threads, behind a blocking
/// [`get_token`](Self::get_token).
///
/// It owns a small private tokio runtime (one worker thread), which also runs the background
/// refresh ahead of expiry. Use it from `fn main()` or any thread that is not running async
/// code; called from inside an async runtime it returns an
/// [`ErrorKind::InvalidInput`](mr_auth_core::ErrorKind) error instead of blocking that runtime.
///
/// ```no_run
/// use mr_auth_credentials::{AccountKey, BlockingMixedRealityTokenCredential};
///
/// fn main() -> Result<(), mr_auth_core::Error> {
///     let credential = BlockingMixedRealityTokenCredential::with_account_key(
///         "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
///         "eastus2.mixedreality.azure.com".parse()?,
///         AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY").unwrap_or_default())?,
///         None,
///         None,
///     )?;
///     let token = credential.get_token()?; // cached until shortly before it expires
///     println!("expires on {}", token.expires_on);
///     Ok(())
/// }
/// ```
pub struct BlockingMixedRealityTokenCredential {
    credential: Arc<MixedRealityTokenCredential>,
    runtime: BlockingRuntime,
}

impl BlockingMixedRealityTokenCredential {
    /// Builds the STS client over `credential` (account key or Azure AD) and the caching
    /// credential over it; the arguments are those of
    /// [`MixedRealityTokenCredential::from_credential`].
    pub fn new(
        account_id: AccountId,
        account_domain: AccountDomain,
        credential: Arc<dyn TokenCredential>,
        sts_options: Option<MixedRealityStsClientOptions>,
        options: Option<MixedRealityTokenCredentialOptions>,
    ) -> Result<Arc<Self>, Error> {
        let runtime = BlockingRuntime::new()?;
        let credential = {
            let _runtime = runtime.handle().enter();
            MixedRealityTokenCredential::from_credential(
                account_id,
                account_domain,
                credential,
                sts_options,
                options,
            )?
        };
        Ok(Arc::new(Self {
            credential,
            runtime,
        }))
    }

    /// The blocking credential for an account key.
    pub fn with_account_key(
        account_id: AccountId,
        account_domain: AccountDomain,
        key: AccountKey,
        sts_options: Option<MixedRealityStsClientOptions>,
        options: Option<MixedRealityTokenCredentialOptions>,
    ) -> Result<Arc<Self>, Error> {
        let credential = AccountKeyCredential::new(account_id, key);
        Self::new(account_id, account_domain, credential, sts_options, options)
    }

    /// The Mixed Reality access token: from the cache when fresh, otherwise from the STS,
    /// blocking until it arrives.
    pub fn get_token(&self) -> Result<AccessToken, Error> {
        self.runtime.block_on(
            "BlockingMixedRealityTokenCredential::get_token",
            self.credential.get_mixed_reality_token(),
        )?
    }

    /// Drops the cached token, so the next call asks the STS.
    pub fn clear_cache(&self) {
        self.credential.clear_cache();
    }

    /// The async credential underneath, sharing this one's cache (for code that has both
    /// synchronous and async parts; use it only from async code).
    pub fn as_async(&self) -> &Arc<MixedRealityTokenCredential> {
        &self.credential
    }
}

impl fmt::Debug for BlockingMixedRealityTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingMixedRealityTokenCredential")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}
