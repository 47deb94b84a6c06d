//! Mixed Reality authentication for the Azure SDK for Rust.
//!
//! Mixed Reality services (Remote Rendering, Spatial Anchors, Object Anchors, and any
//! compatible or emulated service) do not accept an account key or an Entra ID token directly:
//! a client first exchanges one of those at the Mixed Reality **Security Token Service (STS)**
//! for a Mixed Reality access token, and sends *that* to the service. This crate is the one
//! dependency most applications need; it holds no logic of its own and re-exports the
//! workspace's crates.
//!
//! # Which credential do I need?
//!
//! | You have | You want | Use |
//! |---|---|---|
//! | an account id, domain and key | a Mixed Reality token, once | [`sts_client_with_account_key`] then [`MixedRealityStsClient::get_token`] |
//! | an account id, domain and key | a credential for a service client | [`MixedRealityTokenCredential::with_account_key`] |
//! | an Entra ID identity (developer tools, service principal, managed identity, workload identity) | a credential for a service client | an `azure_identity` credential + [`mixed_reality_credential_with_aad`] (feature `aad`) |
//! | a Mixed Reality token from your backend | a credential for a service client | [`StaticAccessTokenCredential`] |
//! | any of the above, decided at run time | a credential for a service client | [`get_mixed_reality_credential`] |
//! | synchronous code (CLI, game engine, FFI) | the same, without async | [`BlockingMixedRealityTokenCredential`], [`BlockingMixedRealityStsClient`] (feature `blocking`) |
//! | an Entra ID user at an interactive app or tool | an Entra ID token through the OS broker (WAM) or the browser (PoP only from a broker that can make it) | [`broker::InteractiveBrowserBrokerCredential`] (feature `broker`) |
//! | an Entra ID user on a machine without a browser (SSH, container, server) | an Entra ID token through a device code entered on another device | [`broker::DeviceCodeCredential`] (feature `broker`) |
//! | a developer signed in with `mr-auth login` (or azure-identity, MSAL) | an Entra ID token, silently, from the shared token cache | [`broker::SharedTokenCacheCredential`] (feature `broker`) |
//! | a local emulator or self-hosted STS | any of the above against it | [`MixedRealityStsClientOptions::custom_endpoint`] (and `extra_root_certificates_pem` for its CA) |
//!
//! [`MixedRealityTokenCredential`] is the credential to give a service client: it implements
//! `azure_core`'s [`TokenCredential`], caches the Mixed Reality token, refreshes it ahead of
//! expiry, makes one STS request however many callers wait, never hands out an expired token,
//! and keeps serving a still-valid token if a refresh fails. Scopes are ignored.
//!
//! # The workspace
//!
//! | Crate | Holds |
//! |---|---|
//! | `mr-auth-core` | the STS protocol: [`AccountId`], [`AccountDomain`], [`StsEndpoint`], [`CorrelationVector`], [`jwt_expires_on`], the typed [`Error`]/[`ErrorKind`], the async [`MixedRealityStsClient`], and the shared single-flight [`TokenCache`](mr_auth_core::TokenCache) with its injectable [`Clock`] (for tests: `test_util`, feature `test-util`) |
//! | `mr-auth-credentials` | [`AccountKeyCredential`], [`StaticAccessTokenCredential`], [`MixedRealityTokenCredential`], [`get_mixed_reality_credential`], the Azure AD adapter ([`mixed_reality_credential_with_aad`]), and with `blocking` the blocking client and credential |
//! | `mr-auth-msal-cache` | MSAL's token cache shared with MSAL for Python, .NET and Java: the cache document, its stores (Secret Service, DPAPI file, plaintext file) and MSAL's cross-process lock; its main types re-exported in [`broker`] ([`broker::PersistentTokenCache`]) |
//! | `mr-auth-broker` | [`broker::InteractiveBrowserBrokerCredential`]: Entra ID sign-in through the OS broker (WAM on Windows, the Microsoft identity broker on Linux) or the interactive browser flow; [`broker::DeviceCodeCredential`]: the device code sign-in; [`broker::SharedTokenCacheCredential`]: silent tokens from the sign-in `mr-auth login` (or another MSAL app) left in the shared token cache; and the pipeline policy for proof-of-possession tokens (which need a broker that can make them; `PopNeedsBroker` otherwise); re-exported as [`broker`] with the `broker` feature |
//! | `mr-auth-cli` | the `mr-auth` command line (token, decode, emulator) |
//! | `mr-auth-emulator` | a local STS emulator (TLS, signed tokens, fault injection) for tests and offline work |
//! | `mr-auth` (this crate) | re-exports of the above; `azure_identity` with `aad` |
//!
//! The sub-crates work on their own too: depend on `mr-auth-core` and `mr-auth-credentials`
//! directly if you prefer.
//!
//! # Features
//!
//! | Feature | Default | Turns on |
//! |---|---|---|
//! | `aad` | yes | the [`azure_identity`] re-export (with its tokio process executor), for Entra ID credentials |
//! | `blocking` | no | [`BlockingMixedRealityStsClient`] and [`BlockingMixedRealityTokenCredential`] |
//! | `broker` | no | the [`broker`] module: `mr-auth-broker`'s interactive and brokered Entra ID credential, and the silent one over the shared token cache |
//! | `test-util` | no | the `test_util` module, for tests of code built on this crate: `ManualClock` and the single-flight `TokenCache` |
//!
//! # Examples
//!
//! ## Account key: one token
//!
//! ```no_run
//! use mr_auth::{sts_client_with_account_key, AccountKey};
//!
//! # async fn run() -> Result<(), mr_auth::Error> {
//! let client = sts_client_with_account_key(
//!     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
//!     "eastus2.mixedreality.azure.com".parse()?, // the account's domain, not just "eastus2"
//!     AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY").unwrap_or_default())?,
//!     None,
//! )?;
//! let token = client.get_token().await?;
//! println!("expires on {}, MS-CV {:?}", token.access_token.expires_on, token.ms_cv);
//! # Ok(()) }
//! ```
//!
//! ## Account key: a credential for a service client
//!
//! ```no_run
//! use std::sync::Arc;
//! use mr_auth::{AccountKey, MixedRealityTokenCredential, TokenCredential};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let credential: Arc<dyn TokenCredential> = MixedRealityTokenCredential::with_account_key(
//!     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
//!     "eastus2.mixedreality.azure.com".parse()?,
//!     AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY")?)?,
//!     None,
//!     None,
//! )?;
//! // Give `credential` to the service client (for example through azure_core's
//! // BearerTokenAuthorizationPolicy); every call below after the first is served from the cache.
//! for _ in 0..3 {
//!     credential.get_token(&[], None).await?;
//! }
//! # Ok(()) }
//! ```
//!
//! ## Entra ID (Azure AD)
//!
//! The identity needs a Mixed Reality role on the account. The STS is asked for the regionless
//! scope `https://sts.mixedreality.azure.com//.default` ([`DEFAULT_AAD_SCOPE`]), which works in
//! every region; override it with [`MixedRealityStsClientOptions::aad_scope`].
//!
//! ```no_run
//! # #[cfg(feature = "aad")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mr_auth::{azure_identity::DeveloperToolsCredential, mixed_reality_credential_with_aad};
//!
//! let credential = mixed_reality_credential_with_aad(
//!     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
//!     "eastus2.mixedreality.azure.com".parse()?,
//!     DeveloperToolsCredential::new(None)?, // `az login` or `azd auth login` first
//!     None,
//!     None,
//! )?;
//! let token = credential.get_mixed_reality_token().await?;
//! println!("expires on {}", token.expires_on);
//! # Ok(()) }
//! ```
//!
//! ## A token obtained elsewhere
//!
//! ```no_run
//! use mr_auth::{AccessToken, Secret, StaticAccessTokenCredential};
//!
//! # fn run(token_from_backend: String, expires_on: time::OffsetDateTime) {
//! let credential = StaticAccessTokenCredential::new(AccessToken::new(
//!     Secret::new(token_from_backend),
//!     expires_on,
//! ));
//! # let _ = credential; }
//! ```
//!
//! ## Whatever the application was configured with
//!
//! ```no_run
//! use mr_auth::{get_mixed_reality_credential, AccountKey, AccountKeyCredential};
//!
//! # fn run() -> Result<(), mr_auth::Error> {
//! let account_id = "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?;
//! // A StaticAccessTokenCredential would be returned as it is; anything else is wrapped in a
//! // caching MixedRealityTokenCredential, custom endpoint included.
//! let credential = get_mixed_reality_credential(
//!     account_id,
//!     "eastus2.mixedreality.azure.com".parse()?,
//!     AccountKeyCredential::new(account_id, AccountKey::new("key")?),
//!     None,
//!     None,
//! )?;
//! # let _ = credential; Ok(()) }
//! ```
//!
//! ## A local emulator
//!
//! ```no_run
//! use mr_auth::{AccountKey, MixedRealityStsClientOptions, MixedRealityTokenCredential, StsEndpoint};
//!
//! # fn run(emulator_ca_pem: String) -> Result<(), mr_auth::Error> {
//! let options = MixedRealityStsClientOptions {
//!     // https, or plain http on loopback only
//!     custom_endpoint: Some(StsEndpoint::new("https://127.0.0.1:8443")?),
//!     extra_root_certificates_pem: vec![emulator_ca_pem],
//!     ..MixedRealityStsClientOptions::default()
//! };
//! let credential = MixedRealityTokenCredential::with_account_key(
//!     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
//!     "mixedreality.azure.com".parse()?,
//!     AccountKey::new("emulator-key")?,
//!     Some(options),
//!     None,
//! )?;
//! # let _ = credential; Ok(()) }
//! ```
//!
//! ## Synchronous code
//!
//! ```no_run
//! # #[cfg(feature = "blocking")]
//! fn main() -> Result<(), mr_auth::Error> {
//!     use mr_auth::{AccountKey, BlockingMixedRealityTokenCredential};
//!
//!     let credential = BlockingMixedRealityTokenCredential::with_account_key(
//!         "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
//!         "eastus2.mixedreality.azure.com".parse()?,
//!         AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY").unwrap_or_default())?,
//!         None,
//!         None,
//!     )?;
//!     let token = credential.get_token()?; // an error, not a deadlock, inside an async runtime
//!     println!("expires on {}", token.expires_on);
//!     Ok(())
//! }
//! # #[cfg(not(feature = "blocking"))]
//! # fn main() {}
//! ```
//!
//! # Errors
//!
//! Every fallible call returns [`Error`]; match on [`Error::kind`] ([`ErrorKind`]) to tell an
//! authentication failure from throttling or a service error, and quote [`Error::ms_cv`] to
//! support. At the [`TokenCredential`] boundary the error becomes an `azure_core::Error` whose
//! source is still the [`Error`] (`downcast_ref::<mr_auth::Error>()`).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use mr_auth_core::{
    decode_jwt_unverified, jwt_expires_on, AccountDomain, AccountId, Clock, CorrelationVector,
    Error, ErrorKind, Expiring, FetchedTokenExpired, JwtError, MixedRealityStsClient,
    MixedRealityStsClientOptions, StsEndpoint, StsRetryOptions, StsToken, StsTokenRequestOptions,
    SystemClock, TokenCacheOptions, UnverifiedJwt, DEFAULT_AAD_SCOPE,
    DEFAULT_MAX_CONNECTIONS_PER_HOST, MAX_RESPONSE_BYTES, STS_API_VERSION,
};

