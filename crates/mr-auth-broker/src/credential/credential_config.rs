use super::{
    additionally_allowed_tenants::AdditionallyAllowedTenants,
    authentication_record::AuthenticationRecord,
    interactive_browser_broker_credential_options::InteractiveBrowserBrokerCredentialOptions,
    interactive_step::{device_code_flow, InteractiveStep},
};
use crate::{
    error::{Error, Result},
    oauth::{
        AuthorityClient, AuthorityHost, ClientId, InteractiveBrowserFlow, TenantId, TokenEndpoint,
    },
    platform::{ParentWindowHandle, PlatformBroker},
    EnvironmentSource, ProcessEnvironment, TokenCachePersistenceOptions,
};
use mr_auth_core::{Clock, SystemClock};
use std::{fmt, ops::RangeInclusive, sync::Arc, time::Duration};

/// Tokens count as expired this long before `expires_on`: in memory, and when a stored
/// access token is looked for.
pub(crate) const EXPIRY_BUFFER: Duration = Duration::from_secs(5 * 60);

/// The loopback ports the browser flow tries, in order, when the redirect URI fixes none (as
/// azure-identity's browser credential did before MSAL chose ports; Entra ID accepts any
/// port of a registered `http://localhost`).
const LOOPBACK_PORTS: RangeInclusive<u16> = 8400..=8999;

/// What a credential takes from its surroundings: the clock and the environment. The process's
/// own by default; tests inject theirs (crate-private, or `test_util` with `test-util`).
#[derive(Clone)]
pub(crate) struct Surroundings {
    /// The source of "now" for token expiry.
    pub(crate) clock: Arc<dyn Clock>,
    /// `AZURE_AUTHORITY_HOST`, and where the persistent cache is kept (`HOME`,
    /// `LOCALAPPDATA`, `DBUS_SESSION_BUS_ADDRESS`).
    pub(crate) environment: Arc<dyn EnvironmentSource>,
}

impl Default for Surroundings {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            environment: Arc::new(ProcessEnvironment),
        }
    }
}

/// The credential's options, validated once, at construction.
pub(crate) struct CredentialConfig {
    pub(crate) client_id: ClientId,
    pub(crate) tenant_id: TenantId,
    pub(crate) authority: AuthorityHost,
    pub(crate) additionally_allowed_tenants: AdditionallyAllowedTenants,
    pub(crate) parent_window_handle: Option<ParentWindowHandle>,
    pub(crate) use_default_broker_account: bool,
    pub(crate) enable_msa_passthrough: bool,
    pub(crate) disable_automatic_authentication: bool,
    pub(crate) disable_instance_discovery: bool,
    pub(crate) login_hint: Option<String>,
    /// The configured broker redirect URI; `None` means the broker's own default.
    pub(crate) broker_redirect_uri: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) broker: Option<Arc<dyn PlatformBroker>>,
    pub(crate) flow: InteractiveBrowserFlow,
    /// What signs the user in when the silent steps cannot.
    pub(crate) interactive: InteractiveStep,
    pub(crate) token_endpoint: TokenEndpoint,
    /// Every request to the authority goes through it (the token endpoint's, the device code
    /// flow's): bounded tries, each grant retried only as it may be sent again.
    pub(crate) authority_client: AuthorityClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) environment: Arc<dyn EnvironmentSource>,
    /// The authority host's host name, lower-cased: the `environment` of cache entries, as
    /// MSAL names it (without a port).
    pub(crate) authority_name: String,
    /// The authority host as the in-memory cache keys name it (its `Display` form).
    pub(crate) authority_key: Arc<str>,
    pub(crate) cache_persistence_options: Option<TokenCachePersistenceOptions>,
    pub(crate) authentication_record: Option<AuthenticationRecord>,
}

