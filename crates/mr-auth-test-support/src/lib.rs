//! Test fakes shared by the mr-auth crates' tests (`publish = false`, dev-dependency only).
//!
//! One module per fake, so each crate's tests take what they need and nothing is written twice:
//! the local CA and TLS front, scripted HTTP servers, `tracing` log capture for the
//! no-secrets tests, and the fake brokers. Nothing here is part of any published API.
//!
//! Each module beyond the always-present ones is behind a cargo feature, and each crate's
//! dev-dependency turns on what its tests use, so (for example) core's tests do not compile the
//! broker or D-Bus to get [`bounded()`]:
//!
//! | module | feature |
//! |---|---|
//! | [`bounded()`] (a time bound for every async test), [`gate`], [`LogCapture`] (`tracing` output as text, for the no-secrets tests), [`planted_files`] (named pipes and files of processes that are gone, for the local files tests), [`mod@bench`] (what the criterion benches measure with: a cache hit polled without a runtime, the thread's CPU time, several threads at once), [`instruction_counts`] (instructions per call under callgrind, repeatable on a busy machine) | always |
//! | `scripted_http`: a hyper server answering from a script | `scripted-http` |
//! | `fault_server`: a loopback HTTP server that stalls, drips, resets or never ends, for the clients' fault tests | `fault-server` |
//! | `mock_authority`: a loopback Entra ID (authorize, token and device code endpoints, PKCE, v1 tokens) | `mock-authority` |
//! | `cache_seed`: a home of the test's own and its persistent token cache, seeded with other apps' sign-ins (`TempHome`, `MockAccount::sign_in`) | `cache-seed` |
//! | `msal_python` (Linux only): the Python peer of the interop tests (MSAL, azure-identity) | `msal-python` |
//! | `fake_broker` (a scripted `PlatformBroker`), `chromium` (browser launchers, among them a real headless Chromium) | `broker` |
//! | `private_session_bus`, `fake_linux_broker`, `secret_service_session`, `hung_bus` (a socket that accepts and never answers) (Linux only) | `buses` |
//! | `TlsFront`: TLS on loopback in front of a plain-HTTP fake, with the emulator's `LocalCa` | `tls` |
//! | `azurite`: Microsoft's storage emulator, installed with npm and run over HTTPS | `azurite` |

#![forbid(unsafe_code)]

#[cfg(feature = "azurite")]
pub mod azurite;
pub mod bench;
pub mod bounded;
#[cfg(feature = "cache-seed")]
pub mod cache_seed;
#[cfg(feature = "broker")]
pub mod chromium;
#[cfg(feature = "broker")]
pub mod fake_broker;
#[cfg(all(target_os = "linux", feature = "buses"))]
pub mod fake_linux_broker;
#[cfg(feature = "fault-server")]
pub mod fault_server;
pub mod gate;
#[cfg(all(target_os = "linux", feature = "buses"))]
pub mod hung_bus;
pub mod instruction_counts;
pub mod log_capture;
#[cfg(feature = "mock-authority")]
pub mod mock_authority;
#[cfg(all(target_os = "linux", feature = "msal-python"))]
pub mod msal_python;
pub mod planted_files;
#[cfg(all(target_os = "linux", feature = "buses"))]
pub mod private_session_bus;
#[cfg(feature = "scripted-http")]
pub mod scripted_http;
#[cfg(all(target_os = "linux", feature = "buses"))]
pub mod secret_service_session;
#[cfg(feature = "tls")]
pub mod tls_front;

pub use bounded::{bounded, bounded_by, TEST_TIMEOUT};
#[cfg(feature = "cache-seed")]
pub use cache_seed::TempHome;
pub use log_capture::LogCapture;
#[cfg(feature = "tls")]
pub use tls_front::TlsFront;
