//! The OAuth 2.0 public client: protocol values, PKCE and the other sign-in secrets, the token
//! endpoint, the loopback redirect receiver, the authorize URL handler and the browser flow,
//! and the device code flow (its endpoint, the prompt, the polling) with the check whether a
//! browser here can reach the loopback at all.
//!
//! It names nothing of the platform brokers, the credential or the token cache: the token
//! endpoint reports the tokens it got, and whoever asked keeps them (`cargo xtask tidy`
//! checks this).

mod aad_error_codes;
mod access_token_info;
mod authority_client;
mod authority_error;
mod authority_host;
mod authorization_code;
mod authorization_request;
mod authorize_url_handler;
mod client_id;
mod device_authorization;
mod device_code_flow;
mod device_code_prompt;
mod form_body;
mod headless;
mod id_token_claims;
mod interactive_browser_flow;
mod lazy_pipeline;
mod loopback_receiver;
mod pkce_verifier;
mod redirect_uri;
mod refresh_token;
mod secret_type;
mod tenant_id;
mod token_endpoint;
#[cfg(test)]
mod token_endpoint_faults;
mod token_response;
mod token_type;

pub use access_token_info::AccessTokenInfo;
pub use authority_client::DEFAULT_REQUEST_TIMEOUT;
pub use authority_host::AuthorityHost;
pub use authorize_url_handler::{AuthorizeUrlCallback, AuthorizeUrlHandler};
pub use client_id::ClientId;
pub use device_code_prompt::{DeviceCodePrompt, DeviceCodePromptCallback, DeviceCodePromptFn};
pub use headless::Headless;
pub use redirect_uri::RedirectUri;
pub use tenant_id::TenantId;
pub use token_type::TokenType;

pub(crate) use aad_error_codes::{aadsts_codes, names_redirect_uri_problem};
pub(crate) use authority_client::AuthorityClient;
pub(crate) use authorization_request::with_oidc_scopes;
pub(crate) use device_code_flow::DeviceCodeFlow;
pub(crate) use interactive_browser_flow::InteractiveBrowserFlow;
#[cfg(feature = "test-util")]
pub(crate) use lazy_pipeline::default_clients_built;
pub(crate) use refresh_token::RefreshToken;
pub(crate) use token_endpoint::{Grant, TokenEndpoint, DEVICE_CODE_GRANT_TYPE};
pub(crate) use token_response::{IdTokenAccount, ResponseDetails, TokenResponse};

#[cfg(feature = "fuzzing")]
pub(crate) use device_code_flow::fuzz_responses as fuzz_device_code_responses;
#[cfg(feature = "fuzzing")]
pub(crate) use loopback_receiver::handle_raw_request;
#[cfg(feature = "fuzzing")]
pub(crate) use token_endpoint::parse_raw_response;
