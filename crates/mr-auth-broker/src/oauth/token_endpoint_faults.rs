//! The token endpoint against a misbehaving authority (test-support's fault server, in the
//! test's runtime, with tokio's clock paused so every wait is virtual): refused connections,
//! 5xx, stalls, drips, endless and oversized bodies and redirects, with the default limits
//! (`DEFAULT_REQUEST_TIMEOUT`, the 20 s try, three retries), for each grant: what is sent again,
//! how long it takes, and what the error says.

use super::{
    authority_client::AuthorityClient,
    authorization_code::AuthorizationCode,
    client_id::ClientId,
    device_authorization::DeviceCode,
    pkce_verifier::PkceVerifier,
    refresh_token::RefreshToken,
    token_endpoint::{Grant, TokenEndpoint},
};
use crate::error::{Error, ErrorKind};
use azure_core::http::{ClientOptions, Context};
use mr_auth_test_support::fault_server::{response, Act, FaultServer};
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;
use url::Url;

/// The client id of the id tokens below.
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
/// A bound on each test, in (paused) tokio time.
const TEST_BOUND: Duration = Duration::from_secs(3600);

/// Which grant a test posts.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Code,
    Refresh,
    DeviceCode,
}

/// Posts one grant of `kind` to `base` with the credential's defaults; the result and how
/// long it took (virtual time).
async fn post(base: &str, kind: Kind) -> (Result<(), Error>, Duration) {
    post_within(base, kind, super::DEFAULT_REQUEST_TIMEOUT).await
}

/// [`post`] through a client whose calls are bounded by `timeout`.
async fn post_within(base: &str, kind: Kind, timeout: Duration) -> (Result<(), Error>, Duration) {
    let client = AuthorityClient::new(ClientOptions::default(), timeout);
    let endpoint = TokenEndpoint::new(
        client,
        Arc::new(mr_auth_core::ManualClock::at_fixed_start()),
    );
    let code = AuthorizationCode::new("the-single-use-code".to_owned());
    let refresh = RefreshToken::new("a-refresh-token".to_owned());
    let device = DeviceCode::new("a-device-code".to_owned());
    let grant = match kind {
        Kind::Code => Grant::AuthorizationCode {
            code: &code,
            verifier: PkceVerifier::generate(),
            redirect_uri: "http://localhost:8400",
        },
        Kind::Refresh => Grant::RefreshToken(&refresh),
        Kind::DeviceCode => Grant::DeviceCode(&device),
    };
    let url = Url::parse(&format!("{base}/t/oauth2/v2.0/token")).unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(
        TEST_BOUND,
        endpoint.request(
            url,
            &ClientId::new(CLIENT).unwrap(),
            grant,
            &["s".to_owned()],
            None,
            "http://localhost:8400",
            &Context::new(),
        ),
    )
    .await
    .expect("bounded");
    (result.map(|_| ()), started.elapsed())
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn json(status: &str, body: &str) -> Act {
    Act::Reply(response(
        status,
        &[("content-type", "application/json")],
        body,
    ))
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_retried_briefly_and_named() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    for kind in [Kind::Refresh, Kind::Code] {
        let (result, took) = post(&base, kind).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport, "{kind:?}: {e}");
        assert!(
            e.message().contains("connection refused by 127.0.0.1:"),
            "{e}"
        );
        // Refused means never received: even a code may go again. Four tries, three short
        // waits (full jitter under 0.5, 1 and 2 s): the 15 s users are promised, with room.
        assert_eq!(e.tries(), Some(4), "{kind:?}: {e}");
        assert!(e.to_string().contains("(4 tries)"), "{e}");
        assert!(took < Duration::from_secs(4), "{kind:?} took {took:?}");
    }
    let (result, _) = post(&base, Kind::DeviceCode).await;
    assert_eq!(
        result.unwrap_err().tries(),
        Some(1),
        "a poll is never sent twice"
    );
}

