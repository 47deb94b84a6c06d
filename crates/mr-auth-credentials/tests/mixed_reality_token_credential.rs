//! The caching Mixed Reality credential against a loopback mock STS (mockito), with an injected
//! clock: single flight, refresh ahead, failures, cancellation, and the helper.

mod common;

use azure_core::credentials::{AccessToken, Secret, TokenCredential};
use common::*;
use mr_auth_core::{Clock as _, ErrorKind, ManualClock};
use mr_auth_credentials::{
    get_mixed_reality_credential, AccountKey, AccountKeyCredential, MixedRealityCredentialSource,
    MixedRealityTokenCredential, MixedRealityTokenCredentialOptions, StaticAccessTokenCredential,
};
use mr_auth_test_support::LogCapture;
use std::{future::Future as _, sync::Arc, task::Poll, time::Duration};

const DAY: Duration = Duration::from_secs(24 * 3600);

async fn sts_mock(server: &mut mockito::ServerGuard, body: String) -> mockito::Mock {
    server
        .mock("GET", TOKEN_PATH)
        .match_query(mockito::Matcher::UrlEncoded(
            "api-version".into(),
            "2019-02-28-preview".into(),
        ))
        .match_header(
            "authorization",
            format!("Bearer {ACCOUNT_ID}:{ACCOUNT_KEY}").as_str(),
        )
        .with_status(200)
        .with_header("content-type", "application/json; charset=utf-8")
        .with_header("ms-cv", "cT1Z1Q1eTki0YgIK2wMXNQ.0")
        .with_body(body)
        .create_async()
        .await
}

