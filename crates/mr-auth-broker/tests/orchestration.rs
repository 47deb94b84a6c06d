//! The credential's step order and error kinds, driven with a scripted fake broker (and, where
//! the broker is absent or unavailable, the browser flow against the loopback mock authority
//! with a scripted browser).

mod support;

use azure_core::{
    credentials::{TokenCredential, TokenRequestOptions},
    http::{ClientMethodOptions, Context},
};
use mr_auth_broker::{
    BrokerTokenRequestOptions, ErrorKind, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, ParentWindowHandle, PopMethod, PopParameters,
    TenantId, TokenType,
};
use mr_auth_core::{Clock, ManualClock};
use mr_auth_test_support::{
    chromium::{NoBrowser, ScriptedBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
};
use std::{sync::Arc, time::Duration};
use support::fake_broker::{Call, FakeBroker, Script};

const SCOPE: &str = "https://management.azure.com/.default";

fn options(broker: &Arc<FakeBroker>) -> InteractiveBrowserBrokerCredentialOptions {
    InteractiveBrowserBrokerCredentialOptions {
        client_id: Some(CLIENT_ID.into()),
        tenant_id: Some(TENANT.into()),
        platform_broker: Some(broker.clone()),
        browser: Some(Arc::new(NoBrowser::default())),
        ..Default::default()
    }
}

fn credential(
    o: InteractiveBrowserBrokerCredentialOptions,
) -> Arc<InteractiveBrowserBrokerCredential> {
    InteractiveBrowserBrokerCredential::new(Some(o)).unwrap()
}

fn pop(url: &str, nonce: Option<&str>) -> BrokerTokenRequestOptions {
    BrokerTokenRequestOptions {
        pop: Some(
            PopParameters::new(
                PopMethod::Get,
                url.parse().unwrap(),
                nonce.map(str::to_owned),
            )
            .unwrap(),
        ),
        ..Default::default()
    }
}

#[tokio::test]
async fn interactive_first_then_cache_then_silent_with_the_known_account() {
    let broker = Arc::new(FakeBroker {
        silent: Script::Token { account: "acct-1" },
        ..FakeBroker::interactive_only()
    });
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        parent_window_handle: ParentWindowHandle::from_raw(0x1234),
        ..options(&broker)
    });

    let first = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(first.token_type, TokenType::Bearer);
    assert_eq!(broker.take_calls(), [Call::Interactive(Some(0x1234))]);

    let again = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(
        again.token.secret(),
        first.token.secret(),
        "served from the cache"
    );
    assert!(broker.take_calls().is_empty());

    let other = c
        .get_token_info(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap();
    assert_ne!(other.token.secret(), first.token.secret());
    assert_eq!(broker.take_calls(), [Call::Silent("acct-1".into())]);
}

#[tokio::test]
async fn silent_miss_goes_interactive() {
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(options(&broker));
    c.get_token_info(&["a"], None).await.unwrap();
    c.get_token_info(&["b"], None).await.unwrap();
    assert_eq!(
        broker.calls(),
        [
            Call::Interactive(None),
            Call::Silent("acct-1".into()),
            Call::Interactive(None)
        ]
    );
}

#[tokio::test]
async fn default_account_is_tried_only_when_asked() {
    // Asked, and it works: nothing else runs.
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::Token {
            account: "os-default",
        },
        Script::Fail(ErrorKind::UserCancelled),
    ));
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        ..options(&broker)
    });
    c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(broker.take_calls(), [Call::DefaultAccount]);
    // The default account is now the known account for silent calls.
    let _ = c.get_token_info(&["other"], None).await;
    assert_eq!(broker.take_calls()[0], Call::Silent("os-default".into()));

    // Asked, and it misses: the picker follows.
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        ..options(&broker)
    });
    c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(
        broker.calls(),
        [Call::DefaultAccount, Call::Interactive(None)]
    );

    // Not asked: straight to the picker.
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(options(&broker));
    c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(broker.calls(), [Call::Interactive(None)]);
}

