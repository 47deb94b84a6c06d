//! The Linux broker client over a real D-Bus bus (a private `dbus-daemon --session`) against
//! the fake broker service of `mr-auth-test-support`, which checks every request against the
//! protocol; and the credential driven through it. Every test is bounded by a timeout and
//! synchronises through the fake's counters, never by sleeping.
//!
//! Skipped, with the reason printed, only where `dbus-daemon` is missing and `CI` is unset.
#![cfg(target_os = "linux")]

use futures::future::join_all;
use mr_auth_broker::{
    AdditionallyAllowedTenants, BrokerAccount, BrokerMode, BrokerRequest,
    BrokerTokenRequestOptions, ClientId, ErrorKind, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, LinuxBroker, LinuxBrokerOptions, PlatformBroker,
    PopMethod, PopParameters, TenantId, TokenType,
};
use mr_auth_test_support::{
    bounded,
    chromium::{handler, NoBrowser, ScriptedBrowser},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
};
use mr_auth_test_support::{
    fake_linux_broker::{
        fake_account, FakeCounts, FakeLinuxBroker, FakeOutcome, FakeScript,
        NATIVE_CLIENT_REDIRECT_URI,
    },
    hung_bus::HungBus,
    private_session_bus::PrivateSessionBus,
};
use serde_json::{json, Value};
use std::{sync::Arc, time::Duration};

const SCOPE: &str = "https://management.azure.com/.default";
const GRAPH: &str = "https://graph.microsoft.com/.default";

/// A private bus with the fake broker on it (and the bus kept alive as long as this is).
struct Env {
    bus: PrivateSessionBus,
    fake: Option<FakeLinuxBroker>,
}

impl Env {
    async fn start(test: &str, script: FakeScript) -> Option<Self> {
        let bus = match PrivateSessionBus::start_or_skip(test).await {
            Ok(bus) => bus,
            Err(missing) => {
                eprintln!("{missing}");
                return None;
            }
        };
        let fake = FakeLinuxBroker::start(bus.address(), script).await;
        Some(Self {
            bus,
            fake: Some(fake),
        })
    }

    /// A bus on which nothing owns the broker's name.
    async fn without_broker(test: &str) -> Option<Self> {
        let bus = match PrivateSessionBus::start_or_skip(test).await {
            Ok(bus) => bus,
            Err(missing) => {
                eprintln!("{missing}");
                return None;
            }
        };
        Some(Self { bus, fake: None })
    }

    fn fake(&self) -> &FakeLinuxBroker {
        self.fake.as_ref().expect("this env has the fake broker")
    }

    fn broker(&self) -> LinuxBroker {
        LinuxBroker::new(Some(LinuxBrokerOptions {
            bus_address: Some(self.bus.address().to_owned()),
            ..Default::default()
        }))
        .unwrap()
    }

    fn credential(
        &self,
        o: InteractiveBrowserBrokerCredentialOptions,
    ) -> Arc<InteractiveBrowserBrokerCredential> {
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::Custom(Arc::new(self.broker())),
            ..o
        }))
        .unwrap()
    }

    /// The fake saw no protocol violation.
    fn assert_clean(&self) {
        if let Some(fake) = &self.fake {
            assert_eq!(fake.violations(), Vec::<String>::new());
        }
    }
}

fn options() -> InteractiveBrowserBrokerCredentialOptions {
    InteractiveBrowserBrokerCredentialOptions {
        client_id: CLIENT_ID.parse().unwrap(),
        tenant_id: TENANT.parse().unwrap(),
        authorize_url_handler: handler(Arc::new(NoBrowser::default())),
        ..Default::default()
    }
}

fn pop(nonce: Option<&str>) -> BrokerTokenRequestOptions {
    BrokerTokenRequestOptions {
        pop: Some(
            PopParameters::new(
                PopMethod::Get,
                "https://contoso.example/items/1".parse().unwrap(),
                nonce.map(str::to_owned),
            )
            .unwrap(),
        ),
        ..Default::default()
    }
}

