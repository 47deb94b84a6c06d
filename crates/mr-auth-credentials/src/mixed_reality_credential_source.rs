use crate::{
    AccountKeyCredential, MixedRealityTokenCredential, MixedRealityTokenCredentialOptions,
    StaticAccessTokenCredential,
};
use azure_core::credentials::TokenCredential;
use mr_auth_core::{AccountDomain, AccountId, Error, MixedRealityStsClientOptions};
use std::{fmt, sync::Arc};

/// What [`get_mixed_reality_credential`] is given: a Mixed Reality token obtained elsewhere, or
/// a credential the STS exchanges for one.
///
/// Converts from `Arc<StaticAccessTokenCredential>`, `Arc<AccountKeyCredential>` and
/// `Arc<dyn TokenCredential>`; for another concrete credential (an `azure_identity` one) write
/// `MixedRealityCredentialSource::Sts(credential)`.
#[derive(Clone)]
pub enum MixedRealityCredentialSource {
    /// A Mixed Reality access token obtained elsewhere: used as it is.
    Static(Arc<StaticAccessTokenCredential>),
    /// An account-key or Azure AD credential: exchanged at the STS.
    Sts(Arc<dyn TokenCredential>),
}

impl From<Arc<StaticAccessTokenCredential>> for MixedRealityCredentialSource {
    fn from(credential: Arc<StaticAccessTokenCredential>) -> Self {
        Self::Static(credential)
    }
}

impl From<Arc<AccountKeyCredential>> for MixedRealityCredentialSource {
    fn from(credential: Arc<AccountKeyCredential>) -> Self {
        Self::Sts(credential)
    }
}

impl From<Arc<dyn TokenCredential>> for MixedRealityCredentialSource {
    fn from(credential: Arc<dyn TokenCredential>) -> Self {
        Self::Sts(credential)
    }
}

impl fmt::Debug for MixedRealityCredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static(credential) => f.debug_tuple("Static").field(credential).finish(),
            Self::Sts(credential) => f.debug_tuple("Sts").field(credential).finish(),
        }
    }
}

/// The credential a Mixed Reality service client needs, from whatever the caller has (the
/// equivalent of the Azure SDKs' `get_mixedreality_credential`):
///
/// - a [`StaticAccessTokenCredential`] is returned unchanged (it already holds a Mixed Reality
///   token; the options are not used);
/// - anything else is wrapped in a caching [`MixedRealityTokenCredential`] over an STS client
///   built from `account_id`, `account_domain` and `sts_options`, **including its custom
///   endpoint** (which Python's helper drops).
///
/// ```no_run
/// use mr_auth_credentials::{get_mixed_reality_credential, AccountKey, AccountKeyCredential};
///
/// # fn run() -> Result<(), mr_auth_core::Error> {
/// let account_id = "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?;
/// let key = AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY").unwrap_or_default())?;
/// let credential = get_mixed_reality_credential(
///     account_id,
///     "eastus2.mixedreality.azure.com".parse()?,
///     AccountKeyCredential::new(account_id, key),
///     None,
///     None,
/// )?;
/// # let _ = credential; Ok(()) }
/// ```
pub fn get_mixed_reality_credential(
    account_id: AccountId,
    account_domain: AccountDomain,
    source: impl Into<MixedRealityCredentialSource>,
    sts_options: Option<MixedRealityStsClientOptions>,
    options: Option<MixedRealityTokenCredentialOptions>,
) -> Result<Arc<dyn TokenCredential>, Error> {
    match source.into() {
        MixedRealityCredentialSource::Static(credential) => Ok(credential),
        MixedRealityCredentialSource::Sts(credential) => {
            let credential = MixedRealityTokenCredential::from_credential(
                account_id,
                account_domain,
                credential,
                sts_options,
                options,
            )?;
            Ok(credential)
        }
    }
}
