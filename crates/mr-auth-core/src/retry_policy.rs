use azure_core::{
    http::{
        headers::RETRY_AFTER,
        policies::{RetryHeaders, RetryPolicy},
        StatusCode,
    },
    time::Duration as CoreDuration,
};
use std::time::Duration;

/// How the STS client retries transient failures.
///
/// Retried: 408, 429, 500, 502, 503, 504 and connection failures (including a try that hit
/// the per-try timeout). Never retried: 400, 401, 403, 404 or any other status. Backoff is
/// exponential with full jitter; a `Retry-After` from the service is honoured but capped by
/// [`max_retry_after`](Self::max_retry_after), so a service asking for an hour cannot hang a
/// caller. Attempts and total time are bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRetryOptions {
    /// Retries after the first try (so `max_retries + 1` tries at most). Default 3.
    pub max_retries: u32,
    /// The backoff before the first retry; doubles each retry. Default 500 ms.
    pub initial_delay: Duration,
    /// The largest backoff between two tries. Default 8 s.
    pub max_delay: Duration,
    /// The largest `Retry-After` honoured; a longer request is cut to this. Default 10 s.
    pub max_retry_after: Duration,
    /// No retry starts after this much time has passed since the first try. Default 30 s.
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
}

/// The `azure_core` retry policy built from [`StsRetryOptions`].
///
/// `azure_core`'s own exponential policy is used for everything but the wait: it sleeps for
/// the full `Retry-After` however long it is, and the spec requires a cap.
#[derive(Debug)]
pub(crate) struct StsRetryPolicy {
    options: StsRetryOptions,
    headers: RetryHeaders,
}

const RETRY_STATUS_CODES: &[StatusCode] = &[
    StatusCode::RequestTimeout,
    StatusCode::TooManyRequests,
    StatusCode::InternalServerError,
    StatusCode::BadGateway,
    StatusCode::ServiceUnavailable,
    StatusCode::GatewayTimeout,
];

impl StsRetryPolicy {
    pub(crate) fn new(options: StsRetryOptions) -> Self {
        Self {
            options,
            headers: RetryHeaders {
                retry_headers: vec![RETRY_AFTER],
            },
        }
    }

    /// Exponential backoff with full jitter: a uniform delay in `[0, min(max, initial * 2^n))`,
    /// never below 1 ms.
    fn backoff(&self, retry_count: u32) -> Duration {
        let exponent = retry_count.saturating_sub(1).min(30);
        let ceiling = self
            .options
            .initial_delay
            .saturating_mul(1u32 << exponent)
            .min(self.options.max_delay)
            .max(Duration::from_millis(1));
        let millis = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_millis(rand::random_range(millis / 2..=millis))
    }

    pub(crate) fn delay(&self, retry_count: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.backoff(retry_count);
        match retry_after {
            Some(asked) => asked
                .min(self.options.max_retry_after)
                .max(backoff.min(asked)),
            None => backoff,
        }
    }
}

fn to_core(duration: Duration) -> CoreDuration {
    CoreDuration::try_from(duration).unwrap_or(CoreDuration::MAX)
}

fn from_core(duration: CoreDuration) -> Duration {
    Duration::try_from(duration).unwrap_or(Duration::ZERO)
}

#[async_trait::async_trait]
impl RetryPolicy for StsRetryPolicy {
    fn is_expired(&self, duration_since_start: CoreDuration, retry_count: u32) -> bool {
        retry_count >= self.options.max_retries
            || duration_since_start >= to_core(self.options.max_total_elapsed)
    }

    fn retry_headers(&self) -> Option<&RetryHeaders> {
        Some(&self.headers)
    }

    fn retry_status_codes(&self) -> &[StatusCode] {
        RETRY_STATUS_CODES
    }

    fn sleep_duration(&self, retry_count: u32) -> CoreDuration {
        to_core(self.backoff(retry_count))
    }

    async fn wait(&self, retry_count: u32, retry_after: Option<CoreDuration>) {
        let delay = self.delay(retry_count, retry_after.map(from_core));
        tracing::debug!(
            retry_count,
            delay_ms = delay.as_millis() as u64,
            "waiting before retrying the STS request"
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let policy = StsRetryPolicy::new(StsRetryOptions {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            ..StsRetryOptions::default()
        });
        for _ in 0..200 {
            let first = policy.delay(1, None);
            assert!(
                first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            let third = policy.delay(3, None);
            assert!(
                third >= Duration::from_millis(200) && third <= Duration::from_millis(400),
                "{third:?}"
            );
            let tenth = policy.delay(10, None);
            assert!(tenth <= Duration::from_millis(700), "{tenth:?}");
            let huge = policy.delay(u32::MAX, None);
            assert!(huge <= Duration::from_millis(700), "{huge:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let policy = StsRetryPolicy::new(StsRetryOptions {
            initial_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
            ..StsRetryOptions::default()
        });
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn attempts_and_total_time_are_bounded() {
        let policy = StsRetryPolicy::new(StsRetryOptions::default());
        assert!(!policy.is_expired(CoreDuration::seconds(1), 0));
        assert!(policy.is_expired(CoreDuration::seconds(1), 3));
        assert!(policy.is_expired(CoreDuration::seconds(31), 1));
        assert!(StsRetryPolicy::new(StsRetryOptions::none()).is_expired(CoreDuration::ZERO, 0));
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        let policy = StsRetryPolicy::new(StsRetryOptions::default());
        let codes = policy.retry_status_codes();
        for code in [408u16, 429, 500, 502, 503, 504] {
            assert!(codes.contains(&StatusCode::from(code)), "{code}");
        }
        for code in [400u16, 401, 403, 404] {
            assert!(!codes.contains(&StatusCode::from(code)), "{code}");
        }
    }
}
