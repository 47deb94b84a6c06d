//! The STS client's faults and limits against a scripted loopback server running in the test's
//! own runtime, with tokio's clock paused: truncated and stalled bodies, transport errors that
//! name their cause, TLS failures that are not retried, the service's error body, statuses that
//! are not retried, the time limits counted from the call's start, per-call options and the
//! cap on connections. Every wait here is virtual time, so nothing sleeps for real.

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use mr_auth_core::{
    CorrelationVector, Error, ErrorKind, MixedRealityStsClient, MixedRealityStsClientOptions,
    StsEndpoint, StsRetryOptions, StsTokenRequestOptions,
};
use mr_auth_emulator::Emulator;
use mr_auth_test_support::{
    bounded_by,
    fault_server::{read_request, response, Act, FaultServer},
};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use time::OffsetDateTime;
use tokio::{io::AsyncWriteExt, net::TcpListener, time::Instant};
use uuid::Uuid;

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "fault-test-account-key";
const GOOD_BODY: &str = r#"{"AccessToken":"fake.eyJleHAiOjIxNDc0ODM2NDd9.fake"}"#;
/// A bound on every test, in (paused, auto-advancing) tokio time: a regression that waits
/// forever fails here instead of hanging.
const TEST_BOUND: Duration = Duration::from_secs(3600);

/// `{account}:{key}`, optionally after a (virtual) delay, as a slow credential would.
#[derive(Debug, Default)]
struct Key {
    delay: Duration,
}

#[async_trait::async_trait]
impl TokenCredential for Key {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        tokio::time::sleep(self.delay).await;
        Ok(AccessToken::new(
            Secret::new(format!("{ACCOUNT}:{KEY}")),
            OffsetDateTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800),
        ))
    }
}

fn ok() -> Act {
    Act::Reply(response(
        "200 OK",
        &[("content-type", "application/json"), ("ms-cv", "ok.0")],
        GOOD_BODY,
    ))
}

/// The `X-MRC-CV` of each request the server read.
fn request_cvs(server: &FaultServer) -> Vec<String> {
    server.header_of_each("x-mrc-cv")
}

fn options(url: &str) -> MixedRealityStsClientOptions {
    MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(url).unwrap()),
        ..MixedRealityStsClientOptions::default()
    }
}

fn client_with(
    options: MixedRealityStsClientOptions,
    credential: Key,
) -> Arc<MixedRealityStsClient> {
    MixedRealityStsClient::new(
        ACCOUNT.parse().unwrap(),
        "mixedreality.azure.com".parse().unwrap(),
        Arc::new(credential),
        Some(options),
    )
    .unwrap()
}

/// Retries with short waits: under 1 s between tries (full jitter in `[0, 1 s)`).
fn steady_retry(max_retries: u32) -> StsRetryOptions {
    StsRetryOptions {
        max_retries,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(1),
        ..StsRetryOptions::default()
    }
}

