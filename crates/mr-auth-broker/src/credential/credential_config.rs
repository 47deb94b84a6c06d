use crate::{
    msal_token_cache::same_environment,
    oauth::{InteractiveBrowserFlow, TokenEndpoint},
    AdditionallyAllowedTenants, AuthenticationRecord, AuthorityHost, CacheEnvironment, ClientId,
    EnvironmentSource, Error, InteractiveBrowserBrokerCredentialOptions, ParentWindowHandle,
    PlatformBroker, Result, TenantId, TokenCachePersistenceOptions,
};
use azure_core::http::Pipeline;
use mr_auth_core::Clock;
use std::{fmt, sync::Arc, time::Duration};

/// The credential's options, validated once, at construction.
pub(crate) struct CredentialConfig {
    pub(crate) client_id: ClientId,
    pub(crate) tenant_id: TenantId,
    pub(crate) authority_host: AuthorityHost,
    pub(crate) additionally_allowed_tenants: AdditionallyAllowedTenants,
    pub(crate) parent_window_handle: Option<ParentWindowHandle>,
    pub(crate) use_default_broker_account: bool,
    pub(crate) enable_msa_passthrough: bool,
    pub(crate) disable_interactive_fallback: bool,
    pub(crate) disable_instance_discovery: bool,
    pub(crate) login_hint: Option<String>,
    /// The configured broker redirect URI; `None` means the broker's own default.
    pub(crate) broker_redirect_uri: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) broker: Option<Arc<dyn PlatformBroker>>,
    pub(crate) flow: InteractiveBrowserFlow,
    pub(crate) token_endpoint: TokenEndpoint,
    pub(crate) clock: Arc<dyn Clock>,
    /// The authority host's host name, lower-cased: the `environment` of cache entries and
    /// the `authority` of records, as MSAL names it.
    pub(crate) environment: String,
    pub(crate) token_cache_persistence: Option<TokenCachePersistenceOptions>,
    pub(crate) cache_environment: CacheEnvironment,
    pub(crate) authentication_record: Option<AuthenticationRecord>,
}

impl CredentialConfig {
    /// Checks what the option types cannot (timeout, ports, login hint) and resolves the
    /// defaults (authority host, broker).
    pub(crate) fn new(
        options: InteractiveBrowserBrokerCredentialOptions,
        env: &dyn EnvironmentSource,
    ) -> Result<Self> {
        let authority_host = match options.authority_host {
            Some(host) => host,
            None => AuthorityHost::resolve(options.client_options.cloud.as_deref(), env)?,
        };
        if options.timeout.is_zero() {
            return Err(Error::invalid_input("timeout must be more than zero"));
        }
        if options.loopback_ports.is_empty() || *options.loopback_ports.start() == 0 {
            return Err(Error::invalid_input(
                "loopback_ports must be a non-empty range of non-zero ports",
            ));
        }
        if let Some(hint) = &options.login_hint {
            if hint.trim().is_empty() || hint.chars().any(char::is_control) {
                return Err(Error::invalid_input(
                    "login_hint must be a user name such as someone@contoso.com",
                ));
            }
        }
        let (browser_redirect_uri, broker_redirect_uri) = match &options.redirect_uri {
            Some(uri) => match uri.loopback() {
                Some(url) => (Some(url.clone()), None),
                None => (None, Some(uri.as_str().to_owned())),
            },
            None => (None, None),
        };
        let environment = authority_host
            .url()
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(record) = &options.authentication_record {
            if !record
                .client_id()
                .as_str()
                .eq_ignore_ascii_case(options.client_id.as_str())
            {
                return Err(Error::invalid_input(format!(
                    "authentication_record is for client id {}, but the credential's client_id is {}; use the record's client id, or sign in again with this one",
                    record.client_id(),
                    options.client_id
                )));
            }
            if !same_environment(record.authority(), &environment) {
                return Err(Error::invalid_input(format!(
                    "authentication_record was made at the authority {}, but the credential's authority host is {environment}; use the record's authority host, or sign in again with this one",
                    record.authority()
                )));
            }
        }
        let token_endpoint = TokenEndpoint::new(
            Pipeline::new(
                option_env!("CARGO_PKG_NAME"),
                option_env!("CARGO_PKG_VERSION"),
                options.client_options,
                Vec::new(),
                Vec::new(),
                None,
            ),
            options.clock.clone(),
        );
        let flow = InteractiveBrowserFlow {
            authority_host: authority_host.clone(),
            client_id: options.client_id.clone(),
            redirect_uri: browser_redirect_uri,
            port_range: options.loopback_ports,
            timeout: options.timeout,
            login_hint: options.login_hint.clone(),
            authorize_url_handler: options.authorize_url_handler,
            token_endpoint: token_endpoint.clone(),
        };
        Ok(Self {
            client_id: options.client_id,
            tenant_id: options.tenant_id,
            authority_host,
            additionally_allowed_tenants: options.additionally_allowed_tenants,
            parent_window_handle: options.parent_window_handle,
            use_default_broker_account: options.use_default_broker_account,
            enable_msa_passthrough: options.enable_msa_passthrough,
            disable_interactive_fallback: options.disable_interactive_fallback,
            disable_instance_discovery: options.disable_instance_discovery,
            login_hint: options.login_hint,
            broker_redirect_uri,
            timeout: options.timeout,
            broker: options.broker.resolve(),
            flow,
            token_endpoint,
            clock: options.clock,
            environment,
            token_cache_persistence: options.token_cache_persistence,
            cache_environment: options
                .cache_environment
                .unwrap_or_else(CacheEnvironment::from_env),
            authentication_record: options.authentication_record,
        })
    }
}

