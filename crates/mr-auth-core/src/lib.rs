//! The Mixed Reality Security Token Service (STS) protocol.
//!
//! This crate holds the protocol values ([`AccountId`], [`AccountKey`], [`AccountDomain`],
//! [`StsEndpoint`], [`CorrelationVector`]), the [`Clock`], reading a token's expiry
//! ([`jwt_expires_on`]), the typed [`Error`], the async [`MixedRealityStsClient`] that
//! exchanges an `azure_core` [`TokenCredential`](azure_core::credentials::TokenCredential) for a
//! Mixed Reality access token, the single-flight [`TokenCache`] shared by the caching
//! credentials, the [`EnvironmentSource`] through which the workspace's crates read environment
//! variables, the [`CallRequestId`] each try of a call sends before an `azure_core` pipeline
//! sees the request (so that the pipeline does not build an error, stack trace included, to
//! find the id missing), and the safe local file handling they share ([`read_regular_file`],
//! [`open_private_file`], [`replace_private_file`], [`ensure_private_directory`]: regular files
//! only, bounded, never blocking on a named pipe, no symbolic link followed where a file is
//! created, directories checked as ssh checks `~/.ssh`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use azure_core::credentials::TokenCredential;
//! use mr_auth_core::{AccountDomain, AccountId, MixedRealityStsClient};
//!
//! # async fn run(aad: Arc<dyn TokenCredential>) -> Result<(), mr_auth_core::Error> {
//! let client = MixedRealityStsClient::new(
//!     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse::<AccountId>()?,
//!     "eastus2.mixedreality.azure.com".parse::<AccountDomain>()?,
//!     aad,
//!     None,
//! )?;
//! let token = client.get_token().await?;
//! println!("expires on {}", token.access_token.expires_on);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) marks feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account_domain;
mod account_id;
mod account_key;
mod client_request_id;
mod clock;
mod control_characters;
mod correlation_vector;
mod environment_source;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod jwt;
mod local_file;
mod local_file_error;
mod outside_text;
mod private_directory;
mod response_body;
mod retry_loop;
mod retry_policy;
mod sts_client;
mod sts_endpoint;
mod sts_response;
mod tls_config;
mod token_cache;
mod transport_failure;

pub use account_domain::AccountDomain;
pub use account_id::AccountId;
pub use account_key::AccountKey;
pub use client_request_id::CallRequestId;
pub use clock::*;
pub use control_characters::without_control_characters;
pub use correlation_vector::CorrelationVector;
pub use environment_source::{EnvironmentMap, EnvironmentSource, ProcessEnvironment};
pub use error::{Error, ErrorKind};
pub use jwt::{
    decode_jwt_claims_unverified, decode_jwt_parts_unverified, decode_jwt_unverified,
    jwt_expires_on, JwtError, JwtParts, UnverifiedJwt,
};
pub use local_file::{
    open_private_file, open_regular_file, read_regular_file, remove_stale_temp_files,
    replace_private_file, STALE_TEMP_FILE_AGE,
};
pub use local_file_error::{LocalFileError, LocalFileErrorKind};
pub use outside_text::outside_text;
pub use private_directory::{
    check_directory_writable, ensure_private_directory, verify_private_directory,
};
pub use response_body::{read_bounded_body, BodyReadError};
pub use retry_loop::{run_with_retries, FailedTry, RetryProgress};
pub use retry_policy::{is_retryable_status, StsRetryOptions};
pub use sts_client::{
    MixedRealityStsClient, MixedRealityStsClientOptions, StsToken, StsTokenRequestOptions,
    DEFAULT_AAD_SCOPE, DEFAULT_MAX_CONNECTIONS_PER_HOST, MAX_RESPONSE_BYTES,
};
pub use sts_endpoint::{is_loopback_url, StsEndpoint};
pub use tls_config::{read_root_certificates_file, MAX_ROOT_CERTIFICATES_FILE_BYTES};
pub use token_cache::*;
pub use transport_failure::{
    describe_transport_failure, DescribedTransportFailure, TransportFailure,
};

/// The `api-version` query value of the STS token call. The service went GA under this
/// preview string and every SDK still sends it.
pub const STS_API_VERSION: &str = "2019-02-28-preview";
