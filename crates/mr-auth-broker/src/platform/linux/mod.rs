//! The Microsoft identity broker on Linux (`microsoft-identity-broker`), over the D-Bus session
//! bus; see "Linux" in the broker spec.
//!
//! Split by concept, like the WAM module:
//! - the protocol's names and limits ([`protocol`]);
//! - request JSON ([`linux_token_request`]), the broker's answers: tokens
//!   ([`linux_token_response`]), errors ([`linux_broker_error`]), accounts
//!   ([`linux_accounts`]) and its version ([`linux_broker_version`]);
//! - the D-Bus calls and what their failures mean ([`broker_bus`]), the drop guard that
//!   cancels an abandoned interactive flow ([`interactive_cancel_guard`]);
//! - the [`PlatformBroker`](crate::PlatformBroker) itself ([`linux_broker`]).
//!
//! Every answer of the broker is untrusted input: its size is bounded before it is parsed and
//! every field is checked before it is used.
//!
//! Only the D-Bus connection is Linux-only: elsewhere [`unsupported_bus`] stands in for it, so
//! that [`LinuxBroker`] compiles on every platform and reports itself unavailable at run time.

#[cfg(target_os = "linux")]
mod broker_bus;
mod call_failure;
#[cfg(not(target_os = "linux"))]
mod unsupported_bus;
#[cfg(not(target_os = "linux"))]
use unsupported_bus as broker_bus;
mod interactive_cancel_guard;
mod linux_accounts;
mod linux_broker;
mod linux_broker_error;
mod linux_broker_version;
mod linux_token_request;
mod linux_token_response;
mod protocol;

pub use linux_broker::{LinuxBroker, LinuxBrokerOptions};

/// Runs the broker-answer parsers on arbitrary bytes (the `fuzzing` feature); never panics.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_response(data: &[u8]) {
    linux_token_response::fuzz(data);
    linux_accounts::fuzz(data);
    linux_broker_version::fuzz(data);
}
