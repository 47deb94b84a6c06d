use crate::{
    AdditionallyAllowedTenants, AuthenticationRecord, AuthorityHost, AuthorizeUrlHandler,
    BrokerMode, CacheEnvironment, ClientId, ParentWindowHandle, RedirectUri, TenantId,
    TokenCachePersistenceOptions,
};
use azure_core::http::ClientOptions;
use mr_auth_core::{Clock, SystemClock};
use std::{fmt, ops::RangeInclusive, sync::Arc, time::Duration};

/// The default timeout of the interactive step, broker and browser alike: 300 seconds.
pub const DEFAULT_INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// The loopback ports the browser flow tries, in order, when `redirect_uri` fixes none.
pub const DEFAULT_LOOPBACK_PORTS: RangeInclusive<u16> = 8400..=8999;

/// Options of [`InteractiveBrowserBrokerCredential`](crate::InteractiveBrowserBrokerCredential).
///
/// Names and defaults follow the Python `InteractiveBrowserBrokerCredential`. Protocol values
/// are the crate's validated types ([`ClientId`], [`TenantId`], [`AuthorityHost`],
/// [`RedirectUri`]), so a bad one is refused where it is parsed; the rest (timeout, ports,
/// login hint) is checked by
/// [`InteractiveBrowserBrokerCredential::new`](crate::InteractiveBrowserBrokerCredential::new)
/// with an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error that names it.
#[derive(Clone)]
pub struct InteractiveBrowserBrokerCredentialOptions {
    /// The app registration's client id. Default: the Azure CLI's public client
    /// ([`ClientId::DEVELOPER_SIGN_ON`]), the developer sign-on default.
    pub client_id: ClientId,
    /// The tenant. Default `organizations` (any work or school account).
    pub tenant_id: TenantId,
    /// The authority host. `None` (the default): [`AuthorityHost::resolve`] of
    /// `client_options.cloud` and the process environment (`AZURE_AUTHORITY_HOST`), else
    /// `https://login.microsoftonline.com`.
    pub authority_host: Option<AuthorityHost>,
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
    /// Pre-fills the account in the sign-in UI (a user name such as `someone@contoso.com`).
    pub login_hint: Option<String>,
    /// The redirect URI. A loopback one is the browser flow's (its port fixes the receiver's
    /// port); any other is the broker's. Defaults: broker
    /// `ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}` (WAM), browser
    /// `http://localhost:{port}`.
    pub redirect_uri: Option<RedirectUri>,
    /// How long the interactive step may take. Default [`DEFAULT_INTERACTIVE_TIMEOUT`].
    pub timeout: Duration,
    /// Tenants besides `tenant_id` that a request may name. Default: none.
    pub additionally_allowed_tenants: AdditionallyAllowedTenants,
    /// Do not ask the broker to validate the authority (private clouds, ADFS-like
    /// authorities). The browser flow never fetches instance metadata.
    pub disable_instance_discovery: bool,
    /// The ports the browser flow's loopback receiver tries when `redirect_uri` fixes none.
    /// Default [`DEFAULT_LOOPBACK_PORTS`] (8400-8999).
    pub loopback_ports: RangeInclusive<u16>,
    /// How the browser flow's authorize URL reaches the user. Default: the system browser.
    pub authorize_url_handler: AuthorizeUrlHandler,
    /// The broker to sign in through. Default [`BrokerMode::Platform`].
    pub broker: BrokerMode,
    /// The HTTP pipeline options for the token endpoint (transport, retries, cloud).
    pub client_options: ClientOptions,
    /// The source of "now" for token expiry. Default: the system clock.
    pub clock: Arc<dyn Clock>,
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
    pub token_cache_persistence: Option<TokenCachePersistenceOptions>,
    /// The account signed in before, usually by
    /// [`InteractiveBrowserBrokerCredential::authenticate`](crate::InteractiveBrowserBrokerCredential::authenticate)
    /// in an earlier process (or by Python's azure-identity): with
    /// [`token_cache_persistence`](Self::token_cache_persistence) the first `get_token` of a
    /// new process is then silent for that account. Its client id must be `client_id`, and
    /// its authority `authority_host`'s host ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// otherwise).
    pub authentication_record: Option<AuthenticationRecord>,
    /// Where the persistent cache's store is looked for (home and local app data
    /// directories, the session bus of the Secret Service). `None` (the default):
    /// [`CacheEnvironment::from_env`], the process's own. Tests and applications that keep
    /// the cache elsewhere set it.
    pub cache_environment: Option<CacheEnvironment>,
}

impl Default for InteractiveBrowserBrokerCredentialOptions {
    fn default() -> Self {
        Self {
            client_id: ClientId::default(),
            tenant_id: TenantId::default(),
            authority_host: None,
            parent_window_handle: None,
            use_default_broker_account: false,
            enable_msa_passthrough: false,
            disable_interactive_fallback: false,
            login_hint: None,
            redirect_uri: None,
            timeout: DEFAULT_INTERACTIVE_TIMEOUT,
            additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
            disable_instance_discovery: false,
            loopback_ports: DEFAULT_LOOPBACK_PORTS,
            authorize_url_handler: AuthorizeUrlHandler::default(),
            broker: BrokerMode::default(),
            client_options: ClientOptions::default(),
            clock: Arc::new(SystemClock),
            token_cache_persistence: None,
            authentication_record: None,
            cache_environment: None,
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
            .field("authorize_url_handler", &self.authorize_url_handler)
            .field("broker", &self.broker)
            .field("token_cache_persistence", &self.token_cache_persistence)
            .field("authentication_record", &self.authentication_record)
            .field("cache_environment", &self.cache_environment)
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
        assert_eq!(o.client_id.as_str(), ClientId::DEVELOPER_SIGN_ON);
        assert_eq!(o.tenant_id.as_str(), "organizations");
        assert!(!o.use_default_broker_account && !o.enable_msa_passthrough);
        assert!(!o.disable_interactive_fallback && !o.disable_instance_discovery);
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
