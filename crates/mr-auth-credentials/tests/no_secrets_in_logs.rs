//! No secret reaches the logs at any level during a full account-key exchange.
//!
//! Alone in its test binary: `tracing` caches per-callsite interest process-wide, so a test
//! running concurrently without a subscriber could hide events from this capture.

use mockito::{Matcher, Server};
use mr_auth_core::{MixedRealityStsClientOptions, StsEndpoint};
use mr_auth_credentials::{sts_client_with_account_key, AccountKey};
use std::{
    io::Write,
    sync::{Arc, Mutex},
};

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "my_account_key_4b1d";
// exp 2147483647; the signature segment is what a real token's would be: opaque.
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJleHAiOjIxNDc0ODM2NDd9.c2VjcmV0LXNpZ25hdHVyZS14eXo";

async fn sts() -> (mockito::ServerGuard, mockito::Mock) {
    let mut server = Server::new_async().await;
    let mock = server
        .mock("GET", format!("/Accounts/{ACCOUNT}/token").as_str())
        .match_query(Matcher::UrlEncoded(
            "api-version".into(),
            "2019-02-28-preview".into(),
        ))
        .match_header("authorization", format!("Bearer {ACCOUNT}:{KEY}").as_str())
        .with_header("ms-cv", "cT1Z1Q1eTki0YgIK2wMXNQ.0")
        .with_body(format!(r#"{{"AccessToken":"{TOKEN}"}}"#))
        .expect(1)
        .create_async()
        .await;
    (server, mock)
}

fn options(url: &str) -> Option<MixedRealityStsClientOptions> {
    Some(MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(url).unwrap()),
        ..MixedRealityStsClientOptions::default()
    })
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_appears_in_trace_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, mock) = sts().await;
    let client = sts_client_with_account_key(
        ACCOUNT.parse().unwrap(),
        "mixedreality.azure.com".parse().unwrap(),
        AccountKey::new(KEY).unwrap(),
        options(&server.url()),
    )
    .unwrap();
    tracing::info!(client = ?client, "built");
    let token = client.get_token().await.unwrap();
    tracing::info!(token = ?token, "got");
    mock.assert_async().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("the STS issued a token"),
        "the capture saw the exchange:\n{logs}"
    );
    assert!(logs.contains(ACCOUNT), "non-secret context is logged");
    for secret in [
        KEY,
        TOKEN,
        "c2VjcmV0LXNpZ25hdHVyZS14eXo",
        "eyJleHAiOjIxNDc0ODM2NDd9",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
