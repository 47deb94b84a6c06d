use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use mr_auth_core::{Clock, SystemClock};
use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};
use time::OffsetDateTime;

/// A credential that returns the one Mixed Reality access token it holds, whatever scopes are
/// asked for.
///
/// Use it when the token was obtained elsewhere (for example handed to a device by a backend
/// that holds the account key). Like Microsoft's SDKs, it returns the token even after it has
/// expired (the service then answers 401); it logs a warning the first time that happens.
pub struct StaticAccessTokenCredential {
    token: AccessToken,
    clock: Arc<dyn Clock>,
    warned: AtomicBool,
}

impl StaticAccessTokenCredential {
    /// A credential holding `token`; it tells expiry by the system clock.
    pub fn new(token: AccessToken) -> Arc<Self> {
        Self::with_clock(token, Arc::new(SystemClock))
    }

    /// A credential holding `token` that tells whether it has expired by `clock` (inject a
    /// `ManualClock` to test the expiry warning without waiting).
    pub fn with_clock(token: AccessToken, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            token,
            clock,
            warned: AtomicBool::new(false),
        })
    }

    /// The token's expiry.
    pub fn expires_on(&self) -> OffsetDateTime {
        self.token.expires_on
    }

    fn warn_if_expired(&self, now: OffsetDateTime) -> bool {
        if now >= self.token.expires_on && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                expires_on = %self.token.expires_on,
                "the static Mixed Reality access token has expired; the service will reject it"
            );
            return true;
        }
        false
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticAccessTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.warn_if_expired(self.clock.now());
        Ok(self.token.clone())
    }
}

impl fmt::Debug for StaticAccessTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticAccessTokenCredential")
            .field("expires_on", &self.token.expires_on)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::Secret;
    use time::Duration;

    use mr_auth_core::ManualClock;

    #[tokio::test]
    async fn returns_the_token_it_holds_even_when_expired() {
        mr_auth_test_support::bounded(async move {
            let clock = Arc::new(ManualClock::at_fixed_start());
            let past = clock.now() - Duration::hours(1);
            let credential = StaticAccessTokenCredential::with_clock(
                AccessToken::new(Secret::new("tok-123"), past),
                clock,
            );
            assert!(!credential.warned.load(Ordering::Relaxed));
            let token = credential.get_token(&["anything"], None).await.unwrap();
            assert_eq!(token.token.secret(), "tok-123");
            assert_eq!(token.expires_on, past);
            assert!(
                credential.warned.load(Ordering::Relaxed),
                "an expired token is reported by the injected clock"
            );
            assert!(!format!("{credential:?}").contains("tok-123"));
        })
        .await;
    }

    #[tokio::test]
    async fn a_token_valid_by_the_injected_clock_is_not_reported() {
        mr_auth_test_support::bounded(async move {
            let clock = Arc::new(ManualClock::at_fixed_start());
            let expiry = clock.now() + Duration::minutes(5);
            let credential = StaticAccessTokenCredential::with_clock(
                AccessToken::new(Secret::new("t"), expiry),
                clock.clone(),
            );
            credential.get_token(&["x"], None).await.unwrap();
            assert!(!credential.warned.load(Ordering::Relaxed));
            clock.advance(std::time::Duration::from_secs(300));
            credential.get_token(&["x"], None).await.unwrap();
            assert!(credential.warned.load(Ordering::Relaxed));
        })
        .await;
    }

    #[test]
    fn warns_once_after_expiry() {
        let expiry = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let credential =
            StaticAccessTokenCredential::new(AccessToken::new(Secret::new("t"), expiry));
        assert!(!credential.warn_if_expired(expiry - Duration::seconds(1)));
        assert!(credential.warn_if_expired(expiry));
        assert!(!credential.warn_if_expired(expiry + Duration::hours(1)));
    }
}
