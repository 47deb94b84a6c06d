use crate::{authorization_code::AuthorizationCode, Error, ErrorKind, Result};
use std::{collections::HashMap, net::Ipv4Addr, ops::RangeInclusive, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinSet,
};
use url::Url;

/// Longest time one browser connection may take to send its request.
const CONNECTION_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head and body the receiver reads.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;
/// Connections handled at once; more wait for the listener's backlog.
const MAX_CONNECTIONS: usize = 16;

/// The browser flow's redirect target: an HTTP listener on 127.0.0.1 that receives the
/// authorization response (`response_mode=form_post`, or a query string), checks `state`, and
/// answers the browser with a short page.
#[derive(Debug)]
pub(crate) struct LoopbackReceiver {
    listener: TcpListener,
    redirect_uri: Url,
}

impl LoopbackReceiver {
    /// Binds 127.0.0.1 on the port of `configured` (when it has one) or the first free port in
    /// `range`, and advertises `http://localhost:{port}` (Entra refuses `127.0.0.1` in
    /// registrations) or the configured URI.
    pub(crate) async fn bind(configured: Option<&Url>, range: RangeInclusive<u16>) -> Result<Self> {
        if let Some(uri) = configured {
            if let Some(port) = uri.port() {
                let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.map_err(|e| {
                    Error::new(
                        ErrorKind::LoopbackUnavailable,
                        format!("port {port} of the configured redirect uri {uri} is not free on 127.0.0.1; free it or configure another port (and register it)"),
                    )
                    .with_source(e)
                })?;
                return Ok(Self {
                    listener,
                    redirect_uri: uri.clone(),
                });
            }
        }
        let (start, end) = (*range.start(), *range.end());
        for port in range {
            if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                let mut redirect_uri = configured
                    .cloned()
                    .unwrap_or_else(|| Url::parse("http://localhost").expect("static url"));
                redirect_uri
                    .set_port(Some(port))
                    .expect("http urls take a port");
                return Ok(Self {
                    listener,
                    redirect_uri,
                });
            }
        }
        Err(Error::new(
            ErrorKind::LoopbackUnavailable,
            format!("no free port in {start}-{end} on 127.0.0.1 for the sign-in redirect; free one, or set redirect_uri to http://localhost:<free port>"),
        ))
    }

    /// The redirect URI to send to the authority.
    pub(crate) fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits (without a limit of its own: the caller applies the timeout) for the browser to
    /// deliver the authorization response at the redirect path, and returns its code.
    pub(crate) async fn receive(&self, expected_state: &str) -> Result<AuthorizationCode> {
        let (tx, mut rx) = mpsc::channel::<(TcpStream, HttpRequest)>(MAX_CONNECTIONS);
        let mut readers = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept(), if readers.len() < MAX_CONNECTIONS => {
                    let Ok((stream, _)) = accepted else { continue };
                    let tx = tx.clone();
                    readers.spawn(async move {
                        let mut stream = stream;
                        let read = tokio::time::timeout(CONNECTION_READ_TIMEOUT, read_request(&mut stream)).await;
                        if let Ok(Some(request)) = read {
                            let _ = tx.send((stream, request)).await;
                        }
                    });
                }
                Some(_) = readers.join_next(), if !readers.is_empty() => {}
                Some((mut stream, request)) = rx.recv() => {
                    if request.path != self.redirect_uri.path() {
                        respond(&mut stream, "404 Not Found", "Not found.").await;
                        continue;
                    }
                    let params = request.params();
                    if !params.contains_key("code") && !params.contains_key("error") {
                        respond(&mut stream, "400 Bad Request", "This address only receives sign-in responses.").await;
                        continue;
                    }
                    let outcome = check_response(&params, expected_state, self.redirect_uri.as_str());
                    match &outcome {
                        Ok(_) => respond(&mut stream, "200 OK", "Authentication complete. You can close this window and return to the application.").await,
                        Err(e) => respond(&mut stream, "200 OK", &format!("Sign-in failed: {}. You can close this window and return to the application.", e.kind())).await,
                    }
                    return outcome;
                }
            }
        }
    }
}

