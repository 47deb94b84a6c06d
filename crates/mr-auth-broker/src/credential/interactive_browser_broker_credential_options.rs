use super::{
    additionally_allowed_tenants::AdditionallyAllowedTenants,
    authentication_record::AuthenticationRecord,
};
use crate::{
    oauth::{
        AuthorityHost, AuthorizeUrlHandler, ClientId, DeviceCodePromptCallback, RedirectUri,
        TenantId, DEFAULT_REQUEST_TIMEOUT,
    },
    platform::{BrokerMode, ParentWindowHandle},
    TokenCachePersistenceOptions,
};
use azure_core::http::ClientOptions;
use std::{fmt, time::Duration};

/// The default timeout of the interactive step, broker and browser alike: 300 seconds.
pub const DEFAULT_INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Options of [`InteractiveBrowserBrokerCredential`](crate::InteractiveBrowserBrokerCredential).
///
/// Names and defaults follow the Python `InteractiveBrowserBrokerCredential` (its keyword
/// arguments, in Rust case); the three options Python does not have say why they are here.
/// Protocol values are the crate's validated types ([`ClientId`], [`TenantId`],
/// [`AuthorityHost`], [`RedirectUri`]), so a bad one is refused where it is parsed; the rest
/// (timeout, login hint, the record) is checked by
/// [`InteractiveBrowserBrokerCredential::new`](crate::InteractiveBrowserBrokerCredential::new)
/// with an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error that names it.
#[derive(Clone)]
pub struct InteractiveBrowserBrokerCredentialOptions {
    /// The app registration's client id. Default: the Azure CLI's public client
    /// ([`ClientId::DEVELOPER_SIGN_ON`]), the developer sign-on default.
    pub client_id: ClientId,
    /// The tenant. Default `organizations` (any work or school account).
    pub tenant_id: TenantId,
    /// The authority host (Python's `authority`). `None` (the default):
    /// [`AuthorityHost::resolve`] of `client_options.cloud` and the process environment
    /// (`AZURE_AUTHORITY_HOST`), else `https://login.microsoftonline.com`.
    pub authority: Option<AuthorityHost>,
    /// Windows: the window the broker's dialog is parented to. With none, the console window,
    /// else the foreground window.
    pub parent_window_handle: Option<ParentWindowHandle>,
    /// Try the operating system's default account silently before showing any UI.
    pub use_default_broker_account: bool,
    /// Let personal Microsoft accounts be listed (first-party apps configured for it).
    pub enable_msa_passthrough: bool,
    /// Never show UI from `get_token`: when the silent steps find no token, return
    /// [`ErrorKind::AuthenticationRequired`](crate::ErrorKind::AuthenticationRequired), whose
    /// message lists what each step said. Sign in with
    /// [`authenticate`](crate::InteractiveBrowserBrokerCredential::authenticate) instead.
    pub disable_automatic_authentication: bool,
    /// Pre-fills the account in the sign-in UI (a user name such as `someone@contoso.com`).
    pub login_hint: Option<String>,
    /// The redirect URI. A loopback one is the browser flow's (its port fixes the receiver's
    /// port); any other is the broker's. Defaults: broker
    /// `ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}` (WAM), browser
    /// `http://localhost:{port}` with the first free port of 8400-8999.
    pub redirect_uri: Option<RedirectUri>,
    /// How long the interactive step may take. Default [`DEFAULT_INTERACTIVE_TIMEOUT`].
    pub timeout: Duration,
    /// How long one request to the authority's token endpoint may take in all, from its first
    /// try to the last byte of the answer, waits between tries included. Default
    /// [`DEFAULT_REQUEST_TIMEOUT`]. Each try is also bounded (20 s, or this when shorter);
    /// transient failures of a refresh token grant (a refused or reset connection, 408, 429,
    /// 500, 502, 503, 504, a try's timeout) are retried at most 3 times with backoff, none
    /// starting 30 s or more after the first; an authorization code is sent again only when
    /// the authority cannot have received it (the connection was refused). So a silent
    /// `get_token` whose authority refuses connections fails within seconds, and one whose
    /// authority stalls within this bound, each naming the cause. Not a Python option.
    pub request_timeout: Duration,
    /// Tenants besides `tenant_id` that a request may name. Default: none.
    pub additionally_allowed_tenants: AdditionallyAllowedTenants,
    /// Do not ask the broker to validate the authority (private clouds, ADFS-like
    /// authorities). The browser flow never fetches instance metadata.
    pub disable_instance_discovery: bool,
    /// How the browser flow's authorize URL reaches the user. Default: the system browser.
    ///
    /// Not a Python option (Python always opens `webbrowser`): the library never prints, so a
    /// command-line tool on a headless machine needs it to show the URL.
    pub authorize_url_handler: AuthorizeUrlHandler,
    /// The broker to sign in through. Default [`BrokerMode::Platform`].
    ///
    /// Python has a credential per choice instead (`InteractiveBrowserBrokerCredential`,
    /// `InteractiveBrowserCredential`); [`BrokerMode::BrowserOnly`] is the second, and
    /// [`BrokerMode::Custom`] an application's own broker.
    pub broker: BrokerMode,
    /// The HTTP pipeline options for the token endpoint (transport, policies, cloud), as every
    /// `azure_identity` credential takes them. Its `retry` is not used: the credential retries
    /// itself, reading the whole answer in each try (see
    /// [`request_timeout`](Self::request_timeout)).
    pub client_options: ClientOptions,
    /// Keep the browser flow's tokens between processes, in the persistent cache that MSAL
    /// applications (azure-identity, the Azure CLI's MSAL) share: see
    /// [`TokenCachePersistenceOptions`] for where it is stored. `None` (the default): tokens
    /// live in this credential's memory only, and every new process signs in again.
    ///
    /// With it, every successful token response of the browser flow is merged into the cache
    /// (under its cross-process lock), and with an account known (an
    /// [`authentication_record`](Self::authentication_record), or after a sign-in)
    /// `get_token` first looks there: a valid access token needs no network, a refresh token
    /// needs no browser. With a platform broker the broker keeps its own tokens and this
    /// cache is not used.
    pub cache_persistence_options: Option<TokenCachePersistenceOptions>,
    /// The account signed in before, usually by
    /// [`InteractiveBrowserBrokerCredential::authenticate`](crate::InteractiveBrowserBrokerCredential::authenticate)
    /// in an earlier process (or by Python's azure-identity): with
    /// [`cache_persistence_options`](Self::cache_persistence_options) the first `get_token` of
    /// a new process is then silent for that account. Its client id must be `client_id`, and
    /// its authority the `authority` host's name
    /// ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) otherwise).
    pub authentication_record: Option<AuthenticationRecord>,
    /// Sign in with a device code where neither a platform broker nor a browser on this
    /// machine can be used, showing the code through this callback. `None` (the default):
    /// never; the browser flow runs wherever there is no broker.
    ///
    /// "No browser here" is [`Headless::detect`](crate::Headless::detect) of the credential's
    /// environment: a Linux session without a display (`DISPLAY` and `WAYLAND_DISPLAY`
    /// unset), or an SSH session (`SSH_CONNECTION`, `SSH_TTY`), in either case without
    /// `BROWSER`. The device code sign-in is bounded by [`timeout`](Self::timeout) too, and
    /// its tokens go where the browser flow's go (memory, and the persistent cache). Not a
    /// Python option: there an application picks `DeviceCodeCredential` itself.
    pub device_code_fallback: Option<DeviceCodePromptCallback>,
}

