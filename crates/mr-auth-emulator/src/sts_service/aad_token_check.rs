//! The checks of an AAD bearer token, per [`AadMode`]: the signature only in
//! [`AadMode::SignatureChecked`], against its configured keys.

use super::rejection::Rejection;
use crate::AadMode;

/// Clock skew allowed when checking AAD tokens' `exp` and `nbf`.
pub(super) const AAD_SKEW_SECS: u64 = 300;

pub(super) fn numeric_claim(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<u64> {
    let value = claims.get(name)?;
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Checks an AAD bearer token according to `mode`; see [`AadMode`] for what each mode checks.
pub(super) fn check_aad_token(mode: &AadMode, token: &str, now: u64) -> Result<(), Rejection> {
    if *mode == AadMode::Disabled {
        return Err(Rejection::unauthorized(
            "Invalid token: azure ad tokens are not accepted by this emulator; use an account key or enable aad mode",
        ));
    }
    let malformed =
        Rejection::unauthorized("Invalid token: the bearer token is not a well-formed jwt");
    // The shape check is mr-auth-core's JWT decoder (one decoder for client and emulator).
    let parts = mr_auth_core::decode_jwt_parts_unverified(token).map_err(|_| malformed)?;
    let claims = parts.claims;
    let exp = numeric_claim(&claims, "exp");
    let expired = Rejection::unauthorized("Invalid token: the azure ad token has expired");
    match mode {
        AadMode::ClaimsChecked { issuer, audience } => check_claims(&claims, issuer, audience, now),
        AadMode::SignatureChecked {
            issuer,
            audience,
            keys,
        } => {
            if !keys.verify(token, &parts.header) {
                return Err(Rejection::unauthorized(
                    "Invalid token: the azure ad token's signature does not verify against the configured keys (rs256 or es256, by kid)",
                ));
            }
            check_claims(&claims, issuer, audience, now)
        }
        AadMode::Disabled | AadMode::Permissive => match exp {
            Some(exp) if exp.saturating_add(AAD_SKEW_SECS) <= now => Err(expired),
            _ => Ok(()),
        },
    }
}

/// `iss`, `aud`, `exp` and `nbf` as [`AadMode::ClaimsChecked`] documents them.
fn check_claims(
    claims: &serde_json::Map<String, serde_json::Value>,
    issuer: &str,
    audience: &str,
    now: u64,
) -> Result<(), Rejection> {
    if claims.get("iss").and_then(|v| v.as_str()) != Some(issuer) {
        return Err(Rejection::unauthorized(
            "Invalid token: the azure ad token has an unexpected issuer",
        ));
    }
    let audience_ok = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => aud == audience,
        Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(Rejection::unauthorized(
            "Invalid token: the azure ad token has the wrong audience; request the scope https://sts.mixedreality.azure.com//.default",
        ));
    }
    match numeric_claim(claims, "exp") {
        None => {
            return Err(Rejection::unauthorized(
                "Invalid token: the azure ad token has no exp claim",
            ))
        }
        Some(exp) if exp.saturating_add(AAD_SKEW_SECS) <= now => {
            return Err(Rejection::unauthorized(
                "Invalid token: the azure ad token has expired",
            ))
        }
        Some(_) => {}
    }
    if numeric_claim(claims, "nbf").is_some_and(|nbf| nbf > now.saturating_add(AAD_SKEW_SECS)) {
        return Err(Rejection::unauthorized(
            "Invalid token: the azure ad token is not valid yet",
        ));
    }
    Ok(())
}
