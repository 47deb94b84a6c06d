use crate::Error;
use std::{fmt, str::FromStr};

/// The domain of a Mixed Reality account, such as `mixedreality.azure.com` or
/// `eastus2.mixedreality.azure.com`; the STS host is `sts.` followed by it.
///
/// Validated once: it must be a host name (no scheme, path, port, spaces or `#`), and a bare
/// region such as `eastus` is refused with a hint, because it would produce the host
/// `sts.eastus`, which does not exist.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountDomain(String);

impl AccountDomain {
    /// Validates `domain`.
    pub fn new(domain: impl AsRef<str>) -> Result<Self, Error> {
        let raw = domain.as_ref();
        let domain = raw.trim().trim_end_matches('.');
        if domain.is_empty() {
            return Err(Error::invalid_input(
                "the account domain is empty; use the domain shown for your account, such as eastus2.mixedreality.azure.com",
            ));
        }
        if domain.contains("://") {
            return Err(Error::invalid_input(format!(
                "the account domain {raw:?} contains a scheme; give only the host name (such as mixedreality.azure.com), or set a custom endpoint URL instead"
            )));
        }
        if let Some(bad) = domain
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        {
            return Err(Error::invalid_input(format!(
                "the account domain {raw:?} is not a valid host name (it contains {bad:?})"
            )));
        }
        for label in domain.split('.') {
            if label.is_empty()
                || label.len() > 63
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(Error::invalid_input(format!(
                    "the account domain {raw:?} is not a valid host name (empty or malformed label)"
                )));
            }
        }
        if domain.len() > 253 - "sts.".len() {
            return Err(Error::invalid_input(format!(
                "the account domain {raw:?} is too long to be a host name"
            )));
        }
        if !domain.contains('.') {
            let lower = domain.to_ascii_lowercase();
            return Err(Error::invalid_input(format!(
                "the account domain {raw:?} is not a full domain; did you mean {lower}.mixedreality.azure.com?"
            )));
        }
        Ok(Self(domain.to_ascii_lowercase()))
    }

    /// The domain, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountDomain {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for AccountDomain {
    type Error = Error;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl fmt::Display for AccountDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountDomain({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn valid_domains_are_kept_lowercase() {
        assert_eq!(
            AccountDomain::new("mixedreality.azure.com")
                .unwrap()
                .as_str(),
            "mixedreality.azure.com"
        );
        assert_eq!(
            AccountDomain::new(" EastUS2.MixedReality.Azure.com ")
                .unwrap()
                .as_str(),
            "eastus2.mixedreality.azure.com"
        );
    }

    #[test]
    fn bare_region_gets_a_hint() {
        let error = AccountDomain::new("eastus").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(
            error
                .message()
                .contains("did you mean eastus.mixedreality.azure.com"),
            "{error}"
        );
    }

    #[test]
    fn bad_domains_are_rejected_with_the_reason() {
        for (input, expected) in [
            ("", "empty"),
            ("   ", "empty"),
            ("https://mixedreality.azure.com", "scheme"),
            ("mixed reality.azure.com", "not a valid host name"),
            ("mixedreality.azure.com#x", "not a valid host name"),
            ("mixedreality..azure.com", "malformed label"),
            ("mixedreality.azure.com/path", "not a valid host name"),
            ("-bad.azure.com", "malformed label"),
        ] {
            let error = AccountDomain::new(input).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(error.message().contains(expected), "{input:?}: {error}");
        }
    }
}
