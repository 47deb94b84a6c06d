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
            authority_host: Some(authority.authority_host().parse().unwrap()),
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
