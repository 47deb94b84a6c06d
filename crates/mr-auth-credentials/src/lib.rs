//! Credentials for the Mixed Reality STS and for Mixed Reality services.
//!
//! - [`AccountKeyCredential`]: authenticates to the STS with an account key.
//! - [`StaticAccessTokenCredential`]: hands out a Mixed Reality token obtained elsewhere.
//! - [`sts_client_with_account_key`]: account id, domain and key straight to an STS client.
#![forbid(unsafe_code)]

mod account_key_credential;
mod static_access_token_credential;

pub use account_key_credential::{sts_client_with_account_key, AccountKey, AccountKeyCredential};
pub use static_access_token_credential::StaticAccessTokenCredential;
