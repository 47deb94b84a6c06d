//! A successful answer of the token endpoint, checked: what the protocol reports back to
//! whoever asked (MSAL's `on_obtaining_tokens`); it names nothing of the cache.

use super::{
    access_token_info::AccessTokenInfo, id_token_claims::IdTokenClaims,
    refresh_token::RefreshToken, token_type::TokenType,
};
use crate::error::{Error, Result};
use azure_core::credentials::Secret;
use mr_auth_core::Clock;
use serde::Deserialize;
use std::fmt;
use zeroize::Zeroizing;

/// A successful token response: the tokens, and what came with them.
pub(crate) struct TokenResponse {
    pub(crate) token: AccessTokenInfo,
    pub(crate) refresh_token: Option<RefreshToken>,
    /// The `nonce` claim of the id token, when one came back.
    pub(crate) id_token_nonce: Option<String>,
    /// The `aud` claim of the id token, when one came back with a usable one.
    pub(crate) id_token_audience: Option<IdTokenAudience>,
    pub(crate) has_id_token: bool,
    /// The rest of the response, for whoever keeps the tokens.
    pub(crate) details: ResponseDetails,
}

/// The parts of a token response besides the tokens: what a token cache stores with them (the
/// fields MSAL's `TokenCache.add` takes) and what names the account.
pub(crate) struct ResponseDetails {
    /// `expires_in`, seconds (checked positive).
    pub(crate) expires_in: i64,
    /// `ext_expires_in`, seconds, when given and positive.
    pub(crate) ext_expires_in: Option<i64>,
    /// `refresh_in`, seconds, when given and positive.
    pub(crate) refresh_in: Option<i64>,
    /// The granted `scope`, when given.
    pub(crate) scope: Option<String>,
    /// `client_info` (base64url JSON with `uid` and `utid`), when given.
    pub(crate) client_info: Option<String>,
    /// The id token, when given (it names the user: zeroized on drop, never logged).
    pub(crate) id_token: Option<Zeroizing<String>>,
    /// `foci`, the app's family of client ids (`"1"` for Microsoft's first-party family), when
    /// given as a short alphanumeric value: a family's refresh tokens are shared by its apps.
    pub(crate) family_id: Option<String>,
    /// What the id token says of the account, read with its nonce and audience (the id token
    /// is decoded once per response).
    pub(crate) id_token_account: IdTokenAccount,
}

/// The claims of an id token that name the account: read once, when the response is parsed,
/// for whoever records the account (`AuthenticationRecord::from_token_response`).
#[derive(Default)]
pub(crate) struct IdTokenAccount {
    /// The first of `preferred_username`, `upn` and `email` that is a string, as sent
    /// (unchecked: the account record bounds it).
    pub(crate) username: Option<String>,
    /// `tid`, when a string.
    pub(crate) tenant_id: Option<String>,
}

impl IdTokenAccount {
    /// The account claims of `id_token`; none when it does not decode.
    #[cfg(test)]
    pub(crate) fn read(id_token: &str) -> Self {
        IdTokenClaims::read(id_token)
            .map(Self::from_claims)
            .unwrap_or_default()
    }

    fn from_claims(claims: IdTokenClaims) -> Self {
        Self {
            username: claims
                .preferred_username
                .0
                .or(claims.upn.0)
                .or(claims.email.0),
            tenant_id: claims.tid.0,
        }
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token", &self.token)
            .field("refresh_token", &self.refresh_token)
            .field("has_id_token", &self.has_id_token)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct WireToken {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    expires_in: NumberOrString,
    #[serde(default)]
    refresh_in: Option<NumberOrString>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    ext_expires_in: Option<NumberOrString>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_info: Option<String>,
    #[serde(default)]
    foci: Option<NumberOrString>,
}

/// A number of seconds as authorities send it: a JSON number, or a string of one.
pub(crate) enum NumberOrString {
    Number(i64),
    String(String),
}

/// Read straight from the JSON value (what `#[serde(untagged)]` would accept: an integer that
/// fits an `i64`, or a string), without the buffered copy and the failed first try an untagged
/// enum makes of every string: a token response has up to four of these.
impl<'de> Deserialize<'de> for NumberOrString {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Seconds;
        impl serde::de::Visitor<'_> for Seconds {
            type Value = NumberOrString;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds, or a string of one")
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(NumberOrString::Number(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                i64::try_from(v)
                    .map(NumberOrString::Number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }

            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(NumberOrString::String(v.to_owned()))
            }
        }
        deserializer.deserialize_any(Seconds)
    }
}

impl NumberOrString {
    /// The number, if it is one.
    pub(crate) fn seconds(&self) -> Option<i64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::String(s) => s.trim().parse().ok(),
        }
    }
}

