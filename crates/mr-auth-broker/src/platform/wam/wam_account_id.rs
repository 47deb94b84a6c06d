//! How a WAM account is remembered between requests (platform-neutral).

use super::wam_route::AccountKind;
use std::fmt;

/// The [`BrokerAccount::id`](crate::BrokerAccount::id) of a WAM account: the account kind
/// (which plugin to ask again) and the `WebAccount.Id` WAM gave, as `wam:<kind>:<id>`.
///
/// The MSA plugin cannot list its accounts, so its `WebAccount.Id` must be kept to find the
/// account again for a silent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WamAccountId {
    /// Which plugin issued the account's tokens.
    pub(crate) kind: AccountKind,
    /// WAM's `WebAccount.Id` (opaque, never empty).
    pub(crate) web_account_id: String,
}

const PREFIX: &str = "wam:";

impl WamAccountId {
    /// Parses an id made by `Display`; `None` for anything else (an id from another broker).
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix(PREFIX)?;
        let (kind, id) = rest.split_once(':')?;
        let kind = AccountKind::parse(kind)?;
        if id.is_empty() {
            return None;
        }
        Some(Self {
            kind,
            web_account_id: id.to_owned(),
        })
    }
}

impl fmt::Display for WamAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}:{}", self.kind.as_str(), self.web_account_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_ids_that_contain_colons() {
        let id = WamAccountId {
            kind: AccountKind::MsaPassthrough,
            web_account_id: "a:b:c".into(),
        };
        let text = id.to_string();
        assert_eq!(text, "wam:msa-passthrough:a:b:c");
        assert_eq!(WamAccountId::parse(&text), Some(id));
    }

    #[test]
    fn refuses_foreign_and_malformed_ids() {
        for bad in [
            "",
            "acct-1",
            "wam:",
            "wam:work",
            "wam:work:",
            "wam:aad:x",
            "WAM:work:x",
        ] {
            assert_eq!(WamAccountId::parse(bad), None, "{bad}");
        }
    }
}
