use std::{fmt::Debug, sync::Mutex, time::Duration};

use time::OffsetDateTime;

/// The source of "now" for everything in this workspace that compares a token's expiry with the
/// current time.
///
/// Production code uses [`SystemClock`]; tests inject a [`ManualClock`] so expiry and refresh are
/// tested without sleeping.
pub trait Clock: Send + Sync + Debug {
    /// The current time (UTC).
    fn now(&self) -> OffsetDateTime;

    /// The current time as nanoseconds since the Unix epoch: the cheap reading for hot paths
    /// that only compare it with a stored instant (a cached token's refresh point). The
    /// default converts [`now`](Self::now); [`SystemClock`] reads the system clock without
    /// building an `OffsetDateTime`. It must agree with `now`.
    fn unix_nanos(&self) -> i128 {
        self.now().unix_timestamp_nanos()
    }

    /// [`unix_nanos`](Self::unix_nanos) read as cheaply as the system allows, at the cost of
    /// precision: never ahead of it, and behind it by at most the kernel's tick (a few
    /// milliseconds) where the system has such a clock. For the hottest paths, which compare
    /// "now" with an instant minutes ahead of any deadline (a cached token's refresh point,
    /// itself at least 5 minutes before expiry), so a reading a tick late changes nothing. The
    /// default is `unix_nanos`.
    fn coarse_unix_nanos(&self) -> i128 {
        self.unix_nanos()
    }
}

/// The real wall clock. This is the only place in the workspace that reads the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one sanctioned read of the system time; everything else goes through `Clock`"
    )]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    // The wall clock, not a monotonic one: cached tokens expire by the wall clock (the JWT's
    // `exp`), and a monotonic clock stands still while the machine sleeps.
    #[allow(
        clippy::disallowed_methods,
        reason = "the system clock implementation is the one sanctioned reader"
    )]
    fn unix_nanos(&self) -> i128 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => since.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        }
    }

    // Linux's `CLOCK_REALTIME_COARSE`: the wall clock as of the last tick, read from the vDSO
    // without touching the hardware clock (a fraction of a precise read, which dominated a
    // cache hit's time). rustix goes through libc's `clock_gettime` here (its `use-libc`
    // feature): its own vDSO lookup crashes programs run under valgrind.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn coarse_unix_nanos(&self) -> i128 {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec)
    }
}

/// 2025-01-01T00:00:00Z.
const FIXED_START_UNIX_SECONDS: u64 = 1_735_689_600;

/// A clock that only moves when told to. **For tests**, including tests in other crates: share
/// it as an `Arc<ManualClock>` (it coerces to `Arc<dyn Clock>`) and move it with
/// [`set`](Self::set) or [`advance`](Self::advance).
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use mr_auth_core::{Clock, ManualClock};
///
/// let start = time::OffsetDateTime::from_unix_timestamp(1_735_689_600).unwrap();
/// let clock = Arc::new(ManualClock::new(start));
/// let shared: Arc<dyn Clock> = clock.clone();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(shared.now(), start + Duration::from_secs(60));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// A clock stopped at 2025-01-01T00:00:00Z, a fixed and unremarkable starting point.
    pub fn at_fixed_start() -> Self {
        Self::new(OffsetDateTime::UNIX_EPOCH + Duration::from_secs(FIXED_START_UNIX_SECONDS))
    }

    /// Moves the clock to `now` (backwards too, to test clock skew).
    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A panic while holding this lock cannot leave the time half-written, so a poisoned
        // lock still holds a usable value.
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::at_fixed_start()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_fixed_start();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - start, time::Duration::seconds(90));
        clock.set(start - time::Duration::hours(1));
        assert_eq!(clock.now(), start - time::Duration::hours(1));
    }

    #[test]
    fn manual_clock_is_shared_through_dyn_clock() {
        let clock = Arc::new(ManualClock::at_fixed_start());
        let shared: Arc<dyn Clock> = clock.clone();
        clock.advance(Duration::from_secs(5));
        assert_eq!(shared.now(), clock.now());
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now().year() >= 2024);
    }

    #[test]
    fn unix_nanos_agrees_with_now() {
        let clock = ManualClock::at_fixed_start();
        clock.advance(Duration::from_nanos(1_500));
        assert_eq!(
            clock.unix_nanos(),
            i128::from(FIXED_START_UNIX_SECONDS) * 1_000_000_000 + 1_500
        );
        let before = SystemClock.now().unix_timestamp_nanos();
        let raw = SystemClock.unix_nanos();
        let after = SystemClock.now().unix_timestamp_nanos();
        assert!(before <= raw && raw <= after, "{before} {raw} {after}");
    }

    #[test]
    fn the_coarse_reading_is_never_ahead_and_at_most_a_tick_behind() {
        let clock = ManualClock::at_fixed_start();
        assert_eq!(clock.coarse_unix_nanos(), clock.unix_nanos());
        let coarse = SystemClock.coarse_unix_nanos();
        let precise = SystemClock.unix_nanos();
        // The kernel's tick is at most 10 ms (HZ=100); allow a loaded machine a second.
        assert!(
            coarse <= precise && precise - coarse < 1_000_000_000,
            "{coarse} {precise}"
        );
    }
}
