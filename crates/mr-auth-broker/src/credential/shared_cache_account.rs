//! How [`SharedTokenCacheCredential`](crate::SharedTokenCacheCredential) finds its account, as
//! azure-identity's `SharedTokenCacheCredential` does: among the accounts the persistent cache
//! holds a refresh token of the credential's client id for, at its authority host, the one its
//! options name (an authentication record's account, a user name, a tenant), or the only one.
//! It is the first of that credential's silent steps: it has no token of its own, it tells the
//! session which account's tokens the next steps look for.

use super::{
    authentication_record::AuthenticationRecord,
    session::Session,
    silent_chain::{Silent, SilentStep},
    token_request::TokenRequest,
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::TenantId,
    CachedAccount, MsalTokenCache,
};
use async_trait::async_trait;
use azure_core::http::Context;
use mr_auth_msal_cache::{describe_accounts, same_environment};
use std::fmt;

/// What a credential whose only source is the shared cache tells its caller to do when the
/// cache cannot give a token.
pub(crate) const SIGN_IN: &str = "sign in with `mr-auth login` (or the app that signed the account in: azure-identity, MSAL), then try again";

/// Which account the credential wants. Empty: the only one.
#[derive(Clone, Default)]
pub(crate) struct AccountFilter {
    /// The account of an authentication record (`<object id>.<home tenant id>`).
    pub(crate) home_account_id: Option<String>,
    /// The user name (compared ignoring case).
    pub(crate) username: Option<String>,
    /// A tenant the account belongs to: its home tenant or a tenant it signed in to. The
    /// multi-tenant aliases (`organizations`, `common`, `consumers`) choose nothing.
    pub(crate) tenant: Option<TenantId>,
}

impl fmt::Debug for AccountFilter {
    /// Whether each criterion is set, not the user name (as the options' `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountFilter")
            .field("authentication_record", &self.home_account_id.is_some())
            .field("username", &self.username.as_ref().map(|_| "<set>"))
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl AccountFilter {
    fn is_empty(&self) -> bool {
        self.home_account_id.is_none() && self.username.is_none() && self.tenant.is_none()
    }

    fn admits(&self, account: &CachedAccount, realms: &[String]) -> bool {
        let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
        self.home_account_id
            .as_deref()
            .is_none_or(|h| same(h, &account.home_account_id))
            && self
                .username
                .as_deref()
                .is_none_or(|u| same(u, &account.username))
            && self.tenant.as_ref().is_none_or(|t| {
                same(t.as_str(), account.home_tenant())
                    || realms.iter().any(|r| same(t.as_str(), r))
            })
    }

    /// What the filter asked for, for messages: ` username X tenant Y` (the options', checked
    /// to hold no control character).
    fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(home) = &self.home_account_id {
            out.push_str(&format!(" home account id {home}"));
        }
        if let Some(username) = &self.username {
            out.push_str(&format!(" username {username}"));
        }
        if let Some(tenant) = &self.tenant {
            out.push_str(&format!(" tenant {tenant}"));
        }
        out
    }
}

/// The accounts of `client_id` at the authority host `environment` in `document`: those with
/// a refresh token of that client, each once, in the cache's order.
pub(crate) fn shared_accounts(
    document: &MsalTokenCache,
    client_id: &str,
    environment: &str,
) -> Vec<CachedAccount> {
    document
        .accounts(Some(client_id))
        .into_iter()
        .filter(|a| same_environment(&a.environment, environment))
        .collect()
}

/// Why no account was chosen.
struct NoChoice {
    problem: String,
    /// Whether signing in would help (no account that fits), rather than choosing (several).
    sign_in_helps: bool,
}

/// The accounts of `accounts` that `filter` admits.
pub(crate) fn admitted<'a>(
    document: &MsalTokenCache,
    accounts: &'a [CachedAccount],
    filter: &AccountFilter,
) -> Vec<&'a CachedAccount> {
    accounts
        .iter()
        .filter(|a| {
            let realms = document.account_realms(&a.home_account_id, &a.environment);
            filter.admits(a, &realms)
        })
        .collect()
}

