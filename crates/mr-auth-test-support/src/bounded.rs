//! A time bound for async tests, so a regression fails the test instead of hanging CI.

use std::{future::Future, time::Duration};

/// How long [`bounded`] lets a test run: far above what any test here needs on a loaded
/// 2-core CI machine, far below CI's own timeout.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `test` to completion, or panics once [`TEST_TIMEOUT`] has passed.
///
/// Under `tokio::time::pause` the bound is in paused time, which auto-advances only when every
/// task is idle: a test that is stuck waiting still fails, at once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = mr_auth_test_support::bounded(async { 42 }).await;
/// assert_eq!(answer, 42);
/// # }
/// ```
pub async fn bounded<F: Future>(test: F) -> F::Output {
    bounded_by(TEST_TIMEOUT, test).await
}

/// Runs `test` to completion, or panics once `limit` has passed.
pub async fn bounded_by<F: Future>(limit: Duration, test: F) -> F::Output {
    match tokio::time::timeout(limit, test).await {
        Ok(output) => output,
        Err(_) => panic!(
            "the test did not finish within {limit:?}: something it waits for never happened"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_test_that_never_finishes_fails() {
        let outcome = tokio::spawn(bounded_by(
            Duration::from_secs(1),
            std::future::pending::<()>(),
        ))
        .await;
        let panic = outcome.unwrap_err().into_panic();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("did not finish within 1s"), "{message}");
    }
}
