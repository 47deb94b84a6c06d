//! Directories that hold a user's secrets or settings (`~/.IdentityService`, mr-auth's
//! configuration directory): created private, and checked before use as ssh checks `~/.ssh`.

use crate::{local_file_error::FileTypeName, LocalFileError, LocalFileErrorKind};
use std::{fs, path::Path};

/// Creates `dir` and its missing parents (mode 0700 on Unix), then checks it as
/// [`verify_private_directory`] does (repairing its mode when it can).
///
/// ```
/// use mr_auth_core::ensure_private_directory;
///
/// let dir = std::env::temp_dir().join(format!("ensure-private-doc-{}", std::process::id()));
/// ensure_private_directory(&dir.join("secrets")).unwrap();
/// #[cfg(unix)]
/// {
///     use std::os::unix::fs::PermissionsExt as _;
///     let mode = std::fs::metadata(dir.join("secrets")).unwrap().permissions().mode();
///     assert_eq!(mode & 0o777, 0o700);
/// }
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
///
/// # Errors
///
/// As [`verify_private_directory`]; [`LocalFileErrorKind::Io`] when it cannot be created.
pub fn ensure_private_directory(dir: &Path) -> Result<(), LocalFileError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| LocalFileError::io("create the directory", dir, e))?;
    verify_private_directory(dir)
}

/// Checks that `dir` (followed if it is a symbolic link) is a directory only this user
/// controls, before anything in it is trusted or written:
///
/// - on Unix it must belong to this user (the effective uid): a directory of another user is
///   refused, naming its owner and mode;
/// - it must not be writable by the group or others (where anyone could replace the files in
///   it). When it is this user's, the write bits are removed and a warning is logged, as a
///   repair; a shared directory (the sticky bit, such as `/tmp`) is refused instead, since
///   repairing it would break it for everyone.
///
/// On Windows the directory's access control list comes from the user's profile
/// (`%LOCALAPPDATA%`, `%APPDATA%`), which only the user can write; only its type is checked.
///
/// # Errors
///
/// [`LocalFileErrorKind::NotFound`] when it does not exist; [`LocalFileErrorKind::WrongType`]
/// when it is not a directory; [`LocalFileErrorKind::NotPrivate`] as above;
/// [`LocalFileErrorKind::Io`] when it cannot be inspected or repaired.
pub fn verify_private_directory(dir: &Path) -> Result<(), LocalFileError> {
    let metadata =
        fs::metadata(dir).map_err(|e| LocalFileError::io("inspect the directory", dir, e))?;
    if !metadata.is_dir() {
        return Err(LocalFileError::new(
            LocalFileErrorKind::WrongType,
            dir,
            format!(
                "{} is {}, not a directory",
                dir.display(),
                FileTypeName(metadata.file_type())
            ),
        ));
    }
    #[cfg(unix)]
    verify_unix_directory(dir, &metadata)?;
    Ok(())
}

