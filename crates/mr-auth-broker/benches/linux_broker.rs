//! The Linux broker: a silent token over a real D-Bus bus (private `dbus-daemon`, the fake
//! broker of `mr-auth-test-support`), next to the credential's cache hit.
//!
//! ```text
//! cargo bench -p mr-auth-broker --bench linux_broker
//! ```
//!
//! The hit here is measured through `runtime.block_on` (a current-thread runtime entered and
//! left for every call), which costs several times the hit itself: the credential's hit alone is
//! `entra_credential`'s `entra_cache_hit`. Figures: the workspace's `BENCHMARKS.md`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[cfg(target_os = "linux")]
mod linux {
    use async_trait::async_trait;
    use azure_core::credentials::Secret;
    use criterion::Criterion;
    use mr_auth_broker::{
        AccessTokenInfo, BrokerAccount, BrokerRequest, BrokerToken, ClientId, Error, ErrorKind,
        InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions, LinuxBroker,
        LinuxBrokerOptions, ParentWindowHandle, PlatformBroker, Result, TokenType,
    };
    use mr_auth_test_support::{
        fake_linux_broker::{FakeLinuxBroker, FakeScript},
        private_session_bus::PrivateSessionBus,
    };
    use std::{
        hint::black_box,
        sync::{Arc, Mutex},
    };

    const SCOPE: &str = "https://management.azure.com/.default";

    /// Records the request the credential builds (`BrokerRequest` is non-exhaustive).
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Option<BrokerRequest>>);

    #[async_trait]
    impl PlatformBroker for Recorder {
        fn supports_pop(&self) -> bool {
            false
        }
        fn redirect_uri(&self, _: &ClientId) -> String {
            "https://login.microsoftonline.com/common/oauth2/nativeclient".into()
        }
        async fn acquire_token_silently(
            &self,
            _: &BrokerRequest,
            _: &BrokerAccount,
        ) -> Result<BrokerToken> {
            Err(Error::new(ErrorKind::AuthenticationRequired, "recorder"))
        }
        async fn acquire_token_with_default_account(
            &self,
            _: &BrokerRequest,
        ) -> Result<BrokerToken> {
            Err(Error::new(ErrorKind::AuthenticationRequired, "recorder"))
        }
        async fn acquire_token_interactively(
            &self,
            request: &BrokerRequest,
            _: Option<ParentWindowHandle>,
        ) -> Result<BrokerToken> {
            *self.0.lock().unwrap() = Some(request.clone());
            Ok(BrokerToken {
                token: AccessTokenInfo {
                    token: Secret::new("recorded"),
                    expires_on: time::OffsetDateTime::from_unix_timestamp(4_102_444_800).unwrap(),
                    token_type: TokenType::Bearer,
                    refresh_on: None,
                },
                account: None,
            })
        }
    }

    pub(crate) fn benches(c: &mut Criterion) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let bus = match runtime.block_on(PrivateSessionBus::start_or_skip("linux_broker bench")) {
            Ok(bus) => bus,
            Err(missing) => {
                eprintln!("{missing}");
                return;
            }
        };
        let _fake = runtime.block_on(FakeLinuxBroker::start(bus.address(), FakeScript::default()));
        let broker = LinuxBroker::new(Some(LinuxBrokerOptions {
            bus_address: Some(bus.address().to_owned()),
            ..Default::default()
        }))
        .unwrap();

        let recorder = Arc::new(Recorder::default());
        let recording = InteractiveBrowserBrokerCredential::new(Some(
            InteractiveBrowserBrokerCredentialOptions {
                broker: mr_auth_broker::BrokerMode::Custom(recorder.clone()),
                ..Default::default()
            },
        ))
        .unwrap();
        runtime
            .block_on(recording.get_token_info(&[SCOPE], None))
            .unwrap();
        let request = recorder.0.lock().unwrap().clone().unwrap();
        let account = runtime
            .block_on(broker.acquire_token_interactively(&request, None))
            .unwrap()
            .account
            .unwrap();

        c.bench_function("linux_broker/silent_token_over_dbus", |b| {
            b.iter(|| {
                let token = runtime
                    .block_on(broker.acquire_token_silently(&request, &account))
                    .unwrap();
                black_box(token);
            });
        });

        let credential = InteractiveBrowserBrokerCredential::new(Some(
            InteractiveBrowserBrokerCredentialOptions {
                broker: mr_auth_broker::BrokerMode::Custom(Arc::new(broker.clone())),
                ..Default::default()
            },
        ))
        .unwrap();
        runtime
            .block_on(credential.get_token_info(&[SCOPE], None))
            .unwrap();
        c.bench_function("linux_broker/credential_cache_hit", |b| {
            b.iter(|| {
                let token = runtime
                    .block_on(credential.get_token_info(black_box(&[SCOPE]), None))
                    .unwrap();
                black_box(token);
            });
        });
    }
}

#[cfg(target_os = "linux")]
criterion::criterion_group!(benches, linux::benches);
#[cfg(target_os = "linux")]
criterion::criterion_main!(benches);

#[cfg(not(target_os = "linux"))]
fn main() {}
