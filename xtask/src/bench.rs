//! `cargo xtask bench`: every benchmark of the workspace, and one table of what they show.
//!
//! - `cargo xtask bench` runs, in this order: the criterion benches of every crate (`cargo bench
//!   --workspace --bench '*'`, with criterion's output in `<target>/bench/suite/criterion`,
//!   emptied first, so every figure comes from this run), among them `mr-auth-cli`'s
//!   `entra_token_process` (the warm `mr-auth entra-token` against a fresh Python
//!   azure-identity `get_token`, hyperfine); the one-shot `mr-auth token` comparison; and the
//!   "1,000 cold callers make one request" test. It installs what they need (hyperfine, curl
//!   and valgrind, for the refresh grant's instruction counts, with apt; Python azure-identity
//!   in the MSAL tests' `<target>/msal-venv`), records `/proc/loadavg` before and after, and
//!   prints one table (figure, ours, reference, ratio, target, met), also written to
//!   `<target>/bench/suite/summary.md`. Not part of `cargo xtask ci`:
//!   timings on a shared machine are too noisy for a pass/fail. The benches run without
//!   `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` (see [`production_env`]), and the whole-process ones
//!   time a copy of the plain release build (see [`release_cli`]).
//! - `cargo xtask bench one-shot [--runs N]`: only the one-shot comparison: builds the CLI in
//!   release, starts `mr-auth emulator` (TLS, one account) on loopback, and has `hyperfine`
//!   time, side by side in one run, `curl` fetching the token URL and `mr-auth token` exchanging
//!   the key, both trusting only the emulator's CA, and `mr-auth token` trusting the system
//!   roots too.
//! - `cargo xtask bench entra-token [--runs N]`: only the `entra_token_process` bench.
//! - `cargo xtask bench summary`: the table of the last full run again, from its files.
//! - `cargo xtask bench ARGS...` (anything else): `cargo bench --workspace ARGS...`.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::bench_results::{
    criterion_medians, hyperfine_rows, instruction_figures, paired_figures, summary_table, Results,
};
use crate::cmd::{Cmd, Result};
use crate::{apt, ci, msal_python};

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "one-shot-bench-key";

/// hyperfine's row names in the one-shot run.
pub(crate) const CURL: &str = "curl (only the CA)";
pub(crate) const TOKEN_CA_ONLY: &str = "mr-auth token --no-system-roots";
const TOKEN_SYSTEM_ROOTS: &str = "mr-auth token (system roots + CA)";

/// hyperfine's row names in `entra_token_process`'s run (`crates/mr-auth-cli/benches`).
pub(crate) const ENTRA_TOKEN: &str = "mr-auth entra-token (warm)";
pub(crate) const PYTHON: &str = "python azure-identity get_token (fresh process)";
pub(crate) const FLOOR_START: &str = "floor: mr-auth --version";
pub(crate) const FLOOR_CAT: &str = "floor: cat the cache file";

/// Runs per command in the whole-process comparisons (after 5 warm-ups).
const DEFAULT_RUNS: u32 = 50;

pub(crate) fn run(root: &Path, args: &[String]) -> Result {
    match args {
        [] => suite(root),
        [first] if first == "summary" => summary(root),
        [first, rest @ ..] if first == "one-shot" => {
            let table = one_shot(root, runs(rest, "one-shot")?)?;
            println!("{table}");
            Ok(())
        }
        [first, rest @ ..] if first == "entra-token" => {
            entra_token(root, runs(rest, "entra-token")?)
        }
        _ => Cmd::new(crate::cargo())
            .current_dir(root)
            .args(["bench", "--workspace"])
            .args(args)
            .run(),
    }
}

fn runs(args: &[String], command: &str) -> Result<u32> {
    match args {
        [] => Ok(DEFAULT_RUNS),
        [flag, runs] if flag == "--runs" => runs
            .parse::<u32>()
            .ok()
            .filter(|runs| *runs > 0)
            .ok_or_else(|| format!("--runs {runs}: a positive number expected")),
        _ => Err(format!("usage: cargo xtask bench {command} [--runs N]")),
    }
}

/// `<target>/bench`, where the single comparisons leave their results.
fn out_dir(root: &Path) -> Result<PathBuf> {
    created(ci::target_dir(root).join("bench"))
}

/// `<target>/bench/suite`: the full run's files only, so that a single comparison run later
/// does not mix into the table `summary` prints again.
fn suite_dir(root: &Path) -> Result<PathBuf> {
    created(ci::target_dir(root).join("bench").join("suite"))
}

