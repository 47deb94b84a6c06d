#![doc = include_str!("../README.md")]
// `deny`, not `forbid`: the WAM module's Windows-only FFI files opt back in, each `unsafe`
// block with a SAFETY comment; everything else in this crate stays safe code.
#![deny(unsafe_code)]
// A function is one step: longer than 80 lines (clippy.toml) it is split by concept.
#![warn(clippy::too_many_lines)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) marks feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod credential;
mod error;
mod oauth;
mod platform;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use credential::{
    AdditionallyAllowedTenants, AuthenticationRecord, BrokerTokenRequestOptions,
    DeviceCodeCredential, DeviceCodeCredentialOptions, InteractiveBrowserBrokerCredential,
    InteractiveBrowserBrokerCredentialOptions, PopAuthorizationPolicy, SharedTokenCacheCredential,
    SharedTokenCacheCredentialOptions, AUTHENTICATION_RECORD_VERSION, DEFAULT_INTERACTIVE_TIMEOUT,
};
pub use error::{Error, ErrorKind, Result};
pub use mr_auth_core::{EnvironmentSource, ProcessEnvironment};
// The MSAL token cache is its own crate (`mr-auth-msal-cache`); the types a user of the
// credential meets keep their paths here.
pub use mr_auth_msal_cache::{
    CacheWrite, CachedAccessToken, CachedAccount, MsalTokenCache, PersistentTokenCache,
    TokenCachePersistenceOptions, DEFAULT_CACHE_NAME, MAX_CACHE_BYTES,
};
pub use oauth::{
    AccessTokenInfo, AuthorityHost, AuthorizeUrlCallback, AuthorizeUrlHandler, ClientId,
    DeviceCodePrompt, DeviceCodePromptCallback, DeviceCodePromptFn, Headless, RedirectUri,
    TenantId, TokenType, DEFAULT_REQUEST_TIMEOUT,
};
pub use platform::{
    default_platform_broker, BrokerAccount, BrokerMode, BrokerRequest, BrokerToken, LinuxBroker,
    LinuxBrokerOptions, ParentWindowHandle, PlatformBroker, PopMethod, PopParameters,
};

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/broker_*.rs`): each runs one parser of
/// untrusted input on arbitrary bytes and must never panic. Not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// The loopback receiver's handling of one connection's raw bytes (a browser's, or any
    /// local process's, request).
    pub fn loopback_request(data: &[u8]) {
        crate::oauth::handle_raw_request(data);
    }

    /// The token endpoint's response parsing: the first byte picks the HTTP status class, the
    /// rest is the body. A response that parses goes on as the credential takes it: its
    /// account record, and its entries in a token cache, which must read back.
    pub fn token_endpoint_response(data: &[u8]) {
        let clock = mr_auth_core::ManualClock::at_fixed_start();
        if let Some(response) = crate::oauth::parse_raw_response(data, &clock) {
            crate::credential::fuzz_token_response(&response, mr_auth_core::Clock::now(&clock));
        }
    }

    /// The device code sign-in's answers: the devicecode endpoint's (the device authorization
    /// or a refusal), then the token endpoint's to each poll (pending, `slow_down`, declined,
    /// expired, a bad code, throttling, tokens), polled on a paused clock; the layout is in
    /// `device_code_flow::fuzz_responses`.
    pub fn device_code_responses(data: &[u8]) {
        crate::oauth::fuzz_device_code_responses(data);
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
        crate::platform::fuzz_wam_response(data);
    }

    /// The Linux broker's answers (token, accounts, version) on arbitrary bytes.
    pub fn linux_broker_response(data: &[u8]) {
        crate::platform::fuzz_linux_response(data);
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
