//! Local files read and written safely, for input a user or another process may have planted:
//! regular files only (checked on the opened handle, so nothing can be swapped in between),
//! opened without blocking (a named pipe at the path never hangs the caller), read with a
//! bound, private files opened without following symbolic links, and files replaced
//! atomically.

#[cfg(unix)]
use crate::private_directory::{current_user, owner_of};
use crate::{local_file_error::FileTypeName, LocalFileError, LocalFileErrorKind};
use std::{
    fs::{self, File, OpenOptions},
    io::{Read as _, Write as _},
    path::Path,
    time::{Duration, SystemTime},
};

/// Temporary files of [`replace_private_file`] older than this are removed by
/// [`remove_stale_temp_files`] even when the process that wrote them still seems to run (its
/// process id may have been reused). A write takes milliseconds.
pub const STALE_TEMP_FILE_AGE: Duration = Duration::from_secs(10 * 60);

/// Opens `path` for reading, following symbolic links, and checks on the opened handle that it
/// is a regular file. The open never blocks: a named pipe (FIFO) at the path is refused at
/// once, not waited on (on Unix the file is opened with `O_NONBLOCK`, which does not change
/// how a regular file reads).
///
/// # Errors
///
/// [`LocalFileErrorKind::NotFound`] when nothing is there; [`LocalFileErrorKind::WrongType`]
/// for a FIFO, device, socket or directory; [`LocalFileErrorKind::Io`] when it cannot be opened.
pub fn open_regular_file(path: &Path) -> Result<File, LocalFileError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(open_flags(rustix::fs::OFlags::NONBLOCK));
    }
    let file = options.open(path).map_err(|e| match fs::metadata(path) {
        // Windows cannot open a directory as a file at all: say what it is, as Unix does.
        Ok(metadata) if metadata.is_dir() => wrong_type(path, metadata.file_type()),
        _ => LocalFileError::io("open", path, e),
    })?;
    regular_file_metadata(path, &file)?;
    Ok(file)
}

/// `file`'s metadata (opened from `path`), when it is a regular file; else the error that
/// names what it is.
fn regular_file_metadata(path: &Path, file: &File) -> Result<fs::Metadata, LocalFileError> {
    let metadata = file
        .metadata()
        .map_err(|e| LocalFileError::io("inspect", path, e))?;
    if !metadata.is_file() {
        return Err(wrong_type(path, metadata.file_type()));
    }
    Ok(metadata)
}

/// Reads the regular file at `path` ([`open_regular_file`]), at most `max_bytes` of it: a longer
/// file is refused after reading one byte more than the bound, never loaded whole.
///
/// ```
/// use mr_auth_core::{read_regular_file, LocalFileErrorKind};
///
/// let dir = std::env::temp_dir().join(format!("read-regular-file-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("a.txt"), "hello").unwrap();
/// assert_eq!(read_regular_file(&dir.join("a.txt"), 16).unwrap(), b"hello");
/// let err = read_regular_file(&dir.join("a.txt"), 4).unwrap_err();
/// assert_eq!(err.kind(), LocalFileErrorKind::TooLarge);
/// let err = read_regular_file(&dir, 16).unwrap_err();
/// assert_eq!(err.kind(), LocalFileErrorKind::WrongType);
/// assert!(err.to_string().contains("is a directory"), "{err}");
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
///
/// # Errors
///
/// Those of [`open_regular_file`]; [`LocalFileErrorKind::TooLarge`] for a file over the bound;
/// [`LocalFileErrorKind::Io`] when reading fails.
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, LocalFileError> {
    let file = open_regular_file(path)?;
    let mut data = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| LocalFileError::io("read", path, e))?;
    if data.len() as u64 > max_bytes {
        return Err(LocalFileError::new(
            LocalFileErrorKind::TooLarge,
            path,
            format!("{} is larger than {max_bytes} bytes", path.display()),
        ));
    }
    Ok(data)
}

/// Opens the private file at `path` for reading and writing, creating it (mode 0600 on Unix)
/// when missing; an existing file is neither truncated nor written. A symbolic link at the
/// path is never followed, dangling or not (Unix: `O_NOFOLLOW`; Windows:
/// `FILE_FLAG_OPEN_REPARSE_POINT`, then the handle is checked): it is refused, so nothing is
/// written through it and no link target is created. On the handle, Unix also checks that the
/// file belongs to this user and has no other hard link, so a file that is not the caller's
/// is never changed.
///
/// # Errors
///
/// [`LocalFileErrorKind::WrongType`] for a symbolic link, FIFO, device or directory;
/// [`LocalFileErrorKind::NotPrivate`] for a file of another user or with several links;
/// [`LocalFileErrorKind::Io`] when it cannot be opened or created.
pub fn open_private_file(path: &Path) -> Result<File, LocalFileError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .mode(0o600)
            .custom_flags(open_flags(OFlags::NOFOLLOW | OFlags::NONBLOCK));
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt as _;
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = options.open(path).map_err(|e| {
        if is_symlink_refusal(&e) {
            LocalFileError::new(
                LocalFileErrorKind::WrongType,
                path,
                format!(
                    "{} is a symbolic link, which is not followed here",
                    path.display()
                ),
            )
        } else {
            LocalFileError::io("open", path, e)
        }
    })?;
    check_private_file(path, &regular_file_metadata(path, &file)?)?;
    Ok(file)
}

