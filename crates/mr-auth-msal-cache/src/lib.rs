#![doc = include_str!("../README.md")]
// `deny`, not `forbid`: the Windows-only DPAPI and file identity modules opt back in, each
// `unsafe` block with a SAFETY comment; everything else in this crate stays safe code.
#![deny(unsafe_code)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) marks feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
// No function longer than 80 lines (clippy.toml's threshold).
#![warn(clippy::too_many_lines)]

mod cache_entries;
mod cache_file;
mod cache_keys;
mod cache_lock;
mod cache_store;
mod cache_write;
mod cached_account_text;
mod client_info;
#[cfg(windows)]
#[allow(unsafe_code, reason = "CryptProtectData/CryptUnprotectData (FFI)")]
mod dpapi;
mod dpapi_store;
mod error;
#[cfg(windows)]
#[allow(unsafe_code, reason = "GetFileInformationByHandle (FFI)")]
mod file_identity;
mod file_store;
mod msal_token_cache;
mod persistent_token_cache;
mod platform_store;
mod same_environment;
mod secret_service_store;
mod token_cache_persistence_options;
mod token_secrets;

pub use cache_lock::DEFAULT_LOCK_TIMEOUT;
pub use cache_store::CacheStore;
pub use cache_write::CacheWrite;
pub use cached_account_text::describe_accounts;
pub use client_info::ClientInfo;
pub use dpapi_store::DpapiFileStore;
pub use error::{Error, ErrorKind, Result};
pub use file_store::FileStore;
#[doc(no_inline)]
pub use mr_auth_core::{EnvironmentMap, EnvironmentSource, ProcessEnvironment};
pub use msal_token_cache::{CachedAccessToken, CachedAccount, MsalTokenCache, MAX_CACHE_BYTES};
pub use persistent_token_cache::PersistentTokenCache;
pub use same_environment::same_environment;
pub use secret_service_store::SecretServiceStore;
pub use token_cache_persistence_options::{TokenCachePersistenceOptions, DEFAULT_CACHE_NAME};
pub use token_secrets::{AccessTokenSecret, IdTokenSecret, RefreshTokenSecret};

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/msal_cache_*.rs`): each runs one
/// parser of untrusted input on arbitrary bytes and must never panic. Not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// A persistent token cache document (another app's file, or a corrupt one): parsed,
    /// searched, added to and written back; what was read must survive the write.
    pub fn msal_cache_document(data: &[u8]) {
        let Ok(mut cache) = crate::MsalTokenCache::from_slice(data) else {
            return;
        };
        let accounts = cache.accounts(None);
        for account in &accounts {
            let _ = cache.refresh_token("c", &account.home_account_id, &account.environment);
        }
        let written = cache.to_vec();
        let again = crate::MsalTokenCache::from_slice(&written)
            .unwrap_or_else(|e| panic!("a cache this crate wrote does not parse: {e}"));
        assert_eq!(
            again.accounts(None).len(),
            accounts.len(),
            "accounts lost on write"
        );
        // A sign-in written into it: the other entries stay readable.
        let write = crate::CacheWrite {
            client_id: "fuzz-client".to_owned(),
            environment: "login.microsoftonline.com".to_owned(),
            refresh_token: Some(crate::RefreshTokenSecret::new("fuzz-rt")),
            // {"uid":"u","utid":"t"}
            client_info: Some("eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ".to_owned()),
            ..Default::default()
        };
        let before = cache.skipped_entries();
        if cache.add(&write).is_ok() {
            let after = crate::MsalTokenCache::from_slice(&cache.to_vec())
                .unwrap_or_else(|e| panic!("a cache this crate wrote does not parse: {e}"));
            assert!(
                after.skipped_entries() <= before,
                "adding made entries unreadable"
            );
            assert!(
                after
                    .refresh_token("fuzz-client", "u.t", "login.microsoftonline.com")
                    .is_some(),
                "the refresh token just added is not found"
            );
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_entry_survives_garbage_and_near_misses() {
            let inputs: [&[u8]; 8] = [
                b"",
                b"\xff\xfe\x00",
                b"[]",
                b"{\"RefreshToken\": 5}",
                b"{\"RefreshToken\": {\"k\": {\"secret\": 1}}}",
                b"{\"Account\": {\"u.t-login.microsoftonline.com-t\": {\"home_account_id\": \"u.t\", \"environment\": \"login.microsoftonline.com\"}}}",
                b"{\"AccessToken\": {\"k\": {\"secret\": \"s\", \"home_account_id\": \"h\", \"environment\": \"e\", \"client_id\": \"c\", \"expires_on\": 99999999999999999}}}",
                b"{\"RefreshToken\": {\"u.t-login.microsoftonline.com-refreshtoken-fuzz-client--\": [1]}}",
            ];
            for input in inputs {
                super::msal_cache_document(input);
            }
        }
    }
}
