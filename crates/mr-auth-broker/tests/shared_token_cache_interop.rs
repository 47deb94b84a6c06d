//! `SharedTokenCacheCredential` and Python on one persistent cache: azure-identity's
//! `SharedTokenCacheCredential` (run by `tests/azure_identity_interop.py`, both its own cache
//! reader and, with an authentication record, MSAL's) reads what this crate's credential
//! wrote, with no request for the access token and this crate's refresh token for a new one;
//! this crate's credential reads what azure-identity and MSAL (`tests/msal_interop.py`) wrote:
//! their access tokens with no request, their refresh tokens at the mock authority. In a
//! plaintext file, and in a real Secret Service, each found where the tools look for it.
//!
//! The interpreter is `MR_AUTH_MSAL_PYTHON` (`cargo xtask ci` makes a venv with msal,
//! msal-extensions and azure-identity); without it the tests are skipped with a message,
//! except under `CI`, where they fail. Linux only, as `tests/msal_interop.rs`.

#![cfg(target_os = "linux")]

mod shared_cache_support;

use mr_auth_broker::{
    test_util::{shared_token_cache_credential_with_hooks, TestHooks},
    AuthenticationRecord, BrokerTokenRequestOptions, PersistentTokenCache,
    SharedTokenCacheCredential, SharedTokenCacheCredentialOptions, TokenCachePersistenceOptions,
};
use mr_auth_core::EnvironmentMap;
use mr_auth_test_support::{
    bounded_by,
    mock_authority::{AuthorizeMode, MockAccount, MockAuthority, CLIENT_ID, TENANT, TENANT_ID},
    msal_python::{assert_read_without_request, python, run_json},
    secret_service_session::SecretServiceSession,
    TempHome,
};
use shared_cache_support::{token_secret, SCOPE};
use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

fn alice() -> MockAccount {
    MockAccount::new(
        "00000000-0000-0000-0000-0000000000a1",
        TENANT_ID,
        "alice@contoso.com",
    )
}

/// Where the tools find the cache: a home and a session bus (a Secret Service, or nothing).
struct Machine {
    authority: MockAuthority,
    home: PathBuf,
    bus: String,
}

impl Machine {
    fn environment(&self) -> EnvironmentMap {
        EnvironmentMap::new()
            .with("HOME", self.home.to_str().unwrap())
            .with("DBUS_SESSION_BUS_ADDRESS", self.bus.clone())
    }

    /// The credential a Rust program on this machine makes: the mock's client and tenant, the
    /// default cache options (as azure-identity's), the system clock (Python's is the same).
    fn credential(&self) -> Arc<SharedTokenCacheCredential> {
        self.credential_with(None)
    }

    /// [`Machine::credential`], for the account `username` when given.
    fn credential_with(&self, username: Option<&str>) -> Arc<SharedTokenCacheCredential> {
        shared_token_cache_credential_with_hooks(
            Some(SharedTokenCacheCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: Some(TENANT.parse().unwrap()),
                authority: Some(self.authority.authority_host().parse().unwrap()),
                username: username.map(str::to_owned),
                ..Default::default()
            }),
            TestHooks {
                environment: Arc::new(self.environment()),
                ..TestHooks::default()
            },
        )
        .unwrap()
    }

    async fn cache(&self) -> PersistentTokenCache {
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        PersistentTokenCache::open_with_environment(&options, false, &self.environment())
            .await
            .unwrap()
    }

    /// Python with this machine's home and bus.
    async fn python(&self, python: &Path, script: &str, args: &[&str]) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script);
        let env = [
            ("HOME", self.home.as_os_str()),
            ("DBUS_SESSION_BUS_ADDRESS", OsStr::new(&self.bus)),
        ];
        run_json(python, &script, args, &env).await
    }

    /// The refresh tokens the mock authority redeemed so far.
    fn redeemed(&self) -> Vec<String> {
        self.authority.log(|l| l.redeemed_refresh_tokens.clone())
    }
}

