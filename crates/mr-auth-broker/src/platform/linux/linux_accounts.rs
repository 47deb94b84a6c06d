//! Accounts as the broker describes them, `getAccounts`, and the choice of the device's
//! default account.

use super::{
    linux_broker_error::{broker_error, BrokerCall},
    protocol::{
        ACCOUNT_ID_PREFIX, MAX_ACCOUNTS, MAX_ACCOUNT_BYTES, MAX_FIELD_BYTES, MAX_RESPONSE_BYTES,
    },
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::ClientId,
    platform::BrokerAccount,
};
use serde_json::{Map, Value};

/// An account object from the broker, validated, kept whole to be sent back in silent
/// requests (the broker wants its own account object there).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LinuxAccount {
    /// `homeAccountId`: `<object id>.<tenant id>`.
    pub(crate) home_account_id: String,
    /// `username`, when the broker gave one.
    pub(crate) username: Option<String>,
    /// `realm`: the account's home tenant id, when given.
    pub(crate) realm: Option<String>,
    /// The object as the broker sent it.
    pub(crate) raw: Map<String, Value>,
}

/// Shows the ids only (the raw object has names and more).
impl std::fmt::Debug for LinuxAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxAccount")
            .field("home_account_id", &self.home_account_id)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// A short text field: a string of at most [`MAX_FIELD_BYTES`] without control characters.
pub(crate) fn short_text(value: &Value) -> Option<&str> {
    let text = value.as_str()?;
    (text.len() <= MAX_FIELD_BYTES && !text.chars().any(char::is_control)).then_some(text)
}

impl LinuxAccount {
    /// Validates an account object: `homeAccountId` is required and non-empty; `username`,
    /// `realm`, `localAccountId` and `environment` must be short texts when present; the
    /// whole object is bounded in size.
    pub(crate) fn from_json(value: &Value) -> std::result::Result<Self, String> {
        let Some(raw) = value.as_object() else {
            return Err("an account is not a json object".to_owned());
        };
        let home_account_id = match raw.get("homeAccountId").map(short_text) {
            Some(Some(id)) if !id.trim().is_empty() => id.to_owned(),
            _ => return Err("an account has no valid homeAccountId".to_owned()),
        };
        let optional = |name: &str| -> std::result::Result<Option<String>, String> {
            match raw.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match short_text(v) {
                    Some(t) if t.trim().is_empty() => Ok(None),
                    Some(t) => Ok(Some(t.to_owned())),
                    None => Err(format!("an account's {name} is not a short text")),
                },
            }
        };
        let username = optional("username")?;
        let realm = optional("realm")?;
        optional("localAccountId")?;
        optional("environment")?;
        if value.to_string().len() > MAX_ACCOUNT_BYTES {
            return Err(format!(
                "an account object is larger than {MAX_ACCOUNT_BYTES} bytes"
            ));
        }
        Ok(Self {
            home_account_id,
            username,
            realm,
            raw: raw.clone(),
        })
    }

    /// The credential's handle for this account.
    pub(crate) fn broker_account(&self) -> BrokerAccount {
        BrokerAccount {
            id: format!("{ACCOUNT_ID_PREFIX}{}", self.home_account_id),
            username: self.username.clone(),
        }
    }
}

/// The handle for the account `home_account_id` (from an authentication record of an earlier
/// process): the broker finds its account object by that id when it is first used.
pub(crate) fn account_for_home_account_id(
    home_account_id: &str,
    username: Option<String>,
) -> BrokerAccount {
    BrokerAccount {
        id: format!("{ACCOUNT_ID_PREFIX}{home_account_id}"),
        username,
    }
}

/// The `homeAccountId` in a [`BrokerAccount::id`] made by this broker; `None` for accounts of
/// another broker.
pub(crate) fn home_account_id(account: &BrokerAccount) -> Option<&str> {
    account
        .id
        .strip_prefix(ACCOUNT_ID_PREFIX)
        .filter(|id| !id.is_empty())
}

/// The request body of `getAccounts`.
pub(crate) fn accounts_request(client_id: &ClientId, redirect_uri: &str) -> String {
    serde_json::json!({ "clientId": client_id.as_str(), "redirectUri": redirect_uri }).to_string()
}

fn garbage(what: String) -> Error {
    Error::new(
        ErrorKind::BrokerUnavailable,
        format!("the broker's getAccounts answer is not usable ({what}); update or restart microsoft-identity-broker"),
    )
}

