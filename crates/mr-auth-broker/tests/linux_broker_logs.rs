//! With `tracing` at TRACE (ours and zbus's), no token the Linux broker returned reaches the
//! logs or Debug output. Its own test binary: `tracing` caches per-callsite interest, which a
//! thread-local subscriber only sees reliably when no other test runs in the process.
#![cfg(target_os = "linux")]

use mr_auth_broker::{
    BrokerTokenRequestOptions, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, LinuxBroker, LinuxBrokerOptions, PopMethod,
    PopParameters,
};
use mr_auth_test_support::{
    bounded,
    fake_linux_broker::{FakeLinuxBroker, FakeScript},
    private_session_bus::PrivateSessionBus,
    LogCapture,
};
use std::sync::Arc;

#[tokio::test(flavor = "current_thread")]
async fn broker_tokens_never_reach_the_logs() {
    let captured = LogCapture::default();
    let _guard = captured.install();
    let bus = match PrivateSessionBus::start_or_skip("no_secrets_in_logs").await {
        Ok(bus) => bus,
        Err(missing) => {
            eprintln!("{missing}");
            return;
        }
    };
    let fake = FakeLinuxBroker::start(bus.address(), FakeScript::default()).await;
    let broker = LinuxBroker::new(Some(LinuxBrokerOptions {
        bus_address: Some(bus.address().to_owned()),
        ..Default::default()
    }))
    .unwrap();
    let c =
        InteractiveBrowserBrokerCredential::new(Some(InteractiveBrowserBrokerCredentialOptions {
            broker: mr_auth_broker::BrokerMode::Custom(Arc::new(broker)),
            ..Default::default()
        }))
        .unwrap();
    let first = bounded(c.get_token_info(&["https://management.azure.com/.default"], None))
        .await
        .unwrap();
    let pop = BrokerTokenRequestOptions {
        pop: Some(
            PopParameters::new(
                PopMethod::Get,
                "https://contoso.example/r".parse().unwrap(),
                Some("n".into()),
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    let pop = bounded(c.get_token_info(&["https://graph.microsoft.com/.default"], Some(pop)))
        .await
        .unwrap();
    let debug = format!("{c:?} {first:?} {pop:?}");
    let logs = captured.text();
    assert!(
        logs.contains("calling the microsoft identity broker"),
        "the capture holds the broker calls:\n{logs}"
    );
    for secret in [first.token.secret(), pop.token.secret(), "fake-id-token"] {
        assert!(!logs.contains(secret), "{secret} reached the logs");
        assert!(!debug.contains(secret), "{secret} reached Debug output");
    }
    assert_eq!(fake.violations(), Vec::<String>::new());
}
