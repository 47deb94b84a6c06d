//! A loopback HTTP/1.1 server that misbehaves on purpose, for the clients' fault tests (the STS
//! client's, the broker's token endpoint's): the n-th connection gets the n-th [`Act`] of its
//! script (the last one repeats). It runs in the test's own runtime, so with tokio's clock
//! paused every wait (a stall, a drip, the client's timeouts) is virtual time and nothing
//! sleeps for real.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    time::Instant,
};

/// What the server does with one connection, after reading its request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Writes these bytes and closes.
    Reply(String),
    /// Writes these bytes (headers and part of a body) and then holds the connection open
    /// without writing more.
    ReplyThenStall(String),
    /// Writes `head` (status line and headers, the blank line included), then the bytes of
    /// `body` one at a time, `every` apart (in tokio time), then closes.
    Drip {
        /// The status line and headers, ending with the blank line.
        head: String,
        /// The body, sent one byte at a time.
        body: String,
        /// The wait before each byte.
        every: Duration,
    },
    /// Writes `head` (a chunked response's status line and headers) and then chunks of
    /// filler without end, as fast as the client reads them.
    Endless {
        /// The status line and headers (with `transfer-encoding: chunked`), ending with the
        /// blank line.
        head: String,
    },
    /// Holds the connection open without answering.
    Silent,
    /// Closes without answering.
    Close,
    /// Resets the connection (RST).
    Reset,
}

/// One request the server read: when (after the server started), its head and its body.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// When it arrived, in tokio time since the server started.
    pub at: Duration,
    /// The request line and headers.
    pub head: String,
    /// The body (as `Content-Length` says).
    pub body: String,
}

impl Arrival {
    /// A header's value (the first with that name, any case), or an empty string.
    pub fn header(&self, name: &str) -> String {
        self.head
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    }
}

/// The server: its base URL (`http://127.0.0.1:PORT`) and what arrived.
#[derive(Debug)]
pub struct FaultServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port.
    pub port: u16,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    task: tokio::task::JoinHandle<()>,
}

/// The most connections one server serves: every test needs far fewer.
const MAX_CONNECTIONS: usize = 256;

impl FaultServer {
    /// Starts serving `script` on an ephemeral loopback port.
    pub async fn start(script: Vec<Act>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free");
        let port = listener.local_addr().expect("a bound address").port();
        let started = Instant::now();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let log = arrivals.clone();
        let mut script: VecDeque<Act> = script.into();
        let task = tokio::spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let act = if script.len() > 1 {
                    script.pop_front().expect("not empty")
                } else {
                    script.front().cloned().unwrap_or(Act::Close)
                };
                tokio::spawn(serve(socket, act, started, log.clone()));
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            arrivals,
            task,
        }
    }

    /// Every request read so far, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().expect("not poisoned").clone()
    }

    /// When each request arrived.
    pub fn request_times(&self) -> Vec<Duration> {
        self.arrivals().iter().map(|a| a.at).collect()
    }

    /// The header `name` of each request, in order (empty where one had none).
    pub fn header_of_each(&self, name: &str) -> Vec<String> {
        self.arrivals().iter().map(|a| a.header(name)).collect()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP/1.1 response with `Content-Length`, these headers and this body.
pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut text = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text
}

/// Reads one request (head, and the body `Content-Length` announces, up to 1 MiB); `None`
/// when the connection closed first.
pub async fn read_request(socket: &mut TcpStream) -> Option<(String, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = Arrival {
        at: Duration::ZERO,
        head: head.clone(),
        body: String::new(),
    }
    .header("content-length")
    .parse::<usize>()
    .unwrap_or(0)
    .min(1024 * 1024);
    while buffer.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let end = buffer.len().min(head_end + length);
    let body = String::from_utf8_lossy(&buffer[head_end..end]).into_owned();
    Some((head, body))
}

async fn serve(mut socket: TcpStream, act: Act, started: Instant, log: Arc<Mutex<Vec<Arrival>>>) {
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    log.lock().expect("not poisoned").push(Arrival {
        at: started.elapsed(),
        head,
        body,
    });
    match act {
        Act::Reply(bytes) => {
            let _ = socket.write_all(bytes.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
        Act::ReplyThenStall(bytes) => {
            let _ = socket.write_all(bytes.as_bytes()).await;
            std::future::pending::<()>().await;
        }
        Act::Drip { head, body, every } => {
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for byte in body.bytes() {
                tokio::time::sleep(every).await;
                if socket.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
            let _ = socket.shutdown().await;
        }
        Act::Endless { head } => {
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
            // Bounded: 64 Ki chunks of 16 KiB are 1 GiB, far past any client's limit.
            for _ in 0..65_536 {
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        Act::Silent => std::future::pending::<()>().await,
        Act::Close => drop(socket),
        Act::Reset => {
            let _ = socket.set_zero_linger();
            drop(socket);
        }
    }
}
