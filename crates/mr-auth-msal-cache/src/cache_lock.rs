//! MSAL's cross-process lock on a cache: `<cache>.lockfile`.

use crate::{Error, ErrorKind, Result};
use std::{
    fs::{File, TryLockError},
    io::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

/// How often a held lock is tried again (MSAL .NET's `CrossPlatLock` uses 100 ms).
pub(crate) const LOCK_RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// How long [`PersistentTokenCache`](crate::PersistentTokenCache) waits for another process's
/// lock before giving up (MSAL .NET: 60 s).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// An exclusive, cross-process lock on `<cache>.lockfile`, the convention of MSAL's
/// extensions for .NET and Python: the file is opened (created when missing), locked with the
/// OS's advisory lock (`flock` on Unix, `LockFileEx` on Windows), stamped with
/// `<pid> <program>`, and removed when the lock is released.
///
/// Deleting the file while other processes wait on it is a known hazard of the convention: a
/// waiter could lock the deleted file while a newcomer locks a new one. After locking, this
/// lock checks that the path still names the file it locked, and starts again if not.
#[derive(Debug)]
pub(crate) struct CacheLock {
    path: PathBuf,
    file: Option<File>,
}

impl CacheLock {
    /// Takes the lock at `path`, trying every [`LOCK_RETRY_INTERVAL`] for up to `timeout`.
    /// The file operations run on the blocking pool, never on an executor thread. When another
    /// process holds it, an `info` event says which lock, who holds it and how long this one
    /// will wait; the timeout error says the same.
    pub(crate) async fn acquire(path: PathBuf, timeout: Duration) -> Result<Self> {
        let start = tokio::time::Instant::now();
        let deadline = start + timeout;
        let mut waiting = false;
        loop {
            let attempt_path = path.clone();
            let attempt = crate::cache_file::blocking(move || try_lock_once(&attempt_path)).await?;
            if let Some(file) = attempt {
                if waiting {
                    tracing::info!(
                        lock = %path.display(),
                        waited_ms = start.elapsed().as_millis(),
                        "got the token cache lock"
                    );
                }
                return Ok(Self {
                    path,
                    file: Some(file),
                });
            }
            if !waiting {
                waiting = true;
                tracing::info!(
                    lock = %path.display(),
                    holder = %holder(&path),
                    timeout_secs = timeout.as_secs(),
                    "waiting for the token cache lock, which another process holds"
                );
            }
            if tokio::time::Instant::now() + LOCK_RETRY_INTERVAL > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "another process ({}) held the token cache lock {} for more than {} s; \
                         if no other sign-in is running, delete that file",
                        holder(&path),
                        path.display(),
                        timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(LOCK_RETRY_INTERVAL).await;
        }
    }
}

/// Who holds the lock, from its stamp (`<pid> <program>`), for messages: the stamp is another
/// process's text, read bounded and without blocking; control characters are replaced where
/// the message is built.
fn holder(path: &Path) -> String {
    match mr_auth_core::read_regular_file(path, MAX_STAMP_BYTES) {
        Ok(stamp) if !stamp.is_empty() => {
            let stamp = String::from_utf8_lossy(&stamp);
            match stamp.split_once(' ') {
                Some((pid, program)) => format!("process {pid}, {program}"),
                None => format!("process {stamp}"),
            }
        }
        _ => "unknown process".to_owned(),
    }
}

/// The longest lock stamp read for messages.
const MAX_STAMP_BYTES: u64 = 512;

impl Drop for CacheLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, then unlock by closing it; a waiter
        // that then locks the removed file sees it is gone and tries again.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

/// One attempt: `Ok(Some(file))` when locked, `Ok(None)` when another process holds it.
///
/// The file is opened without following a symbolic link and must be this user's, with one
/// link ([`open_private_file`](mr_auth_core::open_private_file)): a link planted at the path
/// (dangling or to a victim file) is refused, so no file but the lock itself is ever created or
/// truncated.
fn try_lock_once(path: &Path) -> Result<Option<File>> {
    let mut file = match crate::cache_file::open_lock_file(path) {
        Ok(file) => file,
        Err(e) if is_being_removed(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => {
            return Err(Error::new(
                ErrorKind::Storage,
                format!("cannot lock the token cache lock {}: {e}", path.display()),
            )
            .with_source(e))
        }
    }
    if !still_named_by(&file, path) {
        return Ok(None);
    }
    let program = std::env::args().next().unwrap_or_default();
    // The stamp is for people looking at a stuck lock; failing to write it is not an error.
    let _ = file.set_len(0);
    let _ = write!(file, "{} {}", std::process::id(), program);
    Ok(Some(file))
}

/// Whether `path` still names the file `file` has open (it may have been removed and
/// re-created by the previous holder between our open and our lock).
#[cfg(unix)]
fn still_named_by(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Windows: std opens files sharing delete, so the holder's removal succeeds while a waiter has
/// the file open; the file then lingers, delete-pending, until the waiter closes it, and the
/// waiter can lock it. The path must still open as the same file (volume and file index).
#[cfg(windows)]
fn still_named_by(file: &File, path: &Path) -> bool {
    crate::file_identity::same_file(file, path)
}

#[cfg(not(any(unix, windows)))]
fn still_named_by(_file: &File, _path: &Path) -> bool {
    true
}

/// Windows: opening a lock file that its holder has just removed while another handle keeps
/// it open fails (access denied: delete pending). That is the lock changing hands, not an
/// error: try again.
#[cfg(windows)]
fn is_being_removed(e: &Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            // ERROR_ACCESS_DENIED, ERROR_DELETE_PENDING.
            return matches!(io.raw_os_error(), Some(5 | 303));
        }
        source = s.source();
    }
    false
}

#[cfg(not(windows))]
fn is_being_removed(_e: &Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mr-auth-lock-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn holders_never_overlap() {
        let dir = temp_dir();
        let path = dir.join("msal.cache.lockfile");
        let inside = Arc::new(AtomicUsize::new(0));
        let max_inside = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (path, inside, max_inside) = (path.clone(), inside.clone(), max_inside.clone());
            tasks.push(tokio::spawn(async move {
                let lock = CacheLock::acquire(path, Duration::from_secs(20))
                    .await
                    .unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max_inside.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(lock);
            }));
        }
        tokio::time::timeout(Duration::from_secs(30), async {
            for t in tasks {
                t.await.unwrap();
            }
        })
        .await
        .expect("every task got the lock in time");
        assert_eq!(max_inside.load(Ordering::SeqCst), 1);
        assert!(!path.exists(), "the lock file is removed on release");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The hazard of removing the lock file on release, step by step: a waiter that opened the
    /// file before the holder removed it then locks that file. Where the path no longer names
    /// it (Unix: an unlinked inode; Windows with POSIX deletion: a new name; Windows with
    /// delete-pending: a name that cannot be opened), the waiter must not count as holding
    /// the lock. Where the path still names it (Wine keeps a removed file's name until its
    /// last handle closes), the waiter holds the one lock and a newcomer must find it taken.
    /// Either way, at no point do two hold the lock, and a newcomer gets a retry, never an
    /// error.
    #[test]
    fn a_waiter_left_with_the_released_file_and_a_newcomer_never_both_hold_the_lock() {
        let dir = temp_dir();
        let path = dir.join("msal.cache.lockfile");
        let holder = CacheLock {
            path: path.clone(),
            file: Some(try_lock_once(&path).unwrap().expect("nobody holds it")),
        };
        // The waiter's open, before the holder's release.
        let waiter = crate::cache_file::open_lock_file(&path).unwrap();
        drop(holder);
        // The waiter's lock: nobody holds the file it has open any more.
        waiter.try_lock().expect("the released file is not locked");
        let waiter_holds = still_named_by(&waiter, &path);
        let newcomer = try_lock_once(&path).expect("a lock changing hands is no error");
        assert!(
            !(waiter_holds && newcomer.is_some()),
            "the waiter and a newcomer both hold the lock"
        );
        #[cfg(unix)]
        assert!(!waiter_holds, "an unlinked lock file is not the lock");
        drop(newcomer);
        drop(waiter);
        let next = try_lock_once(&path).unwrap().expect("the lock is free");
        assert!(still_named_by(&next, &path));
        drop(next);
        let _ = std::fs::remove_file(&path);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_holder_waits_until_the_first_releases() {
        let dir = temp_dir();
        let path = dir.join("msal.cache.lockfile");
        let first = CacheLock::acquire(path.clone(), Duration::from_secs(60))
            .await
            .unwrap();
        let mut second = tokio::spawn(CacheLock::acquire(path.clone(), Duration::from_secs(60)));
        // Paused time advances only while every task waits: ten retry intervals pass with the
        // second caller still waiting for the lock.
        let waited = tokio::time::timeout(Duration::from_secs(1), &mut second).await;
        assert!(
            waited.is_err(),
            "the second holder got the lock while the first held it"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the lock is taken soon after release")
            .unwrap()
            .unwrap();
        drop(second);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_held_elsewhere_times_out_naming_the_lock_and_its_holder() {
        mr_auth_test_support::bounded(async move {
            let dir = temp_dir();
            let path = dir.join("msal.cache.lockfile");
            // Another process's lock: an open file description holding flock, stamped as
            // MSAL's extensions stamp it.
            let mut other = File::create(&path).unwrap();
            other.write_all(b"4242 /usr/bin/other-tool").unwrap();
            other.lock().unwrap();
            let logs = mr_auth_test_support::LogCapture::default();
            let guard = logs.install();
            let err = CacheLock::acquire(path.clone(), Duration::from_secs(2))
                .await
                .unwrap_err();
            drop(guard);
            assert_eq!(err.kind(), ErrorKind::Timeout);
            let message = err.to_string();
            assert!(message.contains("more than 2 s"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(
                message.contains("process 4242, /usr/bin/other-tool"),
                "{message}"
            );
            // The wait was said as it began: which lock, who holds it, for how long at most.
            let text = logs.text();
            assert_eq!(
                text.matches("waiting for the token cache lock").count(),
                1,
                "{text}"
            );
            assert!(
                text.contains("holder=process 4242, /usr/bin/other-tool"),
                "{text}"
            );
            assert!(text.contains("timeout_secs=2"), "{text}");
            drop(other);
            let lock = CacheLock::acquire(path.clone(), Duration::from_secs(2))
                .await
                .unwrap();
            let stamp = std::fs::read_to_string(&path).unwrap();
            assert!(
                stamp.starts_with(&format!("{} ", std::process::id())),
                "{stamp}"
            );
            drop(lock);
            std::fs::remove_dir_all(dir).unwrap();
        })
        .await;
    }

    /// A symbolic link planted at the lock's path (to a victim, or dangling) is refused: the
    /// victim is neither truncated nor stamped, and no link target is created.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_planted_link_at_the_lock_path_is_refused_and_nothing_is_written() {
        mr_auth_test_support::bounded(async move {
            let dir = temp_dir();
            let path = dir.join("msal.cache.nocae.lockfile");
            let victim = dir.join("victim");
            std::fs::write(&victim, b"precious").unwrap();
            std::os::unix::fs::symlink(&victim, &path).unwrap();
            let err = CacheLock::acquire(path.clone(), Duration::from_secs(2))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
            assert!(err.to_string().contains("is a symbolic link"), "{err}");
            assert!(err.to_string().contains("remove it"), "{err}");
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

            std::fs::remove_file(&path).unwrap();
            let target = dir.join("created-through-the-link");
            std::os::unix::fs::symlink(&target, &path).unwrap();
            let err = CacheLock::acquire(path.clone(), Duration::from_secs(2))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
            assert!(!target.exists(), "the dangling link's target was created");

            // A hard link to the victim is the victim: refused too, left as it is.
            std::fs::remove_file(&path).unwrap();
            std::fs::hard_link(&victim, &path).unwrap();
            let err = CacheLock::acquire(path.clone(), Duration::from_secs(2))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("hard links"), "{err}");
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
            std::fs::remove_dir_all(dir).unwrap();
        })
        .await;
    }
}