impl TokenResponse {
    /// Reads a 2xx answer's body (`status` is kept on the errors).
    pub(crate) fn from_json(clock: &dyn Clock, status: u16, bytes: &[u8]) -> Result<Self> {
        let wire: WireToken = serde_json::from_slice(bytes).map_err(|e| {
            Error::protocol(
                "the token endpoint answered with something that is not a token response",
            )
            .with_status(status)
            .with_source(e)
        })?;
        parse(clock, wire, status)
    }
}

fn parse(clock: &dyn Clock, wire: WireToken, status: u16) -> Result<TokenResponse> {
    let now = clock.now();
    let expires_in = wire
        .expires_in
        .seconds()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            Error::protocol("the token response has no usable expires_in").with_status(status)
        })?;
    let token_type = match wire.token_type.as_deref() {
        None => TokenType::Bearer,
        Some(t) => TokenType::parse(t).ok_or_else(|| {
            Error::protocol(format!(
                "the token response has the unknown token_type {t:?}"
            ))
        })?,
    };
    if wire.access_token.is_empty() {
        return Err(Error::protocol(
            "the token response has an empty access_token",
        ));
    }
    // A server can send any number: an instant past what the clock type holds is refused
    // (expiry) or ignored (refresh hint), never an overflow.
    let after = |s: i64| now.checked_add(time::Duration::seconds(s));
    let expires_on = after(expires_in).ok_or_else(|| {
        Error::protocol(format!(
            "the token response's expires_in ({expires_in} seconds) is out of range"
        ))
        .with_status(status)
    })?;
    let refresh_on = wire
        .refresh_in
        .as_ref()
        .and_then(NumberOrString::seconds)
        .filter(|s| *s > 0)
        .and_then(after);
    let claims = wire.id_token.as_deref().and_then(IdTokenClaims::read);
    let (id_token_nonce, id_token_audience, id_token_account) = match claims {
        Some(mut claims) => (
            claims.nonce.0.take(),
            claims.aud.0.take().map(IdTokenAudience),
            IdTokenAccount::from_claims(claims),
        ),
        None => (None, None, IdTokenAccount::default()),
    };
    let has_id_token = wire.id_token.is_some();
    let positive = |v: &Option<NumberOrString>| {
        v.as_ref()
            .and_then(NumberOrString::seconds)
            .filter(|s| *s > 0)
    };
    let details = ResponseDetails {
        expires_in,
        ext_expires_in: positive(&wire.ext_expires_in),
        refresh_in: positive(&wire.refresh_in),
        scope: wire.scope.filter(|s| !s.trim().is_empty()),
        client_info: wire.client_info.filter(|s| !s.is_empty()),
        id_token: wire.id_token.map(Zeroizing::new),
        family_id: wire.foci.as_ref().and_then(family_id),
        id_token_account,
    };
    Ok(TokenResponse {
        token: AccessTokenInfo {
            token: Secret::new(wire.access_token),
            expires_on,
            token_type,
            refresh_on,
        },
        refresh_token: wire
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        id_token_nonce,
        id_token_audience,
        has_id_token,
        details,
    })
}

