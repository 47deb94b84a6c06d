use crate::{cache_file, CacheStore, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The cache in a plaintext file (mode 0600 in a 0700 directory on Unix), as msal-extensions'
/// `FilePersistence`: for tools that accept unencrypted storage, and where no encrypted store
/// exists with `allow_unencrypted_storage`.
///
/// Whoever can read the file can use the refresh tokens in it: protecting it is the
/// application's job. Writes replace the file atomically (a new file renamed over it), so a
/// symbolic link at the path is replaced, not followed.
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
