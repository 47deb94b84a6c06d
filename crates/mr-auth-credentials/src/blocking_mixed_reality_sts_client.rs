use crate::blocking_runtime::BlockingRuntime;
use azure_core::credentials::TokenCredential;
use mr_auth_core::{
    AccountDomain, AccountId, Error, MixedRealityStsClient, MixedRealityStsClientOptions,
    StsEndpoint, StsToken,
};
use std::{fmt, sync::Arc};

/// The STS client for synchronous code (command-line tools, game-engine plugins, FFI): the same
/// exchange as [`MixedRealityStsClient`], behind a blocking [`get_token`](Self::get_token).
///
/// It owns a small private tokio runtime (one worker thread). Use it from `fn main()` or any
/// thread that is not running async code. Called from inside an async runtime (including a
/// `spawn_blocking` thread) it returns an [`ErrorKind::InvalidInput`](mr_auth_core::ErrorKind)
/// error instead of blocking that runtime; use [`MixedRealityStsClient`] there.
///
/// ```no_run
/// use mr_auth_credentials::{AccountKey, AccountKeyCredential, BlockingMixedRealityStsClient};
///
/// fn main() -> Result<(), mr_auth_core::Error> {
///     let account_id = "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?;
///     let key = AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY").unwrap_or_default())?;
///     let client = BlockingMixedRealityStsClient::new(
///         account_id,
///         "eastus2.mixedreality.azure.com".parse()?,
///         AccountKeyCredential::new(account_id, key),
///         None,
///     )?;
///     let token = client.get_token()?;
///     println!("expires on {}", token.access_token.expires_on);
///     Ok(())
/// }
/// ```
pub struct BlockingMixedRealityStsClient {
    client: Arc<MixedRealityStsClient>,
    runtime: BlockingRuntime,
}

impl BlockingMixedRealityStsClient {
    /// A client for one account; the arguments are those of [`MixedRealityStsClient::new`].
    pub fn new(
        account_id: AccountId,
        account_domain: AccountDomain,
        credential: Arc<dyn TokenCredential>,
        options: Option<MixedRealityStsClientOptions>,
    ) -> Result<Arc<Self>, Error> {
        let runtime = BlockingRuntime::new()?;
        let client = {
            let _runtime = runtime.handle().enter();
            MixedRealityStsClient::new(account_id, account_domain, credential, options)?
        };
        Ok(Arc::new(Self { client, runtime }))
    }

    /// Gets a fresh Mixed Reality access token from the STS, blocking until it arrives (no
    /// caching; see [`BlockingMixedRealityTokenCredential`](crate::BlockingMixedRealityTokenCredential)).
    pub fn get_token(&self) -> Result<StsToken, Error> {
        self.runtime.block_on(
            "BlockingMixedRealityStsClient::get_token",
            self.client.get_token(),
        )?
    }

    /// The account this client gets tokens for.
    pub fn account_id(&self) -> AccountId {
        self.client.account_id()
    }

    /// The STS endpoint in use.
    pub fn endpoint(&self) -> &StsEndpoint {
        self.client.endpoint()
    }
}

impl fmt::Debug for BlockingMixedRealityStsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingMixedRealityStsClient")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}
