//! A successful `WebTokenResponse`, read into the credential's types (platform-neutral).

use super::{wam_account_id::WamAccountId, wam_route::AccountKind};
use crate::{
    error::{Error, Result},
    oauth::{AccessTokenInfo, TokenType},
    platform::{BrokerAccount, BrokerToken},
};
use azure_core::credentials::Secret;
use std::fmt;
use time::OffsetDateTime;

/// What the Windows code copies out of a `WebTokenResponse`.
pub(crate) struct WamResponse {
    /// `WebTokenResponse.Token`.
    pub(crate) token: Secret,
    /// `WebTokenResponse.Properties` (`TokenExpiresOn`, `Authority`, `wamcompat_id_token`,
    /// `wamcompat_client_info`, for a transfer token `code`, ...).
    pub(crate) properties: Vec<(String, String)>,
    /// `WebTokenResponse.WebAccount.Id`, when there is an account.
    pub(crate) web_account_id: Option<String>,
    /// `WebTokenResponse.WebAccount.UserName`, when there is an account.
    pub(crate) username: Option<String>,
}

/// Shows property names only: values such as `code` (a transfer token) and the id token are
/// secrets.
impl fmt::Debug for WamResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.properties.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("WamResponse")
            .field("token", &self.token)
            .field("property_names", &keys)
            .field("web_account_id", &self.web_account_id)
            .finish_non_exhaustive()
    }
}

impl WamResponse {
    /// A property, matching its name case-insensitively (as MSAL does).
    pub(crate) fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The access token of an account of `kind`, its expiry from `TokenExpiresOn`, and the
    /// account to use for later silent requests (`account_override` for MSA passthrough,
    /// whose final response comes from the AAD plugin but whose account is the MSA one).
    pub(crate) fn into_broker_token(
        self,
        kind: AccountKind,
        account_override: Option<BrokerAccount>,
    ) -> Result<BrokerToken> {
        if self.token.secret().is_empty() {
            return Err(Error::protocol(
                "wam reported success but returned an empty token",
            ));
        }
        let expires_on = match self.property("TokenExpiresOn") {
            Some(raw) => parse_expires_on(raw).ok_or_else(|| {
                Error::protocol(format!(
                    "wam returned the token expiry {raw:?}, which is not a unix time in seconds"
                ))
            })?,
            None => {
                return Err(Error::protocol(
                    "wam returned a token without its expiry (TokenExpiresOn)",
                ))
            }
        };
        let account = account_override.or_else(|| self.account(kind));
        Ok(BrokerToken {
            token: AccessTokenInfo {
                token: self.token,
                expires_on,
                token_type: TokenType::Bearer,
                refresh_on: None,
            },
            account,
        })
    }

    /// The response's account as a [`BrokerAccount`] of `kind`.
    pub(crate) fn account(&self, kind: AccountKind) -> Option<BrokerAccount> {
        let id = self.web_account_id.as_deref().filter(|id| !id.is_empty())?;
        Some(BrokerAccount {
            id: WamAccountId {
                kind,
                web_account_id: id.to_owned(),
            }
            .to_string(),
            username: self.username.clone().filter(|u| !u.trim().is_empty()),
        })
    }

    /// MSA passthrough: the transfer token, returned as the `code` property.
    pub(crate) fn transfer_token(&self) -> Result<Secret> {
        match self.property("code").filter(|c| !c.is_empty()) {
            Some(code) => Ok(Secret::new(code.to_owned())),
            None => Err(Error::protocol(
                "the msa plugin returned no transfer token (code) for msa passthrough",
            )),
        }
    }
}

/// `TokenExpiresOn`: Unix time in seconds, as decimal text. Surrounding whitespace and a
/// fractional part are accepted; anything else (empty, negative, not a number, beyond the
/// year 9999) is `None`. Never panics.
pub(crate) fn parse_expires_on(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    let whole = match raw.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => whole,
        Some(_) => return None,
        None => raw,
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// Fuzzing entry: a response read from arbitrary bytes (as UTF-8, lossily), one field a line:
/// the token, the `WebAccount.Id` (empty for none), the user name (empty for none), then one
/// property a line as `name=value`. Reads it as every account kind and checks that a token
/// handed out carries the expiry parsed from `TokenExpiresOn`, that an account id names the
/// kind and `WebAccount.Id` it came from, and that `Debug` shows no token or property value.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let token = lines.next().unwrap_or_default().to_owned();
    let optional = |line: Option<&str>| line.filter(|l| !l.is_empty()).map(str::to_owned);
    let web_account_id = optional(lines.next());
    let username = optional(lines.next());
    let properties: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let response = WamResponse {
        token: Secret::new(token.clone()),
        properties,
        web_account_id,
        username,
    };
    check_debug_hides_values(&response, &token);
    let _ = response.transfer_token();
    for kind in [
        AccountKind::Work,
        AccountKind::Personal,
        AccountKind::MsaPassthrough,
    ] {
        let expected_expiry = response.property("TokenExpiresOn").map(parse_expires_on);
        if let Some(account) = response.account(kind) {
            let id = WamAccountId::parse(&account.id)
                .unwrap_or_else(|| panic!("an account id this crate made does not parse"));
            assert_eq!(id.kind, kind, "account id names another kind");
            assert_eq!(
                Some(id.web_account_id.as_str()),
                response.web_account_id.as_deref(),
                "account id lost the WebAccount.Id"
            );
        }
        let copy = WamResponse {
            token: response.token.clone(),
            properties: response.properties.clone(),
            web_account_id: response.web_account_id.clone(),
            username: response.username.clone(),
        };
        if let Ok(issued) = copy.into_broker_token(kind, None) {
            assert_eq!(
                expected_expiry,
                Some(Some(issued.token.expires_on)),
                "expiry differs from TokenExpiresOn"
            );
            assert!(
                !issued.token.token.secret().is_empty(),
                "empty token issued"
            );
        }
    }
}

