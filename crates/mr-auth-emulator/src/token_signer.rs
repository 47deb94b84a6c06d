use aws_lc_rs::{
    digest,
    rand::SystemRandom,
    signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Serialize;
use uuid::Uuid;

use crate::{Error, ErrorKind, Result};

/// The claims of an issued token, in the order the real STS writes them.
#[derive(Debug, Serialize)]
pub(crate) struct TokenClaims<'a> {
    pub(crate) jti: Uuid,
    pub(crate) aid: Uuid,
    pub(crate) tid: Uuid,
    pub(crate) rid: &'a str,
    pub(crate) aao: &'a str,
    pub(crate) apr: &'a str,
    pub(crate) iss: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) iat: u64,
    pub(crate) nbf: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<u64>,
}

/// Signs tokens with a P-256 key (ES256) generated at start, and publishes its JWKS.
pub(crate) struct TokenSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
    header_b64: String,
    jwks: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("alg", &"ES256")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// Generates a fresh key.
    pub(crate) fn generate() -> Result<Self> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::new(ErrorKind::Signing, "cannot generate a p-256 key"))?;
        let point = key.public_key().as_ref();
        // Uncompressed SEC1 point: 0x04 || X (32 bytes) || Y (32 bytes).
        if point.len() != 65 || point[0] != 4 {
            return Err(Error::new(
                ErrorKind::Signing,
                "unexpected p-256 public key encoding",
            ));
        }
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
        // RFC 7638 thumbprint as the key id.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()));
        let header = serde_json::json!({ "alg": "ES256", "kid": kid, "typ": "JWT" });
        let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        let jwks = serde_json::json!({
            "keys": [{
                "kty": "EC",
                "crv": "P-256",
                "x": x,
                "y": y,
                "kid": kid,
                "use": "sig",
                "alg": "ES256",
            }]
        })
        .to_string();
        Ok(Self {
            key,
            rng: SystemRandom::new(),
            kid,
            header_b64,
            jwks,
        })
    }

    /// The `kid` of the signing key.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The JSON Web Key Set with the public key.
    pub(crate) fn jwks(&self) -> &str {
        &self.jwks
    }

    /// Encodes and signs `claims` as a compact JWS.
    pub(crate) fn sign(&self, claims: &TokenClaims<'_>) -> Result<String> {
        let payload = serde_json::to_vec(claims)
            .map_err(|e| Error::with_source(ErrorKind::Signing, "cannot encode claims", e))?;
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self
            .key
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| Error::new(ErrorKind::Signing, "cannot sign the token"))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    fn claims() -> TokenClaims<'static> {
        TokenClaims {
            jti: Uuid::new_v4(),
            aid: Uuid::new_v4(),
            tid: Uuid::new_v4(),
            rid: "/subscriptions/x",
            aao: "AccountKey",
            apr: "eastus",
            iss: "https://127.0.0.1/",
            aud: "https://aud/",
            iat: 1_700_000_000,
            nbf: 1_700_000_000,
            exp: Some(1_700_086_400),
        }
    }

    #[test]
    fn signature_verifies_against_jwks() {
        let signer = TokenSigner::generate().unwrap();
        let token = signer.sign(&claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], signer.kid());

        let jwks: serde_json::Value = serde_json::from_str(signer.jwks()).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kid"], signer.kid());
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = &token[..parts[0].len() + 1 + parts[1].len()];
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(signed.as_bytes(), &signature)
            .unwrap();
        // A changed payload does not verify.
        let mut tampered = signed.to_owned();
        tampered.push('A');
        assert!(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(tampered.as_bytes(), &signature)
            .is_err());
    }

    #[test]
    fn omits_exp_when_none() {
        let signer = TokenSigner::generate().unwrap();
        let mut c = claims();
        c.exp = None;
        let token = signer.sign(&c).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(json.get("exp").is_none());
        assert_eq!(json["apr"], "eastus");
    }
}
