use super::{
    authority_error::authority_error, authorization_code::AuthorizationCode,
    authorization_request::State,
};
use crate::error::{Error, ErrorKind, Result};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{
    body::Incoming,
    header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HOST},
    server::conn::http1,
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    collections::VecDeque,
    io,
    net::{Ipv4Addr, Ipv6Addr},
    ops::RangeInclusive,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::{
    net::TcpListener,
    sync::mpsc,
    task::{AbortHandle, JoinSet},
};
use url::Url;

/// Longest time a connection may take to send its whole request head, from being accepted.
/// A browser sends it at once; a connection that dribbles it (slowloris) is closed then.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time a form body may take to arrive once the head has.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time one connection may live, whatever it does.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest request head the receiver buffers (hyper's minimum is 8 KiB).
const MAX_HEAD: usize = 16 * 1024;
/// Largest form body the receiver reads.
const MAX_BODY: usize = 64 * 1024;
/// Connections served at once. Accepting never waits for a free one: at the limit, the oldest
/// connection that has not sent its request head yet is closed to make room, so idle or slow
/// connections cannot keep the real redirect waiting in the listener's queue.
const MAX_CONNECTIONS: usize = 256;
/// The pause after a failed accept (out of file descriptors, say), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The browser flow's redirect target: an HTTP/1.1 server (hyper) on the loopback interface
/// that waits for the authorization response (`response_mode=form_post`, or a query string).
///
/// It binds the same port on 127.0.0.1 and, where IPv6 loopback exists, on ::1, so that no
/// other local process can take the redirect on the other address family (RFC 8252 section
/// 8.3), and advertises `http://localhost:{port}`. Each request is checked in this order: the
/// `Host` header names this loopback port (no DNS rebinding), the path is the redirect path,
/// and `state` is the sign-in's (compared in constant time). A request failing the `state`
/// check gets a 400 page and the wait goes on: any local process or web page can send one.
/// Only a request with the right `state` ends the wait, with its `code` or its `error`.
#[derive(Debug)]
pub(crate) struct LoopbackReceiver {
    v4: TcpListener,
    v6: Option<TcpListener>,
    redirect_uri: Url,
}

impl LoopbackReceiver {
    /// Binds the port of `configured` (when it has one) or the first port in `range` free on
    /// both loopback addresses, and advertises `http://localhost:{port}` (Entra refuses
    /// `127.0.0.1` in registrations) or the configured URI.
    pub(crate) async fn bind(configured: Option<&Url>, range: RangeInclusive<u16>) -> Result<Self> {
        if let Some(uri) = configured {
            if let Some(port) = uri.port() {
                let (v4, v6) = bind_port(port).await.map_err(|e| {
                    Error::new(
                        ErrorKind::LoopbackUnavailable,
                        format!("port {port} of the configured redirect uri {uri} is not free on the loopback addresses (127.0.0.1 and ::1); free it or configure another port (and register it)"),
                    )
                    .with_source(e)
                })?;
                return Ok(Self {
                    v4,
                    v6,
                    redirect_uri: uri.clone(),
                });
            }
        }
        let (start, end) = (*range.start(), *range.end());
        for port in range {
            if let Ok((v4, v6)) = bind_port(port).await {
                let mut redirect_uri = configured.cloned().unwrap_or_else(|| {
                    Url::parse("http://localhost").expect("a static url parses")
                });
                if redirect_uri.set_port(Some(port)).is_err() {
                    continue;
                }
                return Ok(Self {
                    v4,
                    v6,
                    redirect_uri,
                });
            }
        }
        Err(Error::new(
            ErrorKind::LoopbackUnavailable,
            format!("no port in {start}-{end} is free on the loopback addresses for the sign-in redirect; free one, or set redirect_uri to http://localhost:<free port>"),
        ))
    }

