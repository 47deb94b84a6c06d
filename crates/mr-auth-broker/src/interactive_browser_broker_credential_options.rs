use crate::{BrowserLauncher, ParentWindowHandle, PlatformBroker};
use azure_core::http::ClientOptions;
use mr_auth_core::{Clock, SystemClock};
use std::{fmt, ops::RangeInclusive, sync::Arc, time::Duration};

/// The default timeout of the interactive step, broker and browser alike: 300 seconds.
pub const DEFAULT_INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// The loopback ports the browser flow tries, in order, when `redirect_uri` fixes none.
pub const DEFAULT_LOOPBACK_PORTS: RangeInclusive<u16> = 8400..=8999;

/// Options of [`InteractiveBrowserBrokerCredential`](crate::InteractiveBrowserBrokerCredential).
///
/// Names and defaults follow the Python `InteractiveBrowserBrokerCredential`. Everything is
/// validated when the credential is built, with an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
/// (or [`ErrorKind::UnsupportedAuthority`](crate::ErrorKind::UnsupportedAuthority) for B2C)
/// error that names the bad value.
#[derive(Clone)]
pub struct InteractiveBrowserBrokerCredentialOptions {
    /// The app registration's client id. Default: the Azure CLI's public client
    /// (`04b07795-8ddb-461a-bbee-02f9e1bf7b46`), the developer sign-on default.
    pub client_id: Option<String>,
    /// The tenant. Default `organizations` (any work or school account).
    pub tenant_id: Option<String>,
    /// The authority host. Default: `client_options.cloud` when set, else the
    /// `AZURE_AUTHORITY_HOST` environment variable, else `https://login.microsoftonline.com`.
    /// Must be https (http only for loopback hosts).
    pub authority_host: Option<String>,
    /// Windows: the window the broker's dialog is parented to. With none, the console window,
    /// else the foreground window.
    pub parent_window_handle: Option<ParentWindowHandle>,
    /// Try the operating system's default account silently before showing any UI.
    pub use_default_broker_account: bool,
    /// Let personal Microsoft accounts be listed (first-party apps configured for it).
    pub enable_msa_passthrough: bool,
    /// Never show UI: when the silent steps fail, return
    /// [`ErrorKind::AuthenticationRequired`](crate::ErrorKind::AuthenticationRequired).
    pub disable_interactive_fallback: bool,
    /// Pre-fills the account in the sign-in UI.
    pub login_hint: Option<String>,
    /// The redirect URI. An `http://localhost[:port][/path]` URI is used by the browser flow
    /// (its port fixes the loopback port); any other scheme is the broker's. Defaults: broker
    /// `ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}`, browser `http://localhost:{port}`.
    pub redirect_uri: Option<String>,
    /// How long the interactive step may take. Default [`DEFAULT_INTERACTIVE_TIMEOUT`].
    pub timeout: Duration,
    /// Tenants besides `tenant_id` that a request may name; `"*"` allows any.
    pub additionally_allowed_tenants: Vec<String>,
    /// Do not ask the broker to validate the authority (private clouds, ADFS-like
    /// authorities). The browser flow never fetches instance metadata.
    pub disable_instance_discovery: bool,
    /// The ports the browser flow's loopback receiver tries when `redirect_uri` fixes none.
    /// Default [`DEFAULT_LOOPBACK_PORTS`] (8400-8999).
    pub loopback_ports: RangeInclusive<u16>,
    /// Opens the browser for the browser flow. Default: [`SystemBrowser`](crate::SystemBrowser).
    pub browser: Option<Arc<dyn BrowserLauncher>>,
    /// The platform broker. Default: [`default_platform_broker`](crate::default_platform_broker)
    /// (WAM on Windows, [`LinuxBroker`](crate::LinuxBroker) on Linux, none elsewhere). Tests
    /// inject a fake here.
    pub platform_broker: Option<Arc<dyn PlatformBroker>>,
    /// The HTTP pipeline options for the token endpoint (transport, retries, cloud).
    pub client_options: ClientOptions,
    /// The source of "now" for token expiry. Default: the system clock.
    pub clock: Arc<dyn Clock>,
}

impl Default for InteractiveBrowserBrokerCredentialOptions {
    fn default() -> Self {
        Self {
            client_id: None,
            tenant_id: None,
            authority_host: None,
            parent_window_handle: None,
            use_default_broker_account: false,
            enable_msa_passthrough: false,
            disable_interactive_fallback: false,
            login_hint: None,
            redirect_uri: None,
            timeout: DEFAULT_INTERACTIVE_TIMEOUT,
            additionally_allowed_tenants: Vec::new(),
            disable_instance_discovery: false,
            loopback_ports: DEFAULT_LOOPBACK_PORTS,
            browser: None,
            platform_broker: None,
            client_options: ClientOptions::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for InteractiveBrowserBrokerCredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractiveBrowserBrokerCredentialOptions")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("authority_host", &self.authority_host)
            .field("parent_window_handle", &self.parent_window_handle)
            .field(
                "use_default_broker_account",
                &self.use_default_broker_account,
            )
            .field("enable_msa_passthrough", &self.enable_msa_passthrough)
            .field(
                "disable_interactive_fallback",
                &self.disable_interactive_fallback,
            )
            .field("login_hint", &self.login_hint.as_ref().map(|_| "<set>"))
            .field("redirect_uri", &self.redirect_uri)
            .field("timeout", &self.timeout)
            .field(
                "additionally_allowed_tenants",
                &self.additionally_allowed_tenants,
            )
            .field(
                "disable_instance_discovery",
                &self.disable_instance_discovery,
            )
            .field("loopback_ports", &self.loopback_ports)
            .field("browser", &self.browser)
            .field("platform_broker", &self.platform_broker)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let o = InteractiveBrowserBrokerCredentialOptions::default();
        assert_eq!(o.timeout, Duration::from_secs(300));
        assert_eq!(o.loopback_ports, 8400..=8999);
        assert!(!o.use_default_broker_account && !o.enable_msa_passthrough);
        assert!(!o.disable_interactive_fallback && !o.disable_instance_discovery);
        assert!(o.additionally_allowed_tenants.is_empty());
    }

    #[test]
    fn debug_hides_the_login_hint() {
        let o = InteractiveBrowserBrokerCredentialOptions {
            login_hint: Some("someone@contoso.com".into()),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("someone@contoso.com"));
    }
}
