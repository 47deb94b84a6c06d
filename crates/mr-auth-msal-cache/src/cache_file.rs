//! The cache's files: read bounded (regular files only, never blocking), replaced atomically,
//! created private (0600 files in a 0700 directory on Unix, the directory checked before use),
//! and `<file>.lockfile`, MSAL's lock beside them. The file handling itself is
//! `mr_auth_core`'s (`read_regular_file` and its siblings).

use crate::{Error, ErrorKind, Result, MAX_CACHE_BYTES};
use mr_auth_core::{
    ensure_private_directory, open_private_file, open_regular_file, remove_stale_temp_files,
    replace_private_file, verify_private_directory, Clock as _, LocalFileError, LocalFileErrorKind,
    SystemClock,
};
use std::{
    io::Read as _,
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

/// Reads the file at `path`: `Ok(None)` when it (or its directory) does not exist. Reads at
/// most one byte more than [`MAX_CACHE_BYTES`], so that an oversized file is reported, not
/// loaded. The directory must be private ([`verify_private_directory`]); the file must be a
/// regular file, checked on the handle, and opening it never blocks (a named pipe at the path
/// is refused at once).
pub(crate) fn read_bounded(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if let Some(dir) = path.parent() {
        match verify_private_directory(dir) {
            Err(e) if e.kind() == LocalFileErrorKind::NotFound => return Ok(None),
            checked => checked.map_err(|e| local_error("read", e))?,
        }
    }
    let file = match open_regular_file(path) {
        Ok(file) => file,
        Err(e) if e.kind() == LocalFileErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(local_error("read", e)),
    };
    let mut data = Zeroizing::new(Vec::new());
    file.take(MAX_CACHE_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| io_error("read", path, e))?;
    Ok(Some(data))
}

/// Replaces the file at `path` with `data` atomically ([`replace_private_file`]: a new 0600 file
/// in the same directory, flushed to disk, renamed over `path`, the directory flushed), in a
/// private directory created (mode 0700 on Unix) when missing. Then removes the temporary files
/// earlier writers left when they were killed mid-write ([`remove_stale_temp_files`]).
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let dir = parent(path)?;
    create_private_dir(dir)?;
    replace_private_file(path, data).map_err(|e| local_error("write", e))?;
    remove_leftovers(path);
    Ok(())
}

/// Removes what killed writers left beside `path` ([`remove_stale_temp_files`]); a failure is
/// only logged (the write itself succeeded).
pub(crate) fn remove_leftovers(path: &Path) -> usize {
    let now = std::time::SystemTime::from(SystemClock.now());
    remove_stale_temp_files(path, now).unwrap_or_else(|e| {
        tracing::debug!(error = %e, "temporary files of stopped writers could not be removed");
        0
    })
}

/// Checks that a file at `path` could be written now, without writing it: its directory is (or
/// is created) private, and a file can be created in it.
pub(crate) fn check_writable(path: &Path) -> Result<()> {
    let dir = parent(path)?;
    create_private_dir(dir)?;
    mr_auth_core::check_directory_writable(dir).map_err(|e| local_error("write", e))
}

/// (Linux, beside the Secret Service store.) Sets the file's modification time to now,
/// creating it (empty, 0600) when missing: the "signal file" MSAL's extensions keep beside a
/// cache stored in a keyring, whose time tells other processes that the cache changed. A
/// symbolic link at the path is refused, never followed.
#[cfg(target_os = "linux")]
pub(crate) fn touch(path: &Path) -> Result<()> {
    create_private_dir(parent(path)?)?;
    let file = open_private_file(path).map_err(|e| local_error("update", e))?;
    file.set_modified(std::time::SystemTime::from(SystemClock.now()))
        .map_err(|e| io_error("update", path, e))
}

/// Creates `dir` and its parents when missing (mode 0700 on Unix), and checks that it is
/// private ([`ensure_private_directory`]).
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    ensure_private_directory(dir).map_err(|e| local_error("use the directory of", e))
}

