//! The blocking API: works from plain threads, refuses (with a typed error, no panic and no
//! deadlock) inside an async runtime.
#![cfg(feature = "blocking")]

mod common;

use common::*;
use mr_auth_core::{Clock as _, ErrorKind, ManualClock};
use mr_auth_credentials::{
    AccountKey, AccountKeyCredential, BlockingMixedRealityStsClient,
    BlockingMixedRealityTokenCredential, MixedRealityTokenCredentialOptions,
};
use std::{sync::Arc, time::Duration};

fn mock_sts(
    expected_requests: usize,
) -> (mockito::ServerGuard, mockito::Mock, time::OffsetDateTime) {
    let mut server = mockito::Server::new();
    let expiry = ManualClock::default().now() + Duration::from_secs(24 * 3600);
    let mock = server
        .mock("GET", TOKEN_PATH)
        .match_query(mockito::Matcher::Any)
        .match_header(
            "authorization",
            format!("Bearer {ACCOUNT_ID}:{ACCOUNT_KEY}").as_str(),
        )
        .with_status(200)
        .with_body(sts_body(expiry, "blocking"))
        .expect(expected_requests)
        .create();
    (server, mock, expiry)
}

fn blocking_credential(url: &str) -> Arc<BlockingMixedRealityTokenCredential> {
    BlockingMixedRealityTokenCredential::with_account_key(
        account_id(),
        "mixedreality.azure.com".parse().unwrap(),
        AccountKey::new(ACCOUNT_KEY).unwrap(),
        Some(sts_options(url)),
        Some(MixedRealityTokenCredentialOptions {
            clock: Arc::new(ManualClock::default()),
            ..MixedRealityTokenCredentialOptions::default()
        }),
    )
    .unwrap()
}

#[test]
fn the_blocking_client_works_from_a_plain_thread() {
    let (server, mock, expiry) = mock_sts(2);
    let client = BlockingMixedRealityStsClient::new(
        account_id(),
        "mixedreality.azure.com".parse().unwrap(),
        AccountKeyCredential::new(account_id(), AccountKey::new(ACCOUNT_KEY).unwrap()),
        Some(sts_options(&server.url())),
    )
    .unwrap();
    assert_eq!(client.get_token().unwrap().access_token.expires_on, expiry);
    let from_another_thread = {
        let client = client.clone();
        std::thread::spawn(move || client.get_token())
            .join()
            .unwrap()
    };
    assert_eq!(from_another_thread.unwrap().access_token.expires_on, expiry);
    mock.assert();
}

#[test]
fn the_blocking_credential_caches_across_threads() {
    let (server, mock, expiry) = mock_sts(1);
    let credential = blocking_credential(&server.url());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let credential = credential.clone();
            std::thread::spawn(move || credential.get_token())
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap().expires_on, expiry);
    }
    mock.assert();
}

#[test]
fn inside_a_runtime_the_blocking_api_returns_a_typed_error() {
    let (server, mock, _) = mock_sts(0);
    let credential = blocking_credential(&server.url());
    let client = BlockingMixedRealityStsClient::new(
        account_id(),
        "mixedreality.azure.com".parse().unwrap(),
        AccountKeyCredential::new(account_id(), AccountKey::new(ACCOUNT_KEY).unwrap()),
        Some(sts_options(&server.url())),
    )
    .unwrap();
    for flavor in ["current_thread", "multi_thread"] {
        let runtime = match flavor {
            "current_thread" => tokio::runtime::Builder::new_current_thread(),
            _ => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
        .unwrap();
        let (credential, client) = (credential.clone(), client.clone());
        let (from_credential, from_client) =
            runtime.block_on(async move { (credential.get_token(), client.get_token()) });
        let error = from_credential.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{flavor}");
        assert!(
            error.message().contains("inside an async runtime"),
            "{error}"
        );
        assert_eq!(from_client.unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    mock.assert();
}

#[test]
fn dropping_a_blocking_credential_inside_a_runtime_does_not_panic() {
    let (server, _mock, _) = mock_sts(0);
    let credential = blocking_credential(&server.url());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async move { drop(credential) });
}
