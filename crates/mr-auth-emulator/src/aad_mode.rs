/// Whether, and how, the emulator accepts Azure AD bearer tokens instead of account keys.
///
/// Any bearer value of the form `<account id>:<key>` is always checked as an account key.
/// A bearer value that looks like a JWT is handled by this mode. Only
/// [`SignatureChecked`](Self::SignatureChecked) checks the AAD token's signature, against keys
/// given to it (the emulator never leaves loopback, so it does not fetch Azure AD's keys
/// itself). What each mode checks is listed on its variant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AadMode {
    /// AAD tokens are refused with 401 `Invalid token: ...`. The default.
    #[default]
    Disabled,
    /// Accept a JWT whose header and payload are base64url JSON objects, whose `iss` equals
    /// `issuer` and whose `aud` equals `audience` (or, when `aud` is an array, contains it),
    /// with a numeric `exp` in the future and, if present, `nbf` not in the future
    /// (5 minutes of clock skew allowed both ways). The signature is not checked: the name says
    /// what it does (it was `Verified`, which it never was).
    ClaimsChecked {
        /// The expected `iss`, e.g. `https://sts.windows.net/<tenant>/`.
        issuer: String,
        /// The expected `aud`, e.g. `https://sts.mixedreality.azure.com`.
        audience: String,
    },
    /// What [`ClaimsChecked`](Self::ClaimsChecked) checks, after the signature: an `RS256` or
    /// `ES256` signature by one of `keys` (by the header's `kid` when it names one; `none` and
    /// other algorithms are refused).
    ///
    /// ```
    /// use mr_auth_emulator::{AadMode, AadSigningKeys};
    /// // The key set Entra ID serves at its jwks_uri (here one made-up RSA key).
    /// let jwks = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"sXch","e":"AQAB"}]}"#;
    /// let mode = AadMode::SignatureChecked {
    ///     issuer: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/".into(),
    ///     audience: "https://sts.mixedreality.azure.com".into(),
    ///     keys: AadSigningKeys::from_jwks(jwks)?,
    /// };
    /// # Ok::<(), mr_auth_emulator::Error>(())
    /// ```
    SignatureChecked {
        /// The expected `iss`.
        issuer: String,
        /// The expected `aud`.
        audience: String,
        /// The keys a token must be signed by.
        keys: AadSigningKeys,
    },
    /// Accept any well-formed JWT: three segments, header and payload base64url JSON objects.
    /// If `exp` is present and numeric it must be in the future; nothing else is checked.
    /// For tests that use whatever token a developer credential hands out.
    Permissive,
}

use crate::AadSigningKeys;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_by_default() {
        assert_eq!(AadMode::default(), AadMode::Disabled);
    }
}
