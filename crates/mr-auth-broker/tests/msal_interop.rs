//! Interop with a real MSAL: Python's `msal` and `msal-extensions` (run by
//! `tests/msal_interop.py`) read what this crate wrote to the persistent cache and get tokens
//! silently, and this crate reads what MSAL wrote: in a plaintext file, and (Linux) in a real
//! Secret Service. Both through the storage layer, and through the credential itself (its
//! browser sign-in against the loopback mock authority, and a credential with a record for
//! MSAL's account).
//!
//! The interpreter is `MR_AUTH_MSAL_PYTHON` (`cargo xtask ci` makes a venv with msal 1.39 and
//! msal-extensions 1.3, on Debian's Python with PyGObject for libsecret). Without it the tests
//! are skipped with a message, except under `CI`, where they fail. Linux only: that is where CI
//! has the Python peer (the Windows test binaries run under Wine, without it).

#![cfg(target_os = "linux")]

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use mr_auth_broker::{
    test_util::{credential_with_hooks, TestHooks},
    AuthenticationRecord, BrokerMode, CacheWrite, InteractiveBrowserBrokerCredentialOptions,
    PersistentTokenCache, TokenCachePersistenceOptions,
};
use mr_auth_core::{Clock as _, EnvironmentMap, SystemClock};
use mr_auth_msal_cache::{AccessTokenSecret, IdTokenSecret, RefreshTokenSecret};
use mr_auth_test_support::{
    chromium::{handler, NoBrowser, ScriptedBrowser},
    mock_authority::{self, AuthorizeMode, MockAuthority},
    msal_python::{assert_read_without_request, python, run_json},
};
use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

const CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const UID: &str = "00000000-0000-0000-0000-000000000001";
const SCOPE: &str = "https://storage.azure.com/.default";
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-auth-interop-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `HOME` and the session bus the cache is looked for on.
fn session_environment(home: &Path, bus: &str) -> EnvironmentMap {
    EnvironmentMap::new()
        .with("HOME", home.to_str().unwrap())
        .with("DBUS_SESSION_BUS_ADDRESS", bus)
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

/// What the browser flow's token endpoint returned, as the credential hands it to the cache.
fn rust_sign_in() -> CacheWrite {
    let now = SystemClock.now();
    let id_token = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(&format!(
            r#"{{"oid":"{UID}","sub":"s","tid":"{TENANT}","preferred_username":"user@contoso.com","exp":{}}}"#,
            now.unix_timestamp() + 3600
        ))
    );
    CacheWrite {
        client_id: CLIENT.to_owned(),
        environment: "login.microsoftonline.com".to_owned(),
        realm: TENANT.to_owned(),
        scopes: vec![SCOPE.to_owned()],
        access_token: Some(AccessTokenSecret::new("at-from-rust")),
        expires_in: 3600,
        refresh_token: Some(RefreshTokenSecret::new("rt-from-rust")),
        id_token: Some(IdTokenSecret::new(id_token)),
        client_info: Some(b64(&format!(r#"{{"uid":"{UID}","utid":"{TENANT}"}}"#))),
        grant_type: Some("authorization_code".to_owned()),
        now: Some(now),
        ..Default::default()
    }
}

/// Runs the MSAL side; returns its JSON report.
async fn msal(
    python: &Path,
    mode: &str,
    store: &str,
    location: &Path,
    expected_rt: &str,
    bus: Option<&str>,
) -> serde_json::Value {
    msal_at(
        python,
        mode,
        store,
        location,
        expected_rt,
        bus,
        &[CLIENT, TENANT],
    )
    .await
}

/// [`msal`] with the client, tenant and the optional authority host and home tenant given.
async fn msal_at(
    python: &Path,
    mode: &str,
    store: &str,
    location: &Path,
    expected_rt: &str,
    bus: Option<&str>,
    client_tenant_and_more: &[&str],
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/msal_interop.py");
    let (client_tenant, more) = client_tenant_and_more.split_at(2);
    let mut args: Vec<&OsStr> = vec![mode.as_ref(), store.as_ref(), location.as_os_str()];
    args.extend(client_tenant.iter().map(OsStr::new));
    args.push(expected_rt.as_ref());
    args.extend(more.iter().map(OsStr::new));
    let env: Vec<(&str, &OsStr)> = bus
        .map(|bus| ("DBUS_SESSION_BUS_ADDRESS", OsStr::new(bus)))
        .into_iter()
        .collect();
    run_json(python, &script, &args, &env).await
}

/// Rust signs in, MSAL reads it and refreshes with Rust's refresh token, Rust reads MSAL's
/// rotated tokens; then MSAL signs in on an empty cache and Rust reads it.
async fn round_trip(
    python: &Path,
    store: &str,
    open: impl Fn() -> PersistentTokenCache,
    location: &Path,
    bus: Option<&str>,
) {
    let home = format!("{UID}.{TENANT}");
    let cache = open();
    cache
        .modify(|c| c.add(&rust_sign_in()))
        .await
        .unwrap()
        .unwrap();

    let report = msal(python, "read", store, location, "rt-from-rust", bus).await;
    assert_eq!(
        report["usernames"],
        serde_json::json!(["user@contoso.com"]),
        "{report}"
    );
    assert_read_without_request(&report, "at-from-rust", "rt-from-rust");
    assert_eq!(
        report["refreshed_access_token"], "at-from-python",
        "{report}"
    );

    let after = open().load().await.unwrap();
    let rt = after
        .refresh_token(CLIENT, &home, "login.microsoftonline.com")
        .unwrap();
    assert_eq!(
        rt.secret(),
        "rt-from-python",
        "Rust sees the token MSAL rotated"
    );
    let at = after
        .access_token(
            CLIENT,
            &home,
            "login.microsoftonline.com",
            TENANT,
            &[SCOPE.to_owned()],
            SystemClock.now(),
        )
        .unwrap();
    assert_eq!(at.secret.secret(), "at-from-python");

    // MSAL first, on an empty cache.
    open()
        .modify(|c| c.remove_client_tokens(CLIENT, None))
        .await
        .unwrap();
    let report = msal(python, "write", store, location, "rt-seed", bus).await;
    assert_eq!(report["access_token"], "at-from-python", "{report}");
    let read = open().load().await.unwrap();
    let accounts = read.accounts(Some(CLIENT));
    assert_eq!(accounts.len(), 1, "{read:?}");
    assert_eq!(accounts[0].username, "user@contoso.com");
    assert_eq!(accounts[0].home_account_id, home);
    let rt = read
        .refresh_token(CLIENT, &home, "login.microsoftonline.com")
        .unwrap();
    assert_eq!(rt.secret(), "rt-from-python");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_shares_the_plaintext_cache() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        let open = || PersistentTokenCache::plaintext_file(&path);
        round_trip(&python, "file", open, &path, None).await;
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_shares_the_secret_service_cache() {
    use mr_auth_test_support::secret_service_session::SecretServiceSession;
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let session =
            match SecretServiceSession::start_or_skip("msal interop, secret service").await {
                Ok(session) => session,
                Err(missing) => {
                    eprintln!("{missing}");
                    return;
                }
            };
        let env = session_environment(&session.home(), session.bus_address());
        let options = TokenCachePersistenceOptions::default();
        let first = PersistentTokenCache::open_with_environment(&options, false, &env)
            .await
            .unwrap();
        assert!(!first.is_plaintext(), "{}", first.describe());
        let signal = session
            .home()
            .join(".IdentityService")
            .join("msal.cache.nocae");
        let open = || first.clone();
        round_trip(
            &python,
            "libsecret",
            open,
            &signal,
            Some(session.bus_address()),
        )
        .await;
    })
    .await
    .expect("the test finished in time");
}

/// The credential signs in (a scripted browser at the mock authority) into the cache that
/// `environment` and `persistence` describe; MSAL reads what it wrote and gets tokens
/// silently; then MSAL signs in, and a credential with a record for MSAL's account gets MSAL's
/// access token with no request at all.
async fn credential_round_trip(
    python: &Path,
    store: &str,
    persistence: TokenCachePersistenceOptions,
    environment: EnvironmentMap,
    location: &Path,
    bus: Option<&str>,
) {
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let options = InteractiveBrowserBrokerCredentialOptions {
        client_id: mock_authority::CLIENT_ID.parse().unwrap(),
        tenant_id: mock_authority::TENANT.parse().unwrap(),
        authority: Some(authority.authority_host().parse().unwrap()),
        broker: BrokerMode::BrowserOnly,
        authorize_url_handler: handler(browser.clone()),
        timeout: Duration::from_secs(30),
        cache_persistence_options: Some(persistence),
        ..Default::default()
    };
    let hooks = TestHooks {
        environment: Arc::new(environment),
        ..TestHooks::default()
    };
    let credential = credential_with_hooks(Some(options.clone()), hooks.clone()).unwrap();
    let record = credential.authenticate(&[SCOPE], None).await.unwrap();
    let rust_token = credential.get_token_info(&[SCOPE], None).await.unwrap();
    let rust_rt = authority.log(|l| {
        l.issued_secrets
            .iter()
            .rev()
            .find(|s| s.starts_with("refresh-token-"))
            .cloned()
            .unwrap()
    });
    let args = [
        mock_authority::CLIENT_ID,
        mock_authority::TENANT,
        "127.0.0.1",
        mock_authority::TENANT_ID,
    ];

    // MSAL finds the credential's account and access token, and refreshes with its refresh
    // token.
    let report = msal_at(python, "read", store, location, &rust_rt, bus, &args).await;
    assert_eq!(
        report["usernames"],
        serde_json::json!([record.username()]),
        "{report}"
    );
    assert_read_without_request(&report, rust_token.token.secret(), &rust_rt);
    assert_eq!(
        report["refreshed_access_token"], "at-from-python",
        "{report}"
    );

    // MSAL signs in its account; a credential with a record for it reads MSAL's tokens.
    let report = msal_at(python, "write", store, location, "rt-seed", bus, &args).await;
    assert_eq!(report["access_token"], "at-from-python", "{report}");
    // As azure-identity records it: the issuer's host and port (the mock's is not the default).
    let python_record = AuthenticationRecord::new(
        format!("127.0.0.1:{}", authority.port),
        mock_authority::CLIENT_ID.parse().unwrap(),
        format!("{UID}.{}", mock_authority::TENANT_ID),
        mock_authority::TENANT.parse().unwrap(),
        "user@contoso.com",
    )
    .unwrap();
    let requests_before = authority.log(|l| l.token_requests.len());
    let silent = credential_with_hooks(
        Some(InteractiveBrowserBrokerCredentialOptions {
            authentication_record: Some(python_record),
            disable_automatic_authentication: true,
            authorize_url_handler: handler(Arc::new(NoBrowser::default())),
            ..options
        }),
        hooks,
    )
    .unwrap();
    let token = silent.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(token.token.secret(), "at-from-python");
    assert_eq!(authority.log(|l| l.token_requests.len()), requests_before);
    assert_eq!(browser.count(), 1, "one browser sign-in in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_and_the_credential_share_the_plaintext_cache() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let home = temp_dir();
        // No Secret Service at this address: the plaintext file, as allowed.
        let env = session_environment(
            &home,
            &format!("unix:path={}", home.join("no-bus").display()),
        );
        let persistence = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        let file = home.join(".IdentityService").join("msal.cache.nocae");
        credential_round_trip(&python, "file", persistence, env, &file, None).await;
        std::fs::remove_dir_all(home).unwrap();
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_and_the_credential_share_the_secret_service_cache() {
    use mr_auth_test_support::secret_service_session::SecretServiceSession;
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let session =
            match SecretServiceSession::start_or_skip("msal interop, credential, secret service")
                .await
            {
                Ok(session) => session,
                Err(missing) => {
                    eprintln!("{missing}");
                    return;
                }
            };
        let env = session_environment(&session.home(), session.bus_address());
        let signal = session
            .home()
            .join(".IdentityService")
            .join("msal.cache.nocae");
        credential_round_trip(
            &python,
            "libsecret",
            TokenCachePersistenceOptions::default(),
            env,
            &signal,
            Some(session.bus_address()),
        )
        .await;
    })
    .await
    .expect("the test finished in time");
}
