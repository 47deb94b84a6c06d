//! `MixedRealityTokenCredential`: a cached `get_token`, and an uncached exchange through the STS
//! client compared with a bare `reqwest` GET to the same loopback mock in the same run.
//!
//! ```text
//! cargo bench -p mr-auth-credentials --bench token_credential
//! ```
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use azure_core::credentials::TokenCredential;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use mr_auth_core::{
    Clock as _, MixedRealityStsClient, MixedRealityStsClientOptions, StsEndpoint, StsRetryOptions,
};
use mr_auth_credentials::{AccountKey, AccountKeyCredential, MixedRealityTokenCredential};
use std::{hint::black_box, time::Duration};

const ACCOUNT_ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";

/// A token of realistic size (a real STS token is about 1.5 KB) that expires in a day.
fn token_body() -> String {
    let exp = mr_auth_core::SystemClock.now().unix_timestamp() + 24 * 3600;
    let payload = serde_json::json!({ "exp": exp, "padding": "x".repeat(1000) }).to_string();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
    serde_json::json!({ "AccessToken": format!("eyJhbGciOiJSUzI1NiJ9.{payload}.{}", "s".repeat(342)) })
        .to_string()
}

fn benches(c: &mut Criterion) {
    // One thread for everything: with a multi-thread runtime, `block_on` polls the measured
    // future on the bench thread while hyper's connection task runs on a worker, and the
    // cross-thread wake-ups, not the code under test, dominate the comparison.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut server = mockito::Server::new();
    server
        .mock("GET", mockito::Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(token_body())
        .create();
    let account_id = ACCOUNT_ID.parse().unwrap();
    let options = MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(&server.url()).unwrap()),
        retry: StsRetryOptions::none(),
        ..MixedRealityStsClientOptions::default()
    };
    let client = runtime.block_on(async {
        MixedRealityStsClient::new(
            account_id,
            "mixedreality.azure.com".parse().unwrap(),
            AccountKeyCredential::new(account_id, AccountKey::new("bench-key").unwrap()),
            Some(options),
        )
        .unwrap()
    });
    let credential = MixedRealityTokenCredential::new(client.clone(), None);
    runtime.block_on(credential.get_token(&[], None)).unwrap();

    let mut cached = c.benchmark_group("cached");
    cached.bench_function("TokenCredential::get_token", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(credential.get_token(&[], None).await.unwrap()) })
    });
    cached.bench_function("get_mixed_reality_token", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(credential.get_mixed_reality_token().await.unwrap()) })
    });
    cached.finish();

    let url = client.endpoint().token_url(&account_id).to_string();
    let bare = reqwest::Client::new();
    let mut uncached = c.benchmark_group("uncached_exchange");
    uncached.measurement_time(Duration::from_secs(10));
    uncached.bench_function("bare_reqwest_get", |b| {
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
    uncached.bench_function("MixedRealityStsClient::get_token", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(client.get_token().await.unwrap()) })
    });
    uncached.bench_function("MixedRealityTokenCredential_cold", |b| {
        b.to_async(&runtime).iter(|| async {
            credential.clear_cache();
            black_box(credential.get_token(&[], None).await.unwrap())
        })
    });
    uncached.finish();
}

criterion_group!(token_credential, benches);
criterion_main!(token_credential);
