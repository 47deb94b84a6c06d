//! `SharedTokenCacheCredential` on a persistent cache another app filled (a plaintext file in
//! a home of the test's own), against the loopback mock authority: a stored access token with
//! no request at all, a refresh (stored back) when it expired, the account chosen by user name,
//! tenant or record, several accounts and none, a refused refresh token, claims, CAE and PoP.
//! The interop with Python's azure-identity and MSAL is in `tests/shared_token_cache_interop.rs`.

mod shared_cache_support;

use azure_core::credentials::TokenCredential as _;
use mr_auth_broker::{
    test_util::{shared_token_cache_credential_with_hooks, TestHooks},
    AuthenticationRecord, BrokerTokenRequestOptions, CacheWrite, ErrorKind, PopMethod,
    PopParameters, SharedTokenCacheCredential, SharedTokenCacheCredentialOptions,
    TokenCachePersistenceOptions,
};
use mr_auth_core::{Clock as _, ManualClock};
use mr_auth_msal_cache::AccessTokenSecret;
use mr_auth_test_support::{
    bounded,
    mock_authority::{AuthorizeMode, MockAccount, MockAuthority, CLIENT_ID, TENANT},
    TempHome,
};
use shared_cache_support::{token_secret, SCOPE};
use std::{sync::Arc, time::Duration};

/// Another app registration, whose sign-ins are not this credential's.
const OTHER_CLIENT: &str = "99999999-8888-7777-6666-555555555555";

/// `e` is `AuthenticationRequired`, and its message says each of `needles`.
fn assert_required_saying(e: &mr_auth_broker::Error, needles: &[&str]) {
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
    for needle in needles {
        assert!(e.message().contains(needle), "{needle:?} missing: {e}");
    }
}

fn alice() -> MockAccount {
    MockAccount::new("a", "ta", "alice@contoso.com")
}

fn bob() -> MockAccount {
    MockAccount::new(
        "b",
        "0b0b0b0b-0000-4000-8000-00000000000b",
        "bob@fabrikam.com",
    )
}

struct Setup {
    authority: MockAuthority,
    clock: Arc<ManualClock>,
    home: TempHome,
}

impl Setup {
    async fn new() -> Self {
        Self {
            authority: MockAuthority::start(AuthorizeMode::Stall).await,
            clock: Arc::new(ManualClock::at_fixed_start()),
            home: TempHome::new(),
        }
    }

