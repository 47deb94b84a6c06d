//! `cargo xtask fuzz [--seconds N] [--dev] [TARGET...]`: runs the cargo-fuzz targets of `fuzz/`,
//! each for N seconds (default 60) from its committed seed corpus `fuzz/corpus/<target>/`, and
//! fails on the first crash. Installs the nightly toolchain and cargo-fuzz when missing; the
//! workspace itself stays on stable. See `FUZZING.md`.
//!
//! `--dev` builds the targets without optimisation (cargo-fuzz's `--dev`, still with ASan and
//! debug assertions): measured here, a cold build takes 287 s instead of 627 s (opt-level 1
//! took 575 s), and a target runs about 15 times fewer inputs per second: for a quick look,
//! where the build is most of the cost; long runs should not use it. `cargo xtask ci` does not
//! fuzz: its test step replays the committed inputs (see `FUZZING.md`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{which, Cmd, Result};

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// What a run is asked to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FuzzArgs {
    pub(crate) seconds: u64,
    pub(crate) build: Build,
    pub(crate) targets: Vec<String>,
}

/// How the targets are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Build {
    /// cargo-fuzz's default: optimised, with debug assertions. For long runs.
    Release,
    /// Unoptimised (`--dev`): less than half the build time, far fewer inputs per second.
    Dev,
}

impl Build {
    /// cargo-fuzz's flag for this build, if any.
    fn flag(self) -> Option<&'static str> {
        match self {
            Self::Release => None,
            Self::Dev => Some("--dev"),
        }
    }
}

/// Parses `[--seconds N] [--dev] [TARGET...]`.
pub(crate) fn parse_args(args: &[String]) -> Result<FuzzArgs> {
    let mut seconds = DEFAULT_SECONDS;
    let mut build = Build::Release;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--dev" {
            build = Build::Dev;
            continue;
        }
        let value = match arg.strip_prefix("--seconds") {
            Some("") => args
                .next()
                .ok_or("`--seconds` needs a number of seconds")?
                .as_str(),
            Some(rest) if rest.starts_with('=') => &rest[1..],
            Some(_) | None if arg.starts_with('-') => {
                return Err(format!(
                    "unknown option `{arg}` (options: --seconds N, --dev)"
                ))
            }
            _ => {
                targets.push(arg.clone());
                continue;
            }
        };
        seconds = value.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
            format!("`--seconds {value}`: give a whole number of seconds above 0")
        })?;
    }
    Ok(FuzzArgs {
        seconds,
        build,
        targets,
    })
}

/// The targets of `fuzz/fuzz_targets/`, sorted: each `<name>.rs` is the target `<name>`.
pub(crate) fn discover_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut targets = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem() {
                targets.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    targets.sort();
    if targets.is_empty() {
        return Err(format!("no fuzz targets in {}", dir.display()));
    }
    Ok(targets)
}

/// Runs `cargo xtask fuzz` with already-split arguments.
pub(crate) fn run(root: &Path, args: &[String]) -> Result {
    let args = parse_args(args)?;
    let fuzz_dir = root.join("fuzz");
    let known = discover_targets(&fuzz_dir)?;
    let targets = if args.targets.is_empty() {
        known
    } else {
        for target in &args.targets {
            if !known.contains(target) {
                return Err(format!(
                    "unknown fuzz target `{target}`; targets are: {}",
                    known.join(", ")
                ));
            }
        }
        args.targets
    };
    run_targets(&fuzz_dir, &targets, args.seconds, args.build)
}

