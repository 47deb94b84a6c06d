//! The STS client against loopback servers: request shape, every response row of the spec's
//! section 6, retries, timeouts and transport faults.

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use mockito::{Matcher, Server};
use mr_auth_core::{
    AccountId, CorrelationVector, ErrorKind, MixedRealityStsClient, MixedRealityStsClientOptions,
    StsEndpoint, StsRetryOptions, DEFAULT_AAD_SCOPE,
};
use mr_auth_core::{Clock as _, SystemClock};
use mr_auth_test_support::scripted_http::{self, HttpRequest, HttpResponse};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const TOKEN_PATH: &str = "/Accounts/87e9abb1-79b9-4502-bbae-cfae8c610f23/token";
const GOOD_JWT: &str = "fake.eyJleHAiOjIxNDc0ODM2NDd9.fake";

/// A stand-in for an Azure AD credential that records the scopes it was asked for.
#[derive(Debug, Default)]
struct FakeAad {
    scopes: Mutex<Vec<String>>,
    fail: bool,
}

#[async_trait::async_trait]
impl TokenCredential for FakeAad {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.scopes
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        if self.fail {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "no signed-in user",
            ));
        }
        Ok(AccessToken::new(
            Secret::new("aad-token-value"),
            SystemClock.now() + time::Duration::hours(1),
        ))
    }
}

fn fast_retry() -> StsRetryOptions {
    StsRetryOptions {
        max_retries: 2,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
        max_total_elapsed: Duration::from_secs(10),
    }
}

fn client_for(
    url: &str,
    credential: Arc<dyn TokenCredential>,
    tweak: impl FnOnce(&mut MixedRealityStsClientOptions),
) -> Arc<MixedRealityStsClient> {
    let mut options = MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(url).unwrap()),
        retry: fast_retry(),
        timeout: Duration::from_secs(15),
        ..MixedRealityStsClientOptions::default()
    };
    tweak(&mut options);
    MixedRealityStsClient::new(
        ACCOUNT.parse().unwrap(),
        "mixedreality.azure.com".parse().unwrap(),
        credential,
        Some(options),
    )
    .unwrap()
}

fn client(url: &str) -> Arc<MixedRealityStsClient> {
    client_for(url, Arc::new(FakeAad::default()), |_| {})
}

fn token_query() -> Matcher {
    Matcher::UrlEncoded("api-version".into(), "2019-02-28-preview".into())
}

#[tokio::test]
async fn sends_exactly_the_spec_request_and_reads_the_token() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let seen_cvs = Arc::new(Mutex::new(Vec::<String>::new()));
        let cvs = seen_cvs.clone();
        let mock = server
            .mock("GET", TOKEN_PATH)
            .match_query(token_query())
            .match_header("accept", "application/json")
            .match_header("authorization", "Bearer aad-token-value")
            .match_header("user-agent", Matcher::Regex("mr-auth-core/".into()))
            .match_request(move |request| {
                let cv = request
                    .header("x-mrc-cv")
                    .first()
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let ok = CorrelationVector::is_well_formed(&cv);
                cvs.lock().unwrap().push(cv);
                ok
            })
            .with_status(200)
            .with_header("content-type", "application/json; charset=utf-8")
            .with_header("ms-cv", "cT1Z1Q1eTki0YgIK2wMXNQ.0")
            .with_body(format!(r#"{{"AccessToken":"{GOOD_JWT}"}}"#))
            .expect(2)
            .create_async()
            .await;

        let aad = Arc::new(FakeAad::default());
        let client = client_for(&server.url(), aad.clone(), |_| {});
        let first = client.get_token().await.unwrap();
        let second = client.get_token().await.unwrap();
        mock.assert_async().await;

        assert_eq!(first.access_token.token.secret(), GOOD_JWT);
        assert_eq!(
            first.access_token.expires_on.unix_timestamp(),
            2_147_483_647
        );
        assert_eq!(first.ms_cv.as_deref(), Some("cT1Z1Q1eTki0YgIK2wMXNQ.0"));
        assert_eq!(second.access_token.token.secret(), GOOD_JWT);
        let cvs = seen_cvs.lock().unwrap();
        assert_eq!(cvs.len(), 2);
        assert_ne!(cvs[0], cvs[1], "X-MRC-CV must be fresh per call");
        assert_eq!(
            *aad.scopes.lock().unwrap(),
            vec![DEFAULT_AAD_SCOPE.to_owned(); 2]
        );
    })
    .await;
}

