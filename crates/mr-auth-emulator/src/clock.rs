use std::{fmt::Debug, time::SystemTime};

/// Where the emulator reads the time written into tokens (`iat`, `nbf`, `exp`) and used to
/// check AAD tokens' `exp`/`nbf`. Inject a fixed clock to test expiry without sleeping.
pub trait Clock: Debug + Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock; the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place the emulator reads the wall clock"
    )]
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2024() {
        let secs = SystemClock
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(secs > 1_704_067_200);
    }
}
