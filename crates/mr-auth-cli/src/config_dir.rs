//! The per-user mr-auth configuration directory, and private files in it.
//!
//! Where it is, first match wins:
//! 1. `MR_AUTH_CONFIG_DIR`, when set and not empty;
//! 2. Windows: `%APPDATA%\mr-auth`;
//! 3. macOS: `$HOME/Library/Application Support/mr-auth`;
//! 4. elsewhere: `$XDG_CONFIG_HOME/mr-auth` (an absolute `XDG_CONFIG_HOME`), else
//!    `$HOME/.config/mr-auth`.
//!
//! The directory is created with mode 0700 and its files with 0600 (Unix); files are replaced
//! atomically (a new private file renamed over the old one), so a reader never sees half a file,
//! and a symbolic link planted at a file's path is replaced, not followed. Before it is read or
//! written the directory is checked as ssh checks `~/.ssh`: one of another user is refused
//! (naming its owner and mode), one of this user that others can write to is repaired.

use crate::cli_error::CliError;
use mr_auth_core::{
    check_directory_writable, ensure_private_directory, read_regular_file, replace_private_file,
    verify_private_directory, LocalFileError, LocalFileErrorKind,
};
use std::{
    ffi::OsString,
    fs,
    path::{Path, PathBuf},
};

/// The variable that moves the configuration directory (tests, several profiles).
pub(crate) const CONFIG_DIR_ENV: &str = "MR_AUTH_CONFIG_DIR";

/// The largest file read from the directory; mr-auth's own files are a few hundred bytes.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The configuration directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigDir(PathBuf);

impl ConfigDir {
    /// The directory for this process's environment.
    pub(crate) fn from_env() -> Result<Self, CliError> {
        Self::resolve(|name| std::env::var_os(name))
    }

    /// The directory for the environment `var` reads (see the module docs).
    fn resolve(var: impl Fn(&str) -> Option<OsString>) -> Result<Self, CliError> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(dir) = var(CONFIG_DIR_ENV) {
            return Ok(Self(dir));
        }
        let base = if cfg!(windows) {
            var("APPDATA")
        } else if cfg!(target_os = "macos") {
            var("HOME").map(|h| h.join("Library").join("Application Support"))
        } else {
            var("XDG_CONFIG_HOME")
                .filter(|p| p.is_absolute())
                .or_else(|| var("HOME").map(|h| h.join(".config")))
        };
        base.map(|b| Self(b.join("mr-auth"))).ok_or_else(|| {
            CliError::other(format!(
                "cannot find a configuration directory for mr-auth (no {}); set {CONFIG_DIR_ENV}",
                if cfg!(windows) { "APPDATA" } else { "HOME" }
            ))
        })
    }

    /// The directory's path.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// The contents of `name`, or `None` when it (or the directory) does not exist. The
    /// directory is checked first ([`verify_private_directory`]: this user's, not writable by
    /// others); the file must be a regular file (a named pipe is refused at once, not waited
    /// on) of at most 64 KiB.
    pub(crate) fn read(&self, name: &str) -> Result<Option<String>, CliError> {
        match verify_private_directory(&self.0) {
            Err(e) if e.kind() == LocalFileErrorKind::NotFound => return Ok(None),
            checked => checked.map_err(|e| local_error(&e))?,
        }
        let path = self.0.join(name);
        let bytes = match read_regular_file(&path, MAX_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == LocalFileErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == LocalFileErrorKind::TooLarge => {
                return Err(CliError::other(format!(
                    "{e}, so not a file mr-auth wrote; remove it"
                )))
            }
            Err(e) => return Err(local_error(&e)),
        };
        String::from_utf8(bytes).map(Some).map_err(|_| {
            CliError::other(format!(
                "{} is not text, so not a file mr-auth wrote; remove it",
                path.display()
            ))
        })
    }

    /// Replaces `name` with `contents` atomically, in a private file (mode 0600), creating the
    /// directory (mode 0700) when needed and checking it is private.
    pub(crate) fn write_private(&self, name: &str, contents: &str) -> Result<PathBuf, CliError> {
        ensure_private_directory(&self.0).map_err(|e| local_error(&e))?;
        let path = self.0.join(name);
        replace_private_file(&path, contents.as_bytes()).map_err(|e| local_error(&e))?;
        Ok(path)
    }

    /// Checks that the sign-in can be saved here, before anything asks the user to sign in:
    /// the directory is (or is created) private, and files can be created in it.
    pub(crate) fn check_writable(&self) -> Result<(), CliError> {
        ensure_private_directory(&self.0)
            .and_then(|()| check_directory_writable(&self.0))
            .map_err(|e| local_error(&e))
    }

    /// Removes `name`; whether it existed.
    pub(crate) fn remove(&self, name: &str) -> Result<bool, CliError> {
        let path = self.0.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove", &path, &e)),
        }
    }
}

