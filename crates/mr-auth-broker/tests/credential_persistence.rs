//! The credential on the persistent token cache: `authenticate` returns the record, a new
//! credential with that record is silent (access token, then refresh token), rotated refresh
//! tokens replace the stored one, and a missing store or a corrupt cache never costs a token
//! or the file (`tests/no_secrets_in_logs.rs` checks the logs of the same flows). Plaintext files on Linux and macOS (the Secret Service is in
//! `tests/sign_in_once.rs`), DPAPI-encrypted ones on Windows (under Wine in CI), with a
//! scripted browser against the loopback mock authority.

use mr_auth_broker::{
    test_util::{credential_with_hooks, TestHooks},
    AuthenticationRecord, BrokerAccount, BrokerMode, BrokerRequest, BrokerToken, ClientId,
    ErrorKind, InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
    ParentWindowHandle, PersistentTokenCache, PlatformBroker, TokenCachePersistenceOptions,
};
use mr_auth_core::ManualClock;
use mr_auth_test_support::{
    chromium::{handler, NoBrowser, ScriptedBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT, USERNAME},
    LogCapture, TempHome,
};
use std::{path::PathBuf, sync::Arc, time::Duration};

const SCOPE: &str = "https://storage.azure.com/.default";
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

struct Setup {
    authority: Arc<MockAuthority>,
    browser: Arc<ScriptedBrowser>,
    clock: Arc<ManualClock>,
    home: TempHome,
}

impl Setup {
    /// The mock authority as a record names it: `127.0.0.1:<port>` (not the default port).
    fn record_authority(&self) -> String {
        self.authority.record_authority()
    }

    async fn new() -> Self {
        let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
        Self {
            browser: Arc::new(ScriptedBrowser::new(authority.clone())),
            authority,
            clock: Arc::new(ManualClock::at_fixed_start()),
            home: TempHome::new(),
        }
    }

