//! `examples/blob_with_broker.rs` end to end against real third-party software: the real
//! `azure_storage_blob` pipeline talks to a real Azurite (HTTPS, `--oauth basic`), authorized
//! by `InteractiveBrowserBrokerCredential`'s real browser flow, which a real headless Chromium
//! completes at the loopback mock authority (v1 tokens for `https://storage.azure.com`).
//!
//! Needs node/npm (Azurite is installed on first use, or taken from `MR_AUTH_AZURITE`) and
//! `/usr/bin/chromium`; `MR_AUTH_SKIP_AZURITE_TESTS=1` or `MR_AUTH_SKIP_BROWSER_TESTS=1` skip
//! with a printed reason.

#[path = "../../../examples/blob_with_broker.rs"]
#[allow(
    dead_code,
    reason = "the example's main is not run here, only its round trip"
)]
mod blob_with_broker;

use azure_storage_blob::{BlobServiceClient, BlobServiceClientOptions};
use blob_with_broker::{round_trip, BLOB_NAME, CONTENT};
use mr_auth::{
    azure_core::{
        self,
        error::ErrorKind,
        http::{ClientOptions, StatusCode, Transport},
    },
    broker::{
        BrokerMode, InteractiveBrowserBrokerCredential, InteractiveBrowserBrokerCredentialOptions,
    },
};
use mr_auth_test_support::{
    azurite::{azurite_skip_reason, Azurite},
    chromium::{chromium_skip_reason, handler, Chromium},
    mock_authority::{AuthorizeMode, MockAuthority, V1AccessTokens, CLIENT_ID, TENANT},
};
use std::{path::Path, sync::Arc, time::Duration};

/// One sign-in at a time: each test owns a browser and an Azurite, and the machine is small.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Bounds a whole test (npm install on first use, Azurite start, sign-in, requests).
const TEST_TIMEOUT: Duration = Duration::from_secs(600);

macro_rules! skip_unless_runnable {
    () => {
        if let Some(reason) = azurite_skip_reason().or_else(chromium_skip_reason) {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

struct Setup {
    /// Kept alive for the test: dropping it stops Azurite.
    _azurite: Azurite,
    authority: Arc<MockAuthority>,
    chromium: Arc<Chromium>,
    service: BlobServiceClient,
}

impl Setup {
    /// Azurite, the mock authority issuing `tokens`, and a blob client authorized by the
    /// broker credential's browser flow through Chromium.
    async fn new(tokens: V1AccessTokens) -> Self {
        let azurite = Azurite::start(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("azurite"))
            .await
            .expect("azurite starts");
        let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
        authority.issue_v1_access_tokens(tokens);
        let chromium = Arc::new(Chromium::default());
        let credential = InteractiveBrowserBrokerCredential::new(Some(
            InteractiveBrowserBrokerCredentialOptions {
                client_id: CLIENT_ID.parse().expect("the mock's client id"),
                tenant_id: TENANT.parse().expect("the mock's tenant"),
                authority: Some(authority.authority_host().parse().expect("a loopback host")),
                authorize_url_handler: handler(chromium.clone()),
                // The browser flow, whatever broker this machine has.
                broker: BrokerMode::BrowserOnly,
                timeout: Duration::from_secs(120),
                ..Default::default()
            },
        ))
        .expect("valid options");
        // The blob client's own transport, trusting the CA of Azurite's certificate.
        let http = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(azurite.ca_pem().as_bytes()).expect("a CA PEM"),
            )
            .build()
            .expect("a reqwest client");
        let service = BlobServiceClient::new(
            azurite.blob_service_url(),
            Some(credential),
            Some(BlobServiceClientOptions {
                client_options: ClientOptions {
                    transport: Some(Transport::new(Arc::new(http))),
                    ..ClientOptions::default()
                },
                ..BlobServiceClientOptions::default()
            }),
        )
        .expect("a blob service client");
        Self {
            _azurite: azurite,
            authority,
            chromium,
            service,
        }
    }

    /// (authorize requests, token requests) the mock authority served.
    fn sign_ins(&self) -> (usize, usize) {
        self.authority
            .log(|l| (l.authorize_requests, l.token_requests.len()))
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.chromium.shutdown();
    }
}

/// Asserts that `error` is Azurite's 403 `AuthenticationFailed`, as the blob client surfaced it.
fn assert_refused_by_azurite(error: &azure_core::Error) {
    assert_eq!(
        error.http_status(),
        Some(StatusCode::Forbidden),
        "{error:?}"
    );
    match error.kind() {
        ErrorKind::HttpResponse { error_code, .. } => {
            assert_eq!(
                error_code.as_deref(),
                Some("AuthenticationFailed"),
                "{error:?}"
            );
        }
        other => panic!("expected an HTTP response error, got {other:?}"),
    }
}

#[tokio::test]
async fn blob_round_trip_with_one_sign_in() {
    skip_unless_runnable!();
    let _one = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(TEST_TIMEOUT, async {
        let s = Setup::new(V1AccessTokens::default()).await;
        assert_eq!(s.sign_ins(), (0, 0));

        let result = round_trip(&s.service, "round-trip")
            .await
            .expect("round trip");
        assert_eq!(result.downloaded, CONTENT);
        assert_eq!(result.listed, [BLOB_NAME]);
        // Four requests (create, upload, download, list), one sign-in: the token is cached.
        assert_eq!(s.sign_ins(), (1, 1));
        assert_eq!(s.chromium.launched(), 1);

        // Another operation later is served from the cache too.
        let listed = round_trip(&s.service, "second-container")
            .await
            .expect("again");
        assert_eq!(listed.downloaded, CONTENT);
        assert_eq!(s.sign_ins(), (1, 1));
        assert_eq!(s.chromium.launched(), 1);
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test]
async fn expired_token_is_refused_by_azurite() {
    skip_unless_runnable!();
    let _one = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(TEST_TIMEOUT, async {
        let s = Setup::new(V1AccessTokens {
            expired: true,
            ..V1AccessTokens::default()
        })
        .await;
        let error = round_trip(&s.service, "expired-token")
            .await
            .expect_err("azurite refuses an expired token");
        assert_refused_by_azurite(&error);
        assert_eq!(s.sign_ins(), (1, 1));
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test]
async fn wrong_audience_is_refused_by_azurite() {
    skip_unless_runnable!();
    let _one = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(TEST_TIMEOUT, async {
        let s = Setup::new(V1AccessTokens {
            audience: Some("https://graph.microsoft.com".into()),
            ..V1AccessTokens::default()
        })
        .await;
        let error = round_trip(&s.service, "wrong-audience")
            .await
            .expect_err("azurite refuses a token for another audience");
        assert_refused_by_azurite(&error);
        assert_eq!(s.sign_ins(), (1, 1));
    })
    .await
    .expect("the test finished in time");
}
