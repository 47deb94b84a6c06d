//! xtask's one read of the wall clock: it times CI steps and bounds child processes, and has
//! no `Clock` to inject (std only, by design). Everything in xtask reads time through here.

use std::time::{Duration, Instant};

/// Now, by the monotonic clock.
#[allow(
    clippy::disallowed_methods,
    reason = "xtask's clock implementation: the one place it reads the time"
)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// The time passed since `since`.
pub(crate) fn since(since: Instant) -> Duration {
    now().saturating_duration_since(since)
}
