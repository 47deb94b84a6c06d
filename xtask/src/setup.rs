//! `cargo xtask ci setup`: every install CI needs, idempotent, so the checks install nothing.
//!
//! `cargo xtask ci` runs this phase in a second process ([`Background`]) while the first checks
//! (which need nothing installed) run; `cargo xtask ci setup` alone prepares a machine.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::cmd::{missing_programs, which, Cmd, Result};
use crate::summary::Status;
use crate::{apt, azurite, msal_python, msrv, wall_clock};

/// The Windows target whose binaries can be linked (mingw) and run (Wine) on Linux.
pub(crate) const WINDOWS_GNU: &str = "x86_64-pc-windows-gnu";

/// The Windows target the broker ships for; it cannot link here, so it is only type-checked.
pub(crate) const WINDOWS_MSVC: &str = "x86_64-pc-windows-msvc";

/// Linux on ARM64, type-checked with Debian's cross C toolchain.
pub(crate) const LINUX_ARM64: &str = "aarch64-unknown-linux-gnu";

/// The rustup targets the checks build for.
const RUSTUP_TARGETS: &[&str] = &[WINDOWS_GNU, WINDOWS_MSVC, LINUX_ARM64];

/// Every Debian package a check needs: the command that shows it is there (a machine may have
/// it from elsewhere: this one's image has nodesource's `nodejs`, which includes npm and
/// conflicts with Debian's `npm`), or `None` to ask dpkg; and the reason.
const DEBIAN_PACKAGES: &[(&str, Option<&str>, &str)] = &[
    (
        "gcc-mingw-w64-x86-64",
        Some("x86_64-w64-mingw32-gcc"),
        "C for x86_64-pc-windows-gnu: build scripts, linking for Wine",
    ),
    ("wine64", None, "runs the Windows test binaries"),
    (
        "wine",
        Some("wineserver"),
        "the `wine`, `wineboot` and `wineserver` commands",
    ),
    (
        "gcc-aarch64-linux-gnu",
        Some("aarch64-linux-gnu-gcc"),
        "C for aarch64-unknown-linux-gnu build scripts (aws-lc, ring)",
    ),
    (
        "libc6-dev-arm64-cross",
        None,
        "the aarch64 C library headers for those build scripts",
    ),
    (
        "chromium",
        Some("chromium"),
        "the broker's browser-flow tests drive a real headless Chromium",
    ),
    (
        "dbus",
        Some("dbus-daemon"),
        "the Linux broker and Secret Service tests start a private dbus-daemon",
    ),
    (
        "gnome-keyring",
        Some("gnome-keyring-daemon"),
        "the real Secret Service of the persistent-cache tests",
    ),
    (
        "python3",
        None,
        "MSAL for Python, the persistent-cache interop peer",
    ),
    ("python3-venv", None, "the venv MSAL is installed into"),
    (
        "python3-gi",
        None,
        "PyGObject, for msal-extensions' libsecret store",
    ),
    (
        "gir1.2-secret-1",
        None,
        "libsecret's introspection data, for the same",
    ),
    (
        "nodejs",
        Some("node"),
        "runs Azurite, the facade's blob test peer",
    ),
    ("npm", Some("npm"), "installs Azurite"),
    (
        "valgrind",
        Some("valgrind"),
        "mr-auth-core's test that the clocks can be read under valgrind",
    ),
];

/// Commands the checks call directly; checked after the install.
const DEBIAN_COMMANDS: &[&str] = &[
    "x86_64-w64-mingw32-gcc",
    "wine",
    "wineboot",
    "wineserver",
    "aarch64-linux-gnu-gcc",
    "chromium",
    "dbus-daemon",
    "gnome-keyring-daemon",
    "valgrind",
    "node",
    "npm",
];

/// The variable through which the background setup process hands its step times back.
const TIMES_ENV: &str = "MR_AUTH_CI_SETUP_TIMES";