/// Turns the redirect's parameters into the code, or a typed error.
fn check_response(
    params: &HashMap<String, String>,
    expected_state: &str,
    redirect_uri: &str,
) -> Result<AuthorizationCode> {
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").cloned().unwrap_or_default();
        return Err(crate::token_endpoint::authority_error(
            error,
            &description,
            params.get("error_subcode").map(String::as_str),
            Vec::new(),
            None,
            redirect_uri,
        ));
    }
    match params.get("state") {
        None => return Err(Error::protocol("the sign-in response has no state; it was not started by this application, sign in again")),
        Some(state) if state != expected_state => {
            return Err(Error::protocol("the sign-in response's state does not match the request; it was not started by this application, sign in again"))
        }
        Some(_) => {}
    }
    match params.get("code") {
        Some(code) if !code.is_empty() => Ok(AuthorizationCode::new(code.clone())),
        _ => Err(Error::protocol(
            "the sign-in response has neither a code nor an error",
        )),
    }
}

struct HttpRequest {
    path: String,
    query: Option<String>,
    form: Option<Vec<u8>>,
}

impl HttpRequest {
    fn params(&self) -> HashMap<String, String> {
        let mut params = HashMap::new();
        if let Some(q) = &self.query {
            params.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        if let Some(body) = &self.form {
            params.extend(url::form_urlencoded::parse(body).into_owned());
        }
        params
    }
}

/// Reads one HTTP/1.1 request (head, and a form body when one is declared); `None` when it is
/// malformed or too large.
async fn read_request(stream: &mut TcpStream) -> Option<HttpRequest> {
    let mut buf = Vec::with_capacity(2048);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?;
    let mut content_length = 0usize;
    let mut form = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("content-type") {
            form = value
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded");
        }
    }
    if content_length > MAX_BODY {
        return None;
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < content_length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(content_length);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    Some(HttpRequest {
        path,
        query,
        form: (method == "POST" && form).then_some(body),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in</title></head><body><p>{}</p></body></html>",
        message.replace('&', "&amp;").replace('<', "&lt;")
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(port: u16, raw: String) -> String {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    async fn free_range() -> RangeInclusive<u16> {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        port..=port
    }

    #[tokio::test]
    async fn accepts_form_post_and_advertises_localhost() {
        let receiver = LoopbackReceiver::bind(None, free_range().await)
            .await
            .unwrap();
        let port = receiver.redirect_uri().port().unwrap();
        assert_eq!(receiver.redirect_uri().host_str(), Some("localhost"));
        let browser = tokio::spawn(async move {
            // A stray request first: ignored with a 404, the receiver keeps waiting.
            let r = send(port, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n".into()).await;
            assert!(r.starts_with("HTTP/1.1 404"));
            let body = "code=abc&state=s1";
            send(port, format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len())).await
        });
        let code = receiver.receive("s1").await.unwrap();
        assert_eq!(code.secret(), "abc");
        assert!(browser.await.unwrap().contains("Authentication complete"));
    }

    #[tokio::test]
    async fn accepts_query_and_rejects_state_mismatch() {
        let receiver = LoopbackReceiver::bind(None, free_range().await)
            .await
            .unwrap();
        let port = receiver.redirect_uri().port().unwrap();
        let browser = tokio::spawn(async move {
            send(
                port,
                "GET /?code=abc&state=other HTTP/1.1\r\nHost: x\r\n\r\n".into(),
            )
            .await
        });
        let e = receiver.receive("s1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("state"));
        assert!(browser.await.unwrap().contains("Sign-in failed"));
    }

    #[tokio::test]
    async fn missing_state_is_refused() {
        let params = HashMap::from([("code".to_owned(), "c".to_owned())]);
        let e = check_response(&params, "s", "http://localhost:1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn error_redirects_become_typed_errors() {
        let cancel = HashMap::from([
            ("error".to_owned(), "access_denied".to_owned()),
            ("error_subcode".to_owned(), "cancel".to_owned()),
            ("state".to_owned(), "s".to_owned()),
        ]);
        assert_eq!(
            check_response(&cancel, "s", "http://localhost:1")
                .unwrap_err()
                .kind(),
            ErrorKind::UserCancelled
        );
        let redirect = HashMap::from([
            ("error".to_owned(), "invalid_request".to_owned()),
            (
                "error_description".to_owned(),
                "AADSTS50011: The redirect URI does not match".to_owned(),
            ),
        ]);
        let e = check_response(&redirect, "s", "http://localhost:8400").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered);
        assert_eq!(e.redirect_uri(), Some("http://localhost:8400"));
        assert_eq!(e.error_codes(), ["AADSTS50011"]);
    }

    #[tokio::test]
    async fn occupied_range_is_loopback_unavailable_and_configured_port_is_used() {
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
    }
}
