use super::{
    additionally_allowed_tenants::AdditionallyAllowedTenants,
    authentication_record::AuthenticationRecord,
    interactive_browser_broker_credential_options::InteractiveBrowserBrokerCredentialOptions,
    shared_cache_account::AccountFilter,
};
use crate::{
    error::{Error, Result},
    oauth::{AuthorityHost, ClientId, TenantId, DEFAULT_REQUEST_TIMEOUT},
    platform::BrokerMode,
    TokenCachePersistenceOptions,
};
use azure_core::http::ClientOptions;
use std::{fmt, time::Duration};

/// Options of [`SharedTokenCacheCredential`](crate::SharedTokenCacheCredential).
///
/// Names and defaults follow the Python `SharedTokenCacheCredential` (its `username` argument
/// and keyword arguments, in Rust case). Protocol values are the crate's validated types; the
/// rest is checked by
/// [`SharedTokenCacheCredential::new`](crate::SharedTokenCacheCredential::new) with an
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error that names it.
#[derive(Clone)]
pub struct SharedTokenCacheCredentialOptions {
    /// The app registration whose sign-ins are used. Default: the Azure CLI's public client
    /// ([`ClientId::DEVELOPER_SIGN_ON`]), the client id of `mr-auth login` and of
    /// azure-identity's developer credentials.
    pub client_id: ClientId,
    /// Chooses the account when the cache holds several: one whose home tenant, or a tenant it
    /// signed in to, is this one; and the tenant tokens are requested from. `None` (the
    /// default): the record's tenant with an `authentication_record`, else `organizations`.
    pub tenant_id: Option<TenantId>,
    /// The authority host (Python's `authority`); only its accounts are used. `None` (the
    /// default): [`AuthorityHost::resolve`] of `client_options.cloud` and the process
    /// environment (`AZURE_AUTHORITY_HOST`), else `https://login.microsoftonline.com`.
    pub authority: Option<AuthorityHost>,
    /// Chooses the account by user name (compared ignoring case) when the cache holds several.
    pub username: Option<String>,
    /// The account of an earlier sign-in (`mr-auth login`'s, or azure-identity's
    /// `authenticate()`): its tokens are used, whatever else the cache holds. Its client id
    /// must be `client_id`, and its authority the `authority` host's name.
    pub authentication_record: Option<AuthenticationRecord>,
    /// Which persistent cache to read. `None` (the default): the cache Microsoft's developer
    /// tools share ([`TokenCachePersistenceOptions::default`]'s name, `msal.cache`), read from
    /// wherever it is: the encrypted store, or where there is none the plaintext file an app
    /// that allowed it wrote (as azure-identity's credential reads it). This credential never
    /// creates a cache; it writes back to one it read a refresh token from.
    pub cache_persistence_options: Option<TokenCachePersistenceOptions>,
    /// Tenants besides the credential's that a request may name. Default: none.
    pub additionally_allowed_tenants: AdditionallyAllowedTenants,
    /// The HTTP pipeline options for the token endpoint (transport, retries, cloud), as every
    /// `azure_identity` credential takes them.
    pub client_options: ClientOptions,
    /// How long redeeming the account's refresh token may take in all, tries and the waits
    /// between them included: as
    /// [`InteractiveBrowserBrokerCredentialOptions::request_timeout`], whose bounds, retries
    /// and errors this credential shares. Default [`DEFAULT_REQUEST_TIMEOUT`]. Not a Python
    /// option.
    pub request_timeout: Duration,
}

