use super::secret_type::secret_type;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

secret_type! {
    /// A PKCE code verifier (RFC 7636): 32 random bytes, base64url without padding (43
    /// characters). Used exactly once, so deliberately not `Clone`; only its S256 challenge
    /// goes to the browser.
    pub(crate) struct PkceVerifier;
}

impl PkceVerifier {
    pub(crate) fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
    }

    /// `base64url(SHA-256(verifier))` without padding, for `code_challenge_method=S256`.
    pub(crate) fn s256_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(
            v.s256_challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_43_chars_unique_and_redacted() {
        let a = PkceVerifier::generate();
        let b = PkceVerifier::generate();
        assert_eq!(a.secret().len(), 43);
        assert_ne!(a.secret(), b.secret());
        assert!(!format!("{a:?}").contains(a.secret()));
    }
}