async fn hammer(credential: &Arc<MixedRealityTokenCredential>, callers: usize) -> Vec<AccessToken> {
    let barrier = Arc::new(tokio::sync::Barrier::new(callers));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let credential = credential.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            credential.get_token(&["ignored"], None).await
        });
    }
    let mut tokens = Vec::with_capacity(callers);
    while let Some(result) = tasks.join_next().await {
        tokens.push(result.unwrap().unwrap());
    }
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_make_one_sts_request_and_one_more_after_the_refresh_point() {
    mr_auth_test_support::bounded(async move {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let first_expiry = clock.now() + DAY;
        let first = sts_mock(&mut server, sts_body(first_expiry, "first"))
            .await
            .expect(1);
        let credential = credential(&server.url(), &clock);

        let tokens = hammer(&credential, 1000).await;
        assert_eq!(tokens.len(), 1000);
        assert!(tokens.iter().all(|t| t.expires_on == first_expiry));
        first.assert_async().await;
        first.remove_async().await;

        // Past the refresh point (5 minutes before expiry, jitter at most 30 s earlier).
        let second_expiry = first_expiry + DAY;
        let second = sts_mock(&mut server, sts_body(second_expiry, "second"))
            .await
            .expect(1);
        clock.set(first_expiry - Duration::from_secs(5 * 60));
        let tokens = hammer(&credential, 1000).await;
        assert!(tokens
            .iter()
            .all(|t| t.expires_on == first_expiry || t.expires_on == second_expiry));
        // Once the first token has expired, a caller gets the refreshed one: the background
        // refresh landed, or the caller joins it; a lost refresh would be a third request.
        clock.set(first_expiry);
        let refreshed = credential.get_token(&[], None).await.unwrap();
        assert_eq!(refreshed.expires_on, second_expiry);
        hammer(&credential, 100).await;
        second.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn a_failed_refresh_serves_the_valid_token_and_warns_then_fails_once_expired() {
    mr_auth_test_support::bounded(async move {
        let logs = LogCapture::default();
        let _guard = logs.install();
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let expiry = clock.now() + DAY;
        let ok = sts_mock(&mut server, sts_body(expiry, "good"))
            .await
            .expect(1);
        let credential = credential(&server.url(), &clock);
        let good = credential.get_token(&[], None).await.unwrap();
        ok.assert_async().await;
        ok.remove_async().await;

        let failing = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_status(500)
            .with_header("ms-cv", "Eqf+maCsbkSiPhUhTVbRJQ.0")
            .expect(2)
            .create_async()
            .await;

        // Still valid for a minute: the refresh fails in the background, the token is still served.
        clock.set(expiry - Duration::from_secs(60));
        let served = credential.get_token(&[], None).await.unwrap();
        assert_eq!(served.token.secret(), good.token.secret());
        // Logged by the failed background refresh as it ends (woken by the write, no polling).
        logs.wait_for("refreshing the token failed").await;
        let served = credential.get_token(&[], None).await.unwrap();
        assert_eq!(served.expires_on, expiry);

        // Expired: the caller waits for the STS and gets its error, never the expired token.
        clock.set(expiry);
        let error = credential.get_token(&[], None).await.unwrap_err();
        let error = error
            .downcast_ref::<mr_auth_core::Error>()
            .expect("the typed error is kept as the source");
        assert_eq!(error.kind(), ErrorKind::ServiceError);
        assert_eq!(error.ms_cv(), Some("Eqf+maCsbkSiPhUhTVbRJQ.0"));
        failing.assert_async().await;

        let text = logs.text();
        assert!(text.contains("Eqf+maCsbkSiPhUhTVbRJQ.0"), "{text}");
        assert!(
            !text.contains(ACCOUNT_KEY),
            "the account key was logged: {text}"
        );
        assert!(
            !text.contains(good.token.secret()),
            "the access token was logged: {text}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_dropping_its_future_does_not_strand_the_others() {
    mr_auth_test_support::bounded(async move {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let expiry = clock.now() + DAY;
        let body = sts_body(expiry, "slow");
        // The STS answers only when the test says so: the callers really overlap.
        let (arrived, mut request_arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = std::sync::Mutex::new(released);
        let slow = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_status(200)
            .with_body_from_request(move |_| {
                let _ = arrived.send(());
                // Bounded, so a failing test cannot wedge mockito's thread for ever.
                let _ = released
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(60));
                body.clone().into_bytes()
            })
            .expect(1)
            .create_async()
            .await;
        let credential = credential(&server.url(), &clock);

        let impatient = {
            let credential = credential.clone();
            tokio::spawn(async move { credential.get_token(&[], None).await })
        };
        request_arrived
            .recv()
            .await
            .expect("the first caller's request reaches the STS");
        // The STS is held, so a second caller joins the first one's request and is pending
        // (polled once: no timing assumption).
        let mut patient = std::pin::pin!(credential.get_token(&[], None));
        let polled = std::future::poll_fn(|cx| Poll::Ready(patient.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "a second caller also had to wait");
        impatient.abort();
        assert!(impatient.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();

        let token = patient
            .await
            .expect("the caller still waiting gets the token the dropped one started");
        assert_eq!(token.expires_on, expiry);
        let again = credential.get_token(&[], None).await.unwrap();
        assert_eq!(again.expires_on, expiry);
        slow.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn the_helper_passes_a_static_credential_through_unchanged() {
    mr_auth_test_support::bounded(async move {
        let clock = ManualClock::default();
        let static_credential = StaticAccessTokenCredential::new(AccessToken::new(
            Secret::new("mr-token"),
            clock.now() + DAY,
        ));
        let credential = get_mixed_reality_credential(
            account_id(),
            "mixedreality.azure.com".parse().unwrap(),
            static_credential.clone(),
            Some(sts_options("http://127.0.0.1:9")),
            None,
        )
        .unwrap();
        assert!(std::ptr::eq(
            Arc::as_ptr(&credential).cast::<()>(),
            Arc::as_ptr(&static_credential).cast::<()>()
        ));
        let token = credential.get_token(&[], None).await.unwrap();
        assert_eq!(token.token.secret(), "mr-token");
    })
    .await;
}

#[tokio::test]
async fn the_helper_wraps_other_credentials_keeping_the_custom_endpoint() {
    mr_auth_test_support::bounded(async move {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let expiry = clock.now() + DAY;
        let key_credential =
            AccountKeyCredential::new(account_id(), AccountKey::new(ACCOUNT_KEY).unwrap());
        for source in [
            MixedRealityCredentialSource::from(key_credential.clone()),
            MixedRealityCredentialSource::Sts(key_credential.clone()),
        ] {
            let prefixed = server
                .mock("GET", format!("/emulator{TOKEN_PATH}").as_str())
                .match_query(mockito::Matcher::Any)
                .match_header(
                    "authorization",
                    format!("Bearer {ACCOUNT_ID}:{ACCOUNT_KEY}").as_str(),
                )
                .with_status(200)
                .with_body(sts_body(expiry, "wrapped"))
                .expect(1)
                .create_async()
                .await;
            let credential = get_mixed_reality_credential(
                account_id(),
                "mixedreality.azure.com".parse().unwrap(),
                source,
                Some(sts_options(&format!("{}/emulator", server.url()))),
                Some(MixedRealityTokenCredentialOptions {
                    clock: clock.clone(),
                    ..MixedRealityTokenCredentialOptions::default()
                }),
            )
            .unwrap();
            assert!(format!("{credential:?}").contains("MixedRealityTokenCredential"));
            // Cached: the second call does not reach the STS.
            for _ in 0..2 {
                let token = credential.get_token(&[], None).await.unwrap();
                assert_eq!(token.expires_on, expiry);
                assert!(token.token.secret().starts_with("eyJ"));
            }
            prefixed.assert_async().await;
            prefixed.remove_async().await;
        }
    })
    .await;
}

#[tokio::test]
async fn an_sts_rejection_reaches_every_caller_as_an_authentication_error() {
    mr_auth_test_support::bounded(async move {
        let mut server = mockito::Server::new_async().await;
        let rejected = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_status(401)
            .with_header("www-authenticate", "Invalid token: bad key")
            .expect(1)
            .create_async()
            .await;
        let clock = Arc::new(ManualClock::default());
        let credential = credential(&server.url(), &clock);
        let (a, b) = tokio::join!(
            credential.get_mixed_reality_token(),
            credential.get_mixed_reality_token()
        );
        for error in [a.unwrap_err(), b.unwrap_err()] {
            assert_eq!(error.kind(), ErrorKind::AuthenticationFailed);
            assert_eq!(error.status(), Some(401));
        }
        rejected.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn the_refresh_point_is_five_minutes_early_minus_at_most_the_jitter() {
    mr_auth_test_support::bounded(async move {
        // Background refreshes start synchronously inside `get_token`, and say so in the log.
        let logs = LogCapture::default();
        let _guard = logs.install();
        let refreshes = || {
            logs.text()
                .matches("fetching a new one in the background")
                .count()
        };
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let expiry = clock.now() + DAY;
        let max_jitter = Duration::from_secs(60);
        let credential = MixedRealityTokenCredential::with_account_key(
            account_id(),
            "mixedreality.azure.com".parse().unwrap(),
            AccountKey::new(ACCOUNT_KEY).unwrap(),
            Some(sts_options(&server.url())),
            Some(MixedRealityTokenCredentialOptions {
                refresh_before: Duration::from_secs(300),
                max_jitter,
                clock: clock.clone(),
                ..MixedRealityTokenCredentialOptions::default()
            }),
        )
        .unwrap();
        let first = sts_mock(&mut server, sts_body(expiry, "first"))
            .await
            .expect(1);
        credential.get_token(&[], None).await.unwrap();

        // Just before the earliest possible refresh point: still served from the cache.
        clock.set(expiry - Duration::from_secs(300) - max_jitter - Duration::from_secs(1));
        credential.get_token(&[], None).await.unwrap();
        assert_eq!(refreshes(), 0, "a refresh started before the refresh point");
        first.assert_async().await;
        first.remove_async().await;

        // At the latest possible refresh point: exactly one more STS request.
        let next_expiry = expiry + DAY;
        let second = sts_mock(&mut server, sts_body(next_expiry, "second"))
            .await
            .expect(1);
        clock.set(expiry - Duration::from_secs(300));
        let served = credential.get_token(&[], None).await.unwrap();
        assert_eq!(
            served.expires_on, expiry,
            "the valid token is served meanwhile"
        );
        assert_eq!(refreshes(), 1, "the refresh point started one refresh");
        // The refresh logs its new token in the task that then stores it, without yielding
        // in between; this current-thread test runs again only once it has landed.
        logs.wait_until(|text| text.matches("new Mixed Reality access token").count() == 2)
            .await;
        let refreshed = credential.get_token(&[], None).await.unwrap();
        assert_eq!(refreshed.expires_on, next_expiry, "the refresh landed");
        assert_eq!(refreshes(), 1);
        second.assert_async().await;
    })
    .await;
}