#[tokio::test]
async fn disabled_interactive_fallback_gives_authentication_required() {
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        disable_interactive_fallback: true,
        ..options(&broker)
    });
    let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
    assert!(e.message().contains("disable_interactive_fallback"), "{e}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "keeps the silent failure as its source"
    );
    assert_eq!(broker.calls(), [Call::DefaultAccount]);

    // With nothing silent to try at all.
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        disable_interactive_fallback: true,
        ..options(&broker)
    });
    let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
    assert!(broker.calls().is_empty());
}

#[tokio::test]
async fn interactive_errors_keep_their_kind() {
    for kind in [
        ErrorKind::UserCancelled,
        ErrorKind::RedirectUriNotRegistered,
        ErrorKind::AuthenticationFailed,
        ErrorKind::ServiceError,
    ] {
        let broker = Arc::new(FakeBroker::new(
            Script::Fail(ErrorKind::AuthenticationRequired),
            Script::Fail(ErrorKind::AuthenticationRequired),
            Script::Fail(kind),
        ));
        let browser = Arc::new(NoBrowser::default());
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            browser: Some(browser.clone()),
            ..options(&broker)
        });
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), kind);
        assert_eq!(
            browser.count(),
            0,
            "a real failure does not fall back to the browser"
        );
    }
}

#[tokio::test]
async fn a_silent_step_failing_for_real_stops_the_chain() {
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::ServiceError),
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::Token { account: "acct-1" },
    ));
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        ..options(&broker)
    });
    c.get_token_info(&["a"], None).await.unwrap(); // default misses, picker gives acct-1
    broker.take_calls();
    let e = c.get_token_info(&["b"], None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServiceError);
    assert_eq!(broker.calls(), [Call::Silent("acct-1".into())]);
}

#[tokio::test]
async fn interactive_step_times_out() {
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::Hang,
    ));
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        timeout: Duration::from_millis(200),
        ..options(&broker)
    });
    let e = tokio::time::timeout(Duration::from_secs(10), c.get_token_info(&[SCOPE], None))
        .await
        .expect("bounded by the credential's timeout")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
}

#[tokio::test]
async fn pop_is_never_downgraded() {
    // A broker without PoP support: refused before any call.
    let broker = Arc::new(FakeBroker {
        supports_pop: false,
        ..FakeBroker::interactive_only()
    });
    let c = credential(options(&broker));
    let e = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/x", None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
    assert!(broker.calls().is_empty());

    // A broker that answers Bearer to a PoP request: the token is refused.
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::TokenOfType(TokenType::Bearer),
    ));
    let c = credential(options(&broker));
    let e = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/x", None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.message().contains("refusing"));

    // And the reverse: a PoP token for a Bearer request.
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::Fail(ErrorKind::AuthenticationRequired),
        Script::TokenOfType(TokenType::Pop),
    ));
    let c = credential(options(&broker));
    assert_eq!(
        c.get_token_info(&[SCOPE], None).await.unwrap_err().kind(),
        ErrorKind::Protocol
    );

    // The broker is unavailable: no browser, a PoP error naming the reason.
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::BrokerUnavailable),
        Script::Fail(ErrorKind::BrokerUnavailable),
        Script::Fail(ErrorKind::BrokerUnavailable),
    ));
    let browser = Arc::new(NoBrowser::default());
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        browser: Some(browser.clone()),
        ..options(&broker)
    });
    let e = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/x", None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
    assert!(e.message().contains("unavailable"), "{e}");
    assert_eq!(browser.count(), 0);
}

#[tokio::test]
async fn pop_and_bearer_tokens_are_cached_apart() {
    let broker = Arc::new(FakeBroker {
        silent: Script::Token { account: "acct-1" },
        ..FakeBroker::interactive_only()
    });
    let c = credential(options(&broker));
    let bearer = c.get_token_info(&[SCOPE], None).await.unwrap();
    let pop1 = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/x", Some("n1"))))
        .await
        .unwrap();
    assert_eq!(pop1.token_type, TokenType::Pop);
    assert_ne!(pop1.token.secret(), bearer.token.secret());
    assert_eq!(broker.last_request().pop.unwrap().nonce(), Some("n1"));
    // Same PoP binding: cached. Another nonce or URL: a new token.
    let pop1_again = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/x", Some("n1"))))
        .await
        .unwrap();
    assert_eq!(pop1_again.token.secret(), pop1.token.secret());
    let pop2 = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/x", Some("n2"))))
        .await
        .unwrap();
    assert_ne!(pop2.token.secret(), pop1.token.secret());
    let pop3 = c
        .get_token_info(&[SCOPE], Some(pop("https://r.example/y", Some("n2"))))
        .await
        .unwrap();
    assert_ne!(pop3.token.secret(), pop2.token.secret());
    // Bearer is still the Bearer token.
    let bearer_again = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(bearer_again.token.secret(), bearer.token.secret());
    assert_eq!(bearer_again.token_type, TokenType::Bearer);
}

