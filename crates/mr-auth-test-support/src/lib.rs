//! Test fakes shared by the mr-auth crates' tests (`publish = false`, dev-dependency only).
//!
//! One module per fake, so each crate's tests take what they need and nothing is written twice:
//! the local CA and TLS front, scripted HTTP servers, `tracing` log capture for the
//! no-secrets tests, and the fake brokers. Nothing here is part of any published API.
//!
//! - [`mock_authority`]: a loopback Entra ID (authorize + token endpoints, PKCE, v1 tokens).
//! - [`chromium`] (feature `broker`): browser launchers for the broker credential, among them
//!   a real headless Chromium.
//! - [`scripted_http`]: the minimal HTTP server the mock authority runs on.
//! - [`azurite`] (feature `azurite`): Microsoft's storage emulator, installed with npm and run
//!   over HTTPS with bearer-token checks.

#![forbid(unsafe_code)]

#[cfg(feature = "azurite")]
pub mod azurite;
#[cfg(feature = "broker")]
pub mod chromium;
pub mod mock_authority;
pub mod scripted_http;
