#![doc = include_str!("../README.md")]
// `deny`, not `forbid`: the WAM module's Windows-only FFI files opt back in, each `unsafe`
// block with a SAFETY comment; everything else in this crate stays safe code.
#![deny(unsafe_code)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) marks feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod access_token_info;
mod authority_host;
mod authorization_code;
mod broker_token_request_options;
mod browser_launcher;
mod client_id;
mod error;
mod interactive_browser_broker_credential;
mod interactive_browser_broker_credential_options;
mod interactive_browser_flow;
mod loopback_receiver;
mod no_platform_broker;
mod parent_window_handle;
mod pkce_verifier;
mod platform_broker;
mod pop_authorization_policy;
mod pop_parameters;
mod refresh_token;
mod tenant_id;
mod token_endpoint;
mod token_type;
mod wam;

pub use access_token_info::AccessTokenInfo;
pub use authority_host::AuthorityHost;
pub use broker_token_request_options::BrokerTokenRequestOptions;
pub use browser_launcher::{BrowserLauncher, SystemBrowser};
pub use client_id::ClientId;
pub use error::{Error, ErrorKind, Result};
pub use interactive_browser_broker_credential::InteractiveBrowserBrokerCredential;
pub use interactive_browser_broker_credential_options::{
    InteractiveBrowserBrokerCredentialOptions, DEFAULT_INTERACTIVE_TIMEOUT, DEFAULT_LOOPBACK_PORTS,
};
pub use no_platform_broker::NoPlatformBroker;
pub use parent_window_handle::ParentWindowHandle;
pub use platform_broker::{
    default_platform_broker, BrokerAccount, BrokerRequest, BrokerToken, PlatformBroker,
};
pub use pop_authorization_policy::PopAuthorizationPolicy;
pub use pop_parameters::{PopMethod, PopParameters};
pub use tenant_id::TenantId;
pub use token_type::TokenType;
