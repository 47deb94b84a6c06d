//! The credentials: [`InteractiveBrowserBrokerCredential`], [`DeviceCodeCredential`] and
//! [`SharedTokenCacheCredential`] and their options, the checked configuration and the way
//! through a request they share (`silent_tokens`: the silent chain in the in-memory cache;
//! `credential_core`: that, then the interactive step; `fresh_tokens`: the lock-free hit
//! path in front of the cache), what a credential remembers between
//! requests, the silent chain, the interactive sign-in, the persistent cache's wiring and the
//! shared cache's account choice, [`AuthenticationRecord`] and the proof-of-possession
//! pipeline policy. It builds on `oauth/` and `platform/`.

mod additionally_allowed_tenants;
mod authentication_record;
mod broker_token_request_options;
mod cache_error;
mod credential_config;
mod credential_core;
mod credential_persistence;
mod device_code_credential;
mod device_code_credential_options;
mod fresh_tokens;
mod interactive_browser_broker_credential;
mod interactive_browser_broker_credential_options;
mod interactive_sign_in;
mod interactive_step;
mod pop_authorization_policy;
mod session;
mod shared_cache_account;
mod shared_token_cache_credential;
mod shared_token_cache_credential_options;
mod silent_chain;
mod silent_steps;
mod silent_tokens;
mod token_request;

pub use additionally_allowed_tenants::AdditionallyAllowedTenants;
pub use authentication_record::{AuthenticationRecord, AUTHENTICATION_RECORD_VERSION};
pub use broker_token_request_options::BrokerTokenRequestOptions;
pub use device_code_credential::DeviceCodeCredential;
pub use device_code_credential_options::DeviceCodeCredentialOptions;
pub use interactive_browser_broker_credential::InteractiveBrowserBrokerCredential;
pub use interactive_browser_broker_credential_options::{
    InteractiveBrowserBrokerCredentialOptions, DEFAULT_INTERACTIVE_TIMEOUT,
};
pub use pop_authorization_policy::PopAuthorizationPolicy;
pub use shared_token_cache_credential::SharedTokenCacheCredential;
pub use shared_token_cache_credential_options::SharedTokenCacheCredentialOptions;

#[cfg(feature = "test-util")]
pub(crate) use credential_config::Surroundings;

#[cfg(feature = "fuzzing")]
pub(crate) use credential_persistence::fuzz_token_response;
