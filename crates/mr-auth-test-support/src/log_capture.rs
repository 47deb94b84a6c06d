//! `tracing` output captured as text, for the tests that assert no secret is ever logged.

use std::{
    fmt, io,
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use tokio::sync::watch;
use tracing::{
    level_filters::LevelFilter,
    span,
    subscriber::{DefaultGuard, Interest},
    Dispatch, Event, Metadata, Subscriber,
};

/// Everything `tracing` writes, at every level down to TRACE, on the current thread while the
/// guard from [`install`](Self::install) lives. Clones share one buffer.
///
/// `set_default` is per thread: use it in a `#[tokio::test]` (current-thread runtime), or
/// install it in each thread that logs.
///
/// ```
/// let logs = mr_auth_test_support::LogCapture::default();
/// {
///     let _guard = logs.install();
///     tracing::debug!(user = "alice", "signed in");
/// }
/// tracing::debug!("not captured: the guard is gone");
/// assert!(logs.text().contains("signed in"));
/// assert!(!logs.text().contains("not captured"));
/// ```
#[derive(Clone)]
pub struct LogCapture(Arc<Captured>);

struct Captured {
    bytes: Mutex<Vec<u8>>,
    /// Counts the writes, so [`LogCapture::wait_for`] wakes on each one instead of polling.
    writes: watch::Sender<u64>,
}

impl Default for LogCapture {
    fn default() -> Self {
        Self(Arc::new(Captured {
            bytes: Mutex::new(Vec::new()),
            writes: watch::Sender::new(0),
        }))
    }
}

impl LogCapture {
    /// Captures every event (TRACE and above) on this thread until the guard is dropped.
    pub fn install(&self) -> DefaultGuard {
        self.install_at(tracing::Level::TRACE)
    }

    /// Captures events at `level` and above on this thread until the guard is dropped.
    pub fn install_at(&self, level: tracing::Level) -> DefaultGuard {
        keep_tracing_on_its_locked_path();
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was captured so far (lossily decoded).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Waits until the captured text contains `needle`, waking on each write (no polling).
    /// Bound it like any wait in a test (`bounded`): it never returns if the text never comes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let logs = mr_auth_test_support::LogCapture::default();
    /// let _guard = logs.install();
    /// tokio::spawn(async { tracing::warn!("refresh failed") });
    /// mr_auth_test_support::bounded(logs.wait_for("refresh failed")).await;
    /// # }
    /// ```
    pub async fn wait_for(&self, needle: &str) {
        self.wait_until(|text| text.contains(needle)).await;
    }

    /// Waits until `condition` holds for the captured text (e.g. a message logged twice),
    /// checking it once now and again after each write.
    pub async fn wait_until(&self, condition: impl Fn(&str) -> bool) {
        // Subscribed before the first look, so a write between the look and the wait wakes it.
        let mut writes = self.0.writes.subscribe();
        while !condition(&self.text()) {
            if writes.changed().await.is_err() {
                // Unreachable while `self` holds the sender; nothing more can be written.
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A writer that panicked mid-write leaves bytes, not a broken invariant.
        self.0.bytes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `tracing` caches each call site's interest for the whole process, computed when the call
/// site is first reached. While exactly one dispatcher is registered, tracing-core 0.1 computes
/// it from the *registering thread's* default subscriber, without a lock: a thread with no
/// subscriber that first reaches a call site caches "never", and a capture on another thread
/// then never sees that call site's events. That is what happens when `cargo test` runs a
/// binary's tests as threads of one process (as the Wine step does): one test's capture misses
/// an event because a sibling test reached the same line first. With two or more dispatchers
/// registered, tracing-core asks every live dispatcher under a lock instead. So before the
/// first capture, two dispatchers that record nothing and answer "sometimes" for every call
/// site are registered for the life of the process: every call site is then at least
/// "sometimes", and each event asks its own thread's subscriber. Their level hint is `OFF`, so
/// until a capture exists no call site is reached at all (no window between the two).
fn keep_tracing_on_its_locked_path() {
    static PINNED: OnceLock<[Dispatch; 2]> = OnceLock::new();
    PINNED.get_or_init(|| [Dispatch::new(AskEachThread), Dispatch::new(AskEachThread)]);
}

/// A subscriber that records nothing and leaves every decision to each thread's own subscriber.
struct AskEachThread;

impl Subscriber for AskEachThread {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::OFF)
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        // After the bytes' lock is released: a waiter woken here reads them at once.
        self.0.writes.send_modify(|n| *n = n.wrapping_add(1));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The capture may hold whatever the code under test leaked: show only its size.
        f.debug_struct("LogCapture")
            .field("bytes", &self.lock().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_at_filters_by_level() {
        let logs = LogCapture::default();
        {
            let _guard = logs.install_at(tracing::Level::INFO);
            tracing::debug!("below the level");
            tracing::info!("at the level");
        }
        assert!(logs.text().contains("at the level"));
        assert!(!logs.text().contains("below the level"));
        assert!(!format!("{logs:?}").contains("at the level"));
    }

    /// A call site first reached on a thread without a subscriber, while this thread's capture
    /// is the only one, still reaches the capture afterwards (it did not before the pinned
    /// dispatchers: tracing cached "never"). Meaningful in a process of its own, as nextest runs
    /// each test; with other captures alive it passes either way.
    #[test]
    fn a_call_site_first_reached_on_a_bare_thread_still_reaches_the_capture() {
        fn shared_call_site() {
            tracing::info!("the shared call site");
        }
        let logs = LogCapture::default();
        let _guard = logs.install();
        std::thread::spawn(shared_call_site).join().unwrap();
        shared_call_site();
        assert!(logs.text().contains("the shared call site"), "{logs:?}");
    }

    #[tokio::test]
    async fn wait_for_wakes_on_the_write_that_brings_the_text() {
        use std::future::Future as _;
        let logs = LogCapture::default();
        let _guard = logs.install();
        let gate = crate::gate::Gate::new();
        let writer = {
            let gate = gate.clone();
            tokio::spawn(async move {
                tracing::info!("first");
                gate.pass().await;
                tracing::info!("second");
            })
        };
        gate.wait_arrived(1).await;
        let mut wait = std::pin::pin!(logs.wait_for("second"));
        let early = std::future::poll_fn(|cx| std::task::Poll::Ready(wait.as_mut().poll(cx))).await;
        assert!(early.is_pending(), "returned before the text was written");
        gate.open();
        crate::bounded(wait).await;
        crate::bounded(writer).await.unwrap();
        assert!(logs.text().contains("first"));
    }
}
