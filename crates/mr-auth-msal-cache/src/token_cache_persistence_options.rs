use crate::{Error, ErrorKind, Result};

/// The cache name shared with Microsoft's developer tools (Azure CLI, Visual Studio,
/// azure-identity's `SharedTokenCacheCredential`).
pub const DEFAULT_CACHE_NAME: &str = "msal.cache";

/// The longest cache name accepted.
const MAX_NAME_LEN: usize = 200;

/// Where and how a credential keeps its tokens between processes, as Python's
/// `azure-identity` `TokenCachePersistenceOptions`; open the cache they describe with
/// [`PersistentTokenCache::open`](crate::PersistentTokenCache::open).
///
/// The stored name gets `.nocae` or `.cae` appended (one cache per continuous-access-evaluation
/// mode), as azure-identity does, so a Rust app and a Python app with the same `name` and client
/// id share their sign-in:
///
/// | platform | where | encrypted by |
/// |---|---|---|
/// | Linux | the Secret Service (GNOME Keyring, KWallet): item labelled `MSALCache` with `xdg:schema=<name>.nocae` and `MsalClientID=Microsoft.Developer.IdentityService`, plus the signal file `~/.IdentityService/<name>.nocae` | the keyring |
/// | Windows | `%LOCALAPPDATA%\.IdentityService\<name>.nocae` | DPAPI, for the signed-in user |
/// | Linux without a Secret Service, with `allow_unencrypted_storage` | `~/.IdentityService/<name>.nocae`, mode 0600 | nothing: file permissions only |
///
/// Other platforms (macOS' Keychain) are not supported yet: opening a cache there fails with
/// [`ErrorKind::Unsupported`], unless `allow_unencrypted_storage` allows the plaintext file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCachePersistenceOptions {
    /// The cache's name; apps that use the same name (and client id) share sign-in.
    /// Default [`DEFAULT_CACHE_NAME`].
    pub name: String,
    /// Whether to fall back to a plaintext file (mode 0600) when no encrypted store is
    /// available. Default `false`: then a missing store is an error that says so. The file then
    /// holds refresh tokens that give access to the account: protecting it is the
    /// application's job.
    pub allow_unencrypted_storage: bool,
}

impl Default for TokenCachePersistenceOptions {
    fn default() -> Self {
        Self {
            name: DEFAULT_CACHE_NAME.to_owned(),
            allow_unencrypted_storage: false,
        }
    }
}

impl TokenCachePersistenceOptions {
    /// `<name>.nocae` or `<name>.cae`, after checking that `name` is a plain file name.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a name that is not a plain file name.
    pub(crate) fn stored_name(&self, cae: bool) -> Result<String> {
        let name = &self.name;
        let plain = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !plain {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "token cache name {name:?} must be a plain file name (letters, digits, '.', \
                     '-', '_')"
                ),
            ));
        }
        Ok(format!("{name}{}", if cae { ".cae" } else { ".nocae" }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> TokenCachePersistenceOptions {
        TokenCachePersistenceOptions {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn names_get_the_cae_suffix_and_must_be_plain() {
        let default = TokenCachePersistenceOptions::default();
        assert_eq!(default.stored_name(false).unwrap(), "msal.cache.nocae");
        assert_eq!(default.stored_name(true).unwrap(), "msal.cache.cae");
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in ["", ".", "..", "a/b", "a\\b", "a b", "é", &too_long] {
            assert_eq!(
                named(bad).stored_name(false).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }
}