/// What tests of code built on this crate use: a [`ManualClock`](test_util::ManualClock) to
/// inject as the [`Clock`] of [`MixedRealityTokenCredentialOptions`], and the single-flight
/// [`TokenCache`](test_util::TokenCache) the caching credentials are built on, to test a cache
/// of your own tokens the same way. Not needed to use the credentials.
///
/// ```
/// # #[cfg(feature = "test-util")] {
/// use std::{sync::Arc, time::Duration};
/// use mr_auth::{test_util::ManualClock, Clock, MixedRealityTokenCredentialOptions};
///
/// let clock = Arc::new(ManualClock::at_fixed_start());
/// let options = MixedRealityTokenCredentialOptions {
///     clock: clock.clone(),
///     ..MixedRealityTokenCredentialOptions::default()
/// };
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(options.clock.now(), start + Duration::from_secs(3600));
/// # }
/// ```
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util {
    #[doc(inline)]
    pub use mr_auth_core::{
        Expiring, FetchedTokenExpired, ManualClock, TokenCache, TokenCacheOptions,
    };
}

#[doc(inline)]
pub use mr_auth_credentials::{
    get_mixed_reality_credential, mixed_reality_credential_with_aad, sts_client_with_account_key,
    AccountKey, AccountKeyCredential, MixedRealityCredentialSource, MixedRealityTokenCredential,
    MixedRealityTokenCredentialOptions, StaticAccessTokenCredential,
};

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
#[doc(inline)]
pub use mr_auth_credentials::{BlockingMixedRealityStsClient, BlockingMixedRealityTokenCredential};