/// A broker request as the credential builds it (`BrokerRequest` is non-exhaustive), taken
/// from a recording fake broker, with the Linux broker's redirect URI.
async fn request() -> BrokerRequest {
    let recorder = Arc::new(mr_auth_test_support::fake_broker::FakeBroker::interactive_only());
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::Custom(recorder.clone()),
            ..options()
        }))
        .unwrap();
    c.get_token_info(&[SCOPE], None).await.unwrap();
    let mut r = recorder.last_request();
    r.redirect_uri = LinuxBroker::new(None)
        .unwrap()
        .redirect_uri(&CLIENT_ID.parse::<ClientId>().unwrap());
    r
}

fn auth_parameters(call: &mr_auth_test_support::fake_linux_broker::RecordedCall) -> &Value {
    &call.request["authParameters"]
}

#[tokio::test]
async fn interactive_then_cache_then_silent_with_the_known_account() {
    let Some(env) = Env::start("interactive_then_silent", FakeScript::default()).await else {
        return;
    };
    let c = env.credential(options());
    let first = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(first.token_type, TokenType::Bearer);
    assert!(first.token.secret().starts_with("fake-bearer-token"));
    assert_eq!(first.expires_on.unix_timestamp(), 4_102_444_800);

    let again = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(again.token.secret(), first.token.secret(), "from the cache");

    let graph = bounded(c.get_token_info(&[GRAPH], None)).await.unwrap();
    assert_ne!(graph.token.secret(), first.token.secret());
    let counts = env.fake().counts();
    assert_eq!(
        (
            counts.version,
            counts.interactive,
            counts.silent,
            counts.accounts
        ),
        (1, 1, 1, 0),
        "one version check, the picker once, then silent with the remembered account: {counts:?}"
    );

    let interactive = &env.fake().calls_to("acquireTokenInteractively")[0];
    let p = auth_parameters(interactive);
    assert_eq!(p["authorizationType"], 6);
    assert_eq!(p["prompt"], "select_account");
    assert_eq!(p["clientId"], CLIENT_ID);
    assert_eq!(p["redirectUri"], NATIVE_CLIENT_REDIRECT_URI);
    assert_eq!(p["requestedScopes"], json!([SCOPE]));
    assert!(p["authority"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{TENANT}")));
    let silent = &env.fake().calls_to("acquireTokenSilently")[0];
    assert_eq!(auth_parameters(silent)["authorizationType"], 1);
    assert_eq!(
        silent.request["account"],
        fake_account("user@contoso.com"),
        "the broker's own account object is sent back whole"
    );
    assert_eq!(auth_parameters(silent)["username"], "user@contoso.com");
    env.assert_clean();
}

#[tokio::test]
async fn default_broker_account_signs_in_silently_without_ui() {
    let Some(env) = Env::start("default_account", FakeScript::default()).await else {
        return;
    };
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        disable_automatic_authentication: true,
        ..options()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token_type, TokenType::Bearer);
    let counts = env.fake().counts();
    assert_eq!(
        (counts.accounts, counts.silent, counts.interactive),
        (1, 1, 0)
    );
    let accounts = &env.fake().calls_to("getAccounts")[0];
    assert_eq!(accounts.request["clientId"], CLIENT_ID);
    assert_eq!(accounts.request["redirectUri"], NATIVE_CLIENT_REDIRECT_URI);
    env.assert_clean();
}

#[tokio::test]
async fn default_account_with_several_accounts_follows_the_login_hint() {
    let script = FakeScript {
        accounts: vec![
            fake_account("a@contoso.com"),
            fake_account("bob@contoso.com"),
        ],
        ..FakeScript::default()
    };
    let Some(env) = Env::start("default_account_hint", script).await else {
        return;
    };
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        disable_automatic_authentication: true,
        login_hint: Some("bob@contoso.com".into()),
        ..options()
    });
    bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    let silent = &env.fake().calls_to("acquireTokenSilently")[0];
    assert_eq!(silent.request["account"]["username"], "bob@contoso.com");

    // Without a hint two accounts are ambiguous: a silent miss, and no UI allowed.
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        disable_automatic_authentication: true,
        ..options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
    assert!(e.message().contains("2 accounts"), "{e}");
    env.assert_clean();
}

