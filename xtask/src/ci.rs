//! `cargo xtask ci`: every check CI runs, stopping at the first failure, after a setup phase
//! that installs everything the checks need (see [`crate::setup`]): the checks install nothing.
//!
//! `cargo xtask ci` runs the setup in a second process alongside the checks that need nothing
//! installed (tidy, fmt, clippy for the host), then the rest; `cargo xtask ci setup` runs only
//! the setup; `cargo xtask ci STEP...` runs the named steps in order, one after the other.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{Cmd, Result};
use crate::setup::{self, Background, LINUX_ARM64, WINDOWS_GNU, WINDOWS_MSVC};
use crate::summary::{Status, Summary};
use crate::tidy;
use crate::wall_clock;
use crate::wam_fake;
use crate::wine_prefix::WinePrefix;
use crate::{advisories, azurite, msal_python, msrv, package};

/// Workspace packages left out of the `x86_64-pc-windows-gnu` clippy run, each with the reason.
/// Empty today: on Windows our TLS is native-tls (schannel), so no crate needs to compile C for
/// Windows. Add a package here only when it truly cannot cross-build, and say why.
const WINDOWS_GNU_CLIPPY_EXCLUDED: &[(&str, &str)] = &[];

/// Packages type-checked (clippy) for `x86_64-pc-windows-msvc`: the ones with Windows-only
/// code (`#[cfg(windows)]`). The rest of the workspace compiles the same code for every
/// Windows target, and the windows-gnu step lints it.
const WINDOWS_MSVC_CLIPPY_PACKAGES: &[&str] =
    &["mr-auth-msal-cache", "mr-auth-broker", "mr-auth-wam-fake"];

/// Packages whose tests are built for `x86_64-pc-windows-gnu` and run under Wine, with the
/// extra `cargo test` arguments for each. Core runs only its unit tests (`--lib`): its
/// integration tests exercise platform-neutral HTTP code that the Linux run already covers.
/// The MSAL cache runs all of its tests (DPAPI, the cache file in `%LOCALAPPDATA%`).
/// They run without the fake WAM provider registered: WAM is missing, as it is under plain Wine.
const WINE_TESTS: &[(&str, &[&str])] = &[
    ("mr-auth-core", &["--lib"]),
    ("mr-auth-msal-cache", &[]),
    ("mr-auth-broker", &[]),
];

/// The tests that run under Wine with the fake WAM provider registered (see `wam_fake.rs`),
/// after [`WINE_TESTS`]: the WAM module's success, failure and cancellation paths.
const WINE_WAM_FAKE_TESTS: (&str, &[&str]) = ("mr-auth-broker", &["--test", "wam_fake"]);

/// Commands the Windows steps need (Debian packages installed by the setup).
const WINDOWS_TOOLS: &[&str] = &["x86_64-w64-mingw32-gcc", "wine", "wineboot", "wineserver"];

/// The C compiler and archiver for `aarch64-unknown-linux-gnu` build scripts (Debian's
/// `gcc-aarch64-linux-gnu`, installed by the setup).
const ARM64_CC: &str = "aarch64-linux-gnu-gcc";
const ARM64_AR: &str = "aarch64-linux-gnu-ar";

/// Commands the test step's real peers need (Debian packages installed by the setup): the
/// tests fail under CI when one is missing.
const TEST_TOOLS: &[&str] = &["chromium", "dbus-daemon", "gnome-keyring-daemon"];

/// How long the Wine test run of one package may take before it is killed as hung.
const WINE_TEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Which phase a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// An install (`cargo xtask ci setup` runs them all).
    Setup,
    /// A check that needs nothing the setup installs: runs alongside the setup.
    Early,
    /// A check that needs what the setup installed.
    Check,
}

/// One CI step: a short name (usable on the command line), a title for the summary, its phase
/// and the function that runs it.
struct Step {
    name: &'static str,
    title: &'static str,
    phase: Phase,
    run: fn(&mut Ci) -> Result,
}