    fn options(&self, allow_unencrypted: bool) -> InteractiveBrowserBrokerCredentialOptions {
        InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authority: Some(self.authority.authority_host().parse().unwrap()),
            authorize_url_handler: handler(self.browser.clone()),
            broker: BrokerMode::BrowserOnly,
            timeout: Duration::from_secs(20),
            cache_persistence_options: Some(TokenCachePersistenceOptions {
                allow_unencrypted_storage: allow_unencrypted,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A credential on this setup's clock and home.
    fn credential(
        &self,
        options: InteractiveBrowserBrokerCredentialOptions,
    ) -> mr_auth_broker::Result<Arc<InteractiveBrowserBrokerCredential>> {
        credential_with_hooks(
            Some(options),
            TestHooks {
                clock: self.clock.clone(),
                environment: Arc::new(self.home.environment()),
            },
        )
    }

    /// A credential as a new process would make it: the record, and no UI.
    fn silent_with(
        &self,
        record: &AuthenticationRecord,
    ) -> Arc<InteractiveBrowserBrokerCredential> {
        self.credential(InteractiveBrowserBrokerCredentialOptions {
            authentication_record: Some(record.clone()),
            disable_automatic_authentication: true,
            authorize_url_handler: handler(Arc::new(NoBrowser::default())),
            ..self.options(true)
        })
        .unwrap()
    }

    fn grants(&self) -> Vec<String> {
        self.authority
            .log(|l| l.token_requests.iter().map(|(g, _)| g.clone()).collect())
    }

    fn last_refresh_token(&self) -> String {
        self.authority.log(|l| {
            l.issued_secrets
                .iter()
                .rev()
                .find(|s| s.starts_with("refresh-token-"))
                .cloned()
                .unwrap()
        })
    }
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("finished in time")
}

#[tokio::test]
async fn authenticate_returns_the_record_and_a_new_credential_is_silent() {
    bounded(async {
        let s = Setup::new().await;
        let first = s.credential(s.options(true)).unwrap();
        let record = first.authenticate(&[SCOPE], None).await.unwrap();
        assert_eq!(s.browser.count(), 1);
        assert_eq!(s.grants(), ["authorization_code"]);

        // The record names the mock's account, in Python's JSON.
        assert_eq!(record.authority(), s.record_authority());
        assert_eq!(record.client_id().as_str(), CLIENT_ID);
        assert_eq!(record.home_account_id(), "u.t");
        assert_eq!(record.tenant_id().as_str(), TENANT);
        assert_eq!(record.username(), USERNAME);
        let json: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "authority",
                "clientId",
                "homeAccountId",
                "tenantId",
                "username",
                "version"
            ]
        );
        let record = AuthenticationRecord::from_json(&record.to_json()).unwrap();

        // The signing-in credential itself is silent now.
        let token = first.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(s.grants().len(), 1);

        // A new credential with the record: the stored access token, no network.
        let second = s.silent_with(&record);
        let same = second.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(same.token.secret(), token.token.secret());
        assert_eq!(same.expires_on, token.expires_on);
        assert_eq!(
            s.grants().len(),
            1,
            "a stored access token needs no request"
        );

        // Expired: the stored refresh token, no browser; the rotated one replaces it.
        let first_rt = s
            .home
            .document()
            .await
            .refresh_token(CLIENT_ID, "u.t", "127.0.0.1")
            .unwrap();
        s.clock.advance(Duration::from_secs(3600));
        let third = s.silent_with(&record);
        let refreshed = third.get_token_info(&[SCOPE], None).await.unwrap();
        assert_ne!(refreshed.token.secret(), token.token.secret());
        assert_eq!(s.grants(), ["authorization_code", "refresh_token"]);
        let rotated = s
            .home
            .document()
            .await
            .refresh_token(CLIENT_ID, "u.t", "127.0.0.1")
            .unwrap();
        assert_ne!(rotated.secret(), first_rt.secret());
        assert_eq!(rotated.secret(), s.last_refresh_token());

        // The mock redeems each refresh token once: only the rotated one works now.
        s.clock.advance(Duration::from_secs(3600));
        let fourth = s.silent_with(&record);
        fourth.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(
            s.authority.log(|l| l.token_requests.clone()),
            [
                ("authorization_code".to_owned(), true),
                ("refresh_token".to_owned(), true),
                ("refresh_token".to_owned(), true)
            ]
        );
        assert_eq!(s.browser.count(), 1, "one sign-in in all");
    })
    .await;
}

#[tokio::test]
async fn another_scope_and_tenant_rules_follow_msal() {
    bounded(async {
        let s = Setup::new().await;
        let first = s.credential(s.options(true)).unwrap();
        let record = first.authenticate(&[SCOPE], None).await.unwrap();

        // Another scope: the access token does not answer it; the refresh token does, once.
        let second = s.silent_with(&record);
        let graph = "https://graph.microsoft.com/.default";
        second.get_token_info(&[graph], None).await.unwrap();
        assert_eq!(s.grants(), ["authorization_code", "refresh_token"]);
        let third = s.silent_with(&record);
        third.get_token_info(&[graph], None).await.unwrap();
        third.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(s.grants().len(), 2, "both access tokens are stored");

        // A CAE request uses the `.cae` cache, which has nothing for this account yet.
        let cae = mr_auth_broker::BrokerTokenRequestOptions {
            enable_cae: true,
            ..Default::default()
        };
        let e = third.get_token_info(&[SCOPE], Some(cae)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert_eq!(s.grants().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_record_of_another_client_authority_or_port_is_refused() {
    let s = Setup::new().await;
    let other_client = AuthenticationRecord::new(
        s.record_authority(),
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46".parse().unwrap(),
        "u.t",
        TENANT.parse().unwrap(),
        "",
    )
    .unwrap();
    let other_authority = AuthenticationRecord::new(
        "login.microsoftonline.com",
        CLIENT_ID.parse().unwrap(),
        "u.t",
        TENANT.parse().unwrap(),
        "",
    )
    .unwrap();
    // The same host on another port is another authority: a record without a port is of the
    // default port, and one of another port is refused, so its refresh token never goes there.
    let of_port = |authority: String| {
        AuthenticationRecord::new(
            authority,
            CLIENT_ID.parse().unwrap(),
            "u.t",
            TENANT.parse().unwrap(),
            "",
        )
        .unwrap()
    };
    let default_port = of_port("127.0.0.1".to_owned());
    let other_port = of_port(format!("127.0.0.1:{}", s.authority.port.wrapping_add(1)));
    for (record, says) in [
        (other_client, "client id"),
        (other_authority, "authority"),
        (default_port, "authority"),
        (other_port, "authority"),
    ] {
        let e = s
            .credential(InteractiveBrowserBrokerCredentialOptions {
                authentication_record: Some(record),
                ..s.options(true)
            })
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains(says), "{e}");
    }
}

/// Windows always has DPAPI; this is the Secret Service missing (and macOS' Keychain, which
/// is not implemented).
#[cfg(not(windows))]
#[tokio::test]
async fn without_a_store_authenticate_fails_before_any_ui_and_get_token_uses_memory() {
    bounded(async {
        let s = Setup::new().await;
        let logs = LogCapture::default();
        let _guard = logs.install_at(tracing::Level::WARN);
        let c = s.credential(s.options(false)).unwrap();
        let e = c.authenticate(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PersistentCache);
        assert!(e.message().contains("allow_unencrypted_storage"), "{e}");
        assert_eq!(s.browser.count(), 0, "no sign-in for nothing");

        // get_token still signs in, and keeps the tokens in memory only.
        c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(s.browser.count(), 1);
        assert!(!s.home.cache_file().exists());
        assert!(
            logs.text()
                .contains("the persistent token cache cannot be used"),
            "{}",
            logs.text()
        );
    })
    .await;
}

#[tokio::test]
async fn a_corrupt_cache_is_reported_kept_and_the_credential_works_from_memory() {
    bounded(async {
        let s = Setup::new().await;
        let file = s.home.cache_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let corrupt = "{\"RefreshToken\": {\"truncated";
        std::fs::write(&file, corrupt).unwrap();
        let logs = LogCapture::default();
        let _guard = logs.install_at(tracing::Level::WARN);

        // authenticate finds it before the sign-in (the tokens could not be kept).
        let c = s.credential(s.options(true)).unwrap();
        let e = c.authenticate(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PersistentCache, "{e}");
        assert!(e.message().contains("msal.cache.nocae"), "{e}");
        assert_eq!(s.browser.count(), 0, "no sign-in for nothing");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), corrupt);
        // get_token signs in all the same, warned first, and keeps the tokens in memory.
        c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(s.browser.count(), 1);
        assert!(
            logs.text()
                .contains("cannot keep the tokens of this sign-in"),
            "{}",
            logs.text()
        );
        c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(s.browser.count(), 1, "the token is in memory");

        // get_token with the corrupt file: a warning, a token, the file as it was.
        let other = s.credential(s.options(true)).unwrap();
        other
            .get_token_info(&["https://graph.microsoft.com/.default"], None)
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), corrupt);
        assert!(
            logs.text()
                .contains("could not be stored in the persistent token cache"),
            "{}",
            logs.text()
        );

        // A record cannot be served from it, and says so without UI.
        let record = AuthenticationRecord::new(
            s.record_authority(),
            CLIENT_ID.parse().unwrap(),
            "u.t",
            TENANT.parse().unwrap(),
            "",
        )
        .unwrap();
        let e = s
            .silent_with(&record)
            .get_token_info(&[SCOPE], None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(logs.text().contains("cannot be read"), "{}", logs.text());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), corrupt);
    })
    .await;
}

