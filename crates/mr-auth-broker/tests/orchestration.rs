//! The credential's step order and error kinds, driven with a scripted fake broker (and, where
//! the broker is absent or unavailable, the browser flow against the loopback mock authority
//! with a scripted browser).

use azure_core::{
    credentials::{TokenCredential, TokenRequestOptions},
    http::{ClientMethodOptions, Context},
};
use mr_auth_broker::{
    test_util::{credential_with_hooks, TestHooks},
    AdditionallyAllowedTenants, AuthorizeUrlHandler, BrokerMode, BrokerTokenRequestOptions,
    ErrorKind, InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
    ParentWindowHandle, PopMethod, PopParameters, TenantId, TokenType,
};
use mr_auth_core::ManualClock;
use mr_auth_test_support::{
    bounded,
    chromium::{handler, NoBrowser, ScriptedBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
};
use mr_auth_test_support::{
    fake_broker::{Call, FakeBroker, Script},
    gate::Gate,
};
use std::{sync::Arc, time::Duration};

const SCOPE: &str = "https://management.azure.com/.default";

fn options(broker: &Arc<FakeBroker>) -> InteractiveBrowserBrokerCredentialOptions {
    InteractiveBrowserBrokerCredentialOptions {
        client_id: CLIENT_ID.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
        broker: BrokerMode::Custom(broker.clone()),
        authorize_url_handler: handler(Arc::new(NoBrowser::default())),
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
    bounded(async move {
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
    })
    .await
}

#[tokio::test]
async fn silent_miss_goes_interactive() {
    bounded(async move {
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
    })
    .await
}

#[tokio::test]
async fn default_account_is_tried_only_when_asked() {
    bounded(async move {
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
    })
    .await
}

#[tokio::test]
async fn disabled_interactive_fallback_gives_authentication_required() {
    bounded(async move {
        let broker = Arc::new(FakeBroker::interactive_only());
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            use_default_broker_account: true,
            disable_automatic_authentication: true,
            ..options(&broker)
        });
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(
            e.message().contains("disable_automatic_authentication"),
            "{e}"
        );
        assert!(
            std::error::Error::source(&e).is_some(),
            "keeps the silent failure as its source"
        );
        assert_eq!(broker.calls(), [Call::DefaultAccount]);

        // With nothing silent to try at all.
        let broker = Arc::new(FakeBroker::interactive_only());
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            disable_automatic_authentication: true,
            ..options(&broker)
        });
        let e = c.get_token_info(&[SCOPE], None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(broker.calls().is_empty());
    })
    .await
}

#[tokio::test]
async fn interactive_errors_keep_their_kind() {
    bounded(async move {
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
                authorize_url_handler: handler(browser.clone()),
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
    })
    .await
}

#[tokio::test]
async fn a_silent_step_failing_for_real_stops_the_chain() {
    bounded(async move {
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
    })
    .await
}

#[tokio::test]
async fn interactive_step_times_out() {
    bounded(async move {
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
        assert_eq!(e.kind(), ErrorKind::Timeout);
    })
    .await
}

#[tokio::test]
async fn pop_is_never_downgraded() {
    bounded(async move {
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
            authorize_url_handler: handler(browser.clone()),
            ..options(&broker)
        });
        let e = c
            .get_token_info(&[SCOPE], Some(pop("https://r.example/x", None)))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
        assert!(e.message().contains("unavailable"), "{e}");
        assert_eq!(browser.count(), 0);
    })
    .await
}

#[tokio::test]
async fn pop_and_bearer_tokens_are_cached_apart() {
    bounded(async move {
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
    })
    .await
}

#[tokio::test]
async fn claims_cae_and_tenant_are_part_of_the_cache_key_and_reach_the_broker() {
    bounded(async move {
        let broker = Arc::new(FakeBroker {
            silent: Script::Token { account: "acct-1" },
            ..FakeBroker::interactive_only()
        });
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            additionally_allowed_tenants: AdditionallyAllowedTenants::Listed(vec![TenantId::new(
                "guest.onmicrosoft.com",
            )
            .unwrap()]),
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
    })
    .await
}