impl Default for InteractiveBrowserBrokerCredentialOptions {
    fn default() -> Self {
        Self {
            client_id: ClientId::default(),
            tenant_id: TenantId::default(),
            authority: None,
            parent_window_handle: None,
            use_default_broker_account: false,
            enable_msa_passthrough: false,
            disable_automatic_authentication: false,
            login_hint: None,
            redirect_uri: None,
            timeout: DEFAULT_INTERACTIVE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
            disable_instance_discovery: false,
            authorize_url_handler: AuthorizeUrlHandler::default(),
            broker: BrokerMode::default(),
            client_options: ClientOptions::default(),
            cache_persistence_options: None,
            authentication_record: None,
            device_code_fallback: None,
        }
    }
}

impl fmt::Debug for InteractiveBrowserBrokerCredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractiveBrowserBrokerCredentialOptions")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("authority", &self.authority)
            .field("parent_window_handle", &self.parent_window_handle)
            .field(
                "use_default_broker_account",
                &self.use_default_broker_account,
            )
            .field("enable_msa_passthrough", &self.enable_msa_passthrough)
            .field(
                "disable_automatic_authentication",
                &self.disable_automatic_authentication,
            )
            .field("login_hint", &self.login_hint.as_ref().map(|_| "<set>"))
            .field("redirect_uri", &self.redirect_uri)
            .field("timeout", &self.timeout)
            .field("request_timeout", &self.request_timeout)
            .field(
                "additionally_allowed_tenants",
                &self.additionally_allowed_tenants,
            )
            .field(
                "disable_instance_discovery",
                &self.disable_instance_discovery,
            )
            .field("authorize_url_handler", &self.authorize_url_handler)
            .field("broker", &self.broker)
            .field("cache_persistence_options", &self.cache_persistence_options)
            .field("authentication_record", &self.authentication_record)
            .field("device_code_fallback", &self.device_code_fallback)
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
        assert_eq!(o.client_id.as_str(), ClientId::DEVELOPER_SIGN_ON);
        assert_eq!(o.tenant_id.as_str(), "organizations");
        assert!(!o.use_default_broker_account && !o.enable_msa_passthrough);
        assert!(!o.disable_automatic_authentication && !o.disable_instance_discovery);
        assert_eq!(
            o.additionally_allowed_tenants,
            AdditionallyAllowedTenants::Listed(Vec::new())
        );
        assert!(matches!(o.broker, BrokerMode::Platform));
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