#[tokio::test]
async fn scope_override_is_requested_from_the_credential() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let _mock = server
            .mock("GET", TOKEN_PATH)
            .match_query(token_query())
            .with_body(format!(r#"{{"AccessToken":"{GOOD_JWT}"}}"#))
            .create_async()
            .await;
        let aad = Arc::new(FakeAad::default());
        let client = client_for(&server.url(), aad.clone(), |o| {
            o.aad_scope = Some("api://custom/.default".into())
        });
        client.get_token().await.unwrap();
        assert_eq!(
            *aad.scopes.lock().unwrap(),
            vec!["api://custom/.default".to_owned()]
        );
    })
    .await;
}

#[tokio::test]
async fn custom_endpoint_path_prefix_is_kept() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let mock = server
            .mock("GET", format!("/prefix{TOKEN_PATH}").as_str())
            .match_query(token_query())
            .with_body(format!(r#"{{"AccessToken":"{GOOD_JWT}"}}"#))
            .create_async()
            .await;
        client(&format!("{}/prefix", server.url()))
            .get_token()
            .await
            .unwrap();
        mock.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn bad_success_bodies_are_protocol_errors_carrying_the_ms_cv() {
    mr_auth_test_support::bounded(async move {
        for (body, expected) in [
            (r#"{"Foo":1}"#.to_owned(), "no AccessToken"),
            (
                r#"{"AccessToken":"notajwt"}"#.to_owned(),
                "three dot-separated segments",
            ),
            ("<html>".to_owned(), "not the expected JSON"),
            (
                r#"{"AccessToken":"x.eyJleHAiOm51bGx9."}"#.to_owned(),
                "no exp claim",
            ),
        ] {
            let mut server = Server::new_async().await;
            let mock = server
                .mock("GET", TOKEN_PATH)
                .match_query(token_query())
                .with_header("ms-cv", "abc.0")
                .with_body(body.clone())
                .expect(1)
                .create_async()
                .await;
            let error = client(&server.url()).get_token().await.unwrap_err();
            mock.assert_async().await;
            assert_eq!(error.kind(), ErrorKind::Protocol, "{body}");
            assert!(error.message().contains(expected), "{body}: {error}");
            assert_eq!(error.ms_cv(), Some("abc.0"));
            assert!(error
                .request_correlation_vector()
                .is_some_and(CorrelationVector::is_well_formed));
        }
    })
    .await;
}

#[tokio::test]
async fn client_errors_are_typed_and_never_retried() {
    mr_auth_test_support::bounded(async move {
        for (status, header, kind) in [
            (
                400,
                Some("Invalid request: errorMessage"),
                ErrorKind::RequestRejected,
            ),
            (
                401,
                Some("Invalid token: errorMessage"),
                ErrorKind::AuthenticationFailed,
            ),
            (403, None, ErrorKind::AuthenticationFailed),
            (404, None, ErrorKind::RequestRejected),
        ] {
            let mut server = Server::new_async().await;
            let mut mock = server
                .mock("GET", TOKEN_PATH)
                .match_query(token_query())
                .with_status(status)
                .with_header("ms-cv", "err.0")
                .expect(1);
            if let Some(value) = header {
                mock = mock.with_header("www-authenticate", value);
            }
            let mock = mock.create_async().await;
            let error = client(&server.url()).get_token().await.unwrap_err();
            mock.assert_async().await;
            assert_eq!(error.kind(), kind, "{status}");
            assert_eq!(error.status(), Some(status as u16));
            assert_eq!(error.service_message(), header);
            assert_eq!(error.ms_cv(), Some("err.0"));
            assert!(!error.is_transient());
            let core: azure_core::Error = error.into();
            assert!(core.downcast_ref::<mr_auth_core::Error>().is_some());
        }
    })
    .await;
}

#[tokio::test]
async fn throttled_then_success_waits_for_retry_after() {
    mr_auth_test_support::bounded(async move {
        // The first try is throttled, every later one succeeds: the script decides per
        // request, so nothing has to watch for the first answer and swap it.
        let requests = Arc::new(Mutex::new(Vec::<HttpRequest>::new()));
        let seen = requests.clone();
        let (port, server) = scripted_http::serve(move |request| {
            let tries = {
                let mut seen = seen.lock().unwrap();
                seen.push(request);
                seen.len()
            };
            async move {
                if tries == 1 {
                    let mut throttled = HttpResponse::new(429, "text/plain", "slow down");
                    throttled.headers.push(("Retry-After".into(), "1".into()));
                    throttled
                } else {
                    HttpResponse::new(
                        200,
                        "application/json",
                        format!(r#"{{"AccessToken":"{GOOD_JWT}"}}"#),
                    )
                }
            }
        })
        .await;
        let start = tokio::time::Instant::now();
        let token = client(&format!("http://127.0.0.1:{port}"))
            .get_token()
            .await
            .unwrap();
        server.abort();
        assert_eq!(
            token.access_token.expires_on.unix_timestamp(),
            2_147_483_647
        );
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "Retry-After: 1 was not honoured"
        );
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2, "one throttled try, one retry");
        for request in requests.iter() {
            assert_eq!(
                (request.method.as_str(), request.path.as_str()),
                ("GET", TOKEN_PATH)
            );
            assert_eq!(
                request.query.get("api-version").map(String::as_str),
                Some("2019-02-28-preview")
            );
        }
    })
    .await;
}

#[tokio::test]
async fn an_hour_long_retry_after_is_capped() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let mock = server
            .mock("GET", TOKEN_PATH)
            .match_query(token_query())
            .with_status(429)
            .with_header("retry-after", "3600")
            .expect(2)
            .create_async()
            .await;
        let client = client_for(&server.url(), Arc::new(FakeAad::default()), |o| {
            o.retry.max_retries = 1;
            o.retry.max_retry_after = Duration::from_millis(50);
            o.timeout = Duration::from_secs(10);
        });
        let error = client.get_token().await.unwrap_err();
        mock.assert_async().await;
        assert_eq!(error.kind(), ErrorKind::Throttled, "{error}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
        assert!(error.is_transient());
    })
    .await;
}