fn local_error(e: &LocalFileError) -> CliError {
    CliError::other(match e.kind() {
        // The message already says to use a directory of one's own.
        LocalFileErrorKind::NotPrivate => format!("{e} ({CONFIG_DIR_ENV} chooses another)"),
        _ => format!("{e}; check its permissions or set {CONFIG_DIR_ENV} to another directory"),
    })
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> CliError {
    CliError::other(format!(
        "cannot {what} {}: {e}; check its permissions or set {CONFIG_DIR_ENV} to another directory",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_override_wins_and_empty_values_count_as_unset() {
        let dir = ConfigDir::resolve(env(&[
            (CONFIG_DIR_ENV, "/tmp/profile"),
            ("HOME", "/home/u"),
            ("APPDATA", "C:\\Users\\u\\AppData\\Roaming"),
        ]))
        .unwrap();
        assert_eq!(dir.path(), Path::new("/tmp/profile"));
        let e = ConfigDir::resolve(env(&[(CONFIG_DIR_ENV, ""), ("HOME", ""), ("APPDATA", "")]))
            .unwrap_err();
        assert!(e.one_line().contains(CONFIG_DIR_ENV), "{}", e.one_line());
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn xdg_config_home_then_home() {
        let dir =
            ConfigDir::resolve(env(&[("XDG_CONFIG_HOME", "/x/cfg"), ("HOME", "/home/u")])).unwrap();
        assert_eq!(dir.path(), Path::new("/x/cfg/mr-auth"));
        // A relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored.
        let dir =
            ConfigDir::resolve(env(&[("XDG_CONFIG_HOME", "cfg"), ("HOME", "/home/u")])).unwrap();
        assert_eq!(dir.path(), Path::new("/home/u/.config/mr-auth"));
    }

    /// A link planted at a file's path (to make `login` write elsewhere) is replaced, not
    /// followed; a named pipe there is refused at once, not waited on.
    #[cfg(unix)]
    #[test]
    fn links_are_replaced_not_followed_and_named_pipes_refused() {
        let root = std::env::temp_dir().join(format!("mr-auth-cfg-{}", uuid::Uuid::new_v4()));
        let dir = ConfigDir(root.join("mr-auth"));
        dir.write_private("other.json", "{}").unwrap();
        let victim = root.join("victim");
        fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("record.json")).unwrap();
        dir.write_private("record.json", "{\"a\":1}").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(dir.path().join("record.json"))
            .unwrap()
            .is_file());

        let fifo = dir.path().join("settings.json");
        mr_auth_test_support::planted_files::make_fifo(&fifo);
        let err = dir.read("settings.json").unwrap_err();
        assert!(
            err.one_line()
                .contains("is a named pipe (FIFO), not a regular file"),
            "{}",
            err.one_line()
        );
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn private_files_round_trip_and_are_replaced_whole() {
        let root = std::env::temp_dir().join(format!("mr-auth-cfg-{}", uuid::Uuid::new_v4()));
        let dir = ConfigDir(root.join("nested").join("mr-auth"));
        assert_eq!(dir.read("a.json").unwrap(), None);
        assert!(!dir.remove("a.json").unwrap());
        dir.write_private("a.json", "one").unwrap();
        let path = dir.write_private("a.json", "two").unwrap();
        assert_eq!(path, dir.path().join("a.json"));
        assert_eq!(dir.read("a.json").unwrap().as_deref(), Some("two"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(dir.path()), 0o700);
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(dir.remove("a.json").unwrap());
        assert_eq!(dir.read("a.json").unwrap(), None);

        fs::write(dir.path().join("big"), vec![b'x'; 70 * 1024]).unwrap();
        assert!(dir
            .read("big")
            .unwrap_err()
            .one_line()
            .contains("larger than"));
        let _ = fs::remove_dir_all(root);
    }
}
