//! Azure AD (Entra ID): any `azure_identity` credential as the STS client's credential.

use crate::{MixedRealityTokenCredential, MixedRealityTokenCredentialOptions};
use azure_core::credentials::TokenCredential;
use mr_auth_core::{
    AccountDomain, AccountId, Error, MixedRealityStsClient, MixedRealityStsClientOptions,
};
use std::sync::Arc;

/// Builds an STS client that authenticates with an Azure AD credential: any `azure_identity`
/// credential (`DeveloperToolsCredential`, `ClientSecretCredential`,
/// `ManagedIdentityCredential`, `WorkloadIdentityCredential`, ...) or any other
/// [`TokenCredential`] producing Entra ID tokens.
///
/// The STS request carries `Bearer <AAD token>` for the regionless scope
/// [`DEFAULT_AAD_SCOPE`](mr_auth_core::DEFAULT_AAD_SCOPE)
/// (`https://sts.mixedreality.azure.com//.default`, which works for accounts in every region)
/// unless [`MixedRealityStsClientOptions::aad_scope`] overrides it. The identity needs a Mixed
/// Reality role (for example "Remote Rendering Client" or "Spatial Anchors Account Reader") on
/// the account.
///
/// ```no_run
/// use std::sync::Arc;
/// use azure_core::credentials::TokenCredential;
/// use mr_auth_credentials::sts_client_with_aad;
///
/// # async fn run(aad: Arc<dyn TokenCredential>) -> Result<(), mr_auth_core::Error> {
/// // `aad`: e.g. azure_identity::DeveloperToolsCredential::new(None)?
/// let client = sts_client_with_aad(
///     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
///     "eastus2.mixedreality.azure.com".parse()?,
///     aad,
///     None,
/// )?;
/// let token = client.get_token().await?;
/// # let _ = token; Ok(()) }
/// ```
pub fn sts_client_with_aad(
    account_id: AccountId,
    account_domain: AccountDomain,
    aad_credential: Arc<dyn TokenCredential>,
    options: Option<MixedRealityStsClientOptions>,
) -> Result<Arc<MixedRealityStsClient>, Error> {
    MixedRealityStsClient::new(account_id, account_domain, aad_credential, options)
}

/// Builds the caching [`MixedRealityTokenCredential`] over an Azure AD credential, as
/// [`sts_client_with_aad`] builds the client: the credential to hand to a Mixed Reality service
/// client when the application signs in with Entra ID.
pub fn mixed_reality_credential_with_aad(
    account_id: AccountId,
    account_domain: AccountDomain,
    aad_credential: Arc<dyn TokenCredential>,
    sts_options: Option<MixedRealityStsClientOptions>,
    options: Option<MixedRealityTokenCredentialOptions>,
) -> Result<Arc<MixedRealityTokenCredential>, Error> {
    let client = sts_client_with_aad(account_id, account_domain, aad_credential, sts_options)?;
    Ok(MixedRealityTokenCredential::new(client, options))
}
