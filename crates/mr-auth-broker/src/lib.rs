#![doc = include_str!("../README.md")]
// `deny`, not `forbid`: the WAM module's Windows-only FFI files opt back in, each `unsafe`
// block with a SAFETY comment; everything else in this crate stays safe code.
#![deny(unsafe_code)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) marks feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod access_token_info;
mod acquisition;
mod additionally_allowed_tenants;
mod authentication_record;
mod authority_host;
mod authorization_code;
mod authorize_url_handler;
mod broker_mode;
mod broker_token_request_options;
mod client_id;
mod credential_config;
mod credential_persistence;
mod error;
mod interactive_browser_broker_credential;
mod interactive_browser_broker_credential_options;
mod interactive_browser_flow;
#[cfg(target_os = "linux")]
mod linux;
mod loopback_receiver;
mod parent_window_handle;
mod pkce_verifier;
mod platform_broker;
mod pop_authorization_policy;
mod pop_parameters;
mod redirect_uri;
mod refresh_token;
mod tenant_id;
mod token_endpoint;
mod token_request;
mod token_type;
mod wam;

pub use access_token_info::AccessTokenInfo;
pub use additionally_allowed_tenants::AdditionallyAllowedTenants;
pub use authentication_record::{AuthenticationRecord, AUTHENTICATION_RECORD_VERSION};
pub use authority_host::AuthorityHost;
pub use authorize_url_handler::{AuthorizeUrlCallback, AuthorizeUrlHandler, SystemBrowser};
pub use broker_mode::BrokerMode;
pub use broker_token_request_options::BrokerTokenRequestOptions;
pub use client_id::ClientId;
pub use error::{Error, ErrorKind, Result};
pub use interactive_browser_broker_credential::InteractiveBrowserBrokerCredential;
pub use interactive_browser_broker_credential_options::{
    InteractiveBrowserBrokerCredentialOptions, DEFAULT_INTERACTIVE_TIMEOUT, DEFAULT_LOOPBACK_PORTS,
};
#[cfg(target_os = "linux")]
pub use linux::{LinuxBroker, LinuxBrokerOptions};
pub use mr_auth_core::{EnvironmentSource, ProcessEnvironment};
// The MSAL token cache is its own crate; its types keep their paths here.
pub use mr_auth_msal_cache::{
    CacheWrite, CachedAccessToken, CachedAccount, MsalTokenCache, PersistentTokenCache,
    TokenCachePersistenceOptions, DEFAULT_CACHE_NAME, MAX_CACHE_BYTES,
};
pub use parent_window_handle::ParentWindowHandle;
pub use platform_broker::{
    default_platform_broker, BrokerAccount, BrokerRequest, BrokerToken, PlatformBroker,
};
pub use pop_authorization_policy::PopAuthorizationPolicy;
pub use pop_parameters::{PopMethod, PopParameters};
pub use redirect_uri::RedirectUri;
pub use tenant_id::TenantId;
pub use token_type::TokenType;

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/broker_*.rs`): each runs one parser of
/// untrusted input on arbitrary bytes and must never panic. Not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// The loopback receiver's handling of one connection's raw bytes (a browser's, or any
    /// local process's, request).
    pub fn loopback_request(data: &[u8]) {
        crate::loopback_receiver::handle_raw_request(data);
    }

    /// The token endpoint's response parsing: the first byte picks the HTTP status class, the
    /// rest is the body.
    pub fn token_endpoint_response(data: &[u8]) {
        crate::token_endpoint::parse_raw_response(data);
    }

    /// An `AuthenticationRecord` from an application's settings.
    pub fn authentication_record(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(record) = crate::AuthenticationRecord::from_json(text) {
            let again = crate::AuthenticationRecord::from_json(&record.to_json())
                .unwrap_or_else(|e| panic!("a record this crate wrote does not parse: {e}"));
            assert_eq!(again, record);
        }
    }

    /// WAM's response properties (`TokenExpiresOn`, `code`, ...) and account, as the Windows
    /// code copies them out of a `WebTokenResponse`; the layout is in `wam_response::fuzz`.
    pub fn wam_response_properties(data: &[u8]) {
        crate::wam::fuzz_response(data);
    }

    /// The Linux broker's answers (token, accounts, version) on arbitrary bytes.
    #[cfg(target_os = "linux")]
    pub fn linux_broker_response(data: &[u8]) {
        crate::linux::fuzz_response(data);
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_entries_survive_garbage_and_near_misses() {
            let inputs: [&[u8]; 10] = [
                b"",
                b"\xff\xfe\x00",
                b"GET / HTTP/1.1\r\n\r\n",
                b"GET /?state=fuzz-state&code=c HTTP/1.1\r\nHost: localhost:8400\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: localhost:8400\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999\r\n\r\nstate=fuzz-state",
                b"GET /?state=fuzz-state&error=%ff%fe HTTP/1.1\r\nHost: localhost:8400\r\n\r\n",
                b"\x00{\"access_token\":\"a\",\"expires_in\":\"-1\"}",
                // Long fuzz run: an expiry past the clock's range overflowed.
                b"\x00{\"access_token\":\"armr\",\"expires_in\":555500000670553598,\"refresh_token\":\"r\"}",
                b"\x01{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS\"}",
                b"\x00{\"access_token\":\"a\",\"expires_in\":9,\"client_info\":\"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ\",\"id_token\":\"e30.eyJleHAiOjF9.\",\"scope\":\" \"}",
            ];
            for input in inputs {
                super::loopback_request(input);
                super::token_endpoint_response(input);
                super::wam_response_properties(input);
            }
            let wam: [&[u8]; 5] = [
                b"tokensecretvalue0123\nweb-1\nsomeone@contoso.com\nTokenExpiresOn=1700000000\nAuthority=https://login.microsoftonline.com/common",
                b"t\n\n\ntokenexpireson= 99999999999999999999.5\ncode=transfersecret0123456",
                b"t\nw\n\nTokenExpiresOn=-1\nTokenExpiresOn=5\nwamcompat_id_token=a.b.c",
                b"\n\xff\n=\n==\ncode",
                // Long fuzz run: a property name whose tab Debug escapes as "\t" shows
                // "\transfer..."; the value itself is not shown.
                b"t\n\n\nx\transberseecrt0131728\nT\x00=transberseecrt0131728",
            ];
            for input in wam {
                super::wam_response_properties(input);
            }
        }
    }
}
