use super::{
    authentication_record::AuthenticationRecord,
    broker_token_request_options::BrokerTokenRequestOptions,
    credential_config::{CredentialConfig, Surroundings},
    credential_core::CredentialCore,
    interactive_browser_broker_credential_options::InteractiveBrowserBrokerCredentialOptions,
    silent_steps::standard_chain,
};
use crate::{error::Result, oauth::AccessTokenInfo};
use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::Context,
};
use std::{fmt, sync::Arc};

/// Signs a user in to Entra ID through the platform broker (WAM on Windows, the Microsoft
/// identity broker on Linux) or, where there is none, the system browser; the Rust
/// counterpart of the Python `azure.identity.broker.InteractiveBrowserBrokerCredential`.
///
/// For each request it tries, in order, and stops at the first that gives a token:
///
/// 1. **silent**, shared by every caller of the same request (one run for any number of
///    callers, never any UI): the in-memory cache (keyed by authority, tenant, client, scopes,
///    claims, CAE and PoP); with a broker, its silent call for the account signed in before,
///    then (when `use_default_broker_account` is set) the OS default account; without one,
///    the persistent cache and the refresh token of an earlier browser sign-in. When none has
///    a token, the error lists what each said;
/// 2. **interactive** (unless `disable_automatic_authentication`): the broker's dialog, or the
///    browser flow where there is no broker (or it reported itself unavailable). This runs in
///    the caller's own task, one sign-in at a time per credential: dropping the caller's future
///    (or the configured `timeout`) cancels it at once (the broker's operation is cancelled, the
///    loopback listener closed). Every caller that may show UI gets UI when the silent steps
///    miss, whoever started them; callers that queued behind another's sign-in first retry
///    silently, so one sign-in usually serves them all.
///
/// A proof-of-possession request is never answered with a Bearer token: without a broker that
/// can make PoP tokens it fails with [`ErrorKind::PopNeedsBroker`](crate::ErrorKind::PopNeedsBroker).
///
/// The token cache holds at most 64 requests' tokens ([`mr_auth_core::DEFAULT_MAX_ENTRIES`]);
/// expired entries, then the least recently used, make room.
pub struct InteractiveBrowserBrokerCredential {
    core: CredentialCore,
}

impl InteractiveBrowserBrokerCredential {
    /// Builds the credential, validating every option.
    pub fn new(options: Option<InteractiveBrowserBrokerCredentialOptions>) -> Result<Arc<Self>> {
        Self::with_surroundings(options.unwrap_or_default(), Surroundings::default())
    }

    /// The same, with the clock and environment given (tests inject theirs).
    pub(crate) fn with_surroundings(
        options: InteractiveBrowserBrokerCredentialOptions,
        surroundings: Surroundings,
    ) -> Result<Arc<Self>> {
        let config = CredentialConfig::new(options, surroundings)?;
        Ok(Arc::new(Self {
            core: CredentialCore::new(config, standard_chain()),
        }))
    }