/// A value long enough and plain enough (ASCII alphanumeric) not to turn up in `Debug` by
/// coincidence (inside a property name, the account id or the field names) must not be shown.
#[cfg(feature = "fuzzing")]
fn check_debug_hides_values(response: &WamResponse, token: &str) {
    let debug = format!("{response:?}");
    let values = response.properties.iter().map(|(_, v)| v.as_str());
    for value in values.chain([token]) {
        let distinctive = value.len() >= 16 && value.bytes().all(|b| b.is_ascii_alphanumeric());
        // Compared as `Debug` renders them: an escaped tab before "ransfer..." reads
        // "\transfer..." (found by the long fuzz run).
        let elsewhere = response
            .properties
            .iter()
            .any(|(k, _)| format!("{k:?}").contains(value))
            || response
                .web_account_id
                .as_deref()
                .is_some_and(|id| format!("{id:?}").contains(value));
        if distinctive && !elsewhere {
            assert!(!debug.contains(value), "Debug shows a secret value");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(props: &[(&str, &str)]) -> WamResponse {
        WamResponse {
            token: Secret::new("tok-secret"),
            properties: props
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            web_account_id: Some("web-1".into()),
            username: Some("someone@contoso.com".into()),
        }
    }

    #[test]
    fn expiry_parses_unix_seconds_robustly() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(parse_expires_on("1700000000"), Some(t));
        assert_eq!(parse_expires_on(" 1700000000\n"), Some(t));
        assert_eq!(parse_expires_on("1700000000.75"), Some(t));
        for bad in [
            "",
            " ",
            "-1",
            "+5",
            "1e9",
            "abc",
            "17000.x",
            ".5",
            "1_000",
            "99999999999999999999999",
            "9999999999999999",
            "2023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_expires_on(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_success_becomes_a_bearer_token_with_its_account() {
        let token = response(&[
            ("TokenExpiresOn", "1700000000"),
            ("Authority", "https://login.microsoftonline.com/common"),
        ])
        .into_broker_token(AccountKind::Work, None)
        .unwrap();
        assert_eq!(token.token.token.secret(), "tok-secret");
        assert_eq!(token.token.token_type, TokenType::Bearer);
        assert_eq!(token.token.expires_on.unix_timestamp(), 1_700_000_000);
        assert_eq!(token.token.refresh_on, None);
        let account = token.account.unwrap();
        assert_eq!(account.id, "wam:work:web-1");
        assert_eq!(account.username.as_deref(), Some("someone@contoso.com"));
    }

    #[test]
    fn property_names_match_case_insensitively() {
        let r = response(&[("tokenexpireson", "1700000000")]);
        assert_eq!(r.property("TokenExpiresOn"), Some("1700000000"));
        r.into_broker_token(AccountKind::Personal, None).unwrap();
    }

    #[test]
    fn missing_or_bad_expiry_and_empty_token_are_protocol_errors_not_panics() {
        let e = response(&[])
            .into_broker_token(AccountKind::Work, None)
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Protocol);
        assert!(e.message().contains("TokenExpiresOn"), "{e}");
        let e = response(&[("TokenExpiresOn", "soon")])
            .into_broker_token(AccountKind::Work, None)
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Protocol);
        let mut r = response(&[("TokenExpiresOn", "1700000000")]);
        r.token = Secret::new("");
        assert_eq!(
            r.into_broker_token(AccountKind::Work, None)
                .unwrap_err()
                .kind(),
            crate::error::ErrorKind::Protocol
        );
    }

    #[test]
    fn no_web_account_means_no_account_and_override_wins() {
        let mut r = response(&[("TokenExpiresOn", "1700000000")]);
        r.web_account_id = None;
        assert!(r
            .into_broker_token(AccountKind::Work, None)
            .unwrap()
            .account
            .is_none());
        let over = BrokerAccount {
            id: "wam:msa-passthrough:m".into(),
            username: None,
        };
        let t = response(&[("TokenExpiresOn", "1700000000")])
            .into_broker_token(AccountKind::MsaPassthrough, Some(over.clone()))
            .unwrap();
        assert_eq!(t.account, Some(over));
    }

    #[test]
    fn transfer_token_comes_from_code_and_debug_hides_secrets() {
        let r = response(&[("code", "transfer-secret"), ("wamcompat_id_token", "idtok")]);
        assert_eq!(r.transfer_token().unwrap().secret(), "transfer-secret");
        let debug = format!("{r:?}");
        for secret in ["transfer-secret", "idtok", "tok-secret"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(response(&[]).transfer_token().is_err());
    }
}
