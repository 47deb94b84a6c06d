//! The Azure AD adapter with a real `azure_identity::ClientSecretCredential`.
//!
//! `azure_identity` 1.0 refuses an authority host that is not `https`, so the mock Entra token
//! endpoint (mockito, plain HTTP on loopback) sits behind a loopback TLS terminator whose
//! certificate is signed by a CA made for this test; the credential's transport trusts that CA
//! and nothing else changes. The mock STS then checks that it receives the Entra token.

mod common;

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{Secret, TokenCredential},
    http::{ClientOptions, Transport},
};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use common::*;
use mr_auth_core::{
    Clock as _, ManualClock, MixedRealityStsClient, SystemClock, DEFAULT_AAD_SCOPE,
};
use mr_auth_credentials::{mixed_reality_credential_with_aad, MixedRealityTokenCredentialOptions};
use mr_auth_test_support::TlsFront;
use std::{sync::Arc, time::Duration};

const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "0b0c1c1a-5f5e-4c3e-9d7a-0a1b2c3d4e5f";
const CLIENT_SECRET: &str = "entra-client-secret-value";
const AAD_TOKEN: &str = "aad-access-token-for-the-sts";

/// The mock Entra ID (keep both parts alive: dropping the TLS front stops it), its token
/// endpoint mock and a real `ClientSecretCredential` pointed at it.
async fn entra_credential() -> (
    (mockito::ServerGuard, TlsFront),
    mockito::Mock,
    Arc<ClientSecretCredential>,
) {
    let mut entra = mockito::Server::new_async().await;
    let token_endpoint = entra
        .mock("POST", format!("/{TENANT_ID}/oauth2/v2.0/token").as_str())
        .match_body(mockito::Matcher::AllOf(vec![
            mockito::Matcher::UrlEncoded("grant_type".into(), "client_credentials".into()),
            mockito::Matcher::UrlEncoded("client_id".into(), CLIENT_ID.into()),
            mockito::Matcher::UrlEncoded("client_secret".into(), CLIENT_SECRET.into()),
            mockito::Matcher::UrlEncoded("scope".into(), DEFAULT_AAD_SCOPE.into()),
        ]))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(
            serde_json::json!({
                "token_type": "Bearer",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": AAD_TOKEN,
            })
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let front = TlsFront::start(entra.socket_address()).await;

    let trusting_client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(front.ca_pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = front.url().to_owned();
    let credential = ClientSecretCredential::new(
        TENANT_ID,
        CLIENT_ID.to_owned(),
        Secret::new(CLIENT_SECRET),
        Some(ClientSecretCredentialOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(trusting_client))),
                cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
                ..ClientOptions::default()
            },
        }),
    )
    .unwrap();
    ((entra, front), token_endpoint, credential)
}

#[tokio::test]
async fn azure_identity_refuses_a_plain_http_authority_host() {
    mr_auth_test_support::bounded(async move {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = "http://127.0.0.1:9".to_owned();
        let refused = ClientSecretCredential::new(
            TENANT_ID,
            CLIENT_ID.to_owned(),
            Secret::new(CLIENT_SECRET),
            Some(ClientSecretCredentialOptions {
                client_options: ClientOptions {
                    cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
                    ..ClientOptions::default()
                },
            }),
        );
        assert!(
            refused.is_err(),
            "if this starts passing, the TLS front can go"
        );
    })
    .await;
}

#[tokio::test]
async fn the_sts_receives_the_entra_token_of_a_real_client_secret_credential() {
    mr_auth_test_support::bounded(async move {
        let (_entra, token_endpoint, aad) = entra_credential().await;
        let mut sts = mockito::Server::new_async().await;
        let expiry = SystemClock.now() + Duration::from_secs(24 * 3600);
        let exchange = sts
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::UrlEncoded(
                "api-version".into(),
                "2019-02-28-preview".into(),
            ))
            .match_header("authorization", format!("Bearer {AAD_TOKEN}").as_str())
            .with_status(200)
            .with_body(sts_body(expiry, "from-aad"))
            .expect(2)
            .create_async()
            .await;

        let client = MixedRealityStsClient::new(
            account_id(),
            "southcentralus.mixedreality.azure.com".parse().unwrap(),
            aad.clone(),
            Some(sts_options(&sts.url())),
        )
        .unwrap();
        assert_eq!(
            client.aad_scope(),
            "https://sts.mixedreality.azure.com//.default"
        );
        let token = client.get_token().await.unwrap();
        assert_eq!(
            token.access_token.expires_on.unix_timestamp(),
            expiry.unix_timestamp()
        );

        // The caching credential over the same AAD credential (whose own cache serves the second
        // Entra request): one more STS request, then none.
        let credential = mixed_reality_credential_with_aad(
            account_id(),
            "southcentralus.mixedreality.azure.com".parse().unwrap(),
            aad,
            Some(sts_options(&sts.url())),
            Some(MixedRealityTokenCredentialOptions {
                clock: Arc::new(ManualClock::new(SystemClock.now())),
                ..MixedRealityTokenCredentialOptions::default()
            }),
        )
        .unwrap();
        for _ in 0..3 {
            credential.get_token(&[], None).await.unwrap();
        }
        exchange.assert_async().await;
        token_endpoint.assert_async().await;
    })
    .await;
}

#[tokio::test]
async fn an_overridden_scope_is_what_entra_is_asked_for() {
    mr_auth_test_support::bounded(async move {
        let mut entra = mockito::Server::new_async().await;
        let custom_scope = "https://sts.eastus2.mixedreality.azure.com/.default";
        let token_endpoint = entra
        .mock("POST", mockito::Matcher::Any)
        .match_body(mockito::Matcher::UrlEncoded(
            "scope".into(),
            custom_scope.into(),
        ))
        .with_status(200)
        .with_body(
            r#"{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"t"}"#,
        )
        .expect(1)
        .create_async()
        .await;
        let front = TlsFront::start(entra.socket_address()).await;
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = front.url().to_owned();
        let aad = ClientSecretCredential::new(
            TENANT_ID,
            CLIENT_ID.to_owned(),
            Secret::new(CLIENT_SECRET),
            Some(ClientSecretCredentialOptions {
                client_options: ClientOptions {
                    transport: Some(Transport::new(Arc::new(
                        reqwest::Client::builder()
                            .add_root_certificate(
                                reqwest::Certificate::from_pem(front.ca_pem().as_bytes()).unwrap(),
                            )
                            .build()
                            .unwrap(),
                    ))),
                    cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
                    ..ClientOptions::default()
                },
            }),
        )
        .unwrap();
        let mut sts = mockito::Server::new_async().await;
        let exchange = sts
            .mock("GET", TOKEN_PATH)
            .match_query(mockito::Matcher::Any)
            .match_header("authorization", "Bearer t")
            .with_status(200)
            .with_body(sts_body(SystemClock.now() + Duration::from_secs(3600), "x"))
            .expect(1)
            .create_async()
            .await;
        let mut options = sts_options(&sts.url());
        options.aad_scope = Some(custom_scope.to_owned());
        let client = MixedRealityStsClient::new(
            account_id(),
            "eastus2.mixedreality.azure.com".parse().unwrap(),
            aad,
            Some(options),
        )
        .unwrap();
        client.get_token().await.unwrap();
        token_endpoint.assert_async().await;
        exchange.assert_async().await;
    })
    .await;
}
