//! The platform brokers: the [`PlatformBroker`] trait the credential signs in through, the
//! choice of broker ([`BrokerMode`]), what a request hands the OS (parent window,
//! proof-of-possession parameters), and the brokers themselves: WAM ([`wam`]) and the
//! Microsoft identity broker on Linux ([`linux`]).

mod broker_mode;
#[cfg(target_os = "linux")]
mod linux;
mod parent_window_handle;
mod platform_broker;
mod pop_parameters;
mod wam;

pub use broker_mode::BrokerMode;
#[cfg(target_os = "linux")]
pub use linux::{LinuxBroker, LinuxBrokerOptions};
pub use parent_window_handle::ParentWindowHandle;
pub use platform_broker::{
    default_platform_broker, BrokerAccount, BrokerRequest, BrokerToken, PlatformBroker,
};
pub use pop_parameters::{PopMethod, PopParameters};

#[cfg(target_os = "linux")]
pub(crate) use linux::account_for_home_account_id;
#[cfg(all(feature = "fuzzing", target_os = "linux"))]
pub(crate) use linux::fuzz_response as fuzz_linux_response;
#[cfg(feature = "fuzzing")]
pub(crate) use wam::fuzz_response as fuzz_wam_response;
#[cfg(windows)]
pub(crate) use wam::WamBroker;
