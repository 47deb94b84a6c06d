//! The WAM broker's success, failure and cancellation paths, through real WinRT activation
//! under Wine, against the fake WAM provider of `mr-auth-wam-fake` (registered in the Wine
//! prefix by `cargo xtask ci wine`, which sets `MR_AUTH_WAM_FAKE_REQUIRED=1` so a missing
//! registration fails instead of skipping). The fake's record proves what was sent.
//!
//! Skipped (with the reason printed) on real Windows and where the fake is not registered.
#![cfg(windows)]

mod support;
mod wam_support;

use mr_auth_broker::{
    InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions, ErrorKind,
};
use mr_auth_wam_fake::{FakeAccount, FakeCall, FakeResponse, FakeScript, FakeStatus, FakeWam};
use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};
use support::{browsers::NoBrowser, mock_authority::{CLIENT_ID, TENANT}};
use wam_support::wine_version;

const SCOPE: &str = "https://management.azure.com/.default";
/// 2100-01-01T00:00:00Z.
const EXPIRES_ON: i64 = 4_102_444_800;

/// The fake tests share one fake (one DLL per process): one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Fake {
    wam: FakeWam,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

/// The fake, reset to `script`; `None` (after printing why) where the tests cannot run.
async fn fake(script: FakeScript) -> Option<Fake> {
    if wine_version().is_none() {
        eprintln!("skipped: not under wine; on real windows the real wam answers");
        return None;
    }
    let wam = match FakeWam::load() {
        Ok(wam) => wam,
        Err(e) if std::env::var_os("MR_AUTH_WAM_FAKE_REQUIRED").is_some() => panic!("{e}"),
        Err(e) => {
            eprintln!("skipped: {e}");
            return None;
        }
    };
    let serial = SERIAL.lock().await;
    wam.reset(&script);
    Some(Fake {
        wam,
        _serial: serial,
    })
}

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the wam call finished within 60 s")
}

fn work_account() -> FakeAccount {
    FakeAccount {
        id: "wam-account-1".into(),
        user_name: "someone@contoso.com".into(),
    }
}

fn success(token: &str) -> FakeResponse {
    FakeResponse {
        status: FakeStatus::Success,
        token: token.into(),
        properties: BTreeMap::from([
            ("TokenExpiresOn".to_owned(), EXPIRES_ON.to_string()),
            ("Authority".to_owned(), format!("https://login.microsoftonline.com/{TENANT}")),
        ]),
        account: Some(work_account()),
        ..FakeResponse::default()
    }
}

fn credential(
    options: InteractiveBrowserBrokerCredentialOptions,
) -> (Arc<InteractiveBrowserBrokerCredential>, Arc<NoBrowser>) {
    let browser = Arc::new(NoBrowser::default());
    let c = InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
        client_id: Some(CLIENT_ID.into()),
        tenant_id: Some(TENANT.into()),
        browser: Some(browser.clone()),
        timeout: Duration::from_secs(30),
        ..options
    }))
    .unwrap();
    (c, browser)
}

fn methods(calls: &[FakeCall]) -> Vec<&str> {
    calls
        .iter()
        .map(|c| c.method.as_str())
        .filter(|m| *m != "DllGetActivationFactory")
        .collect()
}

#[tokio::test]
async fn default_account_gives_the_token_silently_through_winrt_activation() {
    let Some(fake) = fake(FakeScript {
        default_account_authority: Some("organizations".into()),
        responses: vec![success("default-account-token")],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        ..Default::default()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token.secret(), "default-account-token");
    assert_eq!(token.expires_on.unix_timestamp(), EXPIRES_ON);
    assert_eq!(browser.count(), 0);

    let calls = fake.wam.calls();
    assert_eq!(
        methods(&calls),
        [
            "FindAccountProviderAsync",
            "FindAccountProviderWithAuthorityAsync",
            "GetTokenSilentlyAsync"
        ],
        "{calls:#?}"
    );
    assert_eq!(
        calls.iter().find(|c| c.method == "FindAccountProviderAsync").unwrap().provider,
        Some(("https://login.windows.local".to_owned(), String::new()))
    );
}