fn created(dir: PathBuf) -> Result<PathBuf> {
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// What the whole-process comparisons need: hyperfine, curl, Python azure-identity; and
/// valgrind, for the refresh grant's instruction counts.
fn install_tools(root: &Path) -> Result<PathBuf> {
    apt::ensure(
        &["hyperfine", "curl", "valgrind"],
        &["hyperfine", "curl", "valgrind"],
    )?;
    // The Debian packages the venv is made from (on a machine where `cargo xtask ci` never
    // ran); `ci` installs them with the rest of its packages.
    let missing = apt::not_installed(msal_python::DEBIAN_PACKAGES);
    if !missing.is_empty() {
        apt::install(&missing)?;
    }
    msal_python::ensure(&ci::target_dir(root))
}

/// The `mr-auth` users get (`cargo build --release -p mr-auth-cli`), copied to
/// `<target>/bench/mr-auth` at once: `cargo bench` builds the same binary again into the same
/// place with its dev-dependencies' features (test-support's TLS turns on rustls' aws-lc-rs
/// provider, which changes what the CLI does at start-up), so the whole-process benchmarks
/// time this copy.
fn release_cli(root: &Path) -> Result<PathBuf> {
    Cmd::new(crate::cargo())
        .current_dir(root)
        .args(["build", "--release", "--locked", "-p", "mr-auth-cli"])
        .run()?;
    let built = ci::target_dir(root).join("release").join("mr-auth");
    let copy = out_dir(root)?.join("mr-auth");
    std::fs::copy(&built, &copy)
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), copy.display()))?;
    Ok(copy)
}

/// Removes what makes the measured code slower than it is in production: with
/// `RUST_BACKTRACE=1` (or `RUST_LIB_BACKTRACE=1`), every `azure_core` error captures a stack
/// trace, and azure_core's `ClientRequestIdPolicy` makes one (`Headers::get_optional_str` on a
/// missing header) for every request it sends.
fn production_env(cmd: Cmd) -> Cmd {
    cmd.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
}

/// The bench command with what `entra_token_process` reads from the environment (its hyperfine
/// export goes to `out`).
fn cargo_bench(root: &Path, python: &Path, bin: &Path, out: &Path, runs: u32) -> Cmd {
    production_env(Cmd::new(crate::cargo()))
        .current_dir(root)
        .args(["bench", "--locked"])
        .env("MR_AUTH_BENCH_PYTHON", python)
        .env("MR_AUTH_BENCH_BIN", bin)
        .env("MR_AUTH_BENCH_OUT", out)
        .env("MR_AUTH_BENCH_RUNS", runs.to_string())
}

fn entra_token(root: &Path, runs: u32) -> Result {
    let python = install_tools(root)?;
    let out = out_dir(root)?;
    cargo_bench(root, &python, Path::new(""), &out, runs)
        .args([
            "-p",
            "mr-auth-cli",
            "--bench",
            "entra_token_process",
            "--no-run",
        ])
        .run()?;
    let bin = release_cli(root)?;
    cargo_bench(root, &python, &bin, &out, runs)
        .args(["-p", "mr-auth-cli", "--bench", "entra_token_process"])
        .run()
}

fn suite(root: &Path) -> Result {
    let out = suite_dir(root)?;
    let python = install_tools(root)?;
    let criterion_home = out.join("criterion");
    if criterion_home.exists() {
        std::fs::remove_dir_all(&criterion_home)
            .map_err(|e| format!("cannot empty {}: {e}", criterion_home.display()))?;
    }
    // Build first, so the load recorded is that of the runs, not of the compiler.
    cargo_bench(root, &python, Path::new(""), &out, DEFAULT_RUNS)
        .args(["--workspace", "--bench", "*", "--no-run"])
        .run()?;
    let bin = release_cli(root)?;
    Cmd::new(crate::cargo())
        .current_dir(root)
        .args(["test", "--locked", "-p", "mr-auth-credentials", "--no-run"])
        .args(["--test", "mixed_reality_token_credential"])
        .run()?;

    let load_before = loadavg();
    cargo_bench(root, &python, &bin, &out, DEFAULT_RUNS)
        .env("CRITERION_HOME", &criterion_home)
        .args(["--workspace", "--bench", "*"])
        .run()?;
    one_shot_with(&bin, &out, DEFAULT_RUNS)?;
    let cold_callers = Cmd::new(crate::cargo())
        .current_dir(root)
        .args(["test", "--locked", "-p", "mr-auth-credentials"])
        .args(["--test", "mixed_reality_token_credential", "--"])
        .args(["--exact", COLD_CALLERS_TEST])
        .run()
        .is_ok();
    let load_after = loadavg();
    let run = format!(
        "/proc/loadavg before: {load_before}\n/proc/loadavg after:  {load_after}\n\
         1,000 cold callers test: {}\n",
        if cold_callers { "passed" } else { "FAILED" }
    );
    write(&out.join(RUN_FILE), &run)?;
    summary(root)
}

/// What the suite records besides criterion's and hyperfine's files: the load and the test.
const RUN_FILE: &str = "run.txt";