/// rustup targets and the declared `rust-version` toolchain.
pub(crate) fn rustup(root: &Path) -> Result {
    if which("rustup").is_none() {
        return Err(format!(
            "rustup not found: install the standard libraries for {} and Rust {} another way",
            RUSTUP_TARGETS.join(", "),
            msrv::declared_in(root)?
        ));
    }
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .read_quietly()
        .unwrap_or_default();
    let missing: Vec<&str> = RUSTUP_TARGETS
        .iter()
        .copied()
        .filter(|target| !installed.lines().any(|l| l.trim() == *target))
        .collect();
    if missing.is_empty() {
        eprintln!("rustup targets present: {}", RUSTUP_TARGETS.join(", "));
    } else {
        Cmd::new("rustup")
            .args(["target", "add"])
            .args(&missing)
            .run()?;
    }
    let version = msrv::declared_in(root)?;
    if msrv::toolchain_installed(&version) {
        eprintln!("Rust {version} present");
        Ok(())
    } else {
        Cmd::new("rustup")
            .args(["toolchain", "install", &version, "--profile", "minimal"])
            .run()
    }
}

/// Every Debian package of [`DEBIAN_PACKAGES`] not there yet, in one apt run.
pub(crate) fn debian_packages() -> Result {
    let by_dpkg: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(_, command, _)| command.is_none())
        .map(|(package, _, _)| *package)
        .collect();
    let not_installed = apt::not_installed(&by_dpkg);
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(package, command, _)| match command {
            Some(command) => which(command).is_none(),
            None => not_installed.contains(package),
        })
        .map(|(package, _, _)| *package)
        .collect();
    if missing.is_empty() {
        eprintln!("Debian packages present");
    } else {
        apt::install(&missing)?;
    }
    let absent = missing_programs(DEBIAN_COMMANDS);
    if absent.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "after installing the Debian packages, {} is still not on PATH",
            absent.join(", ")
        ))
    }
}

/// MSAL for Python in a venv under the target directory.
pub(crate) fn msal_python(target_dir: &Path) -> Result {
    let python = msal_python::ensure(target_dir)?;
    eprintln!("MR_AUTH_MSAL_PYTHON={}", python.display());
    Ok(())
}

/// Azurite under the target directory.
pub(crate) fn azurite(target_dir: &Path) -> Result {
    azurite::ensure(target_dir).map(drop)
}

/// cargo-deny, for the `deny` and `advisories` checks. Neither Debian nor a registry we reach
/// ships a current build, so it is compiled (`cargo install`, a few minutes on 2 cores).
pub(crate) fn cargo_deny(cargo: &std::ffi::OsStr) -> Result {
    if cargo_deny_installed(cargo) {
        eprintln!("cargo-deny present");
        return Ok(());
    }
    Cmd::new(cargo)
        .args(["install", "--locked", "cargo-deny"])
        .run()
}

/// Whether `cargo deny` runs.
pub(crate) fn cargo_deny_installed(cargo: &std::ffi::OsStr) -> bool {
    Cmd::new(cargo)
        .args(["deny", "--version"])
        .succeeds_quietly()
}

/// Fails naming the setup when any of `commands` is not on `PATH`.
pub(crate) fn require_commands(commands: &[&str]) -> Result {
    let missing = missing_programs(commands);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} not found: run `cargo xtask ci setup` first",
            missing.join(", ")
        ))
    }
}

/// Fails naming the setup when rustup lacks the standard library of `target`.
pub(crate) fn require_target(target: &str) -> Result {
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .read_quietly()
        .unwrap_or_default();
    if installed.lines().any(|l| l.trim() == target) {
        Ok(())
    } else {
        Err(format!(
            "the {target} standard library is not installed: run `cargo xtask ci setup` first"
        ))
    }
}

