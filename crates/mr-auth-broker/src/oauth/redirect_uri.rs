use crate::error::{Error, Result};
use std::{fmt, str::FromStr};
use url::Url;

/// A redirect URI the app registration lists: a browser-flow loopback URI
/// (`http://localhost[:port][/path]`, whose port then fixes the receiver's port) or a broker's
/// (any other scheme, such as `ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}`).
///
/// Validated at construction.
///
/// ```
/// let uri: mr_auth_broker::RedirectUri = "http://localhost:8400/callback".parse()?;
/// assert!(uri.is_loopback());
/// # Ok::<(), mr_auth_broker::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(Kind);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Loopback(Url),
    Broker(String),
}

impl RedirectUri {
    /// Parses and validates a redirect URI.
    pub fn new(value: &str) -> Result<Self> {
        let url = Url::parse(value).map_err(|e| {
            Error::invalid_input(format!(
                "redirect uri {value:?} is not an absolute uri such as http://localhost:8400"
            ))
            .with_source(e)
        })?;
        match url.scheme() {
            "http"
                if mr_auth_core::is_loopback_url(&url)
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                Ok(Self(Kind::Loopback(url)))
            }
            "http" => Err(Error::invalid_input(format!(
                "redirect uri {value:?}: a browser-flow redirect uri must be http://localhost[:port][/path] (loopback, no query)"
            ))),
            _ => Ok(Self(Kind::Broker(value.to_owned()))),
        }
    }

    /// Whether this is the browser flow's loopback URI (rather than a broker's).
    pub fn is_loopback(&self) -> bool {
        matches!(self.0, Kind::Loopback(_))
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Kind::Loopback(url) => url.as_str(),
            Kind::Broker(uri) => uri,
        }
    }

    pub(crate) fn loopback(&self) -> Option<&Url> {
        match &self.0 {
            Kind::Loopback(url) => Some(url),
            Kind::Broker(_) => None,
        }
    }
}

impl FromStr for RedirectUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_goes_to_the_browser_anything_else_to_the_broker() {
        let browser = RedirectUri::new("http://localhost:9/cb").unwrap();
        assert_eq!(browser.loopback().unwrap().port(), Some(9));
        let broker = RedirectUri::new(
            "ms-appx-web://Microsoft.AAD.BrokerPlugin/04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        )
        .unwrap();
        assert!(!broker.is_loopback());
        assert!(broker.as_str().starts_with("ms-appx-web://"));
    }

    #[test]
    fn non_loopback_http_and_garbage_are_refused() {
        for bad in ["http://example.com/cb", "http://localhost:1/?q=1", "no uri"] {
            let e = RedirectUri::new(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput, "{bad}");
        }
    }
}
