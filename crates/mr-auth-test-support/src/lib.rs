//! Test fakes shared by the mr-auth crates' tests (`publish = false`, dev-dependency only).
//!
//! One module per fake, so each crate's tests take what they need and nothing is written twice:
//! the local CA and TLS front, scripted HTTP servers, `tracing` log capture for the
//! no-secrets tests, and the fake brokers. Nothing here is part of any published API.
//!
//! - [`bounded()`]: a time bound for every async test.
//! - [`LogCapture`]: `tracing` output as text, for the no-secrets tests.
//! - [`TlsFront`]: TLS on loopback in front of a plain-HTTP fake, with a CA made for the test
//!   (the emulator's [`LocalCa`](mr_auth_emulator::LocalCa)).

#![forbid(unsafe_code)]

pub mod bounded;
pub mod log_capture;
pub mod tls_front;

pub use bounded::{bounded, bounded_by, TEST_TIMEOUT};
pub use log_capture::LogCapture;
pub use tls_front::TlsFront;
