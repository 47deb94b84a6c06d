//! The keys an [`AadMode::SignatureChecked`](crate::AadMode::SignatureChecked) emulator
//! verifies AAD bearer tokens against, read from a JSON Web Key Set.

use aws_lc_rs::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::Value;

use crate::{Error, ErrorKind, Result};

/// The most keys read from one key set (Entra ID publishes a handful).
const MAX_KEYS: usize = 64;

/// Public signing keys from a JSON Web Key Set (RFC 7517): the `RS256` (RSA) and `ES256`
/// (P-256) keys of the set; keys for encryption (`"use": "enc"`), of other types or for other
/// algorithms are left out. The set Entra ID serves at its `jwks_uri` is such a set.
///
/// ```
/// let jwks = r#"{"keys":[{"kty":"RSA","kid":"k1","use":"sig","n":"sXch","e":"AQAB"}]}"#;
/// let keys = mr_auth_emulator::AadSigningKeys::from_jwks(jwks).unwrap();
/// assert_eq!(keys.len(), 1);
/// assert!(mr_auth_emulator::AadSigningKeys::from_jwks(r#"{"keys":[]}"#).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AadSigningKeys {
    keys: Vec<SigningKey>,
}

#[derive(Clone, PartialEq, Eq)]
struct SigningKey {
    kid: Option<String>,
    material: KeyMaterial,
}

#[derive(Clone, PartialEq, Eq)]
enum KeyMaterial {
    /// An uncompressed SEC1 P-256 point (`0x04 || x || y`).
    P256(Vec<u8>),
    /// RSA modulus and public exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl AadSigningKeys {
    /// Reads the signing keys of a JSON Web Key Set (`{"keys":[...]}`). Fails if the text is
    /// not such a set or holds no `RS256`/`ES256` signing key.
    pub fn from_jwks(jwks: &str) -> Result<Self> {
        let invalid = |what: &str| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("the aad signing keys are unusable: {what}; pass the json web key set the issuer serves at its jwks_uri"),
            )
        };
        let set: Value = serde_json::from_str(jwks).map_err(|_| invalid("not json"))?;
        let entries = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("no keys array"))?;
        if entries.len() > MAX_KEYS {
            return Err(invalid(&format!("more than {MAX_KEYS} keys")));
        }
        let keys: Vec<SigningKey> = entries.iter().filter_map(signing_key).collect();
        if keys.is_empty() {
            return Err(invalid("no rs256 (rsa) or es256 (p-256) signing key"));
        }
        Ok(Self { keys })
    }

    /// How many signing keys were read.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys (never, for a value built by [`from_jwks`](Self::from_jwks)).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the compact JWS `token` carries a valid signature by one of the keys: its
    /// header's `alg` is `RS256` or `ES256` (anything else, `none` included, fails) and, when
    /// the header names a `kid`, only the key of that id is tried.
    pub(crate) fn verify(&self, token: &str, header: &serde_json::Map<String, Value>) -> bool {
        let Some((signing_input, signature)) = token.rsplit_once('.') else {
            return false;
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let kid = header.get("kid").and_then(Value::as_str);
        let alg = header.get("alg").and_then(Value::as_str);
        self.keys
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .any(|key| match (&key.material, alg) {
                (KeyMaterial::P256(point), Some("ES256")) => {
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                        .verify(signing_input.as_bytes(), &signature)
                        .is_ok()
                }
                (KeyMaterial::Rsa { n, e }, Some("RS256")) => RsaPublicKeyComponents { n, e }
                    .verify(
                        &RSA_PKCS1_2048_8192_SHA256,
                        signing_input.as_bytes(),
                        &signature,
                    )
                    .is_ok(),
                _ => false,
            })
    }
}

/// A key of the set if it is an `RS256` or `ES256` signing key with well-formed material.
fn signing_key(entry: &Value) -> Option<SigningKey> {
    let text = |name: &str| entry.get(name).and_then(Value::as_str);
    let bytes = |name: &str| text(name).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let material = match (text("kty")?, text("alg")) {
        ("EC", None | Some("ES256")) if text("crv") == Some("P-256") => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            KeyMaterial::P256(point)
        }
        ("RSA", None | Some("RS256")) => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            if n.is_empty() || e.is_empty() {
                return None;
            }
            KeyMaterial::Rsa { n, e }
        }
        _ => return None,
    };
    Some(SigningKey {
        kid: text("kid").map(str::to_owned),
        material,
    })
}