/// Issue 21, case 8: a cache whose store cannot be written (its directory cannot be created;
/// a named pipe at its path) was found only after the user signed in. `authenticate` now
/// checks it can be read and written before any UI.
#[tokio::test]
async fn authenticate_finds_a_cache_it_cannot_write_before_any_ui() {
    bounded(async {
        let s = Setup::new().await;
        // Where ~/.IdentityService should be, a file: the store opens, but cannot save.
        std::fs::write(s.home.path().join(".IdentityService"), "").unwrap();
        let c = s.credential(s.options(true)).unwrap();
        let e = c.authenticate(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PersistentCache, "{e}");
        assert!(e.message().contains(".IdentityService"), "{e}");
        assert_eq!(s.browser.count(), 0, "no sign-in for nothing");
        assert!(s.grants().is_empty());

        #[cfg(unix)]
        {
            std::fs::remove_file(s.home.path().join(".IdentityService")).unwrap();
            std::fs::create_dir(s.home.path().join(".IdentityService")).unwrap();
            mr_auth_test_support::planted_files::make_fifo(&s.home.cache_file());
            let e = c.authenticate(&[SCOPE], None).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PersistentCache, "{e}");
            assert!(e.message().contains("named pipe"), "{e}");
            assert_eq!(s.browser.count(), 0, "no sign-in for nothing");
        }
    })
    .await;
}

