use super::secret_type::secret_type;

secret_type! {
    /// The one-time authorization code the authority sends to the loopback receiver.
    pub(crate) struct AuthorizationCode;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let code = AuthorizationCode::new("the-code".into());
        assert_eq!(code.secret(), "the-code");
        assert!(!format!("{code:?}").contains("the-code"));
    }
}
