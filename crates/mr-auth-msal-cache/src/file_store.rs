use crate::{cache_file, CacheStore, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The cache in a plaintext file (mode 0600 in a 0700 directory on Unix), as msal-extensions'
/// `FilePersistence`: for tools that accept unencrypted storage, and where no encrypted store
/// exists with `allow_unencrypted_storage`.
///
/// Whoever can read the file can use the refresh tokens in it: protecting it is the
/// application's job. Writes replace the file atomically (a new file, flushed to disk, renamed
/// over it), so a symbolic link at the path is replaced, not followed, and temporary files that
/// killed writers left behind are removed. Reads accept regular files only (a named pipe at the
/// path is refused at once), in a directory private to the user (Unix: this user's, not
/// writable by others; see `mr_auth_core::verify_private_directory`).
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// The store at `path` (the file need not exist yet; its directory is created on the first
    /// write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait]
impl CacheStore for FileStore {
    async fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        cache_file::read_bounded_blocking(self.path.clone()).await
    }

    async fn save(&self, document: &[u8]) -> Result<()> {
        cache_file::write_atomically_blocking(self.path.clone(), Zeroizing::new(document.to_vec()))
            .await
    }

    async fn check_writable(&self) -> Result<()> {
        let path = self.path.clone();
        cache_file::blocking(move || cache_file::check_writable(&path)).await
    }

    async fn remove_leftovers(&self) -> Result<usize> {
        let path = self.path.clone();
        cache_file::blocking(move || Ok(cache_file::remove_leftovers(&path))).await
    }

    fn location(&self) -> &Path {
        &self.path
    }

    fn describe(&self) -> String {
        format!("plaintext file {}", self.path.display())
    }

    fn is_plaintext(&self) -> bool {
        true
    }
}
