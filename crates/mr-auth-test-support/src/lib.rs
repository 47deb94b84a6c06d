//! Test fakes shared by the mr-auth crates' tests (`publish = false`, dev-dependency only).
//!
//! One module per fake, so each crate's tests take what they need and nothing is written twice:
//! the local CA and TLS front, scripted HTTP servers, `tracing` log capture for the
//! no-secrets tests, and the fake brokers. Nothing here is part of any published API.
//!
//! - [`bounded()`]: a time bound for every async test.
//! - [`fault_server`]: a loopback HTTP server that stalls, drips, resets or never ends, for
//!   the clients' fault tests.
//! - [`mock_authority`]: a loopback Entra ID (authorize + token endpoints, PKCE, v1 tokens).
//! - [`chromium`]: browser launchers for the broker credential, among them a real headless
//!   Chromium.
//! - [`azurite`] (feature `azurite`): Microsoft's storage emulator, installed with npm and run
//!   over HTTPS with bearer-token checks.
//! - [`LogCapture`]: `tracing` output as text, for the no-secrets tests.
//! - [`TlsFront`] (feature `tls`): TLS on loopback in front of a plain-HTTP fake, with a CA made for the test
//!   (the emulator's `LocalCa`).

#![forbid(unsafe_code)]

#[cfg(feature = "azurite")]
pub mod azurite;
pub mod bounded;
pub mod chromium;
pub mod fake_broker;
#[cfg(target_os = "linux")]
pub mod fake_linux_broker;
pub mod fault_server;
pub mod gate;
pub mod log_capture;
pub mod mock_authority;
#[cfg(target_os = "linux")]
pub mod private_session_bus;
pub mod scripted_http;
#[cfg(target_os = "linux")]
pub mod secret_service_session;
#[cfg(feature = "tls")]
pub mod tls_front;

pub use bounded::{bounded, bounded_by, TEST_TIMEOUT};
pub use log_capture::LogCapture;
#[cfg(feature = "tls")]
pub use tls_front::TlsFront;