    /// The redirect URI to send to the authority.
    pub(crate) fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits (without a limit of its own: the caller applies the timeout, and dropping the
    /// future closes the listeners) for the authorization response with `expected_state`, and
    /// returns its code or the authority's error.
    pub(crate) async fn receive(&self, expected_state: &State) -> Result<AuthorizationCode> {
        let port = self.redirect_uri.port().unwrap_or(80);
        let expect = Arc::new(Expected {
            state: State::new(expected_state.secret().to_owned()),
            path: self.redirect_uri.path().to_owned(),
            port,
            redirect_uri: self.redirect_uri.to_string(),
        });
        let (outcomes, mut outcome) = mpsc::channel::<Result<AuthorizationCode>>(1);
        let mut connections = Connections::default();
        loop {
            tokio::select! {
                accepted = accept(&self.v4, self.v6.as_ref()) => {
                    let Ok(stream) = accepted else {
                        // Out of file descriptors, say: give the connections a moment to end
                        // rather than spin on accept.
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        continue;
                    };
                    let expect = Arc::clone(&expect);
                    let outcomes = outcomes.clone();
                    connections.start(move |head_received| async move {
                        let decided = serve_connection(TokioIo::new(stream), expect, head_received).await;
                        if let Some(decided) = decided {
                            let _ = outcomes.send(decided).await;
                        }
                    });
                }
                Some(_) = connections.tasks.join_next(), if !connections.tasks.is_empty() => {}
                Some(decided) = outcome.recv() => return decided,
            }
        }
    }
}

/// The connections being served, oldest first, with whether each has sent its request head.
#[derive(Default)]
struct Connections {
    tasks: JoinSet<()>,
    pending: VecDeque<(AbortHandle, Arc<AtomicBool>)>,
}

impl Connections {
    /// Serves a new connection with `serve` (given the flag it sets once the head arrived),
    /// first closing the oldest connection still without a head when the limit is reached.
    /// When every connection has sent its head (each ends within the body and connection
    /// timeouts), the new one is closed instead.
    fn start<F, Fut>(&mut self, serve: F)
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.pending
            .retain(|(task, head)| !task.is_finished() && !head.load(Ordering::Relaxed));
        if self.tasks.len() >= MAX_CONNECTIONS {
            let Some((oldest, _)) = self.pending.pop_front() else {
                tracing::debug!(
                    "the sign-in redirect receiver is full of requests; closed a new connection"
                );
                return;
            };
            oldest.abort();
            tracing::debug!("the sign-in redirect receiver is full; closed its oldest connection without a request");
        }
        let head_received = Arc::new(AtomicBool::new(false));
        let task = self.tasks.spawn(serve(Arc::clone(&head_received)));
        self.pending.push_back((task, head_received));
    }
}

/// What a request must match, and what a successful one is checked against.
struct Expected {
    state: State,
    path: String,
    port: u16,
    redirect_uri: String,
}

/// Binds 127.0.0.1 and ::1 on `port`. Only the IPv6 loopback being absent (no IPv6 on this
/// host) lets IPv4 alone do; ::1 taken by another process is an error, since that process
/// could receive the redirect.
async fn bind_port(port: u16) -> io::Result<(TcpListener, Option<TcpListener>)> {
    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    match TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await {
        Ok(v6) => Ok((v4, Some(v6))),
        Err(e) if ipv6_loopback_missing(&e) => {
            tracing::debug!(
                port,
                "no ipv6 loopback here; the sign-in redirect listens on 127.0.0.1 only"
            );
            Ok((v4, None))
        }
        Err(e) => Err(e),
    }
}

fn ipv6_loopback_missing(e: &io::Error) -> bool {
    // EAFNOSUPPORT is 97 on Linux, 47 on macOS and the BSDs, WSAEAFNOSUPPORT 10047 on Windows.
    let family_unsupported = if cfg!(windows) {
        10047
    } else if cfg!(target_os = "linux") {
        97
    } else {
        47
    };
    e.kind() == io::ErrorKind::AddrNotAvailable || e.raw_os_error() == Some(family_unsupported)
}

