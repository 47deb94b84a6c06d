//! The interactive browser flow end to end: a real headless Chromium follows the loopback mock
//! authority's authorize page back to the credential's loopback receiver.
//!
//! Needs `/usr/bin/chromium` (or `MR_AUTH_CHROMIUM`); without it these tests fail, unless
//! `MR_AUTH_SKIP_BROWSER_TESTS=1` is set, in which case they print why they skip.

use mr_auth_broker::{
    test_util::{credential_with_hooks, TestHooks},
    BrokerTokenRequestOptions, ErrorKind, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, PopMethod, PopParameters, RedirectUri, TenantId,
    TokenType,
};
use mr_auth_core::ManualClock;
use mr_auth_test_support::{
    bounded,
    chromium::{chromium_skip_reason, handler, BrowserLauncher, Chromium},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
};
use std::{net::Ipv4Addr, sync::Arc, time::Duration};

const SCOPE: &str = "https://management.azure.com/.default";

/// One Chromium at a time: the machine is small and each test owns its browser.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    authority: Arc<MockAuthority>,
    chromium: Arc<Chromium>,
}

impl Setup {
    async fn new(mode: AuthorizeMode) -> Self {
        Self {
            authority: Arc::new(MockAuthority::start(mode).await),
            chromium: Arc::new(Chromium::default()),
        }
    }

    fn options(&self) -> InteractiveBrowserBrokerCredentialOptions {
        InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authority: Some(self.authority.authority_host().parse().unwrap()),
            authorize_url_handler: handler(self.chromium.clone()),
            timeout: Duration::from_secs(60),
            ..Default::default()
        }
    }

    fn credential(
        &self,
        o: InteractiveBrowserBrokerCredentialOptions,
    ) -> Arc<InteractiveBrowserBrokerCredential> {
        InteractiveBrowserBrokerCredential::new(Some(o)).unwrap()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.chromium.shutdown();
    }
}

macro_rules! skip_without_chromium {
    () => {
        if let Some(reason) = chromium_skip_reason() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

/// Bounds a whole sign-in, whatever goes wrong.
#[tokio::test]
async fn form_post_sign_in_succeeds() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    let c = s.credential(s.options());
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert!(token.token.secret().starts_with("access-token-"));
    assert_eq!(token.token_type, TokenType::Bearer);
    assert_eq!(s.chromium.launched(), 1);
    s.authority.log(|l| {
        let q = &l.last_authorize_query;
        let redirect = &q["redirect_uri"];
        let port: u16 = redirect
            .strip_prefix("http://localhost:")
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .unwrap();
        assert!(
            (8400..=8999).contains(&port),
            "first free port of 8400-8999: {redirect}"
        );
        assert_eq!(q["response_mode"], "form_post");
        assert_eq!(q["prompt"], "select_account");
        assert_eq!(q["client_info"], "1");
        assert!(q["scope"].contains(SCOPE));
        assert_eq!(l.token_requests, [("authorization_code".to_owned(), true)]);
        assert_eq!(
            l.last_token_form_keys,
            [
                "client_id",
                "client_info",
                "code",
                "code_verifier",
                "grant_type",
                "redirect_uri",
                "scope"
            ]
        );
    });
}

#[tokio::test]
async fn query_redirect_sign_in_succeeds_on_a_configured_redirect_uri() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::QueryRedirect).await;
    let port = {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let c = s.credential(InteractiveBrowserBrokerCredentialOptions {
        redirect_uri: Some(
            format!("http://localhost:{port}/auth/callback")
                .parse()
                .unwrap(),
        ),
        login_hint: Some("user@contoso.com".into()),
        ..s.options()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert!(token.token.secret().starts_with("access-token-"));
    s.authority.log(|l| {
        assert_eq!(
            l.last_authorize_query["redirect_uri"],
            format!("http://localhost:{port}/auth/callback")
        );
        assert_eq!(l.last_authorize_query["login_hint"], "user@contoso.com");
    });
}

#[tokio::test]
async fn a_response_with_the_wrong_state_is_refused_and_the_wait_goes_on() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::WrongState).await;
    let c = s.credential(InteractiveBrowserBrokerCredentialOptions {
        timeout: Duration::from_secs(5),
        ..s.options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    s.authority
        .log(|l| assert!(l.token_requests.is_empty(), "the code was not redeemed"));
}

/// Sends a forged redirect (a code with a wrong state) to the receiver, as any local process
/// or web page could, records the status line it got, then hands the URL to Chromium. On a
/// thread: the handler must not block, the receiver only starts answering after it returns.
struct ForgerThenChromium {
    chromium: Arc<Chromium>,
    forged_status: Arc<std::sync::Mutex<Option<String>>>,
}

impl BrowserLauncher for ForgerThenChromium {
    fn open(&self, url: &url::Url) -> mr_auth_broker::Result<()> {
        let (chromium, status, url) = (
            self.chromium.clone(),
            self.forged_status.clone(),
            url.clone(),
        );
        std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            let redirect: url::Url = url
                .query_pairs()
                .find(|(k, _)| k == "redirect_uri")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap();
            let port = redirect.port().unwrap();
            let mut s = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                s,
                "GET {}?code=forged&state=guess HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n",
                redirect.path()
            )
            .unwrap();
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            *status.lock().unwrap() = answer.lines().next().map(str::to_owned);
            chromium.open(&url).unwrap();
        });
        Ok(())
    }
}

