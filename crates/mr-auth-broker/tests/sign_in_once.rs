//! Sign in once per machine, not once per process (Linux): a real headless Chromium signs in
//! through the browser flow against the loopback mock authority, the tokens go to a real
//! Secret Service (gnome-keyring on a private D-Bus session), and then other processes (this
//! test binary, started again) get tokens with no browser: the second from the stored refresh
//! token, the third from the stored access token without any request.
//!
//! Needs Chromium (`MR_AUTH_SKIP_BROWSER_TESTS=1` skips with a reason), `dbus-daemon` and
//! `gnome-keyring-daemon` (skipped with a reason unless `CI` is set, as in mr-auth-msal-cache's
//! `tests/persistent_cache.rs`).

#![cfg(target_os = "linux")]

use mr_auth_broker::{
    test_util::{credential_with_hooks, TestHooks},
    AuthenticationRecord, BrokerMode, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, TokenCachePersistenceOptions,
};
use mr_auth_core::EnvironmentMap;
use mr_auth_test_support::{
    chromium::{chromium_skip_reason, handler, Chromium, NoBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
    secret_service_session::SecretServiceSession,
};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

/// The scope of the browser sign-in.
const SCOPE: &str = "https://management.azure.com/.default";
/// The scope the later processes ask for: no access token is stored for it, so the second
/// process has to redeem the stored refresh token.
const OTHER_SCOPE: &str = "https://storage.azure.com/.default";
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// Set (to the mock authority's host) only in the processes `run_child` starts.
const CHILD_AUTHORITY: &str = "MR_AUTH_SIGN_IN_ONCE_AUTHORITY";
const CHILD_RECORD: &str = "MR_AUTH_SIGN_IN_ONCE_RECORD";
const CHILD_HOME: &str = "MR_AUTH_SIGN_IN_ONCE_HOME";
const CHILD_BUS: &str = "MR_AUTH_SIGN_IN_ONCE_BUS";

fn options(authority_host: &str) -> InteractiveBrowserBrokerCredentialOptions {
    InteractiveBrowserBrokerCredentialOptions {
        client_id: CLIENT_ID.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
        authority: Some(authority_host.parse().unwrap()),
        broker: BrokerMode::BrowserOnly,
        timeout: Duration::from_secs(60),
        // Encrypted only: no plaintext fallback.
        cache_persistence_options: Some(TokenCachePersistenceOptions::default()),
        ..Default::default()
    }
}

/// A credential whose persistent cache is in `home`'s keyring, on the session bus `bus`.
fn credential(
    options: InteractiveBrowserBrokerCredentialOptions,
    home: &Path,
    bus: &str,
) -> Arc<InteractiveBrowserBrokerCredential> {
    let environment = EnvironmentMap::from_iter([
        ("HOME", home.display().to_string()),
        ("DBUS_SESSION_BUS_ADDRESS", bus.to_owned()),
    ]);
    credential_with_hooks(
        Some(options),
        TestHooks {
            environment: Arc::new(environment),
            ..TestHooks::default()
        },
    )
    .unwrap()
}

/// The later processes: a credential with the record, no browser and no interactive
/// fallback, must get a token. Does nothing unless started by `run_child`.
#[tokio::test]
async fn child_process() {
    let Ok(authority) = std::env::var(CHILD_AUTHORITY) else {
        return;
    };
    let record = AuthenticationRecord::from_json(&std::env::var(CHILD_RECORD).unwrap()).unwrap();
    let home = PathBuf::from(std::env::var(CHILD_HOME).unwrap());
    let bus = std::env::var(CHILD_BUS).unwrap();
    let browser = Arc::new(NoBrowser::default());
    let credential = credential(
        InteractiveBrowserBrokerCredentialOptions {
            authentication_record: Some(record),
            disable_automatic_authentication: true,
            authorize_url_handler: handler(browser.clone()),
            ..options(&authority)
        },
        &home,
        &bus,
    );
    let token = tokio::time::timeout(
        CHILD_TIMEOUT,
        credential.get_token_info(&[OTHER_SCOPE], None),
    )
    .await
    .expect("the silent request finished in time")
    .expect("a token without UI");
    assert!(token.token.secret().starts_with("access-token-"));
    assert_eq!(browser.count(), 0);
}

async fn run_child(
    authority: &MockAuthority,
    record: &AuthenticationRecord,
    s: &SecretServiceSession,
) {
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_AUTHORITY, authority.authority_host())
        .env(CHILD_RECORD, record.to_json())
        .env(CHILD_HOME, s.home())
        .env(CHILD_BUS, s.bus_address())
        .kill_on_drop(true)
        .spawn()
        .expect("start the second process");
    let status = tokio::time::timeout(CHILD_TIMEOUT + Duration::from_secs(30), child.wait())
        .await
        .expect("the second process finished in time")
        .unwrap();
    assert!(status.success(), "the second process failed: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_once_through_the_browser_then_silent_in_other_processes() {
    if let Some(reason) = chromium_skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    tokio::time::timeout(TEST_TIMEOUT, async {
        let session = match SecretServiceSession::start_or_skip("sign in once").await {
            Ok(session) => session,
            Err(missing) => {
                eprintln!("{missing}");
                return;
            }
        };
        let authority = MockAuthority::start(AuthorizeMode::AutoPost).await;
        let chromium = Arc::new(Chromium::default());
        let credential = credential(
            InteractiveBrowserBrokerCredentialOptions {
                authorize_url_handler: handler(chromium.clone()),
                ..options(&authority.authority_host())
            },
            &session.home(),
            session.bus_address(),
        );
        let record = credential.authenticate(&[SCOPE], None).await;
        assert_eq!(chromium.launched(), 1);
        chromium.shutdown();
        let record = record.unwrap();
        let grants = || {
            authority.log(|l| {
                l.token_requests
                    .iter()
                    .map(|(g, ok)| (g.clone(), *ok))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(grants(), [("authorization_code".to_owned(), true)]);

        // A second process: the stored refresh token, no browser.
        run_child(&authority, &record, &session).await;
        assert_eq!(
            grants(),
            [
                ("authorization_code".to_owned(), true),
                ("refresh_token".to_owned(), true)
            ]
        );
        // A third: the access token the second stored, no request at all.
        run_child(&authority, &record, &session).await;
        assert_eq!(grants().len(), 2, "the warm call needs no network");
        assert_eq!(
            authority.log(|l| l.authorize_requests),
            1,
            "one sign-in in all"
        );

        // The keyring item is MSAL's, and holds the rotated refresh token.
        let item = session
            .only_item(&[
                ("xdg:schema", "msal.cache.nocae"),
                ("MsalClientID", "Microsoft.Developer.IdentityService"),
                ("Microsoft.Developer.IdentityService", "1.0.0.0"),
            ])
            .await;
        assert_eq!(item.label, "MSALCache");
        let document = mr_auth_broker::MsalTokenCache::from_slice(&item.secret).unwrap();
        let latest = authority.log(|l| {
            l.issued_secrets
                .iter()
                .rev()
                .find(|s| s.starts_with("refresh-token-"))
                .cloned()
                .unwrap()
        });
        let stored = document
            .refresh_token(CLIENT_ID, record.home_account_id(), "127.0.0.1")
            .unwrap();
        assert_eq!(
            stored.secret(),
            latest,
            "the rotated refresh token replaced the first"
        );
        assert_eq!(document.accounts(Some(CLIENT_ID)).len(), 1);
    })
    .await
    .expect("the test finished in time");
}
