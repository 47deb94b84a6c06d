//! Every public item a user of the `mr-auth` facade imports, by the path they import it from.
//! This file compiles only while each path resolves: a rename or a move of the public API
//! shows here, in its diff, on purpose. The broker's own items are named in
//! `crates/mr-auth-broker/tests/public_paths.rs`; `mr_auth::broker` re-exports all of them.
//!
//! Each item is `use`d once and touched once below, so an import that no longer names anything
//! cannot hide behind `unused_imports`.

use mr_auth::{
    azure_core, decode_jwt_unverified, get_mixed_reality_credential, jwt_expires_on,
    mixed_reality_credential_with_aad, sts_client_with_account_key, AccessToken, AccountDomain,
    AccountId, AccountKey, AccountKeyCredential, Clock, CorrelationVector, Error, ErrorKind,
    Expiring, FetchedTokenExpired, JwtError, MixedRealityCredentialSource, MixedRealityStsClient,
    MixedRealityStsClientOptions, MixedRealityTokenCredential, MixedRealityTokenCredentialOptions,
    Secret, StaticAccessTokenCredential, StsEndpoint, StsRetryOptions, StsToken,
    StsTokenRequestOptions, SystemClock, TokenCacheOptions, TokenCredential, UnverifiedJwt,
    DEFAULT_AAD_SCOPE, DEFAULT_MAX_CONNECTIONS_PER_HOST, MAX_RESPONSE_BYTES, STS_API_VERSION,
};
use std::{any::type_name, sync::Arc};

#[test]
fn every_public_type_and_trait_of_the_facade() {
    let names = [
        type_name::<AccessToken>(),
        type_name::<AccountDomain>(),
        type_name::<AccountId>(),
        type_name::<AccountKey>(),
        type_name::<AccountKeyCredential>(),
        type_name::<dyn Clock>(),
        type_name::<CorrelationVector>(),
        type_name::<Error>(),
        type_name::<ErrorKind>(),
        type_name::<dyn Expiring>(),
        type_name::<FetchedTokenExpired>(),
        type_name::<JwtError>(),
        type_name::<MixedRealityCredentialSource>(),
        type_name::<MixedRealityStsClient>(),
        type_name::<MixedRealityStsClientOptions>(),
        type_name::<MixedRealityTokenCredential>(),
        type_name::<MixedRealityTokenCredentialOptions>(),
        type_name::<Secret>(),
        type_name::<StaticAccessTokenCredential>(),
        type_name::<StsEndpoint>(),
        type_name::<StsRetryOptions>(),
        type_name::<StsToken>(),
        type_name::<StsTokenRequestOptions>(),
        type_name::<SystemClock>(),
        type_name::<TokenCacheOptions>(),
        type_name::<dyn TokenCredential>(),
        type_name::<UnverifiedJwt>(),
        type_name::<azure_core::Error>(),
    ];
    for name in names {
        assert!(!name.is_empty());
    }
}

#[test]
fn the_public_functions_and_constants_of_the_facade() {
    let functions = [
        type_name_of(&decode_jwt_unverified),
        type_name_of(&jwt_expires_on),
        type_name_of(&mixed_reality_credential_with_aad),
        type_name_of(&sts_client_with_account_key),
    ];
    for name in functions {
        assert!(name.contains("mr_auth"), "{name}");
    }
    // Generic over its source (`impl Into<...>`), so named through a call.
    let _ = |id: AccountId, domain: AccountDomain, key: Arc<AccountKeyCredential>| {
        get_mixed_reality_credential(id, domain, key, None, None)
    };
    assert!(DEFAULT_AAD_SCOPE.ends_with("/.default"));
    assert_eq!(DEFAULT_MAX_CONNECTIONS_PER_HOST, 16);
    assert_eq!(MAX_RESPONSE_BYTES, 64 * 1024);
    assert!(!STS_API_VERSION.is_empty());
}

fn type_name_of<T>(_: &T) -> &'static str {
    type_name::<T>()
}

#[cfg(feature = "aad")]
#[test]
fn azure_identity_is_re_exported() {
    use mr_auth::azure_identity;
    assert!(type_name::<azure_identity::DeveloperToolsCredential>().contains("azure_identity"));
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_types() {
    use mr_auth::{BlockingMixedRealityStsClient, BlockingMixedRealityTokenCredential};
    assert!(!type_name::<BlockingMixedRealityStsClient>().is_empty());
    assert!(!type_name::<BlockingMixedRealityTokenCredential>().is_empty());
}

#[cfg(feature = "test-util")]
#[test]
fn the_test_util_module() {
    use mr_auth::test_util::{
        Expiring, FetchedTokenExpired, ManualClock, TokenCache, TokenCacheOptions,
    };
    assert!(!type_name::<dyn Expiring>().is_empty());
    assert!(!type_name::<FetchedTokenExpired>().is_empty());
    assert!(!type_name::<ManualClock>().is_empty());
    assert!(!type_name::<TokenCache<String, AccessToken, Error>>().is_empty());
    assert!(!type_name::<TokenCacheOptions>().is_empty());
}

/// `mr_auth::broker` is `mr_auth_broker` re-exported whole; its items are listed in the broker's
/// own public paths test.
#[cfg(feature = "broker")]
#[test]
fn the_broker_module() {
    use mr_auth::broker::{
        DeviceCodeCredential, DeviceCodeCredentialOptions, DeviceCodePrompt,
        DeviceCodePromptCallback, DeviceCodePromptFn, Headless, InteractiveBrowserBrokerCredential,
        InteractiveBrowserBrokerCredentialOptions, SharedTokenCacheCredential,
        SharedTokenCacheCredentialOptions,
    };
    assert!(type_name::<InteractiveBrowserBrokerCredential>().contains("mr_auth_broker"));
    assert!(!type_name::<InteractiveBrowserBrokerCredentialOptions>().is_empty());
    assert!(type_name::<DeviceCodeCredential>().contains("mr_auth_broker"));
    assert!(!type_name::<DeviceCodeCredentialOptions>().is_empty());
    assert!(!type_name::<DeviceCodePrompt>().is_empty());
    assert!(!type_name::<DeviceCodePromptCallback>().is_empty());
    assert!(!type_name::<Box<DeviceCodePromptFn>>().is_empty());
    assert!(!type_name::<Headless>().is_empty());
    assert!(type_name::<SharedTokenCacheCredential>().contains("mr_auth_broker"));
    assert!(!type_name::<SharedTokenCacheCredentialOptions>().is_empty());
}
