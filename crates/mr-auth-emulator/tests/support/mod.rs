//! Shared helpers for the integration tests: a TLS client that trusts only the emulator's
//! CA, request builders and JWT decoding.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use mr_auth_emulator::RunningEmulator;
use uuid::Uuid;

pub(crate) const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
pub(crate) const OTHER_ACCOUNT: &str = "0d0cddc7-4eb1-4791-9870-b1a7413cecdf";
pub(crate) const PRIMARY: &str = "primary-key-5f0e";
pub(crate) const SECONDARY: &str = "secondary-key-9a1c";
pub(crate) const CV: &str = "DQzdx06xR5GYcLGnQTzs3w";

pub(crate) fn account() -> Uuid {
    Uuid::parse_str(ACCOUNT).unwrap()
}

/// A client that trusts only the emulator's CA (or plain http when there is none), never
/// uses a proxy, and gives up after 10 s.
pub(crate) fn client(emulator: &RunningEmulator) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10));
    if let Some(pem) = emulator.ca_pem() {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
        builder = builder.tls_certs_only([ca]);
    }
    builder.build().unwrap()
}

pub(crate) fn token_url(emulator: &RunningEmulator, account: &str) -> String {
    format!(
        "{}/Accounts/{account}/token?api-version=2019-02-28-preview",
        emulator.endpoint().as_str().trim_end_matches('/')
    )
}

/// A token request with the headers the real client sends.
pub(crate) fn token_request(
    client: &reqwest::Client,
    emulator: &RunningEmulator,
    key: &str,
) -> reqwest::RequestBuilder {
    client
        .get(token_url(emulator, ACCOUNT))
        .header("Authorization", format!("Bearer {ACCOUNT}:{key}"))
        .header("X-MRC-CV", CV)
        .header("Accept", "application/json")
}

/// Sends [`token_request`] with the primary key and returns the response (any status).
pub(crate) async fn send_token_request(
    client: &reqwest::Client,
    emulator: &RunningEmulator,
) -> reqwest::Response {
    token_request(client, emulator, PRIMARY)
        .send()
        .await
        .expect("the emulator answers the token request")
}

pub(crate) fn decode_segment(segment: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// The `AccessToken` of a 200 body.
pub(crate) fn access_token(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    json["AccessToken"].as_str().unwrap().to_owned()
}

pub(crate) fn assert_ms_cv(response: &reqwest::Response) -> String {
    let ms_cv = response.headers()["ms-cv"].to_str().unwrap().to_owned();
    assert_eq!(ms_cv.len(), 24, "{ms_cv}");
    assert!(ms_cv.ends_with(".0"), "{ms_cv}");
    assert!(ms_cv[..22]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
    ms_cv
}