    /// A token for `scopes` with per-request options: the equivalent of the Python
    /// `get_token_info`. Returns the token type (`Bearer` or `pop`) and refresh time too.
    pub async fn get_token_info(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AccessTokenInfo> {
        self.core
            .get_token_info(scopes, options.unwrap_or_default(), &Context::new())
            .await
    }

    /// Signs the user in interactively (the broker's dialog, or the browser flow where there
    /// is no broker) for `scopes`, and returns the [`AuthenticationRecord`] of the account:
    /// the Python `authenticate`. It always shows UI, even with
    /// `disable_automatic_authentication` (it is the explicit sign-in that option asks for).
    ///
    /// Afterwards this credential's `get_token` is silent for that account. With
    /// `cache_persistence_options` the browser flow's tokens are stored in the persistent
    /// cache, so that a later process with this record (`authentication_record`) signs in
    /// silently too; keep the record where the application keeps its settings
    /// ([`AuthenticationRecord::to_json`]). With a platform broker the broker keeps the
    /// tokens, and the record names the broker's account.
    ///
    /// ```no_run
    /// use mr_auth_broker::{
    ///     InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
    ///     TokenCachePersistenceOptions,
    /// };
    ///
    /// # async fn run() -> mr_auth_broker::Result<()> {
    /// let credential = InteractiveBrowserBrokerCredential::new(Some(
    ///     InteractiveBrowserBrokerCredentialOptions {
    ///         cache_persistence_options: Some(TokenCachePersistenceOptions::default()),
    ///         ..Default::default()
    ///     },
    /// ))?;
    /// let record = credential
    ///     .authenticate(&["https://management.azure.com/.default"], None)
    ///     .await?;
    /// std::fs::write("auth-record.json", record.to_json()).ok();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of the interactive step ([`ErrorKind::UserCancelled`](crate::ErrorKind::UserCancelled), [`ErrorKind::Timeout`](crate::ErrorKind::Timeout),
    /// [`ErrorKind::AuthenticationFailed`](crate::ErrorKind::AuthenticationFailed)...); [`ErrorKind::PersistentCache`](crate::ErrorKind::PersistentCache) when
    /// `cache_persistence_options` is set and the tokens could not be kept: before any UI when
    /// the cache cannot be opened, read or written (no store, a corrupt document, a named pipe
    /// at its path, a directory that is not private or writable), or after the sign-in when
    /// storing them failed all the same (this credential still has them in memory);
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when the sign-in did not identify the account.
    pub async fn authenticate(
        &self,
        scopes: &[&str],
        options: Option<BrokerTokenRequestOptions>,
    ) -> Result<AuthenticationRecord> {
        self.core.authenticate(scopes, options).await
    }
}

impl fmt::Debug for InteractiveBrowserBrokerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.core.config();
        f.debug_struct("InteractiveBrowserBrokerCredential")
            .field("client_id", &config.client_id)
            .field("tenant_id", &config.tenant_id)
            .field("authority", &config.authority.to_string())
            .field("broker", &config.broker)
            .field("tokens", &self.core.tokens)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for InteractiveBrowserBrokerCredential {
    /// A token for `scopes`. Per-request options ([`BrokerTokenRequestOptions`]: claims, CAE,
    /// tenant, PoP) are read from `options.method_options.context` when a caller put them
    /// there.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.core.get_token(scopes, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        oauth::{ClientId, TokenType},
        platform::{
            BrokerAccount, BrokerMode, BrokerRequest, BrokerToken, ParentWindowHandle,
            PlatformBroker, PopMethod, PopParameters,
        },
    };
    use azure_core::credentials::Secret;
    use mr_auth_core::{Clock as _, ManualClock, DEFAULT_MAX_ENTRIES};
    use std::time::Duration;

    /// A broker whose every call succeeds at once, with a PoP token when asked.
    #[derive(Debug)]
    struct AlwaysSignedIn(Arc<ManualClock>);

    impl AlwaysSignedIn {
        fn token(&self, request: &BrokerRequest) -> Result<BrokerToken> {
            Ok(BrokerToken {
                token: AccessTokenInfo {
                    token: Secret::new("t"),
                    expires_on: self.0.now() + Duration::from_secs(3600),
                    token_type: if request.pop.is_some() {
                        TokenType::Pop
                    } else {
                        TokenType::Bearer
                    },
                    refresh_on: None,
                },
                account: Some(BrokerAccount {
                    id: "a".into(),
                    username: None,
                }),
            })
        }
    }

    #[async_trait::async_trait]
    impl PlatformBroker for AlwaysSignedIn {
        fn supports_pop(&self) -> bool {
            true
        }
        fn redirect_uri(&self, _: &ClientId) -> String {
            "ms-appx-web://x".into()
        }
        async fn acquire_token_silently(
            &self,
            request: &BrokerRequest,
            _: &BrokerAccount,
        ) -> Result<BrokerToken> {
            self.token(request)
        }
        async fn acquire_token_with_default_account(
            &self,
            request: &BrokerRequest,
        ) -> Result<BrokerToken> {
            self.token(request)
        }
        async fn acquire_token_interactively(
            &self,
            request: &BrokerRequest,
            _: Option<ParentWindowHandle>,
        ) -> Result<BrokerToken> {
            self.token(request)
        }
    }

    #[tokio::test]
    async fn ten_thousand_distinct_pop_nonces_leave_the_cache_at_its_bound() {
        tokio::time::timeout(Duration::from_secs(60), async {
            let clock = Arc::new(ManualClock::at_fixed_start());
            let c = InteractiveBrowserBrokerCredential::with_surroundings(
                InteractiveBrowserBrokerCredentialOptions {
                    broker: BrokerMode::Custom(Arc::new(AlwaysSignedIn(clock.clone()))),
                    ..Default::default()
                },
                Surroundings {
                    clock,
                    ..Surroundings::default()
                },
            )
            .unwrap();
            for n in 0..10_000 {
                let pop = PopParameters::new(
                    PopMethod::Get,
                    "https://r.example/x".parse().unwrap(),
                    Some(format!("nonce-{n}")),
                )
                .unwrap();
                let options = BrokerTokenRequestOptions {
                    pop: Some(pop),
                    ..Default::default()
                };
                let token = c.get_token_info(&["s"], Some(options)).await.unwrap();
                assert_eq!(token.token_type, TokenType::Pop);
                assert!(c.core.tokens.len() <= DEFAULT_MAX_ENTRIES);
            }
            assert_eq!(c.core.tokens.len(), DEFAULT_MAX_ENTRIES);
        })
        .await
        .expect("finished in time");
    }
}