#[tokio::test]
async fn repeated_500_is_retried_then_fails_carrying_the_ms_cv() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let mock = server
            .mock("GET", TOKEN_PATH)
            .match_query(token_query())
            .with_status(500)
            .with_header("ms-cv", "Eqf+maCsbkSiPhUhTVbRJQ.0")
            .expect(3)
            .create_async()
            .await;
        let error = client(&server.url()).get_token().await.unwrap_err();
        mock.assert_async().await;
        assert_eq!(error.kind(), ErrorKind::ServiceError);
        assert_eq!(error.status(), Some(500));
        assert_eq!(error.ms_cv(), Some("Eqf+maCsbkSiPhUhTVbRJQ.0"));
        assert!(error.to_string().contains("Eqf+maCsbkSiPhUhTVbRJQ.0"));
    })
    .await;
}

#[tokio::test]
async fn other_transient_statuses_are_retried() {
    mr_auth_test_support::bounded(async move {
        for status in [408, 502, 503, 504] {
            let mut server = Server::new_async().await;
            let mock = server
                .mock("GET", TOKEN_PATH)
                .match_query(token_query())
                .with_status(status)
                .expect(3)
                .create_async()
                .await;
            let error = client(&server.url()).get_token().await.unwrap_err();
            mock.assert_async().await;
            assert_eq!(error.kind(), ErrorKind::ServiceError, "{status}");
        }
    })
    .await;
}

