//! What tests of code built on this crate inject into an
//! [`InteractiveBrowserBrokerCredential`]: the clock its tokens expire by, and the
//! environment it reads (`AZURE_AUTHORITY_HOST`, and where the persistent cache is kept:
//! `HOME`, `LOCALAPPDATA`, `DBUS_SESSION_BUS_ADDRESS`). Not needed to use the credential: it
//! takes the system clock and the process environment.
//!
//! ```
//! # fn run() -> mr_auth_broker::Result<()> {
//! use std::sync::Arc;
//! use mr_auth_broker::test_util::{credential_with_hooks, EnvironmentVars, TestHooks};
//!
//! let credential = credential_with_hooks(
//!     None,
//!     TestHooks {
//!         clock: Arc::new(mr_auth_core::ManualClock::at_fixed_start()),
//!         environment: Arc::new(EnvironmentVars::new([("HOME", "/tmp/test-home")])),
//!     },
//! )?;
//! # let _ = credential; Ok(()) }
//! ```

use crate::{
    credential::Surroundings, EnvironmentSource, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, ProcessEnvironment, Result,
};
use mr_auth_core::{Clock, SystemClock};
use std::sync::Arc;

/// The clock and environment a credential takes; [`Default`] is what
/// [`InteractiveBrowserBrokerCredential::new`] uses.
#[derive(Debug, Clone)]
pub struct TestHooks {
    /// The source of "now" for token expiry (`mr_auth_core::ManualClock` in tests).
    pub clock: Arc<dyn Clock>,
    /// Where configuration read from the environment comes from.
    pub environment: Arc<dyn EnvironmentSource>,
}

impl Default for TestHooks {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            environment: Arc::new(ProcessEnvironment),
        }
    }
}

/// [`InteractiveBrowserBrokerCredential::new`] with `hooks` in place of the system clock and
/// the process environment.
///
/// # Errors
///
/// Those of [`InteractiveBrowserBrokerCredential::new`].
pub fn credential_with_hooks(
    options: Option<InteractiveBrowserBrokerCredentialOptions>,
    hooks: TestHooks,
) -> Result<Arc<InteractiveBrowserBrokerCredential>> {
    InteractiveBrowserBrokerCredential::with_surroundings(
        options.unwrap_or_default(),
        Surroundings {
            clock: hooks.clock,
            environment: hooks.environment,
        },
    )
}

/// An environment of given variables only (nothing of the process's).
#[derive(Debug, Clone, Default)]
pub struct EnvironmentVars(Vec<(String, String)>);

impl EnvironmentVars {
    /// These `(name, value)` pairs.
    pub fn new<N: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (N, V)>) -> Self {
        Self(
            vars.into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        )
    }
}

impl EnvironmentSource for EnvironmentVars {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}