/// Reads the answer of `getAccounts`. A broker error is mapped like any other; an answer that
/// does not follow the protocol is [`ErrorKind::BrokerUnavailable`].
pub(crate) fn parse_accounts(response: &str, redirect_uri: &str) -> Result<Vec<LinuxAccount>> {
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(garbage(format!(
            "{} bytes, more than {MAX_RESPONSE_BYTES}",
            response.len()
        )));
    }
    let value: Value = serde_json::from_str(response)
        .map_err(|e| garbage("not json".to_owned()).with_source(e))?;
    if let Some(error) = value.get("error").filter(|e| is_error(e)) {
        return Err(broker_error(error, None, BrokerCall::Silent, redirect_uri));
    }
    let Some(list) = value.get("accounts").and_then(Value::as_array) else {
        return Err(garbage("no accounts list".to_owned()));
    };
    list.iter()
        .take(MAX_ACCOUNTS)
        .map(|a| LinuxAccount::from_json(a).map_err(garbage))
        .collect()
}

/// Whether an `error` member reports an error (a null or empty object does not).
pub(crate) fn is_error(error: &Value) -> bool {
    match error {
        Value::Null => false,
        Value::Object(map) => !map.is_empty(),
        _ => true,
    }
}

/// The account `use_default_broker_account` means on Linux, where the broker has no notion of
/// a default: the one matching the login hint, else the only account in the tenant asked
/// for, else the only account. `None` when that is not one account.
pub(crate) fn default_account<'a>(
    accounts: &'a [LinuxAccount],
    login_hint: Option<&str>,
    tenant: &str,
) -> Option<&'a LinuxAccount> {
    if let Some(hint) = login_hint {
        return accounts.iter().find(|a| {
            a.username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(hint))
        });
    }
    let in_tenant: Vec<&LinuxAccount> = accounts
        .iter()
        .filter(|a| {
            a.realm
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(tenant))
        })
        .collect();
    match (in_tenant.as_slice(), accounts) {
        ([one], _) => Some(one),
        ([], [one]) => Some(one),
        _ => None,
    }
}

/// Fuzzing entry: the accounts parser on arbitrary bytes.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(accounts) = parse_accounts(text, "https://x") {
            let _ = default_account(&accounts, Some("a@b"), "t");
            let _ = default_account(&accounts, None, "t");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "https://login.microsoftonline.com/common/oauth2/nativeclient";

    fn account(home: &str, user: &str, realm: &str) -> Value {
        serde_json::json!({
            "environment": "login.microsoftonline.com",
            "homeAccountId": home,
            "localAccountId": home.split('.').next().unwrap(),
            "realm": realm,
            "username": user,
            "givenName": "Some",
            "name": "Some One",
        })
    }

    #[test]
    fn accounts_parse_and_keep_the_raw_object() {
        let answer = serde_json::json!({ "accounts": [account("o1.t1", "a@contoso.com", "t1")] });
        let accounts = parse_accounts(&answer.to_string(), URI).unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].home_account_id, "o1.t1");
        assert_eq!(accounts[0].raw["givenName"], "Some");
        let handle = accounts[0].broker_account();
        assert_eq!(handle.id, "linux-broker:o1.t1");
        assert_eq!(home_account_id(&handle), Some("o1.t1"));
        assert_eq!(
            home_account_id(&BrokerAccount {
                id: "wam:work:1".into(),
                username: None
            }),
            None
        );
        assert!(!format!("{:?}", accounts[0]).contains("Some One"));
    }

    #[test]
    fn bad_answers_are_broker_unavailable_and_errors_are_mapped() {
        for bad in [
            "nope",
            "{}",
            r#"{"accounts":{}}"#,
            r#"{"accounts":[1]}"#,
            r#"{"accounts":[{"homeAccountId":""}]}"#,
            r#"{"accounts":[{"homeAccountId":"a","username":7}]}"#,
            r#"{"accounts":[{"homeAccountId":"a\u0000"}]}"#,
        ] {
            let e = parse_accounts(bad, URI).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{bad}");
        }
        let e = parse_accounts(
            r#"{"error":{"status":"InteractionRequired","context":"no prt"}}"#,
            URI,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(parse_accounts(r#"{"accounts":[],"error":null}"#, URI)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn the_default_account_is_unambiguous_or_none() {
        let parse = |v: Value| LinuxAccount::from_json(&v).unwrap();
        let a = parse(account("o1.t1", "a@contoso.com", "t1"));
        let b = parse(account("o2.t2", "b@fabrikam.com", "t2"));
        let both = [a.clone(), b.clone()];
        assert_eq!(
            default_account(&both, Some("B@fabrikam.com"), "x"),
            Some(&b)
        );
        assert_eq!(default_account(&both, Some("c@x.com"), "t1"), None);
        assert_eq!(default_account(&both, None, "T1"), Some(&a));
        assert_eq!(default_account(&both, None, "organizations"), None);
        assert_eq!(
            default_account(std::slice::from_ref(&a), None, "organizations"),
            Some(&a)
        );
        assert_eq!(default_account(&[], None, "organizations"), None);
    }
}