/// The `azure_core` types a caller of this crate handles directly.
#[doc(no_inline)]
pub use azure_core::credentials::{AccessToken, Secret, TokenCredential};

/// `azure_core`, re-exported so its version always matches this crate's.
#[doc(no_inline)]
pub use azure_core;

/// `azure_identity`, re-exported so its version always matches this crate's: its credentials
/// (`DeveloperToolsCredential`, `ClientSecretCredential`, `ManagedIdentityCredential`,
/// `WorkloadIdentityCredential`, ...) authenticate to the STS when given to
/// [`MixedRealityStsClient::new`] or [`mixed_reality_credential_with_aad`].
#[cfg(feature = "aad")]
#[cfg_attr(docsrs, doc(cfg(feature = "aad")))]
#[doc(no_inline)]
pub use azure_identity;

/// Brokered and interactive Entra ID sign-in: `mr-auth-broker`, whose
/// [`InteractiveBrowserBrokerCredential`](broker::InteractiveBrowserBrokerCredential) and
/// [`SharedTokenCacheCredential`](broker::SharedTokenCacheCredential) (the sign-in of
/// `mr-auth login`, silently) are `azure_core` `TokenCredential`s usable with any Azure SDK
/// client, and with [`MixedRealityStsClient::new`] for Mixed Reality.
#[cfg(feature = "broker")]
#[cfg_attr(docsrs, doc(cfg(feature = "broker")))]
pub mod broker {
    #[doc(inline)]
    pub use mr_auth_broker::*;
}

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