/// Replaces the file at `path` with `data` atomically, so a reader sees the old content or the
/// new, never a mix: a new private file in the same directory (mode 0600 on Unix, created
/// exclusively, so nothing planted is reused) named `.<name>.<pid>.<random>.tmp`, written and
/// flushed to disk, renamed over `path`, then (Unix) the directory is flushed so the rename
/// survives a crash. A symbolic link at `path` is replaced, not followed. The directory must
/// exist. A crash before the rename leaves the temporary file behind:
/// [`remove_stale_temp_files`] removes it later.
///
/// # Errors
///
/// [`LocalFileErrorKind::Io`] (or `NotFound` for a missing directory) when the file cannot be
/// written; the temporary file is removed then.
pub fn replace_private_file(path: &Path, data: &[u8]) -> Result<(), LocalFileError> {
    let (dir, name) = split_path(path)?;
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        rename_replacing(&temp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(LocalFileError::io("write", path, e));
    }
    sync_directory(dir);
    Ok(())
}

/// How often, and how far apart, a replace refused by Windows is tried again.
#[cfg(windows)]
const REPLACE_RETRIES: u32 = 50;
#[cfg(windows)]
const REPLACE_RETRY_DELAY: Duration = Duration::from_millis(10);

/// Renames `from` over `to`. Windows refuses to replace a file that another process has open
/// at that moment (a reader of the cache, which reads without the writers' lock) with "access
/// denied" or a sharing violation, and Wine can answer "not found" while the old file goes;
/// such a replace is tried again, every 10 ms for up to half a second, while `from` exists.
/// Elsewhere a rename replaces an open file at once.
fn rename_replacing(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    {
        let mut retries = 0;
        loop {
            match fs::rename(from, to) {
                // ERROR_FILE_NOT_FOUND, ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION.
                Err(e)
                    if retries < REPLACE_RETRIES
                        && matches!(e.raw_os_error(), Some(2 | 5 | 32))
                        && from.exists() =>
                {
                    retries += 1;
                    std::thread::sleep(REPLACE_RETRY_DELAY);
                }
                other => return other,
            }
        }
    }
    #[cfg(not(windows))]
    fs::rename(from, to)
}

/// Removes the temporary files [`replace_private_file`] left beside `path` when a process died
/// between writing and renaming one (they may hold secrets): files named
/// `.<name>.<pid>.<32 hex digits>.tmp` whose writer no longer runs (Unix: no process has that
/// id) or that are older than [`STALE_TEMP_FILE_AGE`] at `now`. Only regular files of this
/// user (Unix) with exactly that name are touched; anything else in the directory, including
/// symbolic links with such names, stays. Returns how many were removed.
///
/// On Windows the writer's process is not looked up, so only the age counts.
///
/// # Errors
///
/// [`LocalFileErrorKind::Io`] when the directory cannot be listed (a missing directory is not
/// an error: nothing is left behind there).
pub fn remove_stale_temp_files(path: &Path, now: SystemTime) -> Result<usize, LocalFileError> {
    let (dir, name) = split_path(path)?;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(LocalFileError::io("list", dir, e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| temp_file_pid(n, &name)) else {
            continue;
        };
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        // `DirEntry::metadata` does not follow links: a link is not a file here.
        if !metadata.is_file() || check_private_file(&entry.path(), &metadata).is_err() {
            continue;
        }
        let old = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_TEMP_FILE_AGE);
        if (old || !process_runs(pid)) && fs::remove_file(entry.path()).is_ok() {
            tracing::debug!(file = %entry.path().display(), "removed a temporary file a stopped writer left behind");
            removed += 1;
        }
    }
    Ok(removed)
}

/// The writer's process id when `file_name` is `.<name>.<pid>.<32 hex digits>.tmp`.
fn temp_file_pid(file_name: &str, name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, random) = rest.split_once('.')?;
    let hex = random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (hex && digits).then(|| pid.parse().ok()).flatten()
}

