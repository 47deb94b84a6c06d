use crate::{
    cache_file, cache_lock::CacheLock, platform_store::platform_store, CacheStore, FileStore,
    MsalTokenCache, Result, TokenCachePersistenceOptions, DEFAULT_LOCK_TIMEOUT,
};
use mr_auth_core::{EnvironmentSource, ProcessEnvironment};
use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

/// The persistent token cache: an [`MsalTokenCache`] document in a [`CacheStore`], changed
/// under MSAL's cross-process lock (`<store location>.lockfile`), so that two processes
/// writing at once lose no entry (msal-extensions' `PersistedTokenCache`).
///
/// Every change is read-modify-write under the lock ([`modify`](Self::modify)); a document that
/// cannot be parsed is reported and left as it is, never overwritten. Reading
/// ([`load`](Self::load)) takes no lock: every store replaces its document atomically, so a
/// reader sees the old document or the new one (MSAL's extensions read without the lock too),
/// and a lock held by another process never delays a valid cached token.
///
/// ```no_run
/// use mr_auth_msal_cache::{PersistentTokenCache, TokenCachePersistenceOptions};
///
/// # async fn run() -> Result<(), mr_auth_msal_cache::Error> {
/// // The cache azure-identity and the Azure CLI's MSAL share (Secret Service, DPAPI).
/// let cache = PersistentTokenCache::open(&TokenCachePersistenceOptions::default(), false).await?;
/// for account in cache.load().await?.accounts(None) {
///     println!("{} at {}", account.username, account.environment);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PersistentTokenCache {
    store: Arc<dyn CacheStore>,
    lock_file: PathBuf,
    lock_timeout: Duration,
}

impl fmt::Debug for PersistentTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentTokenCache")
            .field("store", &self.describe())
            .field("lock_file", &self.lock_file)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

impl PersistentTokenCache {
    /// Opens the cache `options` describe for the CAE mode `cae`, in the platform's store (see
    /// [`TokenCachePersistenceOptions`]), placed by the process environment (`HOME`,
    /// `LOCALAPPDATA`, `DBUS_SESSION_BUS_ADDRESS`, `XDG_RUNTIME_DIR`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a name that is not a
    /// plain file name; [`ErrorKind::StoreUnavailable`](crate::ErrorKind::StoreUnavailable)
    /// when no Secret Service answers and `allow_unencrypted_storage` is off, or the home / local
    /// app data directory is not set; [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)
    /// where this crate has no encrypted store (macOS) and `allow_unencrypted_storage` is off.
    pub async fn open(options: &TokenCachePersistenceOptions, cae: bool) -> Result<Self> {
        Self::open_with_environment(options, cae, &ProcessEnvironment).await
    }