#[tokio::test]
async fn interaction_required_goes_interactive_or_is_authentication_required() {
    let script = FakeScript {
        silent: FakeOutcome::InteractionRequired,
        ..FakeScript::default()
    };
    let Some(env) = Env::start("interaction_required", script).await else {
        return;
    };
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        ..options()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token_type, TokenType::Bearer);
    let counts = env.fake().counts();
    assert_eq!((counts.silent, counts.interactive), (1, 1), "{counts:?}");

    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        use_default_broker_account: true,
        disable_automatic_authentication: true,
        ..options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
    assert!(
        e.message().contains("disable_automatic_authentication"),
        "{e}"
    );
    assert!(
        e.message().contains("fake-tag-silent"),
        "the broker's tag is kept: {e}"
    );
    assert_eq!(e.error_codes(), ["AADSTS70043"]);
    assert_eq!(env.fake().counts().interactive, 1, "no second window");
    env.assert_clean();
}

#[tokio::test]
async fn login_hint_claims_cae_and_tenant_reach_the_broker() {
    let Some(env) = Env::start("request_mapping", FakeScript::default()).await else {
        return;
    };
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        login_hint: Some("user@contoso.com".into()),
        additionally_allowed_tenants: AdditionallyAllowedTenants::Listed(vec![TenantId::new(
            "fabrikam.onmicrosoft.com",
        )
        .unwrap()]),
        ..options()
    });
    let o = BrokerTokenRequestOptions {
        claims: Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#.into()),
        enable_cae: true,
        tenant_id: Some(TenantId::new("fabrikam.onmicrosoft.com").unwrap()),
        pop: None,
    };
    bounded(c.get_token_info(&[SCOPE], Some(o))).await.unwrap();
    let call = &env.fake().calls_to("acquireTokenInteractively")[0];
    let p = auth_parameters(call);
    assert_eq!(p["username"], "user@contoso.com");
    assert!(p.get("prompt").is_none());
    assert!(p["authority"]
        .as_str()
        .unwrap()
        .ends_with("/fabrikam.onmicrosoft.com"));
    let claims: Value = serde_json::from_str(p["decodedClaims"].as_str().unwrap()).unwrap();
    assert_eq!(claims["access_token"]["xms_cc"]["values"], json!(["CP1"]));
    assert_eq!(claims["access_token"]["nbf"]["value"], "1");
    env.assert_clean();
}

#[tokio::test]
async fn user_cancel_is_cancelled() {
    let script = FakeScript {
        interactive: FakeOutcome::UserCancel,
        ..FakeScript::default()
    };
    let Some(env) = Env::start("user_cancel", script).await else {
        return;
    };
    let e = bounded(env.credential(options()).get_token_info(&[SCOPE], None))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserCancelled, "{e}");
    assert!(e.message().contains("fake-tag-cancel"), "{e}");
    env.assert_clean();
}

#[tokio::test]
async fn pop_is_requested_and_returned_as_pop() {
    let Some(env) = Env::start("pop_success", FakeScript::default()).await else {
        return;
    };
    let c = env.credential(options());
    let token = bounded(c.get_token_info(&[SCOPE], Some(pop(Some("nonce-1")))))
        .await
        .unwrap();
    assert_eq!(token.token_type, TokenType::Pop);
    assert!(token.token.secret().starts_with("fake-pop-token"));
    let call = &env.fake().calls_to("acquireTokenInteractively")[0];
    assert_eq!(
        auth_parameters(call)["popParams"],
        json!({"authenticationScheme": "pop", "httpMethod": "GET", "uriHost": "contoso.example", "uriPath": "/items/1", "nonce": "nonce-1"})
    );
    // A Bearer request for the same scope is not answered with the PoP token.
    let bearer = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(bearer.token_type, TokenType::Bearer);
    assert_eq!(env.fake().counts().silent, 1);
    env.assert_clean();
}

#[tokio::test]
async fn a_bearer_answer_to_pop_is_never_returned() {
    let script = FakeScript {
        interactive: FakeOutcome::TokenOfType(0),
        silent: FakeOutcome::TokenOfType(0),
        ..FakeScript::default()
    };
    let Some(env) = Env::start("pop_downgrade", script).await else {
        return;
    };
    let browser = Arc::new(NoBrowser::default());
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        authorize_url_handler: handler(browser.clone()),
        ..options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], Some(pop(None))))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.message().contains("never downgraded"), "{e}");
    assert_eq!(
        browser.count(),
        0,
        "no fallback that could give a bearer token"
    );
    env.assert_clean();
}

