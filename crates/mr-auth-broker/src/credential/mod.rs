//! The credential: [`InteractiveBrowserBrokerCredential`] and its options, their validated
//! configuration, the silent and interactive steps, the persistent cache's wiring,
//! [`AuthenticationRecord`] and the proof-of-possession pipeline policy.

mod acquisition;
mod additionally_allowed_tenants;
mod authentication_record;
mod broker_token_request_options;
mod credential_config;
mod credential_persistence;
mod interactive_browser_broker_credential;
mod interactive_browser_broker_credential_options;
mod pop_authorization_policy;
mod token_request;

pub use additionally_allowed_tenants::AdditionallyAllowedTenants;
pub use authentication_record::{AuthenticationRecord, AUTHENTICATION_RECORD_VERSION};
pub use broker_token_request_options::BrokerTokenRequestOptions;
pub use interactive_browser_broker_credential::InteractiveBrowserBrokerCredential;
pub use interactive_browser_broker_credential_options::{
    InteractiveBrowserBrokerCredentialOptions, DEFAULT_INTERACTIVE_TIMEOUT, DEFAULT_LOOPBACK_PORTS,
};
pub use pop_authorization_policy::PopAuthorizationPolicy;