/// `foci` as a family id: `1` (Entra sends the string `"1"`), else nothing. Anything longer
/// than a short alphanumeric value is not a family id and is not stored.
fn family_id(foci: &NumberOrString) -> Option<String> {
    let value = match foci {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => s.trim().to_owned(),
    };
    (!value.is_empty() && value.len() <= 16 && value.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(value)
}

/// The `aud` claim of an id token: the client id it was issued to, or (OpenID Connect allows
/// it) several audiences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdTokenAudience(Vec<String>);

impl IdTokenAudience {
    /// Whether `client_id` is among the audiences (client ids are GUIDs: case does not count).
    pub(crate) fn includes(&self, client_id: &str) -> bool {
        self.0.iter().any(|aud| aud.eq_ignore_ascii_case(client_id))
    }

    /// The audiences, for an error message: bounded, without control characters.
    pub(crate) fn describe(&self) -> String {
        mr_auth_core::outside_text(&self.0.join(", "), 256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_token_nonce(id_token: &str) -> Option<String> {
        IdTokenClaims::read(id_token)?.nonce.0
    }

    #[test]
    fn reads_the_audience_of_an_id_token() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let audience = |claims: &str| {
            let token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
            IdTokenClaims::read(&token)?.aud.0.map(IdTokenAudience)
        };
        let one = audience(r#"{"aud":"11111111-2222-3333-4444-555555555555"}"#).unwrap();
        assert!(one.includes("11111111-2222-3333-4444-555555555555"));
        assert!(one.includes(
            "11111111-2222-3333-4444-555555555555"
                .to_uppercase()
                .as_str()
        ));
        assert!(!one.includes("99999999-2222-3333-4444-555555555555"));
        let many = audience(r#"{"aud":["a","11111111-2222-3333-4444-555555555555"]}"#).unwrap();
        assert!(many.includes("11111111-2222-3333-4444-555555555555"));
        for unusable in [
            r#"{}"#,
            r#"{"aud":7}"#,
            r#"{"aud":[]}"#,
            r#"{"aud":["a",1]}"#,
        ] {
            assert_eq!(audience(unusable), None, "{unusable}");
        }
    }

    #[test]
    fn seconds_are_a_number_or_a_string_of_one() {
        let seconds = |json: &str| {
            serde_json::from_str::<NumberOrString>(json)
                .ok()
                .map(|n| n.seconds())
        };
        assert_eq!(seconds("3599"), Some(Some(3599)));
        assert_eq!(seconds("-5"), Some(Some(-5)));
        assert_eq!(seconds(r#""3599""#), Some(Some(3599)));
        assert_eq!(seconds(r#"" 60 ""#), Some(Some(60)));
        assert_eq!(seconds(r#""soon""#), Some(None));
        for refused in [
            "3599.5",
            "18446744073709551615",
            "true",
            "null",
            "[1]",
            "{}",
        ] {
            assert_eq!(seconds(refused), None, "{refused}");
        }
    }

    #[test]
    fn foci_becomes_the_family_id_when_it_is_one() {
        let clock = mr_auth_core::ManualClock::at_fixed_start();
        let family = |foci: &str| {
            let body = format!(r#"{{"access_token":"a","expires_in":60{foci}}}"#);
            TokenResponse::from_json(&clock, 200, body.as_bytes())
                .unwrap()
                .details
                .family_id
        };
        assert_eq!(family(r#","foci":"1""#).as_deref(), Some("1"));
        assert_eq!(family(r#","foci":1"#).as_deref(), Some("1"));
        assert_eq!(family(""), None);
        assert_eq!(family(r#","foci":"""#), None);
        assert_eq!(family(r#","foci":"1\u001b[2J""#), None);
        assert_eq!(family(r#","foci":"0123456789abcdefg""#), None);
    }

    #[test]
    fn reads_the_nonce_of_an_id_token() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let payload = URL_SAFE_NO_PAD.encode(br#"{"nonce":"n-1","sub":"x","exp":1700000000}"#);
        assert_eq!(
            id_token_nonce(&format!("e30.{payload}.sig")),
            Some("n-1".into())
        );
        assert_eq!(id_token_nonce("garbage"), None);
        for claims in [
            &br#"{"nonce":"n-2"}"#[..],
            br#"{"nonce":"n-2","exp":"soon"}"#,
            br#"{"nonce":"n-2","exp":1e300}"#,
        ] {
            let payload = URL_SAFE_NO_PAD.encode(claims);
            assert_eq!(
                id_token_nonce(&format!("e30.{payload}.sig")),
                Some("n-2".into()),
                "the nonce is read whatever exp is: {}",
                String::from_utf8_lossy(claims)
            );
        }
    }
}