/// Builds every target once, then runs each for `seconds`; the first crash (or a run that
/// outlives its bound) fails.
pub(crate) fn run_targets(
    fuzz_dir: &Path,
    targets: &[String],
    seconds: u64,
    build: Build,
) -> Result {
    ensure_nightly_and_cargo_fuzz()?;
    nightly_cargo(fuzz_dir)
        .args(["fuzz", "build"])
        .args(build.flag())
        .timeout(Duration::from_secs(60 * 60))
        .run()?;
    for target in targets {
        let seeds = fuzz_dir.join("corpus").join(target);
        if !seeds.is_dir() {
            return Err(format!(
                "the fuzz target `{target}` has no seed corpus at {}; commit a few inputs there",
                seeds.display()
            ));
        }
        // New inputs go to a scratch corpus, so the committed seeds stay as they are.
        let scratch = scratch_corpus(fuzz_dir, target);
        fs::create_dir_all(&scratch)
            .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        nightly_cargo(fuzz_dir)
            .args(["fuzz", "run", target.as_str()])
            .args(build.flag())
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(["-timeout=10", "-print_final_stats=1"])
            // The build is done; the bound covers the run and a margin for a slow machine.
            .timeout(Duration::from_secs(seconds + 300))
            .run()
            .map_err(|e| {
                format!(
                    "{e}\nthe fuzz target `{target}` failed: the crashing input is in \
                     fuzz/artifacts/{target}/; reproduce with \
                     `cargo +nightly fuzz run {target} <file>`, then add it as a unit test"
                )
            })?;
    }
    Ok(())
}

fn scratch_corpus(fuzz_dir: &Path, target: &str) -> PathBuf {
    fuzz_dir.join("target").join("scratch-corpus").join(target)
}

/// `cargo` of the nightly toolchain, in `fuzz/`, without the variables the stable cargo that
/// runs xtask set (they would point cargo-fuzz back at stable).
fn nightly_cargo(fuzz_dir: &Path) -> Cmd {
    Cmd::new("rustup")
        .args(["run", "nightly", "cargo"])
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .current_dir(fuzz_dir)
}

fn ensure_nightly_and_cargo_fuzz() -> Result {
    if which("rustup").is_none() {
        return Err(
            "rustup not found: fuzzing needs the nightly toolchain (install rustup)".into(),
        );
    }
    let toolchains = Cmd::new("rustup")
        .args(["toolchain", "list"])
        .read_quietly()
        .unwrap_or_default();
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        eprintln!("nightly not installed: installing it (the workspace itself stays on stable)");
        Cmd::new("rustup")
            .args(["toolchain", "install", "nightly", "--profile", "minimal"])
            .run()?;
    }
    if !Cmd::new("rustup")
        .args(["run", "nightly", "cargo", "fuzz", "--version"])
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .succeeds_quietly()
    {
        eprintln!("cargo-fuzz not installed: installing it (takes a few minutes)");
        Cmd::new(crate::cargo())
            .args(["install", "--locked", "cargo-fuzz"])
            .run()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn seconds_and_targets() {
        assert_eq!(
            parse_args(&args(&[])).unwrap(),
            FuzzArgs {
                seconds: DEFAULT_SECONDS,
                build: Build::Release,
                targets: vec![]
            }
        );
        assert_eq!(
            parse_args(&args(&["--seconds", "5", "core_jwt"])).unwrap(),
            FuzzArgs {
                seconds: 5,
                build: Build::Release,
                targets: args(&["core_jwt"])
            }
        );
        assert_eq!(
            parse_args(&args(&["core_jwt", "--dev", "--seconds", "5"])).unwrap(),
            FuzzArgs {
                seconds: 5,
                build: Build::Dev,
                targets: args(&["core_jwt"])
            }
        );
        assert_eq!(parse_args(&args(&["--seconds=7"])).unwrap().seconds, 7);
    }

    #[test]
    fn bad_arguments_say_what_to_do() {
        for bad in [
            &["--seconds"][..],
            &["--seconds", "0"],
            &["--seconds", "soon"],
            &["--minutes", "1"],
        ] {
            let err = parse_args(&args(bad)).unwrap_err();
            assert!(err.contains("seconds"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn every_committed_target_has_seeds_and_a_bin_entry() {
        let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let targets = discover_targets(&fuzz_dir).unwrap();
        let manifest = fs::read_to_string(fuzz_dir.join("Cargo.toml")).unwrap();
        for target in &targets {
            let seeds = fs::read_dir(fuzz_dir.join("corpus").join(target))
                .map(|entries| entries.count())
                .unwrap_or(0);
            assert!(seeds > 0, "fuzz/corpus/{target}/ has no seeds");
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "fuzz/Cargo.toml has no [[bin]] for {target}"
            );
        }
    }
}
