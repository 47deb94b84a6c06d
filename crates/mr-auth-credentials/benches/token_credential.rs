//! `MixedRealityTokenCredential`: a cached `get_token` (one thread, and per-thread cost with
//! several threads at once), and an uncached exchange through the STS client compared with a
//! bare `reqwest` GET to the same loopback server in the same run, over plain HTTP (mockito)
//! and over TLS (the project's emulator).
//!
//! ```text
//! cargo bench -p mr-auth-credentials --bench token_credential
//! ```
//!
//! The TLS group measures the **client's CPU time** per call (the bench thread's CPU time from
//! `/proc/thread-self/schedstat`; the emulator runs on its own runtime thread, so its work is
//! not counted); elsewhere criterion's wall time. The same two TLS variants are measured again
//! in paired rounds (`uncached_exchange_tls_paired`, see `paired_rounds`): the ratio `cargo
//! xtask bench` judges, steady where two criterion figures taken a minute apart drift with a
//! shared machine.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use azure_core::credentials::TokenCredential;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use mr_auth_core::{
    Clock as _, CorrelationVector, MixedRealityStsClient, MixedRealityStsClientOptions,
    StsEndpoint, StsRetryOptions, SystemClock,
};
use mr_auth_credentials::{AccountKey, AccountKeyCredential, MixedRealityTokenCredential};
use mr_auth_test_support::bench::{
    cpu_of, on_threads, paired_rounds, ready, report_paired, selected_by_command_line,
};
use std::{hint::black_box, sync::Arc, time::Duration};

const ACCOUNT_ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "bench-key";

/// A token of realistic size (a real STS token is about 1.5 KB) that expires in a day.
fn token_body() -> String {
    let exp = SystemClock.now().unix_timestamp() + 24 * 3600;
    let payload = serde_json::json!({ "exp": exp, "padding": "x".repeat(1000) }).to_string();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
    serde_json::json!({ "AccessToken": format!("eyJhbGciOiJSUzI1NiJ9.{payload}.{}", "s".repeat(342)) })
        .to_string()
}

fn client(options: MixedRealityStsClientOptions) -> Arc<MixedRealityStsClient> {
    let account_id = ACCOUNT_ID.parse().unwrap();
    MixedRealityStsClient::new(
        account_id,
        "mixedreality.azure.com".parse().unwrap(),
        AccountKeyCredential::new(account_id, AccountKey::new(KEY).unwrap()),
        Some(options),
    )
    .unwrap()
}