impl Default for SharedTokenCacheCredentialOptions {
    fn default() -> Self {
        Self {
            client_id: ClientId::default(),
            tenant_id: None,
            authority: None,
            username: None,
            authentication_record: None,
            cache_persistence_options: None,
            additionally_allowed_tenants: AdditionallyAllowedTenants::default(),
            client_options: ClientOptions::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl SharedTokenCacheCredentialOptions {
    /// Which account to use, from `username`, `tenant_id` and the record.
    pub(crate) fn account_filter(&self) -> Result<AccountFilter> {
        if let Some(username) = &self.username {
            if username.trim().is_empty() || username.chars().any(char::is_control) {
                return Err(Error::invalid_input(
                    "username must be a user name such as someone@contoso.com",
                ));
            }
        }
        Ok(AccountFilter {
            home_account_id: self
                .authentication_record
                .as_ref()
                .map(|r| r.home_account_id().to_owned()),
            username: self.username.clone(),
            tenant: self.tenant_id.clone().filter(|t| !t.is_alias()),
        })
    }

    /// The browser credential's options for the same client, authority, tenant, record and
    /// cache, without a broker and without UI: the shared cache credential is that
    /// credential's silent half, and its configuration is checked the same way.
    pub(crate) fn silent_half(self) -> InteractiveBrowserBrokerCredentialOptions {
        let record_tenant = self
            .authentication_record
            .as_ref()
            .map(|r| r.tenant_id().clone());
        InteractiveBrowserBrokerCredentialOptions {
            client_id: self.client_id,
            tenant_id: self.tenant_id.or(record_tenant).unwrap_or_default(),
            authority: self.authority,
            additionally_allowed_tenants: self.additionally_allowed_tenants,
            broker: BrokerMode::BrowserOnly,
            disable_automatic_authentication: true,
            client_options: self.client_options,
            request_timeout: self.request_timeout,
            cache_persistence_options: Some(self.cache_persistence_options.unwrap_or(
                TokenCachePersistenceOptions {
                    allow_unencrypted_storage: true,
                    ..TokenCachePersistenceOptions::default()
                },
            )),
            authentication_record: self.authentication_record,
            ..InteractiveBrowserBrokerCredentialOptions::default()
        }
    }
}

impl fmt::Debug for SharedTokenCacheCredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTokenCacheCredentialOptions")
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("authority", &self.authority)
            .field("username", &self.username.as_ref().map(|_| "<set>"))
            .field("authentication_record", &self.authentication_record)
            .field("cache_persistence_options", &self.cache_persistence_options)
            .field(
                "additionally_allowed_tenants",
                &self.additionally_allowed_tenants,
            )
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_python() {
        let o = SharedTokenCacheCredentialOptions::default();
        assert_eq!(o.client_id.as_str(), ClientId::DEVELOPER_SIGN_ON);
        assert!(o.tenant_id.is_none() && o.username.is_none() && o.authority.is_none());
        let half = o.silent_half();
        assert_eq!(half.tenant_id.as_str(), "organizations");
        assert!(half.disable_automatic_authentication);
        assert_eq!(half.request_timeout, DEFAULT_REQUEST_TIMEOUT);
        assert!(matches!(half.broker, BrokerMode::BrowserOnly));
        let cache = half.cache_persistence_options.unwrap();
        assert_eq!(cache.name, "msal.cache");
        assert!(
            cache.allow_unencrypted_storage,
            "reads what another app wrote"
        );
    }

    #[test]
    fn the_account_filter_and_the_tenant() {
        let record = AuthenticationRecord::new(
            "login.microsoftonline.com",
            ClientId::default(),
            "oid.4e4e4e4e-0000-4000-8000-00000000004e",
            TenantId::new("4e4e4e4e-0000-4000-8000-00000000004e").unwrap(),
            "a@contoso.com",
        )
        .unwrap();
        let o = SharedTokenCacheCredentialOptions {
            authentication_record: Some(record),
            username: Some("A@contoso.com".into()),
            ..Default::default()
        };
        let filter = o.account_filter().unwrap();
        assert_eq!(
            filter.home_account_id.as_deref(),
            Some("oid.4e4e4e4e-0000-4000-8000-00000000004e")
        );
        assert_eq!(filter.username.as_deref(), Some("A@contoso.com"));
        assert_eq!(
            o.silent_half().tenant_id.as_str(),
            "4e4e4e4e-0000-4000-8000-00000000004e"
        );
        let aliased = SharedTokenCacheCredentialOptions {
            tenant_id: Some(TenantId::new("organizations").unwrap()),
            ..Default::default()
        };
        assert!(aliased.account_filter().unwrap().tenant.is_none());
        for bad in ["", " ", "a\u{1b}b"] {
            let o = SharedTokenCacheCredentialOptions {
                username: Some(bad.into()),
                ..Default::default()
            };
            assert!(o.account_filter().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_username() {
        let o = SharedTokenCacheCredentialOptions {
            username: Some("someone@contoso.com".into()),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("someone@contoso.com"));
    }
}
