//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{which, Cmd, Result};
use crate::fuzz;
use crate::msal_python;
use crate::summary::{Status, Summary};
use crate::tidy;
use crate::wall_clock;
use crate::wam_fake;
use crate::wine_prefix::WinePrefix;
use crate::{advisories, apt, azurite, msrv, package};

/// The Windows target whose binaries can be linked (mingw) and run (Wine) on Linux.
const WINDOWS_GNU: &str = "x86_64-pc-windows-gnu";

/// The Windows target the broker ships for; it cannot link here, so it is only type-checked.
const WINDOWS_MSVC: &str = "x86_64-pc-windows-msvc";

/// Workspace packages left out of the `x86_64-pc-windows-gnu` clippy run, each with the reason.
/// Empty today: on Windows our TLS is native-tls (schannel), so no crate needs to compile C for
/// Windows. Add a package here only when it truly cannot cross-build, and say why.
const WINDOWS_GNU_CLIPPY_EXCLUDED: &[(&str, &str)] = &[];

/// Packages type-checked (clippy) for `x86_64-pc-windows-msvc`: the ones with Windows-only
/// code. Grows as more crates gain `#[cfg(windows)]` code.
const WINDOWS_MSVC_CLIPPY_PACKAGES: &[&str] = &["mr-auth-msal-cache", "mr-auth-broker"];

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

/// Commands the Windows steps need, and the Debian packages that provide them.
const WINDOWS_TOOLS: &[&str] = &["x86_64-w64-mingw32-gcc", "wine", "wineboot", "wineserver"];
const WINDOWS_APT_PACKAGES: &[&str] = &["gcc-mingw-w64-x86-64", "wine64", "wine"];

/// Where the broker's browser tests expect Chromium (Debian's `chromium` package).
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long CI fuzzes each target, on an unoptimised build (`cargo xtask fuzz --seconds 20
/// --dev`; `cargo xtask fuzz --seconds N` runs longer, optimised).
const FUZZ_SECONDS_PER_TARGET: u64 = 20;

/// The Linux broker's tests run against a private `dbus-daemon --session` they start
/// themselves (Debian's `dbus` package; they fail under CI when it is missing).
const DBUS_TOOLS: &[&str] = &["dbus-daemon"];
const DBUS_APT_PACKAGES: &[&str] = &["dbus"];

/// How long the Wine test run of one package may take before it is killed as hung.
const WINE_TEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// One CI step: a short name (usable on the command line), a title for the summary and the
/// function that runs it.
struct Step {
    name: &'static str,
    title: &'static str,
    run: fn(&mut Ci) -> Result,
}

/// Every step, in the order CI runs them.
const STEPS: &[Step] = &[
    Step {
        name: "tidy",
        title: "tidy",
        run: Ci::tidy,
    },
    Step {
        name: "fmt",
        title: "fmt --check",
        run: Ci::fmt,
    },
    Step {
        name: "clippy",
        title: "clippy (host)",
        run: Ci::clippy_host,
    },
    Step {
        name: "clippy-windows-gnu",
        title: "clippy (windows-gnu)",
        run: Ci::clippy_windows_gnu,
    },
    Step {
        name: "clippy-windows-msvc",
        title: "clippy (windows-msvc)",
        run: Ci::clippy_windows_msvc,
    },
    Step {
        name: "chromium",
        title: "install chromium",
        run: Ci::chromium,
    },
    Step {
        name: "dbus",
        title: "install dbus-daemon",
        run: Ci::dbus,
    },
    Step {
        name: "msal-python",
        title: "install keyring + msal (python)",
        run: Ci::msal_python,
    },
    Step {
        name: "azurite",
        title: "install azurite",
        run: Ci::azurite,
    },
    Step {
        name: "test",
        title: "tests + doctests",
        run: Ci::test,
    },
    Step {
        name: "fuzz",
        title: "fuzz (dev build, 20 s per target)",
        run: Ci::fuzz,
    },
    Step {
        name: "doc",
        title: "doc (-D warnings)",
        run: Ci::doc,
    },
    Step {
        name: "deny",
        title: "deny (bans licenses sources)",
        run: Ci::deny,
    },
    Step {
        name: "advisories",
        title: "deny advisories",
        run: Ci::advisories,
    },
    Step {
        name: "msrv",
        title: "msrv (declared rust-version)",
        run: Ci::msrv,
    },
    Step {
        name: "package",
        title: "package (publishable crates)",
        run: Ci::package,
    },
    Step {
        name: "wine",
        title: "windows tests (wine)",
        run: Ci::wine,
    },
];

/// The state shared by the steps.
#[derive(Debug)]
struct Ci {
    root: PathBuf,
    target_dir: PathBuf,
    summary: Summary,
    /// The Python with MSAL for the persistent-cache interop tests (`msal-python` step).
    msal_python: Option<PathBuf>,
    /// `azurite-blob` once the `azurite` step installed it, for the tests.
    azurite: Option<PathBuf>,
}