/// Prints (and writes to `<target>/bench/suite/summary.md`) the table of the last suite run,
/// from the files it left in `<target>/bench/suite`.
fn summary(root: &Path) -> Result {
    let out = suite_dir(root)?;
    let run = std::fs::read_to_string(out.join(RUN_FILE)).map_err(|e| {
        format!(
            "no finished `cargo xtask bench` run in {}: {e}",
            out.display()
        )
    })?;
    let results = Results {
        criterion: [
            criterion_medians(&out.join("criterion"))?,
            paired_figures(&out.join("criterion")),
            instruction_figures(&out.join("criterion")),
        ]
        .concat(),
        hyperfine: [
            hyperfine_rows(&out.join("entra-token.json"))?,
            hyperfine_rows(&out.join("one-shot.json"))?,
        ]
        .concat(),
        cold_callers: run.contains("cold callers test: passed"),
    };
    let mut summary = run;
    let _ = writeln!(summary);
    summary.push_str(&summary_table(&results));
    let path = out.join("summary.md");
    write(&path, &summary)?;
    println!("\n{summary}\n(written to {})", path.display());
    Ok(())
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The test that proves "1,000 cold callers -> 1 request" (a counting mock STS).
const COLD_CALLERS_TEST: &str =
    "a_thousand_concurrent_callers_make_one_sts_request_and_one_more_after_the_refresh_point";

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "(no /proc/loadavg)".to_owned(),
        |text| text.trim().to_owned(),
    )
}

/// The one-shot comparison; returns hyperfine's markdown table (also in
/// `<target>/bench/one-shot.md`, its JSON in `one-shot.json`).
fn one_shot(root: &Path, runs: u32) -> Result<String> {
    apt::ensure(&["hyperfine", "curl"], &["hyperfine", "curl"])?;
    let bin = release_cli(root)?;
    one_shot_with(&bin, &out_dir(root)?, runs)
}

/// The one-shot comparison with the CLI at `bin`, results in `out`.
fn one_shot_with(bin: &Path, out: &Path, runs: u32) -> Result<String> {
    let ca = out.join("one-shot-ca.pem");
    // `mr-auth emulator --ca-out` refuses to overwrite a file: this is the last run's.
    if ca.exists() {
        std::fs::remove_file(&ca).map_err(|e| format!("cannot remove {}: {e}", ca.display()))?;
    }
    let table = out.join("one-shot.md");

    let mut emulator = Emulator::start(bin, &ca)?;
    let endpoint = emulator.endpoint.trim_end_matches('/').to_owned();
    let url = format!("{endpoint}/Accounts/{ACCOUNT}/token?api-version=2019-02-28-preview");
    let ca_arg = ca.display().to_string();
    let bin_arg = bin.display().to_string();
    let curl = format!(
        "curl -sS -f -o /dev/null --cacert {ca_arg} -H 'Authorization: Bearer {ACCOUNT}:{KEY}' -H 'Accept: application/json' -H 'X-MRC-CV: DQzdx06xR5GYcLGnQTzs3w' '{url}'"
    );
    let token = format!(
        "{bin_arg} token --account-id {ACCOUNT} --account-domain mixedreality.azure.com --endpoint {endpoint} --ca-file {ca_arg} --output token"
    );
    let result = production_env(Cmd::new("hyperfine"))
        .env("MIXEDREALITY_ACCOUNT_KEY", KEY)
        .args(["--warmup", "5", "--runs", &runs.to_string(), "-N"])
        .arg("--export-markdown")
        .arg(&table)
        .arg("--export-json")
        .arg(out.join("one-shot.json"))
        .args(["--command-name", CURL, &curl])
        .args([
            "--command-name",
            TOKEN_CA_ONLY,
            &format!("{token} --no-system-roots"),
        ])
        .args(["--command-name", TOKEN_SYSTEM_ROOTS, &token])
        .run();
    emulator.stop();
    result?;
    std::fs::read_to_string(&table).map_err(|e| format!("cannot read {}: {e}", table.display()))
}

/// `mr-auth emulator` running as a child process, stopped on drop.
struct Emulator {
    child: Child,
    endpoint: String,
}

impl Emulator {
    fn start(bin: &Path, ca: &Path) -> Result<Self> {
        if !bin.exists() {
            return Err(format!("{} was not built", bin.display()));
        }
        let mut child = Command::new(bin)
            .args(["emulator", "--account", &format!("{ACCOUNT}:{KEY}")])
            .arg("--ca-out")
            .arg(ca)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the emulator: {e}"))?;
        let stdout = child.stdout.take().ok_or("the emulator has no stdout")?;
        let mut emulator = Self {
            child,
            endpoint: String::new(),
        };
        // It prints a handful of lines and then "ready"; read at most a few dozen.
        for line in BufReader::new(stdout).lines().take(32) {
            let line = line.map_err(|e| format!("cannot read the emulator's output: {e}"))?;
            if let Some(endpoint) = line.strip_prefix("endpoint: ") {
                emulator.endpoint = endpoint.trim().to_owned();
            }
            if line.starts_with("ready") {
                break;
            }
        }
        if emulator.endpoint.is_empty() {
            return Err("the emulator did not print its endpoint".to_owned());
        }
        Ok(emulator)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}
