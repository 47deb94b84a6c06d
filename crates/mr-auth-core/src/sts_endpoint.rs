use crate::{AccountDomain, AccountId, Error, STS_API_VERSION};
use std::{fmt, net::IpAddr, str::FromStr};
use url::{Host, Url};

/// The base URL of a Mixed Reality STS.
///
/// Either derived from the account domain (`https://sts.<domain>`), or a custom URL (a
/// sovereign cloud, a self-hosted STS, the local emulator). A custom URL must be `https`;
/// plain `http` is allowed only for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`),
/// because the request carries a secret. A path prefix is kept:
/// `https://h/prefix` gives `https://h/prefix/Accounts/...`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StsEndpoint(Url);

impl StsEndpoint {
    /// Parses and validates a custom STS URL.
    pub fn new(url: &str) -> Result<Self, Error> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid_input("the STS endpoint URL is empty"));
        }
        let parsed = Url::parse(trimmed).map_err(|error| {
            let hint = if !trimmed.contains("://") {
                " (it needs a scheme, such as https://sts.mixedreality.azure.com)"
            } else {
                ""
            };
            Error::invalid_input(format!(
                "the STS endpoint {trimmed:?} is not a valid URL{hint}"
            ))
            .with_source(error)
        })?;
        Self::from_url(parsed)
    }

    /// Validates a custom STS URL.
    pub fn from_url(url: Url) -> Result<Self, Error> {
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(Error::invalid_input(format!(
                "the STS endpoint {url} has no host"
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_url(&url) => {}
            "http" => {
                return Err(Error::invalid_input(format!(
                    "the STS endpoint {url} uses plain http; only https is allowed (http only for loopback hosts such as 127.0.0.1), because the request carries a secret"
                )))
            }
            other => {
                return Err(Error::invalid_input(format!(
                    "the STS endpoint {url} has the scheme {other:?}; use https"
                )))
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid_input(
                "the STS endpoint must not carry user information (user:password@)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid_input(format!(
                "the STS endpoint {url} must not have a query or fragment"
            )));
        }
        Ok(Self(url))
    }

    /// The endpoint for an account domain: `https://sts.<domain>`.
    pub fn for_domain(domain: &AccountDomain) -> Self {
        let url = Url::parse(&format!("https://sts.{}", domain.as_str()))
            .expect("a validated account domain always makes a valid host");
        Self(url)
    }

    /// The base URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// `host:port` of the endpoint (the scheme's default port when none is given), as error
    /// messages name it.
    pub fn host_port(&self) -> String {
        let host = match self.0.host() {
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            Some(host) => host.to_string(),
            None => String::new(),
        };
        match self.0.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// Whether this endpoint is on a loopback host.
    pub fn is_loopback(&self) -> bool {
        is_loopback_url(&self.0)
    }

    /// The token URL for an account:
    /// `{endpoint}/Accounts/{account_id}/token?api-version=2019-02-28-preview`.
    pub fn token_url(&self, account_id: &AccountId) -> Url {
        let mut url = self.0.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .expect("validated endpoints can be a base");
            segments.pop_if_empty();
            segments.push("Accounts");
            segments.push(&account_id.to_string());
            segments.push("token");
        }
        url.query_pairs_mut()
            .append_pair("api-version", STS_API_VERSION);
        url
    }
}

/// Whether `url`'s host is a loopback host (`127.0.0.0/8`, `::1`, `localhost`): the hosts for
/// which the workspace accepts plain `http` (local emulators, mock authorities, tests).
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl FromStr for StsEndpoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for StsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str().trim_end_matches('/'))
    }
}

impl fmt::Debug for StsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StsEndpoint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn id() -> AccountId {
        "87E9ABB1-79B9-4502-BBAE-CFAE8C610F23".parse().unwrap()
    }

    #[test]
    fn endpoint_from_domain() {
        let domain = AccountDomain::new("eastus2.mixedreality.azure.com").unwrap();
        let endpoint = StsEndpoint::for_domain(&domain);
        assert_eq!(
            endpoint.to_string(),
            "https://sts.eastus2.mixedreality.azure.com"
        );
        assert_eq!(
            endpoint.token_url(&id()).as_str(),
            "https://sts.eastus2.mixedreality.azure.com/Accounts/87e9abb1-79b9-4502-bbae-cfae8c610f23/token?api-version=2019-02-28-preview"
        );
    }

    #[test]
    fn path_prefix_is_kept_with_or_without_trailing_slash() {
        for base in ["https://h.example/prefix", "https://h.example/prefix/"] {
            let endpoint = StsEndpoint::new(base).unwrap();
            assert_eq!(
                endpoint.token_url(&id()).as_str(),
                "https://h.example/prefix/Accounts/87e9abb1-79b9-4502-bbae-cfae8c610f23/token?api-version=2019-02-28-preview"
            );
        }
    }

    #[test]
    fn host_port_names_the_default_port_when_none_is_given() {
        let cases = [
            ("https://sts.example", "sts.example:443"),
            ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
            ("http://[::1]:9", "[::1]:9"),
        ];
        for (url, expected) in cases {
            assert_eq!(StsEndpoint::new(url).unwrap().host_port(), expected);
        }
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9",
            "http://localhost:1234/sts",
        ] {
            let endpoint = StsEndpoint::new(ok).unwrap();
            assert!(endpoint.is_loopback(), "{ok}");
        }
        let error = StsEndpoint::new("http://sts.mixedreality.azure.com").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.message().contains("plain http"), "{error}");
        let error = StsEndpoint::new("http://10.0.0.1").unwrap_err();
        assert!(error.message().contains("plain http"), "{error}");
    }

    #[test]
    fn bad_urls_are_rejected_with_the_reason() {
        for (input, expected) in [
            ("", "empty"),
            ("sts.mixedreality.azure.com", "needs a scheme"),
            ("ftp://sts.example", "scheme"),
            ("https://user:pw@sts.example", "user information"),
            ("https://sts.example/?a=b", "query"),
            ("mailto:someone@example.com", "no host"),
        ] {
            let error = StsEndpoint::new(input).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(error.message().contains(expected), "{input:?}: {error}");
        }
    }
}
