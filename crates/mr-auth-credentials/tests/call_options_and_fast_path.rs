//! The caching credential's per-call options (through the typed method and through
//! `TokenCredential`'s `Context`) and its lock-free fast path: a shared token, and a cache
//! clear that the fast path honours.

mod common;

use azure_core::{
    credentials::{TokenCredential, TokenRequestOptions},
    http::{ClientMethodOptions, Context},
};
use common::*;
use mr_auth_core::{
    Clock as _, CorrelationVector, ErrorKind, ManualClock, StsRetryOptions, StsTokenRequestOptions,
};
use mr_auth_test_support::bounded_by;
use std::{sync::Arc, time::Duration};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A bound on every test, in (paused, auto-advancing where a test pauses) tokio time.
const TEST_BOUND: Duration = Duration::from_secs(600);

fn in_context(options: StsTokenRequestOptions<'static>) -> TokenRequestOptions<'static> {
    TokenRequestOptions {
        method_options: ClientMethodOptions {
            context: Context::new().with_value(options),
        },
    }
}

#[tokio::test]
async fn options_in_the_context_reach_the_sts_request() {
    bounded_by(TEST_BOUND, async {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let cv: CorrelationVector = "DQzdx06xR5GYcLGnQTzs3w".parse().unwrap();
        let mock = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .match_header("x-mrc-cv", cv.as_str())
            .with_body(sts_body(clock.now() + DAY, "cv"))
            .expect(1)
            .create_async()
            .await;
        let credential = credential(&server.url(), &clock);
        let options = in_context(StsTokenRequestOptions {
            correlation_vector: Some(cv.clone()),
            ..StsTokenRequestOptions::default()
        });
        credential.get_token(&[], Some(options)).await.unwrap();
        mock.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn retry_overrides_in_the_context_apply_to_the_fetch() {
    bounded_by(TEST_BOUND, async {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let failing = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_status(503)
            .expect(3)
            .create_async()
            .await;
        let credential = credential(&server.url(), &clock);
        let options = in_context(StsTokenRequestOptions {
            retry: Some(StsRetryOptions {
                max_retries: 2,
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
                ..StsRetryOptions::default()
            }),
            ..StsTokenRequestOptions::default()
        });
        // The credential's own options say "no retries" (see `sts_options`).
        let error = credential.get_token(&[], Some(options)).await.unwrap_err();
        let error = error.downcast_ref::<mr_auth_core::Error>().unwrap();
        assert_eq!(error.tries(), Some(3));
        failing.assert_async().await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_call_timeout_bounds_the_callers_wait() {
    bounded_by(TEST_BOUND, async {
        // A server that accepts and never answers, in this (paused) runtime.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let clock = Arc::new(ManualClock::default());
        let credential = credential(&url, &clock);
        let start = tokio::time::Instant::now();
        let options = in_context(StsTokenRequestOptions {
            timeout: Some(Duration::from_secs(3)),
            ..StsTokenRequestOptions::default()
        });
        let error = credential.get_token(&[], Some(options)).await.unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        let error = error.downcast_ref::<mr_auth_core::Error>().unwrap();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");

        // A new credential: the first one's fetch (same 3 s bound) may still be finishing.
        let credential = self::credential(&url, &clock);
        let start = tokio::time::Instant::now();
        let error = credential
            .get_shared_token(Some(StsTokenRequestOptions {
                timeout: Some(Duration::from_secs(2)),
                ..StsTokenRequestOptions::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    })
    .await;
}

#[tokio::test]
async fn the_shared_token_is_one_allocation_and_a_clear_reaches_the_fast_path() {
    bounded_by(TEST_BOUND, async {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let first = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_body(sts_body(clock.now() + DAY, "first"))
            .expect(1)
            .create_async()
            .await;
        let credential = credential(&server.url(), &clock);
        let a = credential.get_shared_token(None).await.unwrap();
        let b = credential.get_shared_token(None).await.unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "the fast path hands out the cached token"
        );
        let owned = credential.get_token(&[], None).await.unwrap();
        assert_eq!(owned.token.secret(), a.token.secret());
        first.assert_async().await;
        first.remove_async().await;

        let second = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_body(sts_body(clock.now() + DAY + DAY, "second"))
            .expect(1)
            .create_async()
            .await;
        credential.clear_cache();
        let c = credential.get_shared_token(None).await.unwrap();
        assert_ne!(c.token.secret(), a.token.secret(), "cleared: a new token");
        let d = credential.get_token(&[], None).await.unwrap();
        assert_eq!(d.token.secret(), c.token.secret());
        second.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn the_fast_path_stops_at_the_refresh_point_of_the_injected_clock() {
    bounded_by(TEST_BOUND, async {
        let mut server = mockito::Server::new_async().await;
        let clock = Arc::new(ManualClock::default());
        let expiry = clock.now() + DAY;
        let first = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_body(sts_body(expiry, "first"))
            .expect(1)
            .create_async()
            .await;
        let credential = credential(&server.url(), &clock);
        credential.get_token(&[], None).await.unwrap();
        first.assert_async().await;
        first.remove_async().await;
        let renewed = server
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .with_body(sts_body(expiry + DAY, "renewed"))
            .expect(1)
            .create_async()
            .await;
        // Expired by the injected clock: the fast path must not serve the old token.
        clock.set(expiry);
        let token = credential.get_token(&[], None).await.unwrap();
        assert_eq!(token.expires_on, expiry + DAY);
        renewed.assert_async().await;
    })
    .await;
}
