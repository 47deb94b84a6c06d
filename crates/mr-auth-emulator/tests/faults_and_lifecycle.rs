//! Fault injection, counters, resource bounds and shutdown, over TLS on loopback.

mod support;

use std::time::Duration;
use tokio::time::Instant;

use mr_auth_emulator::{Emulator, Fault, Limits, Outcome, RunningEmulator};
use support::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn start_with(faults: Vec<Fault>) -> RunningEmulator {
    Emulator::builder()
        .account(account(), PRIMARY)
        .faults(faults)
        .start()
        .await
        .unwrap()
}

/// An emulator without TLS (the tests speak raw HTTP to it) under `limits`.
async fn start_plain(limits: Limits) -> RunningEmulator {
    Emulator::builder()
        .account(account(), PRIMARY)
        .tls(false)
        .limits(limits)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn status_faults_then_normal_service() {
    mr_auth_test_support::bounded(async move {
        let emulator = start_with(Fault::parse_script("429:2,503,400,401").unwrap()).await;
        let client = client(&emulator);

        let throttled = send_token_request(&client, &emulator).await;
        assert_eq!(throttled.status(), 429);
        assert_eq!(throttled.headers()["retry-after"], "2");
        assert_ms_cv(&throttled);
        let unavailable = send_token_request(&client, &emulator).await;
        assert_eq!(unavailable.status(), 503);
        assert!(unavailable.headers().get("retry-after").is_none());
        assert!(unavailable.bytes().await.unwrap().is_empty());
        let bad = send_token_request(&client, &emulator).await;
        assert_eq!(bad.status(), 400);
        assert_eq!(
            bad.headers()["www-authenticate"],
            "Invalid request: injected fault"
        );
        let unauthorized = send_token_request(&client, &emulator).await;
        assert_eq!(unauthorized.status(), 401);
        assert_eq!(
            unauthorized.headers()["www-authenticate"],
            "Invalid token: injected fault"
        );

        // Script exhausted: normal service.
        let ok = send_token_request(&client, &emulator).await;
        assert_eq!(ok.status(), 200);

        // Faults pushed at runtime are served next.
        emulator
            .push_faults([Fault::status(500, None).unwrap()])
            .unwrap();
        assert!(emulator
            .push_faults([Fault::Delay(Duration::from_secs(3600))])
            .is_err());
        assert_eq!(emulator.stats().faults_pending, 1);
        let failed = send_token_request(&client, &emulator).await;
        assert_eq!(failed.status(), 500);
        assert_ms_cv(&failed);

        let stats = emulator.stats();
        assert_eq!(stats.token_requests, 6);
        assert_eq!(stats.faults_injected, 5);
        assert_eq!(stats.faults_pending, 0);
        assert_eq!(stats.count(429), 1);
        assert_eq!(stats.count(503), 1);
        assert_eq!(stats.count(200), 1);
        assert_eq!(stats.count(500), 1);
        assert_eq!(
            stats.recent[0].fault,
            Some(Fault::Status {
                status: 429,
                retry_after_secs: Some(2)
            })
        );
        assert_eq!(stats.recent[4].fault, None);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn body_faults() {
    mr_auth_test_support::bounded(async move {
        let emulator = start_with(vec![
            Fault::DropConnection,
            Fault::TruncatedBody,
            Fault::GarbageBody,
            Fault::TokenWithoutExp,
            Fault::Delay(Duration::from_millis(300)),
        ])
        .await;
        let client = client(&emulator);

        // Dropped: no response at all.
        let dropped = token_request(&client, &emulator, PRIMARY).send().await;
        let err = dropped.expect_err("the connection is closed without a response");
        assert!(!err.is_timeout(), "{err}");

        // Truncated: a 200 whose body ends early.
        let truncated = send_token_request(&client, &emulator).await;
        assert_eq!(truncated.status(), 200);
        let declared: usize = truncated.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(declared > 100);
        assert!(truncated.bytes().await.is_err());

        // Garbage: a 200 "application/json" that is not JSON.
        let garbage = send_token_request(&client, &emulator).await;
        assert_eq!(garbage.status(), 200);
        assert!(garbage.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body = garbage.bytes().await.unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());

        // No exp: a real signed token without the claim clients need.
        let no_exp = send_token_request(&client, &emulator).await;
        assert_eq!(no_exp.status(), 200);
        let token = access_token(&no_exp.bytes().await.unwrap());
        let claims = decode_segment(token.split('.').nth(1).unwrap());
        assert!(claims.get("exp").is_none());
        assert_eq!(claims["aid"], ACCOUNT);

        // Delay: served normally, later.
        let started = Instant::now();
        let delayed = send_token_request(&client, &emulator).await;
        assert_eq!(delayed.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(300));

        let stats = emulator.stats();
        assert_eq!(stats.token_requests, 5);
        assert_eq!(stats.dropped, 1);
        assert_eq!(stats.truncated, 1);
        assert_eq!(stats.count(200), 3); // garbage, no-exp, delayed
        assert_eq!(stats.tokens_issued, 3); // truncated, no-exp, delayed
        let outcomes: Vec<Outcome> = stats.recent.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Dropped,
                Outcome::Truncated,
                Outcome::Status(200),
                Outcome::Status(200),
                Outcome::Status(200)
            ]
        );
        assert_eq!(stats.recent[0].ms_cv, None);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn fault_needing_a_valid_request_serves_the_normal_error() {
    mr_auth_test_support::bounded(async move {
        let emulator = start_with(vec![Fault::TokenWithoutExp]).await;
        let client = client(&emulator);
        let response = token_request(&client, &emulator, "wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let stats = emulator.stats();
        assert_eq!(stats.faults_pending, 0);
        assert_eq!(stats.recent[0].fault, Some(Fault::TokenWithoutExp));
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    mr_auth_test_support::bounded(async move {
        let emulator = start_with(vec![Fault::Delay(Duration::from_millis(400))]).await;
        let client = client(&emulator);
        let url = token_url(&emulator, ACCOUNT);
        let in_flight = tokio::spawn(token_request(&client, &emulator, PRIMARY).send());
        // Wait until the request is being served (it consumed the fault).
        let stats = emulator.wait_for_stats(|s| s.faults_pending == 0).await;
        assert_eq!(
            stats.token_requests, 0,
            "the delayed request is still in flight"
        );
        let started = Instant::now();
        emulator.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let response = in_flight.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        assert!(!access_token(&response.bytes().await.unwrap()).is_empty());

        // Nothing listens any more.
        let after = client.get(url).header("X-MRC-CV", CV).send().await;
        assert!(after.is_err());
    })
    .await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    mr_auth_test_support::bounded(async move {
        let emulator = start_plain(Limits {
            idle_timeout: Duration::from_millis(200),
            ..Limits::default()
        })
        .await;
        let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server closes an idle connection");
        assert_eq!(read.unwrap(), 0);
        assert_eq!(emulator.stats().connections_accepted, 1);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    mr_auth_test_support::bounded(async move {
        let limits = Limits {
            max_header_bytes: 8192,
            max_body_bytes: 16,
            ..Limits::default()
        };
        let emulator = Emulator::builder()
            .account(account(), PRIMARY)
            .tls(false)
            .limits(limits)
            .start()
            .await
            .unwrap();
        let client = client(&emulator);
        let big_header = token_request(&client, &emulator, PRIMARY)
            .header("X-Padding", "a".repeat(20_000))
            .send()
            .await;
        assert_eq!(big_header.unwrap().status(), 431);
        let big_body = token_request(&client, &emulator, PRIMARY)
            .body(vec![b'x'; 64])
            .send()
            .await
            .unwrap();
        assert_eq!(big_body.status(), 413);
        // A request head cut short by the client is bounded too: the server answers or closes.
        let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
        stream.write_all(b"GET /Accounts/").await.unwrap();
        drop(stream);
        let ok = send_token_request(&client, &emulator).await;
        assert_eq!(ok.status(), 200);
        emulator.shutdown().await;
    })
    .await;
}

/// Sends `request` (a whole HTTP/1.1 request head) on `stream` and reads one response (head,
/// then `Content-Length` bytes of body), leaving the connection open. Returns the status line.
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, value)| value.trim().parse::<usize>().unwrap());
            if received.len() >= head_end + 4 + length {
                return text.lines().next().unwrap_or_default().to_owned();
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed mid-response: {text:?}");
        received.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn connection_limit_queues_extra_connections() {
    mr_auth_test_support::bounded(async move {
        let emulator = start_plain(Limits {
            max_connections: 1,
            ..Limits::default()
        })
        .await;
        let mut holder = TcpStream::connect(emulator.local_addr()).await.unwrap();
        emulator
            .wait_for_stats(|s| s.connections_accepted == 1)
            .await;
        // The second connection is made and its token request sent before the holder's next
        // request, so a server without the limit would take it up first.
        let mut waiting = TcpStream::connect(emulator.local_addr()).await.unwrap();
        waiting
            .write_all(
                format!(
                    "GET /Accounts/{ACCOUNT}/token?api-version=2019-02-28-preview HTTP/1.1\r\n\
                     Host: localhost\r\nAuthorization: Bearer {ACCOUNT}:{PRIMARY}\r\n\
                     X-MRC-CV: {CV}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        // The barrier: the holder's own request is answered, the queued one is still untouched.
        let status = exchange(
            &mut holder,
            "GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let stats = emulator.stats();
        assert_eq!(
            (stats.connections_accepted, stats.token_requests),
            (1, 0),
            "the second connection was taken up while the first held the only permit"
        );
        drop(holder);
        let status = exchange(&mut waiting, "").await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let stats = emulator.stats();
        assert_eq!((stats.connections_accepted, stats.tokens_issued), (2, 1));
        emulator.shutdown().await;
    })
    .await;
}