async fn accept(v4: &TcpListener, v6: Option<&TcpListener>) -> io::Result<tokio::net::TcpStream> {
    let v6 = async {
        match v6 {
            Some(listener) => listener.accept().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        accepted = v4.accept() => accepted.map(|(stream, _)| stream),
        accepted = v6 => accepted.map(|(stream, _)| stream),
    }
}

/// Serves one connection (one request: no keep-alive) and returns the outcome it decided, if
/// it carried the right `state`. `head_received` is set once the request head has arrived; a
/// connection without one after [`HEADER_READ_TIMEOUT`] is closed. Returns only after the
/// response was written, so the browser always gets its page before the listener closes.
async fn serve_connection<I>(
    io: I,
    expect: Arc<Expected>,
    head_received: Arc<AtomicBool>,
) -> Option<Result<AuthorizationCode>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let decided: Arc<Mutex<Option<Result<AuthorizationCode>>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&decided);
    let head = Arc::clone(&head_received);
    let service = service_fn(move |request: Request<Incoming>| {
        head.store(true, Ordering::Relaxed);
        let expect = Arc::clone(&expect);
        let slot = Arc::clone(&slot);
        async move {
            let (response, outcome) = handle(request, &expect).await;
            if let Some(outcome) = outcome {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .keep_alive(false);
    let connection = builder.serve_connection(io, service);
    // Slow, idle or broken connections are cut off; the wait for the real response goes on.
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, async {
        tokio::pin!(connection);
        tokio::select! {
            _ = &mut connection => return,
            () = tokio::time::sleep(HEADER_READ_TIMEOUT) => {}
        }
        if head_received.load(Ordering::Relaxed) {
            let _ = connection.await;
        }
    })
    .await;
    let outcome = decided.lock().unwrap_or_else(|p| p.into_inner()).take();
    outcome
}

/// One request: the page to answer with, and the outcome when the request decides the wait.
async fn handle(
    request: Request<Incoming>,
    expect: &Expected,
) -> (Response<Full<Bytes>>, Option<Result<AuthorizationCode>>) {
    if !host_is_this_receiver(&request, expect.port) {
        return (
            page(
                StatusCode::BAD_REQUEST,
                "This address only answers requests for localhost.",
            ),
            None,
        );
    }
    if request.uri().path() != expect.path {
        return (page(StatusCode::NOT_FOUND, "Not found."), None);
    }
    let mut params: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if request.method() == Method::POST && is_form {
        let body = Limited::new(request.into_body(), MAX_BODY).collect();
        match tokio::time::timeout(BODY_READ_TIMEOUT, body).await {
            Ok(Ok(body)) => {
                params.extend(url::form_urlencoded::parse(&body.to_bytes()).into_owned());
            }
            Ok(Err(_)) => {
                return (
                    page(StatusCode::PAYLOAD_TOO_LARGE, "The request is too large."),
                    None,
                )
            }
            Err(_) => {
                return (
                    page(StatusCode::REQUEST_TIMEOUT, "The request took too long."),
                    None,
                )
            }
        }
    } else if request.method() != Method::GET {
        return (
            page(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed."),
            None,
        );
    }
    decide(&params, expect)
}

/// The checks on a request's parameters, `state` first.
fn decide(
    params: &[(String, String)],
    expect: &Expected,
) -> (Response<Full<Bytes>>, Option<Result<AuthorizationCode>>) {
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let state_matches = get("state")
        .is_some_and(|state| constant_time_eq(state.as_bytes(), expect.state.secret().as_bytes()));
    if !state_matches {
        return (
            page(
                StatusCode::BAD_REQUEST,
                "This is not the response to the sign-in that the application is waiting for (its state is missing or wrong). The sign-in goes on: finish it in the window that the application opened.",
            ),
            None,
        );
    }
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default();
        let e = authority_error(
            error,
            description,
            get("error_subcode"),
            Vec::new(),
            None,
            &expect.redirect_uri,
        );
        let text = format!(
            "Sign-in failed: {}. You can close this window and return to the application.",
            e.message()
        );
        return (page(StatusCode::OK, &text), Some(Err(e)));
    }
    match get("code") {
        Some(code) if !code.is_empty() => (
            page(
                StatusCode::OK,
                "Authentication complete. You can close this window and return to the application.",
            ),
            Some(Ok(AuthorizationCode::new(code.to_owned()))),
        ),
        _ => (
            page(
                StatusCode::BAD_REQUEST,
                "Sign-in failed: the response has neither a code nor an error.",
            ),
            Some(Err(Error::protocol(
                "the sign-in response has neither a code nor an error; sign in again",
            ))),
        ),
    }
}

/// `Host` must be this receiver: `localhost`, `127.0.0.1` or `[::1]` with its port. A page
/// from another origin that resolves its own name to 127.0.0.1 (DNS rebinding) sends its own
/// host name and is refused.
fn host_is_this_receiver<B>(request: &Request<B>, port: u16) -> bool {
    let Some(host) = request.headers().get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}") || (port == 80 && host == *name))
}

/// Compares without leaking where the first difference is (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn page(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in</title></head><body><p>{escaped}</p></body></html>"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
    headers.insert(
        "referrer-policy",
        hyper::header::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "x-content-type-options",
        hyper::header::HeaderValue::from_static("nosniff"),
    );
    response
}

