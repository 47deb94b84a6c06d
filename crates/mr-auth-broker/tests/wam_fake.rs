//! The WAM broker's success, failure and cancellation paths, through real WinRT activation
//! under Wine, against the fake WAM provider of `mr-auth-wam-fake` (registered in the Wine
//! prefix by `cargo xtask ci wine`, which sets `MR_AUTH_WAM_FAKE_REQUIRED=1` so a missing
//! registration fails instead of skipping). The fake's record proves what was sent.
//!
//! Skipped (with the reason printed) on real Windows and where the fake is not registered.
#![cfg(windows)]

mod wam_support;

use mr_auth_broker::{
    default_platform_broker, BrokerRequest, BrokerTokenRequestOptions, ErrorKind,
    InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
    ParentWindowHandle, PlatformBroker, PopMethod, PopParameters, DEFAULT_INTERACTIVE_TIMEOUT,
};
use mr_auth_test_support::{
    chromium::{handler, NoBrowser},
    fake_broker::{FakeBroker, Script as BrokerScript},
    mock_authority::{CLIENT_ID, TENANT},
};
use mr_auth_wam_fake::{
    FakeAccount, FakeCall, FakePicker, FakePickerChoice, FakeProviderError, FakeResponse,
    FakeScript, FakeStatus, FakeWam,
};
use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};
use wam_support::wine_version;
use windows::Win32::{
    System::Console::GetConsoleWindow,
    UI::WindowsAndMessaging::{GetAncestor, GetDesktopWindow, GetForegroundWindow, GA_ROOTOWNER},
};

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
            (
                "Authority".to_owned(),
                format!("https://login.microsoftonline.com/{TENANT}"),
            ),
        ]),
        account: Some(work_account()),
        ..FakeResponse::default()
    }
}

fn credential(
    options: InteractiveBrowserBrokerCredentialOptions,
) -> (Arc<InteractiveBrowserBrokerCredential>, Arc<NoBrowser>) {
    let browser = Arc::new(NoBrowser::default());
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authorize_url_handler: handler(browser.clone()),
            // Shorter than the default, unless the test chose its own.
            timeout: if options.timeout == DEFAULT_INTERACTIVE_TIMEOUT {
                Duration::from_secs(30)
            } else {
                options.timeout
            },
            ..options
        }))
        .unwrap();
    (c, browser)
}

/// The thread the WAM broker runs every WinRT call on.
const WAM_THREAD: &str = "mr-auth-wam";
const MICROSOFT_PROVIDER: &str = "https://login.microsoft.com";
const TRANSFER_SCOPE: &str =
    "service::http://Passport.NET/purpose::PURPOSE_AAD_WAM_TRANSFER openid profile offline_access";
const SCOPE_WITH_OIDC: &str = "https://management.azure.com/.default openid profile offline_access";

fn redirect_uri() -> String {
    format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{CLIENT_ID}")
}

/// Every call the fake received ran on the WAM worker thread, in the multi-threaded
/// apartment: none on a tokio worker or the test's thread.
fn assert_on_wam_thread(calls: &[FakeCall]) {
    assert!(!calls.is_empty());
    for call in calls {
        assert_eq!(
            (call.thread.as_str(), call.apartment.as_str()),
            (WAM_THREAD, "MTA"),
            "{call:#?}"
        );
    }
}

