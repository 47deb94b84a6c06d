use crate::error::{Error, ErrorKind, Result};
use std::{fmt, str::FromStr};

/// An Entra ID tenant: a directory GUID, a verified domain (`contoso.onmicrosoft.com`), or one
/// of the multi-tenant aliases `organizations`, `common` and `consumers`.
///
/// Validated at construction, as Entra ID names tenants, so it is one safe segment of a URL
/// path: a GUID (`72f988bf-86f1-41af-91ab-2d7cd011db47`), an alias, or a domain name of at
/// least two labels (at most 253 characters, each label 1 to 63 ASCII letters, digits and
/// `-`, not starting or ending with `-`). `.`, `..`, empty labels, `%`, `/`, whitespace and
/// anything else are refused with [`ErrorKind::InvalidInput`] saying what is wrong.
///
/// ```
/// use mr_auth_broker::TenantId;
///
/// assert!(TenantId::new("contoso.onmicrosoft.com").is_ok());
/// assert!(TenantId::new("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
/// assert!(TenantId::new("..").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

/// The longest domain name (RFC 1035).
const MAX_DOMAIN_LEN: usize = 253;
/// The longest label of a domain name (RFC 1035).
const MAX_LABEL_LEN: usize = 63;
/// What a tenant may be, for the messages.
const WHAT_IT_MAY_BE: &str =
    "use a directory id (guid), a domain such as contoso.onmicrosoft.com, or organizations, common or consumers";

impl TenantId {
    /// The default tenant of the credential: any work or school account.
    pub const ORGANIZATIONS: &'static str = "organizations";

    /// Parses and validates a tenant id.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        if value.to_ascii_lowercase().starts_with("b2c_1") {
            return Err(Error::new(
                ErrorKind::UnsupportedAuthority,
                format!("{:?} looks like an azure ad b2c policy; b2c is not supported, use an entra id tenant", shown(&value)),
            ));
        }
        match problem(&value) {
            None => Ok(Self(value)),
            Some(problem) => Err(Error::invalid_input(format!(
                "tenant id {:?} {problem}; {WHAT_IT_MAY_BE}",
                shown(&value)
            ))),
        }
    }

    /// The tenant as it goes in the authority URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a multi-tenant alias rather than one directory.
    pub fn is_alias(&self) -> bool {
        is_alias(&self.0)
    }
}

fn is_alias(value: &str) -> bool {
    ["organizations", "common", "consumers"]
        .iter()
        .any(|a| value.eq_ignore_ascii_case(a))
}

/// Whether `value` is a GUID in its 8-4-4-4-12 hexadecimal form.
fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What is wrong with `value` as a tenant, if anything.
fn problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".to_owned());
    }
    if is_alias(value) || is_guid(value) {
        return None;
    }
    if value.len() > MAX_DOMAIN_LEN {
        return Some(format!(
            "is {} characters long, more than a domain name's {MAX_DOMAIN_LEN}",
            value.len()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Some(format!("contains {bad:?}"));
    }
    let labels: Vec<&str> = value.split('.').collect();
    if labels.iter().any(|label| label.is_empty()) {
        return Some("has an empty label (a leading, trailing or doubled dot)".to_owned());
    }
    if labels.len() < 2 {
        return Some("is neither a guid, a domain name nor an alias".to_owned());
    }
    if let Some(label) = labels.iter().find(|label| label.len() > MAX_LABEL_LEN) {
        return Some(format!(
            "has a label of {} characters, more than {MAX_LABEL_LEN}",
            label.len()
        ));
    }
    if labels
        .iter()
        .any(|label| label.starts_with('-') || label.ends_with('-'))
    {
        return Some("has a label that starts or ends with '-'".to_owned());
    }
    None
}

/// At most 64 characters of a refused value, for its message.
fn shown(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
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
    fn rejects_what_would_change_the_urls_path_and_what_entra_does_not_name() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        for t in [
            "",
            ".",
            "..",
            "...",
            "%2e%2e",
            "%2E",
            "a/b",
            "/",
            "\\",
            "a b",
            " contoso.com",
            "contoso.com\n",
            "tenant?x",
            "t#x",
            "../x",
            ".contoso.com",
            "contoso.com.",
            "contoso..com",
            "contoso",
            "-contoso.com",
            "contoso-.com",
            "72f988bf-86f1-41af-91ab",
            "72f988bf86f141af91ab2d7cd011db47",
            long_label.as_str(),
            long_name.as_str(),
            "\u{1b}[2J.com",
        ] {
            let e = TenantId::new(t).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{t:?}");
            assert!(e.message().contains("tenant id"), "{e}");
            assert!(!e.to_string().chars().any(char::is_control), "{e}");
        }
        assert!(TenantId::new("a".repeat(257)).is_err());
        let url = |t: &str| format!("https://login.example.com/{t}/oauth2/v2.0/token");
        for t in ["a-b.c-d.com", "xn--bcher-kva.example", "1.2.3"] {
            assert!(url(TenantId::new(t).unwrap().as_str()).contains(&format!("/{t}/")));
        }
        let b2c = TenantId::new("B2C_1_signin").unwrap_err();
        assert_eq!(b2c.kind(), ErrorKind::UnsupportedAuthority);
    }

    #[test]
    fn default_is_organizations() {
        assert_eq!(TenantId::default().as_str(), "organizations");
    }
}