impl fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("authority_host", &self.authority_host.to_string())
            .field("broker", &self.broker)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, RedirectUri};

    fn config(o: InteractiveBrowserBrokerCredentialOptions) -> Result<CredentialConfig> {
        CredentialConfig::new(o, &[("AZURE_AUTHORITY_HOST", "https://login.example.com")])
    }

    #[test]
    fn construction_validates_what_the_types_cannot() {
        let cases: Vec<InteractiveBrowserBrokerCredentialOptions> = vec![
            InteractiveBrowserBrokerCredentialOptions {
                timeout: Duration::ZERO,
                ..Default::default()
            },
            #[allow(
                clippy::reversed_empty_ranges,
                reason = "an empty range is the case under test"
            )]
            InteractiveBrowserBrokerCredentialOptions {
                loopback_ports: 9000..=8999,
                ..Default::default()
            },
            InteractiveBrowserBrokerCredentialOptions {
                loopback_ports: 0..=10,
                ..Default::default()
            },
            InteractiveBrowserBrokerCredentialOptions {
                login_hint: Some(" ".into()),
                ..Default::default()
            },
            InteractiveBrowserBrokerCredentialOptions {
                login_hint: Some("a\nb".into()),
                ..Default::default()
            },
        ];
        for o in cases {
            let debug = format!("{o:?}");
            assert_eq!(
                config(o).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{debug}"
            );
        }
    }

    #[test]
    fn the_authority_host_option_wins_over_cloud_and_environment() {
        let c = config(InteractiveBrowserBrokerCredentialOptions {
            authority_host: Some(AuthorityHost::new("https://login.microsoftonline.us").unwrap()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            c.authority_host.to_string(),
            "https://login.microsoftonline.us"
        );
        let c = config(InteractiveBrowserBrokerCredentialOptions::default()).unwrap();
        assert_eq!(c.authority_host.to_string(), "https://login.example.com");
    }

    #[test]
    fn the_redirect_uri_goes_to_the_browser_flow_or_the_broker() {
        let c = config(InteractiveBrowserBrokerCredentialOptions {
            redirect_uri: Some(RedirectUri::new("http://localhost:8765/callback").unwrap()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.flow.redirect_uri.unwrap().port(), Some(8765));
        assert!(c.broker_redirect_uri.is_none());
        let c = config(InteractiveBrowserBrokerCredentialOptions {
            redirect_uri: Some(
                RedirectUri::new("ms-appx-web://Microsoft.AAD.BrokerPlugin/x").unwrap(),
            ),
            ..Default::default()
        })
        .unwrap();
        assert!(c.flow.redirect_uri.is_none());
        assert!(c.broker_redirect_uri.unwrap().starts_with("ms-appx-web://"));
    }
}