#[tokio::test]
async fn broker_error_json_keeps_status_tag_context_and_names_the_redirect_uri() {
    let script = FakeScript {
        interactive: FakeOutcome::BrokerError(json!({
            "context": "AADSTS50011: The redirect URI specified in the request does not match",
            "errorCode": 1234, "status": "IncorrectConfiguration", "subStatus": 7, "tag": "6ezpp"
        })),
        ..FakeScript::default()
    };
    let Some(env) = Env::start("broker_error", script).await else {
        return;
    };
    let e = bounded(env.credential(options()).get_token_info(&[SCOPE], None))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered, "{e}");
    assert_eq!(e.redirect_uri(), Some(NATIVE_CLIENT_REDIRECT_URI));
    assert_eq!(e.error_codes(), ["AADSTS50011"]);
    for part in [
        "status IncorrectConfiguration",
        "sub-status 7",
        "error code 1234",
        "tag 6ezpp",
    ] {
        assert!(e.message().contains(part), "{part}: {e}");
    }
    let sent = &env.fake().calls_to("acquireTokenInteractively")[0];
    assert_eq!(
        e.correlation_id(),
        Some(sent.correlation_id.as_str()),
        "the correlation id sent is the one reported"
    );
    env.assert_clean();
}

#[tokio::test]
async fn malformed_answers_are_broker_unavailable_and_fall_back_to_the_browser() {
    let script = FakeScript {
        interactive: FakeOutcome::Raw("{\"brokerTokenResponse\": {\"accessToken\": ".into()),
        ..FakeScript::default()
    };
    let Some(env) = Env::start("malformed", script).await else {
        return;
    };
    let e = bounded(
        env.broker()
            .acquire_token_interactively(&request().await, None),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{e}");
    assert!(e.message().contains("not json"), "{e}");

    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        authority: Some(authority.authority_host().parse().unwrap()),
        authorize_url_handler: handler(browser.clone()),
        ..options()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token_type, TokenType::Bearer);
    assert_eq!(browser.count(), 1, "the browser flow ran");
    env.assert_clean();
}

#[tokio::test]
async fn no_service_on_the_bus_falls_back_to_the_browser_and_pop_is_refused() {
    let Some(env) = Env::without_broker("no_service").await else {
        return;
    };
    let e = bounded(env.broker().broker_version()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
    assert!(
        e.message()
            .contains("nothing owns com.microsoft.identity.broker1"),
        "{e}"
    );

    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        authority: Some(authority.authority_host().parse().unwrap()),
        authorize_url_handler: handler(browser.clone()),
        ..options()
    });
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token_type, TokenType::Bearer);
    assert_eq!(browser.count(), 1);

    let e = bounded(c.get_token_info(&[SCOPE], Some(pop(None))))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PopNeedsBroker, "{e}");
    assert!(
        e.message().contains("nothing owns"),
        "the reason is kept: {e}"
    );
    assert_eq!(browser.count(), 1, "no browser for a pop request");
}

/// A session bus that accepts the connection and never answers (a hung `dbus-daemon`): the
/// broker is unavailable within its 5 s connect bound, not the credential's whole timeout, and
/// the browser flow signs in; under paused time, so the bound is measured exactly.
#[tokio::test(start_paused = true)]
async fn a_hung_bus_makes_the_broker_unavailable_within_seconds_and_the_browser_signs_in() {
    let hung = HungBus::start();
    let broker = LinuxBroker::new(Some(LinuxBrokerOptions {
        bus_address: Some(hung.address().to_owned()),
        ..Default::default()
    }))
    .unwrap();
    let started = tokio::time::Instant::now();
    let e = bounded(broker.broker_version()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{e}");
    assert!(e.message().contains("did not answer within 5 s"), "{e}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));

    let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
    let browser = Arc::new(ScriptedBrowser::new(authority.clone()));
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::Custom(Arc::new(broker_on(hung.address()))),
            authority: Some(authority.authority_host().parse().unwrap()),
            authorize_url_handler: handler(browser.clone()),
            ..options()
        }))
        .unwrap();
    let started = tokio::time::Instant::now();
    let token = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(token.token_type, TokenType::Bearer);
    assert_eq!(browser.count(), 1, "the browser flow went on");
    let took = started.elapsed();
    assert!(
        took <= Duration::from_secs(10),
        "the hung bus cost {took:?}"
    );
}

