//! The D-Bus side where there is no Microsoft identity broker to reach: every platform but
//! Linux. [`BrokerBus::connect`] fails with [`ErrorKind::BrokerUnavailable`], so a
//! [`LinuxBroker`](crate::LinuxBroker) built here reports itself unavailable at run time (and
//! the credential uses the browser flow), as the house rule wants platform code to, instead of
//! not compiling.

use super::call_failure::CallFailure;
use crate::error::{Error, ErrorKind};
use std::time::Duration;

/// A connection to the broker's bus, which [`connect`](Self::connect) never makes here.
#[derive(Debug, Clone)]
pub(crate) struct BrokerBus;

/// Why: the broker runs on Linux only.
fn unsupported() -> Error {
    Error::new(
        ErrorKind::BrokerUnavailable,
        "the microsoft identity broker runs on linux only; on this platform sign in through the platform's own broker or the browser",
    )
}

impl BrokerBus {
    /// Always [`ErrorKind::BrokerUnavailable`].
    pub(crate) async fn connect(_address: Option<&str>) -> Result<Self, Error> {
        Err(unsupported())
    }

    /// Always [`ErrorKind::BrokerUnavailable`] (no connection is ever made to call on).
    pub(crate) async fn call(
        &self,
        _method: &str,
        _correlation_id: &str,
        _body: &str,
        _timeout: Option<Duration>,
    ) -> Result<String, CallFailure> {
        Err(CallFailure {
            error: unsupported(),
            connection_lost: false,
        })
    }
}
