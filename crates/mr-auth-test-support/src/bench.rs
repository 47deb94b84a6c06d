//! What the criterion benches of several crates measure with, written once: a cache hit
//! polled without a runtime, the calling thread's CPU time (so a server on another thread is
//! not counted), and per-thread time with several threads calling at once.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark's timing loop measures elapsed wall time, which is its output"
)]

use std::{
    future::Future,
    hint::black_box,
    pin::pin,
    sync::{Arc, Barrier},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

/// Polls `future` once, without a runtime, and returns its output.
///
/// # Panics
///
/// When the future is not ready at once: a cache hit never waits, so a pending one means the
/// benchmark is not measuring a hit.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the call waited: it was not served from the cache"),
    }
}

/// The calling thread's CPU time (Linux: `/proc/thread-self/schedstat`); `None` elsewhere.
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Runs `iters` calls one after the other on `runtime` (block_on, on this thread) and returns
/// this thread's CPU time for them: with a current-thread runtime that is the client's whole
/// cost, while a server on another thread is not counted. Wall time where the CPU time
/// cannot be read.
pub fn cpu_of<F: Future>(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    mut call: impl FnMut() -> F,
) -> Duration {
    let wall = Instant::now();
    let before = thread_cpu();
    runtime.block_on(async {
        for _ in 0..iters {
            black_box(call().await);
        }
    });
    match (before, thread_cpu()) {
        (Some(before), Some(after)) => after - before,
        _ => wall.elapsed(),
    }
}

/// The wall time of `iters` calls of `call` on this thread (for calls that never wait, such as
/// cache hits polled with [`ready`]).
pub fn wall_of<R>(iters: u64, mut call: impl FnMut() -> R) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(call());
    }
    start.elapsed()
}

/// Runs `iters` calls of `call` on each of `threads` threads started together, and returns the
/// slowest thread's wall time: the per-call time on each thread while all call at once. Flat as
/// threads are added means the calls per second grow with the threads (up to the cores the
/// machine gives them).
pub fn on_threads<T, R>(
    threads: usize,
    iters: u64,
    shared: &Arc<T>,
    call: impl Fn(&T) -> R + Clone + Send + 'static,
) -> Duration
where
    T: Send + Sync + ?Sized + 'static,
{
    let barrier = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let shared = Arc::clone(shared);
            let barrier = Arc::clone(&barrier);
            let call = call.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(call(&shared));
                }
                start.elapsed()
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|worker| worker.join().expect("a bench thread panicked"))
        .max()
        .unwrap_or_default()
}

/// One variant of a paired measurement: a name, and a closure that makes `calls` calls and
/// returns their cost (typically [`cpu_of`]).
pub type Variant<'a> = (&'a str, &'a mut dyn FnMut(u64) -> Duration);

/// What [`paired_rounds`] measured of one variant, over all rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedFigure {
    /// The variant's name.
    pub name: String,
    /// The median per-call cost, in nanoseconds.
    pub median_ns: f64,
    /// The median, over the rounds, of this variant's per-call cost divided by the first
    /// variant's in the same round, and the quartiles of those ratios.
    pub ratio_median: f64,
    /// The lower quartile of the per-round ratios.
    pub ratio_p25: f64,
    /// The upper quartile of the per-round ratios.
    pub ratio_p75: f64,
}

/// Measures `variants` side by side: `rounds` rounds, each running every variant for `calls`
/// calls, the order rotating from round to round. On a shared machine whose speed drifts
/// during a run, each round's variants see nearly the same machine, so the ratio of each
/// variant to the first, taken per round and then its median, is far steadier than the ratio
/// of two figures measured minutes apart.
///
/// # Panics
///
/// When there are no variants, no rounds or no calls.
pub fn paired_rounds(rounds: usize, calls: u64, variants: &mut [Variant<'_>]) -> Vec<PairedFigure> {
    assert!(!variants.is_empty() && rounds > 0 && calls > 0);
    let n = variants.len();
    let mut per_call = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for step in 0..n {
            let v = (round + step) % n;
            let spent = (variants[v].1)(calls);
            per_call[v].push(spent.as_nanos() as f64 / calls as f64);
        }
    }
    variants
        .iter()
        .zip(&per_call)
        .map(|((name, _), times)| {
            let mut ratios: Vec<f64> = times.iter().zip(&per_call[0]).map(|(t, b)| t / b).collect();
            PairedFigure {
                name: (*name).to_owned(),
                median_ns: quantile(&mut times.clone(), 0.5),
                ratio_median: quantile(&mut ratios, 0.5),
                ratio_p25: quantile(&mut ratios, 0.25),
                ratio_p75: quantile(&mut ratios, 0.75),
            }
        })
        .collect()
}