/// Shows the key ids only.
impl std::fmt::Debug for AadSigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<Option<&str>> = self.keys.iter().map(|k| k.kid.as_deref()).collect();
        f.debug_struct("AadSigningKeys")
            .field("kids", &kids)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::{
        rand::SystemRandom,
        rsa::{KeyPair, KeySize},
        signature::{KeyPair as _, RSA_PKCS1_SHA256},
    };

    fn header(token: &str) -> serde_json::Map<String, Value> {
        mr_auth_core::decode_jwt_parts_unverified(token)
            .unwrap()
            .header
    }

    /// `n` and `e` of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`), without
    /// the sign byte.
    fn rsa_public_key_integers(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
        fn element(der: &[u8], tag: u8) -> (&[u8], &[u8]) {
            assert_eq!(der[0], tag);
            let (len, header) = match der[1] {
                short @ 0..=0x7f => (usize::from(short), 2),
                long => {
                    let count = usize::from(long & 0x7f);
                    let len = der[2..2 + count]
                        .iter()
                        .fold(0, |len, b| (len << 8) | usize::from(*b));
                    (len, 2 + count)
                }
            };
            (&der[header..header + len], &der[header + len..])
        }
        let (sequence, _) = element(der, 0x30);
        let (n, rest) = element(sequence, 0x02);
        let (e, _) = element(rest, 0x02);
        let strip = |v: &[u8]| v.iter().skip_while(|b| **b == 0).copied().collect();
        (strip(n), strip(e))
    }

    fn es256_token_and_jwks() -> (String, String) {
        let signer = crate::token_signer::TokenSigner::generate().unwrap();
        let claims = crate::token_signer::TokenClaims {
            jti: uuid::Uuid::nil(),
            aid: uuid::Uuid::nil(),
            tid: uuid::Uuid::nil(),
            rid: "r",
            aao: "a",
            apr: "p",
            iss: "https://sts.windows.net/t/",
            aud: "https://sts.mixedreality.azure.com",
            iat: 1,
            nbf: 1,
            exp: Some(4_000_000_000),
        };
        (signer.sign(&claims).unwrap(), signer.jwks().to_owned())
    }

    #[test]
    fn an_es256_token_verifies_and_a_changed_one_does_not() {
        let (token, jwks) = es256_token_and_jwks();
        let keys = AadSigningKeys::from_jwks(&jwks).unwrap();
        assert!(keys.verify(&token, &header(&token)));
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.rsplit_once('.').unwrap();
        let forged = format!("{head}.eyJleHAiOjQwMDAwMDAwMDB9.{signature}");
        assert!(!keys.verify(&forged, &header(&forged)));
        let (_, other_jwks) = es256_token_and_jwks();
        let other = AadSigningKeys::from_jwks(&other_jwks).unwrap();
        assert!(
            !other.verify(&token, &header(&token)),
            "another key's token"
        );
    }

    #[test]
    fn an_rs256_token_verifies_by_kid() {
        let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let (n, e) = rsa_public_key_integers(key.public_key().as_ref());
        let jwks = serde_json::json!({ "keys": [
            { "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA" },
            { "kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB" },
            {
                "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                "n": URL_SAFE_NO_PAD.encode(n),
                "e": URL_SAFE_NO_PAD.encode(e),
            },
        ]})
        .to_string();
        let keys = AadSigningKeys::from_jwks(&jwks).unwrap();
        assert_eq!(keys.len(), 1, "only the rsa signing key is usable");
        let sign = |header: &str| {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(r#"{"exp":4000000000}"#)
            );
            let mut signature = vec![0; key.public_modulus_len()];
            key.sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
        };
        let good = sign(r#"{"alg":"RS256","kid":"k1"}"#);
        assert!(keys.verify(&good, &header(&good)));
        let no_kid = sign(r#"{"alg":"RS256"}"#);
        assert!(keys.verify(&no_kid, &header(&no_kid)));
        let wrong_kid = sign(r#"{"alg":"RS256","kid":"k2"}"#);
        assert!(!keys.verify(&wrong_kid, &header(&wrong_kid)));
        let wrong_alg = sign(r#"{"alg":"ES256","kid":"k1"}"#);
        assert!(!keys.verify(&wrong_alg, &header(&wrong_alg)));
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"exp":4000000000}"#)
        );
        assert!(!keys.verify(&unsigned, &header(&unsigned)));
    }

    #[test]
    fn unusable_key_sets_are_config_errors_that_say_what_to_pass() {
        for bad in [
            "",
            "[]",
            r#"{"keys":{}}"#,
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kty":"oct","k":"AA"}]}"#,
            r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#,
        ] {
            let e = AadSigningKeys::from_jwks(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
            assert!(e.message().contains("jwks_uri"), "{e}");
        }
    }
}