    /// [`open`](Self::open) with the variables read from `env` instead of the process
    /// environment: for applications that place the cache themselves, and for tests.
    ///
    /// ```no_run
    /// use mr_auth_core::EnvironmentMap;
    /// use mr_auth_msal_cache::{PersistentTokenCache, TokenCachePersistenceOptions};
    ///
    /// # async fn run() -> Result<(), mr_auth_msal_cache::Error> {
    /// let env = EnvironmentMap::new().with("HOME", "/srv/app").with("LOCALAPPDATA", "C:\\app");
    /// let options = TokenCachePersistenceOptions::default();
    /// let cache = PersistentTokenCache::open_with_environment(&options, false, &env).await?;
    /// # let _ = cache; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn open_with_environment(
        options: &TokenCachePersistenceOptions,
        cae: bool,
        env: &dyn EnvironmentSource,
    ) -> Result<Self> {
        let name = options.stored_name(cae)?;
        let store = platform_store(&name, options.allow_unencrypted_storage, env).await?;
        Ok(Self::with_store(store))
    }

    /// A plaintext cache file at `path` (mode 0600), whatever the platform: for tools that
    /// manage their own location and accept unencrypted storage.
    pub fn plaintext_file(path: impl Into<PathBuf>) -> Self {
        Self::with_store(Arc::new(FileStore::new(path)))
    }

    /// The cache in `store`: one of this crate's, or the application's own.
    pub fn with_store(store: Arc<dyn CacheStore>) -> Self {
        Self {
            lock_file: cache_file::lock_path_for(store.location()),
            store,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// How long to wait for another process's lock before failing with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout). Default [`DEFAULT_LOCK_TIMEOUT`]
    /// (60 s, as MSAL .NET); the lock is tried every 100 ms.
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Where the cache is, for messages and `mr-auth` output: the file, or the Secret Service
    /// item.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Whether the cache is stored without encryption.
    pub fn is_plaintext(&self) -> bool {
        self.store.is_plaintext()
    }

    /// The lock file other processes coordinate on (`<store location>.lockfile`).
    pub fn lock_file(&self) -> &Path {
        &self.lock_file
    }

    /// The cache as stored now (empty when nothing was stored yet). It takes no lock (writers
    /// replace the document atomically), so it never waits for another process.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidDocument`](crate::ErrorKind::InvalidDocument) when the stored
    /// document is not an MSAL cache (or not a regular file); the store's error when it cannot
    /// be read.
    pub async fn load(&self) -> Result<MsalTokenCache> {
        self.read_unlocked().await
    }

    /// Checks that the cache can be read and written now, without changing it and without
    /// waiting for the lock: the stored document parses, and the store could save
    /// ([`CacheStore::check_writable`]: a private, writable directory; a Secret Service default
    /// collection that persists). Call it before work whose tokens must be kept, such as an
    /// interactive sign-in, so that a broken cache is reported before the user signs in.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), and the store's error when it could not be written.
    pub async fn check_access(&self) -> Result<()> {
        self.read_unlocked().await?;
        self.store.check_writable().await
    }

    /// Removes what writers killed in the middle of a save left behind (a file store's
    /// temporary files, holding a whole document with its refresh tokens), never anyone else's
    /// files; how many. Every [`modify`](Self::modify) does this too; call it when signing out.
    ///
    /// # Errors
    ///
    /// The store's, when its location cannot be listed.
    pub async fn remove_leftovers(&self) -> Result<usize> {
        self.store.remove_leftovers().await
    }

    /// Reads the cache, lets `change` modify it, and writes it back, all under the
    /// cross-process lock, so that concurrent writers in other processes lose no entry.
    /// Nothing is written when the stored document cannot be parsed.
    ///
    /// While another process holds the lock, this waits (an `info` event says which lock, who
    /// holds it and for how long at most) up to the lock timeout.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when another process held the lock
    /// too long (naming the lock and its holder); as [`load`](Self::load); and the store's
    /// error when it cannot be written.
    pub async fn modify<R>(&self, change: impl FnOnce(&mut MsalTokenCache) -> R) -> Result<R> {
        let _lock = CacheLock::acquire(self.lock_file.clone(), self.lock_timeout).await?;
        let mut cache = self.read_unlocked().await?;
        let result = change(&mut cache);
        self.store.save(&cache.to_vec()).await?;
        Ok(result)
    }

    async fn read_unlocked(&self) -> Result<MsalTokenCache> {
        let Some(bytes) = self.store.load().await? else {
            return Ok(MsalTokenCache::new());
        };
        let cache = MsalTokenCache::from_slice(&bytes)
            .map_err(|e| e.at(&self.describe()))
            .inspect_err(|e| {
                tracing::warn!(error = %e, "the persistent token cache cannot be read");
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use mr_auth_core::EnvironmentMap;

    #[cfg(not(windows))]
    #[tokio::test]
    async fn without_home_there_is_no_place_for_the_cache() {
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            PersistentTokenCache::open_with_environment(&options, false, &EnvironmentMap::new()),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
        assert!(err.to_string().contains("HOME"), "{err}");
    }

    #[cfg(windows)]
    #[tokio::test]
    async fn without_local_app_data_there_is_no_place_for_the_cache() {
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            PersistentTokenCache::open_with_environment(
                &TokenCachePersistenceOptions::default(),
                false,
                &EnvironmentMap::new().with("HOME", "C:\\users\\a"),
            ),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
        assert!(err.to_string().contains("LOCALAPPDATA"), "{err}");
    }

    #[tokio::test]
    async fn a_bad_name_is_refused_before_any_store_is_looked_for() {
        let options = TokenCachePersistenceOptions {
            name: "../elsewhere".to_owned(),
            allow_unencrypted_storage: true,
        };
        let env = EnvironmentMap::new().with("HOME", "/nonexistent");
        let err = PersistentTokenCache::open_with_environment(&options, false, &env)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn the_lock_is_beside_the_store_s_location() {
        let cache = PersistentTokenCache::plaintext_file("/tmp/x/msal.cache.nocae");
        assert_eq!(
            cache.lock_file(),
            Path::new("/tmp/x/msal.cache.nocae.lockfile")
        );
        assert!(cache.is_plaintext());
        assert!(cache.describe().contains("/tmp/x/msal.cache.nocae"));
    }
}
