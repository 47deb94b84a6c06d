//! The platform brokers: the [`PlatformBroker`] trait the credential signs in through, the
//! choice of broker ([`BrokerMode`], [`default_platform_broker`]), what a request hands the
//! OS (parent window, proof-of-possession parameters), and the brokers themselves: WAM
//! ([`wam`]) and the Microsoft identity broker on Linux ([`linux`]).
//!
//! It builds on the OAuth client's values (`oauth/`) and names nothing of the credential
//! (`cargo xtask tidy` checks this): what the credential needs from a broker goes through the
//! trait.

mod broker_mode;
mod linux;
mod parent_window_handle;
mod platform_broker;
mod pop_parameters;
mod wam;

pub use broker_mode::{default_platform_broker, BrokerMode};
pub use linux::{LinuxBroker, LinuxBrokerOptions};
pub use parent_window_handle::ParentWindowHandle;
pub use platform_broker::{BrokerAccount, BrokerRequest, BrokerToken, PlatformBroker};
pub use pop_parameters::{PopMethod, PopParameters};

#[cfg(feature = "fuzzing")]
pub(crate) use linux::fuzz_response as fuzz_linux_response;
#[cfg(feature = "fuzzing")]
pub(crate) use wam::fuzz_response as fuzz_wam_response;