/// The calls the broker made (the activations left out).
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
    let find = |method: &str| calls.iter().find(|c| c.method == method).unwrap();
    assert_eq!(
        find("FindAccountProviderAsync").provider,
        Some(("https://login.windows.local".to_owned(), String::new()))
    );
    assert_eq!(
        find("FindAccountProviderWithAuthorityAsync").provider,
        Some((MICROSOFT_PROVIDER.to_owned(), TENANT.to_owned()))
    );
    let request = find("GetTokenSilentlyAsync").request.clone().unwrap();
    assert_eq!(request.client_id, CLIENT_ID);
    assert_eq!(request.scope, SCOPE_WITH_OIDC);
    assert_eq!(request.prompt_type, 0, "silent: the Default prompt type");
    assert_eq!(request.provider_authority, TENANT);
    assert_eq!(
        request.properties,
        BTreeMap::from([
            ("wam_compat".to_owned(), "2.0".to_owned()),
            (
                "authority".to_owned(),
                format!("https://login.microsoftonline.com/{TENANT}")
            ),
            ("validateAuthority".to_owned(), "yes".to_owned()),
            ("discover".to_owned(), "home".to_owned()),
        ])
    );
    assert!(
        !request.correlation_id.is_empty(),
        "a correlation id is set"
    );
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn the_account_signed_in_earlier_gets_tokens_silently() {
    let Some(fake) = fake(FakeScript {
        accounts: vec![work_account()],
        responses: vec![success("interactive-token"), success("silent-token")],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        parent_window_handle: ParentWindowHandle::from_raw(0x5150),
        ..Default::default()
    });
    let first = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(first.token.secret(), "interactive-token");
    // Another scope: not cached, so the broker's silent call with the account from before.
    let second = bounded(c.get_token_info(&["https://storage.azure.com/.default"], None))
        .await
        .unwrap();
    assert_eq!(second.token.secret(), "silent-token");
    assert_eq!(second.expires_on.unix_timestamp(), EXPIRES_ON);
    assert_eq!(browser.count(), 0);

    let calls = fake.wam.calls();
    assert_eq!(
        methods(&calls),
        [
            "FindAccountProviderWithAuthorityAsync",
            "RequestTokenForWindowAsync",
            "FindAccountProviderWithAuthorityAsync",
            "FindAccountAsync",
            "FindAccountProviderWithAuthorityAsync",
            "GetTokenSilentlyWithWebAccountAsync",
        ],
        "{calls:#?}"
    );
    let find = |method: &str| calls.iter().find(|c| c.method == method).unwrap();
    let lookup = find("FindAccountAsync");
    assert_eq!(lookup.account_id.as_deref(), Some("wam-account-1"));
    assert_eq!(
        lookup.provider,
        Some((MICROSOFT_PROVIDER.to_owned(), TENANT.to_owned()))
    );
    let silent = find("GetTokenSilentlyWithWebAccountAsync");
    assert_eq!(silent.account_id.as_deref(), Some("wam-account-1"));
    let request = silent.request.as_ref().unwrap();
    assert_eq!(
        request.scope,
        "https://storage.azure.com/.default openid profile offline_access"
    );
    assert_eq!(request.prompt_type, 0);
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn interactive_sign_in_is_parented_to_the_given_window_and_sends_every_property() {
    let Some(fake) = fake(FakeScript {
        responses: vec![success("interactive-token")],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        parent_window_handle: ParentWindowHandle::from_raw(0x5150),
        login_hint: Some("someone@contoso.com".into()),
        disable_instance_discovery: true,
        ..Default::default()
    });
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let token = bounded(c.get_token_info(
        &[SCOPE],
        Some(BrokerTokenRequestOptions {
            claims: Some(claims.into()),
            ..Default::default()
        }),
    ))
    .await
    .unwrap();
    assert_eq!(token.token.secret(), "interactive-token");
    assert_eq!(token.expires_on.unix_timestamp(), EXPIRES_ON);
    assert_eq!(browser.count(), 0);

    let calls = fake.wam.calls();
    assert_eq!(
        methods(&calls),
        [
            "FindAccountProviderWithAuthorityAsync",
            "RequestTokenForWindowAsync"
        ],
        "{calls:#?}"
    );
    let call = calls
        .iter()
        .find(|c| c.method == "RequestTokenForWindowAsync")
        .unwrap();
    assert_eq!(
        call.hwnd,
        Some(0x5150),
        "parented to the application's window"
    );
    let request = call.request.as_ref().unwrap();
    assert_eq!(request.client_id, CLIENT_ID);
    assert_eq!(request.scope, SCOPE_WITH_OIDC);
    assert_eq!(request.prompt_type, 1, "interactive: ForceAuthentication");
    assert_eq!(request.provider_id, MICROSOFT_PROVIDER);
    assert_eq!(request.provider_authority, TENANT, "the tenant's provider");
    let mut properties = request.properties.clone();
    let sent_claims = properties.remove("claims").expect("claims are sent");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&sent_claims).unwrap(),
        serde_json::from_str::<serde_json::Value>(claims).unwrap()
    );
    assert_eq!(
        properties,
        BTreeMap::from([
            ("wam_compat".to_owned(), "2.0".to_owned()),
            (
                "authority".to_owned(),
                format!("https://login.microsoftonline.com/{TENANT}")
            ),
            ("validateAuthority".to_owned(), "no".to_owned()),
            ("discover".to_owned(), "home".to_owned()),
            ("LoginHint".to_owned(), "someone@contoso.com".to_owned()),
        ])
    );
    assert!(!request.correlation_id.is_empty());
    assert_on_wam_thread(&calls);
}

