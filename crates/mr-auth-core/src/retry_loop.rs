//! The retry loop of a request whose tries each send it and read the whole answer: the STS
//! client's, and the `mr-auth-broker` token endpoint's. A try says whether another may be
//! made; the loop waits between tries as [`StsRetryOptions`] says (full jitter, a capped
//! `Retry-After`), never starts a retry past `max_total_elapsed`, and keeps what it has done
//! in a [`RetryProgress`] for the message of an overall timeout that cuts it.

use crate::StsRetryOptions;
use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Mutex,
    },
    time::Duration,
};
use tokio::time::Instant;

/// A try that did not succeed, and whether another try may be made.
#[derive(Debug)]
pub struct FailedTry<E> {
    /// Why the try failed.
    pub error: E,
    /// Whether another try may succeed and may be sent: `false` ends the loop with `error`.
    pub retry: bool,
    /// How long the service asked to wait (`Retry-After`), when it did.
    pub retry_after: Option<Duration>,
}

impl<E> FailedTry<E> {
    /// A failure another try may not repair, or after which the request must not be sent again.
    pub fn fatal(error: E) -> Self {
        Self {
            error,
            retry: false,
            retry_after: None,
        }
    }

    /// A transient failure: another try may succeed.
    pub fn transient(error: E) -> Self {
        Self {
            error,
            retry: true,
            retry_after: None,
        }
    }

    /// The same failure, with the wait the service asked for.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

/// What a retried request has done so far: the tries started, whether one is running, and the
/// failure of the last one that ended. Read it when an overall timeout cuts the loop short, to
/// say what happened before.
pub struct RetryProgress<E> {
    tries: AtomicU32,
    in_try: AtomicBool,
    last_failure: Mutex<Option<E>>,
}

impl<E> Default for RetryProgress<E> {
    fn default() -> Self {
        Self {
            tries: AtomicU32::new(0),
            in_try: AtomicBool::new(false),
            last_failure: Mutex::new(None),
        }
    }
}

impl<E> fmt::Debug for RetryProgress<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryProgress")
            .field("tries", &self.tries())
            .field("in_try", &self.in_try())
            .finish_non_exhaustive()
    }
}

impl<E> RetryProgress<E> {
    /// The tries started so far.
    pub fn tries(&self) -> u32 {
        self.tries.load(Ordering::Relaxed)
    }

    /// Whether a try was running (rather than the loop waiting to retry).
    pub fn in_try(&self) -> bool {
        self.in_try.load(Ordering::Relaxed)
    }

    /// The failure of the last try that ended and was followed by a wait, if any.
    pub fn take_last_failure(&self) -> Option<E> {
        self.last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    fn start_try(&self, tries: u32) {
        self.tries.store(tries, Ordering::Relaxed);
        self.in_try.store(true, Ordering::Relaxed);
    }

    fn record_failure(&self, error: E) {
        self.in_try.store(false, Ordering::Relaxed);
        *self
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
    }
}

/// Runs `try_once` (given the try's number, from 1) until it succeeds or fails for good: a
/// failure with `retry: false`, the retries of `retry` used up, or a retry whose wait would end
/// more than `retry.max_total_elapsed` after `started`. Returns the last try's error then
/// ([`RetryProgress::tries`] says how many were made). `request` names the request in the
/// debug events about waits.
///
/// The loop itself has no overall time limit: bound it with `tokio::time::timeout_at`, and
/// each try with its own per-try timeout inside `try_once`.
pub async fn run_with_retries<T, E, F, Fut>(
    retry: &StsRetryOptions,
    started: Instant,
    progress: &RetryProgress<E>,
    request: &str,
    mut try_once: F,
) -> Result<T, E>
where
    E: fmt::Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, FailedTry<E>>>,
{
    let mut tries = 0u32;
    loop {
        tries += 1;
        progress.start_try(tries);
        let failure = match try_once(tries).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !failure.retry || tries > retry.max_retries {
            return Err(failure.error);
        }
        let delay = retry.delay(tries, failure.retry_after);
        if started.elapsed() + delay > retry.max_total_elapsed {
            tracing::debug!(
                request,
                tries,
                delay_ms = delay.as_millis() as u64,
                "not retrying: the retry would start after max_total_elapsed"
            );
            return Err(failure.error);
        }
        tracing::debug!(
            request,
            tries,
            delay_ms = delay.as_millis() as u64,
            error = %failure.error,
            "waiting before retrying"
        );
        progress.record_failure(failure.error);
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(max_retries: u32) -> StsRetryOptions {
        StsRetryOptions {
            max_retries,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(10),
            max_total_elapsed: Duration::from_secs(30),
        }
    }

    /// Runs the loop over scripted tries: (result, tries made, seconds each try started at).
    async fn run(
        retry: StsRetryOptions,
        script: Vec<Result<u8, FailedTry<String>>>,
    ) -> (Result<u8, String>, u32, Vec<u64>) {
        let started = Instant::now();
        let progress = RetryProgress::default();
        let script = Mutex::new(script.into_iter());
        let starts = Mutex::new(Vec::new());
        let result = run_with_retries(&retry, started, &progress, "test", |_| {
            starts.lock().unwrap().push(started.elapsed().as_secs());
            let next = script.lock().unwrap().next();
            async move { next.unwrap_or_else(|| Err(FailedTry::fatal("script ended".into()))) }
        })
        .await;
        (result, progress.tries(), starts.into_inner().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_until_one_succeeds() {
        let (result, tries, _) = run(
            options(3),
            vec![
                Err(FailedTry::transient("a".into())),
                Err(FailedTry::transient("b".into())),
                Ok(7),
            ],
        )
        .await;
        assert_eq!((result, tries), (Ok(7), 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_failure_ends_the_loop_at_once() {
        let (result, tries, _) =
            run(options(3), vec![Err(FailedTry::fatal("no".into())), Ok(1)]).await;
        assert_eq!((result, tries), (Err("no".into()), 1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_retry_budget_and_the_total_elapsed_bound_hold() {
        let transient = || Err(FailedTry::transient("t".to_owned()));
        let (result, tries, _) = run(options(2), (0..5).map(|_| transient()).collect()).await;
        assert_eq!((result, tries), (Err("t".into()), 3));

        // A service asking for an hour is waited for 10 s (the cap): tries at 0, 10, 20 and 30;
        // a fifth would start at 40, past max_total_elapsed.
        let asked = || {
            Err(FailedTry::transient("slow".to_owned())
                .with_retry_after(Some(Duration::from_secs(3600))))
        };
        let (result, tries, starts) = run(options(9), (0..9).map(|_| asked()).collect()).await;
        assert_eq!(result, Err("slow".into()));
        assert_eq!((tries, starts), (4, vec![0, 10, 20, 30]));
    }

    #[tokio::test(start_paused = true)]
    async fn progress_keeps_the_failure_being_waited_after() {
        let retry = options(3);
        let progress = RetryProgress::default();
        let started = Instant::now();
        let cut = tokio::time::timeout(
            Duration::from_millis(100),
            run_with_retries(&retry, started, &progress, "test", |_| async {
                Err::<(), _>(
                    FailedTry::transient("refused".to_owned())
                        .with_retry_after(Some(Duration::from_secs(5))),
                )
            }),
        )
        .await;
        assert!(cut.is_err(), "cut while waiting");
        assert_eq!(progress.tries(), 1);
        assert!(!progress.in_try());
        assert_eq!(progress.take_last_failure().as_deref(), Some("refused"));
    }
}
