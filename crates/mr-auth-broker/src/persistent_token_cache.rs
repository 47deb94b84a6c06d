use crate::{
    cache_file,
    cache_lock::{CacheLock, DEFAULT_LOCK_TIMEOUT},
    Error, ErrorKind, MsalTokenCache, Result,
};
use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};
use zeroize::Zeroizing;

/// The cache name shared with Microsoft's developer tools (Azure CLI, Visual Studio,
/// azure-identity's `SharedTokenCacheCredential`).
pub const DEFAULT_CACHE_NAME: &str = "msal.cache";

/// Where and how a credential keeps its tokens between processes, as Python's
/// `azure-identity` `TokenCachePersistenceOptions`.
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
/// [`ErrorKind::PersistentCache`].
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

/// Where a cache is kept.
#[derive(Debug, Clone)]
enum Store {
    /// A plaintext file (mode 0600).
    PlaintextFile(PathBuf),
    /// A DPAPI-encrypted file.
    #[cfg(windows)]
    DpapiFile(PathBuf),
    /// The Secret Service, with a signal file.
    #[cfg(target_os = "linux")]
    SecretService(crate::secret_service_store::SecretServiceStore),
}

/// The persistent token cache: an [`MsalTokenCache`] document in the platform's store,
/// read and changed under MSAL's cross-process lock (`<cache file>.lockfile`), so that two
/// processes writing at once lose no entry.
///
/// Every change is read-modify-write under the lock ([`modify`](Self::modify)); a document that
/// cannot be parsed is reported and left as it is, never overwritten.
#[derive(Clone)]
pub struct PersistentTokenCache {
    store: Store,
    lock_file: PathBuf,
    lock_timeout: Duration,
}

impl fmt::Debug for PersistentTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentTokenCache")
            .field("store", &self.describe())
            .field("lock_file", &self.lock_file)
            .finish_non_exhaustive()
    }
}

/// What the cache's location and store are derived from: read from the process environment by
/// [`CacheEnvironment::from_env`], or given explicitly (tests, apps with their own settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheEnvironment {
    /// The user's home directory (`HOME`): Linux and macOS caches live in
    /// `<home>/.IdentityService`.
    pub home: Option<PathBuf>,
    /// `LOCALAPPDATA`: Windows caches live in `<local app data>\.IdentityService`.
    pub local_app_data: Option<PathBuf>,
    /// `DBUS_SESSION_BUS_ADDRESS`: the session bus the Secret Service is looked for on (Linux);
    /// `None` lets D-Bus find the user's session bus as usual.
    pub session_bus_address: Option<String>,
}

impl CacheEnvironment {
    /// `HOME`, `LOCALAPPDATA` and `DBUS_SESSION_BUS_ADDRESS` (empty values count as unset).
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            home: var("HOME"),
            local_app_data: var("LOCALAPPDATA"),
            session_bus_address: var("DBUS_SESSION_BUS_ADDRESS")
                .and_then(|p| p.into_os_string().into_string().ok()),
        }
    }

    /// Directories given explicitly, and the session bus D-Bus finds by itself.
    pub fn new(home: Option<PathBuf>, local_app_data: Option<PathBuf>) -> Self {
        Self {
            home,
            local_app_data,
            session_bus_address: None,
        }
    }

    /// The same, with the session bus at `address` (a D-Bus address such as
    /// `unix:path=/run/user/1000/bus`).
    #[must_use]
    pub fn with_session_bus_address(mut self, address: impl Into<String>) -> Self {
        self.session_bus_address = Some(address.into());
        self
    }
}

impl PersistentTokenCache {
    /// Opens the cache `options` describe for the CAE mode `cae`, in the platform's store (see
    /// [`TokenCachePersistenceOptions`]), with the directories from the environment.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a name that is not a plain file name;
    /// [`ErrorKind::PersistentCache`] when no encrypted store is available and
    /// `allow_unencrypted_storage` is off, or no home / local app data directory is known.
    pub async fn open(options: &TokenCachePersistenceOptions, cae: bool) -> Result<Self> {
        Self::open_in(options, cae, &CacheEnvironment::from_env()).await
    }