/// A rustls client configuration like the STS client's default one (ring, only `ca_pem`
/// trusted), for the bare reqwest baseline.
fn bare_tls_client(ca_pem: &str) -> reqwest::Client {
    use rustls::pki_types::{pem::PemObject as _, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

fn cached(c: &mut Criterion, credential: &Arc<MixedRealityTokenCredential>) {
    let mut group = c.benchmark_group("cached");
    group.bench_function("TokenCredential::get_token", |b| {
        b.iter(|| black_box(ready(credential.get_token(&[], None)).unwrap()))
    });
    group.bench_function("get_mixed_reality_token", |b| {
        b.iter(|| black_box(ready(credential.get_mixed_reality_token()).unwrap()))
    });
    group.bench_function("get_shared_token", |b| {
        b.iter(|| black_box(ready(credential.get_shared_token(None)).unwrap()))
    });
    group.finish();

    // What a hit cannot avoid, measured in the same run: reading the clock, and the copy of
    // the token that an owned AccessToken needs.
    let token = ready(credential.get_shared_token(None)).unwrap();
    let mut group = c.benchmark_group("floor");
    group.bench_function("SystemClock::coarse_unix_nanos", |b| {
        b.iter(|| black_box(SystemClock.coarse_unix_nanos()))
    });
    group.bench_function("SystemClock::unix_nanos", |b| {
        b.iter(|| black_box(SystemClock.unix_nanos()))
    });
    group.bench_function("AccessToken::clone", |b| {
        b.iter(|| black_box(azure_core::credentials::AccessToken::clone(&token)))
    });
    group.finish();

    // Per-call time on each thread while `threads` threads call at once: flat as threads are
    // added means the total rate grows linearly (up to the machine's cores).
    let mut group = c.benchmark_group("cached_parallel");
    for threads in [1usize, 2] {
        group.bench_function(
            format!("TokenCredential::get_token/{threads}_threads"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, credential, |credential| {
                        ready(credential.get_token(&[], None)).unwrap()
                    })
                })
            },
        );
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    // One thread for the client: with a multi-thread runtime, `block_on` polls the measured
    // future on the bench thread while hyper's connection task runs on a worker, and the
    // cross-thread wake-ups, not the code under test, dominate the comparison.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Plain HTTP against mockito (its own thread).
    let mut server = mockito::Server::new();
    server
        .mock("GET", mockito::Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(token_body())
        .create();
    let client_http = runtime.block_on(async {
        client(MixedRealityStsClientOptions {
            custom_endpoint: Some(StsEndpoint::new(&server.url()).unwrap()),
            retry: StsRetryOptions::none(),
            ..MixedRealityStsClientOptions::default()
        })
    });
    let credential = MixedRealityTokenCredential::new(client_http.clone(), None);
    runtime.block_on(credential.get_token(&[], None)).unwrap();
    cached(c, &credential);

    let account_id = ACCOUNT_ID.parse().unwrap();
    let url = client_http.endpoint().token_url(&account_id).to_string();
    let bare = runtime.block_on(async { reqwest::Client::new() });
    let mut group = c.benchmark_group("uncached_exchange_http");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("bare_reqwest_get", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = bare
                .get(&url)
                .header("authorization", "Bearer x")
                .send()
                .await
                .unwrap();
            black_box(response.bytes().await.unwrap())
        })
    });
    group.bench_function("MixedRealityStsClient::get_token", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(client_http.get_token().await.unwrap()) })
    });
    group.bench_function("MixedRealityTokenCredential_cold", |b| {
        b.to_async(&runtime).iter(|| async {
            credential.clear_cache();
            black_box(credential.get_token(&[], None).await.unwrap())
        })
    });
    group.finish();

    // TLS against the emulator, on its own runtime thread; client CPU time per call.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emulator = server_runtime.block_on(async {
        mr_auth_emulator::Emulator::builder()
            .account(uuid::Uuid::parse_str(ACCOUNT_ID).unwrap(), KEY)
            .start()
            .await
            .unwrap()
    });
    let ca_pem = emulator.ca_pem().unwrap().to_owned();
    let client_tls = runtime.block_on(async {
        client(MixedRealityStsClientOptions {
            custom_endpoint: Some(StsEndpoint::from_url(emulator.endpoint().clone()).unwrap()),
            extra_root_certificates_pem: vec![ca_pem.clone()],
            trust_system_roots: false,
            retry: StsRetryOptions::none(),
            ..MixedRealityStsClientOptions::default()
        })
    });
    let tls_url = emulator.token_url(uuid::Uuid::parse_str(ACCOUNT_ID).unwrap());
    let bare_tls = runtime.block_on(async { bare_tls_client(&ca_pem) });
    let authorization = format!("Bearer {ACCOUNT_ID}:{KEY}");
    let bare_get = || async {
        let response = bare_tls
            .get(tls_url.clone())
            .header("authorization", authorization.as_str())
            .header("accept", "application/json")
            .header("x-mrc-cv", CorrelationVector::new().as_str())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap()
    };
    let exchange = || async { client_tls.get_token().await.unwrap() };
    let [bare_name, exchange_name] = TLS_VARIANTS;
    let mut group = c.benchmark_group("uncached_exchange_tls_client_cpu");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(bare_name, |b| {
        b.iter_custom(|iters| cpu_of(&runtime, iters, bare_get));
    });
    group.bench_function(exchange_name, |b| {
        b.iter_custom(|iters| cpu_of(&runtime, iters, exchange));
    });
    group.finish();
    if selected_by_command_line(TLS_PAIRED) {
        let mut v_bare = |calls| cpu_of(&runtime, calls, bare_get);
        let mut v_exchange = |calls| cpu_of(&runtime, calls, exchange);
        let figures = paired_rounds(
            PAIRED_ROUNDS,
            PAIRED_CALLS,
            &mut [(bare_name, &mut v_bare), (exchange_name, &mut v_exchange)],
        );
        print!(
            "{}",
            report_paired(
                TLS_PAIRED,
                "client CPU",
                PAIRED_ROUNDS,
                PAIRED_CALLS,
                &figures,
            )
        );
    }
    server_runtime.block_on(emulator.shutdown());
}

/// The uncached TLS exchange's variants (the first is the reference), as criterion and the
/// paired rounds name them.
const TLS_VARIANTS: [&str; 2] = ["bare_reqwest_get", "MixedRealityStsClient::get_token"];

/// The paired measurement of the uncached TLS exchange (not a criterion function: its figures
/// are ratios per round), and its rounds and calls per variant and round.
const TLS_PAIRED: &str = "uncached_exchange_tls_paired";
const PAIRED_ROUNDS: usize = 40;
const PAIRED_CALLS: u64 = 250;

criterion_group!(token_credential, benches);
criterion_main!(token_credential);
