use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
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
    warned: AtomicBool,
}

impl StaticAccessTokenCredential {
    /// A credential holding `token`.
    pub fn new(token: AccessToken) -> Arc<Self> {
        Arc::new(Self {
            token,
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
        self.warn_if_expired(OffsetDateTime::now_utc());
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

    #[tokio::test]
    async fn returns_the_token_it_holds_even_when_expired() {
        let past = OffsetDateTime::now_utc() - Duration::hours(1);
        let credential =
            StaticAccessTokenCredential::new(AccessToken::new(Secret::new("tok-123"), past));
        let token = credential.get_token(&["anything"], None).await.unwrap();
        assert_eq!(token.token.secret(), "tok-123");
        assert_eq!(token.expires_on, past);
        assert!(!format!("{credential:?}").contains("tok-123"));
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