/// On a real private `dbus-daemon`, a broker that stops answering after the sign-in: its
/// silent call is cut at `call_timeout` with a `Timeout` error naming the call, not a hang.
#[tokio::test]
async fn a_broker_that_stops_answering_on_a_real_bus_is_cut_at_the_call_timeout() {
    let Some(env) = Env::start("held_silent_call", FakeScript::default()).await else {
        return;
    };
    let broker = LinuxBroker::new(Some(LinuxBrokerOptions {
        bus_address: Some(env.bus.address().to_owned()),
        call_timeout: Duration::from_secs(1),
        ..Default::default()
    }))
    .unwrap();
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            broker: BrokerMode::Custom(Arc::new(broker)),
            ..options()
        }))
        .unwrap();
    bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    env.fake().set_script(|s| s.silent = FakeOutcome::Held);
    let e = bounded(c.get_token_info(&[GRAPH], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        e.message()
            .contains("did not answer acquireTokenSilently within 1 s"),
        "{e}"
    );
    assert_eq!(env.fake().counts().silent, 1);
    env.fake().release_held();
    env.assert_clean();
}

fn broker_on(address: &str) -> LinuxBroker {
    LinuxBroker::new(Some(LinuxBrokerOptions {
        bus_address: Some(address.to_owned()),
        ..Default::default()
    }))
    .unwrap()
}

#[tokio::test]
async fn no_bus_at_all_is_broker_unavailable() {
    let broker = LinuxBroker::new(Some(LinuxBrokerOptions {
        bus_address: Some("unix:path=/nonexistent/mr-auth/bus".into()),
        ..Default::default()
    }))
    .unwrap();
    let e = bounded(broker.acquire_token_interactively(&request().await, None))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{e}");
    assert!(e.message().contains("cannot connect"), "{e}");
}

#[tokio::test]
async fn too_old_a_broker_is_unavailable_with_its_version() {
    let script = FakeScript {
        version: "1.7.0".into(),
        ..FakeScript::default()
    };
    let Some(env) = Env::start("too_old", script).await else {
        return;
    };
    let e = bounded(
        env.broker()
            .acquire_token_interactively(&request().await, None),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokerUnavailable, "{e}");
    assert!(
        e.message().contains("version 1.7.0, older than 2.0.0"),
        "{e}"
    );
    assert_eq!(
        env.fake().counts().interactive,
        0,
        "nothing sent to an old broker"
    );
    assert_eq!(
        bounded(Env::broker(&env).broker_version())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::BrokerUnavailable
    );
    env.fake().set_script(|s| s.version = "2.5.2".into());
    assert_eq!(
        bounded(env.broker().broker_version()).await.unwrap(),
        "2.5.2"
    );
    env.assert_clean();
}

#[tokio::test]
async fn personal_accounts_go_to_the_browser_not_the_broker() {
    let Some(env) = Env::start("consumers", FakeScript::default()).await else {
        return;
    };
    let browser = Arc::new(NoBrowser::default());
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        tenant_id: "consumers".parse().unwrap(),
        enable_msa_passthrough: true,
        // Nothing answers the browser flow's redirect: it ends at this timeout.
        timeout: Duration::from_millis(200),
        authorize_url_handler: handler(browser.clone()),
        ..options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(browser.count(), 1, "the browser flow was used");
    assert_eq!(
        env.fake().counts(),
        FakeCounts::default(),
        "the broker was not asked"
    );
}

