//! `tracing` output captured as text, for the tests that assert no secret is ever logged.

use std::{
    fmt, io,
    sync::{Arc, Mutex, PoisonError},
};

use tracing::subscriber::DefaultGuard;

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
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Captures every event (TRACE and above) on this thread until the guard is dropped.
    pub fn install(&self) -> DefaultGuard {
        self.install_at(tracing::Level::TRACE)
    }

    /// Captures events at `level` and above on this thread until the guard is dropped.
    pub fn install_at(&self, level: tracing::Level) -> DefaultGuard {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A writer that panicked mid-write leaves bytes, not a broken invariant.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
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
}
