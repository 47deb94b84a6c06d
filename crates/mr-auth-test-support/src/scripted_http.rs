//! A scripted HTTP/1.1 server on 127.0.0.1 for the test fakes (mock authorities), on hyper:
//! each request goes to a handler that answers from its script.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{collections::HashMap, future::Future, net::Ipv4Addr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};

/// The largest request body the server reads.
const MAX_BODY: usize = 1024 * 1024;

/// One request, decoded.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query parameters.
    pub query: HashMap<String, String>,
    /// The form parameters of an `application/x-www-form-urlencoded` body.
    pub form: HashMap<String, String>,
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl HttpResponse {
    /// A response with this status, content type and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::new(status, "application/json", body.to_string())
    }

    /// A 200 HTML page.
    pub fn html(body: impl Into<String>) -> Self {
        Self::new(200, "text/html; charset=utf-8", body)
    }
}

/// Serves `handler` on 127.0.0.1 (an ephemeral port) until the returned handle is aborted.
/// Each connection is closed after one request.
pub async fn serve<H, F>(handler: H) -> (u16, JoinHandle<()>)
where
    H: Fn(HttpRequest) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    serve_with(false, handler).await
}

/// As [`serve`], but connections stay open for further requests (HTTP/1.1 keep-alive), as a
/// real service's do: for benchmarks that measure a client's cost per request rather than
/// per connection.
pub async fn serve_keep_alive<H, F>(handler: H) -> (u16, JoinHandle<()>)
where
    H: Fn(HttpRequest) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    serve_with(true, handler).await
}

async fn serve_with<H, F>(keep_alive: bool, handler: H) -> (u16, JoinHandle<()>)
where
    H: Fn(HttpRequest) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a loopback port is free");
    let port = listener.local_addr().expect("a bound address").port();
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            while connections.try_join_next().is_some() {}
            let handler = Arc::clone(&handler);
            connections.spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let handler = Arc::clone(&handler);
                    async move {
                        let response = match decode(request).await {
                            Some(request) => handler(request).await,
                            None => HttpResponse::new(400, "text/plain", "unreadable request"),
                        };
                        Ok::<_, std::convert::Infallible>(encode(response))
                    }
                });
                // One request is over well within 30 s. A kept-alive connection may serve a
                // whole benchmark run and sit idle between its groups: hyper's header read
                // timeout also ends an idle connection, which a client that reuses it sees as
                // a request cut off, so there it is the connection's whole bound.
                let bound = Duration::from_secs(if keep_alive { 600 } else { 30 });
                let mut builder = http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(if keep_alive {
                        bound
                    } else {
                        Duration::from_secs(10)
                    })
                    .keep_alive(keep_alive);
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let _ = tokio::time::timeout(bound, connection).await;
            });
        }
    });
    (port, task)
}

async fn decode(request: Request<Incoming>) -> Option<HttpRequest> {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .ok()?
        .to_bytes();
    Some(HttpRequest {
        method,
        path,
        query,
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
    })
}

fn encode(response: HttpResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            let mut broken = Response::new(Full::new(Bytes::from_static(b"bad scripted response")));
            *broken.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            broken
        })
}