/// Dropping the interactive call's future (the caller gave up) reaches the broker's
/// `cancelInteractiveFlow`, with the interactive call's correlation id.
#[tokio::test]
async fn dropping_an_interactive_call_cancels_the_broker_flow() {
    let script = FakeScript {
        interactive: FakeOutcome::Held,
        ..FakeScript::default()
    };
    let Some(env) = Env::start("cancel_on_drop", script).await else {
        return;
    };
    let broker = env.broker();
    let request = request().await;
    {
        let call = broker.acquire_token_interactively(&request, None);
        tokio::pin!(call);
        // Drive the call until the broker holds it (its window is "open").
        tokio::select! {
            _ = &mut call => panic!("the held call answered"),
            _ = bounded(env.fake().wait_for(|c| c.held == 1)) => {}
        }
    } // the call's future is dropped here
    let counts = bounded(env.fake().wait_for(|c| c.cancel == 1 && c.held == 0)).await;
    assert_eq!(counts.interactive, 1);
    let interactive = &env.fake().calls_to("acquireTokenInteractively")[0];
    let cancel = &env.fake().calls_to("cancelInteractiveFlow")[0];
    assert_eq!(cancel.correlation_id, interactive.correlation_id);
    assert_eq!(cancel.request["clientId"], CLIENT_ID);
    env.assert_clean();
}

/// The credential's interactive timeout drops the broker call, which cancels the broker's
/// flow; a call that finishes sends no cancel.
#[tokio::test]
async fn the_credential_timeout_cancels_the_broker_flow() {
    let script = FakeScript {
        interactive: FakeOutcome::Held,
        ..FakeScript::default()
    };
    let Some(env) = Env::start("cancel_on_timeout", script).await else {
        return;
    };
    let c = env.credential(InteractiveBrowserBrokerCredentialOptions {
        timeout: Duration::from_millis(300),
        ..options()
    });
    let e = bounded(c.get_token_info(&[SCOPE], None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    bounded(env.fake().wait_for(|c| c.cancel == 1)).await;

    env.fake()
        .set_script(|s| s.interactive = FakeOutcome::Token);
    let c = env.credential(options());
    bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    assert_eq!(
        env.fake().counts().cancel,
        1,
        "a finished call is not cancelled"
    );
    env.assert_clean();
}

/// Many callers at once for a token the cache lacks: one silent broker call between them.
#[tokio::test]
async fn concurrent_silent_callers_make_one_broker_call() {
    let Some(env) = Env::start("single_flight", FakeScript::default()).await else {
        return;
    };
    let c = env.credential(options());
    bounded(c.get_token_info(&[SCOPE], None)).await.unwrap();
    env.fake().set_script(|s| s.silent = FakeOutcome::Held);

    let callers = join_all((0..32).map(|_| c.get_token_info(&[GRAPH], None)));
    tokio::pin!(callers);
    // Every caller has asked once `join_all` was first polled; hold the one broker call
    // until then, and release it.
    let results = tokio::select! {
        _ = bounded(env.fake().wait_for(|c| c.held >= 1)) => {
            env.fake().release_held();
            bounded(&mut callers).await
        }
        r = &mut callers => r,
    };
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().token.secret().to_owned())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(env.fake().counts().silent, 1, "{:?}", env.fake().counts());
    env.assert_clean();
}

#[tokio::test]
async fn the_known_account_is_found_again_by_a_new_broker_instance() {
    let Some(env) = Env::start("account_lookup", FakeScript::default()).await else {
        return;
    };
    let first = bounded(
        env.broker()
            .acquire_token_interactively(&request().await, None),
    )
    .await
    .unwrap();
    let account: BrokerAccount = first.account.expect("the broker names the account");
    assert!(account.id.starts_with("linux-broker:"));
    assert_eq!(account.username.as_deref(), Some("user@contoso.com"));
    // A fresh client has not seen the account object: it looks it up with getAccounts.
    let again = bounded(
        env.broker()
            .acquire_token_silently(&request().await, &account),
    )
    .await
    .unwrap();
    assert_eq!(again.token.token_type, TokenType::Bearer);
    assert_eq!(env.fake().counts().accounts, 1);
    // An account the broker no longer has is a silent miss.
    env.fake().set_script(|s| s.accounts.clear());
    let e = bounded(
        env.broker()
            .acquire_token_silently(&request().await, &account),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
    env.assert_clean();
}
