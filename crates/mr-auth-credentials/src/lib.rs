//! Credentials for the Mixed Reality STS and for Mixed Reality services.
//!
//! To authenticate *to the STS*:
//!
//! - [`AccountKeyCredential`]: an account key ([`sts_client_with_account_key`] goes from
//!   account id, domain and key straight to an STS client);
//! - any Azure AD credential from `azure_identity` (given to
//!   [`MixedRealityStsClient::new`](mr_auth_core::MixedRealityStsClient::new), or
//!   [`mixed_reality_credential_with_aad`]), with the regionless scope by default.
//!
//! To authenticate *to a Mixed Reality service* (the credential a service client or an
//! `azure_core` bearer-token policy takes):
//!
//! - [`MixedRealityTokenCredential`]: exchanges at the STS and caches, with refresh ahead of
//!   expiry and one STS request for any number of concurrent callers;
//! - [`StaticAccessTokenCredential`]: a Mixed Reality token obtained elsewhere;
//! - [`get_mixed_reality_credential`]: picks between the two from what you have.
//!
//! With the `blocking` feature, [`BlockingMixedRealityStsClient`] and
//! [`BlockingMixedRealityTokenCredential`] serve synchronous code.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aad;
mod account_key_credential;
#[cfg(feature = "blocking")]
mod blocking_mixed_reality_sts_client;
#[cfg(feature = "blocking")]
mod blocking_mixed_reality_token_credential;
#[cfg(feature = "blocking")]
mod blocking_runtime;
mod mixed_reality_credential_source;
mod mixed_reality_token_credential;
mod static_access_token_credential;

pub use aad::mixed_reality_credential_with_aad;
pub use account_key_credential::{sts_client_with_account_key, AccountKeyCredential};
// The account key is core's type (the emulator accepts the same), re-exported beside the
// credential that takes it.
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub use blocking_mixed_reality_sts_client::BlockingMixedRealityStsClient;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub use blocking_mixed_reality_token_credential::BlockingMixedRealityTokenCredential;
pub use mixed_reality_credential_source::{
    get_mixed_reality_credential, MixedRealityCredentialSource,
};
pub use mixed_reality_token_credential::{
    MixedRealityTokenCredential, MixedRealityTokenCredentialOptions,
};
pub use mr_auth_core::AccountKey;
pub use static_access_token_credential::StaticAccessTokenCredential;
