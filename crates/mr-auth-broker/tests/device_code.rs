//! The device code sign-in against the loopback mock authority: `DeviceCodeCredential`, and
//! the browser credential's opt-in fallback. Polling runs under `tokio::time::pause`, so the
//! poll times below are exact: the interval kept, 5 s more after `slow_down`, nothing at or
//! after the code's expiry, nothing after the caller's future is dropped. One test has a real
//! headless Chromium enter the code on the mock's verification page.

use mr_auth_broker::{
    test_util::{credential_with_hooks, device_code_credential_with_hooks, TestHooks},
    AuthorizeUrlHandler, BrokerMode, BrokerTokenRequestOptions, DeviceCodeCredential,
    DeviceCodeCredentialOptions, DeviceCodePrompt, DeviceCodePromptCallback, Error, ErrorKind,
    InteractiveBrowserBrokerCredentialOptions, PopMethod, PopParameters,
};
use mr_auth_core::{Clock as _, EnvironmentMap, ManualClock};
use mr_auth_test_support::{
    bounded,
    chromium::{chromium_skip_reason, BrowserLauncher as _, Chromium},
    fake_broker::{Call, FakeBroker},
    mock_authority::{
        AuthorizeMode, DevicePoll, MockAuthority, CLIENT_ID, DEVICE_CODE_GRANT, TENANT,
    },
    LogCapture,
};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;

const SCOPE: &str = "https://management.azure.com/.default";

/// What the prompt callback was shown, and when (paused time).
#[derive(Default)]
struct Prompts(Mutex<Vec<(Instant, DeviceCodePrompt)>>);

impl Prompts {
    fn callback(self: &Arc<Self>) -> DeviceCodePromptCallback {
        let prompts = Arc::clone(self);
        DeviceCodePromptCallback::new(move |prompt| {
            prompts
                .0
                .lock()
                .unwrap()
                .push((Instant::now(), prompt.clone()));
            Ok(())
        })
    }

    fn all(&self) -> Vec<(Instant, DeviceCodePrompt)> {
        self.0.lock().unwrap().clone()
    }

    /// When the only prompt was shown: the device code's answer had just arrived.
    fn shown_at(&self) -> Instant {
        let all = self.all();
        assert_eq!(all.len(), 1, "one prompt");
        all[0].0
    }
}

struct Setup {
    authority: Arc<MockAuthority>,
    prompts: Arc<Prompts>,
    clock: Arc<ManualClock>,
    environment: EnvironmentMap,
}

impl Setup {
    async fn new() -> Self {
        Self {
            authority: Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await),
            prompts: Arc::default(),
            clock: Arc::new(ManualClock::at_fixed_start()),
            environment: EnvironmentMap::new(),
        }
    }

    fn hooks(&self) -> TestHooks {
        TestHooks {
            clock: self.clock.clone(),
            environment: Arc::new(self.environment.clone()),
        }
    }

    fn options(&self) -> DeviceCodeCredentialOptions {
        DeviceCodeCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authority: Some(self.authority.authority_host().parse().unwrap()),
            ..Default::default()
        }
    }

    fn credential(&self, options: DeviceCodeCredentialOptions) -> Arc<DeviceCodeCredential> {
        device_code_credential_with_hooks(self.prompts.callback(), Some(options), self.hooks())
            .unwrap()
    }

    /// Seconds after the prompt at which each poll came, and what it was answered.
    fn polls(&self) -> Vec<(u64, DevicePoll)> {
        let shown = self.prompts.shown_at();
        self.authority.log(|l| {
            l.device_polls
                .iter()
                .map(|(at, answer)| ((*at - shown).as_secs(), *answer))
                .collect()
        })
    }
}

#[tokio::test(start_paused = true)]
async fn polls_at_the_interval_slows_down_for_good_and_signs_in() {
    use DevicePoll::*;
    let s = Setup::new().await;
    s.authority
        .script_device_polls([Pending, Pending, SlowDown, Pending, Success]);
    let c = s.credential(s.options());
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert!(token.token.secret().starts_with("access-token-"));
    assert_eq!(
        s.polls(),
        [
            (5, Pending),
            (10, Pending),
            (15, SlowDown),
            (25, Pending),
            (35, Success)
        ]
    );

    let (_, prompt) = s.prompts.all().remove(0);
    assert_eq!(
        prompt.verification_uri.as_str(),
        format!("{}/devicelogin", s.authority.authority_host())
    );
    assert_eq!(Some(prompt.user_code.clone()), s.authority.user_code());
    assert_eq!(prompt.expires_on, s.clock.now() + Duration::from_secs(900));
    assert!(
        prompt.message.contains(&prompt.user_code),
        "{}",
        prompt.message
    );
    s.authority.log(|l| {
        assert_eq!(l.device_code_requests, 1);
        let scope = &l.last_device_code_form["scope"];
        for wanted in [SCOPE, "openid", "profile", "offline_access"] {
            assert!(scope.split(' ').any(|s| s == wanted), "{scope}");
        }
        assert_eq!(l.last_device_code_form["client_id"], CLIENT_ID);
        assert_eq!(
            l.last_token_form_keys,
            [
                "client_id",
                "client_info",
                "device_code",
                "grant_type",
                "scope"
            ]
        );
        assert!(l
            .token_requests
            .iter()
            .all(|(grant, _)| grant == DEVICE_CODE_GRANT));
        assert_eq!(l.authorize_requests, 0);
    });

    // Then silent, from memory: no new code, no new poll.
    let again = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(again.token.secret(), token.token.secret());
    assert_eq!(
        s.authority
            .log(|l| (l.device_code_requests, l.device_polls.len())),
        (1, 5)
    );
}