impl CredentialConfig {
    /// Checks what the option types cannot (timeout, login hint, the record) and resolves the
    /// defaults (authority host, broker).
    pub(crate) fn new(
        options: InteractiveBrowserBrokerCredentialOptions,
        surroundings: Surroundings,
    ) -> Result<Self> {
        check_timeout_and_hint(&options)?;
        let authority = match options.authority {
            Some(host) => host,
            None => AuthorityHost::resolve(
                options.client_options.cloud.as_deref(),
                &*surroundings.environment,
            )?,
        };
        let (browser_redirect_uri, broker_redirect_uri) = match &options.redirect_uri {
            Some(uri) => match uri.loopback() {
                Some(url) => (Some(url.clone()), None),
                None => (None, Some(uri.as_str().to_owned())),
            },
            None => (None, None),
        };
        let authority_key = Arc::from(authority.to_string());
        let authority_name = authority
            .url()
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(record) = &options.authentication_record {
            check_record(record, &options.client_id, &authority)?;
        }
        let authority_client =
            AuthorityClient::new(options.client_options, options.request_timeout);
        let token_endpoint =
            TokenEndpoint::new(authority_client.clone(), surroundings.clock.clone());
        let flow = InteractiveBrowserFlow {
            authority_host: authority.clone(),
            client_id: options.client_id.clone(),
            redirect_uri: browser_redirect_uri,
            port_range: LOOPBACK_PORTS,
            timeout: options.timeout,
            login_hint: options.login_hint.clone(),
            authorize_url_handler: options.authorize_url_handler,
            token_endpoint: token_endpoint.clone(),
        };
        let fallback = options.device_code_fallback.map(|prompt| {
            let flow = device_code_flow(
                &authority,
                &options.client_id,
                Some(options.timeout),
                prompt,
                &authority_client,
                &surroundings.clock,
            );
            Box::new(flow)
        });
        Ok(Self {
            interactive: InteractiveStep::BrokerOrBrowser {
                device_code_fallback: fallback,
            },
            authority_client,
            client_id: options.client_id,
            tenant_id: options.tenant_id,
            authority,
            additionally_allowed_tenants: options.additionally_allowed_tenants,
            parent_window_handle: options.parent_window_handle,
            use_default_broker_account: options.use_default_broker_account,
            enable_msa_passthrough: options.enable_msa_passthrough,
            disable_automatic_authentication: options.disable_automatic_authentication,
            disable_instance_discovery: options.disable_instance_discovery,
            login_hint: options.login_hint,
            broker_redirect_uri,
            timeout: options.timeout,
            broker: options.broker.resolve(),
            flow,
            token_endpoint,
            clock: surroundings.clock,
            environment: surroundings.environment,
            authority_name,
            authority_key,
            cache_persistence_options: options.cache_persistence_options,
            authentication_record: options.authentication_record,
        })
    }
}

fn check_timeout_and_hint(options: &InteractiveBrowserBrokerCredentialOptions) -> Result<()> {
    if options.timeout.is_zero() {
        return Err(Error::invalid_input("timeout must be more than zero"));
    }
    if options.request_timeout.is_zero() {
        return Err(Error::invalid_input(
            "request_timeout must be more than zero",
        ));
    }
    if let Some(hint) = &options.login_hint {
        if hint.trim().is_empty() || hint.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "login_hint must be a user name such as someone@contoso.com",
            ));
        }
    }
    Ok(())
}

/// A record must be of this client and this authority (host and port): its account's refresh
/// token goes only to the authority it came from.
fn check_record(
    record: &AuthenticationRecord,
    client_id: &ClientId,
    authority: &AuthorityHost,
) -> Result<()> {
    if !record
        .client_id()
        .as_str()
        .eq_ignore_ascii_case(client_id.as_str())
    {
        return Err(Error::invalid_input(format!(
            "authentication_record is for client id {}, but the credential's client_id is {client_id}; use the record's client id, or sign in again with this one",
            record.client_id(),
        )));
    }
    if !record.is_of(authority) {
        return Err(Error::invalid_input(format!(
            "authentication_record was made at the authority {}, but the credential's authority is {}; its refresh token is sent only where it came from: use the record's authority host (and port), or sign in again with this one",
            record.authority(),
            authority.record_authority(),
        )));
    }
    Ok(())
}

impl fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("authority", &self.authority.to_string())
            .field("broker", &self.broker)
            .finish_non_exhaustive()
    }
}

/// For the unit tests of the credential's parts: `options` checked in an empty environment
/// (no `AZURE_AUTHORITY_HOST`, no home directory), with the system clock.
#[cfg(test)]
impl CredentialConfig {
    pub(crate) fn for_test(options: InteractiveBrowserBrokerCredentialOptions) -> Self {
        let surroundings = Surroundings {
            environment: Arc::new([("UNSET", "")]),
            ..Surroundings::default()
        };
        Self::new(options, surroundings).expect("valid test options")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{error::ErrorKind, oauth::RedirectUri};

    fn config(o: InteractiveBrowserBrokerCredentialOptions) -> Result<CredentialConfig> {
        CredentialConfig::new(
            o,
            Surroundings {
                environment: Arc::new([("AZURE_AUTHORITY_HOST", "https://login.example.com")]),
                ..Surroundings::default()
            },
        )
    }

    #[test]
    fn construction_validates_what_the_types_cannot() {
        let cases: Vec<InteractiveBrowserBrokerCredentialOptions> = vec![
            InteractiveBrowserBrokerCredentialOptions {
                timeout: Duration::ZERO,
                ..Default::default()
            },
            InteractiveBrowserBrokerCredentialOptions {
                request_timeout: Duration::ZERO,
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
    fn the_authority_option_wins_over_cloud_and_environment() {
        let c = config(InteractiveBrowserBrokerCredentialOptions {
            authority: Some(AuthorityHost::new("https://login.microsoftonline.us").unwrap()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.authority.to_string(), "https://login.microsoftonline.us");
        let c = config(InteractiveBrowserBrokerCredentialOptions::default()).unwrap();
        assert_eq!(c.authority.to_string(), "https://login.example.com");
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
        let c = config(InteractiveBrowserBrokerCredentialOptions::default()).unwrap();
        assert_eq!(c.flow.port_range, 8400..=8999);
    }
}
