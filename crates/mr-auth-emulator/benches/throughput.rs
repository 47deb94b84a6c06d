//! Tokens issued per second over keep-alive TLS on loopback.
//!
//! The load generator keeps `CONNECTIONS` HTTP/1.1 connections open (one TLS handshake each,
//! trusting only the emulator's CA) and sends token requests back to back on each, all
//! connections at once. Client and server run in this process on two 2-worker Tokio
//! runtimes that share the machine's cores, so on a 2-core machine the figure includes the
//! client's cost too. A fixed 5 s run afterwards prints the CPU time of each side, which on a
//! shared machine says more than the wall-clock rate.
//!
//! ```text
//! cargo bench -p mr-auth-emulator --bench throughput
//! ```
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::{BodyExt, Empty};
use hyper::{client::conn::http1::SendRequest, Request};
use hyper_util::rt::TokioIo;
use mr_auth_emulator::{Emulator, RunningEmulator};
use rustls::{
    crypto::aws_lc_rs,
    pki_types::{pem::PemObject, CertificateDer, ServerName},
    ClientConfig, RootCertStore,
};
use tokio::{net::TcpStream, sync::Mutex, time::Instant};
use tokio_rustls::TlsConnector;

const CONNECTIONS: usize = 32;
const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "bench-account-key";

type Sender = SendRequest<Empty<Bytes>>;
type Senders = Arc<Vec<Mutex<Sender>>>;

async fn connect(emulator: &RunningEmulator, connector: &TlsConnector) -> Sender {
    let tcp = TcpStream::connect(emulator.local_addr()).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

async fn one_token(sender: &mut Sender, authority: &str, path: &str) {
    sender.ready().await.unwrap();
    let request = Request::get(path)
        .header("host", authority)
        .header("authorization", format!("Bearer {ACCOUNT}:{KEY}"))
        .header("x-mrc-cv", "DQzdx06xR5GYcLGnQTzs3w")
        .header("accept", "application/json")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(br#"{"AccessToken":""#) || body.starts_with(br#"{"keys":"#));
}

/// Runs `CONNECTIONS` request loops at once; each stops after `share(index)` requests or at
/// `deadline`. Returns the number of tokens received.
async fn load(
    senders: &Senders,
    authority: &str,
    path: &str,
    iters: Option<u64>,
    deadline: Option<Instant>,
) -> u64 {
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for index in 0..CONNECTIONS {
        let share = iters.map(|iters| {
            iters / CONNECTIONS as u64 + u64::from((index as u64) < iters % CONNECTIONS as u64)
        });
        let senders = senders.clone();
        let authority = authority.to_owned();
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut sender = senders[index].lock().await;
            let mut done = 0u64;
            while share.is_none_or(|share| done < share)
                && deadline.is_none_or(|deadline| Instant::now() < deadline)
            {
                one_token(&mut sender, &authority, &path).await;
                done += 1;
            }
            done
        }));
    }
    let mut tokens = 0;
    for task in tasks {
        tokens += task.await.unwrap();
    }
    tokens
}

fn throughput(c: &mut Criterion) {
    // The emulator and the load generator on separate runtimes (2 workers each, sharing the
    // machine's cores), so their CPU time can be told apart by thread name.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("emu-server")
        .enable_all()
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-gen")
        .enable_all()
        .build()
        .unwrap();
    let emulator = server_runtime.block_on(async {
        Emulator::builder()
            .account(ACCOUNT.parse().unwrap(), KEY)
            .start()
            .await
            .unwrap()
    });
    let senders: Senders = runtime.block_on(async {
        let mut roots = RootCertStore::empty();
        let ca = CertificateDer::from_pem_slice(emulator.ca_pem().unwrap().as_bytes()).unwrap();
        roots.add(ca).unwrap();
        let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = TlsConnector::from(Arc::new(config));
        let mut senders = Vec::new();
        for _ in 0..CONNECTIONS {
            senders.push(Mutex::new(connect(&emulator, &connector).await));
        }
        Arc::new(senders)
    });
    let authority = format!("localhost:{}", emulator.local_addr().port());
    let path = format!("/Accounts/{ACCOUNT}/token?api-version=2019-02-28-preview");

    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(format!("tokens_over_tls_{CONNECTIONS}_connections"), |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let senders = senders.clone();
            let authority = authority.clone();
            let path = path.clone();
            async move {
                let started = Instant::now();
                load(&senders, &authority, &path, Some(iters), None).await;
                started.elapsed()
            }
        });
    });
    group.finish();

    // The same load for a fixed time, with each side's CPU time; then the JWKS route (no
    // signing, no checks) for the cost of HTTP and TLS alone.
    for (label, path) in [
        ("tokens", path.as_str()),
        ("jwks", "/.well-known/jwks.json"),
    ] {
        let (done, wall, (server_cpu, client_cpu)) = runtime.block_on(async {
            let before = cpu_seconds_by_thread();
            let started = Instant::now();
            let deadline = started + Duration::from_secs(5);
            let done = load(&senders, &authority, path, None, Some(deadline)).await;
            let after = cpu_seconds_by_thread();
            (
                done,
                started.elapsed(),
                (after.0 - before.0, after.1 - before.1),
            )
        });
        let per_server_cpu_second = done as f64 / server_cpu.max(0.01);
        eprintln!(
            "fixed 5 s run, {label}: {done} responses, {:.0}/s wall; CPU: emulator {server_cpu:.2} s \
             ({:.1} us each), load generator {client_cpu:.2} s ({:.1} us each); {:.0}/s projected \
             for the emulator alone on 2 idle cores",
            done as f64 / wall.as_secs_f64(),
            server_cpu * 1e6 / done as f64,
            client_cpu * 1e6 / done as f64,
            2.0 * per_server_cpu_second
        );
    }

    let stats = emulator.stats();
    assert_eq!(stats.tokens_issued, stats.token_requests);
    server_runtime.block_on(emulator.shutdown());
}

/// User plus system CPU seconds of this process's `emu-server` and `load-gen` threads, from
/// `/proc/self/task/*/stat` (Linux; zeros elsewhere).
fn cpu_seconds_by_thread() -> (f64, f64) {
    let mut totals = (0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return totals;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        // After the name: state, ppid, ...; utime and stime are the 12th and 13th fields.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        let seconds = ticks / 100.0; // USER_HZ is 100 on Linux
        if name.starts_with("emu-server") {
            totals.0 += seconds;
        } else if name.starts_with("load-gen") {
            totals.1 += seconds;
        }
    }
    totals
}

/// The cost of one ES256 signature with aws-lc-rs, the floor of the emulator's per-token
/// work, for comparison with the end-to-end figure.
fn es256_sign(c: &mut Criterion) {
    use ::aws_lc_rs::{
        rand::SystemRandom,
        signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
    };
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let rng = SystemRandom::new();
    let message = [b'a'; 600];
    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("es256_sign", |b| {
        b.iter(|| key.sign(&rng, &message).unwrap());
    });
    group.finish();
}

criterion_group!(benches, throughput, es256_sign);
criterion_main!(benches);
