/// Whether, and how, the emulator accepts Azure AD bearer tokens instead of account keys.
///
/// Any bearer value of the form `<account id>:<key>` is always checked as an account key.
/// A bearer value that looks like a JWT is handled by this mode. In no mode is the AAD
/// token's signature checked: the emulator does not fetch Azure AD's keys (it never leaves
/// loopback). What each mode checks is listed on its variant.
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
    /// Accept any well-formed JWT: three segments, header and payload base64url JSON objects.
    /// If `exp` is present and numeric it must be in the future; nothing else is checked.
    /// For tests that use whatever token a developer credential hands out.
    Permissive,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_by_default() {
        assert_eq!(AadMode::default(), AadMode::Disabled);
    }
}
