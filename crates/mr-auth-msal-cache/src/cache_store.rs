use crate::Result;
use async_trait::async_trait;
use std::{fmt, path::Path};
use zeroize::Zeroizing;

/// Where a [`PersistentTokenCache`](crate::PersistentTokenCache) keeps its document: the bytes
/// of one [`MsalTokenCache`](crate::MsalTokenCache), as msal-extensions' `BasePersistence`.
///
/// This crate has one store per file: [`FileStore`](crate::FileStore) (a plaintext 0600 file),
/// [`DpapiFileStore`](crate::DpapiFileStore) (Windows) and
/// [`SecretServiceStore`](crate::SecretServiceStore) (Linux).
/// [`PersistentTokenCache::open`](crate::PersistentTokenCache::open) picks the platform's;
/// [`PersistentTokenCache::with_store`](crate::PersistentTokenCache::with_store) takes any,
/// including an application's own.
///
/// The cache calls [`load`](Self::load) and [`save`](Self::save) with its cross-process lock
/// held (`<location>.lockfile`), so a store needs no locking of its own between processes.
#[async_trait]
pub trait CacheStore: Send + Sync + fmt::Debug {
    /// The stored document; `None` when nothing was stored yet. A store may stop reading
    /// after [`MAX_CACHE_BYTES`](crate::MAX_CACHE_BYTES) + 1 bytes: a longer document is
    /// refused by the cache anyway.
    ///
    /// # Errors
    ///
    /// When the store cannot be read, usually of kind
    /// [`ErrorKind::Storage`](crate::ErrorKind::Storage) (or
    /// [`Unsupported`](crate::ErrorKind::Unsupported) where the store does not exist).
    async fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>>;

    /// Replaces the stored document with `document`, so that a reader sees the old document or
    /// the new one, never a mix.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), when the store cannot be written.
    async fn save(&self, document: &[u8]) -> Result<()>;

    /// Checks, without changing the stored document, that [`save`](Self::save) could write
    /// now: for a file, that its directory is private and files can be created in it; for the
    /// Secret Service, that it has a default collection that persists. For checking before work
    /// whose result must be saved (an interactive sign-in). The default does nothing: a store
    /// that cannot tell finds out when it saves.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save) would fail, usually [`ErrorKind::Storage`](crate::ErrorKind::Storage)
    /// or [`StoreUnavailable`](crate::ErrorKind::StoreUnavailable).
    async fn check_writable(&self) -> Result<()> {
        Ok(())
    }

    /// Removes what writers of this store left behind when they were killed in the middle of a
    /// save (a file store's temporary files, which hold a whole document with its refresh
    /// tokens), never anyone else's files; how many. A save does this too. The default has
    /// nothing to remove.
    ///
    /// # Errors
    ///
    /// When the store's location cannot be listed.
    async fn remove_leftovers(&self) -> Result<usize> {
        Ok(0)
    }

    /// The file the store is known by: the cache file itself, or the signal file beside a
    /// keyring item. The cross-process lock is `<location>.lockfile`, as MSAL's extensions
    /// place it.
    fn location(&self) -> &Path;

    /// Where the cache is, for messages and logs: the file, or the keyring item.
    fn describe(&self) -> String;

    /// Whether the document is stored without encryption (readable by whoever can read the
    /// file).
    fn is_plaintext(&self) -> bool;
}
