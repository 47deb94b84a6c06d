use super::secret_type::secret_type;

secret_type! {
    /// A refresh token from the authority, used for silent renewal before any UI is shown.
    /// `Clone`: the credential keeps one per tenant and hands a copy to each refresh.
    #[derive(Clone)]
    pub(crate) struct RefreshToken;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let token = RefreshToken::new("rt-value".into());
        assert_eq!(token.secret(), "rt-value");
        assert!(!format!("{token:?}").contains("rt-value"));
    }
}
