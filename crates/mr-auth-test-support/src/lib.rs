//! Test fakes shared by the mr-auth crates' tests (`publish = false`, dev-dependency only).
//!
//! One module per fake, so each crate's tests take what they need and nothing is written twice:
//! the local CA and TLS front, scripted HTTP servers, `tracing` log capture for the
//! no-secrets tests, and the fake brokers. Nothing here is part of any published API.

#![forbid(unsafe_code)]

#[cfg(target_os = "linux")]
pub mod private_session_bus;
#[cfg(target_os = "linux")]
pub mod secret_service_session;
