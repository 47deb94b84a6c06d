//! No secret reaches the logs at any level during a full account-key exchange.
//!
//! Alone in its test binary: `tracing` caches per-callsite interest process-wide, so a test
//! running concurrently without a subscriber could hide events from this capture.

mod common;

use common::{account_id, account_key_sts, sts_options, ACCOUNT_ID, ACCOUNT_KEY, OPAQUE_TOKEN};
use mr_auth_credentials::{sts_client_with_account_key, AccountKey};
use mr_auth_test_support::LogCapture;

#[tokio::test(flavor = "current_thread")]
async fn no_secret_appears_in_trace_output() {
    mr_auth_test_support::bounded(async move {
        let capture = LogCapture::default();
        let _guard = capture.install();

        let (server, mock) = account_key_sts().await;
        let client = sts_client_with_account_key(
            account_id(),
            "mixedreality.azure.com".parse().unwrap(),
            AccountKey::new(ACCOUNT_KEY).unwrap(),
            Some(sts_options(&server.url())),
        )
        .unwrap();
        tracing::info!(client = ?client, "built");
        let token = client.get_token().await.unwrap();
        tracing::info!(token = ?token, "got");
        mock.assert_async().await;

        let logs = capture.text();
        assert!(
            logs.contains("the STS issued a token"),
            "the capture saw the exchange:\n{logs}"
        );
        assert!(logs.contains(ACCOUNT_ID), "non-secret context is logged");
        let (_, signature) = OPAQUE_TOKEN.rsplit_once('.').unwrap();
        for secret in [
            ACCOUNT_KEY,
            OPAQUE_TOKEN,
            signature,
            "eyJleHAiOjIxNDc0ODM2NDd9",
        ] {
            assert!(
                !logs.contains(secret),
                "{secret} leaked into the logs:\n{logs}"
            );
        }
    })
    .await;
}
