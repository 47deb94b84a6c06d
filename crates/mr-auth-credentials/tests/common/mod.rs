//! Fixtures of this crate's integration tests: JWTs with a chosen expiry, STS client options
//! for a loopback mock and a one-exchange account-key STS. The fakes shared across crates (TLS
//! front, log capture, test time bound) are in `mr-auth-test-support`.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset"
)]

use base64::Engine as _;
use mr_auth_core::{
    AccountId, ManualClock, MixedRealityStsClientOptions, StsEndpoint, StsRetryOptions,
};
use mr_auth_credentials::{
    AccountKey, MixedRealityTokenCredential, MixedRealityTokenCredentialOptions,
};
use std::{sync::Arc, time::Duration};
use time::OffsetDateTime;

pub const ACCOUNT_ID: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
pub const ACCOUNT_KEY: &str = "my-very-secret-account-key";
pub const TOKEN_PATH: &str = "/Accounts/87e9abb1-79b9-4502-bbae-cfae8c610f23/token";

pub fn account_id() -> AccountId {
    ACCOUNT_ID.parse().unwrap()
}

/// An unsigned JWT whose payload holds `exp` (and a `jti` to tell tokens apart).
pub fn jwt(expires_on: OffsetDateTime, jti: &str) -> String {
    let payload = serde_json::json!({ "exp": expires_on.unix_timestamp(), "jti": jti });
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("eyJhbGciOiJub25lIn0.{payload}.c2ln")
}

pub fn sts_body(expires_on: OffsetDateTime, jti: &str) -> String {
    serde_json::json!({ "AccessToken": jwt(expires_on, jti) }).to_string()
}

/// STS client options for a loopback mock at `url`: no retries, short timeouts.
pub fn sts_options(url: &str) -> MixedRealityStsClientOptions {
    MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::new(url).unwrap()),
        retry: StsRetryOptions::none(),
        connect_timeout: Duration::from_secs(5),
        try_timeout: Duration::from_secs(10),
        timeout: Duration::from_secs(20),
        ..MixedRealityStsClientOptions::default()
    }
}

/// The caching credential for [`ACCOUNT_KEY`] against a loopback mock STS at `url`, on `clock`.
pub fn credential(url: &str, clock: &Arc<ManualClock>) -> Arc<MixedRealityTokenCredential> {
    MixedRealityTokenCredential::with_account_key(
        account_id(),
        "mixedreality.azure.com".parse().unwrap(),
        AccountKey::new(ACCOUNT_KEY).unwrap(),
        Some(sts_options(url)),
        Some(MixedRealityTokenCredentialOptions {
            clock: clock.clone(),
            ..MixedRealityTokenCredentialOptions::default()
        }),
    )
    .unwrap()
}

/// A JWT as the STS issues it (exp 2147483647), whose signature segment is as opaque as a real
/// token's: a log or message containing any part of it leaked the token.
pub const OPAQUE_TOKEN: &str =
    "eyJhbGciOiJub25lIn0.eyJleHAiOjIxNDc0ODM2NDd9.c2VjcmV0LXNpZ25hdHVyZS14eXo";

/// A loopback STS that answers exactly one exchange of [`ACCOUNT_KEY`] for [`OPAQUE_TOKEN`],
/// checking the spec's request shape and `Authorization: Bearer <id>:<key>`.
pub async fn account_key_sts() -> (mockito::ServerGuard, mockito::Mock) {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", TOKEN_PATH)
        .match_query(mockito::Matcher::UrlEncoded(
            "api-version".into(),
            "2019-02-28-preview".into(),
        ))
        .match_header(
            "authorization",
            format!("Bearer {ACCOUNT_ID}:{ACCOUNT_KEY}").as_str(),
        )
        .with_header("ms-cv", "cT1Z1Q1eTki0YgIK2wMXNQ.0")
        .with_body(format!(r#"{{"AccessToken":"{OPAQUE_TOKEN}"}}"#))
        .expect(1)
        .create_async()
        .await;
    (server, mock)
}