#[tokio::test(start_paused = true)]
async fn declined_expired_and_unknown_codes_end_with_their_kinds_and_no_further_poll() {
    for (answer, kind) in [
        (DevicePoll::Declined, ErrorKind::UserCancelled),
        (DevicePoll::Expired, ErrorKind::DeviceCodeExpired),
        (DevicePoll::BadCode, ErrorKind::BadVerificationCode),
    ] {
        let s = Setup::new().await;
        s.authority
            .script_device_polls([DevicePoll::Pending, answer]);
        let c = s.credential(s.options());
        let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(e.status(), Some(400));
        // Nothing more after the final answer, however long one waits.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(s.polls(), [(5, DevicePoll::Pending), (10, answer)]);
    }
}

#[tokio::test(start_paused = true)]
async fn nothing_is_polled_at_or_after_the_code_expires() {
    let s = Setup::new().await;
    s.authority.set_device_code_timing(15, Some(5));
    let c = s.credential(s.options());
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceCodeExpired, "{e}");
    assert!(e.message().contains("expired after 15 s"), "{e}");
    // The next poll would have been at 15 s, when the code is no longer valid.
    assert_eq!(
        s.polls(),
        [(5, DevicePoll::Pending), (10, DevicePoll::Pending)]
    );
    assert_eq!(
        (Instant::now() - s.prompts.shown_at()).as_secs(),
        10,
        "gives up at once"
    );
}

