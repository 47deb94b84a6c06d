//! The claims this crate reads from an id token (`nonce`, `aud`, the user name claims, `tid`),
//! read straight into typed fields: no JSON map is built for a token response. A claim of an
//! unexpected type reads as absent, as a lookup in the claims' map would find no string there;
//! a claim that appears twice makes the claims unreadable (the response is then refused, as
//! one without a usable `aud`).

use serde::{
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use std::{fmt, marker::PhantomData};

/// See the module documentation.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct IdTokenClaims {
    pub(crate) nonce: StringClaim,
    pub(crate) aud: AudienceClaim,
    pub(crate) preferred_username: StringClaim,
    pub(crate) upn: StringClaim,
    pub(crate) email: StringClaim,
    pub(crate) tid: StringClaim,
}

impl IdTokenClaims {
    /// The claims of `id_token` (its signature is not checked: it came straight from the
    /// authority over TLS); `None` when it is not a JWT with a JSON object of claims.
    pub(crate) fn read(id_token: &str) -> Option<Self> {
        mr_auth_core::decode_jwt_claims_unverified(id_token).ok()
    }
}

/// A claim's value when it is a string; `None` for any other value (which is skipped).
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) struct StringClaim(pub(crate) Option<String>);

/// `aud`: a string, or a non-empty array of strings; `None` for any other value.
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) struct AudienceClaim(pub(crate) Option<Vec<String>>);

/// What a claim's type makes of the JSON value it is given: a string, an array, and `None`
/// for anything else (whatever is not kept is read through).
trait ClaimShape: Sized {
    fn from_str(value: &str) -> Option<Self>;

    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// Reads any JSON value as its [`ClaimShape`] says.
struct ClaimVisitor<T>(PhantomData<T>);

impl<'de, T: ClaimShape> Visitor<'de> for ClaimVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_str(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl ClaimShape for String {
    fn from_str(value: &str) -> Option<Self> {
        Some(value.to_owned())
    }
}

impl ClaimShape for Vec<String> {
    fn from_str(value: &str) -> Option<Self> {
        Some(vec![value.to_owned()])
    }

    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut all = Some(Vec::new());
        while let Some(StringClaim(one)) = seq.next_element()? {
            match (one, all.as_mut()) {
                (Some(one), Some(all)) => all.push(one),
                _ => all = None,
            }
        }
        Ok(all.filter(|all| !all.is_empty()))
    }
}

impl<'de> Deserialize<'de> for StringClaim {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ClaimVisitor(PhantomData))
            .map(Self)
    }
}

impl<'de> Deserialize<'de> for AudienceClaim {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ClaimVisitor(PhantomData))
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};

    fn read(claims: &str) -> Option<IdTokenClaims> {
        IdTokenClaims::read(&format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims)))
    }

    #[test]
    fn strings_are_read_and_other_values_are_absent() {
        let claims = read(
            r#"{"nonce":"n","tid":7,"upn":null,"email":["a"],"preferred_username":{"x":[1,{}]},"aud":"c","other":{"deep":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(claims.nonce.0.as_deref(), Some("n"));
        assert_eq!(claims.aud.0, Some(vec!["c".to_owned()]));
        for absent in [
            claims.tid,
            claims.upn,
            claims.email,
            claims.preferred_username,
        ] {
            assert_eq!(absent.0, None);
        }
    }

    #[test]
    fn the_audience_is_a_string_or_a_non_empty_array_of_strings() {
        let aud = |json: &str| read(json).map(|c| c.aud.0);
        assert_eq!(
            aud(r#"{"aud":["a","b"]}"#),
            Some(Some(vec!["a".to_owned(), "b".to_owned()]))
        );
        for unusable in [
            r#"{}"#,
            r#"{"aud":7}"#,
            r#"{"aud":[]}"#,
            r#"{"aud":["a",1]}"#,
            r#"{"aud":[1,"a"]}"#,
            r#"{"aud":{"a":"b"}}"#,
        ] {
            assert_eq!(aud(unusable), Some(None), "{unusable}");
        }
    }

    #[test]
    fn unreadable_claims_are_none() {
        // A claim given twice, a payload that is no object, and no JWT at all.
        assert!(read(r#"{"aud":"a","aud":"b"}"#).is_none());
        assert!(read(r#"["aud"]"#).is_none());
        assert!(IdTokenClaims::read("garbage").is_none());
    }
}
