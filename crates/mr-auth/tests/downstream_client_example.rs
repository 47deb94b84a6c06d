//! `examples/downstream_client.rs` run, not only built: its `run` drives a downstream service
//! client (azure_core's bearer policy over `MixedRealityTokenCredential`) on loopback and
//! checks, through the mock servers' expectations, five service calls on one STS request.

#[path = "../../../examples/downstream_client.rs"]
#[allow(
    dead_code,
    reason = "the example's main is not run here, only its run()"
)]
mod downstream_client;

use std::time::Duration;

#[tokio::test]
async fn downstream_client_example_succeeds() {
    tokio::time::timeout(Duration::from_secs(60), downstream_client::run())
        .await
        .expect("the example finished in time")
        .expect("the example succeeded");
}