/// Every step, in the order CI runs them: the setup, then the checks.
const STEPS: &[Step] = &[
    Step {
        name: "rustup",
        title: "setup: rustup targets + MSRV toolchain",
        phase: Phase::Setup,
        run: Ci::setup_rustup,
    },
    Step {
        name: "apt",
        title: "setup: Debian packages",
        phase: Phase::Setup,
        run: Ci::setup_apt,
    },
    Step {
        name: "msal-python",
        title: "setup: msal for python (pip)",
        phase: Phase::Setup,
        run: Ci::setup_msal_python,
    },
    Step {
        name: "azurite",
        title: "setup: azurite (npm)",
        phase: Phase::Setup,
        run: Ci::setup_azurite,
    },
    Step {
        name: "cargo-deny",
        title: "setup: cargo-deny (cargo install)",
        phase: Phase::Setup,
        run: Ci::setup_cargo_deny,
    },
    Step {
        name: "tidy",
        title: "tidy",
        phase: Phase::Early,
        run: Ci::tidy,
    },
    Step {
        name: "fmt",
        title: "fmt --check",
        phase: Phase::Early,
        run: Ci::fmt,
    },
    Step {
        name: "clippy",
        title: "clippy (host)",
        phase: Phase::Early,
        run: Ci::clippy_host,
    },
    Step {
        name: "clippy-windows-gnu",
        title: "clippy (windows-gnu)",
        phase: Phase::Check,
        run: Ci::clippy_windows_gnu,
    },
    Step {
        name: "clippy-windows-msvc",
        title: "clippy (windows-msvc)",
        phase: Phase::Check,
        run: Ci::clippy_windows_msvc,
    },
    Step {
        name: "clippy-linux-arm64",
        title: "clippy (linux-arm64)",
        phase: Phase::Check,
        run: Ci::clippy_linux_arm64,
    },
    Step {
        name: "test",
        title: "tests + doctests + fuzz corpus",
        phase: Phase::Check,
        run: Ci::test,
    },
    Step {
        name: "doc",
        title: "doc (-D warnings)",
        phase: Phase::Check,
        run: Ci::doc,
    },
    Step {
        name: "deny",
        title: "deny (bans licenses sources)",
        phase: Phase::Check,
        run: Ci::deny,
    },
    Step {
        name: "advisories",
        title: "deny advisories",
        phase: Phase::Check,
        run: Ci::advisories,
    },
    Step {
        name: "msrv",
        title: "msrv (libs + bins, declared rust-version)",
        phase: Phase::Check,
        run: Ci::msrv,
    },
    Step {
        name: "package",
        title: "package (publishable crates)",
        phase: Phase::Check,
        run: Ci::package,
    },
    Step {
        name: "wine",
        title: "windows tests (wine)",
        phase: Phase::Check,
        run: Ci::wine,
    },
];

/// The state shared by the steps.
#[derive(Debug)]
struct Ci {
    root: PathBuf,
    target_dir: PathBuf,
    summary: Summary,
}

/// The name that selects every setup step.
const SETUP: &str = "setup";

/// Runs the steps named in `only` (`setup` names every setup step), or, when `only` is empty,
/// the setup alongside the early checks and then every other check; prints the summary and
/// fails if any step failed.
pub(crate) fn run(root: &Path, only: &[String]) -> Result {
    for name in only {
        if name != SETUP && !STEPS.iter().any(|s| s.name == name) {
            let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
            return Err(format!(
                "unknown step `{name}`; steps are: {SETUP} (every setup step), {}",
                names.join(", ")
            ));
        }
    }
    let mut ci = Ci {
        root: root.to_owned(),
        target_dir: target_dir(root),
        summary: Summary::default(),
    };
    let started = wall_clock::now();
    let result = if only.is_empty() {
        ci.run_everything()
    } else {
        let selected: Vec<&Step> = STEPS
            .iter()
            .filter(|s| {
                only.iter()
                    .any(|n| n == s.name || (n == SETUP && s.phase == Phase::Setup))
            })
            .collect();
        let result = ci.run_in_order(&selected);
        if selected.iter().all(|s| s.phase == Phase::Setup) {
            // The times of a background setup, for the `cargo xtask ci` that started it.
            let times: Vec<setup::StepTime> = ci
                .summary
                .rows()
                .filter_map(|(title, status, elapsed)| {
                    let step = STEPS.iter().find(|s| s.title == title)?;
                    Some((step.name.to_owned(), status, elapsed))
                })
                .collect();
            setup::report_times(&times)?;
        }
        result
    };
    ci.summary.set_wall_time(wall_clock::since(started));
    println!("\n{}", ci.summary);
    result
}

/// The target directory cargo uses: `CARGO_TARGET_DIR` when set, else `<root>/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

