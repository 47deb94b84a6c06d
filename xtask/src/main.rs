//! `cargo xtask`: the project's automation, in Rust, with no dependencies beyond std.
//!
//! - `cargo xtask ci [STEP...]`: everything CI checks (see [`ci`]); `.ci/run` calls it.
//! - `cargo xtask tidy`: the house rules the compiler does not check (see [`tidy`]).
//! - `cargo xtask bench`: every benchmark (criterion and whole-process) and one table of
//!   ratios against their targets; `one-shot` and `entra-token` run one whole-process
//!   comparison; other arguments go to `cargo bench --workspace` (see [`mod@bench`]).
//! - `cargo xtask fuzz [--seconds N] [--dev] [TARGET...]`: the fuzz targets of `fuzz/` (see [`fuzz`]).

#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: printing its summary to stdout is its job"
)]

mod advisories;
mod apt;
mod azurite;
mod bench;
mod bench_results;
mod ci;
mod cmd;
mod fuzz;
mod msal_python;
mod msrv;
mod package;
mod setup;
mod summary;
mod tidy;
mod wall_clock;
mod wam_fake;
mod wine_prefix;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cmd::Result;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci [STEP...]     the setup (every install), then every CI check; or only the
                   named steps, in this order:
                   setup steps (`setup` names them all): rustup apt msal-python
                     azurite cargo-deny
                   checks (install nothing): tidy fmt clippy clippy-windows-gnu
                     clippy-windows-msvc clippy-linux-arm64 test doc deny
                     advisories msrv package wine
  tidy             check the house rules the compiler does not check
  fuzz [--seconds N] [--dev] [TARGET...]
                   run the fuzz targets (all by default) for N seconds each
                   (default 60) from fuzz/corpus/; installs nightly and cargo-fuzz;
                   --dev builds unoptimised (fast build, slow runs)
  bench            run every benchmark (criterion benches, whole-process comparisons,
                   the cold-callers test) and print one table of ratios and targets;
                   installs hyperfine, curl and Python azure-identity; not part of ci
  bench one-shot [--runs N]
                   time `mr-auth token` against curl as whole processes (hyperfine)
  bench entra-token [--runs N]
                   time the warm `mr-auth entra-token` against Python azure-identity
  bench summary    print the table of the last `bench` run again
  bench ARGS...    cargo bench --workspace ARGS...
  help             this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result {
    let root = workspace_root();
    match args.split_first() {
        Some((command, rest)) if command == "ci" => ci::run(&root, rest),
        Some((command, [])) if command == "tidy" => {
            let problems = tidy::check(&root)?;
            for problem in &problems {
                eprintln!("{problem}");
            }
            if problems.is_empty() {
                eprintln!("tidy: ok");
                Ok(())
            } else {
                Err(format!("{} tidy problem(s)", problems.len()))
            }
        }
        Some((command, rest)) if command == "fuzz" => fuzz::run(&root, rest),
        Some((command, rest)) if command == "bench" => bench::run(&root, rest),
        Some((command, _)) if ["help", "-h", "--help"].contains(&command.as_str()) => {
            println!("{USAGE}");
            Ok(())
        }
        Some((command, _)) => Err(format!("unknown command `{command}`\n\n{USAGE}")),
        None => Err(format!("no command given\n\n{USAGE}")),
    }
}

/// The cargo that runs us (so `cargo +nightly xtask` stays on nightly).
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