#[tokio::test]
async fn claims_cae_and_tenant_are_part_of_the_cache_key_and_reach_the_broker() {
    let broker = Arc::new(FakeBroker {
        silent: Script::Token { account: "acct-1" },
        ..FakeBroker::interactive_only()
    });
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        additionally_allowed_tenants: vec!["guest.onmicrosoft.com".into()],
        login_hint: Some("user@contoso.com".into()),
        enable_msa_passthrough: true,
        disable_instance_discovery: true,
        ..options(&broker)
    });
    let base = c.get_token_info(&[SCOPE], None).await.unwrap();
    let r = broker.last_request();
    assert_eq!(
        r.redirect_uri,
        format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{CLIENT_ID}")
    );
    assert_eq!(r.login_hint.as_deref(), Some("user@contoso.com"));
    assert!(r.enable_msa_passthrough && !r.validate_authority);
    assert_eq!(
        r.authority.as_str(),
        format!("https://login.microsoftonline.com/{TENANT}")
    );
    assert_eq!(r.claims, None);

    let cae = BrokerTokenRequestOptions {
        enable_cae: true,
        ..Default::default()
    };
    let t = c.get_token_info(&[SCOPE], Some(cae)).await.unwrap();
    assert_ne!(t.token.secret(), base.token.secret());
    assert!(broker.last_request().claims.unwrap().contains("CP1"));

    let claims = BrokerTokenRequestOptions {
        claims: Some(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#.into()),
        ..Default::default()
    };
    let t = c.get_token_info(&[SCOPE], Some(claims)).await.unwrap();
    assert_ne!(t.token.secret(), base.token.secret());
    assert!(broker.last_request().claims.unwrap().contains("acrs"));

    let guest = BrokerTokenRequestOptions {
        tenant_id: Some(TenantId::new("guest.onmicrosoft.com").unwrap()),
        ..Default::default()
    };
    let t = c.get_token_info(&[SCOPE], Some(guest)).await.unwrap();
    assert_ne!(t.token.secret(), base.token.secret());
    let r = broker.last_request();
    assert_eq!(r.tenant_id.as_str(), "guest.onmicrosoft.com");
    assert!(r.authority.as_str().ends_with("/guest.onmicrosoft.com"));

    broker.take_calls();
    let other = BrokerTokenRequestOptions {
        tenant_id: Some(TenantId::new("other.onmicrosoft.com").unwrap()),
        ..Default::default()
    };
    let e = c.get_token_info(&[SCOPE], Some(other)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TenantNotAllowed);
    assert!(broker.calls().is_empty(), "refused before any step");
}

