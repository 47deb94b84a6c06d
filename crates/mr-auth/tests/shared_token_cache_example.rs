//! `examples/shared_token_cache.rs` run, not only built: its `who_am_i` goes through
//! `SharedTokenCacheCredential` over a cache another app filled (a plaintext file in a home of
//! the test's own) to a stand-in for Microsoft Graph on loopback (behind TLS: the bearer policy
//! sends tokens over https only), which answers only for the cached token; the mock authority
//! sees no request at all.

#[path = "../../../examples/shared_token_cache.rs"]
#[allow(
    dead_code,
    reason = "the example's main is not run here, only its who_am_i"
)]
mod shared_token_cache;

use mr_auth::{
    azure_core::http::{ClientOptions, Transport, Url},
    broker::{
        test_util::{shared_token_cache_credential_with_hooks, TestHooks},
        SharedTokenCacheCredentialOptions,
    },
};
use mr_auth_msal_cache::AccessTokenSecret;
use mr_auth_test_support::{
    bounded,
    mock_authority::{AuthorizeMode, MockAccount, MockAuthority, CLIENT_ID, TENANT},
    TempHome, TlsFront,
};
use shared_token_cache::{who_am_i, GRAPH_SCOPE};
use std::sync::Arc;

#[tokio::test]
async fn the_example_uses_a_cached_sign_in_without_a_request() {
    bounded(async {
        let authority = MockAuthority::start(AuthorizeMode::Stall).await;
        let home = TempHome::new();
        let account = MockAccount::default();
        home.seed(&[mr_auth_msal_cache::CacheWrite {
            scopes: vec![GRAPH_SCOPE.to_owned()],
            access_token: Some(AccessTokenSecret::new("graph-token-from-the-cache")),
            expires_in: 3600,
            now: Some(mr_auth::Clock::now(&mr_auth::SystemClock)),
            ..account.sign_in(CLIENT_ID, "127.0.0.1", "rt-unused")
        }])
        .await;
        let credential = shared_token_cache_credential_with_hooks(
            Some(SharedTokenCacheCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: Some(TENANT.parse().unwrap()),
                authority: Some(authority.authority_host().parse().unwrap()),
                ..Default::default()
            }),
            TestHooks {
                environment: Arc::new(home.environment()),
                ..TestHooks::default()
            },
        )
        .unwrap();

        let mut graph = mockito::Server::new_async().await;
        let me = graph
            .mock("GET", "/v1.0/me")
            .match_header("authorization", "Bearer graph-token-from-the-cache")
            .with_status(200)
            .with_body(r#"{"userPrincipalName":"user@contoso.com"}"#)
            .expect(1)
            .create_async()
            .await;
        let front = TlsFront::start(graph.socket_address()).await;
        let http = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(front.ca_pem().as_bytes()).unwrap(),
            )
            .build()
            .unwrap();
        let options = ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            ..ClientOptions::default()
        };
        let url = Url::parse(&format!("{}/", front.url())).unwrap();
        let name = who_am_i(credential, &url, options).await.unwrap();
        assert_eq!(name, "user@contoso.com");
        me.assert_async().await;
        assert!(
            authority.log(|l| l.token_requests.is_empty()),
            "no request for the token"
        );
    })
    .await;
}