/// The one account `filter` admits, or the problem (no account, none that fits, several).
fn choose<'a>(
    document: &MsalTokenCache,
    accounts: &'a [CachedAccount],
    filter: &AccountFilter,
) -> std::result::Result<&'a CachedAccount, NoChoice> {
    let fitting = admitted(document, accounts, filter);
    let (problem, sign_in_helps) = match (fitting.as_slice(), accounts.is_empty(), filter.is_empty()) {
        ([only], _, _) => return Ok(only),
        (_, true, _) => ("the shared token cache holds no account of this client id at this authority".to_owned(), true),
        ([], false, false) => (format!(
            "no account matching the specified{} is in the shared token cache; the accounts there: {}",
            filter.describe(),
            describe_accounts(accounts)
        ), true),
        (several, false, false) => (format!(
            "several accounts matching the specified{} are in the shared token cache ({}); name it by username and tenant_id, or an authentication_record",
            filter.describe(),
            describe_accounts(several.iter().copied())
        ), false),
        (_, false, true) => (format!(
            "several accounts are in the shared token cache and none was chosen: {}; choose one with username (or tenant_id, or an authentication_record)",
            describe_accounts(accounts)
        ), false),
    };
    Err(NoChoice {
        problem,
        sign_in_helps,
    })
}

/// The first silent step of the shared token cache credential: chooses the account whose
/// tokens the next steps look for. Nothing fits: an [`ErrorKind::AuthenticationRequired`]
/// error that lists the accounts seen, unless an authentication record names the account (its
/// access token may still be there; the next steps say so).
#[derive(Debug)]
pub(crate) struct SharedCacheAccount(pub(crate) AccountFilter);

#[async_trait]
impl SilentStep for SharedCacheAccount {
    fn source(&self) -> &'static str {
        "shared token cache"
    }

    async fn attempt(
        &self,
        session: &Session,
        request: &TokenRequest,
        _: &Context<'_>,
    ) -> Result<Silent> {
        let Some(persistence) = &session.persistence else {
            return Ok(Silent::not_available("no persistent cache configured"));
        };
        let document = persistence.read(request.enable_cae).await?;
        let config = &session.config;
        let accounts =
            shared_accounts(&document, config.client_id.as_str(), &config.authority_name);
        match choose(&document, &accounts, &self.0) {
            Ok(account) => {
                session.choose_account(record(account, session)?);
                Ok(Silent::not_available(format!(
                    "the account {}, of those there: {}",
                    account.describe(),
                    describe_accounts(&accounts)
                )))
            }
            // A record's account: its access token may be stored without a refresh token.
            Err(none) if self.0.home_account_id.is_some() => {
                Ok(Silent::not_available(none.problem))
            }
            Err(none) => {
                let place = persistence.describe(request.enable_cae).await;
                let remedy = if none.sign_in_helps {
                    SIGN_IN
                } else {
                    "then try again"
                };
                Err(Error::new(
                    ErrorKind::AuthenticationRequired,
                    format!(
                        "{} (client id {}, authority {}{}); {remedy}",
                        none.problem,
                        config.client_id,
                        config.authority_name,
                        place.map(|p| format!(", {p}")).unwrap_or_default()
                    ),
                ))
            }
        }
    }
}