/// A device code poll that failed transiently (5xx, a reset, a try's timeout) is not sent
/// again by the client: the flow polls again after its interval, itself.
#[tokio::test(start_paused = true)]
async fn a_device_code_poll_is_never_re_sent() {
    let answer = r#"{"error":"server_error","error_description":"AADSTS90033: busy"}"#;
    for act in [
        json("500 Internal Server Error", answer),
        Act::Reset,
        Act::Silent,
    ] {
        let server = FaultServer::start(vec![act.clone()]).await;
        let (result, _) = post(&server.url, Kind::DeviceCode).await;
        let e = result.unwrap_err();
        let arrivals = server.arrivals();
        assert_eq!(arrivals.len(), 1, "{act:?}: one poll, not re-sent: {e}");
        assert!(arrivals[0].body.contains("device_code=a-device-code"));
        assert_eq!(e.tries(), Some(1), "{act:?}: {e}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_5xx_to_an_authorization_code_is_not_followed_by_a_second_send() {
    let answer =
        r#"{"error":"server_error","error_description":"AADSTS90033: busy","error_codes":[90033]}"#;
    let server = FaultServer::start(vec![json("500 Internal Server Error", answer)]).await;
    let (result, took) = post(&server.url, Kind::Code).await;
    let e = result.unwrap_err();
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 1, "the code reached the authority once");
    assert!(arrivals[0].body.contains("code=the-single-use-code"));
    assert_eq!(e.kind(), ErrorKind::ServiceError, "{e}");
    assert_eq!((e.status(), e.tries()), (Some(500), Some(1)));
    assert_eq!(e.error_codes(), ["AADSTS90033"]);
    assert!(e.message().contains("not sent again"), "{e}");
    assert_eq!(took, Duration::ZERO);

    // A refresh token may go again: four tries, the authority's own error at the end.
    let server = FaultServer::start(vec![json("503 Service Unavailable", answer)]).await;
    let (result, took) = post(&server.url, Kind::Refresh).await;
    let e = result.unwrap_err();
    assert_eq!(server.arrivals().len(), 4);
    // One call, one client request id, sent with each of its tries.
    let ids = server.header_of_each("x-ms-client-request-id");
    assert_eq!(ids[0].len(), 36, "{ids:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!((e.status(), e.tries()), (Some(503), Some(4)));
    assert_eq!(e.error_codes(), ["AADSTS90033"]);
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_refresh_waits_as_asked_within_the_bounds() {
    let throttled = Act::Reply(response(
        "429 Too Many Requests",
        &[("retry-after", "7")],
        "",
    ));
    let ok = json(
        "200 OK",
        r#"{"access_token":"at","expires_in":3600,"token_type":"Bearer"}"#,
    );
    let server = FaultServer::start(vec![throttled, ok]).await;
    let (result, took) = post(&server.url, Kind::Refresh).await;
    result.unwrap();
    assert_eq!(
        server.request_times(),
        [Duration::ZERO, Duration::from_secs(7)]
    );
    assert_eq!(took, Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn a_stalled_or_dripping_answer_ends_within_a_minute_naming_the_timeout() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n";
    let drip = Act::Drip {
        head: head.to_owned(),
        body: "x".repeat(4096),
        every: Duration::from_secs(1),
    };
    for (act, what) in [
        (Act::Silent, "did not answer"),
        (
            Act::ReplyThenStall(format!("{head}{{\"access")),
            "the body stalled",
        ),
        (drip, "the body stalled"),
    ] {
        // A refresh token: two tries of 20 s (a third would start past 30 s), within 60 s.
        let server = FaultServer::start(vec![act.clone()]).await;
        let (result, took) = post(&server.url, Kind::Refresh).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{act:?}: {e}");
        assert!(e.message().contains(what), "{act:?}: {e}");
        assert!(e.message().contains("per-try timeout of 20 s"), "{e}");
        assert_eq!(server.arrivals().len(), 2, "{act:?}");
        assert!(took <= Duration::from_secs(41), "{act:?} took {took:?}");

        // An authorization code: one try, then the error (it may have been received).
        let server = FaultServer::start(vec![act.clone()]).await;
        let (result, took) = post(&server.url, Kind::Code).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{act:?}: {e}");
        assert!(e.message().contains("not sent again"), "{e}");
        assert_eq!((server.arrivals().len(), e.tries()), (1, Some(1)));
        assert_eq!(took, Duration::from_secs(20), "{act:?}");

        // A device code poll: one try, bounded the same way.
        let server = FaultServer::start(vec![act]).await;
        let (result, took) = post(&server.url, Kind::DeviceCode).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout);
        assert_eq!(
            (server.arrivals().len(), took),
            (1, Duration::from_secs(20))
        );
    }
}

/// The call's own bound cuts a try that would outlast it (the try's timer ends there), and the
/// error names the call's timeout, not the try's.
#[tokio::test(start_paused = true)]
async fn the_calls_timeout_cuts_a_try_that_would_outlast_it() {
    // 5 s in all, less than one 20 s try: the first try is cut at 5 s.
    let server = FaultServer::start(vec![Act::Silent]).await;
    let (result, took) = post_within(&server.url, Kind::Refresh, Duration::from_secs(5)).await;
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("did not answer within 5 s"), "{e}");
    assert!(
        e.message()
            .contains("(the last try without a complete answer)"),
        "{e}"
    );
    assert_eq!((server.arrivals().len(), e.tries()), (1, Some(1)));
    assert_eq!(took, Duration::from_secs(5));

    // 30 s in all: the first try ends at its own 20 s, the second is cut at 30 s.
    let server = FaultServer::start(vec![Act::Silent]).await;
    let (result, took) = post_within(&server.url, Kind::Refresh, Duration::from_secs(30)).await;
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("did not answer within 30 s"), "{e}");
    assert!(e.message().contains("the one before:"), "{e}");
    assert!(e.message().contains("per-try timeout of 20 s"), "{e}");
    assert_eq!((server.arrivals().len(), e.tries()), (2, Some(2)));
    assert_eq!(took, Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn endless_and_oversized_answers_are_refused_at_64_kib() {
    let endless = Act::Endless {
        head: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n"
            .to_owned(),
    };
    // 50 MB announced; 70 KiB sent, then nothing: refused at the bound, not waited for.
    let fifty_mb = Act::ReplyThenStall(format!(
        "HTTP/1.1 200 OK\r\ncontent-length: 52428800\r\n\r\n{{\"access_token\":\"{}",
        "a".repeat(70 * 1024)
    ));
    for act in [endless, fifty_mb] {
        let server = FaultServer::start(vec![act.clone()]).await;
        let (result, took) = post(&server.url, Kind::Refresh).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{act:?}: {e}");
        assert!(e.message().contains("larger than 65536 bytes"), "{e}");
        assert_eq!(
            (server.arrivals().len(), e.tries()),
            (1, Some(1)),
            "not retried"
        );
        assert_eq!(took, Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn a_redirect_is_not_followed() {
    let elsewhere = FaultServer::start(vec![json("200 OK", "{}")]).await;
    let location = format!("{}/t/oauth2/v2.0/token", elsewhere.url);
    for status in [
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let server = FaultServer::start(vec![Act::Reply(response(
            status,
            &[("location", &location)],
            "",
        ))])
        .await;
        let (result, _) = post(&server.url, Kind::Code).await;
        let e = result.unwrap_err();
        assert_eq!(server.arrivals().len(), 1, "{status}");
        assert_eq!(e.status(), Some(status[..3].parse().unwrap()), "{e}");
    }
    assert!(
        elsewhere.arrivals().is_empty(),
        "the code never went elsewhere"
    );
}

#[tokio::test(start_paused = true)]
async fn an_id_token_for_another_client_is_refused() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let answer = |claims: &str| {
        let id_token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
        json(
            "200 OK",
            &format!(r#"{{"access_token":"at","expires_in":3600,"id_token":"{id_token}"}}"#),
        )
    };
    let cases = [
        (
            r#"{"aud":"99999999-2222-3333-4444-555555555555","exp":4102444800}"#,
            false,
        ),
        (r#"{"aud":["a","b"],"exp":4102444800}"#, false),
        (r#"{"sub":"no audience","exp":4102444800}"#, false),
        (
            r#"{"aud":"11111111-2222-3333-4444-555555555555","exp":4102444800}"#,
            true,
        ),
        (
            r#"{"aud":["x","11111111-2222-3333-4444-555555555555"]}"#,
            true,
        ),
    ];
    for (claims, accepted) in cases {
        let server = FaultServer::start(vec![answer(claims)]).await;
        let (result, _) = post(&server.url, Kind::Refresh).await;
        match result {
            Ok(()) => assert!(accepted, "{claims} was accepted"),
            Err(e) => {
                assert!(!accepted, "{claims}: {e}");
                assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
                assert!(e.message().contains("id token"), "{e}");
            }
        }
    }
}
