use super::token_type::TokenType;
use azure_core::credentials::{AccessToken, Secret};
use time::OffsetDateTime;

/// A token with everything a caller needs to use and renew it: the equivalent of the Python
/// `AccessTokenInfo`.
///
/// `Debug` shows the type, expiry and refresh time but never the token.
#[derive(Debug, Clone)]
pub struct AccessTokenInfo {
    /// The token. Send it as `Authorization: {token_type.scheme()} {token}`.
    pub token: Secret,
    /// When the token stops being valid.
    pub expires_on: OffsetDateTime,
    /// `Bearer`, or `pop` for a proof-of-possession token.
    pub token_type: TokenType,
    /// When the authority suggests renewing it (`refresh_in`), if it said.
    pub refresh_on: Option<OffsetDateTime>,
}

impl From<AccessTokenInfo> for AccessToken {
    fn from(info: AccessTokenInfo) -> Self {
        AccessToken::new(info.token, info.expires_on)
    }
}

impl mr_auth_core::Expiring for AccessTokenInfo {
    fn expires_on(&self) -> OffsetDateTime {
        self.expires_on
    }

    fn refresh_on(&self) -> Option<OffsetDateTime> {
        self.refresh_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let info = AccessTokenInfo {
            token: Secret::new("tok-123"),
            expires_on: OffsetDateTime::UNIX_EPOCH,
            token_type: TokenType::Pop,
            refresh_on: None,
        };
        let debug = format!("{info:?}");
        assert!(!debug.contains("tok-123"));
        assert!(debug.contains("Pop"));
        let token: AccessToken = info.into();
        assert_eq!(token.token.secret(), "tok-123");
    }
}