/// Runs the steps named in `only` (every step when empty), prints the summary and fails if any
/// step failed.
pub(crate) fn run(root: &Path, only: &[String]) -> Result {
    for name in only {
        if !STEPS.iter().any(|s| s.name == name) {
            let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
            return Err(format!(
                "unknown step `{name}`; steps are: {}",
                names.join(", ")
            ));
        }
    }
    let mut ci = Ci {
        root: root.to_owned(),
        target_dir: target_dir(root),
        summary: Summary::default(),
        msal_python: None,
        azurite: None,
    };
    let selected: Vec<&Step> = STEPS
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n == s.name))
        .collect();
    let mut failure = None;
    for (i, step) in selected.iter().enumerate() {
        if failure.is_some() {
            ci.summary.not_run(step.title);
            continue;
        }
        eprintln!(
            "\n==> [{}/{}] {} (`cargo xtask ci {}`)",
            i + 1,
            selected.len(),
            step.title,
            step.name
        );
        let started = wall_clock::now();
        let result = (step.run)(&mut ci);
        let status = if result.is_ok() {
            Status::Ok
        } else {
            Status::Failed
        };
        ci.summary
            .record(step.title, status, wall_clock::since(started));
        if let Err(e) = result {
            failure = Some(format!("step `{}` failed: {e}", step.name));
        }
    }
    println!("\n{}", ci.summary);
    match failure {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// The target directory cargo uses: `CARGO_TARGET_DIR` when set, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

impl Ci {
    fn cargo(&self) -> Cmd {
        Cmd::new(crate::cargo()).current_dir(&self.root)
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
        ensure_rustup_target(WINDOWS_GNU)?;
        // mingw for build scripts that compile C (and for linking in the Wine step), Wine for
        // the Wine step; installed here so a machine set up once stays set up.
        apt::ensure(WINDOWS_TOOLS, WINDOWS_APT_PACKAGES)?;
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
        ensure_rustup_target(WINDOWS_MSVC)?;
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

    fn chromium(&mut self) -> Result {
        // The broker's browser-flow tests drive a real headless Chromium at this path.
        if Path::new(CHROMIUM).is_file() {
            eprintln!("{CHROMIUM} present");
            return Ok(());
        }
        apt::install(&["chromium"])?;
        if Path::new(CHROMIUM).is_file() {
            Ok(())
        } else {
            Err(format!(
                "installed chromium but {CHROMIUM} is still missing"
            ))
        }
    }

    fn dbus(&mut self) -> Result {
        if !apt::ensure(DBUS_TOOLS, DBUS_APT_PACKAGES)? {
            eprintln!("dbus-daemon present");
        }
        Ok(())
    }

    fn msal_python(&mut self) -> Result {
        let python = msal_python::ensure(&self.target_dir)?;
        eprintln!("MR_AUTH_MSAL_PYTHON={}", python.display());
        self.msal_python = Some(python);
        Ok(())
    }

    /// `cargo` for the test step: with the MSAL interpreter when the `msal-python` step ran, and
    /// the installed Azurite when the `azurite` step ran (without it, the blob test installs
    /// Azurite itself).
    fn test_cargo(&self) -> Cmd {
        let mut cmd = self.cargo();
        if let Some(python) = &self.msal_python {
            cmd = cmd.env("MR_AUTH_MSAL_PYTHON", python);
        }
        if let Some(binary) = &self.azurite {
            cmd = cmd.env(azurite::ENV, binary);
        }
        cmd
    }

    fn azurite(&mut self) -> Result {
        // The facade's blob test runs the real azure_storage_blob client against Azurite.
        self.azurite = Some(azurite::ensure(&self.target_dir)?);
        Ok(())
    }

    fn test(&mut self) -> Result {
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

    /// Each fuzz target for a short bounded time from its seed corpus: a crash fails CI.
    fn fuzz(&mut self) -> Result {
        let fuzz_dir = self.root.join("fuzz");
        let targets = fuzz::discover_targets(&fuzz_dir)?;
        fuzz::run_targets(
            &fuzz_dir,
            &targets,
            FUZZ_SECONDS_PER_TARGET,
            fuzz::Build::Dev,
        )
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

    fn ensure_cargo_deny(&self) -> Result {
        if !self.cargo().args(["deny", "--version"]).succeeds_quietly() {
            eprintln!("cargo-deny not installed: installing it (takes a few minutes)");
            self.cargo()
                .args(["install", "--locked", "cargo-deny"])
                .run()?;
        }
        Ok(())
    }

    fn deny(&mut self) -> Result {
        self.ensure_cargo_deny()?;
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
        self.ensure_cargo_deny()?;
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
        ensure_rustup_target(WINDOWS_GNU)?;
        apt::ensure(WINDOWS_TOOLS, WINDOWS_APT_PACKAGES)?;
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

/// Installs a rustup target unless it is already installed.
fn ensure_rustup_target(target: &str) -> Result {
    if which("rustup").is_none() {
        return Err(format!(
            "rustup not found: install the {target} standard library some other way"
        ));
    }
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .read_quietly()
        .unwrap_or_default();
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    Cmd::new("rustup").args(["target", "add", target]).run()
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