/// Whether a process with id `pid` exists (Unix: signal 0 is accepted or refused for
/// permission, not "no such process").
#[cfg(unix)]
fn process_runs(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Windows: not looked up (see [`remove_stale_temp_files`]); the age decides.
#[cfg(not(unix))]
fn process_runs(_pid: u32) -> bool {
    true
}

/// The file is this user's and has no other hard link.
#[cfg(unix)]
fn check_private_file(path: &Path, metadata: &fs::Metadata) -> Result<(), LocalFileError> {
    use std::os::unix::fs::MetadataExt as _;
    let (owner, me) = (owner_of(metadata), current_user());
    if owner != me {
        return Err(LocalFileError::new(
            LocalFileErrorKind::NotPrivate,
            path,
            format!(
                "{} belongs to uid {owner}, not to this user (uid {me})",
                path.display()
            ),
        ));
    }
    if metadata.nlink() > 1 {
        return Err(LocalFileError::new(
            LocalFileErrorKind::NotPrivate,
            path,
            format!(
                "{} has {} hard links, so it is also another file",
                path.display(),
                metadata.nlink()
            ),
        ));
    }
    Ok(())
}

/// Windows: nothing more to check; the file's access control list comes from its private
/// parent directory.
#[cfg(not(unix))]
#[allow(
    clippy::unnecessary_wraps,
    reason = "the same signature as the Unix check"
)]
fn check_private_file(_path: &Path, _metadata: &fs::Metadata) -> Result<(), LocalFileError> {
    Ok(())
}

fn wrong_type(path: &Path, file_type: fs::FileType) -> LocalFileError {
    LocalFileError::new(
        LocalFileErrorKind::WrongType,
        path,
        format!(
            "{} is {}, not a regular file",
            path.display(),
            FileTypeName(file_type)
        ),
    )
}

fn split_path(path: &Path) -> Result<(&Path, String), LocalFileError> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            Ok((dir, name.to_string_lossy().into_owned()))
        }
        _ => Err(LocalFileError::new(
            LocalFileErrorKind::WrongType,
            path,
            format!("{} does not name a file", path.display()),
        )),
    }
}

/// Unix: flushes the directory, so a rename in it survives a crash. A file system that cannot
/// flush directories keeps the rename anyway; that is not an error of the write.
fn sync_directory(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(directory = %dir.display(), error = %e, "the directory could not be flushed after a rename");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(unix)]
fn open_flags(flags: rustix::fs::OFlags) -> i32 {
    // The flags are small positive constants; the cast keeps their bits.
    flags.bits().cast_signed()
}

/// Whether `e` is the refusal to open a symbolic link with `O_NOFOLLOW` (`ELOOP`; `EMLINK` on
/// FreeBSD).
#[cfg(unix)]
fn is_symlink_refusal(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    e.raw_os_error().is_some_and(|code| {
        code == Errno::LOOP.raw_os_error() || code == Errno::MLINK.raw_os_error()
    })
}

/// Windows reports links through the handle's type instead (see [`open_private_file`]).
#[cfg(not(unix))]
fn is_symlink_refusal(_e: &std::io::Error) -> bool {
    false
}

