//! Running external commands: echo first, inherit output, fail with a message that names the
//! command.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use crate::wall_clock;

/// The result type of every xtask action: the error is a message for the person reading the
/// CI log.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// One external command, built up and then run with its command line echoed.
#[derive(Debug)]
pub(crate) struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
    timeout: Option<Duration>,
}

impl Cmd {
    /// A command running `program`.
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            dir: None,
            timeout: None,
        }
    }

    /// Appends one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the command (and echoes it).
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable for the command (and echoes it).
    pub(crate) fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_owned(), None));
        self
    }

    /// Runs the command in `dir`.
    pub(crate) fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Kills the command when it runs longer than `timeout`.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).stdin(Stdio::null());
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
    }

    /// Echoes the command line, runs it with inherited stdout/stderr and fails unless it exits
    /// with status 0.
    pub(crate) fn run(&self) -> Result {
        eprintln!("$ {self}");
        let status = self.status()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{self}` failed ({status})"))
        }
    }

    /// Runs the command quietly (not echoed, output discarded) and says whether it succeeded;
    /// a command that cannot be started counts as a failure.
    pub(crate) fn succeeds_quietly(&self) -> bool {
        self.command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Runs the command quietly and returns its stdout when it succeeds.
    pub(crate) fn read_quietly(&self) -> Option<String> {
        let output = self.command().stderr(Stdio::null()).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs the command quietly and returns its stdout whatever its exit status (`None` only
    /// when it cannot be started): for commands that report partial answers with a failure
    /// status, as `dpkg-query` does for unknown packages.
    pub(crate) fn read_quietly_even_on_failure(&self) -> Option<String> {
        let output = self.command().stderr(Stdio::null()).output().ok()?;
        Some(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Echoes the command line, runs it and returns whether it succeeded with its stdout and
    /// stderr together; fails only when it cannot be started.
    pub(crate) fn output_quietly(&self) -> Result<(bool, String)> {
        eprintln!("$ {self}");
        let output = self
            .command()
            .output()
            .map_err(|e| format!("cannot start `{self}`: {e}"))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok((output.status.success(), text))
    }

    fn status(&self) -> Result<ExitStatus> {
        let mut child = self
            .command()
            .spawn()
            .map_err(|e| format!("cannot start `{self}`: {e}"))?;
        let Some(timeout) = self.timeout else {
            return child
                .wait()
                .map_err(|e| format!("cannot wait for `{self}`: {e}"));
        };
        let deadline = wall_clock::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if wall_clock::now() >= deadline => {
                    // Best effort: the error below is what matters to the caller.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{self}` did not finish within {} s and was killed",
                        timeout.as_secs()
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(200)),
                Err(e) => return Err(format!("cannot wait for `{self}`: {e}")),
            }
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.envs {
            match value {
                Some(value) => write!(f, "{}={} ", key.to_string_lossy(), quote(value))?,
                None => write!(f, "-u {} ", key.to_string_lossy())?,
            }
        }
        write!(f, "{}", self.program.to_string_lossy())?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

/// Quotes an argument for the echoed command line when it would not survive a shell as is.
fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Finds `program` on `PATH`, like `command -v`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The programs of `programs` that [`which`] does not find.
pub(crate) fn missing_programs<'a>(programs: &[&'a str]) -> Vec<&'a str> {
    programs
        .iter()
        .copied()
        .filter(|program| which(program).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_quoting() {
        let cmd = Cmd::new("cargo")
            .env("RUSTDOCFLAGS", "-D warnings")
            .env_remove("DISPLAY")
            .args(["doc", "--no-deps", "it's"]);
        assert_eq!(
            cmd.to_string(),
            r"RUSTDOCFLAGS='-D warnings' -u DISPLAY cargo doc --no-deps 'it'\''s'"
        );
    }

    #[test]
    fn run_reports_the_failing_command() {
        let err = Cmd::new("sh").args(["-c", "exit 3"]).run().unwrap_err();
        assert!(err.contains("`sh -c 'exit 3'` failed"), "{err}");
    }

    #[test]
    fn run_reports_a_missing_program() {
        let err = Cmd::new("/nonexistent/xtask-test-program")
            .run()
            .unwrap_err();
        assert!(err.starts_with("cannot start"), "{err}");
    }

    #[test]
    fn timeout_kills_a_command_that_runs_too_long() {
        let started = wall_clock::now();
        let err = Cmd::new("sleep")
            .arg("30")
            .timeout(Duration::from_millis(300))
            .run()
            .unwrap_err();
        assert!(err.contains("did not finish within"), "{err}");
        assert!(wall_clock::since(started) < Duration::from_secs(20));
    }

    #[test]
    fn read_quietly_returns_stdout_only_on_success() {
        assert_eq!(
            Cmd::new("sh")
                .args(["-c", "echo hi"])
                .read_quietly()
                .as_deref(),
            Some("hi\n")
        );
        assert_eq!(
            Cmd::new("sh")
                .args(["-c", "echo hi; exit 1"])
                .read_quietly(),
            None
        );
        assert!(which("sh").is_some());
        assert!(which("xtask-no-such-program").is_none());
        assert_eq!(
            missing_programs(&["sh", "xtask-no-such-program"]),
            ["xtask-no-such-program"]
        );
    }
}
