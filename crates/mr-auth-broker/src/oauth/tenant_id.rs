use crate::error::{Error, ErrorKind, Result};
use std::{fmt, str::FromStr};

/// An Entra ID tenant: a directory GUID, a verified domain (`contoso.onmicrosoft.com`), or one
/// of the multi-tenant aliases `organizations`, `common` and `consumers`.
///
/// Validated at construction: ASCII letters, digits, `-` and `.` only, 1 to 256 characters,
/// so it is safe to put in a URL path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// The default tenant of the credential: any work or school account.
    pub const ORGANIZATIONS: &'static str = "organizations";

    /// Parses and validates a tenant id.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        if value.is_empty() || value.len() > 256 {
            return Err(Error::invalid_input(
                "tenant id must be 1 to 256 characters: a directory id (guid), a domain, or organizations, common or consumers",
            ));
        }
        if value.to_ascii_lowercase().starts_with("b2c_1") {
            return Err(Error::new(
                ErrorKind::UnsupportedAuthority,
                format!("{value:?} looks like an azure ad b2c policy; b2c is not supported, use an entra id tenant"),
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        {
            return Err(Error::invalid_input(format!(
                "tenant id {value:?} contains {bad:?}; use a directory id (guid), a domain, or organizations, common or consumers"
            )));
        }
        Ok(Self(value))
    }

    /// The tenant as it goes in the authority URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a multi-tenant alias rather than one directory.
    pub fn is_alias(&self) -> bool {
        ["organizations", "common", "consumers"]
            .iter()
            .any(|a| self.0.eq_ignore_ascii_case(a))
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self(Self::ORGANIZATIONS.to_owned())
    }
}

impl FromStr for TenantId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_guid_domain_and_aliases() {
        for t in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "contoso.onmicrosoft.com",
            "organizations",
            "common",
            "consumers",
        ] {
            assert_eq!(TenantId::new(t).unwrap().as_str(), t);
        }
        assert!(TenantId::new("Common").unwrap().is_alias());
        assert!(!TenantId::new("contoso.com").unwrap().is_alias());
    }

    #[test]
    fn rejects_empty_and_path_characters() {
        for t in ["", "a/b", "a b", "tenant?x", "../x"] {
            let e = TenantId::new(t).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{t}");
        }
        assert!(TenantId::new("a".repeat(257)).is_err());
        let b2c = TenantId::new("B2C_1_signin").unwrap_err();
        assert_eq!(b2c.kind(), ErrorKind::UnsupportedAuthority);
    }

    #[test]
    fn default_is_organizations() {
        assert_eq!(TenantId::default().as_str(), "organizations");
    }
}
