//! Azure AD (Entra ID): any `azure_identity` credential as the STS client's credential.

use crate::{MixedRealityTokenCredential, MixedRealityTokenCredentialOptions};
use azure_core::credentials::TokenCredential;
use mr_auth_core::{AccountDomain, AccountId, Error, MixedRealityStsClientOptions};
use std::sync::Arc;

/// Builds the caching [`MixedRealityTokenCredential`] over an Azure AD credential: the
/// credential to hand to a Mixed Reality service client when the application signs in with
/// Entra ID.
///
/// `aad_credential` is any `azure_identity` credential (`DeveloperToolsCredential`,
/// `ClientSecretCredential`, `ManagedIdentityCredential`, `WorkloadIdentityCredential`, ...)
/// or any other [`TokenCredential`] producing Entra ID tokens. The STS request carries
/// `Bearer <AAD token>` for the regionless scope
/// [`DEFAULT_AAD_SCOPE`](mr_auth_core::DEFAULT_AAD_SCOPE)
/// (`https://sts.mixedreality.azure.com//.default`, which works for accounts in every region)
/// unless [`MixedRealityStsClientOptions::aad_scope`] overrides it. The identity needs a Mixed
/// Reality role (for example "Remote Rendering Client" or "Spatial Anchors Account Reader") on
/// the account. For the STS client alone, pass the AAD credential to
/// [`MixedRealityStsClient::new`](mr_auth_core::MixedRealityStsClient::new).
///
/// ```no_run
/// use std::sync::Arc;
/// use azure_core::credentials::TokenCredential;
/// use mr_auth_credentials::mixed_reality_credential_with_aad;
///
/// # async fn run(aad: Arc<dyn TokenCredential>) -> Result<(), Box<dyn std::error::Error>> {
/// // `aad`: e.g. azure_identity::DeveloperToolsCredential::new(None)?
/// let credential = mixed_reality_credential_with_aad(
///     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
///     "eastus2.mixedreality.azure.com".parse()?,
///     aad,
///     None,
///     None,
/// )?;
/// let token = credential.get_token(&[], None).await?;
/// # let _ = token; Ok(()) }
/// ```
pub fn mixed_reality_credential_with_aad(
    account_id: AccountId,
    account_domain: AccountDomain,
    aad_credential: Arc<dyn TokenCredential>,
    sts_options: Option<MixedRealityStsClientOptions>,
    options: Option<MixedRealityTokenCredentialOptions>,
) -> Result<Arc<MixedRealityTokenCredential>, Error> {
    MixedRealityTokenCredential::from_credential(
        account_id,
        account_domain,
        aad_credential,
        sts_options,
        options,
    )
}
