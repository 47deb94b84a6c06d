//! Nothing network-related is built until a request needs the network: making the three
//! credentials, and answering from the persistent cache or from memory, build no HTTP client
//! (no TLS configuration, no root certificates); the first request to the authority builds
//! one, once. Counted by `test_util::default_http_clients_built`, which counts for the whole
//! process: this file holds one test so no other test's requests are counted.

use azure_core::credentials::TokenCredential;
use mr_auth_broker::{
    test_util::{
        credential_with_hooks, default_http_clients_built, device_code_credential_with_hooks,
        shared_token_cache_credential_with_hooks, TestHooks,
    },
    AuthenticationRecord, BrokerMode, CacheWrite, DeviceCodeCredentialOptions,
    DeviceCodePromptCallback, InteractiveBrowserBrokerCredentialOptions,
    SharedTokenCacheCredentialOptions, TokenCachePersistenceOptions,
};
use mr_auth_core::{Clock as _, ManualClock};
use mr_auth_msal_cache::AccessTokenSecret;
use mr_auth_test_support::{
    bounded,
    mock_authority::{AuthorizeMode, MockAccount, MockAuthority, CLIENT_ID, TENANT},
    TempHome,
};
use std::sync::Arc;

const SCOPE: &str = "https://storage.azure.com/.default";
/// A scope the cache holds no access token for: only the refresh token answers it.
const OTHER_SCOPE: &str = "https://vault.azure.net/.default";

#[tokio::test]
async fn no_http_client_is_built_until_a_request_needs_the_network() {
    bounded(async {
        let authority = MockAuthority::start(AuthorizeMode::Stall).await;
        let clock = Arc::new(ManualClock::at_fixed_start());
        let home = TempHome::new();
        let alice = MockAccount::new("a", "ta", "alice@contoso.com");
        authority.accept_refresh_token("rt-of-a", alice.clone());
        home.seed(&[CacheWrite {
            scopes: vec![SCOPE.to_owned()],
            access_token: Some(AccessTokenSecret::new("at-of-a".to_owned())),
            expires_in: 3600,
            now: Some(clock.now()),
            ..alice.sign_in(CLIENT_ID, "127.0.0.1", "rt-of-a")
        }])
        .await;
        let hooks = TestHooks {
            clock: clock.clone(),
            environment: Arc::new(home.environment()),
        };
        let persistence = Some(TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        });
        let record = AuthenticationRecord::new(
            authority.record_authority(),
            CLIENT_ID.parse().unwrap(),
            "a.ta",
            TENANT.parse().unwrap(),
            "alice@contoso.com",
        )
        .unwrap();
        let host = || Some(authority.authority_host().parse().unwrap());

        // Default client options everywhere: no transport given, so each credential would
        // build its own HTTP client, and must not yet.
        let shared = shared_token_cache_credential_with_hooks(
            Some(SharedTokenCacheCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: Some(TENANT.parse().unwrap()),
                authority: host(),
                cache_persistence_options: persistence.clone(),
                ..Default::default()
            }),
            hooks.clone(),
        )
        .unwrap();
        let browser = credential_with_hooks(
            Some(InteractiveBrowserBrokerCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: TENANT.parse().unwrap(),
                authority: host(),
                broker: BrokerMode::BrowserOnly,
                cache_persistence_options: persistence.clone(),
                authentication_record: Some(record.clone()),
                disable_automatic_authentication: true,
                ..Default::default()
            }),
            hooks.clone(),
        )
        .unwrap();
        let device = device_code_credential_with_hooks(
            DeviceCodePromptCallback::new(|_| Ok(())),
            Some(DeviceCodeCredentialOptions {
                client_id: CLIENT_ID.parse().unwrap(),
                tenant_id: TENANT.parse().unwrap(),
                authority: host(),
                cache_persistence_options: persistence,
                authentication_record: Some(record),
                disable_automatic_authentication: true,
                ..Default::default()
            }),
            hooks,
        )
        .unwrap();
        assert_eq!(
            default_http_clients_built(),
            0,
            "making the credentials built none"
        );

        let credentials: [Arc<dyn TokenCredential>; 3] = [shared.clone(), browser, device];
        for credential in &credentials {
            // The first call reads the persistent cache, the second is a hit in memory.
            for _ in 0..2 {
                let token = credential.get_token(&[SCOPE], None).await.unwrap();
                assert_eq!(token.token.secret(), "at-of-a");
            }
        }
        assert!(authority.log(|l| l.token_requests.is_empty()));
        assert_eq!(
            default_http_clients_built(),
            0,
            "tokens from the persistent cache and from memory built none"
        );

        // A scope only the refresh token answers: the first request builds the client...
        let token = shared.get_token(&[OTHER_SCOPE], None).await.unwrap();
        assert!(token.token.secret().starts_with("access-token-"));
        assert_eq!(default_http_clients_built(), 1);
        // ... and only the first: another refresh reuses it.
        shared
            .get_token(&["https://graph.microsoft.com/.default"], None)
            .await
            .unwrap();
        assert_eq!(default_http_clients_built(), 1);
        assert_eq!(authority.log(|l| l.token_requests.len()), 2);
    })
    .await;
}
