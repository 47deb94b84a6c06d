use crate::Error;
use std::{fmt, str::FromStr};
use uuid::Uuid;

/// A Mixed Reality account id: a UUID, never the nil UUID.
///
/// Parsed once; always sent in the lowercase hyphenated form
/// (`87e9abb1-79b9-4502-bbae-cfae8c610f23`), whatever form it was given in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Uuid);

impl AccountId {
    /// Wraps a UUID, refusing the nil UUID.
    pub fn new(id: Uuid) -> Result<Self, Error> {
        if id.is_nil() {
            return Err(Error::invalid_input(
                "the account id is the nil UUID; use the account id shown for your Mixed Reality account in the Azure portal",
            ));
        }
        Ok(Self(id))
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid_input(
                "the account id is empty; it must be a UUID",
            ));
        }
        let id = Uuid::try_parse(trimmed).map_err(|error| {
            Error::invalid_input(format!(
                "the account id {trimmed:?} is not a UUID (expected the form 87e9abb1-79b9-4502-bbae-cfae8c610f23)"
            ))
            .with_source(error)
        })?;
        Self::new(id)
    }
}

impl TryFrom<&str> for AccountId {
    type Error = Error;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn uppercase_and_braced_forms_are_sent_lowercase_hyphenated() {
        for input in [
            "87E9ABB1-79B9-4502-BBAE-CFAE8C610F23",
            "{87e9abb1-79b9-4502-bbae-cfae8c610f23}",
            "87e9abb179b94502bbaecfae8c610f23",
            "  87e9abb1-79b9-4502-bbae-cfae8c610f23 ",
        ] {
            let id: AccountId = input.parse().unwrap();
            assert_eq!(
                id.to_string(),
                "87e9abb1-79b9-4502-bbae-cfae8c610f23",
                "{input}"
            );
        }
    }

    #[test]
    fn nil_and_non_uuids_are_rejected_with_a_message_naming_the_problem() {
        let nil = "00000000-0000-0000-0000-000000000000"
            .parse::<AccountId>()
            .unwrap_err();
        assert_eq!(nil.kind(), ErrorKind::InvalidInput);
        assert!(nil.message().contains("nil UUID"), "{nil}");

        let bad = "not-a-uuid".parse::<AccountId>().unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidInput);
        assert!(bad.message().contains("is not a UUID"), "{bad}");

        let empty = " ".parse::<AccountId>().unwrap_err();
        assert!(empty.message().contains("empty"), "{empty}");
    }
}
