//! The credential: [`InteractiveBrowserBrokerCredential`] and its options, their validated
//! configuration, what it remembers between requests, the silent chain, the interactive
//! sign-in, the persistent cache's wiring, [`AuthenticationRecord`] and the
//! proof-of-possession pipeline policy. It builds on `oauth/` and `platform/`.

mod additionally_allowed_tenants;
mod authentication_record;
mod broker_token_request_options;
mod credential_config;
mod credential_persistence;
mod interactive_browser_broker_credential;
mod interactive_browser_broker_credential_options;
mod interactive_sign_in;
mod pop_authorization_policy;
mod session;
mod silent_chain;
mod silent_steps;
mod token_request;

pub use additionally_allowed_tenants::AdditionallyAllowedTenants;
pub use authentication_record::{AuthenticationRecord, AUTHENTICATION_RECORD_VERSION};
pub use broker_token_request_options::BrokerTokenRequestOptions;
pub use interactive_browser_broker_credential::InteractiveBrowserBrokerCredential;
pub use interactive_browser_broker_credential_options::{
    InteractiveBrowserBrokerCredentialOptions, DEFAULT_INTERACTIVE_TIMEOUT,
};
pub use pop_authorization_policy::PopAuthorizationPolicy;

#[cfg(feature = "test-util")]
pub(crate) use credential_config::Surroundings;

/// What the credential does with a token response (the `fuzzing` feature): its account
/// record, and its entries in a token cache, which must read back.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_token_response(
    response: &crate::oauth::TokenResponse,
    now: time::OffsetDateTime,
) {
    let client_id = crate::ClientId::default();
    let tenant = crate::TenantId::default();
    let details = &response.details;
    let _ = AuthenticationRecord::from_token_response(
        "login.microsoftonline.com",
        &client_id,
        details.client_info.as_deref(),
        details.id_token.as_deref().map(String::as_str),
        &tenant,
    );
    let write = credential_persistence::cache_write(
        response,
        &credential_persistence::WriteKeys {
            client_id: client_id.as_str(),
            environment: "login.microsoftonline.com",
            realm: tenant.as_str(),
            requested_scopes: &["s".to_owned()],
            grant_type: "authorization_code",
            now,
        },
    );
    let mut cache = crate::MsalTokenCache::new();
    if cache.add(&write).is_ok() {
        crate::MsalTokenCache::from_slice(&cache.to_vec())
            .unwrap_or_else(|e| panic!("a cache this crate wrote does not parse: {e}"));
    }
}