#[tokio::test]
async fn with_a_broker_authenticate_returns_the_broker_account_and_stores_nothing() {
    use mr_auth_test_support::fake_broker::{FakeBroker, Script};
    bounded(async {
        let s = Setup::new().await;
        let broker = Arc::new(FakeBroker {
            interactive: Script::Token {
                account: "linux-broker:0000-oid.72f0a1c4-3b5d-4e6f-8a9b-0c1d2e3f4a5b",
            },
            ..FakeBroker::interactive_only()
        });
        let c = s
            .credential(InteractiveBrowserBrokerCredentialOptions {
                broker: BrokerMode::Custom(broker.clone()),
                ..s.options(false)
            })
            .unwrap();
        // No Secret Service here and no plaintext allowed: with a broker that does not matter.
        let record = c.authenticate(&[SCOPE], None).await.unwrap();
        assert_eq!(
            record.home_account_id(),
            "0000-oid.72f0a1c4-3b5d-4e6f-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(record.username(), "user@contoso.com");
        // An opaque broker token has no tid: the account's home tenant, not the request's.
        assert_eq!(
            record.tenant_id().as_str(),
            "72f0a1c4-3b5d-4e6f-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(record.authority(), s.record_authority());
        assert_eq!(broker.calls().len(), 1);
        assert_eq!(s.browser.count(), 0);
        assert!(
            !s.home.cache_file().exists(),
            "the broker keeps its own tokens"
        );
        // Silent afterwards, from memory.
        c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(broker.calls().len(), 1);
    })
    .await;
}

/// A record seeds the broker's account where the broker finds accounts by home account id (the
/// Microsoft identity broker on Linux does), so a new process's first call is the broker's
/// silent call for it; a broker that cannot (WAM) is not asked for an account it never saw.
#[tokio::test]
async fn a_record_names_the_brokers_account_where_the_broker_finds_accounts_by_id() {
    use mr_auth_test_support::fake_broker::{Call, FakeBroker, Script};
    bounded(async {
        let s = Setup::new().await;
        let record = AuthenticationRecord::new(
            s.record_authority(),
            CLIENT_ID.parse().unwrap(),
            "u.t",
            TENANT.parse().unwrap(),
            "user@contoso.com",
        )
        .unwrap();
        let fake = || {
            Arc::new(FakeBroker {
                silent: Script::Token {
                    account: "linux-broker:u.t",
                },
                ..FakeBroker::interactive_only()
            })
        };
        let options = |broker: Arc<dyn PlatformBroker>| InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::Custom(broker),
            authentication_record: Some(record.clone()),
            disable_automatic_authentication: true,
            ..s.options(false)
        };

        let broker = fake();
        let c = s
            .credential(options(Arc::new(FindsAccountsById(broker.clone()))))
            .unwrap();
        c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(
            broker.calls(),
            [Call::Silent("linux-broker:u.t".to_owned())]
        );

        let broker = fake();
        let c = s.credential(options(broker.clone())).unwrap();
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
        assert!(broker.calls().is_empty(), "{:?}", broker.calls());
    })
    .await;
}

/// The fake broker, finding its accounts by home account id as the Linux broker does.
#[derive(Debug)]
struct FindsAccountsById(Arc<mr_auth_test_support::fake_broker::FakeBroker>);

#[async_trait::async_trait]
impl PlatformBroker for FindsAccountsById {
    fn supports_pop(&self) -> bool {
        self.0.supports_pop()
    }
    fn redirect_uri(&self, client_id: &ClientId) -> String {
        self.0.redirect_uri(client_id)
    }
    fn account_for_home_account_id(
        &self,
        home_account_id: &str,
        username: Option<&str>,
    ) -> Option<BrokerAccount> {
        Some(BrokerAccount {
            id: format!("linux-broker:{home_account_id}"),
            username: username.map(str::to_owned),
        })
    }
    async fn acquire_token_silently(
        &self,
        request: &BrokerRequest,
        account: &BrokerAccount,
    ) -> mr_auth_broker::Result<BrokerToken> {
        self.0.acquire_token_silently(request, account).await
    }
    async fn acquire_token_with_default_account(
        &self,
        request: &BrokerRequest,
    ) -> mr_auth_broker::Result<BrokerToken> {
        self.0.acquire_token_with_default_account(request).await
    }
    async fn acquire_token_interactively(
        &self,
        request: &BrokerRequest,
        parent_window: Option<ParentWindowHandle>,
    ) -> mr_auth_broker::Result<BrokerToken> {
        self.0
            .acquire_token_interactively(request, parent_window)
            .await
    }
}

/// Rounds of sign-in each writer process of
/// `two_credentials_in_two_processes_writing_at_once_lose_nothing` makes.
const WRITER_ROUNDS: usize = 25;
/// Set (to `<writer>:<home>`) only in the writer processes that test starts.
const WRITER_ENV: &str = "MR_AUTH_CREDENTIAL_WRITER";

fn writer_scope(writer: usize, round: usize) -> String {
    format!("https://resource-{writer}-{round}.example/.default")
}

/// One writer process: a credential with its own mock authority gets a token for a new
/// scope each round; each response is merged into the shared cache file. Does nothing unless
/// started by the test below.
#[tokio::test]
async fn credential_writer_child() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (writer, home) = spec.split_once(':').expect("writer:home");
    let writer: usize = writer.parse().unwrap();
    let mut s = Setup::new().await;
    s.home = TempHome::at(PathBuf::from(home));
    let c = s.credential(s.options(true)).unwrap();
    // A response the credential could not store is only a warning to its caller: catch it
    // here, so a lost round fails this process with the reason, not the parent without one.
    let logs = LogCapture::default();
    let _guard = logs.install_at(tracing::Level::WARN);
    for round in 0..WRITER_ROUNDS {
        let scope = writer_scope(writer, round);
        bounded(c.get_token_info(&[scope.as_str()], None))
            .await
            .expect("a token every round");
    }
    let warnings = logs.text();
    assert!(
        !warnings.contains("could not be stored"),
        "writer {writer}: a token response was not stored in the shared cache:\n{warnings}"
    );
    // The home belongs to the parent test.
    std::mem::forget(s.home);
}

