use super::{
    additionally_allowed_tenants::AdditionallyAllowedTenants,
    authentication_record::AuthenticationRecord,
    interactive_browser_broker_credential_options::{
        InteractiveBrowserBrokerCredentialOptions, DEFAULT_INTERACTIVE_TIMEOUT,
    },
};
use crate::{
    oauth::{AuthorityHost, ClientId, TenantId, DEFAULT_REQUEST_TIMEOUT},
    platform::BrokerMode,
    TokenCachePersistenceOptions,
};
use azure_core::http::ClientOptions;
use std::{fmt, time::Duration};

/// Options of [`DeviceCodeCredential`](crate::DeviceCodeCredential): those of the Python
/// `DeviceCodeCredential` (its keyword arguments, in Rust case), except `prompt_callback`,
/// which [`DeviceCodeCredential::new`](crate::DeviceCodeCredential::new) takes as an argument
/// of its own (a device code sign-in cannot run without one: this library never prints).
///
/// The same as the options of
/// [`InteractiveBrowserBrokerCredential`](crate::InteractiveBrowserBrokerCredential) where
/// they apply; per-request options (claims, CAE, tenant) are the same
/// [`BrokerTokenRequestOptions`](crate::BrokerTokenRequestOptions).
#[derive(Clone)]
pub struct DeviceCodeCredentialOptions {
    /// The app registration's client id; it must allow public client flows. Default: the
    /// Azure CLI's public client ([`ClientId::DEVELOPER_SIGN_ON`]).
    pub client_id: ClientId,
    /// The tenant. Default `organizations` (any work or school account).
    pub tenant_id: TenantId,
    /// The authority host (Python's `authority`). `None` (the default):
    /// [`AuthorityHost::resolve`] of `client_options.cloud` and the process environment
    /// (`AZURE_AUTHORITY_HOST`), else `https://login.microsoftonline.com`.
    pub authority: Option<AuthorityHost>,
    /// Never sign in from `get_token`: when the silent steps find no token, return
    /// [`ErrorKind::AuthenticationRequired`](crate::ErrorKind::AuthenticationRequired). Sign in
    /// with [`authenticate`](crate::DeviceCodeCredential::authenticate) instead.
    pub disable_automatic_authentication: bool,
    /// How long to wait for the user to enter the code and sign in. `None` (the default): as
    /// long as the code is valid (Entra ID's codes last 15 minutes), which also prevails when
    /// it is shorter than this, as in azure-identity.
    pub timeout: Option<Duration>,
    /// Tenants besides `tenant_id` that a request may name. Default: none.
    pub additionally_allowed_tenants: AdditionallyAllowedTenants,
    /// How long one request to the authority may take in all (the devicecode request with its
    /// retries, a refresh token grant with its retries). Default [`DEFAULT_REQUEST_TIMEOUT`].
    /// Each try, and so each poll of the token endpoint, is also bounded (20 s, or this when
    /// shorter); a poll is never sent twice: the flow polls again after the interval.
    pub request_timeout: Duration,
    /// The HTTP pipeline options for the authority's endpoints (transport, policies, cloud).
    /// Its `retry` is not used: the credential retries transient failures itself, and never
    /// a poll.
    pub client_options: ClientOptions,
    /// Keep the tokens between processes, in the persistent cache that MSAL applications
    /// share (see [`TokenCachePersistenceOptions`]), exactly as the browser credential does:
    /// azure-identity's `DeviceCodeCredential` with the same cache name and client id reads
    /// them silently, and the reverse. `None` (the default): memory only.
    pub cache_persistence_options: Option<TokenCachePersistenceOptions>,
    /// The account signed in before (by this credential's
    /// [`authenticate`](crate::DeviceCodeCredential::authenticate), the browser credential's,
    /// or azure-identity's): with `cache_persistence_options`, a new process is silent for it.
    /// Its client id must be `client_id`, and its authority the `authority` host's name.
    pub authentication_record: Option<AuthenticationRecord>,
}

impl DeviceCodeCredentialOptions {
    /// The browser credential's options these amount to (no broker, nothing of the browser);
    /// the interactive step is then replaced by the device code flow.
    pub(crate) fn into_shared(self) -> InteractiveBrowserBrokerCredentialOptions {
        InteractiveBrowserBrokerCredentialOptions {
            client_id: self.client_id,
            tenant_id: self.tenant_id,
            authority: self.authority,
            disable_automatic_authentication: self.disable_automatic_authentication,
            timeout: self.timeout.unwrap_or(DEFAULT_INTERACTIVE_TIMEOUT),
            additionally_allowed_tenants: self.additionally_allowed_tenants,
            request_timeout: self.request_timeout,
            client_options: self.client_options,
            cache_persistence_options: self.cache_persistence_options,
            authentication_record: self.authentication_record,
            broker: BrokerMode::BrowserOnly,
            ..Default::default()
        }
    }
}

impl Default for DeviceCodeCredentialOptions {
    fn default() -> Self {
        Self {
            client_id: ClientId::default(),
            tenant_id: TenantId::default(),
            authority: None,
            disable_automatic_authentication: false,
            timeout: None,
            additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            client_options: ClientOptions::default(),
            cache_persistence_options: None,
            authentication_record: None,
        }
    }
}

impl fmt::Debug for DeviceCodeCredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCodeCredentialOptions")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("authority", &self.authority)
            .field(
                "disable_automatic_authentication",
                &self.disable_automatic_authentication,
            )
            .field("timeout", &self.timeout)
            .field("request_timeout", &self.request_timeout)
            .field(
                "additionally_allowed_tenants",
                &self.additionally_allowed_tenants,
            )
            .field("cache_persistence_options", &self.cache_persistence_options)
            .field("authentication_record", &self.authentication_record)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_azure_identity() {
        let o = DeviceCodeCredentialOptions::default();
        assert_eq!(o.client_id.as_str(), ClientId::DEVELOPER_SIGN_ON);
        assert_eq!(o.tenant_id.as_str(), "organizations");
        assert_eq!(o.timeout, None, "until the code expires");
        assert!(!o.disable_automatic_authentication);
        assert!(o.cache_persistence_options.is_none() && o.authentication_record.is_none());
        let shared = o.into_shared();
        assert!(matches!(shared.broker, BrokerMode::BrowserOnly));
        assert!(shared.device_code_fallback.is_none());
    }
}