#[tokio::test]
async fn get_token_reads_request_options_from_the_context() {
    bounded(async move {
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
            disable_automatic_authentication: true,
            ..options(&broker)
        });
        let e = c.get_token(&[SCOPE], None).await.unwrap_err();
        let inner = e
            .downcast_ref::<mr_auth_broker::Error>()
            .expect("the broker error is the source");
        assert_eq!(inner.kind(), ErrorKind::AuthenticationRequired);
    })
    .await
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
        client_id: CLIENT_ID.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
        authority: Some(authority.authority_host().parse().unwrap()),
        authorize_url_handler: handler(browser.clone()),
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    (o, browser)
}

#[tokio::test]
async fn broker_unavailable_falls_back_to_the_browser_flow() {
    bounded(async move {
        let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
        let broker = Arc::new(FakeBroker::new(
            Script::Fail(ErrorKind::BrokerUnavailable),
            Script::Fail(ErrorKind::BrokerUnavailable),
            Script::Fail(ErrorKind::BrokerUnavailable),
        ));
        let (o, browser) = browser_options(&authority);
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::Custom(broker.clone()),
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
            broker: BrokerMode::Custom(broker.clone()),
            disable_automatic_authentication: true,
            ..o
        });
        assert_eq!(
            c.get_token_info(&[SCOPE], None).await.unwrap_err().kind(),
            ErrorKind::AuthenticationRequired
        );
        assert_eq!(browser.count(), 0);
    })
    .await
}

#[tokio::test]
async fn without_a_broker_the_refresh_token_is_used_before_any_ui() {
    bounded(async move {
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
    })
    .await
}

// ---- where each step runs: silent in the shared cache, UI in the caller's task ----

/// Lets every runnable task of this current-thread runtime run until it waits on something.
async fn settle() {
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn concurrent_callers_share_one_silent_run_and_one_sign_in() {
    bounded(async move {
        let silent = Gate::new();
        let dialog = Gate::new();
        let broker = Arc::new(FakeBroker {
            default_account: Script::held(&silent, Script::Fail(ErrorKind::AuthenticationRequired)),
            interactive: Script::held(&dialog, Script::Token { account: "acct-1" }),
            ..FakeBroker::interactive_only()
        });
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            use_default_broker_account: true,
            ..options(&broker)
        });
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let c = c.clone();
            callers.spawn(async move {
                c.get_token_info(&[SCOPE], None)
                    .await
                    .unwrap()
                    .token
                    .secret()
                    .to_owned()
            });
        }
        // All eight are waiting on the one silent run, held at its gate.
        silent.wait_arrived(1).await;
        settle().await;
        assert_eq!(silent.arrived(), 1, "one silent run for every caller");
        silent.open();
        // One dialog; the other seven queue behind it.
        dialog.wait_arrived(1).await;
        settle().await;
        assert_eq!(dialog.arrived(), 1, "at most one dialog at a time");
        dialog.open();
        let mut tokens = Vec::new();
        while let Some(token) = callers.join_next().await {
            tokens.push(token.unwrap());
        }
        tokens.dedup();
        assert_eq!(tokens.len(), 1, "the one sign-in served every caller");
        assert_eq!(
            broker.calls(),
            [Call::DefaultAccount, Call::Interactive(None)]
        );
    })
    .await
}

#[tokio::test]
async fn requests_for_different_scopes_never_open_two_dialogs_at_once() {
    bounded(async move {
        let dialog = Gate::new();
        let broker = Arc::new(FakeBroker {
            interactive: Script::held(&dialog, Script::Token { account: "acct-1" }),
            ..FakeBroker::interactive_only()
        });
        let c = credential(options(&broker));
        let first = tokio::spawn({
            let c = c.clone();
            async move { c.get_token_info(&["a"], None).await }
        });
        let second = tokio::spawn({
            let c = c.clone();
            async move { c.get_token_info(&["b"], None).await }
        });
        dialog.wait_arrived(1).await;
        settle().await;
        assert_eq!(
            dialog.arrived(),
            1,
            "the second request waits for the first dialog"
        );
        dialog.open();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        // The second retried silently with the account the first signed in, then (the fake's
        // silent call misses) opened its own dialog only after the first had closed.
        assert_eq!(
            broker.calls(),
            [
                Call::Interactive(None),
                Call::Silent("acct-1".into()),
                Call::Interactive(None)
            ]
        );
    })
    .await
}