    /// [`open`](Self::open) with the directories given.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn open_in(
        options: &TokenCachePersistenceOptions,
        cae: bool,
        dirs: &CacheEnvironment,
    ) -> Result<Self> {
        let name = stored_name(&options.name, cae)?;
        let store = platform_store(&name, options.allow_unencrypted_storage, dirs).await?;
        Ok(Self::with_store(store))
    }

    /// A plaintext cache file at `path` (mode 0600), whatever the platform: for tools that
    /// manage their own location and accept unencrypted storage.
    pub fn plaintext_file(path: impl Into<PathBuf>) -> Self {
        Self::with_store(Store::PlaintextFile(path.into()))
    }

    fn with_store(store: Store) -> Self {
        let data_path = match &store {
            Store::PlaintextFile(p) => p.clone(),
            #[cfg(windows)]
            Store::DpapiFile(p) => p.clone(),
            #[cfg(target_os = "linux")]
            Store::SecretService(s) => s.signal_file().clone(),
        };
        Self {
            lock_file: cache_file::lock_path_for(&data_path),
            store,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// How long to wait for another process's lock (default 60 s, as MSAL .NET).
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Where the cache is, for messages and `mr-auth` output: the file, or the Secret Service
    /// item's schema.
    pub fn describe(&self) -> String {
        match &self.store {
            Store::PlaintextFile(p) => format!("plaintext file {}", p.display()),
            #[cfg(windows)]
            Store::DpapiFile(p) => format!("DPAPI-encrypted file {}", p.display()),
            #[cfg(target_os = "linux")]
            Store::SecretService(s) => {
                format!("Secret Service (signal file {})", s.signal_file().display())
            }
        }
    }

    /// Whether the cache is stored without encryption.
    pub fn is_plaintext(&self) -> bool {
        matches!(self.store, Store::PlaintextFile(_))
    }

    /// The cache as stored now (empty when nothing was stored yet), read under the lock.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PersistentCache`] when the store cannot be read, the lock is not obtained in
    /// time, or the document is corrupt.
    pub async fn load(&self) -> Result<MsalTokenCache> {
        let _lock = CacheLock::acquire(self.lock_file.clone(), self.lock_timeout).await?;
        self.read_unlocked().await
    }

    /// Reads the cache, lets `change` modify it, and writes it back, all under the
    /// cross-process lock, so that concurrent writers in other processes lose no entry.
    /// Nothing is written when the stored document cannot be parsed.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), and when the store cannot be written.
    pub async fn modify<R>(&self, change: impl FnOnce(&mut MsalTokenCache) -> R) -> Result<R> {
        let _lock = CacheLock::acquire(self.lock_file.clone(), self.lock_timeout).await?;
        let mut cache = self.read_unlocked().await?;
        let result = change(&mut cache);
        let bytes = cache.to_vec();
        self.write_unlocked(bytes).await?;
        Ok(result)
    }

    async fn read_unlocked(&self) -> Result<MsalTokenCache> {
        let bytes = match &self.store {
            Store::PlaintextFile(p) => blocking_read(p.clone()).await?,
            #[cfg(windows)]
            Store::DpapiFile(p) => match blocking_read(p.clone()).await? {
                Some(sealed) => Some(crate::dpapi::unprotect(&sealed)?),
                None => None,
            },
            #[cfg(target_os = "linux")]
            Store::SecretService(s) => s.load().await?,
        };
        let Some(bytes) = bytes else {
            return Ok(MsalTokenCache::new());
        };
        let cache = MsalTokenCache::from_slice(&bytes).map_err(|e| {
            tracing::warn!(cache = %self.describe(), error = %e, "the persistent token cache cannot be read");
            e
        })?;
        if cache.skipped_entries() > 0 {
            tracing::warn!(
                cache = %self.describe(),
                skipped = cache.skipped_entries(),
                "entries of the persistent token cache could not be read and were skipped (they are kept)"
            );
        }
        Ok(cache)
    }

    async fn write_unlocked(&self, bytes: Zeroizing<Vec<u8>>) -> Result<()> {
        match &self.store {
            Store::PlaintextFile(p) => blocking_write(p.clone(), bytes).await,
            #[cfg(windows)]
            Store::DpapiFile(p) => {
                let sealed = Zeroizing::new(crate::dpapi::protect(&bytes)?);
                blocking_write(p.clone(), sealed).await
            }
            #[cfg(target_os = "linux")]
            Store::SecretService(s) => {
                s.save(&bytes).await?;
                Ok(())
            }
        }
    }
}

async fn blocking_read(path: PathBuf) -> Result<Option<Zeroizing<Vec<u8>>>> {
    tokio::task::spawn_blocking(move || cache_file::read_bounded(&path))
        .await
        .map_err(join_error)?
}

async fn blocking_write(path: PathBuf, bytes: Zeroizing<Vec<u8>>) -> Result<()> {
    tokio::task::spawn_blocking(move || cache_file::write_atomically(&path, &bytes))
        .await
        .map_err(join_error)?
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::new(
        ErrorKind::PersistentCache,
        format!("the token cache file task failed: {e}"),
    )
}

/// `<name>.nocae` or `<name>.cae`, after checking that `name` is a plain file name.
fn stored_name(name: &str, cae: bool) -> Result<String> {
    let plain = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return Err(Error::invalid_input(format!(
            "token cache name {name:?} must be a plain file name (letters, digits, '.', '-', '_')"
        )));
    }
    Ok(format!("{name}{}", if cae { ".cae" } else { ".nocae" }))
}