/// Hands `figures`, the paired measurement `measurement` ([`paired_rounds`] of `rounds` rounds
/// of `calls` calls; `what` says what each call's cost is, such as "client CPU"), to `cargo
/// xtask bench` (see [`write_for_xtask`]: `median_ns`, `ratio_median`, `ratio_p25` and
/// `ratio_p75` per variant), and returns their text for the bench binary to print.
#[must_use]
pub fn report_paired(
    measurement: &str,
    what: &str,
    rounds: usize,
    calls: u64,
    figures: &[PairedFigure],
) -> String {
    let mut text = format!("{measurement}: {rounds} rounds of {calls} calls of each, {what}\n");
    for f in figures {
        let per_call = if f.median_ns < 10_000.0 {
            format!("{:.1} ns", f.median_ns)
        } else {
            format!("{:.1} µs", f.median_ns / 1e3)
        };
        text.push_str(&format!(
            "  {:<48} {per_call:>10}  {:.2}x the first (quartiles {:.2}-{:.2})\n",
            f.name, f.ratio_median, f.ratio_p25, f.ratio_p75
        ));
    }
    write_for_xtask(
        measurement,
        figures.iter().map(|f| {
            let figure = serde_json::json!({
                "median_ns": f.median_ns,
                "ratio_median": f.ratio_median,
                "ratio_p25": f.ratio_p25,
                "ratio_p75": f.ratio_p75,
            });
            (f.name.clone(), figure)
        }),
    );
    text
}

/// Under `cargo xtask bench` (`CRITERION_HOME` set), writes a measurement made outside
/// criterion's own functions to `<CRITERION_HOME>/<measurement>.json`, one object of figures
/// per variant, by name, for xtask's table; otherwise does nothing.
///
/// # Panics
///
/// When the file cannot be written: the run's table would lack the figures.
pub fn write_for_xtask(
    measurement: &str,
    variants: impl IntoIterator<Item = (String, serde_json::Value)>,
) {
    let Some(home) = std::env::var_os("CRITERION_HOME") else {
        return;
    };
    let json: serde_json::Map<String, serde_json::Value> = variants.into_iter().collect();
    let home = std::path::Path::new(&home);
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(
        home.join(format!("{measurement}.json")),
        serde_json::Value::Object(json).to_string(),
    )
    .unwrap();
}

/// The `q` quantile of `values` (nearest rank).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    values[rank]
}

/// Whether a criterion bench binary's command line selects the measurement `name` that runs
/// outside criterion's own functions (such as [`paired_rounds`]) by criterion's own rule: not
/// in `--test`, `--list` or `--ignored` mode, and with no filter, or a filter that matches
/// `name` as criterion matches its benchmarks' ids (a regular expression found anywhere in it;
/// with `--exact`, the whole name). A filter that is not a valid regular expression selects
/// nothing (criterion itself stops on it).
pub fn selected_by_command_line(name: &str) -> bool {
    selected_by(std::env::args().skip(1), name)
}

