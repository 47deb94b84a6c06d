use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use mr_auth_core::{
    AccountDomain, AccountId, AccountKey, Error, MixedRealityStsClient,
    MixedRealityStsClientOptions,
};
use std::{fmt, sync::Arc};
use time::{Date, Month, OffsetDateTime, Time};

/// The `TokenCredential` of an account key: its token is `{account_id}:{account_key}`, with an
/// effectively infinite expiry (9999-12-31), whatever scopes are asked for.
///
/// Hand it to [`MixedRealityStsClient`] to exchange the key for a Mixed Reality token; never
/// send it to a Mixed Reality service directly.
pub struct AccountKeyCredential {
    account_id: AccountId,
    key: AccountKey,
}

impl AccountKeyCredential {
    /// A credential for `account_id` with `key`.
    pub fn new(account_id: AccountId, key: AccountKey) -> Arc<Self> {
        Arc::new(Self { account_id, key })
    }

    /// The account this key belongs to.
    pub fn account_id(&self) -> AccountId {
        self.account_id
    }
}

/// The expiry given to account-key tokens: the last second of year 9999, the latest time
/// `time` represents by default (the .NET SDK uses `DateTimeOffset.MaxValue`).
pub(crate) fn never_expires() -> OffsetDateTime {
    let date = Date::from_calendar_date(9999, Month::December, 31).expect("valid date");
    let time = Time::from_hms(23, 59, 59).expect("valid time");
    date.with_time(time).assume_utc()
}

#[async_trait::async_trait]
impl TokenCredential for AccountKeyCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        // Built in one allocation of the final size, so no partial copy of the key is left in
        // a freed buffer (`format!` grows its buffer as it writes). The result must be
        // azure_core's `Secret`, which does not zeroize on drop: that copy lives as long as
        // the caller keeps the token (the STS client drops it after one request).
        let account_id = self.account_id.to_string();
        let key = self.key.secret();
        let mut token = String::with_capacity(account_id.len() + 1 + key.len());
        token.push_str(&account_id);
        token.push(':');
        token.push_str(key);
        Ok(AccessToken::new(Secret::new(token), never_expires()))
    }
}

impl fmt::Debug for AccountKeyCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKeyCredential")
            .field("account_id", &self.account_id)
            .field("key", &self.key)
            .finish()
    }
}

/// Builds an STS client that authenticates with an account key: the shortest way from an
/// account id, domain and key to a Mixed Reality token.
///
/// ```no_run
/// # async fn run() -> Result<(), mr_auth_core::Error> {
/// use mr_auth_credentials::{sts_client_with_account_key, AccountKey};
///
/// let client = sts_client_with_account_key(
///     "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse()?,
///     "eastus2.mixedreality.azure.com".parse()?,
///     AccountKey::new(std::env::var("MIXEDREALITY_ACCOUNT_KEY").unwrap_or_default())?,
///     None,
/// )?;
/// let token = client.get_token().await?;
/// println!("expires on {}", token.access_token.expires_on);
/// # Ok(()) }
/// ```
pub fn sts_client_with_account_key(
    account_id: AccountId,
    account_domain: AccountDomain,
    key: AccountKey,
    options: Option<MixedRealityStsClientOptions>,
) -> Result<Arc<MixedRealityStsClient>, Error> {
    let credential = AccountKeyCredential::new(account_id, key);
    MixedRealityStsClient::new(account_id, account_domain, credential, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> AccountId {
        "87e9abb1-79b9-4502-bbae-cfae8c610f23".parse().unwrap()
    }

    #[tokio::test]
    async fn token_is_id_colon_key_with_far_expiry_for_any_scope() {
        mr_auth_test_support::bounded(async move {
            let credential =
                AccountKeyCredential::new(id(), AccountKey::new("my_account_key").unwrap());
            for scopes in [
                &[][..],
                &["https://sts.mixedreality.azure.com//.default"][..],
            ] {
                let token = credential.get_token(scopes, None).await.unwrap();
                assert_eq!(
                    token.token.secret(),
                    "87e9abb1-79b9-4502-bbae-cfae8c610f23:my_account_key"
                );
                assert_eq!(token.expires_on.year(), 9999);
            }
        })
        .await;
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = AccountKey::new("super-secret-key").unwrap();
        let credential = AccountKeyCredential::new(id(), key.clone());
        for text in [
            format!("{key:?}"),
            format!("{credential:?}"),
            format!("{credential:#?}"),
        ] {
            assert!(!text.contains("super-secret-key"), "{text}");
        }
        assert!(
            format!("{credential:?}").contains("87e9abb1"),
            "the account id is not secret"
        );
    }
}