#[test]
fn two_credentials_in_two_processes_writing_at_once_lose_nothing() {
    let home = TempHome::new();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=2)
        .map(|writer| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "credential_writer_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WRITER_ENV, format!("{writer}:{}", home.path().display()))
                .spawn()
                .expect("start a writer process")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let document = runtime.block_on(bounded(home.document()));
    let now = mr_auth_core::Clock::now(&ManualClock::at_fixed_start());
    for writer in 1..=2 {
        for round in 0..WRITER_ROUNDS {
            let scope = writer_scope(writer, round);
            assert!(
                document
                    .access_token(CLIENT_ID, "u.t", "127.0.0.1", TENANT, &[scope], now)
                    .is_some(),
                "writer {writer} round {round} was lost"
            );
        }
    }
    assert!(!home.cache_file().with_extension("nocae.lockfile").exists());
}

/// A stored refresh token the authority refuses (another app's, or revoked) does not hide the
/// credential's own: it is tried next, before any UI.
#[tokio::test]
async fn a_refused_stored_refresh_token_falls_back_to_the_credentials_own() {
    bounded(async {
        let s = Setup::new().await;
        let c = s.credential(s.options(true)).unwrap();
        c.authenticate(&[SCOPE], None).await.unwrap();
        let foreign = mr_auth_broker::CacheWrite {
            client_id: CLIENT_ID.to_owned(),
            environment: "127.0.0.1".to_owned(),
            realm: TENANT.to_owned(),
            scopes: vec!["https://other.example/.default".to_owned()],
            refresh_token: Some(mr_auth_msal_cache::RefreshTokenSecret::new(
                "unknown-to-the-authority",
            )),
            client_info: Some("eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ".to_owned()), // {"uid":"u","utid":"t"}
            expires_in: 3600,
            now: Some(mr_auth_core::Clock::now(&*s.clock) + Duration::from_secs(10)),
            ..Default::default()
        };
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        PersistentTokenCache::open_with_environment(&options, false, &s.home.environment())
            .await
            .unwrap()
            .modify(|d| d.add(&foreign))
            .await
            .unwrap()
            .unwrap();

        c.get_token_info(&["https://graph.microsoft.com/.default"], None)
            .await
            .unwrap();
        assert_eq!(
            s.authority.log(|l| l.token_requests.clone()),
            [
                ("authorization_code".to_owned(), true),
                ("refresh_token".to_owned(), false),
                ("refresh_token".to_owned(), true)
            ]
        );
        assert_eq!(s.browser.count(), 1, "no second sign-in");
    })
    .await;
}
