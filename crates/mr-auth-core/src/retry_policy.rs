use std::time::Duration;

/// How the STS client retries transient failures.
///
/// Retried: 408, 429, 500, 502, 503, 504, connections that fail or close before the whole
/// response arrived (refused, reset, a body cut short), and a try that hit the per-try
/// timeout, including one whose body stalled. Never retried: any other status (400, 401, 403,
/// 404, 501, 505, ...), TLS and certificate failures, and a 200 whose body is not a usable
/// token. Backoff is exponential with full jitter; a `Retry-After` from the service is
/// honoured but capped by [`max_retry_after`](Self::max_retry_after), so a service asking for
/// an hour cannot hang a caller. Attempts and total time are bounded, both counted from the
/// start of the `get_token` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRetryOptions {
    /// Retries after the first try (so `max_retries + 1` tries at most). Default 3.
    pub max_retries: u32,
    /// The backoff ceiling before the first retry; doubles each retry. Default 500 ms.
    pub initial_delay: Duration,
    /// The largest backoff ceiling between two tries. Default 8 s.
    pub max_delay: Duration,
    /// The largest `Retry-After` honoured; a longer request is cut to this. Default 10 s.
    pub max_retry_after: Duration,
    /// No retry starts later than this after the `get_token` call started: a retry whose wait
    /// would end later is not made, and the last error is returned at once. A try already
    /// running is bounded by the per-try and overall timeouts, not by this. Default 30 s.
    pub max_total_elapsed: Duration,
}

impl Default for StsRetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(10),
            max_total_elapsed: Duration::from_secs(30),
        }
    }
}

impl StsRetryOptions {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The backoff ceiling before retry number `retry` (1 for the first retry):
    /// `min(max_delay, initial_delay * 2^(retry - 1))`.
    fn ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        self.initial_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }

    /// The wait before retry number `retry` (1 for the first retry): full jitter, a uniform
    /// draw from `[0, ceiling)` where `ceiling` is `min(max_delay, initial_delay *
    /// 2^(retry - 1))`; when the service sent `Retry-After`, that (capped by
    /// `max_retry_after`) instead, since asking earlier only meets another 429.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max_retry_after),
            None => full_jitter(self.ceiling(retry), rand::random::<f64>()),
        }
    }
}

/// `unit` (in `[0, 1)`) of the way from zero to `ceiling`: a uniform draw from `[0, ceiling)`.
fn full_jitter(ceiling: Duration, unit: f64) -> Duration {
    let nanos = ceiling.as_nanos() as f64 * unit.clamp(0.0, 1.0);
    let nanos = nanos.min(ceiling.as_nanos().saturating_sub(1) as f64);
    Duration::from_nanos(nanos as u64)
}

/// The statuses retried: request timeout (408), throttling (429), and the transient server
/// errors (500, 502, 503, 504).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> StsRetryOptions {
        StsRetryOptions {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            ..StsRetryOptions::default()
        }
    }

    #[test]
    fn backoff_is_full_jitter_below_a_growing_bounded_ceiling() {
        let options = options();
        let mut below_half = [false; 3];
        for _ in 0..500 {
            for (slot, (retry, ceiling)) in [(1, 100), (3, 400), (10, 700)].into_iter().enumerate()
            {
                let ceiling = Duration::from_millis(ceiling);
                let delay = options.delay(retry, None);
                assert!(delay < ceiling, "retry {retry}: {delay:?}");
                below_half[slot] |= delay < ceiling / 2;
            }
            assert!(options.delay(u32::MAX, None) < Duration::from_millis(700));
        }
        // Full jitter draws from the whole range, not only its upper half: with 500 draws per
        // retry, missing the lower half by chance has probability 2^-500.
        assert_eq!(below_half, [true; 3], "draws never fell below ceiling/2");
    }

    #[test]
    fn full_jitter_spans_zero_to_just_below_the_ceiling() {
        let ceiling = Duration::from_millis(800);
        assert_eq!(full_jitter(ceiling, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(ceiling, 0.5), Duration::from_millis(400));
        assert!(full_jitter(ceiling, 0.999_999_999_999) < ceiling);
        assert!(full_jitter(ceiling, 1.0) < ceiling);
        assert_eq!(full_jitter(Duration::ZERO, 0.7), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let options = StsRetryOptions {
            initial_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
            ..StsRetryOptions::default()
        };
        assert_eq!(
            options.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            options.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for status in [408u16, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200u16, 301, 400, 401, 403, 404, 418, 501, 505, 511] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