#[tokio::test]
async fn credential_failure_is_an_authentication_error_without_a_request() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let mock = server
            .mock("GET", Matcher::Any)
            .expect(0)
            .create_async()
            .await;
        let aad = Arc::new(FakeAad {
            fail: true,
            ..FakeAad::default()
        });
        let error = client_for(&server.url(), aad, |_| {})
            .get_token()
            .await
            .unwrap_err();
        mock.assert_async().await;
        assert_eq!(error.kind(), ErrorKind::AuthenticationFailed);
        assert!(error.message().contains("no signed-in user"), "{error}");
        assert!(std::error::Error::source(&error).is_some());
    })
    .await;
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    mr_auth_test_support::bounded(async move {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let error = client(&url).get_token().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
        assert!(error.is_transient());
    })
    .await;
}

/// A loopback server that accepts connections and answers each with `reply` (or not at all).
async fn raw_server(reply: Option<&'static [u8]>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for _ in 0..16 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await;
                match reply {
                    Some(bytes) => {
                        let _ = socket.write_all(bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(20)).await,
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    mr_auth_test_support::bounded(async move {
        let url = raw_server(None).await;
        let client = client_for(&url, Arc::new(FakeAad::default()), |o| {
            o.try_timeout = Duration::from_millis(200);
            o.retry = StsRetryOptions::none();
        });
        let error = client.get_token().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    })
    .await;
}

#[tokio::test]
async fn the_overall_timeout_bounds_retries() {
    mr_auth_test_support::bounded(async move {
        let url = raw_server(None).await;
        let client = client_for(&url, Arc::new(FakeAad::default()), |o| {
            o.try_timeout = Duration::from_secs(10);
            o.timeout = Duration::from_millis(300);
        });
        let error = client.get_token().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(
            error.message().contains("did not issue a token within"),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_truncated_body_is_an_error_not_a_token() {
    mr_auth_test_support::bounded(async move {
    let url = raw_server(Some(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\nms-cv: t.0\r\n\r\n{\"AccessToken\":\"fake.ey",
    ))
    .await;
    let error = client(&url).get_token().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
    assert_eq!(error.ms_cv(), Some("t.0"));
    })
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    mr_auth_test_support::bounded(async move {
        let mut server = Server::new_async().await;
        let huge = format!(
            r#"{{"AccessToken":"{GOOD_JWT}","Padding":"{}"}}"#,
            "a".repeat(2 * 1024 * 1024)
        );
        let _mock = server
            .mock("GET", TOKEN_PATH)
            .match_query(token_query())
            .with_body(huge)
            .create_async()
            .await;
        let error = client(&server.url()).get_token().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
        assert!(error.message().contains("larger than"), "{error}");
    })
    .await;
}

#[test]
fn construction_errors_name_the_problem() {
    let aad: Arc<dyn TokenCredential> = Arc::new(FakeAad::default());
    let id: AccountId = ACCOUNT.parse().unwrap();
    let domain = "mixedreality.azure.com".parse().unwrap();
    let error = MixedRealityStsClient::new(
        id,
        domain,
        aad.clone(),
        Some(MixedRealityStsClientOptions {
            aad_scope: Some(" ".into()),
            ..Default::default()
        }),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.message().contains("scope"), "{error}");

    let error = MixedRealityStsClient::new(
        id,
        "mixedreality.azure.com".parse().unwrap(),
        aad.clone(),
        Some(MixedRealityStsClientOptions {
            extra_root_certificates_pem: vec!["not a pem".into()],
            ..Default::default()
        }),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.message().contains("PEM"), "{error}");

    let client = MixedRealityStsClient::new(
        id,
        "EastUS2.mixedreality.azure.com".parse().unwrap(),
        aad,
        None,
    )
    .unwrap();
    assert_eq!(
        client.endpoint().to_string(),
        "https://sts.eastus2.mixedreality.azure.com"
    );
    assert_eq!(client.aad_scope(), DEFAULT_AAD_SCOPE);
}