/// Checks that files can be created in `dir` now: creates an empty private file there
/// (`.mr-auth-probe.<pid>.<random>.tmp`) and removes it. For checking a store or settings
/// directory before work whose result must be saved there (a sign-in).
///
/// # Errors
///
/// [`LocalFileErrorKind::Io`] (or `NotFound`) with the operating system's reason, such as a
/// read-only file system or missing permission.
pub fn check_directory_writable(dir: &Path) -> Result<(), LocalFileError> {
    let probe = dir.join(format!(
        ".mr-auth-probe.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&probe)
        .map_err(|e| LocalFileError::io("create files in", dir, e))?;
    fs::remove_file(&probe).map_err(|e| LocalFileError::io("remove files from", dir, e))
}

#[cfg(unix)]
fn verify_unix_directory(dir: &Path, metadata: &fs::Metadata) -> Result<(), LocalFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    /// Writable by the group or by others.
    const SHARED_WRITE: u32 = 0o022;
    const STICKY: u32 = 0o1000;
    let mode = metadata.permissions().mode() & 0o7777;
    let (owner, me) = (owner_of(metadata), current_user());
    if owner != me {
        return Err(LocalFileError::new(
            LocalFileErrorKind::NotPrivate,
            dir,
            format!(
                "the directory {} belongs to uid {owner}, not to this user (uid {me}) (mode \
                 {mode:04o}), so its files cannot be trusted; use a directory of your own",
                dir.display()
            ),
        ));
    }
    if mode & SHARED_WRITE == 0 {
        return Ok(());
    }
    if mode & STICKY != 0 {
        return Err(LocalFileError::new(
            LocalFileErrorKind::NotPrivate,
            dir,
            format!(
                "the directory {} is shared (mode {mode:04o}: other users can create files in \
                 it), so its files cannot be trusted; use a directory of your own",
                dir.display()
            ),
        ));
    }
    let repaired = mode & !SHARED_WRITE;
    fs::set_permissions(dir, fs::Permissions::from_mode(repaired))
        .map_err(|e| LocalFileError::io("restrict the permissions of", dir, e))?;
    tracing::warn!(
        directory = %dir.display(),
        mode = format_args!("{mode:04o}"),
        repaired = format_args!("{repaired:04o}"),
        "the directory was writable by other users; it no longer is"
    );
    Ok(())
}

/// The effective user id of this process.
#[cfg(unix)]
pub(crate) fn current_user() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The owner of a file.
#[cfg(unix)]
pub(crate) fn owner_of(metadata: &fs::Metadata) -> u32 {
    std::os::unix::fs::MetadataExt::uid(metadata)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::{os::unix::fs::PermissionsExt as _, path::PathBuf};

    fn temp_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mr-auth-private-dir-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// A directory of another user: as root (CI), a directory given to `nobody`; as any other
    /// user, `/`, which is root's.
    fn directory_of_another_user() -> (PathBuf, u32) {
        if current_user() == 0 {
            let dir = temp_dir();
            std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
            (dir, 65534)
        } else {
            (PathBuf::from("/"), 0)
        }
    }

    #[test]
    fn a_new_directory_is_private() {
        let root = temp_dir();
        let dir = root.join("a").join("b");
        ensure_private_directory(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        ensure_private_directory(&dir).unwrap();
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_repaired_when_it_is_ours() {
        let dir = temp_dir();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        verify_private_directory(&dir).unwrap();
        assert_eq!(
            mode(&dir),
            0o755,
            "the write bits of group and others are gone"
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        ensure_private_directory(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_of_another_user_is_refused_naming_owner_and_mode() {
        let (dir, owner) = directory_of_another_user();
        let before = mode(&dir);
        let err = verify_private_directory(&dir).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::NotPrivate, "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("belongs to uid {owner}")),
            "{message}"
        );
        assert!(
            message.contains(&format!("(uid {})", current_user())),
            "{message}"
        );
        assert!(message.contains(&format!("mode {before:04o}")), "{message}");
        assert_eq!(
            mode(&dir),
            before,
            "another user's directory is never changed"
        );
        if dir != Path::new("/") {
            fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn a_shared_sticky_directory_is_refused_not_repaired() {
        let dir = temp_dir();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
        let err = verify_private_directory(&dir).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::NotPrivate);
        assert!(err.to_string().contains("mode 1777"), "{err}");
        assert_eq!(mode(&dir), 0o1777);
        fs::remove_dir_all(dir).unwrap();
    }

    /// As root every directory is writable, whatever its mode; as another user a read-only
    /// directory shows the refusal.
    #[test]
    fn writability_is_probed_without_leaving_anything() {
        let dir = temp_dir();
        check_directory_writable(&dir).unwrap();
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "the probe is removed"
        );
        let err = check_directory_writable(&dir.join("missing")).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::NotFound);
        assert!(
            err.to_string().starts_with("cannot create files in "),
            "{err}"
        );
        if current_user() != 0 {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
            let err = check_directory_writable(&dir).unwrap_err();
            assert_eq!(err.kind(), LocalFileErrorKind::Io, "{err}");
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_is_not_a_directory() {
        let dir = temp_dir();
        let file = dir.join("f");
        fs::write(&file, b"").unwrap();
        let err = ensure_private_directory(&file).unwrap_err();
        assert_ne!(err.kind(), LocalFileErrorKind::NotFound, "{err}");
        let err = verify_private_directory(&file).unwrap_err();
        assert_eq!(err.kind(), LocalFileErrorKind::WrongType);
        assert!(
            err.to_string()
                .contains("is a regular file, not a directory"),
            "{err}"
        );
        assert_eq!(
            verify_private_directory(&dir.join("missing"))
                .unwrap_err()
                .kind(),
            LocalFileErrorKind::NotFound
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
