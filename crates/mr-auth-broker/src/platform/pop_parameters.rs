use crate::error::{Error, Result};
use mr_auth_core::is_loopback_url;
use std::{fmt, str::FromStr};
use url::Url;

/// The HTTP methods a proof-of-possession token can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PopMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
}

impl PopMethod {
    /// The method as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
        }
    }
}

impl FromStr for PopMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Ok(Self::Get),
            "POST" => Ok(Self::Post),
            "PUT" => Ok(Self::Put),
            "DELETE" => Ok(Self::Delete),
            "PATCH" => Ok(Self::Patch),
            _ => Err(Error::invalid_input(format!(
                "proof-of-possession method {s:?} is not supported; use one of GET, POST, PUT, DELETE, PATCH"
            ))),
        }
    }
}

impl fmt::Display for PopMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a proof-of-possession token is bound to: the resource request's method and URL, and
/// the server's nonce (from its `WWW-Authenticate: PoP nonce="..."` challenge).
///
/// The `pop` part of the Python `PopTokenRequestOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PopParameters {
    method: PopMethod,
    url: Url,
    nonce: Option<String>,
}

impl PopParameters {
    /// Validates and builds the parameters: the URL must be absolute `https` (plain `http`
    /// only for loopback hosts).
    pub fn new(method: PopMethod, url: Url, nonce: Option<String>) -> Result<Self> {
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_url(&url) => {}
            _ => {
                return Err(Error::invalid_input(format!(
                    "proof-of-possession url {url} must use https"
                )))
            }
        }
        if let Some(n) = &nonce {
            if n.is_empty() || n.chars().any(|c| c.is_control() || c == '"') {
                return Err(Error::invalid_input(
                    "proof-of-possession nonce must be non-empty printable text without quotes",
                ));
            }
        }
        Ok(Self { method, url, nonce })
    }

    /// The resource request's method.
    pub fn method(&self) -> PopMethod {
        self.method
    }

    /// The resource request's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The server's nonce, if it sent one.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn methods_parse_case_insensitively_and_others_are_refused() {
        assert_eq!("get".parse::<PopMethod>().unwrap(), PopMethod::Get);
        assert_eq!("PATCH".parse::<PopMethod>().unwrap().as_str(), "PATCH");
        for bad in ["HEAD", "OPTIONS", "TRACE", ""] {
            let e = bad.parse::<PopMethod>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn url_must_be_https_or_loopback() {
        let ok = PopParameters::new(
            PopMethod::Get,
            Url::parse("https://graph.microsoft.com/v1.0/me").unwrap(),
            Some("n1".into()),
        )
        .unwrap();
        assert_eq!(ok.nonce(), Some("n1"));
        PopParameters::new(
            PopMethod::Get,
            Url::parse("http://127.0.0.1:1/x").unwrap(),
            None,
        )
        .unwrap();
        let e = PopParameters::new(
            PopMethod::Get,
            Url::parse("http://example.com").unwrap(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = PopParameters::new(
            PopMethod::Get,
            Url::parse("https://example.com").unwrap(),
            Some("a\"b".into()),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}