#[tokio::test]
async fn dropping_an_interactive_get_token_cancels_the_broker_dialog_at_once() {
    bounded(async move {
        let dialog = Gate::new();
        let broker = Arc::new(FakeBroker {
            interactive: Script::held(&dialog, Script::Hang),
            ..FakeBroker::interactive_only()
        });
        let c = credential(options(&broker));
        let caller = tokio::spawn({
            let c = c.clone();
            async move { c.get_token_info(&[SCOPE], None).await }
        });
        dialog.wait_arrived(1).await;
        assert_eq!(broker.cancelled(), 0);
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        tokio::time::timeout(Duration::from_secs(1), broker.wait_cancelled(1))
            .await
            .expect("the broker's operation is cancelled within 1 s of the drop");

        // The next caller is not blocked by the abandoned sign-in: it gets its own dialog.
        let next = tokio::spawn({
            let c = c.clone();
            async move { c.get_token_info(&[SCOPE], None).await }
        });
        dialog.wait_arrived(2).await;
        next.abort();
    })
    .await
}

#[tokio::test]
async fn dropping_a_browser_sign_in_frees_the_loopback_port_at_once() {
    bounded(async move {
        let (urls, mut opened) = tokio::sync::mpsc::unbounded_channel();
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            broker: BrokerMode::BrowserOnly,
            authorize_url_handler: AuthorizeUrlHandler::callback(move |url| {
                let _ = urls.send(url.clone());
                Ok(())
            }),
            ..Default::default()
        });
        let mut sign_in = Box::pin(c.get_token_info(&[SCOPE], None));
        let url = tokio::select! {
            url = opened.recv() => url.unwrap(),
            result = &mut sign_in => panic!("the sign-in ended before the browser: {result:?}"),
        };
        let redirect: url::Url = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let port = redirect.port().unwrap();
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
            "the receiver holds the port while it waits"
        );
        drop(sign_in);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("127.0.0.1 port freed at once");
        std::net::TcpListener::bind(("::1", port)).expect("[::1] port freed at once");
    })
    .await
}

/// A credential signed in once through the fake broker's picker, on a manual clock: its token
/// is due for refresh after 30 minutes, and every silent call (the refresh) misses after
/// waiting at `refresh`.
struct HeldRefresh {
    clock: Arc<ManualClock>,
    refresh: Arc<Gate>,
    broker: Arc<FakeBroker>,
    c: Arc<InteractiveBrowserBrokerCredential>,
    /// The first token's secret.
    first: String,
}

impl HeldRefresh {
    async fn signed_in() -> Self {
        let clock = Arc::new(ManualClock::at_fixed_start());
        let refresh = Gate::new();
        let broker = Arc::new(FakeBroker {
            // The picker always works; silent never does.
            silent: Script::held(&refresh, Script::Fail(ErrorKind::AuthenticationRequired)),
            refresh_in: Some(Duration::from_secs(30 * 60)),
            clock: clock.clone(),
            ..FakeBroker::interactive_only()
        });
        let c = credential_with_hooks(
            Some(options(&broker)),
            TestHooks {
                clock: clock.clone(),
                ..TestHooks::default()
            },
        )
        .unwrap();
        let first = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(broker.take_calls(), [Call::Interactive(None)]);
        Self {
            clock,
            refresh,
            broker,
            c,
            first: first.token.secret().to_owned(),
        }
    }
}

