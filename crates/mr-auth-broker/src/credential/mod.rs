//! The credential: [`InteractiveBrowserBrokerCredential`] and its options, their validated
//! configuration, what it remembers between requests, the silent chain, the interactive
//! sign-in, the persistent cache's wiring, [`AuthenticationRecord`] and the
//! proof-of-possession pipeline policy. It builds on `oauth/` and `platform/`.

mod additionally_allowed_tenants;
mod authentication_record;
mod broker_token_request_options;
mod cache_error;
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

#[cfg(feature = "fuzzing")]
pub(crate) use credential_persistence::fuzz_token_response;
