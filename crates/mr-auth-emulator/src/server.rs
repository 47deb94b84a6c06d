//! The accept loop and the per-connection HTTP/1.1 serving, with the resource bounds of
//! [`Limits`].

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{watch, Semaphore},
    task::{JoinHandle, JoinSet},
    time::Instant,
};
use tokio_rustls::TlsAcceptor;

use crate::{sts_service::StsService, Limits};

/// Tracks whether a connection has a request in flight and when it was last busy.
#[derive(Debug)]
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    last_busy_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_busy_ms: AtomicU64::new(0),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn end(&self) {
        self.last_busy_ms
            .store(self.elapsed_ms(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = self.last_busy_ms.load(Ordering::Acquire);
        Some(Duration::from_millis(
            self.elapsed_ms().saturating_sub(last),
        ))
    }
}

/// Resolves when shutdown is asked for, or when the emulator handle is gone.
async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

/// Starts the accept loop on the current Tokio runtime.
pub(crate) fn spawn(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: Arc<StsService>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(accept_loop(
        listener,
        tls,
        service,
        Arc::new(limits),
        shutdown,
    ))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: Arc<StsService>,
    limits: Arc<Limits>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    'accept: loop {
        // Hold a permit before accepting, so excess connections wait in the backlog.
        let permit = tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break 'accept,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break 'accept,
            },
        };
        let stream = loop {
            tokio::select! {
                biased;
                () = shutdown_requested(&mut shutdown) => break 'accept,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => break stream,
                    // Out of file descriptors and the like: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        };
        let tls = tls.clone();
        let service = service.clone();
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            serve_connection(stream, tls, service, limits, shutdown).await;
            drop(permit);
        });
    }
    drop(listener);
    // Connections saw the same signal and are finishing their in-flight requests, each
    // bounded by `shutdown_grace`; wait a little longer than that, then cut what is left.
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(limits.shutdown_grace + Duration::from_millis(250), drain).await;
    connections.abort_all();
}

async fn serve_connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    service: Arc<StsService>,
    limits: Arc<Limits>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    service.record_connection();
    match tls {
        Some(acceptor) => {
            // A failed or slow handshake just ends the connection.
            if let Ok(Ok(tls_stream)) =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await
            {
                serve_http(TokioIo::new(tls_stream), service, &limits, shutdown).await;
            }
        }
        None => serve_http(TokioIo::new(stream), service, &limits, shutdown).await,
    }
}

async fn serve_http<I>(
    io: I,
    service: Arc<StsService>,
    limits: &Limits,
    mut shutdown: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let svc = {
        let activity = activity.clone();
        service_fn(move |request| {
            let service = service.clone();
            let activity = activity.clone();
            async move {
                activity.begin();
                let response = service.handle(request).await;
                activity.end();
                response
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let connection = builder.serve_connection(io, svc);
    tokio::pin!(connection);

    let lifetime = tokio::time::sleep(limits.connection_lifetime);
    tokio::pin!(lifetime);
    let check_every = (limits.idle_timeout / 4).max(Duration::from_millis(10));
    let mut idle_check = tokio::time::interval(check_every);
    idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            () = shutdown_requested(&mut shutdown) => break,
            () = &mut lifetime => break,
            _ = idle_check.tick() => {
                if activity.idle_for().is_some_and(|idle| idle >= limits.idle_timeout) {
                    break;
                }
            }
        }
    }
    // Finish the request in flight, if any, then close; bounded.
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.shutdown_grace, connection).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn activity_tracks_idle_time() {
        mr_auth_test_support::bounded(async move {
            let activity = Activity::new();
            tokio::time::advance(Duration::from_secs(2)).await;
            assert_eq!(activity.idle_for(), Some(Duration::from_secs(2)));
            activity.begin();
            assert_eq!(activity.idle_for(), None);
            tokio::time::advance(Duration::from_secs(5)).await;
            activity.end();
            assert_eq!(activity.idle_for(), Some(Duration::ZERO));
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(activity.idle_for(), Some(Duration::from_secs(1)));
        })
        .await;
    }
}