#[tokio::test]
async fn a_forged_redirect_sent_first_is_refused_and_the_real_sign_in_completes() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    let forger = Arc::new(ForgerThenChromium {
        chromium: s.chromium.clone(),
        forged_status: Arc::new(std::sync::Mutex::new(None)),
    });
    let c = s.credential(InteractiveBrowserBrokerCredentialOptions {
        authorize_url_handler: handler(forger.clone()),
        ..s.options()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert!(token.token.secret().starts_with("access-token-"));
    assert_eq!(
        forger.forged_status.lock().unwrap().as_deref(),
        Some("HTTP/1.1 400 Bad Request")
    );
    s.authority.log(|l| {
        assert_eq!(l.token_requests, [("authorization_code".to_owned(), true)]);
    });
}

#[tokio::test]
async fn error_redirects_become_typed_errors() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::Error {
        error: "access_denied".into(),
        description: "AADSTS50126: the user cancelled".into(),
        subcode: Some("cancel".into()),
    })
    .await;
    let c = s.credential(s.options());
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserCancelled, "{e}");

    s.authority.set_mode(AuthorizeMode::Error {
        error: "invalid_request".into(),
        description: "AADSTS50011: The redirect URI specified in the request does not match".into(),
        subcode: None,
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered, "{e}");
    let uri = e.redirect_uri().expect("names the uri to register");
    assert!(uri.starts_with("http://localhost:"), "{uri}");
    assert!(e.message().contains(uri));
    assert_eq!(e.error_codes(), ["AADSTS50011"]);

    s.authority.set_mode(AuthorizeMode::Error {
        error: "server_error".into(),
        description: "AADSTS90000: something broke".into(),
        subcode: None,
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    assert!(e.message().contains("something broke"));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_rejected_by_the_authority() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    s.authority.tamper_challenge();
    let c = s.credential(s.options());
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    assert_eq!(e.error_codes(), ["AADSTS501481"]);
    assert_eq!(e.status(), Some(400));
    assert!(e.correlation_id().is_some());
    s.authority
        .log(|l| assert_eq!(l.token_requests, [("authorization_code".to_owned(), false)]));
}

#[tokio::test]
async fn times_out_when_the_browser_never_returns() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::Stall).await;
    let c = s.credential(InteractiveBrowserBrokerCredentialOptions {
        // Long enough for Chromium to start and load the authorize page on a busy machine.
        timeout: Duration::from_secs(15),
        ..s.options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(s.chromium.launched(), 1);
    // The browser did reach the authorize page; it just never came back.
    assert!(s.authority.log(|l| l.authorize_requests) > 0);
}

#[tokio::test]
async fn a_taken_redirect_uri_port_is_loopback_unavailable_without_a_browser() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let c = s.credential(InteractiveBrowserBrokerCredentialOptions {
        redirect_uri: Some(RedirectUri::new(&format!("http://localhost:{port}")).unwrap()),
        ..s.options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoopbackUnavailable, "{e}");
    assert!(e.message().contains(&format!("port {port}")), "{e}");
    assert_eq!(s.chromium.launched(), 0, "no browser without a receiver");
}

#[tokio::test]
async fn another_tenant_is_refused_without_a_browser() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    let c = s.credential(s.options());
    let o = BrokerTokenRequestOptions {
        tenant_id: Some(TenantId::new("fabrikam.onmicrosoft.com").unwrap()),
        ..Default::default()
    };
    let e = bounded(c.get_token_info(&[SCOPE], Some(o)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TenantNotAllowed);
    assert_eq!(s.chromium.launched(), 0);
    assert_eq!(s.authority.log(|l| l.authorize_requests), 0);
}

#[tokio::test]
async fn cache_hit_and_refresh_token_renewal_need_no_browser() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    let clock = Arc::new(ManualClock::new(mr_auth_core::Clock::now(
        &mr_auth_core::SystemClock,
    )));
    let c = credential_with_hooks(
        Some(s.options()),
        TestHooks {
            clock: clock.clone(),
            ..TestHooks::default()
        },
    )
    .unwrap();
    let first = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(s.chromium.launched(), 1);
    s.chromium.shutdown();

    let cached = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(cached.token.secret(), first.token.secret());

    // 56 minutes on, the hour-long token is inside its 5-minute margin: renewed silently.
    clock.advance(Duration::from_secs(56 * 60));
    let renewed = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_ne!(renewed.token.secret(), first.token.secret());
    // Another scope: the refresh token again, no browser.
    let other = bounded(c.get_token_info(&["https://graph.microsoft.com/.default"], None))
        .await
        .unwrap();
    assert_ne!(other.token.secret(), renewed.token.secret());
    assert_eq!(
        s.chromium.launched(),
        0,
        "no browser after the first sign-in"
    );
    s.authority.log(|l| {
        let grants: Vec<&str> = l.token_requests.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(
            grants,
            ["authorization_code", "refresh_token", "refresh_token"]
        );
        assert_eq!(l.authorize_requests, 1);
    });
}

#[tokio::test]
async fn pop_is_refused_without_a_broker() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    let s = Setup::new(AuthorizeMode::AutoPost).await;
    let c = s.credential(s.options());
    let pop = PopParameters::new(
        PopMethod::Post,
        "https://r.example/items".parse().unwrap(),
        None,
    )
    .unwrap();
    let e = bounded(c.get_token_info(
        &[SCOPE],
        Some(BrokerTokenRequestOptions {
            pop: Some(pop),
            ..Default::default()
        }),
    ))
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
    assert!(e.message().contains("not downgraded"));
    assert_eq!(s.chromium.launched(), 0);
    assert_eq!(s.authority.log(|l| l.authorize_requests), 0);
}