fn selected_by(args: impl IntoIterator<Item = String>, name: &str) -> bool {
    // Criterion's options that take a value as the next argument.
    const WITH_VALUE: &[&str] = &[
        "-c",
        "--color",
        "-s",
        "--save-baseline",
        "-b",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--plotting-backend",
        "--output-format",
        "--format",
    ];
    let mut filter = None;
    let mut exact = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--test" | "--list" | "--ignored" => return false,
            "--exact" => exact = true,
            a if WITH_VALUE.contains(&a) => {
                args.next();
            }
            a if a.starts_with('-') => {}
            // Criterion takes one filter, the first argument that is not an option.
            _ => {
                filter.get_or_insert(arg);
            }
        }
    }
    match filter {
        None => true,
        Some(filter) if exact => filter == name,
        Some(filter) => regex::Regex::new(&filter).is_ok_and(|r| r.is_match(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_returns_a_ready_output_and_refuses_a_pending_future() {
        assert_eq!(ready(async { 7 }), 7);
        let pending = std::panic::catch_unwind(|| ready(std::future::pending::<()>()));
        assert!(pending.is_err());
    }

    #[test]
    fn the_threads_all_run_their_calls() {
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        on_threads(2, 50, &counter, |c| {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        });
        assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 100);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn thread_cpu_grows_with_work_on_this_thread() {
        let before = thread_cpu().unwrap();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(thread_cpu().unwrap() > before, "{x}");
    }

    #[test]
    fn ratios_are_taken_per_round_so_a_drifting_machine_cancels_out() {
        // The machine gets slower every call; the second variant always costs 1.5x the first
        // on the same machine.
        let speed = std::cell::Cell::new(1.0f64);
        let cost = |factor: f64, calls: u64| {
            speed.set(speed.get() * 1.1);
            Duration::from_nanos((100.0 * factor * speed.get() * calls as f64) as u64)
        };
        let mut first = |calls| cost(1.0, calls);
        let mut second = |calls| cost(1.5, calls);
        let figures = paired_rounds(20, 10, &mut [("base", &mut first), ("other", &mut second)]);
        assert_eq!(figures[0].ratio_median, 1.0);
        // Each pair is one drift step apart (10%), in alternating order: 1.5 x 1.1 or / 1.1.
        assert!(
            (1.3..=1.7).contains(&figures[1].ratio_median),
            "{figures:?}"
        );
        assert!(
            figures[1].ratio_p25 >= 1.3 && figures[1].ratio_p75 <= 1.7,
            "{figures:?}"
        );
    }

    #[test]
    fn the_command_line_selects_by_filter_outside_test_and_list_modes() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let name = "entra_refresh_grant_tls_paired";
        assert!(selected_by(args(&["--bench"]), name));
        assert!(selected_by(args(&["--bench", "entra_refresh"]), name));
        assert!(selected_by(
            args(&["--bench", "--save-baseline", "x", "paired"]),
            name
        ));
        assert!(!selected_by(args(&["--bench", "entra_cache_hit"]), name));
        assert!(!selected_by(
            args(&["--bench", "--measurement-time", "5", "hit"]),
            name
        ));
        assert!(!selected_by(args(&["--test"]), name));
        assert!(!selected_by(args(&["--list"]), name));
        assert!(!selected_by(args(&["--bench", "--ignored"]), name));
    }

    #[test]
    fn the_filter_is_a_regular_expression_as_criterions_is() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let name = "entra_refresh_grant_tls_paired";
        let both = "entra_refresh_grant_tls_(paired|instructions)";
        assert!(selected_by(args(&["--bench", both]), name));
        assert!(selected_by(
            args(&["--bench", both]),
            "entra_refresh_grant_tls_instructions"
        ));
        assert!(!selected_by(
            args(&["--bench", both]),
            "entra_refresh_grant_tls_client_cpu"
        ));
        assert!(selected_by(
            args(&["--bench", "^entra_refresh.*paired$"]),
            name
        ));
        assert!(!selected_by(args(&["--bench", "^paired"]), name));
        // --exact: the whole name, as criterion's `BenchmarkFilter::Exact`.
        assert!(selected_by(args(&["--bench", "--exact", name]), name));
        assert!(!selected_by(
            args(&["--bench", "--exact", "entra_refresh"]),
            name
        ));
        // Not a regular expression: nothing is selected.
        assert!(!selected_by(args(&["--bench", "paired("]), name));
    }
}
