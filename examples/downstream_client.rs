//! A downstream Mixed Reality service client built on an `azure_core` pipeline: azure_core's
//! `BearerTokenAuthorizationPolicy` takes the caching `MixedRealityTokenCredential`, so every
//! request carries `Authorization: Bearer <Mixed Reality token>` and the STS sees one request
//! however many calls the client makes.
//!
//! Runs entirely on loopback: a mock STS (plain HTTP, allowed for loopback endpoints) and a mock
//! "Mixed Reality service" behind a TLS terminator with a certificate from a CA made for the run
//! (`mr-auth-test-support`'s `TlsFront`: the bearer policy refuses to send a token over plain
//! HTTP, as it should).
//!
//! ```text
//! cargo run --example downstream_client
//! ```

use mr_auth::{
    azure_core::http::{
        policies::auth::BearerTokenAuthorizationPolicy, ClientOptions, Context, Method, Pipeline,
        Request, Transport, Url,
    },
    AccountKey, Clock as _, MixedRealityStsClientOptions, MixedRealityTokenCredential, StsEndpoint,
    SystemClock, TokenCredential, DEFAULT_AAD_SCOPE,
};
use mr_auth_test_support::TlsFront;
use std::{process::ExitCode, sync::Arc};

const ACCOUNT_ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";

/// An unsigned stand-in for an STS token, valid for a day.
fn fake_mixed_reality_token() -> String {
    use base64::Engine as _;
    let exp = SystemClock.now().unix_timestamp() + 24 * 3600;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::json!({ "exp": exp }).to_string());
    format!("eyJhbGciOiJub25lIn0.{payload}.c2ln")
}

pub(crate) async fn run() -> Result<(), String> {
    let token = fake_mixed_reality_token();

    let mut sts = mockito::Server::new_async().await;
    let sts_calls = sts
        .mock("GET", format!("/Accounts/{ACCOUNT_ID}/token").as_str())
        .match_query(mockito::Matcher::Any)
        .match_header(
            "authorization",
            format!("Bearer {ACCOUNT_ID}:demo-key").as_str(),
        )
        .with_status(200)
        .with_body(serde_json::json!({ "AccessToken": token }).to_string())
        .expect(1)
        .create_async()
        .await;

    let mut service = mockito::Server::new_async().await;
    let service_calls = service
        .mock("GET", "/sessions")
        .match_header("authorization", format!("Bearer {token}").as_str())
        .with_status(200)
        .with_body(r#"{"sessions":[]}"#)
        .expect(5)
        .create_async()
        .await;
    let front = TlsFront::start(service.socket_address()).await;
    let (service_url, ca_pem) = (front.url(), front.ca_pem());

    // The credential a service client takes: account key -> STS -> cached Mixed Reality token.
    let credential: Arc<dyn TokenCredential> = MixedRealityTokenCredential::with_account_key(
        ACCOUNT_ID.parse().map_err(|e| format!("{e}"))?,
        "mixedreality.azure.com"
            .parse()
            .map_err(|e| format!("{e}"))?,
        AccountKey::new("demo-key").map_err(|e| e.to_string())?,
        Some(MixedRealityStsClientOptions {
            custom_endpoint: Some(StsEndpoint::new(&sts.url()).map_err(|e| e.to_string())?),
            ..MixedRealityStsClientOptions::default()
        }),
        None,
    )
    .map_err(|e| e.to_string())?;

    // The service client's pipeline: azure_core's bearer policy over that credential (the scope
    // is ignored by the Mixed Reality credential).
    let transport = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| e.to_string())?,
        )
        .build()
        .map_err(|e| e.to_string())?;
    let pipeline = Pipeline::new(
        Some("downstream-example"),
        Some("0.1.0"),
        ClientOptions {
            transport: Some(Transport::new(Arc::new(transport))),
            ..ClientOptions::default()
        },
        Vec::new(),
        vec![Arc::new(BearerTokenAuthorizationPolicy::new(
            credential,
            [DEFAULT_AAD_SCOPE],
        ))],
        None,
    );

    let url: Url = format!("{service_url}/sessions")
        .parse()
        .map_err(|e| format!("{e}"))?;
    for _ in 0..5 {
        let mut request = Request::new(url.clone(), Method::Get);
        let response = pipeline
            .send(&Context::new(), &mut request, None)
            .await
            .map_err(|e| e.to_string())?;
        println!("GET {url} -> {}", response.status());
    }
    sts_calls.assert_async().await;
    service_calls.assert_async().await;
    println!("5 service calls, 1 STS request");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