/// Rust refreshes a sign-in another app left; azure-identity reads Rust's tokens (both ways it
/// can) and refreshes with Rust's refresh tokens; Rust reads what azure-identity wrote.
async fn azure_identity_round_trip(python: &Path, machine: &Machine) {
    let home_account_id = format!("{}.{}", alice().uid, alice().utid);
    machine.authority.accept_refresh_token("rt-seed", alice());
    machine
        .cache()
        .await
        .modify(|c| c.add(&alice().sign_in(CLIENT_ID, "127.0.0.1", "rt-seed")))
        .await
        .unwrap()
        .unwrap();

    // Rust: no access token yet, so the refresh token; the new tokens go back to the cache.
    let rust = machine
        .credential()
        .get_token_info(&[SCOPE], None)
        .await
        .unwrap();
    let rust_rt = machine
        .authority
        .log(|l| l.issued_secrets.last().cloned().unwrap());
    assert!(rust_rt.starts_with("refresh-token-"), "{rust_rt}");

    // azure-identity's own reader (the Azure CLI's client id, a family refresh token): Rust's
    // access token with no request; with a claims challenge, Rust's refresh token.
    let (uid, utid) = (alice().uid, alice().utid);
    let args = ["shared", "127.0.0.1", SCOPE, &rust_rt, &uid, &utid];
    let report = machine
        .python(python, "azure_identity_interop.py", &args)
        .await;
    assert_read_without_request(&report, rust.token.secret(), &rust_rt);
    assert_eq!(
        report["refreshed_access_token"], "at-from-azure-identity-shared",
        "{report}"
    );

    // Rust redeems the refresh token azure-identity rotated in the cache.
    let rotated = "rt-from-azure-identity-shared";
    machine.authority.accept_refresh_token(rotated, alice());
    let challenge = BrokerTokenRequestOptions {
        claims: Some(CLAIMS.into()),
        ..Default::default()
    };
    let rust = machine
        .credential()
        .get_token_info(&[SCOPE], Some(challenge))
        .await
        .unwrap();
    assert_eq!(machine.redeemed(), ["rt-seed", rotated]);
    let rust_rt = machine
        .authority
        .log(|l| l.issued_secrets.last().cloned().unwrap());

    // azure-identity with the record of Rust's account reads through MSAL (the record's client
    // id and tenant): the same again.
    let record = AuthenticationRecord::new(
        "127.0.0.1",
        CLIENT_ID.parse().unwrap(),
        home_account_id.as_str(),
        TENANT.parse().unwrap(),
        "alice@contoso.com",
    )
    .unwrap()
    .to_json();
    let args = ["record", &record, SCOPE, &rust_rt, &uid, &utid];
    let report = machine
        .python(python, "azure_identity_interop.py", &args)
        .await;
    assert_read_without_request(&report, rust.token.secret(), &rust_rt);

    // Rust reads the access token MSAL stored for azure-identity, with no request.
    let requests = machine.authority.log(|l| l.token_requests.len());
    let token = machine
        .credential()
        .get_token_info(&[SCOPE], None)
        .await
        .unwrap();
    assert_eq!(token.token.secret(), "at-from-azure-identity-record");
    assert_eq!(machine.authority.log(|l| l.token_requests.len()), requests);
}

/// MSAL Python signs in; Rust uses its access token with no request and its refresh token at
/// the mock authority.
async fn msal_round_trip(python: &Path, machine: &Machine, store: &str, location: &Path) {
    let location = location.to_str().unwrap();
    // MSAL's account is `00000000-0000-0000-0000-000000000001.<TENANT_ID>`, user@contoso.com.
    let args = [
        "write",
        store,
        location,
        CLIENT_ID,
        TENANT,
        "rt-msal-seed",
        "127.0.0.1",
        TENANT_ID,
    ];
    let report = machine.python(python, "msal_interop.py", &args).await;
    assert_eq!(report["access_token"], "at-from-python", "{report}");
    let msal_account = MockAccount::new(
        "00000000-0000-0000-0000-000000000001",
        TENANT_ID,
        "user@contoso.com",
    );
    let c = machine.credential_with(Some("user@contoso.com"));
    let requests = machine.authority.log(|l| l.token_requests.len());
    assert_eq!(token_secret(&c).await, "at-from-python");
    assert_eq!(machine.authority.log(|l| l.token_requests.len()), requests);

    machine
        .authority
        .accept_refresh_token("rt-from-python", msal_account);
    let challenge = BrokerTokenRequestOptions {
        claims: Some(CLAIMS.into()),
        ..Default::default()
    };
    let refreshed = c.get_token_info(&[SCOPE], Some(challenge)).await.unwrap();
    assert!(
        refreshed.token.secret().starts_with("access-token-"),
        "{refreshed:?}"
    );
    assert_eq!(
        machine.redeemed().last().map(String::as_str),
        Some("rt-from-python")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_rust_share_a_sign_in_in_the_plaintext_cache() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    bounded_by(TEST_TIMEOUT, async {
        let home = TempHome::new();
        let machine = Machine {
            authority: MockAuthority::start(AuthorizeMode::Stall).await,
            home: home.path().to_owned(),
            bus: home.no_bus(),
        };
        azure_identity_round_trip(&python, &machine).await;
        msal_round_trip(&python, &machine, "file", &home.cache_file()).await;
        let text = std::fs::read_to_string(home.cache_file()).unwrap();
        assert!(
            text.contains("at-from-azure-identity-record"),
            "one plaintext file for all"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_rust_share_a_sign_in_in_the_secret_service() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    bounded_by(TEST_TIMEOUT, async {
        let session = match SecretServiceSession::start_or_skip("shared cache interop").await {
            Ok(session) => session,
            Err(missing) => {
                eprintln!("{missing}");
                return;
            }
        };
        let machine = Machine {
            authority: MockAuthority::start(AuthorizeMode::Stall).await,
            home: session.home(),
            bus: session.bus_address().to_owned(),
        };
        assert!(!machine.cache().await.is_plaintext());
        azure_identity_round_trip(&python, &machine).await;
        let signal = session
            .home()
            .join(".IdentityService")
            .join("msal.cache.nocae");
        msal_round_trip(&python, &machine, "libsecret", &signal).await;
        let text = std::fs::read_to_string(&signal).unwrap_or_default();
        assert!(!text.contains("at-from"), "nothing in plaintext: {text}");
    })
    .await;
}
