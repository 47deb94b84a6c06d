//! The OAuth 2.0 public client: protocol values, PKCE, the authorization code, the token
//! endpoint, the loopback redirect receiver, the authorize URL handler and the browser flow.

mod access_token_info;
mod authority_host;
mod authorization_code;
mod authorize_url_handler;
mod client_id;
mod interactive_browser_flow;
mod loopback_receiver;
mod pkce_verifier;
mod redirect_uri;
mod refresh_token;
mod tenant_id;
mod token_endpoint;
mod token_type;

pub use access_token_info::AccessTokenInfo;
pub use authority_host::AuthorityHost;
pub use authorize_url_handler::{AuthorizeUrlCallback, AuthorizeUrlHandler, SystemBrowser};
pub use client_id::ClientId;
pub use redirect_uri::RedirectUri;
pub use tenant_id::TenantId;
pub use token_type::TokenType;

pub(crate) use interactive_browser_flow::{with_oidc_scopes, InteractiveBrowserFlow};
pub(crate) use refresh_token::RefreshToken;
pub(crate) use token_endpoint::{Grant, TokenEndpoint, TokenResponse};

#[cfg(feature = "fuzzing")]
pub(crate) use loopback_receiver::handle_raw_request;
#[cfg(feature = "fuzzing")]
pub(crate) use token_endpoint::parse_raw_response;