/// The record of a cache account: what the persistent cache's steps look for.
fn record(account: &CachedAccount, session: &Session) -> Result<AuthenticationRecord> {
    let config = &session.config;
    let tenant = TenantId::new(account.home_tenant())
        .or_else(|_| TenantId::new(account.realm.as_str()))
        .unwrap_or_else(|_| config.tenant_id.clone());
    // The credential's own authority, port included: cache entries name the host only (as
    // MSAL writes them), and a record's refresh token goes only to the authority it names.
    AuthenticationRecord::new(
        config.authority.record_authority(),
        config.client_id.clone(),
        account.home_account_id.as_str(),
        tenant,
        account.username.as_str(),
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::AuthenticationRequired,
            format!(
                "the shared token cache's account {} cannot be used ({}); {SIGN_IN}",
                account.describe(),
                e.message()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_auth_test_support::mock_authority::{MockAccount, TENANT};

    /// A cache with a@contoso.com (home tenant ta, signed in to the mock's tenant) and
    /// b@fabrikam.com (home tenant 0b0b0b0b-0000-4000-8000-00000000000b, signed in to it), of client `c` at `login.example.com`.
    fn two_accounts() -> MsalTokenCache {
        let mut document = MsalTokenCache::new();
        let a =
            MockAccount::new("a", "ta", "a@contoso.com").sign_in("c", "login.example.com", "rt-a");
        let mut b = MockAccount::new(
            "b",
            "0b0b0b0b-0000-4000-8000-00000000000b",
            "b@fabrikam.com",
        )
        .sign_in("c", "login.example.com", "rt-b");
        b.realm = "0b0b0b0b-0000-4000-8000-00000000000b".into();
        // Another client's and another authority's accounts are not this credential's.
        let other_client =
            MockAccount::new("x", "tx", "x@contoso.com").sign_in("d", "login.example.com", "rt-x");
        let other_host =
            MockAccount::new("y", "ty", "y@contoso.com").sign_in("c", "login.example.org", "rt-y");
        for write in [a, b, other_client, other_host] {
            document.add(&write).unwrap();
        }
        document
    }

    fn chosen(
        document: &MsalTokenCache,
        filter: &AccountFilter,
    ) -> std::result::Result<String, String> {
        let accounts = shared_accounts(document, "c", "login.example.com");
        choose(document, &accounts, filter)
            .map(|a| a.username.clone())
            .map_err(|none| none.problem)
    }

    #[test]
    fn the_only_account_or_the_one_the_options_name() {
        let document = two_accounts();
        let username = |u: &str| AccountFilter {
            username: Some(u.into()),
            ..Default::default()
        };
        let tenant = |t: &str| AccountFilter {
            tenant: Some(TenantId::new(t).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            chosen(&document, &username("B@FABRIKAM.COM")).unwrap(),
            "b@fabrikam.com"
        );
        assert_eq!(
            chosen(&document, &tenant("0b0b0b0b-0000-4000-8000-00000000000b")).unwrap(),
            "b@fabrikam.com"
        );
        assert_eq!(
            chosen(&document, &tenant(TENANT)).unwrap(),
            "a@contoso.com",
            "a tenant it signed in to"
        );
        let record = AccountFilter {
            home_account_id: Some("A.TA".into()),
            ..Default::default()
        };
        assert_eq!(chosen(&document, &record).unwrap(), "a@contoso.com");

        let mut one = MsalTokenCache::new();
        one.add(&MockAccount::new("a", "ta", "a@contoso.com").sign_in(
            "c",
            "login.example.com",
            "rt",
        ))
        .unwrap();
        assert_eq!(
            chosen(&one, &AccountFilter::default()).unwrap(),
            "a@contoso.com"
        );
    }

    #[test]
    fn nothing_that_fits_says_why_and_lists_the_accounts() {
        let document = two_accounts();
        let several = chosen(&document, &AccountFilter::default()).unwrap_err();
        assert!(several.contains("several accounts"), "{several}");
        assert!(
            several.contains("a@contoso.com (tenant ta), b@fabrikam.com (tenant 0b0b0b0b-0000-4000-8000-00000000000b)"),
            "{several}"
        );
        assert!(several.contains("choose one with username"), "{several}");
        assert!(
            !several.contains("x@contoso.com") && !several.contains("y@contoso.com"),
            "{several}"
        );

        let nobody = AccountFilter {
            username: Some("nobody@contoso.com".into()),
            ..Default::default()
        };
        let none = chosen(&document, &nobody).unwrap_err();
        assert!(
            none.starts_with("no account matching the specified username nobody@contoso.com"),
            "{none}"
        );
        assert!(
            none.contains("a@contoso.com (tenant ta), b@fabrikam.com (tenant 0b0b0b0b-0000-4000-8000-00000000000b)"),
            "{none}"
        );

        let empty = chosen(&MsalTokenCache::new(), &AccountFilter::default()).unwrap_err();
        assert!(empty.contains("holds no account"), "{empty}");

        let mut twins = MsalTokenCache::new();
        for (uid, utid) in [("a", "ta"), ("b", "0b0b0b0b-0000-4000-8000-00000000000b")] {
            twins
                .add(&MockAccount::new(uid, utid, "same@contoso.com").sign_in(
                    "c",
                    "login.example.com",
                    "rt",
                ))
                .unwrap();
        }
        let same = AccountFilter {
            username: Some("same@contoso.com".into()),
            ..Default::default()
        };
        let ambiguous = chosen(&twins, &same).unwrap_err();
        assert!(
            ambiguous.starts_with("several accounts matching the specified username"),
            "{ambiguous}"
        );
    }
}