/// Runs the request handling on one raw connection's bytes (for the fuzzing target): any
/// input must end with a response or a closed connection, never a panic.
#[cfg(feature = "fuzzing")]
pub(crate) fn handle_raw_request(data: &[u8]) {
    thread_local! {
        // One runtime per fuzzing thread: building one per input cost most of each execution.
        static RUNTIME: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .ok();
    }
    RUNTIME.with(|runtime| {
        if let Some(runtime) = runtime {
            run_raw_request(runtime, data);
        }
    });
}

#[cfg(feature = "fuzzing")]
fn run_raw_request(runtime: &tokio::runtime::Runtime, data: &[u8]) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(MAX_HEAD * 2);
        let expect = Arc::new(Expected {
            state: State::new("fuzz-state".to_owned()),
            path: "/".to_owned(),
            port: 8400,
            redirect_uri: "http://localhost:8400/".to_owned(),
        });
        let server = tokio::spawn(serve_connection(
            TokioIo::new(server),
            expect,
            Arc::new(AtomicBool::new(false)),
        ));
        let _ = client.write_all(data).await;
        let _ = client.shutdown().await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(1), client.read_to_end(&mut sink)).await;
        drop(client);
        // The runtime outlives this input: a connection still open here must not leak into
        // the next one.
        let abort = server.abort_handle();
        if tokio::time::timeout(Duration::from_secs(1), server)
            .await
            .is_err()
        {
            abort.abort();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{
        io::{AsyncReadExt as _, AsyncWriteExt as _},
        net::TcpStream,
    };

    /// Sends one raw request to 127.0.0.1:`port` and returns the whole answer.
    async fn send(port: u16, raw: &str) -> String {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    fn post(port: u16, path: &str, body: &str) -> String {
        format!("POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len())
    }

    fn get(port: u16, target: &str) -> String {
        format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n")
    }

    /// A receiver on a port the OS says is free on both loopback addresses.
    async fn receiver() -> (LoopbackReceiver, u16) {
        for _ in 0..20 {
            let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            let port = probe.local_addr().unwrap().port();
            drop(probe);
            if let Ok(r) = LoopbackReceiver::bind(None, port..=port).await {
                return (r, port);
            }
        }
        panic!("no free loopback port in 20 tries");
    }

    async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(30), f)
            .await
            .expect("finished within 30 s")
    }

    #[tokio::test]
    async fn accepts_form_post_and_advertises_localhost() {
        bounded(async {
            let (receiver, port) = receiver().await;
            assert_eq!(receiver.redirect_uri().host_str(), Some("localhost"));
            let browser = tokio::spawn(async move {
                // A stray request first: a 404, the receiver keeps waiting.
                let r = send(port, &get(port, "/favicon.ico")).await;
                assert!(r.starts_with("HTTP/1.1 404"), "{r}");
                send(port, &post(port, "/", "code=abc&state=s1")).await
            });
            let code = receiver.receive(&State::new("s1".into())).await.unwrap();
            assert_eq!(code.secret(), "abc");
            let page = browser.await.unwrap();
            assert!(page.starts_with("HTTP/1.1 200"), "{page}");
            assert!(page.contains("Authentication complete"));
        })
        .await
    }

    #[tokio::test]
    async fn a_forged_response_with_a_wrong_state_is_refused_and_the_real_one_completes() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                let forged = send(port, &get(port, "/?code=evil&state=guess")).await;
                let real = send(port, &get(port, "/?code=real&state=s1")).await;
                (forged, real)
            });
            let code = receiver.receive(&State::new("s1".into())).await.unwrap();
            assert_eq!(code.secret(), "real");
            let (forged, real) = browser.await.unwrap();
            assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
            assert!(forged.contains("goes on"));
            assert!(real.starts_with("HTTP/1.1 200"), "{real}");
        })
        .await
    }

    #[tokio::test]
    async fn a_forged_error_without_state_does_not_end_the_wait() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                let forged = send(
                    port,
                    &post(
                        port,
                        "/",
                        "error=access_denied&error_description=Your+account+is+locked%2C+call+555",
                    ),
                )
                .await;
                let also_forged = send(port, &get(port, "/?error=server_error&state=")).await;
                let real = send(port, &post(port, "/", "code=c&state=s1")).await;
                (forged, also_forged, real)
            });
            let code = receiver.receive(&State::new("s1".into())).await.unwrap();
            assert_eq!(code.secret(), "c");
            let (forged, also_forged, real) = browser.await.unwrap();
            assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
            assert!(!forged.contains("locked"), "the forged text is not shown");
            assert!(also_forged.starts_with("HTTP/1.1 400"), "{also_forged}");
            assert!(real.starts_with("HTTP/1.1 200"));
        })
        .await
    }

    #[tokio::test]
    async fn an_error_with_the_right_state_ends_the_wait_with_the_authoritys_error() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                send(
                    port,
                    &get(port, "/?error=invalid_request&error_description=AADSTS50011%3A+The+redirect+URI+does+not+match&state=s1"),
                )
                .await
            });
            let e = receiver.receive(&State::new("s1".into())).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered);
            assert_eq!(e.redirect_uri(), Some(format!("http://localhost:{port}/").as_str()));
            assert_eq!(e.error_codes(), ["AADSTS50011"]);
            let page = browser.await.unwrap();
            assert!(page.contains("Sign-in failed"), "{page}");
        })
        .await
    }

    #[test]
    fn error_redirects_become_typed_errors() {
        let expect = Expected {
            state: State::new("s".into()),
            path: "/".into(),
            port: 1,
            redirect_uri: "http://localhost:1/".into(),
        };
        let params = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let (_, outcome) = decide(
            &params(&[
                ("error", "access_denied"),
                ("error_subcode", "cancel"),
                ("state", "s"),
            ]),
            &expect,
        );
        assert_eq!(
            outcome.unwrap().unwrap_err().kind(),
            ErrorKind::UserCancelled
        );
        let (response, outcome) = decide(&params(&[("code", "c"), ("state", "S")]), &expect);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(outcome.is_none(), "a wrong state never decides");
        let (_, outcome) = decide(&params(&[("state", "s")]), &expect);
        assert_eq!(outcome.unwrap().unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[tokio::test]
    async fn a_foreign_host_header_is_refused() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                let rebound = send(
                    port,
                    &format!("GET /?code=c&state=s1 HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"),
                )
                .await;
                let real = send(port, &get(port, "/?code=c&state=s1")).await;
                (rebound, real)
            });
            receiver.receive(&State::new("s1".into())).await.unwrap();
            let (rebound, real) = browser.await.unwrap();
            assert!(rebound.starts_with("HTTP/1.1 400"), "{rebound}");
            assert!(real.starts_with("HTTP/1.1 200"));
        })
        .await
    }

    #[tokio::test]
    async fn the_port_is_held_on_ipv6_loopback_too() {
        bounded(async {
            let (receiver, port) = receiver().await;
            assert!(receiver.v6.is_some(), "this host has ::1");
            let taken = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, port));
            assert!(
                taken.is_err(),
                "another process could take the redirect on [::1]:{port}"
            );
        })
        .await
    }

    #[tokio::test]
    async fn a_port_taken_on_ipv6_loopback_is_skipped() {
        bounded(async {
            let squatter = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
            let port = squatter.local_addr().unwrap().port();
            let e = LoopbackReceiver::bind(None, port..=port).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::LoopbackUnavailable);
            let configured = Url::parse(&format!("http://localhost:{port}/cb")).unwrap();
            let e = LoopbackReceiver::bind(Some(&configured), 1..=1)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::LoopbackUnavailable);
            drop(squatter);
        })
        .await
    }

    #[tokio::test]
    async fn occupied_range_is_loopback_unavailable_and_configured_port_is_used() {
        bounded(async {
            let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            let port = taken.local_addr().unwrap().port();
            let e = LoopbackReceiver::bind(None, port..=port).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::LoopbackUnavailable);
            assert!(e.message().contains(&format!("{port}-{port}")));

            let configured = Url::parse(&format!("http://localhost:{port}/cb")).unwrap();
            let e = LoopbackReceiver::bind(Some(&configured), 1..=1)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::LoopbackUnavailable);
            drop(taken);
            let r = LoopbackReceiver::bind(Some(&configured), 1..=1)
                .await
                .unwrap();
            assert_eq!(r.redirect_uri(), &configured);
        })
        .await
    }

    #[tokio::test]
    async fn oversized_requests_are_cut_off_and_the_wait_goes_on() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                let body = format!("state=s1&code={}", "a".repeat(MAX_BODY));
                let big_body = send(port, &post(port, "/", &body)).await;
                let big_head = send(
                    port,
                    &format!(
                        "GET /?x={} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n",
                        "a".repeat(MAX_HEAD * 2)
                    ),
                )
                .await;
                let real = send(port, &get(port, "/?code=c&state=s1")).await;
                (big_body, big_head, real)
            });
            assert_eq!(
                receiver
                    .receive(&State::new("s1".into()))
                    .await
                    .unwrap()
                    .secret(),
                "c"
            );
            let (big_body, big_head, real) = browser.await.unwrap();
            assert!(big_body.starts_with("HTTP/1.1 413"), "{big_body:.80}");
            assert!(!big_head.starts_with("HTTP/1.1 200"), "{big_head:.80}");
            assert!(real.starts_with("HTTP/1.1 200"));
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_request_is_cut_off_and_the_wait_goes_on() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                // Half a request head, then nothing: the header timeout closes it (the paused
                // clock jumps to the timeout as soon as everything is idle).
                let mut slow = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                    .await
                    .unwrap();
                slow.write_all(
                    format!("GET /?code=c&state=s1 HTTP/1.1\r\nHost: localhost:{port}\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
                let mut out = Vec::new();
                let _ = slow.read_to_end(&mut out).await;
                let real = send(port, &get(port, "/?code=real&state=s1")).await;
                (String::from_utf8_lossy(&out).into_owned(), real)
            });
            assert_eq!(
                receiver
                    .receive(&State::new("s1".into()))
                    .await
                    .unwrap()
                    .secret(),
                "real"
            );
            let (slow, real) = browser.await.unwrap();
            assert!(!slow.contains("200 OK"), "{slow}");
            assert!(real.starts_with("HTTP/1.1 200"));
        })
        .await
    }

    /// Hundreds of slowloris connections (each connects, sends the start of a request head,
    /// then one byte every 3 s of tokio time) are open and keep coming; the real redirect, sent
    /// in the middle of them, still gets its page within 20 s of connecting.
    #[tokio::test(start_paused = true)]
    async fn hundreds_of_slow_connections_do_not_starve_the_real_redirect() {
        const WAVE: usize = 300;
        bounded(async {
            let (receiver, port) = receiver().await;
            let (halfway, browser_go) = tokio::sync::oneshot::channel();
            let attack = tokio::spawn(async move {
                let mut slow = JoinSet::new();
                let mut halfway = Some(halfway);
                // Two waves: the second comes while the first is still open.
                for wave in 0..2 {
                    for i in 0..WAVE {
                        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                            .await
                            .unwrap();
                        slow.spawn(async move {
                            let _ = s.write_all(b"GET /?state=").await;
                            for _ in 0..100 {
                                tokio::time::sleep(Duration::from_secs(3)).await;
                                if s.write_all(b"a").await.is_err() {
                                    return;
                                }
                            }
                        });
                        if wave == 1 && i == WAVE / 2 {
                            // The real redirect goes now, in the middle of the second wave.
                            let _ = halfway.take().map(|h| h.send(()));
                        }
                    }
                    if wave == 0 {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
                std::future::pending::<()>().await;
            });
            let browser = tokio::spawn(async move {
                browser_go.await.unwrap();
                let sent = tokio::time::Instant::now();
                let page = send(port, &get(port, "/?code=real&state=s1")).await;
                (page, sent.elapsed())
            });
            let code = receiver.receive(&State::new("s1".into())).await.unwrap();
            assert_eq!(code.secret(), "real");
            let (page, took) = browser.await.unwrap();
            attack.abort();
            assert!(page.starts_with("HTTP/1.1 200"), "{page:.80}");
            assert!(
                took < Duration::from_secs(20),
                "the real redirect took {took:?}"
            );
        })
        .await
    }

    /// Forged redirects (wrong `state`, forged errors, foreign hosts) by the thousand neither
    /// end the wait nor keep the real one out.
    #[tokio::test(start_paused = true)]
    async fn five_thousand_forged_redirects_neither_end_nor_block_the_wait() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                let mut refused = 0;
                for round in 0..100 {
                    let mut forged = JoinSet::new();
                    for i in 0..50 {
                        let raw = match i % 3 {
                            0 => get(port, &format!("/?code=evil{round}-{i}&state=guess{i}")),
                            1 => get(port, "/?error=access_denied&error_description=locked"),
                            _ => format!("GET /?code=c&state=s1 HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"),
                        };
                        forged.spawn(async move { send(port, &raw).await });
                    }
                    while let Some(answer) = forged.join_next().await {
                        let answer = answer.unwrap();
                        assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.80}");
                        refused += 1;
                    }
                }
                (refused, send(port, &get(port, "/?code=real&state=s1")).await)
            });
            let code = receiver.receive(&State::new("s1".into())).await.unwrap();
            assert_eq!(code.secret(), "real");
            let (refused, real) = browser.await.unwrap();
            assert_eq!(refused, 5000);
            assert!(real.starts_with("HTTP/1.1 200"), "{real:.80}");
        })
        .await
    }

    /// A form body that stops coming is cut off by the body timeout, not the connection's.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_form_body_is_cut_off_and_the_wait_goes_on() {
        bounded(async {
            let (receiver, port) = receiver().await;
            let browser = tokio::spawn(async move {
                let mut slow = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                    .await
                    .unwrap();
                let started = tokio::time::Instant::now();
                slow.write_all(
                    format!("POST / HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nstate=s1&co")
                        .as_bytes(),
                )
                .await
                .unwrap();
                let mut out = Vec::new();
                let _ = slow.read_to_end(&mut out).await;
                let cut_after = started.elapsed();
                let real = send(port, &get(port, "/?code=real&state=s1")).await;
                (String::from_utf8_lossy(&out).into_owned(), cut_after, real)
            });
            assert_eq!(
                receiver.receive(&State::new("s1".into())).await.unwrap().secret(),
                "real"
            );
            let (slow, cut_after, real) = browser.await.unwrap();
            assert!(slow.starts_with("HTTP/1.1 408"), "{slow:.80}");
            assert_eq!(cut_after, BODY_READ_TIMEOUT);
            assert!(real.starts_with("HTTP/1.1 200"));
        })
        .await
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
