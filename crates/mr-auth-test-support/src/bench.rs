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
}
