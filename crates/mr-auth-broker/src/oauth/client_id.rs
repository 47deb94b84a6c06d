use crate::error::{Error, Result};
use std::{fmt, str::FromStr};

/// The application (client) id of an Entra ID app registration: a GUID, kept in its
/// lowercase hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// The Azure CLI's public client id, the developer sign-on default (as in the Python
    /// `azure-identity` package).
    pub const DEVELOPER_SIGN_ON: &'static str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    /// Parses and validates a client id.
    pub fn new(value: &str) -> Result<Self> {
        uuid::Uuid::try_parse(value)
            .map(|u| Self(u.hyphenated().to_string()))
            .map_err(|e| {
                Error::invalid_input(format!(
                    "client id {value:?} is not a guid; use the application (client) id of the app registration"
                ))
                .with_source(e)
            })
    }

    /// The id as sent to the authority.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClientId {
    fn default() -> Self {
        Self(Self::DEVELOPER_SIGN_ON.to_owned())
    }
}

impl FromStr for ClientId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lowercases() {
        let id = ClientId::new("04B07795-8DDB-461A-BBEE-02F9E1BF7B46").unwrap();
        assert_eq!(id.as_str(), ClientId::DEVELOPER_SIGN_ON);
        assert_eq!(ClientId::default(), id);
    }

    #[test]
    fn rejects_non_guid() {
        let e = ClientId::new("my-app").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
        assert!(e.message().contains("not a guid"));
    }
}