#[tokio::test]
async fn a_ui_caller_arriving_during_a_background_silent_refresh_gets_the_dialog() {
    bounded(async move {
        let HeldRefresh {
            clock,
            refresh,
            broker,
            c,
            first,
        } = HeldRefresh::signed_in().await;

        // Past refresh_on: the cached token at once, and a silent refresh in the background,
        // held at its gate.
        clock.advance(Duration::from_secs(40 * 60));
        let cached = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(cached.token.secret(), first.as_str());
        refresh.wait_arrived(1).await;

        // The token expires while the refresh runs; a caller that may show UI joins it.
        clock.advance(Duration::from_secs(20 * 60));
        let caller = tokio::spawn({
            let c = c.clone();
            async move { c.get_token_info(&[SCOPE], None).await }
        });
        settle().await;
        assert_eq!(refresh.arrived(), 1, "it joined the running refresh");
        refresh.open();
        let token = caller.await.unwrap().expect("the caller got the dialog");
        assert_ne!(token.token.secret(), first.as_str());
        assert_eq!(
            broker.calls(),
            [Call::Silent("acct-1".into()), Call::Interactive(None)]
        );
    })
    .await
}

#[tokio::test]
async fn tokens_count_as_expired_five_minutes_early_and_background_refresh_never_shows_ui() {
    bounded(async move {
        let HeldRefresh {
            clock,
            refresh,
            broker,
            c,
            first,
        } = HeldRefresh::signed_in().await;

        // Past refresh_on (30 min) but well before expiry: the cached token at once, and a
        // silent background refresh, which misses; the picker must not open.
        clock.advance(Duration::from_secs(40 * 60));
        let t = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(t.token.secret(), first.as_str());
        refresh.wait_arrived(1).await;
        refresh.open();
        settle().await;
        assert_eq!(
            broker.take_calls(),
            [Call::Silent("acct-1".into())],
            "silent only, no picker"
        );
        let t = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(t.token.secret(), first.as_str(), "still served");

        // 4 minutes before expiry: inside the 5-minute margin, so not served; a new sign-in.
        clock.advance(Duration::from_secs(16 * 60));
        let t = c.get_token_info(&[SCOPE], None).await.unwrap();
        assert_ne!(t.token.secret(), first.as_str());
        assert_eq!(
            broker.take_calls(),
            [Call::Silent("acct-1".into()), Call::Interactive(None)]
        );
    })
    .await
}

#[tokio::test]
async fn a_panicking_broker_gives_every_waiter_an_error_not_a_panic() {
    bounded(async move {
        let gate = Gate::new();
        let broker = Arc::new(FakeBroker {
            default_account: Script::held(&gate, Script::Panic),
            ..FakeBroker::interactive_only()
        });
        let c = credential(InteractiveBrowserBrokerCredentialOptions {
            use_default_broker_account: true,
            ..options(&broker)
        });
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let c = c.clone();
            callers.spawn(async move { c.get_token_info(&[SCOPE], None).await });
        }
        gate.wait_arrived(1).await;
        settle().await;
        gate.open();
        let mut errors = 0;
        while let Some(result) = callers.join_next().await {
            let e = result.expect("a waiter never panics").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
            errors += 1;
        }
        assert_eq!(errors, 100);
        assert_eq!(gate.arrived(), 1, "one silent run for the hundred");
        assert!(
            !broker.calls().contains(&Call::Interactive(None)),
            "a bug is not answered with a dialog"
        );
    })
    .await
}

/// Runs a browser sign-in (and a refused PoP request) in a child process of this test binary
/// and checks that the child wrote nothing to stderr: the library never prints.
#[test]
fn the_library_writes_nothing_to_stderr() {
    const CHILD: &str = "MR_AUTH_BROKER_STDERR_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(bounded(async {
            let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
            let (o, browser) = browser_options(&authority);
            let c = credential(InteractiveBrowserBrokerCredentialOptions {
                broker: BrokerMode::BrowserOnly,
                ..o
            });
            c.get_token_info(&[SCOPE], None).await.unwrap();
            let e = c
                .get_token_info(&[SCOPE], Some(pop("https://r.example/x", None)))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PopNeedsBroker);
            assert_eq!(browser.count(), 1);
        }));
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_library_writes_nothing_to_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the sign-in:\n{stdout}"
    );
    assert!(stderr.is_empty(), "the library wrote to stderr:\n{stderr}");
}
