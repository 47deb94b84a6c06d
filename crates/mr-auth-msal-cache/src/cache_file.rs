//! The cache's files: read bounded, replaced atomically, created private (0600 files in a 0700
//! directory on Unix), and `<file>.lockfile`, MSAL's lock beside them.

use crate::{Error, ErrorKind, Result, MAX_CACHE_BYTES};
use std::{
    fs::{self, OpenOptions},
    io::{self, Read as _, Write as _},
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

/// Reads the file at `path`: `Ok(None)` when it does not exist. Reads at most one byte more
/// than [`MAX_CACHE_BYTES`], so that an oversized file is reported, not loaded.
pub(crate) fn read_bounded(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, e)),
    };
    let mut data = Zeroizing::new(Vec::new());
    file.take(MAX_CACHE_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| io_error("read", path, e))?;
    Ok(Some(data))
}

/// Replaces the file at `path` with `data` atomically: a new file in the same directory
/// (mode 0600 on Unix, created with `create_new` so nothing pre-planted is reused), flushed to
/// disk, then renamed over `path`. A reader sees the old content or the new, never a mix. The
/// directory is created (mode 0700 on Unix) when missing.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "the token cache path {} has no directory; give a file's path",
                path.display()
            ),
        )
    })?;
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = private_new_file(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(io_error("write", path, e));
    }
    Ok(())
}

/// (Linux, beside the Secret Service store.) Sets the file's modification time to now,
/// creating it (empty, 0600) when missing: the "signal file" MSAL's extensions keep beside a
/// cache stored in a keyring, whose time tells other processes that the cache changed.
#[cfg(target_os = "linux")]
pub(crate) fn touch(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let file = match private_new_file(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io_error("update", path, e))?,
        Err(e) => return Err(io_error("create", path, e)),
    };
    file.set_modified(file_time_now())
        .map_err(|e| io_error("update", path, e))
}

/// The wall-clock time for a file's modification time, which is what the file system itself
/// records: the one place this crate reads the system clock outside a [`Clock`](mr_auth_core::Clock).
#[cfg(target_os = "linux")]
#[allow(
    clippy::disallowed_methods,
    reason = "a file's modification time is wall-clock time by definition"
)]
fn file_time_now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// Creates `dir` and its parents when missing (mode 0700 on Unix).
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("create the directory of", dir, e))
}

fn private_new_file(path: &Path) -> io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn io_error(what: &str, path: &Path, e: io::Error) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("cannot {what} the token cache {}: {e}", path.display()),
    )
    .with_source(e)
}

/// `<path>.lockfile`, MSAL's lock beside a cache file.
pub(crate) fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lockfile");
    PathBuf::from(name)
}

/// [`read_bounded`] on the blocking pool, never on an executor thread.
pub(crate) async fn read_bounded_blocking(path: PathBuf) -> Result<Option<Zeroizing<Vec<u8>>>> {
    tokio::task::spawn_blocking(move || read_bounded(&path))
        .await
        .map_err(join_error)?
}

/// [`write_atomically`] on the blocking pool, never on an executor thread.
pub(crate) async fn write_atomically_blocking(
    path: PathBuf,
    data: Zeroizing<Vec<u8>>,
) -> Result<()> {
    tokio::task::spawn_blocking(move || write_atomically(&path, &data))
        .await
        .map_err(join_error)?
}

/// A task on the blocking pool that panicked or was cancelled (at runtime shutdown).
pub(crate) fn join_error(e: tokio::task::JoinError) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("a token cache file task did not finish: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("mr-auth-file-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn writes_are_atomic_private_and_read_back() {
        let dir = temp_dir();
        let path = dir.join(".IdentityService").join("msal.cache.nocae");
        assert!(read_bounded(&path).unwrap().is_none());
        write_atomically(&path, b"{\"a\":1}").unwrap();
        write_atomically(&path, b"{\"a\":2}").unwrap();
        assert_eq!(&read_bounded(&path).unwrap().unwrap()[..], b"{\"a\":2}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn oversized_files_are_read_only_up_to_the_bound() {
        let dir = temp_dir();
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big");
        fs::write(&path, vec![b' '; MAX_CACHE_BYTES + 10]).unwrap();
        assert_eq!(
            read_bounded(&path).unwrap().unwrap().len(),
            MAX_CACHE_BYTES + 1
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn touch_creates_then_updates() {
        let dir = temp_dir();
        let path = dir.join("signal");
        touch(&path).unwrap();
        touch(&path).unwrap();
        assert!(path.is_file());
        assert_eq!(lock_path_for(&path), dir.join("signal.lockfile"));
        fs::remove_dir_all(dir).unwrap();
    }
}
