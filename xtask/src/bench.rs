//! `cargo xtask bench`: the criterion benches (`cargo bench --workspace ARGS...`), and
//! `cargo xtask bench one-shot`, the whole-process benchmark of `mr-auth token`.
//!
//! One-shot: builds the CLI in release, starts `mr-auth emulator` (TLS, one account) on
//! loopback, and has `hyperfine` (installed with apt when missing) time, side by side in one
//! run, `curl` fetching the token URL and `mr-auth token` exchanging the key, both trusting
//! only the emulator's CA, and `mr-auth token` trusting the system roots too. The markdown
//! table is written to `target/one-shot.md` and printed.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::cmd::{Cmd, Result};

const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "one-shot-bench-key";

pub(crate) fn run(root: &Path, args: &[String]) -> Result {
    match args {
        [first, rest @ ..] if first == "one-shot" => one_shot(root, rest),
        _ => Cmd::new(crate::cargo())
            .current_dir(root)
            .args(["bench", "--workspace"])
            .args(args)
            .run(),
    }
}

fn one_shot(root: &Path, args: &[String]) -> Result {
    let runs = match args {
        [] => "50".to_owned(),
        [flag, runs] if flag == "--runs" && runs.parse::<u32>().is_ok() => runs.clone(),
        _ => return Err("usage: cargo xtask bench one-shot [--runs N]".to_owned()),
    };
    crate::apt::ensure(&["hyperfine", "curl"], &["hyperfine", "curl"])?;
    Cmd::new(crate::cargo())
        .current_dir(root)
        .args(["build", "--release", "--locked", "-p", "mr-auth-cli"])
        .run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release").join("mr-auth");
    let ca = target.join("one-shot-ca.pem");
    let table = target.join("one-shot.md");

    let mut emulator = Emulator::start(&bin, &ca)?;
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
    let result = Cmd::new("hyperfine")
        .env("MIXEDREALITY_ACCOUNT_KEY", KEY)
        .args(["--warmup", "5", "--runs", &runs, "-N", "--export-markdown"])
        .arg(&table)
        .args(["--command-name", "curl (only the CA)", &curl])
        .args([
            "--command-name",
            "mr-auth token --no-system-roots",
            &format!("{token} --no-system-roots"),
        ])
        .args([
            "--command-name",
            "mr-auth token (system roots + CA)",
            &token,
        ])
        .run();
    emulator.stop();
    result?;
    let text = std::fs::read_to_string(&table)
        .map_err(|e| format!("cannot read {}: {e}", table.display()))?;
    println!("{text}");
    Ok(())
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