async fn get(client: &MixedRealityStsClient) -> (Result<mr_auth_core::StsToken, Error>, Duration) {
    let start = Instant::now();
    let result = client.get_token().await;
    (result, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_truncated_body_is_retried_like_a_dropped_connection() {
    bounded_by(TEST_BOUND, async {
        let truncated = response("200 OK", &[("ms-cv", "cut.0")], GOOD_BODY);
        let truncated = truncated[..truncated.len() - 20].to_owned();
        let server = FaultServer::start(vec![Act::Reply(truncated), ok()]).await;
        let (result, _) = get(&client_with(options(&server.url), Key::default())).await;
        let token = result.expect("the second try gets the whole body");
        assert_eq!(token.ms_cv.as_deref(), Some("ok.0"));
        assert_eq!(server.request_times().len(), 2);
        // One call, one client request id, sent with both tries.
        let ids = server.header_of_each("x-ms-client-request-id");
        assert_eq!(ids[0].len(), 36, "{ids:?}");
        assert_eq!(ids[0], ids[1]);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_truncated_body_on_every_try_names_the_cut_connection() {
    bounded_by(TEST_BOUND, async {
        let truncated = response("200 OK", &[("ms-cv", "cut.0")], GOOD_BODY);
        let truncated = truncated[..truncated.len() - 20].to_owned();
        let server = FaultServer::start(vec![Act::Reply(truncated)]).await;
        let mut options = options(&server.url);
        options.retry = steady_retry(2);
        let (result, _) = get(&client_with(options, Key::default())).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
        assert!(
            error
                .message()
                .contains("closed before the whole STS response arrived"),
            "{error}"
        );
        assert_eq!(error.ms_cv(), Some("cut.0"));
        assert_eq!(error.tries(), Some(3));
        assert_eq!(server.request_times().len(), 3);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_retried_and_ends_as_a_timeout() {
    bounded_by(TEST_BOUND, async {
        let partial = response("200 OK", &[], GOOD_BODY);
        let partial = partial[..partial.len() - 20].to_owned();
        let server = FaultServer::start(vec![Act::ReplyThenStall(partial)]).await;
        let mut options = options(&server.url);
        options.retry = steady_retry(1);
        options.try_timeout = Duration::from_secs(5);
        let (result, elapsed) = get(&client_with(options, Key::default())).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(error.message().contains("the body stalled"), "{error}");
        assert_eq!(error.tries(), Some(2));
        assert!(error.is_transient());
        // Two tries of 5 s and a wait of under 1 s between them.
        assert!(
            elapsed >= Duration::from_secs(10) && elapsed < Duration::from_secs(11),
            "{elapsed:?}"
        );
        let times = server.request_times();
        assert_eq!(times.len(), 2);
        assert!(times[1] >= Duration::from_secs(5) && times[1] < Duration::from_secs(6));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_fails_within_the_documented_limits_with_the_defaults() {
    bounded_by(TEST_BOUND, async {
        let server = FaultServer::start(vec![Act::Silent]).await;
        let (result, elapsed) = get(&client_with(options(&server.url), Key::default())).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        // Defaults: 20 s per try; no retry starts after 30 s from the call's start; the call
        // ends within 60 s. So: a try at 0 s, one at 20-20.5 s, and none at ~41 s.
        let times = server.request_times();
        assert_eq!(times.len(), 2, "{times:?}");
        assert!(
            times.iter().all(|t| *t <= Duration::from_secs(30)),
            "{times:?}"
        );
        assert!(
            elapsed >= Duration::from_secs(40) && elapsed <= Duration::from_millis(40_500),
            "{elapsed:?}"
        );
        assert_eq!(error.tries(), Some(2));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn no_retry_starts_after_max_total_elapsed_counted_from_the_call_start() {
    bounded_by(TEST_BOUND, async {
        let throttled = Act::Reply(response(
            "503 Service Unavailable",
            &[("retry-after", "10")],
            "",
        ));
        let server = FaultServer::start(vec![throttled]).await;
        let mut options = options(&server.url);
        options.retry.max_retries = 10;
        options.retry.max_retry_after = Duration::from_secs(10);
        let (result, elapsed) = get(&client_with(options.clone(), Key::default())).await;
        let error = result.unwrap_err();
        // Tries at 0, 10, 20 and 30 s; one at 40 s would start after the 30 s budget.
        let times: Vec<u64> = server
            .request_times()
            .iter()
            .map(Duration::as_secs)
            .collect();
        assert_eq!(times, [0, 10, 20, 30]);
        assert_eq!(elapsed, Duration::from_secs(30));
        assert_eq!(error.kind(), ErrorKind::ServiceError);
        assert!(error.message().contains("(4 tries)"), "{error}");

        // A credential that takes 25 s uses up most of the budget: one try, at 25 s.
        let slow = Key {
            delay: Duration::from_secs(25),
        };
        let server = FaultServer::start(vec![Act::Reply(response(
            "503 Service Unavailable",
            &[("retry-after", "10")],
            "",
        ))])
        .await;
        options.custom_endpoint = Some(StsEndpoint::new(&server.url).unwrap());
        let (result, elapsed) = get(&client_with(options, slow)).await;
        assert_eq!(result.unwrap_err().tries(), Some(1));
        assert_eq!(server.request_times(), [Duration::from_secs(25)]);
        assert_eq!(elapsed, Duration::from_secs(25));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_overall_timeout_counts_from_the_call_start_and_says_what_happened() {
    bounded_by(TEST_BOUND, async {
        let server = FaultServer::start(vec![Act::Silent]).await;
        let mut options = options(&server.url);
        options.timeout = Duration::from_secs(10);
        let slow = Key {
            delay: Duration::from_secs(8),
        };
        let (result, elapsed) = get(&client_with(options, slow)).await;
        let error = result.unwrap_err();
        assert_eq!(elapsed, Duration::from_secs(10));
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(
            error.message().contains("did not issue a token within 10s"),
            "{error}"
        );
        assert!(
            error
                .message()
                .contains("(1 try, the last without a complete response)"),
            "{error}"
        );
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn per_call_options_override_timeout_retries_and_correlation_vector() {
    bounded_by(TEST_BOUND, async {
        let server = FaultServer::start(vec![
            Act::Reply(response("503 Service Unavailable", &[], "")),
            Act::Silent,
        ])
        .await;
        let client = client_with(options(&server.url), Key::default());
        let cv: CorrelationVector = "DQzdx06xR5GYcLGnQTzs3w".parse().unwrap();
        let start = Instant::now();
        let error = client
            .get_token_with_options(Some(StsTokenRequestOptions {
                retry: Some(StsRetryOptions::none()),
                correlation_vector: Some(cv.clone()),
                ..StsTokenRequestOptions::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), Duration::ZERO, "no retry, no wait");
        assert_eq!(error.tries(), Some(1));
        assert_eq!(error.request_correlation_vector(), Some(cv.as_str()));
        assert_eq!(request_cvs(&server), [cv.as_str()]);

        let start = Instant::now();
        let error = client
            .get_token_with_options(Some(StsTokenRequestOptions {
                timeout: Some(Duration::from_secs(3)),
                ..StsTokenRequestOptions::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        let cvs = request_cvs(&server);
        assert!(CorrelationVector::is_well_formed(&cvs[1]), "{cvs:?}");
        assert_ne!(cvs[1], cv.as_str(), "a fresh vector when none is given");

        let error = client
            .get_token_with_options(Some(StsTokenRequestOptions {
                timeout: Some(Duration::ZERO),
                ..StsTokenRequestOptions::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn transport_errors_name_their_cause() {
    bounded_by(TEST_BOUND, async {
        let refused = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            drop(listener);
            url
        };
        let closed = FaultServer::start(vec![Act::Close]).await;
        let reset = FaultServer::start(vec![Act::Reset]).await;
        for (url, expected) in [
            (refused.as_str(), "connection refused by 127.0.0.1:"),
            (closed.url.as_str(), "was closed before a response arrived"),
            (reset.url.as_str(), "before a response arrived"),
        ] {
            let mut options = options(url);
            options.retry = steady_retry(1);
            let (result, _) = get(&client_with(options, Key::default())).await;
            let error = result.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
            assert!(error.message().contains(expected), "{expected}: {error}");
            assert!(!error.message().contains("after retries"), "{error}");
            assert_eq!(error.tries(), Some(2), "{error}");
            assert!(error.is_transient());
        }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_service_error_body_is_kept_next_to_www_authenticate() {
    bounded_by(TEST_BOUND, async {
        let wrong_key = Act::Reply(response(
            "401 Unauthorized",
            &[
                ("www-authenticate", "Invalid token: bad key"),
                ("content-type", "application/json"),
                ("ms-cv", "k.0"),
            ],
            r#"{"error":{"code":"InvalidAccountKey","message":"The account key is not valid."}}"#,
        ));
        let disabled = Act::Reply(response(
            "401 Unauthorized",
            &[("www-authenticate", "Invalid token: bad key")],
            r#"{"error":{"code":"AccountDisabled","message":"The account is disabled."}}"#,
        ));
        let server = FaultServer::start(vec![wrong_key, disabled]).await;
        let client = client_with(options(&server.url), Key::default());
        let first = client.get_token().await.unwrap_err();
        let second = client.get_token().await.unwrap_err();
        assert_eq!(first.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(first.service_message(), Some("Invalid token: bad key"));
        assert_eq!(first.service_error_code(), Some("InvalidAccountKey"));
        assert_eq!(
            first.service_error_message(),
            Some("The account key is not valid.")
        );
        assert!(first.to_string().contains("InvalidAccountKey"), "{first}");
        assert!(second.to_string().contains("AccountDisabled"), "{second}");
        assert_ne!(first.to_string().replace("k.0", ""), second.to_string());
        assert!(!first.to_string().contains(KEY), "{first}");
        assert_eq!(server.request_times().len(), 2, "401s are not retried");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn statuses_that_retrying_cannot_fix_are_not_retried_nor_transient() {
    bounded_by(TEST_BOUND, async {
        for status in ["501 Not Implemented", "505 HTTP Version Not Supported"] {
            let server = FaultServer::start(vec![Act::Reply(response(status, &[], ""))]).await;
            let (result, elapsed) = get(&client_with(options(&server.url), Key::default())).await;
            let error = result.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ServiceError, "{error}");
            assert!(!error.is_transient(), "{error}");
            assert!(!error.message().contains("kept failing"), "{error}");
            assert!(
                error.message().contains("retrying will not help"),
                "{error}"
            );
            assert_eq!(server.request_times().len(), 1, "{status}");
            assert_eq!(elapsed, Duration::ZERO);
        }
    })
    .await;
}

/// A keep-alive HTTP/1.1 server that answers every request after `delay` (virtual time),
/// counting the connections it accepted.
async fn counting_server(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        for _ in 0..1000 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                for _ in 0..1000 {
                    if read_request(&mut socket).await.is_none() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    let reply = response("200 OK", &[], GOOD_BODY);
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, connections)
}

async fn burst(client: &Arc<MixedRealityStsClient>, callers: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let client = client.clone();
        tasks.spawn(async move { client.get_token().await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn connections_per_host_are_capped() {
    bounded_by(TEST_BOUND, async {
        // Each answer takes 100 ms, so every caller of the burst is in flight at once: without
        // a cap the client opens a connection per caller.
        let (url, connections) = counting_server(Duration::from_millis(100)).await;
        let mut capped = options(&url);
        capped.max_connections_per_host = 4;
        let client = client_with(capped, Key::default());
        burst(&client, 200).await;
        assert_eq!(connections.load(Ordering::SeqCst), 4);

        let (url, connections) = counting_server(Duration::from_millis(100)).await;
        let mut wide = options(&url);
        wide.max_connections_per_host = 64;
        let client = client_with(wide, Key::default());
        burst(&client, 200).await;
        assert_eq!(
            connections.load(Ordering::SeqCst),
            64,
            "the cap is what bounds the connections"
        );

        let mut zero = options(&url);
        zero.max_connections_per_host = 0;
        let error = MixedRealityStsClient::new(
            ACCOUNT.parse().unwrap(),
            "mixedreality.azure.com".parse().unwrap(),
            Arc::new(Key::default()),
            Some(zero),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    })
    .await;
}

/// A TLS emulator listening on `address` (its certificate names `localhost`, `127.0.0.1` and
/// `::1` only).
async fn tls_emulator(address: &str) -> mr_auth_emulator::RunningEmulator {
    Emulator::builder()
        .account(Uuid::parse_str(ACCOUNT).unwrap(), KEY)
        .address(address.parse().unwrap())
        .start()
        .await
        .unwrap()
}

fn tls_options(
    emulator: &mr_auth_emulator::RunningEmulator,
    ca_pem: Option<&str>,
    trust_system_roots: bool,
) -> MixedRealityStsClientOptions {
    MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::from_url(emulator.endpoint().clone()).unwrap()),
        extra_root_certificates_pem: ca_pem.map(str::to_owned).into_iter().collect(),
        trust_system_roots,
        ..MixedRealityStsClientOptions::default()
    }
}

#[tokio::test]
async fn certificate_failures_fail_at_the_first_try_and_say_why() {
    bounded_by(TEST_BOUND, async {
        let emulator = tls_emulator("127.0.0.1:0").await;
        let other = tls_emulator("127.0.0.1:0").await;
        // Reached as https://127.0.0.2:port, a name its certificate does not hold.
        let misnamed = tls_emulator("127.0.0.2:0").await;
        let cases = [
            (
                tls_options(&emulator, None, true),
                "not trusted (unknown issuer)",
            ),
            // The other emulator's CA has the same name but another key.
            (
                tls_options(&emulator, other.ca_pem(), false),
                "bad signature",
            ),
            (
                tls_options(&misnamed, misnamed.ca_pem(), false),
                "not valid for this host name (name mismatch)",
            ),
        ];
        for (options, expected) in cases {
            let error = client_with(options, Key::default())
                .get_token()
                .await
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
            assert!(error.message().contains(expected), "{expected}: {error}");
            assert!(!error.is_transient());
            assert_eq!(error.tries(), Some(1), "{error}");
        }
        for running in [&emulator, &other, &misnamed] {
            assert_eq!(running.stats().token_requests, 0);
        }
        emulator.shutdown().await;
        other.shutdown().await;
        misnamed.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn trusting_only_the_given_ca_works_for_its_server() {
    bounded_by(TEST_BOUND, async {
        let emulator = tls_emulator("127.0.0.1:0").await;
        let options = tls_options(&emulator, emulator.ca_pem(), false);
        let token = client_with(options, Key::default())
            .get_token()
            .await
            .unwrap();
        assert!(token.ms_cv.is_some());
        assert_eq!(emulator.stats().tokens_issued, 1);

        let error = MixedRealityStsClient::new(
            ACCOUNT.parse().unwrap(),
            "mixedreality.azure.com".parse().unwrap(),
            Arc::new(Key::default()),
            Some(tls_options(&emulator, None, false)),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.message().contains("trust_system_roots"), "{error}");
        emulator.shutdown().await;
    })
    .await;
}
