//! Instructions per call, counted by valgrind's callgrind: the same count for the same binary
//! and input whatever else the machine is doing, so the ratio of two variants does not drift
//! with a shared machine's speed as CPU time does. A bench process asks for the counts with
//! [`instruction_counts`], which runs the bench binary again under callgrind once per
//! variant; in that child, [`counting`] names the variant and [`count`] makes its calls,
//! which are all callgrind counts (everything before, the set-up and the warm-up calls, is
//! left out).
//!
//! Instructions are not time (a TLS record's AES-GCM is a few instructions per byte, parsing
//! a token response many): they complement the CPU time figures, they do not replace them.

#![allow(
    clippy::disallowed_methods,
    reason = "the child's time bound is wall time"
)]

use std::{
    future::Future,
    hint::black_box,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

/// Set in the child: `<variant>:<calls>`.
const COUNT_ENV: &str = "MR_AUTH_BENCH_COUNT";

/// Calls made before the counted ones (connections made, caches warm).
pub const WARM_UP_CALLS: u64 = 20;

/// The longest one child may take (set-up under valgrind is some 50 times slower).
const CHILD_TIME_LIMIT: Duration = Duration::from_secs(600);

/// In a child started by [`instruction_counts`]: the variant to count and the number of calls.
pub fn counting() -> Option<(String, u64)> {
    parse_count_request(&std::env::var(COUNT_ENV).ok()?)
}

fn parse_count_request(value: &str) -> Option<(String, u64)> {
    let (variant, calls) = value.rsplit_once(':')?;
    let calls = calls.parse().ok().filter(|c| *c > 0)?;
    Some((variant.to_owned(), calls))
}

/// Makes [`WARM_UP_CALLS`] calls of `call` on `runtime`, then `calls` calls within the one
/// function callgrind counts.
pub fn count<F: Future>(
    runtime: &tokio::runtime::Runtime,
    calls: u64,
    mut call: impl FnMut() -> F,
) {
    run_calls(runtime, WARM_UP_CALLS, &mut call);
    counted_calls(runtime, calls, &mut call);
}

/// The calls callgrind counts (`--toggle-collect` names this function; what it calls counts).
#[inline(never)]
fn counted_calls<F: Future>(
    runtime: &tokio::runtime::Runtime,
    calls: u64,
    call: &mut impl FnMut() -> F,
) {
    run_calls(runtime, calls, call);
}

fn run_calls<F: Future>(
    runtime: &tokio::runtime::Runtime,
    calls: u64,
    call: &mut impl FnMut() -> F,
) {
    runtime.block_on(async {
        for _ in 0..calls {
            black_box(call().await);
        }
    });
}

/// What [`instruction_counts`] counted of one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct InstructionFigure {
    /// The variant's name.
    pub name: String,
    /// Instructions per call on the calling thread (with a current-thread runtime: the client's
    /// whole work, a server on another thread left out).
    pub per_call: f64,
    /// `per_call` divided by the first variant's.
    pub ratio: f64,
}

/// Runs this bench binary (with `args`) under callgrind once per variant of `variants`, each
/// child counting `calls` calls of it (see [`counting`]), one after the other, and returns the
/// instructions per call and their ratios to the first variant's. `Err` says why there are
/// none: valgrind is missing, or a child failed.
pub fn instruction_counts(
    variants: &[&str],
    calls: u64,
    args: &[&str],
) -> Result<Vec<InstructionFigure>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut counts = Vec::with_capacity(variants.len());
    for variant in variants {
        let instructions = count_child(&exe, variant, calls, args)?;
        counts.push(((*variant).to_owned(), instructions as f64 / calls as f64));
    }
    let first = counts.first().map_or(1.0, |(_, per_call)| *per_call);
    Ok(counts
        .into_iter()
        .map(|(name, per_call)| InstructionFigure {
            ratio: per_call / first,
            name,
            per_call,
        })
        .collect())
}

fn count_child(exe: &Path, variant: &str, calls: u64, args: &[&str]) -> Result<u64, String> {
    let out = std::env::temp_dir().join(format!(
        "mr-auth-callgrind-{}-{}.out",
        std::process::id(),
        variant.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let child = Command::new("valgrind")
        .args(["--tool=callgrind", "--toggle-collect=*counted_calls*"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(args)
        .env(COUNT_ENV, format!("{variant}:{calls}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start valgrind (install it: apt install valgrind): {e}"))?;
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let output = finished.recv_timeout(CHILD_TIME_LIMIT).map_err(|_| {
        // The child is left to the kill below; its output is not needed.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        format!(
            "counting {variant} took over {} s",
            CHILD_TIME_LIMIT.as_secs()
        )
    })?;
    let _ = std::fs::remove_file(&out);
    let output = output.map_err(|e| format!("counting {variant}: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    match collected(&stderr) {
        Some(count) if output.status.success() && count > 0 => Ok(count),
        _ => Err(format!(
            "counting {variant} under callgrind failed ({}): {}",
            output.status,
            stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        )),
    }
}

/// Hands `figures`, the instruction counts `measurement` of `calls` calls of each variant, to
/// `cargo xtask bench` ([`crate::bench::write_for_xtask`]: `per_call` and `ratio` per variant),
/// and returns their text for the bench binary to print.
#[must_use]
pub fn report_instruction_counts(
    measurement: &str,
    calls: u64,
    figures: &[InstructionFigure],
) -> String {
    let mut text = format!(
        "{measurement}: {calls} calls of each under callgrind, the bench thread's instructions\n"
    );
    for f in figures {
        text.push_str(&format!(
            "  {:<48} {:>9.0} per call  {:.3}x the first\n",
            f.name, f.per_call, f.ratio
        ));
    }
    crate::bench::write_for_xtask(
        measurement,
        figures.iter().map(|f| {
            let figure = serde_json::json!({ "per_call": f.per_call, "ratio": f.ratio });
            (f.name.clone(), figure)
        }),
    );
    text
}

/// callgrind's `Collected : 28,805,532` line, as a number. A process the bench forks (and
/// that never runs the counted calls) reports its own line, of 0: the largest is the bench's.
fn collected(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .filter_map(|line| {
            let digits: String = line
                .split_once("Collected :")?
                .1
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_reads_its_variant_and_calls() {
        assert_eq!(
            parse_count_request("InteractiveBrowserBrokerCredential::get_token:200"),
            Some((
                "InteractiveBrowserBrokerCredential::get_token".to_owned(),
                200
            ))
        );
        for bad in ["", "bare", "bare:", "bare:0", "bare:x", "bare:-1"] {
            assert_eq!(parse_count_request(bad), None, "{bad}");
        }
    }

    #[test]
    fn callgrinds_total_is_read_from_its_report() {
        let stderr = "==8892== Events    : Ir\n==8892== Collected : 28,805,532\n==8892== \n==8892== I   refs:      28,805,532\n";
        assert_eq!(collected(stderr), Some(28_805_532));
        let forked = "==7== Collected : 0\n==6== Collected : 4,671,556\n";
        assert_eq!(collected(forked), Some(4_671_556));
        assert_eq!(collected("==1== I   refs: 5\n"), None);
    }
}