/// What the broker parents its dialog to when the application gives no window: the
/// console's root owner, else the foreground window, else the desktop.
fn expected_default_window() -> isize {
    // SAFETY: plain Win32 queries without arguments to validate.
    unsafe {
        let console = GetConsoleWindow();
        if !console.is_invalid() {
            return GetAncestor(console, GA_ROOTOWNER).0 as isize;
        }
        let foreground = GetForegroundWindow();
        if !foreground.is_invalid() {
            return foreground.0 as isize;
        }
        GetDesktopWindow().0 as isize
    }
}

#[tokio::test]
async fn interactive_sign_in_without_a_window_uses_the_console_or_foreground_window() {
    let Some(fake) = fake(FakeScript {
        responses: vec![success("interactive-token")],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, _) = credential(InteractiveBrowserBrokerCredentialOptions::default());
    bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    let call = fake.wam.calls_to("RequestTokenForWindowAsync").remove(0);
    let hwnd = call.hwnd.unwrap();
    assert_ne!(hwnd, 0);
    assert_eq!(hwnd, expected_default_window());
    // No login hint: the account picker.
    let request = call.request.unwrap();
    assert_eq!(
        request.properties.get("prompt").map(String::as_str),
        Some("select_account")
    );
    assert!(!request.properties.contains_key("LoginHint"));
}

fn failure(status: FakeStatus, code: u32, message: &str) -> FakeResponse {
    FakeResponse {
        status,
        error: Some(FakeProviderError {
            code,
            message: message.into(),
        }),
        ..FakeResponse::default()
    }
}

#[tokio::test]
async fn interaction_required_from_silent_leads_to_the_interactive_dialog() {
    let Some(fake) = fake(FakeScript {
        default_account_authority: Some("organizations".into()),
        responses: vec![
            failure(
                FakeStatus::UserInteractionRequired,
                0xCAA2_000C,
                "AADSTS50076: mfa required",
            ),
            success("after-mfa"),
        ],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        parent_window_handle: ParentWindowHandle::from_raw(0x77),
        ..Default::default()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token.secret(), "after-mfa");
    assert_eq!(browser.count(), 0);
    let calls = fake.wam.calls();
    let token_calls: Vec<_> = methods(&calls)
        .into_iter()
        .filter(|m| m.starts_with("GetToken") || m.starts_with("RequestToken"))
        .collect();
    assert_eq!(
        token_calls,
        ["GetTokenSilentlyAsync", "RequestTokenForWindowAsync"]
    );
}

#[tokio::test]
async fn interaction_required_with_interaction_disabled_is_authentication_required() {
    let Some(fake) = fake(FakeScript {
        default_account_authority: Some("organizations".into()),
        responses: vec![failure(
            FakeStatus::UserInteractionRequired,
            0xCAA2_000C,
            "AADSTS50076: mfa required",
        )],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        disable_automatic_authentication: true,
        ..Default::default()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
    assert_eq!(browser.count(), 0);
    let calls = fake.wam.calls();
    assert!(
        !methods(&calls)
            .iter()
            .any(|m| m.starts_with("RequestToken")),
        "no dialog: {calls:#?}"
    );
}

#[tokio::test]
async fn a_cancelled_dialog_is_user_cancelled_and_opens_no_browser() {
    let Some(_fake) = fake(FakeScript {
        responses: vec![FakeResponse {
            status: FakeStatus::UserCancel,
            ..FakeResponse::default()
        }],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions::default());
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserCancelled, "{e}");
    assert_eq!(browser.count(), 0);
}

#[tokio::test]
async fn a_provider_error_names_the_redirect_uri_and_keeps_the_providers_code() {
    let Some(_fake) = fake(FakeScript {
        responses: vec![failure(
            FakeStatus::ProviderError,
            0xCAA2_0003,
            "AADSTS50011: the redirect uri does not match",
        )],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions::default());
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered, "{e}");
    assert_eq!(e.redirect_uri(), Some(redirect_uri().as_str()));
    assert!(e.message().contains("0xCAA20003"), "{e}");
    assert!(e.message().contains("AADSTS50011"), "{e}");
    assert_eq!(e.error_codes(), ["AADSTS50011"]);
    assert_eq!(browser.count(), 0);
}

#[tokio::test]
async fn other_provider_errors_keep_the_code_and_message() {
    let Some(_fake) = fake(FakeScript {
        responses: vec![failure(
            FakeStatus::ProviderError,
            0xCAA2_0008,
            "AADSTS65001: the user has not consented",
        )],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, _) = credential(InteractiveBrowserBrokerCredentialOptions::default());
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    assert!(e.message().contains("0xCAA20008"), "{e}");
    assert!(e.message().contains("the user has not consented"), "{e}");
    assert_eq!(e.error_codes(), ["AADSTS65001"]);
}

/// A broker request as the credential builds it (`BrokerRequest` is non-exhaustive), captured
/// by the scripted broker of the other tests and aimed at the wam broker.
async fn broker_request(tenant: &str, msa_passthrough: bool) -> BrokerRequest {
    let capture = Arc::new(FakeBroker::new(
        BrokerScript::Fail(ErrorKind::AuthenticationRequired),
        BrokerScript::Fail(ErrorKind::AuthenticationRequired),
        BrokerScript::Fail(ErrorKind::UserCancelled),
    ));
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: tenant.parse().unwrap(),
            enable_msa_passthrough: msa_passthrough,
            broker: mr_auth_broker::BrokerMode::Custom(capture.clone()),
            ..Default::default()
        }))
        .unwrap();
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserCancelled, "{e}");
    let mut request = capture.last_request();
    request.redirect_uri = wam_broker().redirect_uri(&request.client_id);
    request
}

fn wam_broker() -> Arc<dyn PlatformBroker> {
    default_platform_broker().expect("windows has the wam broker")
}

#[tokio::test]
async fn a_missing_account_provider_is_broker_unavailable_and_account_switch_a_success() {
    let Some(_fake) = fake(FakeScript {
        responses: vec![
            failure(
                FakeStatus::AccountProviderNotAvailable,
                0x8007_0490,
                "no aad plugin",
            ),
            FakeResponse {
                status: FakeStatus::AccountSwitch,
                ..success("switched-token")
            },
        ],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let broker = wam_broker();
    let request = broker_request(TENANT, false).await;
    let window = ParentWindowHandle::from_raw(0x42);
    let e = bounded(broker.acquire_token_interactively(&request, window))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{e}");
    assert!(e.message().contains("0x80070490: no aad plugin"), "{e}");

    let token = bounded(broker.acquire_token_interactively(&request, window))
        .await
        .unwrap();
    assert_eq!(token.token.token.secret(), "switched-token");
    let account = token.account.expect("the account is reported");
    assert_eq!(account.username.as_deref(), Some("someone@contoso.com"));
}

#[tokio::test]
async fn msa_passthrough_redeems_the_msa_transfer_token_with_the_aad_plugin() {
    let transfer = FakeResponse {
        properties: BTreeMap::from([("code".to_owned(), "transfer-secret".to_owned())]),
        account: Some(FakeAccount {
            id: "msa-account-7".into(),
            user_name: "someone@outlook.com".into(),
        }),
        ..success("msa-plugin-token")
    };
    let Some(fake) = fake(FakeScript {
        responses: vec![transfer, success("passthrough-token")],
        account_picker: Some(FakePicker {
            choice: FakePickerChoice::Personal,
            hold: false,
        }),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let broker = wam_broker();
    let request = broker_request("consumers", true).await;
    let token =
        bounded(broker.acquire_token_interactively(&request, ParentWindowHandle::from_raw(0x99)))
            .await
            .unwrap();
    assert_eq!(token.token.token.secret(), "passthrough-token");
    let account = token.account.expect("the msa account");
    assert_eq!(account.username.as_deref(), Some("someone@outlook.com"));
    // Tenant `consumers`: work and school accounts cannot serve it, so the picker offers
    // personal accounts only.
    let shown = fake.wam.calls_to(SHOW_PICKER);
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert_eq!(shown[0].offered, [provider("consumers")]);

    let calls = fake.wam.calls_to("RequestTokenForWindowAsync");
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let first = calls[0].request.as_ref().unwrap();
    assert_eq!(first.provider_authority, "consumers", "the msa plugin");
    assert_eq!(first.scope, TRANSFER_SCOPE);
    assert_eq!(
        first.properties,
        BTreeMap::from([("wam_compat".to_owned(), "2.0".to_owned())])
    );
    let second = calls[1].request.as_ref().unwrap();
    assert_eq!(second.provider_authority, "organizations", "the aad plugin");
    assert_eq!(second.scope, SCOPE_WITH_OIDC);
    assert_eq!(second.prompt_type, 1);
    assert_eq!(
        second.properties.get("SamlAssertion").map(String::as_str),
        Some("transfer-secret")
    );
    assert_eq!(
        second
            .properties
            .get("SamlAssertionType")
            .map(String::as_str),
        Some("SAMLV1")
    );
    assert_eq!(
        second.properties.get("authority").map(String::as_str),
        Some("https://login.microsoftonline.com/common")
    );
    assert!(calls.iter().all(|c| c.hwnd == Some(0x99)));

    // The account signed in that way is used silently through the msa plugin later.
    let silent_fake = FakeScript {
        accounts: vec![FakeAccount {
            id: "msa-account-7".into(),
            user_name: "someone@outlook.com".into(),
        }],
        responses: vec![
            FakeResponse {
                properties: BTreeMap::from([("code".to_owned(), "transfer-2".to_owned())]),
                ..success("msa-plugin-token")
            },
            success("passthrough-silent"),
        ],
        ..FakeScript::default()
    };
    fake.wam.reset(&silent_fake);
    let token = bounded(broker.acquire_token_silently(&request, &account))
        .await
        .unwrap();
    assert_eq!(token.token.token.secret(), "passthrough-silent");
    let calls = fake.wam.calls();
    let lookup = calls
        .iter()
        .find(|c| c.method == "FindAccountAsync")
        .unwrap();
    assert_eq!(lookup.account_id.as_deref(), Some("msa-account-7"));
    assert_eq!(lookup.provider.as_ref().unwrap().1, "consumers");
    let silent = fake.wam.calls_to("GetTokenSilentlyAsync");
    assert_eq!(silent.len(), 1, "{calls:#?}");
    assert_eq!(
        silent[0]
            .request
            .as_ref()
            .unwrap()
            .properties
            .get("SamlAssertion")
            .map(String::as_str),
        Some("transfer-2")
    );
    let with_account = fake.wam.calls_to("GetTokenSilentlyWithWebAccountAsync");
    assert_eq!(
        with_account[0].request.as_ref().unwrap().scope,
        TRANSFER_SCOPE
    );
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn dropping_the_callers_future_cancels_the_winrt_operation_on_the_wam_thread() {
    let Some(fake) = fake(FakeScript {
        responses: vec![FakeResponse {
            hold: true,
            ..FakeResponse::default()
        }],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let broker = wam_broker();
    let request = broker_request(TENANT, false).await;
    let pending = tokio::spawn(async move {
        broker
            .acquire_token_interactively(&request, ParentWindowHandle::from_raw(0x42))
            .await
    });
    let wam = fake.wam;
    let held = tokio::task::spawn_blocking(move || wam.wait_until_held(1, Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(held, "the dialog call reached the fake and is pending");
    // The caller gives up: its future is dropped.
    pending.abort();
    assert!(pending.await.unwrap_err().is_cancelled());
    let cancelled = tokio::task::spawn_blocking(move || {
        wam.wait_for_call("IAsyncInfo.Cancel", Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert!(cancelled, "the fake saw Cancel: {:#?}", fake.wam.calls());
    let calls = fake.wam.calls();
    let cancel = calls
        .iter()
        .find(|c| c.method == "IAsyncInfo.Cancel")
        .unwrap();
    assert_eq!(
        cancel.token_call,
        Some(0),
        "the pending dialog call was the one cancelled"
    );
    assert_eq!(
        cancel.operation.as_deref(),
        Some("RequestTokenForWindowAsync")
    );
    // Cancel, like every other call, came from the wam thread, not the tokio worker that
    // dropped the future.
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn the_credentials_timeout_cancels_the_pending_dialog() {
    let Some(fake) = fake(FakeScript {
        responses: vec![FakeResponse {
            hold: true,
            ..FakeResponse::default()
        }],
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        parent_window_handle: ParentWindowHandle::from_raw(0x42),
        timeout: Duration::from_secs(2),
        ..Default::default()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(browser.count(), 0);
    let wam = fake.wam;
    let cancelled = tokio::task::spawn_blocking(move || {
        wam.wait_for_call("IAsyncInfo.Cancel", Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert!(cancelled, "the fake saw Cancel: {:#?}", fake.wam.calls());
    assert_on_wam_thread(&fake.wam.calls());
}

#[tokio::test]
async fn pop_is_still_pop_needs_broker_and_reaches_no_winrt_call() {
    let Some(fake) = fake(FakeScript {
        default_account_authority: Some("organizations".into()),
        responses: vec![success("must-not-be-used")],
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
    assert_eq!(fake.wam.calls(), [], "wam is not even activated for pop");
}

/// The call that shows the account picker of MSA passthrough.
const SHOW_PICKER: &str = "ShowAddAccountForWindowAsync";

/// Microsoft's provider for `authority`, as the fake records it.
fn provider(authority: &str) -> (String, String) {
    (MICROSOFT_PROVIDER.to_owned(), authority.to_owned())
}

fn picker(choice: FakePickerChoice) -> Option<FakePicker> {
    Some(FakePicker {
        choice,
        hold: false,
    })
}

/// The calls on the account picker's pane.
const PICKER_METHODS: [&str; 4] = [
    "GetForWindow",
    "AccountCommandsRequested",
    SHOW_PICKER,
    "RemoveAccountCommandsRequested",
];

/// The picker calls, in order.
fn picker_methods(calls: &[FakeCall]) -> Vec<&str> {
    methods(calls)
        .into_iter()
        .filter(|m| PICKER_METHODS.contains(m))
        .collect()
}

#[tokio::test]
async fn msa_passthrough_shows_the_combined_picker_and_a_work_account_gets_the_aad_token() {
    let Some(fake) = fake(FakeScript {
        responses: vec![success("work-token")],
        account_picker: picker(FakePickerChoice::WorkOrSchool),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let broker = wam_broker();
    let request = broker_request("organizations", true).await;
    let token =
        bounded(broker.acquire_token_interactively(&request, ParentWindowHandle::from_raw(0x99)))
            .await
            .unwrap();
    assert_eq!(token.token.token.secret(), "work-token");
    let account = token.account.expect("the work account");
    assert_eq!(account.id, "wam:work:wam-account-1");

    let calls = fake.wam.calls();
    assert_eq!(picker_methods(&calls), PICKER_METHODS, "{calls:#?}");
    for call in calls
        .iter()
        .filter(|c| PICKER_METHODS.contains(&c.method.as_str()))
    {
        assert_eq!(
            call.hwnd,
            Some(0x99),
            "parented to the given window: {call:#?}"
        );
    }
    let shown = calls.iter().find(|c| c.method == SHOW_PICKER).unwrap();
    assert_eq!(
        shown.offered,
        [provider("organizations"), provider("consumers")],
        "work or school first, then personal"
    );
    assert_eq!(shown.picked, Some(provider("organizations")));
    // Then the aad plugin's dialog, parented to the same window, for the requested scope.
    let dialogs = fake.wam.calls_to("RequestTokenForWindowAsync");
    assert_eq!(dialogs.len(), 1, "{dialogs:#?}");
    assert_eq!(dialogs[0].hwnd, Some(0x99));
    let sent = dialogs[0].request.as_ref().unwrap();
    assert_eq!(sent.provider_authority, "organizations");
    assert_eq!(sent.scope, SCOPE_WITH_OIDC);
    assert_eq!(sent.prompt_type, 1);
    assert!(!sent.properties.contains_key("SamlAssertion"));
    assert_eq!(
        sent.properties.get("authority").map(String::as_str),
        Some("https://login.microsoftonline.com/common")
    );
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn a_personal_account_picked_runs_the_passthrough_exchange() {
    let transfer = FakeResponse {
        properties: BTreeMap::from([("code".to_owned(), "transfer-secret".to_owned())]),
        account: Some(FakeAccount {
            id: "msa-account-7".into(),
            user_name: "someone@outlook.com".into(),
        }),
        ..success("msa-plugin-token")
    };
    let Some(fake) = fake(FakeScript {
        responses: vec![transfer, success("passthrough-token")],
        account_picker: picker(FakePickerChoice::Personal),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let broker = wam_broker();
    let request = broker_request(TENANT, true).await;
    let token =
        bounded(broker.acquire_token_interactively(&request, ParentWindowHandle::from_raw(0x99)))
            .await
            .unwrap();
    assert_eq!(token.token.token.secret(), "passthrough-token");
    let account = token.account.expect("the msa account");
    assert_eq!(account.id, "wam:msa-passthrough:msa-account-7");

    let calls = fake.wam.calls();
    let shown = calls.iter().find(|c| c.method == SHOW_PICKER).unwrap();
    assert_eq!(shown.offered, [provider(TENANT), provider("consumers")]);
    assert_eq!(shown.picked, Some(provider("consumers")));
    let dialogs = fake.wam.calls_to("RequestTokenForWindowAsync");
    assert_eq!(dialogs.len(), 2, "{dialogs:#?}");
    let first = dialogs[0].request.as_ref().unwrap();
    assert_eq!(first.provider_authority, "consumers", "the msa plugin");
    assert_eq!(first.scope, TRANSFER_SCOPE);
    let second = dialogs[1].request.as_ref().unwrap();
    assert_eq!(second.provider_authority, "organizations", "the aad plugin");
    assert_eq!(
        second.properties.get("SamlAssertion").map(String::as_str),
        Some("transfer-secret")
    );
    assert!(dialogs.iter().all(|c| c.hwnd == Some(0x99)));
    // The picker came first.
    let position = |m: &str| methods(&calls).iter().position(|c| *c == m).unwrap();
    assert!(position(SHOW_PICKER) < position("RequestTokenForWindowAsync"));
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn closing_the_picker_without_a_choice_is_user_cancelled() {
    let Some(fake) = fake(FakeScript {
        responses: vec![success("must-not-be-used")],
        account_picker: picker(FakePickerChoice::Dismiss),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        enable_msa_passthrough: true,
        parent_window_handle: ParentWindowHandle::from_raw(0x5150),
        ..Default::default()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserCancelled, "{e}");
    assert_eq!(browser.count(), 0, "a cancelled picker opens no browser");
    let calls = fake.wam.calls();
    let shown = calls.iter().find(|c| c.method == SHOW_PICKER).unwrap();
    assert_eq!(shown.hwnd, Some(0x5150));
    assert_eq!(shown.picked, None);
    assert!(
        !methods(&calls)
            .iter()
            .any(|m| m.starts_with("RequestToken")),
        "no dialog after the picker closed: {calls:#?}"
    );
    assert_eq!(
        picker_methods(&calls).last(),
        Some(&"RemoveAccountCommandsRequested")
    );
}

#[tokio::test]
async fn without_passthrough_or_with_a_login_hint_no_picker_is_shown() {
    let Some(fake) = fake(FakeScript {
        responses: vec![success("first"), success("second")],
        // Would answer, if the picker were shown.
        account_picker: picker(FakePickerChoice::WorkOrSchool),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let window = ParentWindowHandle::from_raw(0x42);
    let broker = wam_broker();
    let request = broker_request("organizations", false).await;
    let token = bounded(broker.acquire_token_interactively(&request, window))
        .await
        .unwrap();
    assert_eq!(token.token.token.secret(), "first");

    let mut hinted = broker_request("organizations", true).await;
    hinted.login_hint = Some("someone@contoso.com".into());
    let token = bounded(broker.acquire_token_interactively(&hinted, window))
        .await
        .unwrap();
    assert_eq!(token.token.token.secret(), "second");

    let calls = fake.wam.calls();
    assert_eq!(
        methods(&calls),
        [
            "FindAccountProviderWithAuthorityAsync",
            "RequestTokenForWindowAsync",
            "FindAccountProviderWithAuthorityAsync",
            "RequestTokenForWindowAsync",
        ],
        "today's path, no picker: {calls:#?}"
    );
    let hinted_call = &fake.wam.calls_to("RequestTokenForWindowAsync")[1];
    assert_eq!(
        hinted_call
            .request
            .as_ref()
            .unwrap()
            .properties
            .get("LoginHint")
            .map(String::as_str),
        Some("someone@contoso.com")
    );
}

#[tokio::test]
async fn an_account_signed_in_through_the_picker_gets_tokens_silently_without_it() {
    let Some(fake) = fake(FakeScript {
        accounts: vec![work_account()],
        responses: vec![success("interactive-token"), success("silent-token")],
        account_picker: picker(FakePickerChoice::WorkOrSchool),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let (c, browser) = credential(InteractiveBrowserBrokerCredentialOptions {
        enable_msa_passthrough: true,
        parent_window_handle: ParentWindowHandle::from_raw(0x5150),
        ..Default::default()
    });
    let first = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(first.token.secret(), "interactive-token");
    // Another scope: not cached, so the broker's silent call with the account from before.
    let second = bounded(c.get_token_info(&["https://storage.azure.com/.default"], None))
        .await
        .unwrap();
    assert_eq!(second.token.secret(), "silent-token");
    assert_eq!(browser.count(), 0);

    let calls = fake.wam.calls();
    assert_eq!(
        fake.wam.calls_to(SHOW_PICKER).len(),
        1,
        "the picker only for the first sign-in: {calls:#?}"
    );
    let silent = fake.wam.calls_to("GetTokenSilentlyWithWebAccountAsync");
    assert_eq!(silent.len(), 1, "{calls:#?}");
    assert_eq!(silent[0].account_id.as_deref(), Some("wam-account-1"));
    let position = |m: &str| methods(&calls).iter().rposition(|c| *c == m).unwrap();
    assert!(position(SHOW_PICKER) < position("GetTokenSilentlyWithWebAccountAsync"));
    assert_on_wam_thread(&calls);
}

#[tokio::test]
async fn dropping_the_callers_future_while_the_picker_is_open_cancels_it() {
    let Some(fake) = fake(FakeScript {
        responses: vec![success("must-not-be-used")],
        account_picker: Some(FakePicker {
            choice: FakePickerChoice::WorkOrSchool,
            hold: true,
        }),
        ..FakeScript::default()
    })
    .await
    else {
        return;
    };
    let broker = wam_broker();
    let request = broker_request("organizations", true).await;
    let pending = tokio::spawn(async move {
        broker
            .acquire_token_interactively(&request, ParentWindowHandle::from_raw(0x42))
            .await
    });
    let wam = fake.wam;
    let held = tokio::task::spawn_blocking(move || wam.wait_until_held(1, Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(held, "the picker is open: {:#?}", fake.wam.calls());
    // The caller gives up: its future is dropped.
    pending.abort();
    assert!(pending.await.unwrap_err().is_cancelled());
    let removed = tokio::task::spawn_blocking(move || {
        wam.wait_for_call("RemoveAccountCommandsRequested", Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert!(removed, "the handler was removed: {:#?}", fake.wam.calls());
    let calls = fake.wam.calls();
    let cancel = calls
        .iter()
        .find(|c| c.method == "IAsyncInfo.Cancel")
        .unwrap_or_else(|| panic!("the fake saw Cancel: {calls:#?}"));
    assert_eq!(
        cancel.operation.as_deref(),
        Some(SHOW_PICKER),
        "the open picker was the operation cancelled"
    );
    assert!(
        !methods(&calls)
            .iter()
            .any(|m| m.starts_with("RequestToken")),
        "no dialog after the cancelled picker: {calls:#?}"
    );
    // Cancel, like every other call, came from the wam thread, not the tokio worker that
    // dropped the future.
    assert_on_wam_thread(&calls);
}