/// The setup phase running in a second process (`cargo xtask ci setup`), its output going to
/// a log file that is printed when it is [finished](Self::finish).
#[derive(Debug)]
pub(crate) struct Background {
    child: Child,
    log: PathBuf,
    times: PathBuf,
    started: std::time::Instant,
}

/// One setup step as the background process reports it: its name, how it ended, how long it
/// took.
pub(crate) type StepTime = (String, Status, Duration);

impl Background {
    /// Starts `cargo xtask ci setup` (this same binary) with its output in
    /// `<target>/ci-setup.log`.
    pub(crate) fn start(root: &Path, target_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(target_dir)
            .map_err(|e| format!("cannot create {}: {e}", target_dir.display()))?;
        let log = target_dir.join("ci-setup.log");
        let times = target_dir.join("ci-setup-times.tsv");
        // A stale file would report an earlier run's steps.
        let _ = std::fs::remove_file(&times);
        let out =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find xtask itself: {e}"))?;
        eprintln!(
            "setup: running `cargo xtask ci setup` alongside the first checks; its output goes \
             to {} and is printed when it ends",
            log.display()
        );
        let child = Command::new(exe)
            .args(["ci", "setup"])
            .env(TIMES_ENV, &times)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start the setup process: {e}"))?;
        Ok(Self {
            child,
            log,
            times,
            started: wall_clock::now(),
        })
    }

    /// Waits for the setup to end, prints its output and returns each step's time, whether
    /// the whole phase passed, and how long it was from its start until this wait ended.
    pub(crate) fn finish(mut self) -> (Vec<StepTime>, Result, Duration) {
        let status = self.child.wait();
        let elapsed = wall_clock::since(self.started);
        let output = std::fs::read_to_string(&self.log).unwrap_or_default();
        eprintln!("\n==> setup output ({})\n{output}", self.log.display());
        let times = std::fs::read_to_string(&self.times)
            .map(|text| parse_times(&text))
            .unwrap_or_default();
        let result = match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("`cargo xtask ci setup` failed ({status})")),
            Err(e) => Err(format!("cannot wait for `cargo xtask ci setup`: {e}")),
        };
        (times, result, elapsed)
    }
}

/// Writes the step times for the process that started this one, when it asked for them.
pub(crate) fn report_times(times: &[StepTime]) -> Result {
    let Some(path) = std::env::var_os(TIMES_ENV) else {
        return Ok(());
    };
    let text: String = times
        .iter()
        .map(|(name, status, elapsed)| {
            format!(
                "{name}\t{}\t{}\n",
                status_word(*status),
                elapsed.as_millis()
            )
        })
        .collect();
    std::fs::write(&path, text)
        .map_err(|e| format!("cannot write {}: {e}", Path::new(&path).display()))
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Failed => "failed",
        Status::NotRun => "not-run",
    }
}

/// Reads what [`report_times`] wrote; malformed lines are skipped.
fn parse_times(text: &str) -> Vec<StepTime> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let name = fields.next()?.to_owned();
            let status = match fields.next()? {
                "ok" => Status::Ok,
                "failed" => Status::Failed,
                "not-run" => Status::NotRun,
                _ => return None,
            };
            let millis = fields.next()?.parse().ok()?;
            Some((name, status, Duration::from_millis(millis)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_times_survive_the_round_trip() {
        let times = vec![
            ("apt".to_owned(), Status::Ok, Duration::from_millis(61_250)),
            (
                "azurite".to_owned(),
                Status::Failed,
                Duration::from_millis(3),
            ),
            ("cargo-deny".to_owned(), Status::NotRun, Duration::ZERO),
        ];
        let text: String = times
            .iter()
            .map(|(n, s, e)| format!("{n}\t{}\t{}\n", status_word(*s), e.as_millis()))
            .collect();
        assert_eq!(parse_times(&text), times);
        assert_eq!(parse_times("apt\tok\n\nx\tmaybe\t1\n"), vec![]);
    }
}