/// `FILE_FLAG_OPEN_REPARSE_POINT` (winbase.h): open a symbolic link or junction itself, not its
/// target, so the handle's type shows it.
#[cfg(windows)]
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mr-auth-local-file-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A file someone wants to reach through a link (`dir/victim`, holding "precious"), and a
    /// symbolic link `dir/<name>` to it: `(victim, link)`.
    #[cfg(unix)]
    fn link_to_a_victim(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();
        let link = dir.join(name);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        (victim, link)
    }

    /// `path`'s permission bits.
    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn regular_files_are_read_within_their_bound() {
        let dir = temp_dir();
        let path = dir.join("a");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular_file(&path, 5).unwrap(), b"12345");
        let err = read_regular_file(&path, 4).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::TooLarge);
        assert!(err.to_string().contains("larger than 4 bytes"), "{err}");
        let err = read_regular_file(&dir.join("missing"), 5).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::NotFound);
        fs::remove_dir_all(dir).unwrap();
    }

    /// `/dev/zero` would grow without end and a FIFO would block the open forever: both are
    /// refused on the opened handle, at once.
    #[cfg(unix)]
    #[test]
    fn devices_and_named_pipes_are_refused_without_reading_or_blocking() {
        let err = read_regular_file(Path::new("/dev/zero"), 1 << 30).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::WrongType);
        assert_eq!(
            err.to_string(),
            "/dev/zero is a character device, not a regular file"
        );
        let dir = temp_dir();
        let fifo = dir.join("fifo");
        mr_auth_test_support::planted_files::make_fifo(&fifo);
        let err = open_regular_file(&fifo).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::WrongType);
        assert!(
            err.to_string()
                .ends_with("is a named pipe (FIFO), not a regular file"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn private_files_are_created_private_and_never_truncated() {
        let dir = temp_dir();
        let path = dir.join("lock");
        drop(open_private_file(&path).unwrap());
        fs::write(&path, b"kept").unwrap();
        drop(open_private_file(&path).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    /// A link to a victim is refused, not followed; a dangling link does not create its target.
    #[cfg(unix)]
    #[test]
    fn private_files_never_follow_symbolic_links() {
        let dir = temp_dir();
        let (victim, link) = link_to_a_victim(&dir, "link");
        let err = open_private_file(&link).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::WrongType);
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");

        let dangling = dir.join("dangling");
        let target = dir.join("created-through-the-link");
        std::os::unix::fs::symlink(&target, &dangling).unwrap();
        assert_eq!(
            open_private_file(&dangling).unwrap_err().kind(),
            LocalFileErrorKind::WrongType
        );
        assert!(!target.exists(), "the link's target was created");

        // A second hard link to a file makes it another file too: refused.
        let hard = dir.join("hard");
        fs::hard_link(&victim, &hard).unwrap();
        let err = open_private_file(&hard).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::NotPrivate, "{err}");
        assert!(err.to_string().contains("2 hard links"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn replacing_is_atomic_private_and_replaces_links() {
        let dir = temp_dir();
        let path = dir.join("cache");
        replace_private_file(&path, b"one").unwrap();
        replace_private_file(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        #[cfg(unix)]
        {
            let (victim, link) = link_to_a_victim(&dir, "link");
            replace_private_file(&link, b"new").unwrap();
            assert_eq!(fs::read(&victim).unwrap(), b"precious");
            assert!(fs::symlink_metadata(&link).unwrap().is_file());
            assert_eq!(mode(&link), 0o600);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn temp_file_names_are_recognised_exactly() {
        let random = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            temp_file_pid(&format!(".c.nocae.42.{random}.tmp"), "c.nocae"),
            Some(42)
        );
        for other in [
            format!(".c.nocae.42.{random}.tmp.bak"),
            format!(".other.42.{random}.tmp"),
            format!(".c.nocae.x42.{random}.tmp"),
            format!(".c.nocae.42.{}.tmp", &random[1..]),
            format!("c.nocae.42.{random}.tmp"),
            ".c.nocae..tmp".to_owned(),
        ] {
            assert_eq!(temp_file_pid(&other, "c.nocae"), None, "{other}");
        }
    }

    /// A writer killed between writing and renaming leaves its temporary file (with whatever
    /// secret it held): removed once its process is gone or it is old; nothing else is touched.
    #[test]
    fn stale_temp_files_of_dead_writers_are_removed_and_nothing_else() {
        let dir = temp_dir();
        let path = dir.join("c.nocae");
        let random = || uuid::Uuid::new_v4().simple().to_string();
        let dead = mr_auth_test_support::planted_files::exited_process_id();
        let dead_writer = dir.join(format!(".c.nocae.{dead}.{}.tmp", random()));
        let live_writer = dir.join(format!(".c.nocae.{}.{}.tmp", std::process::id(), random()));
        let other_cache = dir.join(format!(".other.{dead}.{}.tmp", random()));
        let not_ours = dir.join("c.nocae.notes");
        for file in [&dead_writer, &live_writer, &other_cache, &not_ours] {
            fs::write(file, b"refresh token").unwrap();
        }
        let now = SystemTime::from(crate::Clock::now(&crate::SystemClock));
        let removed = remove_stale_temp_files(&path, now).unwrap();
        if cfg!(unix) {
            assert_eq!(removed, 1);
            assert!(!dead_writer.exists(), "the dead writer's file is removed");
        }
        assert!(live_writer.exists(), "a running writer's fresh file stays");
        assert!(other_cache.exists() && not_ours.exists());
        // Much later, even a running writer's file is stale.
        let later = now + STALE_TEMP_FILE_AGE + Duration::from_secs(1);
        assert_eq!(
            remove_stale_temp_files(&path, later).unwrap(),
            if cfg!(unix) { 1 } else { 2 }
        );
        assert!(!live_writer.exists());
        assert!(other_cache.exists() && not_ours.exists());
        assert_eq!(
            remove_stale_temp_files(&dir.join("gone").join("x"), now).unwrap(),
            0
        );
        fs::remove_dir_all(dir).unwrap();
    }

    /// A link named like a temporary file is not a file of ours: it stays, and so does its
    /// target.
    #[cfg(unix)]
    #[test]
    fn links_named_like_temp_files_are_left_alone() {
        let dir = temp_dir();
        let name = format!(".c.nocae.999999999.{}.tmp", uuid::Uuid::new_v4().simple());
        let (victim, link) = link_to_a_victim(&dir, &name);
        let now = SystemTime::from(crate::Clock::now(&crate::SystemClock));
        assert_eq!(
            remove_stale_temp_files(&dir.join("c.nocae"), now).unwrap(),
            0
        );
        assert!(fs::symlink_metadata(&link).is_ok() && victim.exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
