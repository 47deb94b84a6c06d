use std::{
    fmt, io,
    path::{Path, PathBuf},
};

/// What was wrong with a local file or directory, in a form a caller can `match` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocalFileErrorKind {
    /// Nothing exists at the path.
    NotFound,
    /// Something exists at the path, but not what was expected: a named pipe (FIFO), a device,
    /// a socket or a directory where a regular file was expected, a file where a directory
    /// was expected, or a symbolic link where links are not followed.
    WrongType,
    /// The file is larger than the bound it is read with.
    TooLarge,
    /// The file or directory is not private to this user: owned by another user, a file with
    /// several hard links, or a directory other users can write to that cannot be repaired
    /// (one owned by someone else, or a shared directory such as `/tmp`).
    NotPrivate,
    /// The operating system refused or failed the operation (permissions, a full disk...);
    /// its error is the [`source`](std::error::Error::source).
    Io,
}

/// A local file or directory that could not be used: which one, what was wrong, and the
/// operating system's error when there is one. The message names the path and says what to
/// do; control characters in it are replaced, so it is safe to show on a terminal.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LocalFileError {
    kind: LocalFileErrorKind,
    path: PathBuf,
    message: String,
    #[source]
    source: Option<io::Error>,
}

impl LocalFileError {
    pub(crate) fn new(kind: LocalFileErrorKind, path: &Path, message: String) -> Self {
        Self {
            kind,
            path: path.to_owned(),
            message: crate::without_control_characters(message),
            source: None,
        }
    }

    /// The operating system's error `e` while doing `what` (such as "open") to `path`.
    pub(crate) fn io(what: &str, path: &Path, e: io::Error) -> Self {
        let kind = if e.kind() == io::ErrorKind::NotFound {
            LocalFileErrorKind::NotFound
        } else {
            LocalFileErrorKind::Io
        };
        let mut error = Self::new(kind, path, format!("cannot {what} {}: {e}", path.display()));
        error.source = Some(e);
        error
    }

    /// What was wrong.
    pub fn kind(&self) -> LocalFileErrorKind {
        self.kind
    }

    /// The file or directory it was wrong with.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What a file type is, for messages: "a named pipe (FIFO)", "a directory"...
pub(crate) struct FileTypeName(pub(crate) std::fs::FileType);

impl fmt::Display for FileTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file_type = self.0;
        let name = if file_type.is_dir() {
            "a directory"
        } else if file_type.is_symlink() {
            "a symbolic link"
        } else if file_type.is_file() {
            "a regular file"
        } else {
            special_type_name(file_type)
        };
        f.write_str(name)
    }
}

#[cfg(unix)]
fn special_type_name(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_type_name(_file_type: std::fs::FileType) -> &'static str {
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_errors_keep_their_cause_and_name_the_path() {
        let path = Path::new("/nowhere/file");
        let e = LocalFileError::io(
            "open",
            path,
            io::Error::new(io::ErrorKind::NotFound, "gone"),
        );
        assert_eq!(e.kind(), LocalFileErrorKind::NotFound);
        assert_eq!(e.to_string(), "cannot open /nowhere/file: gone");
        assert_eq!(e.source().unwrap().to_string(), "gone");
        assert_eq!(e.path(), path);
        let denied = LocalFileError::io(
            "open",
            path,
            io::Error::new(io::ErrorKind::PermissionDenied, "denied"),
        );
        assert_eq!(denied.kind(), LocalFileErrorKind::Io);
    }

    #[test]
    fn control_characters_in_paths_never_reach_the_message() {
        let e = LocalFileError::new(
            LocalFileErrorKind::WrongType,
            Path::new("/tmp/a\u{1b}]0;title\u{7}"),
            "/tmp/a\u{1b}]0;title\u{7} is a directory".to_owned(),
        );
        assert!(!e.to_string().chars().any(char::is_control), "{e}");
    }
}