impl Ci {
    /// Runs `steps` one after the other; after a failure the rest are listed as not run.
    fn run_in_order(&mut self, steps: &[&Step]) -> Result {
        let mut failure = None;
        for (i, step) in steps.iter().enumerate() {
            if failure.is_some() {
                self.summary.not_run(step.title);
                continue;
            }
            eprintln!(
                "\n==> [{}/{}] {} (`cargo xtask ci {}`)",
                i + 1,
                steps.len(),
                step.title,
                step.name
            );
            let started = wall_clock::now();
            let result = (step.run)(self);
            let status = if result.is_ok() {
                Status::Ok
            } else {
                Status::Failed
            };
            self.summary
                .record(step.title, status, wall_clock::since(started));
            if let Err(e) = result {
                failure = Some(format!("step `{}` failed: {e}", step.name));
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// The setup in a second process while the early checks run, then the other checks.
    fn run_everything(&mut self) -> Result {
        let in_phase =
            |phase: Phase| -> Vec<&Step> { STEPS.iter().filter(|s| s.phase == phase).collect() };
        let background = Background::start(&self.root, &self.target_dir)?;
        let early = self.run_in_order(&in_phase(Phase::Early));
        let (times, setup_result, waited) = background.finish();
        // The setup's steps ran one after the other: their sum is how long it worked.
        let setup_elapsed: Duration = times.iter().map(|(_, _, elapsed)| *elapsed).sum();
        for (name, status, elapsed) in times {
            let title = STEPS
                .iter()
                .find(|s| s.name == name)
                .map_or("setup: (unknown step)", |s| s.title);
            self.summary.record_first(title, status, elapsed);
        }
        let early_titles: Vec<&str> = in_phase(Phase::Early).iter().map(|s| s.title).collect();
        self.summary.note(format!(
            "the setup steps ran in a second process alongside {} ({:.1} s of setup; {:.1} s \
             from its start until those steps and it had both ended); their times overlap \
             those steps', so the total is the wall-clock time, not the sum of the rows",
            early_titles.join(", "),
            setup_elapsed.as_secs_f64(),
            waited.as_secs_f64()
        ));
        let checks = in_phase(Phase::Check);
        if let Err(e) = early.and(setup_result.map_err(|e| format!("setup failed: {e}"))) {
            for step in checks {
                self.summary.not_run(step.title);
            }
            return Err(e);
        }
        self.run_in_order(&checks)
    }

    fn cargo(&self) -> Cmd {
        Cmd::new(crate::cargo()).current_dir(&self.root)
    }

    fn setup_rustup(&mut self) -> Result {
        setup::rustup(&self.root)
    }

    fn setup_apt(&mut self) -> Result {
        setup::debian_packages()
    }

    fn setup_msal_python(&mut self) -> Result {
        setup::msal_python(&self.target_dir)
    }

    fn setup_azurite(&mut self) -> Result {
        setup::azurite(&self.target_dir)
    }

    fn setup_cargo_deny(&mut self) -> Result {
        setup::cargo_deny(&crate::cargo())
    }

    fn tidy(&mut self) -> Result {
        let problems = tidy::check(&self.root)?;
        if problems.is_empty() {
            eprintln!("tidy: ok");
            return Ok(());
        }
        for problem in &problems {
            eprintln!("tidy: {problem}");
        }
        Err(format!("{} tidy problem(s), listed above", problems.len()))
    }

    fn fmt(&mut self) -> Result {
        self.cargo().args(["fmt", "--all", "--check"]).run()
    }

    fn clippy_host(&mut self) -> Result {
        self.cargo()
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--locked",
                "--",
                "-D",
                "warnings",
            ])
            .run()
    }

    fn clippy_windows_gnu(&mut self) -> Result {
        setup::require_target(WINDOWS_GNU)?;
        // mingw for build scripts that compile C.
        setup::require_commands(WINDOWS_TOOLS)?;
        let mut cmd = self.cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--target",
            WINDOWS_GNU,
            "--locked",
        ]);
        for (package, reason) in WINDOWS_GNU_CLIPPY_EXCLUDED {
            cmd = cmd.args(["--exclude", package]);
            self.summary.note(format!(
                "{package} is not linted for {WINDOWS_GNU}: {reason}"
            ));
        }
        cmd.args(["--", "-D", "warnings"]).run()
    }

    fn clippy_windows_msvc(&mut self) -> Result {
        setup::require_target(WINDOWS_MSVC)?;
        let mut cmd = self.cargo().arg("clippy");
        for package in WINDOWS_MSVC_CLIPPY_PACKAGES {
            cmd = cmd.args(["-p", package]);
        }
        cmd.args([
            "--all-targets",
            "--target",
            WINDOWS_MSVC,
            "--locked",
            "--",
            "-D",
            "warnings",
        ])
        .run()
    }

    /// The whole workspace for Linux on ARM64, with Debian's cross C toolchain for the build
    /// scripts that compile C for the target (aws-lc-sys, ring). Type-checked only: nothing
    /// is linked or run for ARM64.
    fn clippy_linux_arm64(&mut self) -> Result {
        setup::require_target(LINUX_ARM64)?;
        setup::require_commands(&[ARM64_CC, ARM64_AR])?;
        self.cargo()
            .env("CC_aarch64_unknown_linux_gnu", ARM64_CC)
            .env("AR_aarch64_unknown_linux_gnu", ARM64_AR)
            .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", ARM64_CC)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--target",
                LINUX_ARM64,
                "--locked",
                "--",
                "-D",
                "warnings",
            ])
            .run()
    }

    /// `cargo` for the test step: with the MSAL interpreter and Azurite the setup installed
    /// (without the venv the interop tests skip; without Azurite the blob test installs it).
    fn test_cargo(&mut self) -> Cmd {
        let mut cmd = self.cargo();
        match msal_python::installed(&self.target_dir) {
            Some(python) => cmd = cmd.env("MR_AUTH_MSAL_PYTHON", python),
            None => self
                .summary
                .note("no msal venv (run `cargo xtask ci setup`): the msal interop tests skipped"),
        }
        if let Some(binary) = azurite::installed(&self.target_dir) {
            cmd = cmd.env(azurite::ENV, binary);
        }
        cmd
    }

    /// The workspace's tests and doctests; among them `mr-auth-test-support`'s `fuzz_corpus`,
    /// which replays every committed fuzz input through its target (see FUZZING.md).
    fn test(&mut self) -> Result {
        setup::require_commands(TEST_TOOLS)?;
        let nextest = self
            .cargo()
            .args(["nextest", "--version"])
            .succeeds_quietly();
        if nextest {
            self.test_cargo()
                .args([
                    "nextest",
                    "run",
                    "--workspace",
                    "--all-features",
                    "--locked",
                    "--no-fail-fast",
                ])
                .run()?;
            // nextest does not run doctests.
            self.test_cargo()
                .args(["test", "--workspace", "--doc", "--all-features", "--locked"])
                .run()
        } else {
            self.summary
                .note("cargo-nextest not installed: tests ran with `cargo test`");
            // `cargo test` runs the doctests too.
            self.test_cargo()
                .args([
                    "test",
                    "--workspace",
                    "--all-features",
                    "--locked",
                    "--no-fail-fast",
                ])
                .run()
        }
    }

    fn doc(&mut self) -> Result {
        self.cargo()
            .env("RUSTDOCFLAGS", "-D warnings")
            .args([
                "doc",
                "--workspace",
                "--no-deps",
                "--all-features",
                "--locked",
            ])
            .run()
    }

    fn require_cargo_deny(&self) -> Result {
        if setup::cargo_deny_installed(&crate::cargo()) {
            Ok(())
        } else {
            Err("cargo-deny not installed: run `cargo xtask ci setup` first".to_owned())
        }
    }

    fn deny(&mut self) -> Result {
        self.require_cargo_deny()?;
        // `advisories` is its own step (`advisories`), with its own database handling.
        self.cargo()
            .args([
                "deny",
                "--locked",
                "--all-features",
                "check",
                // The dependency graphs under each duplicate-version warning run to hundreds
                // of lines; `cargo deny check bans` shows them locally.
                "--hide-inclusion-graph",
                "bans",
                "licenses",
                "sources",
            ])
            .run()
    }

    fn advisories(&mut self) -> Result {
        self.require_cargo_deny()?;
        let note = advisories::check(&crate::cargo(), &self.root, &self.target_dir)?;
        self.summary.note(note);
        Ok(())
    }

    fn msrv(&mut self) -> Result {
        let note = msrv::check(&self.root)?;
        self.summary.note(note);
        Ok(())
    }

    fn package(&mut self) -> Result {
        package::check(&crate::cargo(), &self.root)
    }

    fn wine(&mut self) -> Result {
        setup::require_target(WINDOWS_GNU)?;
        setup::require_commands(WINDOWS_TOOLS)?;
        let prefix = WinePrefix::ensure(&self.root, &self.target_dir)?;
        let result = self.wine_tests(&prefix);
        // Leave no wineserver or stray test process behind, pass or fail.
        prefix.kill_server();
        result
    }

    fn wine_tests(&self, prefix: &WinePrefix) -> Result {
        // A run interrupted while the fake was registered left it there: WAM must be missing
        // for these tests (activation fails with 0x80040154).
        wam_fake::unregister(prefix)?;
        for (package, args) in WINE_TESTS {
            self.wine_test(prefix, package, args).run()?;
        }
        wam_fake::build(self.cargo(), WINDOWS_GNU).run()?;
        wam_fake::register(prefix, &self.target_dir, WINDOWS_GNU)?;
        let (package, args) = WINE_WAM_FAKE_TESTS;
        let result = self
            .wine_test(prefix, package, args)
            // The tests fail, instead of skipping, if the fake is not registered.
            .env("MR_AUTH_WAM_FAKE_REQUIRED", "1")
            .run();
        // Registered only for those tests, pass or fail.
        let unregistered = wam_fake::unregister(prefix);
        result.and(unregistered)
    }

    /// `cargo test` of `package` for Windows, run under Wine in `prefix`.
    fn wine_test(&self, prefix: &WinePrefix, package: &str, args: &[&str]) -> Cmd {
        prefix
            .wine_cmd(crate::cargo())
            .current_dir(&self.root)
            .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", "wine")
            .args(["test", "--target", WINDOWS_GNU, "-p", package])
            .args(args)
            .arg("--locked")
            .timeout(WINE_TEST_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_are_unique() {
        for (i, step) in STEPS.iter().enumerate() {
            assert!(
                STEPS[i + 1..].iter().all(|s| s.name != step.name),
                "duplicate step {}",
                step.name
            );
        }
    }

    #[test]
    fn the_setup_comes_first_then_the_early_checks_then_the_rest() {
        let phases: Vec<Phase> = STEPS.iter().map(|s| s.phase).collect();
        let first_early = phases.iter().position(|p| *p == Phase::Early).unwrap();
        let first_check = phases.iter().position(|p| *p == Phase::Check).unwrap();
        assert!(phases[..first_early].iter().all(|p| *p == Phase::Setup));
        assert!(phases[first_early..first_check]
            .iter()
            .all(|p| *p == Phase::Early));
        assert!(phases[first_check..].iter().all(|p| *p == Phase::Check));
        assert!(first_early > 0, "there is a setup phase");
    }

    #[test]
    fn the_usage_names_every_step() {
        for step in STEPS {
            assert!(
                crate::USAGE.split_whitespace().any(|w| w == step.name),
                "the usage text does not name `{}`",
                step.name
            );
        }
    }

    #[test]
    fn unknown_step_is_refused_before_anything_runs() {
        let err = run(Path::new("/nonexistent"), &["nope".to_owned()]).unwrap_err();
        assert!(err.contains("unknown step `nope`"), "{err}");
        assert!(err.contains("fmt"), "{err}");
    }

    #[test]
    fn the_hosted_windows_job_runs_the_wine_tests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workflow = std::fs::read_to_string(root.join(".github/workflows/ci.yml")).unwrap();
        assert!(
            workflow.contains("run: cargo xtask ci\n"),
            "the linux job runs xtask"
        );
        let mut clippy = "run: cargo clippy".to_owned();
        for package in WINDOWS_MSVC_CLIPPY_PACKAGES {
            clippy.push_str(" -p ");
            clippy.push_str(package);
        }
        clippy.push_str(" --all-targets --locked -- -D warnings");
        assert!(workflow.contains(&clippy), "ci.yml lacks `{clippy}`");
        for (package, args) in WINE_TESTS {
            let mut line = format!("run: cargo test -p {package}");
            for arg in *args {
                line.push(' ');
                line.push_str(arg);
            }
            line.push_str(" --locked");
            assert!(workflow.contains(&line), "ci.yml lacks `{line}`");
        }
    }

    #[test]
    fn workspace_packages_named_here_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let named = WINDOWS_MSVC_CLIPPY_PACKAGES
            .iter()
            .chain(WINDOWS_GNU_CLIPPY_EXCLUDED.iter().map(|(p, _)| p))
            .chain(WINE_TESTS.iter().map(|(p, _)| p))
            .chain([&WINE_WAM_FAKE_TESTS.0, &wam_fake::PACKAGE]);
        for package in named {
            let manifest = root.join("crates").join(package).join("Cargo.toml");
            assert!(manifest.is_file(), "{} is missing", manifest.display());
        }
    }
}