/// Opens (creating) the lock file at `path` without following a link, refusing a file that is
/// not this user's ([`open_private_file`]).
pub(crate) fn open_lock_file(path: &Path) -> Result<std::fs::File> {
    create_private_dir(parent(path)?)?;
    open_private_file(path).map_err(|e| {
        let advice = match e.kind() {
            LocalFileErrorKind::Io => "",
            _ => "; it was left as it is: remove it",
        };
        Error::new(
            ErrorKind::Storage,
            format!("cannot use the token cache lock: {e}{advice}"),
        )
        .with_source(e)
    })
}

fn parent(path: &Path) -> Result<&Path> {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the token cache path {} has no directory; give a file's path",
                    path.display()
                ),
            )
        })
}

/// A local file problem as this crate's error: a file that is not a regular file is not a cache
/// document (left as it is); a directory or file that is not private leaves no safe place for
/// the cache; anything else is a storage failure.
fn local_error(what: &str, e: LocalFileError) -> Error {
    let (kind, advice) = match e.kind() {
        LocalFileErrorKind::WrongType => (
            ErrorKind::InvalidDocument,
            "; it was left as it is: remove it",
        ),
        LocalFileErrorKind::NotPrivate => (ErrorKind::StoreUnavailable, ""),
        _ => (
            ErrorKind::Storage,
            "; check its permissions, or place the cache elsewhere",
        ),
    };
    Error::new(kind, format!("cannot {what} the token cache: {e}{advice}")).with_source(e)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
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

/// Runs `f` on the blocking pool, never on an executor thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
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
    use std::fs;

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
        check_writable(&path).unwrap();
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

    /// A named pipe at the cache's path would block the open forever: refused at once, as a
    /// file that is not a cache document.
    #[cfg(unix)]
    #[test]
    fn a_named_pipe_at_the_cache_path_is_refused_at_once() {
        let dir = temp_dir();
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("msal.cache.nocae");
        mr_auth_test_support::planted_files::make_fifo(&path);
        let err = read_bounded(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{err}");
        assert!(
            err.to_string()
                .contains("is a named pipe (FIFO), not a regular file"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    /// A cache directory other users can write to is repaired when it is ours, and the cache is
    /// still read; a file where the directory should be leaves no place for the cache.
    #[cfg(unix)]
    #[test]
    fn the_directory_is_checked_before_reading_or_writing() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        write_atomically(&path, b"{}").unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(&read_bounded(&path).unwrap().unwrap()[..], b"{}");
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755
        );

        let blocked = dir.join("msal.cache.nocae").join("inside-a-file");
        let err = write_atomically(&blocked.join("cache"), b"{}").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        let err = check_writable(&blocked.join("cache")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    /// A writer killed between its temporary file and the rename leaves a refresh token behind:
    /// the next write removes it; files of others stay.
    #[test]
    fn the_next_write_removes_what_a_killed_writer_left() {
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        write_atomically(&path, b"{}").unwrap();
        let left = dir.join(format!(
            ".msal.cache.nocae.{}.{}.tmp",
            mr_auth_test_support::planted_files::exited_process_id(),
            uuid::Uuid::new_v4().simple()
        ));
        let foreign = dir.join(".msal.cache.nocae.backup");
        fs::write(&left, b"{\"RefreshToken\": \"secret\"}").unwrap();
        fs::write(&foreign, b"someone's").unwrap();
        write_atomically(&path, b"{}").unwrap();
        if cfg!(unix) {
            assert!(!left.exists(), "the killed writer's file is still there");
        }
        assert!(foreign.exists());
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

    /// The signal file is touched without following a link planted at its path.
    #[cfg(target_os = "linux")]
    #[test]
    fn touch_never_follows_a_link() {
        let dir = temp_dir();
        fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();
        let path = dir.join("signal");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let before = fs::metadata(&victim).unwrap().modified().unwrap();
        let err = touch(&path).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(fs::metadata(&victim).unwrap().modified().unwrap(), before);
        fs::remove_dir_all(dir).unwrap();
    }
}