fn identity_service_dir(base: Option<&Path>, what: &str) -> Result<PathBuf> {
    base.map(|b| b.join(".IdentityService")).ok_or_else(|| {
        Error::new(
            ErrorKind::PersistentCache,
            format!("cannot place the token cache: {what} is not set"),
        )
    })
}

#[allow(
    clippy::unused_async,
    reason = "async on Linux, where the Secret Service is probed over D-Bus"
)]
async fn platform_store(
    name: &str,
    allow_unencrypted: bool,
    dirs: &CacheEnvironment,
) -> Result<Store> {
    #[cfg(windows)]
    {
        let _ = allow_unencrypted;
        let dir = identity_service_dir(dirs.local_app_data.as_deref(), "LOCALAPPDATA")?;
        Ok(Store::DpapiFile(dir.join(name)))
    }
    #[cfg(target_os = "linux")]
    {
        let file = identity_service_dir(dirs.home.as_deref(), "HOME")?.join(name);
        let store = crate::secret_service_store::SecretServiceStore::new(
            name.to_owned(),
            file.clone(),
            dirs.session_bus_address.clone(),
        );
        if store.is_available().await {
            return Ok(Store::SecretService(store));
        }
        if allow_unencrypted {
            tracing::warn!(
                path = %file.display(),
                "no Secret Service on the session bus: the token cache is stored unencrypted (allow_unencrypted_storage)"
            );
            return Ok(Store::PlaintextFile(file));
        }
        Err(Error::new(
            ErrorKind::PersistentCache,
            "no Secret Service (GNOME Keyring, KWallet) answers on the session bus, so the token \
             cache cannot be encrypted; start one (a desktop session has one), or set \
             allow_unencrypted_storage to keep the cache in a 0600 file in ~/.IdentityService",
        ))
    }
    #[cfg(not(any(windows, target_os = "linux")))]
    {
        let file = identity_service_dir(dirs.home.as_deref(), "HOME")?.join(name);
        if allow_unencrypted {
            return Ok(Store::PlaintextFile(file));
        }
        Err(Error::new(
            ErrorKind::PersistentCache,
            "an encrypted token cache is not supported on this platform yet (the macOS Keychain \
             is not implemented); set allow_unencrypted_storage to keep it in a 0600 file",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_the_cae_suffix_and_must_be_plain() {
        assert_eq!(
            stored_name("msal.cache", false).unwrap(),
            "msal.cache.nocae"
        );
        assert_eq!(stored_name("msal.cache", true).unwrap(), "msal.cache.cae");
        for bad in ["", "..", "a/b", "a\\b", "a b", "é"] {
            assert_eq!(
                stored_name(bad, false).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[cfg(not(windows))]
    #[tokio::test]
    async fn without_home_there_is_no_place_for_the_cache() {
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            PersistentTokenCache::open_in(&options, false, &CacheEnvironment::default()),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PersistentCache);
        assert!(err.to_string().contains("HOME"), "{err}");
    }
}