#[tokio::test]
async fn get_token_reads_request_options_from_the_context() {
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(options(&broker));
    let ctx = Context::new().with_value(pop("https://r.example/x", Some("n9")));
    let token = c
        .get_token(
            &[SCOPE],
            Some(TokenRequestOptions {
                method_options: ClientMethodOptions { context: ctx },
            }),
        )
        .await
        .unwrap();
    assert!(token.token.secret().starts_with("broker-token-"));
    assert_eq!(broker.last_request().pop.unwrap().nonce(), Some("n9"));

    // Errors cross the azure_core boundary with their kind.
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        disable_interactive_fallback: true,
        ..options(&broker)
    });
    let e = c.get_token(&[SCOPE], None).await.unwrap_err();
    let inner = e
        .downcast_ref::<mr_auth_broker::Error>()
        .expect("the broker error is the source");
    assert_eq!(inner.kind(), ErrorKind::AuthenticationRequired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_interactive_sign_in() {
    let broker = Arc::new(FakeBroker::interactive_only());
    let c = credential(options(&broker));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.get_token_info(&[SCOPE], None)
                .await
                .unwrap()
                .token
                .secret()
                .to_owned()
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert_eq!(broker.calls(), [Call::Interactive(None)]);
}

#[tokio::test]
async fn tokens_count_as_expired_five_minutes_early_and_background_refresh_never_shows_ui() {
    let clock = Arc::new(ManualClock::at_fixed_start());
    let broker = FakeBroker {
        // The picker always works; silent never does.
        refresh_in: Some(Duration::from_secs(30 * 60)),
        ..FakeBroker::interactive_only()
    };
    *broker.now.lock().unwrap() = clock.now();
    let broker = Arc::new(broker);
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        clock: clock.clone(),
        ..options(&broker)
    });
    let first = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(broker.take_calls(), [Call::Interactive(None)]);

    // Past refresh_on (30 min) but well before expiry: the cached token at once, and a silent
    // background refresh, which misses; the picker must not open.
    clock.advance(Duration::from_secs(40 * 60));
    let t = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(t.token.secret(), first.token.secret());
    for _ in 0..100 {
        if !broker.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        broker.take_calls(),
        [Call::Silent("acct-1".into())],
        "silent only, no picker"
    );

    // 4 minutes before expiry: inside the 5-minute margin, so not served; a new sign-in.
    clock.advance(Duration::from_secs(16 * 60));
    *broker.now.lock().unwrap() = clock.now();
    let t = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_ne!(t.token.secret(), first.token.secret());
    assert_eq!(
        broker.take_calls(),
        [Call::Silent("acct-1".into()), Call::Interactive(None)]
    );
}

// ---- without a (working) broker: refresh token, then the browser flow ----

fn browser_options(
    authority: &Arc<MockAuthority>,
) -> (
    InteractiveBrowserBrokerCredentialOptions,
    Arc<ScriptedBrowser>,
) {
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let o = InteractiveBrowserBrokerCredentialOptions {
        client_id: Some(CLIENT_ID.into()),
        tenant_id: Some(TENANT.into()),
        authority_host: Some(authority.authority_host()),
        browser: Some(browser.clone()),
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    (o, browser)
}

#[tokio::test]
async fn broker_unavailable_falls_back_to_the_browser_flow() {
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::BrokerUnavailable),
        Script::Fail(ErrorKind::BrokerUnavailable),
        Script::Fail(ErrorKind::BrokerUnavailable),
    ));
    let (o, browser) = browser_options(&authority);
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        platform_broker: Some(broker.clone()),
        use_default_broker_account: true,
        ..o
    });
    let t = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert!(t.token.secret().starts_with("access-token-"));
    assert_eq!(t.token_type, TokenType::Bearer);
    assert_eq!(
        broker.calls(),
        [Call::DefaultAccount],
        "unavailable at the first step: no more broker calls"
    );
    assert_eq!(browser.count(), 1);

    // With UI disabled the fallback does not open a browser.
    let broker = Arc::new(FakeBroker::new(
        Script::Fail(ErrorKind::BrokerUnavailable),
        Script::Fail(ErrorKind::BrokerUnavailable),
        Script::Fail(ErrorKind::BrokerUnavailable),
    ));
    let (o, browser) = browser_options(&authority);
    let c = credential(InteractiveBrowserBrokerCredentialOptions {
        platform_broker: Some(broker.clone()),
        disable_interactive_fallback: true,
        ..o
    });
    assert_eq!(
        c.get_token_info(&[SCOPE], None).await.unwrap_err().kind(),
        ErrorKind::AuthenticationRequired
    );
    assert_eq!(browser.count(), 0);
}

#[tokio::test]
async fn without_a_broker_the_refresh_token_is_used_before_any_ui() {
    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let (o, browser) = browser_options(&authority);
    let c = credential(o);
    let first = c.get_token_info(&[SCOPE], None).await.unwrap();
    assert_eq!(browser.count(), 1);
    let second = c
        .get_token_info(&["https://graph.microsoft.com/.default"], None)
        .await
        .unwrap();
    assert_ne!(first.token.secret(), second.token.secret());
    assert_eq!(browser.count(), 1, "no second browser sign-in");
    authority.log(|l| {
        let grants: Vec<&str> = l.token_requests.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(grants, ["authorization_code", "refresh_token"]);
    });
}
