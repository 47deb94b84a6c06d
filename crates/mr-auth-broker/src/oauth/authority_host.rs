use super::tenant_id::TenantId;
use crate::{
    error::{Error, ErrorKind, Result},
    EnvironmentSource,
};
use azure_core::cloud::CloudConfiguration;
use mr_auth_core::is_loopback_url;
use std::{fmt, str::FromStr};
use url::Url;

/// The Entra ID authority host, such as `https://login.microsoftonline.com`.
///
/// Validated at construction: an absolute `https` URL without query or fragment. Plain
/// `http` is accepted only for loopback hosts (`localhost`, `127.0.0.0/8`, `::1`), for local
/// mock authorities and tests, the same rule as the STS endpoint in `mr-auth-core`: every
/// request to an authority carries an authorization code or a refresh token.
///
/// Azure AD B2C authorities (`*.b2clogin.com`, `/tfp/` paths, `B2C_1_` policies) are refused
/// with [`ErrorKind::UnsupportedAuthority`], as in the Python broker credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthorityHost(Url);

impl AuthorityHost {
    /// The public Azure cloud.
    pub const AZURE_PUBLIC_CLOUD: &'static str = "https://login.microsoftonline.com";

    /// Parses and validates an authority host.
    pub fn new(value: &str) -> Result<Self> {
        let url = Url::parse(value).map_err(|e| {
            Error::invalid_input(format!(
                "authority host {value:?} is not an absolute url such as https://login.microsoftonline.com"
            ))
            .with_source(e)
        })?;
        if is_b2c(&url) {
            return Err(Error::new(
                ErrorKind::UnsupportedAuthority,
                format!("azure ad b2c authorities are not supported ({value}); use a workforce (entra id) authority such as https://login.microsoftonline.com"),
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_url(&url) => {}
            "http" => {
                return Err(Error::invalid_input(format!(
                    "authority host {value:?} must use https (plain http is allowed only for loopback hosts)"
                )))
            }
            other => {
                return Err(Error::invalid_input(format!(
                    "authority host {value:?} has scheme {other:?}; use https"
                )))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid_input(format!(
                "authority host {value:?} has no host"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(Error::invalid_input(format!(
                "authority host {value:?} must not have a query, fragment or user info"
            )));
        }
        Ok(Self(url))
    }

    /// The environment variable [`resolve`](Self::resolve) reads.
    pub const ENVIRONMENT_VARIABLE: &'static str = "AZURE_AUTHORITY_HOST";

    /// The authority host when none is configured explicitly: the cloud configuration's (as
    /// in `azure_core::http::ClientOptions::cloud`), else the `AZURE_AUTHORITY_HOST`
    /// variable of `env`, else the public cloud. Every candidate is validated as
    /// [`new`](Self::new) does.
    ///
    /// ```
    /// use mr_auth_broker::AuthorityHost;
    ///
    /// let env = [("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")];
    /// assert_eq!(
    ///     AuthorityHost::resolve(None, &env)?.to_string(),
    ///     "https://login.microsoftonline.us"
    /// );
    /// # Ok::<(), mr_auth_broker::Error>(())
    /// ```
    pub fn resolve(
        cloud: Option<&CloudConfiguration>,
        env: &dyn EnvironmentSource,
    ) -> Result<Self> {
        match cloud {
            Some(CloudConfiguration::AzurePublic) => return Ok(Self::default()),
            Some(CloudConfiguration::AzureGovernment) => {
                return Self::new("https://login.microsoftonline.us")
            }
            Some(CloudConfiguration::AzureChina) => {
                return Self::new("https://login.chinacloudapi.cn")
            }
            Some(CloudConfiguration::Custom(custom)) => return Self::new(&custom.authority_host),
            Some(other) => {
                return Err(Error::invalid_input(format!(
                    "the cloud configuration {other:?} is not known; set the authority option"
                )))
            }
            None => {}
        }
        match env.var(Self::ENVIRONMENT_VARIABLE) {
            Some(host) if !host.trim().is_empty() => Self::new(host.trim()).map_err(|e| {
                Error::new(
                    e.kind(),
                    format!(
                        "the {} environment variable: {}",
                        Self::ENVIRONMENT_VARIABLE,
                        e.message()
                    ),
                )
            }),
            _ => Ok(Self::default()),
        }
    }

    /// The authority for a tenant: `{host}/{tenant}`.
    pub fn authority(&self, tenant: &TenantId) -> Url {
        self.join(&[tenant.as_str()])
    }

    /// `{host}/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorize_endpoint(&self, tenant: &TenantId) -> Url {
        self.join(&[tenant.as_str(), "oauth2", "v2.0", "authorize"])
    }

    /// `{host}/{tenant}/oauth2/v2.0/devicecode`: where a device code sign-in starts.
    pub(crate) fn device_code_endpoint(&self, tenant: &TenantId) -> Url {
        self.join(&[tenant.as_str(), "oauth2", "v2.0", "devicecode"])
    }

    /// `{host}/{tenant}/oauth2/v2.0/token`.
    pub fn token_endpoint(&self, tenant: &TenantId) -> Url {
        self.join(&[tenant.as_str(), "oauth2", "v2.0", "token"])
    }

    fn join(&self, segments: &[&str]) -> Url {
        let mut url = self.0.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The host URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The authority as an `AuthenticationRecord` names it (azure-identity's `authority`, the
    /// issuer URL's `netloc`): the host, lower-cased, with `:port` when the URL names a port
    /// other than its scheme's default (`login.microsoftonline.com`, `127.0.0.1:8400`).
    pub(crate) fn record_authority(&self) -> String {
        let host = self.0.host_str().unwrap_or_default().to_ascii_lowercase();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// The host, lower-cased, and the port (the scheme's default when the URL names none).
    pub(crate) fn host_and_port(&self) -> (String, Option<u16>) {
        (
            self.0.host_str().unwrap_or_default().to_ascii_lowercase(),
            self.0.port_or_known_default(),
        )
    }
}

impl FromStr for AuthorityHost {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl Default for AuthorityHost {
    fn default() -> Self {
        Self::new(Self::AZURE_PUBLIC_CLOUD).expect("the public cloud authority is valid")
    }
}

impl fmt::Display for AuthorityHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

fn is_b2c(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    host.contains("b2clogin.")
        || path
            .split('/')
            .any(|s| s == "tfp" || s.starts_with("b2c_1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_for_public_cloud() {
        let host = AuthorityHost::default();
        let tenant = TenantId::default();
        assert_eq!(
            host.authorize_endpoint(&tenant).as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
        );
        assert_eq!(
            host.token_endpoint(&tenant).as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
        );
        assert_eq!(host.to_string(), "https://login.microsoftonline.com");
    }

    #[test]
    fn the_record_authority_keeps_a_port_that_is_not_the_default() {
        for (url, record) in [
            (
                "https://login.microsoftonline.com",
                "login.microsoftonline.com",
            ),
            ("https://LOGIN.example.com:443/", "login.example.com"),
            ("https://login.example.com:8443", "login.example.com:8443"),
            ("http://127.0.0.1:8400", "127.0.0.1:8400"),
            ("http://localhost", "localhost"),
        ] {
            assert_eq!(
                AuthorityHost::new(url).unwrap().record_authority(),
                record,
                "{url}"
            );
        }
    }

    #[test]
    fn keeps_a_path_prefix() {
        let host = AuthorityHost::new("https://login.example.com/prefix/").unwrap();
        assert_eq!(
            host.token_endpoint(&TenantId::new("t.example").unwrap())
                .as_str(),
            "https://login.example.com/prefix/t.example/oauth2/v2.0/token"
        );
    }

    #[test]
    fn http_only_for_loopback() {
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.1:1",
            "http://[::1]:9",
        ] {
            AuthorityHost::new(ok).unwrap();
        }
        for bad in [
            "http://login.microsoftonline.com",
            "ftp://x",
            "not a url",
            "https://h/?q=1",
            "https://u@h",
        ] {
            let e = AuthorityHost::new(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn resolution_order_is_cloud_then_environment_then_public_cloud() {
        let env = [("AZURE_AUTHORITY_HOST", " https://login.example.com ")];
        let host = AuthorityHost::resolve(Some(&CloudConfiguration::AzureChina), &env).unwrap();
        assert_eq!(host.to_string(), "https://login.chinacloudapi.cn");
        let host = AuthorityHost::resolve(None, &env).unwrap();
        assert_eq!(host.to_string(), "https://login.example.com");
        let host = AuthorityHost::resolve(None, &[("OTHER", "x")]).unwrap();
        assert_eq!(host, AuthorityHost::default());
        let host = AuthorityHost::resolve(None, &[("AZURE_AUTHORITY_HOST", "")]).unwrap();
        assert_eq!(host, AuthorityHost::default());
    }

    #[test]
    fn a_bad_environment_value_is_named() {
        let env = [("AZURE_AUTHORITY_HOST", "http://login.example.com")];
        let e = AuthorityHost::resolve(None, &env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("AZURE_AUTHORITY_HOST"), "{e}");
    }

    #[test]
    fn b2c_is_refused_clearly() {
        for b2c in [
            "https://contoso.b2clogin.com",
            "https://login.microsoftonline.com/tfp/contoso.onmicrosoft.com/b2c_1_signin",
            "https://contoso.example.com/B2C_1_susi",
        ] {
            let e = AuthorityHost::new(b2c).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsupportedAuthority, "{b2c}");
            assert!(e.message().contains("b2c"));
        }
    }
}
