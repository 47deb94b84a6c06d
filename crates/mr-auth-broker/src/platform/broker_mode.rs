use super::PlatformBroker;
use std::{fmt, sync::Arc};

/// Which broker, if any, the credential signs in through.
///
/// ```
/// use mr_auth_broker::{BrokerMode, InteractiveBrowserBrokerCredentialOptions};
///
/// // Sign in through the browser even where the OS has a broker (WAM on Windows).
/// let options = InteractiveBrowserBrokerCredentialOptions {
///     broker: BrokerMode::BrowserOnly,
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub enum BrokerMode {
    /// The broker of the platform this was built for
    /// ([`default_platform_broker`](crate::default_platform_broker)): WAM on Windows, the
    /// Microsoft identity broker on Linux; none elsewhere, which
    /// means the browser flow. Where the broker reports itself unavailable (WAM missing, the
    /// Linux broker not installed), the browser flow is used from then on.
    #[default]
    Platform,
    /// Never a broker: the interactive browser flow (and its refresh token) only. A
    /// proof-of-possession request then fails with
    /// [`ErrorKind::PopNeedsBroker`](crate::ErrorKind::PopNeedsBroker).
    BrowserOnly,
    /// This broker (an application's own, or a fake in tests).
    Custom(Arc<dyn PlatformBroker>),
}

impl BrokerMode {
    /// The broker this mode selects on this platform, if any.
    pub(crate) fn resolve(self) -> Option<Arc<dyn PlatformBroker>> {
        match self {
            Self::Platform => default_platform_broker(),
            Self::BrowserOnly => None,
            Self::Custom(broker) => Some(broker),
        }
    }
}

/// The broker of the platform this was built for, if it has one: what
/// [`BrokerMode::Platform`] selects.
///
/// - Windows: WAM (the Web Account Manager, through WinRT). Where WAM is missing (Windows
///   Server Core, locked-down hosts, Wine) it reports
///   [`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable) with the HRESULT,
///   and the credential uses the browser flow.
/// - Linux: the Microsoft identity broker over D-Bus ([`LinuxBroker`](crate::LinuxBroker), on
///   the session bus). Where it is missing (no session bus, nothing owns
///   `com.microsoft.identity.broker1`, a broker older than 2.0) it reports
///   [`ErrorKind::BrokerUnavailable`](crate::ErrorKind::BrokerUnavailable) with the reason,
///   and the credential uses the browser flow.
/// - Elsewhere: none, the browser flow is used.
pub fn default_platform_broker() -> Option<Arc<dyn PlatformBroker>> {
    #[cfg(windows)]
    {
        Some(Arc::new(super::wam::WamBroker::new()))
    }
    #[cfg(target_os = "linux")]
    {
        // The default options cannot fail validation.
        super::LinuxBroker::new(None)
            .ok()
            .map(|b| Arc::new(b) as Arc<dyn PlatformBroker>)
    }
    #[cfg(not(any(windows, target_os = "linux")))]
    {
        None
    }
}

impl fmt::Debug for BrokerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Platform => f.write_str("Platform"),
            Self::BrowserOnly => f.write_str("BrowserOnly"),
            Self::Custom(broker) => f.debug_tuple("Custom").field(broker).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_only_selects_no_broker_and_platform_the_default_one() {
        assert!(BrokerMode::BrowserOnly.resolve().is_none());
        assert_eq!(
            BrokerMode::Platform.resolve().is_some(),
            default_platform_broker().is_some()
        );
        assert_eq!(format!("{:?}", BrokerMode::default()), "Platform");
    }
}
