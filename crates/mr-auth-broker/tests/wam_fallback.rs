//! The real WAM broker where WAM does not exist (Wine, which is how CI runs the Windows
//! build): activation fails with `REGDB_E_CLASSNOTREG` (0x80040154), the credential treats it
//! as "broker unavailable" and uses the browser flow, unless `disable_automatic_authentication`
//! forbids UI. Each case is bounded by a timeout, so a hang fails instead of blocking CI.
//!
//! On real Windows these cases are skipped (with the reason printed): there WAM exists and
//! would open its dialog.
#![cfg(windows)]

mod wam_support;

use mr_auth_broker::{
    default_platform_broker, BrokerTokenRequestOptions, ErrorKind,
    InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions, PopMethod,
    PopParameters, TokenType,
};
use mr_auth_test_support::{
    bounded,
    chromium::{handler, NoBrowser, ScriptedBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
    LogCapture,
};
use std::{sync::Arc, time::Duration};
use wam_support::wine_version;

const SCOPE: &str = "https://management.azure.com/.default";

/// `Some(version)` under Wine; `None` (after printing why the test is skipped) elsewhere.
fn wine_or_skip() -> Option<String> {
    let version = wine_version();
    if version.is_none() {
        eprintln!("skipped: real windows has wam; this test proves the fallback where wam is missing (wine)");
    }
    version
}

/// Options that leave the platform broker at its default (WAM on Windows).
fn options(authority: &MockAuthority) -> InteractiveBrowserBrokerCredentialOptions {
    InteractiveBrowserBrokerCredentialOptions {
        client_id: CLIENT_ID.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
        authority: Some(authority.authority_host().parse().unwrap()),
        use_default_broker_account: true,
        timeout: Duration::from_secs(30),
        ..Default::default()
    }
}

#[test]
fn windows_builds_default_to_the_wam_broker() {
    let broker = default_platform_broker().expect("windows has a platform broker");
    assert!(!broker.supports_pop(), "the winrt wam api cannot carry pop");
    assert_eq!(
        broker.redirect_uri(&CLIENT_ID.parse().unwrap()),
        format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{CLIENT_ID}")
    );
}

#[tokio::test]
async fn missing_wam_falls_back_to_the_browser_flow() {
    let Some(version) = wine_or_skip() else {
        return;
    };
    let logs = LogCapture::default();
    let _guard = logs.install_at(tracing::Level::DEBUG);
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            authorize_url_handler: handler(browser.clone()),
            ..options(&authority)
        }))
        .unwrap();

    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token_type, TokenType::Bearer);
    assert_eq!(browser.count(), 1, "the browser flow ran once");

    let logs = logs.text();
    assert!(
        logs.contains("0x80040154") && logs.contains("using the browser flow"),
        "wine {version}: the fallback is logged with the activation hresult:\n{logs}"
    );
}

#[tokio::test]
async fn missing_wam_with_fallback_disabled_is_authentication_required_and_opens_nothing() {
    let Some(version) = wine_or_skip() else {
        return;
    };
    let logs = LogCapture::default();
    let _guard = logs.install_at(tracing::Level::DEBUG);
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(NoBrowser::default());
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            authorize_url_handler: handler(browser.clone()),
            disable_automatic_authentication: true,
            ..options(&authority)
        }))
        .unwrap();

    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
    assert_eq!(browser.count(), 0, "no browser was opened");
    let logs = logs.text();
    assert!(
        logs.contains("0x80040154"),
        "wine {version}: wam was asked (default account) and reported the activation failure:\n{logs}"
    );
}

#[tokio::test]
async fn pop_with_missing_wam_is_pop_needs_broker_never_bearer() {
    let Some(_) = wine_or_skip() else { return };
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(NoBrowser::default());
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            authorize_url_handler: handler(browser.clone()),
            ..options(&authority)
        }))
        .unwrap();
    let pop = BrokerTokenRequestOptions {
        pop: Some(
            PopParameters::new(
                PopMethod::Get,
                "https://example.com/r".parse().unwrap(),
                None,
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    let e = bounded(c.get_token_info(&[SCOPE], Some(pop)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker, "{e}");
    assert_eq!(browser.count(), 0);
}
