//! A private D-Bus session bus for tests: its own `dbus-daemon --session`, with its own
//! config and socket in a temporary directory, killed (and the directory removed) on drop.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// How long the daemon may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running private bus. Tests connect to [`PrivateSessionBus::address`].
#[derive(Debug)]
pub struct PrivateSessionBus {
    child: Child,
    dir: PathBuf,
    address: String,
}

/// `dbus-daemon` on `PATH`, if any.
/// `program` in one of `PATH`'s directories.
pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

/// Why a test that needs a real daemon cannot run here: the program is not installed (and
/// `CI` is unset). The test reports it and returns; its `Display` is the line to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingProgram {
    /// The test that needed it.
    pub test: String,
    /// The program that was not found on `PATH`.
    pub program: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
}

impl std::fmt::Display for MissingProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "skipped {}: {} is not installed (Debian package {}); these tests need the real program",
            self.test, self.program, self.package
        )
    }
}

/// Whether the `CI` variable says this is a CI run.
pub(crate) fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// [`MissingProgram`] for `test`, or a test failure under CI, where `cargo xtask ci` installs
/// every program the tests need.
pub(crate) fn missing(test: &str, program: &'static str, package: &'static str) -> MissingProgram {
    assert!(
        !ci(),
        "{test}: {program} is not installed, and CI is set: install the Debian package {package} (cargo xtask ci does)"
    );
    MissingProgram {
        test: test.to_owned(),
        program,
        package,
    }
}

impl PrivateSessionBus {
    /// Starts a private bus, or says why `test` is skipped ([`MissingProgram`]) when
    /// `dbus-daemon` is not installed and the `CI` variable is unset. Under CI a missing
    /// daemon fails the test instead: `cargo xtask ci` installs it (Debian package `dbus`).
    ///
    /// # Errors
    ///
    /// [`MissingProgram`] when `dbus-daemon` is not on `PATH` outside CI.
    ///
    /// # Panics
    ///
    /// When the daemon is missing under CI, or cannot be started (a test failure).
    pub async fn start_or_skip(test: &str) -> Result<Self, MissingProgram> {
        let Some(daemon) = find_on_path("dbus-daemon") else {
            return Err(missing(test, "dbus-daemon", "dbus"));
        };
        Ok(Self::start(&daemon).await)
    }

    async fn start(daemon: &Path) -> Self {
        let dir = std::env::temp_dir().join(format!("mr-auth-bus-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create the bus's temporary directory");
        let socket = dir.join("bus");
        let config_file = dir.join("session.conf");
        std::fs::write(&config_file, config(&socket)).expect("write the bus config");
        let mut child = Command::new(daemon)
            .arg(format!("--config-file={}", config_file.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Its warnings (an fd limit it may not raise) are noise in test output.
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start dbus-daemon");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .expect("dbus-daemon printed its address in time")
            .expect("read dbus-daemon's address")
            .expect("dbus-daemon printed an address before exiting");
        let address = address.trim().to_owned();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}, not a unix address"
        );
        Self {
            child,
            dir,
            address,
        }
    }

    /// The bus's D-Bus address (`unix:path=...,guid=...`).
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateSessionBus {
    fn drop(&mut self) {
        // `kill_on_drop` ends the daemon too; this makes it explicit and immediate.
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
