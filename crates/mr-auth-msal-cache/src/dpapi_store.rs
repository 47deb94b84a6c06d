use crate::{CacheStore, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The cache in a file encrypted with Windows' Data Protection API for the signed-in user, as
/// msal-extensions' `FilePersistenceWithDataProtection` writes it (no extra entropy), so MSAL
/// for Python and .NET read it and this store reads theirs. Where the platform store is on
/// Windows: `%LOCALAPPDATA%\.IdentityService\<name>`.
///
/// The type exists on every platform; off Windows, [`load`](CacheStore::load) and
/// [`save`](CacheStore::save) fail with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
#[derive(Debug, Clone)]
pub struct DpapiFileStore {
    path: PathBuf,
}

impl DpapiFileStore {
    /// The store at `path` (the file need not exist yet; its directory is created on the first
    /// write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait]
impl CacheStore for DpapiFileStore {
    async fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || platform::load(&path))
            .await
            .map_err(crate::cache_file::join_error)?
    }

    async fn save(&self, document: &[u8]) -> Result<()> {
        let (path, document) = (self.path.clone(), Zeroizing::new(document.to_vec()));
        tokio::task::spawn_blocking(move || platform::save(&path, &document))
            .await
            .map_err(crate::cache_file::join_error)?
    }

    async fn check_writable(&self) -> Result<()> {
        let path = self.path.clone();
        crate::cache_file::blocking(move || platform::check_writable(&path)).await
    }

    async fn remove_leftovers(&self) -> Result<usize> {
        let path = self.path.clone();
        crate::cache_file::blocking(move || platform::remove_leftovers(&path)).await
    }

    fn location(&self) -> &Path {
        &self.path
    }

    fn describe(&self) -> String {
        format!("DPAPI-encrypted file {}", self.path.display())
    }

    fn is_plaintext(&self) -> bool {
        false
    }
}

#[cfg(windows)]
mod platform {
    use crate::{cache_file, dpapi, Result};
    use std::path::Path;
    use zeroize::Zeroizing;

    pub(super) fn load(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match cache_file::read_bounded(path)? {
            Some(sealed) => dpapi::unprotect(&sealed)
                .map(Some)
                .map_err(|e| e.at(&format!("DPAPI-encrypted file {}", path.display()))),
            None => Ok(None),
        }
    }

    pub(super) fn save(path: &Path, document: &[u8]) -> Result<()> {
        let sealed = Zeroizing::new(dpapi::protect(document)?);
        cache_file::write_atomically(path, &sealed)
    }

    pub(super) fn check_writable(path: &Path) -> Result<()> {
        cache_file::check_writable(path)
    }

    #[allow(
        clippy::unnecessary_wraps,
        reason = "the same signature off Windows, an error"
    )]
    pub(super) fn remove_leftovers(path: &Path) -> Result<usize> {
        Ok(cache_file::remove_leftovers(path))
    }
}

#[cfg(not(windows))]
mod platform {
    use crate::{Error, ErrorKind, Result};
    use std::path::Path;
    use zeroize::Zeroizing;

    fn unsupported() -> Error {
        Error::new(
            ErrorKind::Unsupported,
            "DPAPI-encrypted token cache files exist only on Windows; open the platform's store \
             with PersistentTokenCache::open instead",
        )
    }

    pub(super) fn load(_path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Err(unsupported())
    }

    pub(super) fn save(_path: &Path, _document: &[u8]) -> Result<()> {
        Err(unsupported())
    }

    pub(super) fn check_writable(_path: &Path) -> Result<()> {
        Err(unsupported())
    }

    pub(super) fn remove_leftovers(_path: &Path) -> Result<usize> {
        Err(unsupported())
    }
}

// On Windows the store is tested for real (tests/persistent_cache.rs, under Wine in CI).
#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn off_windows_it_is_a_typed_unsupported_error() {
        let store = DpapiFileStore::new(std::env::temp_dir().join("never-written.nocae"));
        for result in [
            store.load().await.map(|_| ()),
            store.save(b"{}").await,
            store.check_writable().await,
            store.remove_leftovers().await.map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Unsupported, "{err}");
        }
        assert!(!store.location().exists());
        assert!(!store.is_plaintext());
    }
}