#[tokio::test(start_paused = true)]
async fn the_timeout_ends_the_wait_before_the_code_expires() {
    let s = Setup::new().await;
    s.authority.set_device_code_timing(900, None);
    let c = s.credential(DeviceCodeCredentialOptions {
        timeout: Some(Duration::from_secs(12)),
        ..s.options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // No interval in the answer: the default 5 s.
    assert_eq!(
        s.polls(),
        [(5, DevicePoll::Pending), (10, DevicePoll::Pending)]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_caller_s_future_stops_polling_at_once() {
    let s = Setup::new().await;
    let c = s.credential(s.options());
    let caller = tokio::spawn({
        let c = Arc::clone(&c);
        async move { c.get_token_info(&[SCOPE], None).await }
    });
    // Paused time: two polls (at 5 and 10 s) have been answered by 12 s.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(s.authority.log(|l| l.device_polls.len()), 2);
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        s.polls(),
        [(5, DevicePoll::Pending), (10, DevicePoll::Pending)],
        "no poll after the drop"
    );
}

#[tokio::test(start_paused = true)]
async fn the_prompt_is_free_of_control_characters_and_secrets_stay_out_of_the_logs() {
    let s = Setup::new().await;
    s.authority
        .set_device_code_message(Some("Open \u{1b}[2Jthe page\r\nand enter the code\u{7}."));
    s.authority.script_device_polls([DevicePoll::Success]);
    let logs = LogCapture::default();
    let _guard = logs.install();
    let c = s.credential(s.options());
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    let (_, prompt) = s.prompts.all().remove(0);
    assert_eq!(prompt.message, "Open [2Jthe pageand enter the code.");
    let text = logs.text();
    assert!(text.contains("device code shown"), "{text}");
    for secret in s.authority.log(|l| l.issued_secrets.clone()) {
        assert!(!text.contains(&secret), "a secret is in the logs: {text}");
    }
    assert!(!text.contains(token.token.secret()));
    assert!(
        !text.contains(&prompt.user_code),
        "the user code is in the logs: {text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_prompt_callback_error_ends_the_sign_in_before_any_poll() {
    let s = Setup::new().await;
    let c = device_code_credential_with_hooks(
        DeviceCodePromptCallback::new(|_| Err(Error::new(ErrorKind::UserCancelled, "no screen"))),
        Some(s.options()),
        s.hooks(),
    )
    .unwrap();
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::UserCancelled, "no screen")
    );
    assert_eq!(s.authority.log(|l| l.device_polls.len()), 0);
}

#[tokio::test(start_paused = true)]
async fn options_are_checked_and_pop_is_refused() {
    let s = Setup::new().await;
    let e = device_code_credential_with_hooks(
        s.prompts.callback(),
        Some(DeviceCodeCredentialOptions {
            timeout: Some(Duration::ZERO),
            ..s.options()
        }),
        s.hooks(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let c = s.credential(s.options());
    let pop = pop_request();
    let e = bounded(c.get_token_info(&[SCOPE], Some(pop)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
    let silent_only = s.credential(DeviceCodeCredentialOptions {
        disable_automatic_authentication: true,
        ..s.options()
    });
    let e = bounded(silent_only.get_token_info(&[SCOPE], None))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
    assert!(
        e.message().contains("persistent cache: none configured"),
        "{e}"
    );
    assert!(!e.message().contains("broker"), "no broker step: {e}");
    assert_eq!(s.authority.log(|l| l.device_code_requests), 0);
}

/// Linux: the plaintext file under `HOME` (Windows keeps a DPAPI file in `LOCALAPPDATA`,
/// covered by `credential_persistence.rs`).
#[cfg(target_os = "linux")]
mod persistent_cache {
    use super::*;
    use mr_auth_broker::{AuthenticationRecord, TokenCachePersistenceOptions};
    use std::path::PathBuf;

    fn temp_home() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mr-auth-device-code-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `HOME` with no Secret Service: the plaintext cache file, as allowed.
    fn plaintext_cache(setup: &mut Setup, home: &std::path::Path) -> TokenCachePersistenceOptions {
        setup.environment = EnvironmentMap::new()
            .with("HOME", home.to_str().unwrap())
            .with(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", home.join("no-bus").display()),
            );
        TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sign_in_is_stored_as_msal_stores_a_device_code_sign_in_and_read_silently() {
        let home = temp_home();
        let mut s = Setup::new().await;
        let persistence = plaintext_cache(&mut s, &home);
        s.authority.set_device_code_timing(900, Some(1));
        s.authority.script_device_polls([DevicePoll::Success]);
        let c = s.credential(DeviceCodeCredentialOptions {
            cache_persistence_options: Some(persistence.clone()),
            ..s.options()
        });
        let record = bounded(c.authenticate(&[SCOPE], None)).await.unwrap();
        assert_eq!(record.username(), "user@contoso.com");

        let file = home.join(".IdentityService").join("msal.cache.nocae");
        let document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let accounts = document["Account"].as_object().unwrap();
        assert_eq!(accounts.len(), 1, "{document}");
        let account = accounts.values().next().unwrap();
        assert_eq!(account["account_source"], DEVICE_CODE_GRANT);
        assert_eq!(document["RefreshToken"].as_object().unwrap().len(), 1);

        // A new process with the record: silent, with no request at all; the browser credential
        // reads the same entries.
        let record = AuthenticationRecord::from_json(&record.to_json()).unwrap();
        let requests = s.authority.log(|l| l.token_requests.len());
        let silent = s.credential(DeviceCodeCredentialOptions {
            cache_persistence_options: Some(persistence.clone()),
            authentication_record: Some(record.clone()),
            disable_automatic_authentication: true,
            ..s.options()
        });
        bounded(silent.get_token_info(&[SCOPE], None))
            .await
            .unwrap();
        let browser = credential_with_hooks(
            Some(InteractiveBrowserBrokerCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: TENANT.parse().unwrap(),
                authority: Some(s.authority.authority_host().parse().unwrap()),
                broker: BrokerMode::BrowserOnly,
                cache_persistence_options: Some(persistence),
                authentication_record: Some(record),
                disable_automatic_authentication: true,
                ..Default::default()
            }),
            s.hooks(),
        )
        .unwrap();
        bounded(browser.get_token_info(&[SCOPE], None))
            .await
            .unwrap();
        assert_eq!(s.authority.log(|l| l.token_requests.len()), requests);
        assert_eq!(s.authority.log(|l| l.device_code_requests), 1);
        std::fs::remove_dir_all(home).unwrap();
    }
}

/// A proof-of-possession request, which no device code sign-in answers.
fn pop_request() -> BrokerTokenRequestOptions {
    let binding = PopParameters::new(PopMethod::Get, "https://r.example/x".parse().unwrap(), None);
    BrokerTokenRequestOptions {
        pop: Some(binding.unwrap()),
        ..Default::default()
    }
}

/// The browser credential with the device code fallback, in `environment`; its authorize URL
/// handler fails, so a sign-in that took the browser path ends with "browser path".
fn browser_credential(
    s: &Setup,
    environment: &[(&str, &str)],
    broker: BrokerMode,
    fallback: bool,
) -> Arc<mr_auth_broker::InteractiveBrowserBrokerCredential> {
    let hooks = TestHooks {
        environment: Arc::new(EnvironmentMap::from_iter(environment.iter().copied())),
        clock: s.clock.clone(),
    };
    credential_with_hooks(
        Some(InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authority: Some(s.authority.authority_host().parse().unwrap()),
            broker,
            authorize_url_handler: AuthorizeUrlHandler::callback(|_| {
                Err(Error::new(ErrorKind::Transport, "browser path"))
            }),
            device_code_fallback: fallback.then(|| s.prompts.callback()),
            ..Default::default()
        }),
        hooks,
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_browser_credential_falls_back_to_a_device_code_only_when_asked_and_headless() {
    let no_display: &[(&str, &str)] = &[];
    let ssh: &[(&str, &str)] = &[
        ("DISPLAY", "localhost:10.0"),
        ("SSH_CONNECTION", "a 1 b 22"),
    ];
    let desktop: &[(&str, &str)] = &[("DISPLAY", ":0")];
    let ssh_with_browser: &[(&str, &str)] = &[("SSH_TTY", "/dev/pts/3"), ("BROWSER", "w3m")];
    let linux = cfg!(target_os = "linux");
    for (environment, fallback, device_code) in [
        (no_display, true, linux),
        (ssh, true, true),
        (no_display, false, false),
        (ssh, false, false),
        (desktop, true, false),
        (ssh_with_browser, true, false),
    ] {
        let s = Setup::new().await;
        s.authority.script_device_polls([DevicePoll::Success]);
        let c = browser_credential(&s, environment, BrokerMode::BrowserOnly, fallback);
        let result = bounded(c.get_token_info(&[SCOPE], None)).await;
        let case = format!("{environment:?}, fallback {fallback}");
        if device_code {
            assert!(result.is_ok(), "{case}: {result:?}");
            assert_eq!(s.prompts.all().len(), 1, "{case}");
            assert_eq!(s.authority.log(|l| l.device_code_requests), 1, "{case}");
        } else {
            let e = result.unwrap_err();
            assert_eq!(e.message(), "browser path", "{case}");
            assert!(s.prompts.all().is_empty(), "{case}");
            assert_eq!(s.authority.log(|l| l.device_code_requests), 0, "{case}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_usable_broker_comes_before_the_device_code_and_pop_is_never_downgraded() {
    let s = Setup::new().await;
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = browser_credential(
        &s,
        &[("SSH_TTY", "/dev/pts/0")],
        BrokerMode::Custom(broker.clone()),
        true,
    );
    bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert!(broker.calls().contains(&Call::Interactive(None)));
    assert!(s.prompts.all().is_empty());
    assert_eq!(s.authority.log(|l| l.device_code_requests), 0);

    let c = browser_credential(
        &s,
        &[("SSH_TTY", "/dev/pts/0")],
        BrokerMode::BrowserOnly,
        true,
    );
    let pop = pop_request();
    let e = bounded(c.get_token_info(&[SCOPE], Some(pop)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
    assert_eq!(s.authority.log(|l| l.device_code_requests), 0);
}

/// One Chromium at a time: the machine is small.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_enters_the_code_on_the_verification_page() {
    if let Some(reason) = chromium_skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new().await;
    s.authority.set_device_code_timing(900, Some(1));
    let chromium = Arc::new(Chromium::default());
    let browser = Arc::clone(&chromium);
    // The user reads the prompt and opens the address on "another device"; the test hands the
    // code to the page in the fragment, and the page's script types it into its form.
    let prompt = DeviceCodePromptCallback::new(move |prompt| {
        let mut url = prompt.verification_uri.clone();
        url.set_fragment(Some(&format!("code={}", prompt.user_code)));
        browser.open(&url)
    });
    let c = device_code_credential_with_hooks(prompt, Some(s.options()), s.hooks()).unwrap();
    let token = bounded(c.get_token_info(&[SCOPE], None)).await;
    chromium.shutdown();
    let token = token.unwrap();
    assert!(token.token.secret().starts_with("access-token-"));
    let user_code = s.authority.user_code().unwrap();
    s.authority.log(|l| {
        assert_eq!(l.entered_user_codes, std::slice::from_ref(&user_code));
        assert_eq!(
            l.device_polls.last().map(|p| p.1),
            Some(DevicePoll::Success)
        );
    });
    assert_eq!(chromium.launched(), 0, "shut down");
}