    /// The options of a credential for the mock authority's client and tenant.
    fn options(&self) -> SharedTokenCacheCredentialOptions {
        SharedTokenCacheCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: Some(TENANT.parse().unwrap()),
            authority: Some(self.authority.authority_host().parse().unwrap()),
            cache_persistence_options: Some(TokenCachePersistenceOptions {
                allow_unencrypted_storage: true,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A credential as a new process makes it, on this setup's clock and home.
    fn credential(
        &self,
        options: SharedTokenCacheCredentialOptions,
    ) -> Arc<SharedTokenCacheCredential> {
        shared_token_cache_credential_with_hooks(
            Some(options),
            TestHooks {
                clock: self.clock.clone(),
                environment: Arc::new(self.home.environment()),
            },
        )
        .unwrap()
    }

    /// `account`'s sign-in by the mock's client, with an access token for [`SCOPE`] valid for
    /// `lifetime` seconds from now and a refresh token the authority redeems.
    fn sign_in(&self, account: &MockAccount, lifetime: i64) -> CacheWrite {
        let refresh_token = format!("rt-of-{}", account.uid);
        self.authority
            .accept_refresh_token(&refresh_token, account.clone());
        CacheWrite {
            scopes: vec![SCOPE.to_owned()],
            access_token: Some(AccessTokenSecret::new(format!("at-of-{}", account.uid))),
            expires_in: lifetime,
            now: Some(self.clock.now()),
            ..account.sign_in(CLIENT_ID, "127.0.0.1", &refresh_token)
        }
    }

    /// A setup whose cache holds Alice's sign-in, with an access token valid for `lifetime`
    /// seconds, and a credential on it.
    async fn alice_signed_in(lifetime: i64) -> (Self, Arc<SharedTokenCacheCredential>) {
        let s = Self::new().await;
        s.home.seed(&[s.sign_in(&alice(), lifetime)]).await;
        let c = s.credential(s.options());
        (s, c)
    }

    fn grants(&self) -> Vec<String> {
        self.authority
            .log(|l| l.token_requests.iter().map(|(g, _)| g.clone()).collect())
    }
}

#[tokio::test]
async fn a_stored_access_token_needs_no_request() {
    bounded(async {
        let (s, c) = Setup::alice_signed_in(3600).await;
        let token = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(token.token.secret(), "at-of-a");
        // As any Azure SDK client calls it.
        let token = c.get_token(&[SCOPE], None).await.unwrap();
        assert_eq!(token.token.secret(), "at-of-a");
        assert!(s.grants().is_empty(), "no request at all: {:?}", s.grants());
        assert_eq!(s.authority.log(|l| l.authorize_requests), 0);
        let accounts = c.accounts().await.unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].username, "alice@contoso.com");
        assert_eq!(accounts[0].home_account_id, "a.ta");
    })
    .await;
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_the_new_tokens_are_stored_back() {
    bounded(async {
        // Valid for 2 more minutes: within the 5-minute margin, so it counts as expired.
        let (s, c) = Setup::alice_signed_in(120).await;
        let token = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert!(
            token.token.secret().starts_with("access-token-"),
            "{token:?}"
        );
        assert_eq!(s.grants(), ["refresh_token"]);
        assert_eq!(
            s.authority.log(|l| l.last_token_form_keys.clone()),
            [
                "client_id",
                "client_info",
                "grant_type",
                "refresh_token",
                "scope"
            ]
        );

        // Stored back: the new access token, the rotated refresh token, the family id.
        let document = s.home.document().await;
        let stored = document
            .access_token(
                CLIENT_ID,
                "a.ta",
                "127.0.0.1",
                TENANT,
                &[SCOPE.to_owned()],
                s.clock.now(),
            )
            .unwrap();
        assert_eq!(stored.secret.secret(), token.token.secret());
        let rotated = document
            .refresh_token(CLIENT_ID, "a.ta", "127.0.0.1")
            .unwrap();
        assert!(
            rotated.secret().starts_with("refresh-token-"),
            "the rotated one"
        );
        let text = String::from_utf8(document.to_vec().to_vec()).unwrap();
        assert!(
            text.contains(r#""family_id": "1""#),
            "the family id is stored"
        );

        // A new process: the stored token, no request; the same credential: from memory.
        let again = s.credential(s.options());
        assert_eq!(token_secret(&again).await, token.token.secret());
        c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(s.grants(), ["refresh_token"]);

        // When that one expires too, the rotated refresh token serves.
        s.clock.advance(Duration::from_secs(3600));
        let later = again.get_token_info(&[SCOPE], None).await.unwrap();
        assert_ne!(later.token.secret(), token.token.secret());
        assert_eq!(s.grants(), ["refresh_token", "refresh_token"]);
    })
    .await;
}

#[tokio::test]
async fn the_account_by_user_name_tenant_or_record() {
    bounded(async {
        let s = Setup::new().await;
        // Bob signed in to his home tenant, Alice to the mock's.
        let bob_in_his_tenant = CacheWrite {
            realm: "0b0b0b0b-0000-4000-8000-00000000000b".into(),
            ..s.sign_in(&bob(), 3600)
        };
        s.home
            .seed(&[s.sign_in(&alice(), 3600), bob_in_his_tenant])
            .await;
        let token = |options: SharedTokenCacheCredentialOptions| {
            let c = s.credential(options);
            async move { c.get_token_info(&[SCOPE], None).await }
        };

        // No tenant (organizations): either could serve.
        let unchosen = SharedTokenCacheCredentialOptions {
            tenant_id: None,
            ..s.options()
        };
        let e = token(unchosen).await.unwrap_err();
        assert_required_saying(
            &e,
            &[
                "several accounts",
                "alice@contoso.com (tenant ta)",
                "bob@fabrikam.com (tenant 0b0b0b0b-0000-4000-8000-00000000000b)",
                "choose one with username",
            ],
        );
        assert!(
            !e.message().contains("mr-auth login"),
            "a choice, not a sign-in: {e}"
        );

        let by_name = SharedTokenCacheCredentialOptions {
            username: Some("Bob@Fabrikam.com".into()),
            tenant_id: Some("0b0b0b0b-0000-4000-8000-00000000000b".parse().unwrap()),
            ..s.options()
        };
        assert_eq!(token(by_name).await.unwrap().token.secret(), "at-of-b");
        let by_tenant = SharedTokenCacheCredentialOptions {
            tenant_id: Some("0b0b0b0b-0000-4000-8000-00000000000b".parse().unwrap()),
            ..s.options()
        };
        assert_eq!(token(by_tenant).await.unwrap().token.secret(), "at-of-b");
        // The mock's tenant: Alice signed in there (Bob did not).
        assert_eq!(
            token(s.options_in(TENANT)).await.unwrap().token.secret(),
            "at-of-a"
        );

        let record = AuthenticationRecord::new(
            s.authority.record_authority(),
            CLIENT_ID.parse().unwrap(),
            "a.ta",
            TENANT.parse().unwrap(),
            "alice@contoso.com",
        )
        .unwrap();
        let by_record = SharedTokenCacheCredentialOptions {
            tenant_id: None,
            authentication_record: Some(record),
            ..s.options()
        };
        assert_eq!(token(by_record).await.unwrap().token.secret(), "at-of-a");

        // What a tool shows before choosing: every account, and those the options admit.
        let c = s.credential(s.options_in("0b0b0b0b-0000-4000-8000-00000000000b"));
        let names = |accounts: Vec<mr_auth_broker::CachedAccount>| {
            accounts.into_iter().map(|a| a.username).collect::<Vec<_>>()
        };
        assert_eq!(
            names(c.accounts().await.unwrap()),
            ["alice@contoso.com", "bob@fabrikam.com"]
        );
        assert_eq!(
            names(c.matching_accounts().await.unwrap()),
            ["bob@fabrikam.com"]
        );

        let nobody = SharedTokenCacheCredentialOptions {
            username: Some("nobody@contoso.com".into()),
            ..s.options()
        };
        let e = token(nobody).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
        assert!(
            e.message()
                .contains("no account matching the specified username nobody@contoso.com"),
            "{e}"
        );
        assert!(
            e.message().contains(
                "alice@contoso.com (tenant ta), bob@fabrikam.com (tenant 0b0b0b0b-0000-4000-8000-00000000000b)"
            ),
            "{e}"
        );
        assert!(s.grants().is_empty(), "every answer came from the cache");
    })
    .await;
}

impl Setup {
    /// [`Setup::options`] with the tenant filter `tenant` only.
    fn options_in(&self, tenant: &str) -> SharedTokenCacheCredentialOptions {
        SharedTokenCacheCredentialOptions {
            tenant_id: Some(tenant.parse().unwrap()),
            ..self.options()
        }
    }
}

#[tokio::test]
async fn no_account_of_this_client_is_authentication_required() {
    bounded(async {
        let s = Setup::new().await;
        let c = s.credential(s.options());
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        assert_required_saying(&e, &["holds no account", "mr-auth login", CLIENT_ID]);

        // Another app's sign-in is not this client's.
        s.home
            .seed(&[alice().sign_in(OTHER_CLIENT, "127.0.0.1", "rt-other")])
            .await;
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        assert!(e.message().contains("holds no account"), "{e}");
        assert!(c.accounts().await.unwrap().is_empty());
        assert!(s.grants().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_refused_refresh_token_is_authentication_required_naming_the_account() {
    bounded(async {
        let s = Setup::new().await;
        // Expired, and a refresh token the authority does not know (revoked).
        let revoked = CacheWrite {
            refresh_token: Some(mr_auth_msal_cache::RefreshTokenSecret::new("revoked")),
            ..s.sign_in(&alice(), 60)
        };
        s.home.seed(&[revoked]).await;
        let c = s.credential(s.options());
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        let account = "alice@contoso.com (tenant ta)";
        assert_required_saying(&e, &[account, "mr-auth login", "refresh token is unknown"]);
        assert!(
            !e.error_codes().is_empty(),
            "the authority's codes are kept: {e:?}"
        );
        assert_eq!(s.grants(), ["refresh_token"]);

        let e = c.authenticate(&[SCOPE], None).await.unwrap_err();
        assert_required_saying(&e, &[account, "mr-auth login"]);
        assert!(!e.error_codes().is_empty(), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn authenticate_redeems_the_refresh_token_and_returns_the_record() {
    bounded(async {
        let (s, c) = Setup::alice_signed_in(3600).await;
        let record = c.authenticate(&[SCOPE], None).await.unwrap();
        assert_eq!(
            s.grants(),
            ["refresh_token"],
            "even with a valid access token"
        );
        assert_eq!(record.username(), "alice@contoso.com");
        assert_eq!(record.home_account_id(), "a.ta");
        assert_eq!(record.client_id().as_str(), CLIENT_ID);
        assert_eq!(
            record.authority(),
            s.authority.record_authority(),
            "host and port: its refresh token goes nowhere else"
        );
        // The new token is this credential's from now on, and the cache's.
        let token = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert!(
            token.token.secret().starts_with("access-token-"),
            "{token:?}"
        );
        assert_eq!(s.grants(), ["refresh_token"]);
        let fresh = s.credential(s.options());
        assert_eq!(token_secret(&fresh).await, token.token.secret());
    })
    .await;
}

#[tokio::test]
async fn claims_skip_the_stored_token_cae_has_its_own_cache_and_pop_is_refused() {
    bounded(async {
        let (s, c) = Setup::alice_signed_in(3600).await;
        let challenge = BrokerTokenRequestOptions {
            claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
            ..Default::default()
        };
        let token = c.get_token_info(&[SCOPE], Some(challenge)).await.unwrap();
        assert_ne!(
            token.token.secret(),
            "at-of-a",
            "a claims challenge needs a new token"
        );
        assert_eq!(s.grants(), ["refresh_token"]);

        // Nothing was signed in to the CAE cache.
        let cae = BrokerTokenRequestOptions {
            enable_cae: true,
            ..Default::default()
        };
        let e = c.get_token_info(&[SCOPE], Some(cae)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
        assert!(e.message().contains(".cae"), "names the CAE cache: {e}");

        let pop = BrokerTokenRequestOptions {
            pop: Some(
                PopParameters::new(PopMethod::Get, "https://r.example/x".parse().unwrap(), None)
                    .unwrap(),
            ),
            ..Default::default()
        };
        let e = c.get_token_info(&[SCOPE], Some(pop)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PopNeedsBroker, "{e}");
        assert_eq!(s.grants(), ["refresh_token"]);
    })
    .await;
}

#[tokio::test]
async fn by_default_the_developer_cache_is_read_where_another_app_left_it() {
    bounded(async {
        let s = Setup::new().await;
        s.home.seed(&[s.sign_in(&alice(), 3600)]).await;
        // No cache options: azure-identity's default, which reads the plaintext file where no
        // Secret Service runs.
        let c = s.credential(SharedTokenCacheCredentialOptions {
            cache_persistence_options: None,
            ..s.options()
        });
        assert_eq!(token_secret(&c).await, "at-of-a");
        // Refusing plaintext: the cache cannot be opened, and the error says why (Windows
        // always has its encrypted store, DPAPI).
        #[cfg(not(windows))]
        {
            let encrypted_only = s.credential(SharedTokenCacheCredentialOptions {
                cache_persistence_options: Some(TokenCachePersistenceOptions::default()),
                ..s.options()
            });
            let e = encrypted_only
                .get_token_info(&[SCOPE], None)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PersistentCache, "{e}");
        }
    })
    .await;
}

#[test]
fn debug_leaves_out_the_user_name() {
    let credential = SharedTokenCacheCredential::new(Some(SharedTokenCacheCredentialOptions {
        username: Some("someone@contoso.com".into()),
        ..Default::default()
    }))
    .unwrap();
    let debug = format!("{credential:?}");
    assert!(debug.contains("SharedTokenCacheCredential"), "{debug}");
    assert!(!debug.contains("someone@contoso.com"), "{debug}");
}

#[test]
fn a_record_of_another_client_or_an_empty_user_name_is_invalid_input() {
    let record = AuthenticationRecord::new(
        "127.0.0.1",
        OTHER_CLIENT.parse().unwrap(),
        "a.ta",
        TENANT.parse().unwrap(),
        "alice@contoso.com",
    )
    .unwrap();
    for options in [
        SharedTokenCacheCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            authority: Some("http://127.0.0.1:1".parse().unwrap()),
            authentication_record: Some(record),
            ..Default::default()
        },
        SharedTokenCacheCredentialOptions {
            username: Some(" ".into()),
            ..Default::default()
        },
    ] {
        let e = SharedTokenCacheCredential::new(Some(options)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
}
