//! The persistent token cache flags shared by `login`, `token --aad` and the commands that
//! read what `login` saved.

use clap::Args;
use mr_auth_msal_cache::{PersistentTokenCache, TokenCachePersistenceOptions, DEFAULT_CACHE_NAME};

/// Where the tokens are kept between runs.
#[derive(Debug, Clone, Args)]
pub(crate) struct CacheArgs {
    /// The persistent token cache's name: apps that use the same name and client id share the
    /// sign-in (Linux: a Secret Service item; Windows: a DPAPI-encrypted file in
    /// %LOCALAPPDATA%\.IdentityService) [default: msal.cache, or what `mr-auth login` used]
    #[arg(long, env = "MR_AUTH_CACHE_NAME", value_name = "NAME")]
    pub(crate) cache_name: Option<String>,
    /// Keep the cache in a plaintext file (~/.IdentityService/NAME, mode 0600) where no
    /// encrypted store is available (no Secret Service). Anyone who can read that file can
    /// use your sign-in
    #[arg(long)]
    pub(crate) allow_unencrypted_storage: bool,
}

impl CacheArgs {
    /// The cache options: these flags, else what `login` saved (`saved`: name and
    /// allow-unencrypted), else the defaults.
    pub(crate) fn persistence(&self, saved: Option<(&str, bool)>) -> TokenCachePersistenceOptions {
        TokenCachePersistenceOptions {
            name: self
                .cache_name
                .clone()
                .or_else(|| saved.map(|(name, _)| name.to_owned()))
                .unwrap_or_else(|| DEFAULT_CACHE_NAME.to_owned()),
            allow_unencrypted_storage: self.allow_unencrypted_storage
                || saved.is_some_and(|(_, allow)| allow),
        }
    }
}

/// Says on stderr when the cache `options` open is a plaintext file, once per command.
pub(crate) async fn warn_if_plaintext(options: &TokenCachePersistenceOptions) {
    if !options.allow_unencrypted_storage {
        return;
    }
    if let Ok(cache) = PersistentTokenCache::open(options, false).await {
        if cache.is_plaintext() {
            eprintln!(
                "mr-auth: warning: tokens are stored unencrypted in the {} (no encrypted store is available)",
                cache.describe()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_then_saved_settings_then_defaults() {
        let none = CacheArgs {
            cache_name: None,
            allow_unencrypted_storage: false,
        };
        assert_eq!(
            none.persistence(None),
            TokenCachePersistenceOptions::default()
        );
        let saved = none.persistence(Some(("team.cache", true)));
        assert_eq!(saved.name, "team.cache");
        assert!(saved.allow_unencrypted_storage);
        let flags = CacheArgs {
            cache_name: Some("mine".into()),
            allow_unencrypted_storage: true,
        };
        let given = flags.persistence(Some(("team.cache", false)));
        assert_eq!(given.name, "mine");
        assert!(given.allow_unencrypted_storage);
    }
}
