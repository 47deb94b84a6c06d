//! The STS client against the project's own emulator over TLS: the same request/response
//! behaviour as the mockito tests, through a real TLS stack trusting only the emulator's CA.

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use mr_auth_core::{
    AccountId, Clock as _, CorrelationVector, ErrorKind, MixedRealityStsClient,
    MixedRealityStsClientOptions, StsEndpoint, StsRetryOptions, SystemClock,
};
use mr_auth_emulator::{Emulator, Fault, RunningEmulator};
use std::{sync::Arc, time::Duration};
use uuid::Uuid;

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "emulator-test-key";

/// `{account}:{key}` as the account-key credential of `mr-auth-credentials` would send it
/// (that crate depends on this one, so it cannot be used here).
#[derive(Debug)]
struct Key(String);

#[async_trait::async_trait]
impl TokenCredential for Key {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            Secret::new(format!("{ACCOUNT}:{}", self.0)),
            SystemClock.now() + time::Duration::days(365),
        ))
    }
}

async fn emulator(faults: Vec<Fault>) -> RunningEmulator {
    Emulator::builder()
        .account(Uuid::parse_str(ACCOUNT).unwrap(), KEY)
        .faults(faults)
        .start()
        .await
        .unwrap()
}

fn client(emulator: &RunningEmulator, key: &str, account: &str) -> Arc<MixedRealityStsClient> {
    let options = MixedRealityStsClientOptions {
        custom_endpoint: Some(StsEndpoint::from_url(emulator.endpoint().clone()).unwrap()),
        extra_root_certificates_pem: vec![emulator.ca_pem().unwrap().to_owned()],
        retry: StsRetryOptions {
            max_retries: 2,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
            max_total_elapsed: Duration::from_secs(10),
        },
        timeout: Duration::from_secs(15),
        ..MixedRealityStsClientOptions::default()
    };
    MixedRealityStsClient::new(
        account.parse::<AccountId>().unwrap(),
        "mixedreality.azure.com".parse().unwrap(),
        Arc::new(Key(key.to_owned())),
        Some(options),
    )
    .unwrap()
}

#[tokio::test]
async fn exchanges_a_key_for_a_real_24h_token_over_tls() {
    mr_auth_test_support::bounded(async move {
        let emulator = emulator(vec![]).await;
        let client = client(&emulator, KEY, ACCOUNT);
        let before = SystemClock.now();
        let token = client.get_token().await.unwrap();
        let lifetime = token.access_token.expires_on - before;
        assert!(
            lifetime > time::Duration::hours(23)
                && lifetime <= time::Duration::hours(24) + time::Duration::seconds(5),
            "{lifetime}"
        );
        let ms_cv = token.ms_cv.unwrap();
        assert!(
            ms_cv.ends_with(".0") && CorrelationVector::is_well_formed(&ms_cv[..22]),
            "{ms_cv}"
        );

        let second = client.get_token().await.unwrap();
        assert_ne!(
            second.access_token.token.secret(),
            token.access_token.token.secret()
        );

        let stats = emulator.stats();
        assert_eq!(stats.tokens_issued, 2);
        let cvs: Vec<_> = stats
            .recent
            .iter()
            .filter_map(|r| r.correlation_vector.clone())
            .collect();
        assert_eq!(cvs.len(), 2);
        assert!(
            cvs.iter().all(|cv| CorrelationVector::is_well_formed(cv)),
            "{cvs:?}"
        );
        assert_ne!(cvs[0], cvs[1]);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_system_trust_store_alone_does_not_trust_the_emulator() {
    mr_auth_test_support::bounded(async move {
        let emulator = emulator(vec![]).await;
        let options = MixedRealityStsClientOptions {
            custom_endpoint: Some(StsEndpoint::from_url(emulator.endpoint().clone()).unwrap()),
            retry: StsRetryOptions::none(),
            ..MixedRealityStsClientOptions::default()
        };
        let client = MixedRealityStsClient::new(
            ACCOUNT.parse().unwrap(),
            "mixedreality.azure.com".parse().unwrap(),
            Arc::new(Key(KEY.into())),
            Some(options),
        )
        .unwrap();
        let error = client.get_token().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        assert!(error.message().contains("unknown issuer"), "{error}");
        assert_eq!(emulator.stats().token_requests, 0);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_key_and_unknown_account() {
    mr_auth_test_support::bounded(async move {
        let emulator = emulator(vec![]).await;
        let error = client(&emulator, "not-the-key", ACCOUNT)
            .get_token()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AuthenticationFailed, "{error}");
        assert_eq!(error.status(), Some(401));
        assert!(
            error
                .service_message()
                .unwrap()
                .starts_with("Invalid token:"),
            "{error}"
        );
        assert!(error.ms_cv().is_some());

        let error = client(&emulator, KEY, "11111111-2222-3333-4444-555555555555")
            .get_token()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RequestRejected, "{error}");
        assert_eq!(error.status(), Some(404));
        assert_eq!(emulator.stats().token_requests, 2, "neither was retried");
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn throttling_and_dropped_connections_are_retried() {
    mr_auth_test_support::bounded(async move {
        let emulator = emulator(vec![
            Fault::status(429, Some(1)).unwrap(),
            Fault::DropConnection,
        ])
        .await;
        let start = tokio::time::Instant::now();
        let token = client(&emulator, KEY, ACCOUNT).get_token().await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "Retry-After: 1 honoured"
        );
        assert!(token.access_token.expires_on > SystemClock.now());
        let stats = emulator.stats();
        assert_eq!(stats.token_requests, 3);
        assert_eq!(stats.count(429), 1);
        assert_eq!(stats.dropped, 1);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn repeated_500_fails_with_the_last_ms_cv() {
    mr_auth_test_support::bounded(async move {
        let emulator = emulator(vec![Fault::status(500, None).unwrap(); 3]).await;
        let error = client(&emulator, KEY, ACCOUNT)
            .get_token()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceError);
        let last = emulator.stats().recent.last().and_then(|r| r.ms_cv.clone());
        assert_eq!(error.ms_cv(), last.as_deref());
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_truncated_body_over_tls_is_retried() {
    mr_auth_test_support::bounded(async move {
        let emulator = emulator(vec![Fault::TruncatedBody]).await;
        let token = client(&emulator, KEY, ACCOUNT).get_token().await.unwrap();
        assert!(token.access_token.expires_on > SystemClock.now());
        let stats = emulator.stats();
        assert_eq!(stats.token_requests, 2);
        assert_eq!(stats.truncated, 1);
        assert_eq!(stats.tokens_issued, 2, "the cut response and the whole one");
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn bad_bodies_are_errors_never_tokens() {
    mr_auth_test_support::bounded(async move {
        for (fault, kind) in [
            (Fault::GarbageBody, ErrorKind::Protocol),
            (Fault::TokenWithoutExp, ErrorKind::Protocol),
        ] {
            let emulator = emulator(vec![fault]).await;
            let error = client(&emulator, KEY, ACCOUNT)
                .get_token()
                .await
                .unwrap_err();
            assert_eq!(error.kind(), kind, "{fault:?}: {error}");
            assert!(error.ms_cv().is_some(), "{fault:?}");
            emulator.shutdown().await;
        }
    })
    .await;
}
