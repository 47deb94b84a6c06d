//! A full browser-flow exchange and a refresh with `tracing` captured at TRACE level: no code,
//! verifier, access token or refresh token may appear in the logs or in Debug output.

use mr_auth_broker::{
    InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
};
use mr_auth_test_support::{
    bounded,
    chromium::{handler, ScriptedBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
    LogCapture,
};
use std::{sync::Arc, time::Duration};

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let captured = LogCapture::default();
    let _guard = captured.install();

    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authority: Some(authority.authority_host().parse().unwrap()),
            authorize_url_handler: handler(browser.clone()),
            timeout: Duration::from_secs(20),
            ..Default::default()
        }))
        .unwrap();
    let first = bounded(c.get_token_info(&["https://management.azure.com/.default"], None))
        .await
        .unwrap();
    let second = bounded(c.get_token_info(&["https://graph.microsoft.com/.default"], None))
        .await
        .unwrap();
    let debug = format!("{c:?} {first:?} {second:?}");

    let logs = captured.text();
    assert_eq!(
        logs.matches("==> Request: url:").count(),
        2,
        "the capture holds both token requests (code, then refresh token)"
    );
    let secrets = authority.log(|l| l.issued_secrets.clone());
    assert!(
        secrets.len() >= 5,
        "code, verifier, 2 access and 2 refresh tokens: {}",
        secrets.len()
    );
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret reached the logs");
        assert!(!debug.contains(&secret), "a secret reached Debug output");
    }
    assert_eq!(browser.count(), 1);
}

/// The same with the persistent token cache: a sign-in stored in it, then a new credential's
/// silent refresh from it. Neither the tokens nor the id token reach the logs or Debug output.
#[tokio::test]
async fn secrets_never_reach_the_logs_with_the_persistent_cache() {
    use mr_auth_broker::{
        test_util::{credential_with_hooks, TestHooks},
        BrokerMode, PersistentTokenCache, TokenCachePersistenceOptions,
    };
    use mr_auth_core::{EnvironmentMap, ManualClock};
    use mr_auth_test_support::LogCapture;

    let logs = LogCapture::default();
    let _guard = logs.install_at(tracing::Level::TRACE);
    let home = std::env::temp_dir().join(format!("mr-auth-logs-{}", uuid::Uuid::new_v4()));
    // No Secret Service at this address: the (allowed) plaintext file; DPAPI on Windows.
    let environment = EnvironmentMap::new()
        .with("HOME", home.to_str().unwrap())
        .with("LOCALAPPDATA", home.to_str().unwrap())
        .with(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", home.join("no-bus").display()),
        );
    let persistence = TokenCachePersistenceOptions {
        allow_unencrypted_storage: true,
        ..Default::default()
    };
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let clock = Arc::new(ManualClock::at_fixed_start());
    let hooks = TestHooks {
        clock: clock.clone(),
        environment: Arc::new(environment.clone()),
    };
    let options = InteractiveBrowserBrokerCredentialOptions {
        client_id: CLIENT_ID.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
        authority: Some(authority.authority_host().parse().unwrap()),
        authorize_url_handler: handler(browser.clone()),
        broker: BrokerMode::BrowserOnly,
        timeout: Duration::from_secs(20),
        cache_persistence_options: Some(persistence.clone()),
        ..Default::default()
    };
    let scope = "https://storage.azure.com/.default";
    let (debug, document) = tokio::time::timeout(Duration::from_secs(60), async {
        let first = credential_with_hooks(Some(options.clone()), hooks.clone()).unwrap();
        let record = first.authenticate(&[scope], None).await.unwrap();
        clock.advance(Duration::from_secs(3600));
        let second = credential_with_hooks(
            Some(InteractiveBrowserBrokerCredentialOptions {
                authentication_record: Some(record.clone()),
                disable_automatic_authentication: true,
                ..options
            }),
            hooks,
        )
        .unwrap();
        let token = second.get_token_info(&[scope], None).await.unwrap();
        let document =
            PersistentTokenCache::open_with_environment(&persistence, false, &environment)
                .await
                .unwrap()
                .load()
                .await
                .unwrap();
        (
            format!("{first:?} {second:?} {token:?} {record:?} {document:?}"),
            document,
        )
    })
    .await
    .expect("finished in time");
    let grants: Vec<String> =
        authority.log(|l| l.token_requests.iter().map(|(g, _)| g.clone()).collect());
    assert_eq!(grants, ["authorization_code", "refresh_token"]);

    let text = logs.text();
    assert!(
        text.contains("token response stored in the persistent token cache"),
        "the capture holds the cache's events: {text}"
    );
    let stored: serde_json::Value = serde_json::from_slice(&document.to_vec()).unwrap();
    let id_token = stored["IdToken"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|e| e["secret"].as_str())
        .expect("an id token is stored")
        .to_owned();
    let secrets = authority.log(|l| l.issued_secrets.clone());
    assert!(secrets.len() >= 6, "{}", secrets.len());
    for secret in secrets.iter().chain([&id_token]) {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs");
        assert!(
            !debug.contains(secret.as_str()),
            "a secret reached Debug output"
        );
    }
    assert_eq!(browser.count(), 1);
    std::fs::remove_dir_all(home).unwrap();
}
