use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use serde_json::Value;
use time::OffsetDateTime;

/// Why a token's expiry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is not three dot-separated segments.
    #[error("the token is not a JWT (expected three dot-separated segments, found {segments})")]
    Structure {
        /// How many segments were found.
        segments: usize,
    },
    /// The payload segment is empty.
    #[error("the JWT payload segment is empty")]
    EmptyPayload,
    /// The payload is not base64url (or standard base64).
    #[error("the JWT payload is not valid base64url")]
    PayloadEncoding,
    /// The payload is not JSON.
    #[error("the JWT payload is not valid JSON")]
    PayloadJson,
    /// The payload JSON is not an object.
    #[error("the JWT payload is not a JSON object")]
    PayloadNotObject,
    /// The payload has no `exp` claim (or it is null).
    #[error("the JWT has no exp claim")]
    MissingExp,
    /// The header segment is not a base64url JSON object (only checked when decoding the
    /// header; reading the expiry never looks at it).
    #[error("the JWT header is not a base64url-encoded JSON object")]
    Header,
    /// `exp` is not a non-negative number of seconds (integer, float or numeric string).
    #[error("the JWT exp claim is not a non-negative number of seconds")]
    InvalidExp,
}

const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Reads the expiry (`exp`, seconds since the epoch) of a JWT without checking its signature
/// (a client cannot: the STS's keys are for the services).
///
/// The payload is decoded as base64url, tolerating padding and the standard alphabet; `exp`
/// may be an integer, a float (truncated) or a numeric string. The header is never decoded.
///
/// ```
/// let exp = mr_auth_core::jwt_expires_on("x.eyJleHAiOjE3MDAwMDAwMDB9.").unwrap();
/// assert_eq!(exp.unix_timestamp(), 1_700_000_000);
/// ```
pub fn jwt_expires_on(token: &str) -> Result<OffsetDateTime, JwtError> {
    let [_header, payload, _signature] = segments(token)?;
    let bytes = decode_segment(payload)?;
    let json: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::PayloadJson)?;
    let claims = json.as_object().ok_or(JwtError::PayloadNotObject)?;
    let seconds = match claims.get("exp") {
        None | Some(Value::Null) => return Err(JwtError::MissingExp),
        Some(Value::Number(number)) => number_seconds(number)?,
        Some(Value::String(text)) => string_seconds(text)?,
        Some(_) => return Err(JwtError::InvalidExp),
    };
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| JwtError::InvalidExp)
}

/// A JWT's header and claims, decoded without any signature check (for display and
/// diagnostics only; never trust these claims for authorization).
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedJwt {
    /// The header (`alg`, `kid`, `typ`, ...).
    pub header: serde_json::Map<String, Value>,
    /// The claims.
    pub claims: serde_json::Map<String, Value>,
    /// The expiry read from `exp`, as [`jwt_expires_on`] reads it.
    pub expires_on: OffsetDateTime,
}

/// Decodes a JWT's header and claims without checking its signature.
///
/// The rules of [`jwt_expires_on`] apply to the payload; the header must also be a
/// base64url JSON object.
pub fn decode_jwt_unverified(token: &str) -> Result<UnverifiedJwt, JwtError> {
    let expires_on = jwt_expires_on(token)?;
    let JwtParts { header, claims } = decode_jwt_parts_unverified(token)?;
    Ok(UnverifiedJwt {
        header,
        claims,
        expires_on,
    })
}

/// A JWT's header and claims as JSON objects, with no claim required (see
/// [`decode_jwt_parts_unverified`]). Never trust these claims for authorization without a
/// signature check.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtParts {
    /// The header (`alg`, `kid`, `typ`, ...).
    pub header: serde_json::Map<String, Value>,
    /// The claims.
    pub claims: serde_json::Map<String, Value>,
}

/// Decodes a JWT's header and payload into JSON objects without checking its signature and
/// without requiring any claim: three dot-separated segments, header and payload base64url
/// (padding and the standard alphabet tolerated, as in [`jwt_expires_on`]) JSON objects. The
/// signature segment is not looked at.
///
/// For code that reads claims other than `exp`, or must accept a token without one (a server
/// checking a bearer token's shape). [`decode_jwt_unverified`] is this plus the expiry.
///
/// ```
/// let parts = mr_auth_core::decode_jwt_parts_unverified("e30.eyJzdWIiOiJ4In0.sig").unwrap();
/// assert_eq!(parts.claims["sub"], "x");
/// assert!(parts.header.is_empty());
/// ```
pub fn decode_jwt_parts_unverified(token: &str) -> Result<JwtParts, JwtError> {
    let [header, payload, _signature] = segments(token)?;
    let claims = decode_object(payload)?;
    let header = decode_object(header).map_err(|_| JwtError::Header)?;
    Ok(JwtParts { header, claims })
}

/// Decodes a JWT's claims straight into `T`, without checking its signature and without
/// building JSON maps, under the rules of [`decode_jwt_parts_unverified`]: three segments, the
/// payload a base64url JSON object (and `T` able to read it, else [`JwtError::PayloadJson`]),
/// the header too. For code that reads a few known claims of every token it gets.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Claims {
///     sub: String,
/// }
/// let claims: Claims = mr_auth_core::decode_jwt_claims_unverified("e30.eyJzdWIiOiJ4In0.sig").unwrap();
/// assert_eq!(claims.sub, "x");
/// ```
pub fn decode_jwt_claims_unverified<T: serde::de::DeserializeOwned>(
    token: &str,
) -> Result<T, JwtError> {
    let [header, payload, _signature] = segments(token)?;
    let payload = decode_segment(payload)?;
    if !starts_an_object(&payload) {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
                Ok(_) => JwtError::PayloadNotObject,
                Err(_) => JwtError::PayloadJson,
            },
        );
    }
    let claims = serde_json::from_slice(&payload).map_err(|_| JwtError::PayloadJson)?;
    let header = decode_segment(header).map_err(|_| JwtError::Header)?;
    if !starts_an_object(&header)
        || serde_json::from_slice::<serde::de::IgnoredAny>(&header).is_err()
    {
        return Err(JwtError::Header);
    }
    Ok(claims)
}

/// The three dot-separated segments of a JWT (header, payload, signature).
fn segments(token: &str) -> Result<[&str; 3], JwtError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok([header, payload, signature]),
        _ => Err(JwtError::Structure {
            segments: if token.is_empty() {
                0
            } else {
                token.split('.').count()
            },
        }),
    }
}

/// Whether JSON text starts with an object (after any whitespace).
fn starts_an_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, JwtError> {
    let segment = segment.trim_end_matches('=');
    if segment.is_empty() {
        return Err(JwtError::EmptyPayload);
    }
    URL_SAFE_LENIENT
        .decode(segment)
        .or_else(|_| STANDARD_LENIENT.decode(segment))
        .map_err(|_| JwtError::PayloadEncoding)
}

fn decode_object(segment: &str) -> Result<serde_json::Map<String, Value>, JwtError> {
    let bytes = decode_segment(segment)?;
    match serde_json::from_slice(&bytes).map_err(|_| JwtError::PayloadJson)? {
        Value::Object(map) => Ok(map),
        _ => Err(JwtError::PayloadNotObject),
    }
}

fn number_seconds(number: &serde_json::Number) -> Result<i64, JwtError> {
    if let Some(value) = number.as_u64() {
        return i64::try_from(value).map_err(|_| JwtError::InvalidExp);
    }
    if number.as_i64().is_some() {
        return Err(JwtError::InvalidExp);
    }
    float_seconds(number.as_f64().ok_or(JwtError::InvalidExp)?)
}

fn string_seconds(text: &str) -> Result<i64, JwtError> {
    let text = text.trim();
    if let Ok(value) = text.parse::<i64>() {
        return if value < 0 {
            Err(JwtError::InvalidExp)
        } else {
            Ok(value)
        };
    }
    float_seconds(text.parse::<f64>().map_err(|_| JwtError::InvalidExp)?)
}

fn float_seconds(value: f64) -> Result<i64, JwtError> {
    // 253402300799 is 9999-12-31T23:59:59Z, the largest time `time` represents by default.
    if !value.is_finite() || !(0.0..253_402_300_800.0).contains(&value) {
        return Err(JwtError::InvalidExp);
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "truncation is the documented behaviour for a float exp, and the range is checked above"
    )]
    Ok(value.trunc() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_need_no_exp_but_both_objects_and_three_segments() {
        let parts = decode_jwt_parts_unverified("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").unwrap();
        assert_eq!(parts.header["alg"], "none");
        assert_eq!(parts.claims["sub"], "x");
        assert_eq!(
            decode_jwt_parts_unverified("e30.e30"),
            Err(JwtError::Structure { segments: 2 })
        );
        assert_eq!(
            decode_jwt_parts_unverified(""),
            Err(JwtError::Structure { segments: 0 })
        );
        assert_eq!(
            decode_jwt_parts_unverified("e30.WzFd.s"),
            Err(JwtError::PayloadNotObject)
        );
        assert_eq!(
            decode_jwt_parts_unverified("WzFd.e30.s"),
            Err(JwtError::Header)
        );
        assert_eq!(
            decode_jwt_parts_unverified("e30..s"),
            Err(JwtError::EmptyPayload)
        );
    }

    #[test]
    fn typed_claims_follow_the_rules_and_errors_of_the_parts() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Claims {
            #[serde(default)]
            sub: Option<String>,
        }
        let typed = |token: &str| decode_jwt_claims_unverified::<Claims>(token);
        assert_eq!(
            typed("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
            Ok(Claims {
                sub: Some("x".into())
            })
        );
        // Padded, the standard alphabet, whitespace before the object.
        assert_eq!(typed("e30=.ICB7fQ==.s"), Ok(Claims { sub: None }));
        for token in [
            "e30.e30",
            "",
            "e30.e30.s.x",
            "e30.WzFd.s",
            "WzFd.e30.s",
            "e30..s",
            "e30.bm90IGpzb24.s",
            "bm90IGpzb24.e30.s",
            "e30.eyJzdWIiOjF9.s",
            "e30.!!!.s",
        ] {
            let parts = decode_jwt_parts_unverified(token).map(|_| ());
            match typed(token) {
                Ok(_) => panic!("{token:?} was read (parts: {parts:?})"),
                // A claim of the wrong type is the typed reader's own refusal.
                Err(JwtError::PayloadJson) if parts.is_ok() => {}
                Err(e) => assert_eq!(Err(e), parts, "{token:?}"),
            }
        }
    }

    const PADDED: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJlbWFpbCI6IkJvYkBjb250b3NvLmNvbSIsImdpdmVuX25hbWUiOiJCb2IiLCJpc3MiOiJodHRwOi8vRGVmYXVsdC5Jc3N1ZXIuY29tIiwiYXVkIjoiaHR0cDovL0RlZmF1bHQuQXVkaWVuY2UuY29tIiwiaWF0IjoiMTYxMDgxMjI1MCIsIm5iZiI6IjE2MTA4MTI1NTAiLCJleHAiOiIxNjEwODk4NjUwIn0=.";

    fn exp(token: &str) -> Result<i64, JwtError> {
        jwt_expires_on(token).map(OffsetDateTime::unix_timestamp)
    }

    #[test]
    fn spec_vector_padded_with_string_exp() {
        assert_eq!(exp(PADDED), Ok(1_610_898_650));
    }

    #[test]
    fn spec_vector_without_padding() {
        assert_eq!(exp(&PADDED.replace('=', "")), Ok(1_610_898_650));
    }

    #[test]
    fn spec_vector_two_segments_is_a_structure_error() {
        let two = PADDED.strip_suffix('.').unwrap();
        assert_eq!(exp(two), Err(JwtError::Structure { segments: 2 }));
    }

    #[test]
    fn spec_vector_empty_payload() {
        assert_eq!(
            exp("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.."),
            Err(JwtError::EmptyPayload)
        );
    }

    #[test]
    fn spec_vector_missing_exp() {
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJlbWFpbCI6IkJvYkBjb250b3NvLmNvbSIsImdpdmVuX25hbWUiOiJCb2IiLCJpc3MiOiJodHRwOi8vRGVmYXVsdC5Jc3N1ZXIuY29tIiwiYXVkIjoiaHR0cDovL0RlZmF1bHQuQXVkaWVuY2UuY29tIiwiaWF0IjoiMTYxMDgxMjI1MCIsIm5iZiI6IjE2MTA4MTI1NTAifQ==.";
        assert_eq!(exp(token), Err(JwtError::MissingExp));
    }

    #[test]
    fn spec_vector_garbage_and_empty_are_structure_errors() {
        assert_eq!(
            exp("asdfasdfasdf"),
            Err(JwtError::Structure { segments: 1 })
        );
        assert_eq!(exp(""), Err(JwtError::Structure { segments: 0 }));
    }

    #[test]
    fn spec_vector_header_never_decoded() {
        assert_eq!(exp("fake.eyJleHAiOjIxNDc0ODM2NDd9.fake"), Ok(2_147_483_647));
    }

    #[test]
    fn spec_vector_integer_exp() {
        assert_eq!(exp("x.eyJleHAiOjE3MDAwMDAwMDB9."), Ok(1_700_000_000));
    }

    #[test]
    fn spec_vector_float_exp_is_truncated() {
        assert_eq!(exp("x.eyJleHAiOjE3MDAwMDAwMDAuOX0."), Ok(1_700_000_000));
    }

    #[test]
    fn spec_vector_url_safe_characters() {
        assert_eq!(
            exp("x.eyJhIjoifn5-Pj4-Pz8_IiwiZXhwIjoxNzAwMDAwMDAwfQ."),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn spec_vector_null_exp() {
        assert_eq!(exp("x.eyJleHAiOm51bGx9."), Err(JwtError::MissingExp));
    }

    #[test]
    fn standard_alphabet_payload_is_tolerated() {
        // {"a":"~~~>>>???","exp":1700000000} in the standard alphabet (with + and /).
        assert_eq!(
            exp("x.eyJhIjoifn5+Pj4+Pz8/IiwiZXhwIjoxNzAwMDAwMDAwfQ."),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn other_bad_payloads() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = |json: &str| format!("x.{}.", URL_SAFE_NO_PAD.encode(json));
        assert_eq!(exp("x.!!!!.y"), Err(JwtError::PayloadEncoding));
        assert_eq!(exp(&t("not json")), Err(JwtError::PayloadJson));
        assert_eq!(exp(&t("[1,2]")), Err(JwtError::PayloadNotObject));
        assert_eq!(exp(&t(r#"{"exp":-5}"#)), Err(JwtError::InvalidExp));
        assert_eq!(exp(&t(r#"{"exp":"-5"}"#)), Err(JwtError::InvalidExp));
        assert_eq!(exp(&t(r#"{"exp":"soon"}"#)), Err(JwtError::InvalidExp));
        assert_eq!(exp(&t(r#"{"exp":true}"#)), Err(JwtError::InvalidExp));
        assert_eq!(exp(&t(r#"{"exp":1e300}"#)), Err(JwtError::InvalidExp));
        assert_eq!(
            exp(&t(r#"{"exp":18446744073709551615}"#)),
            Err(JwtError::InvalidExp)
        );
        assert_eq!(exp(&t(r#"{"exp":0}"#)), Ok(0));
        assert_eq!(exp(&t(r#"{"exp":"1700000000.5"}"#)), Ok(1_700_000_000));
        assert_eq!(exp("a.b.c.d"), Err(JwtError::Structure { segments: 4 }));
    }

    #[test]
    fn decodes_header_and_claims_without_verifying() {
        let decoded = decode_jwt_unverified(PADDED).unwrap();
        assert_eq!(
            decoded.header.get("alg").and_then(Value::as_str),
            Some("none")
        );
        assert_eq!(
            decoded.claims.get("given_name").and_then(Value::as_str),
            Some("Bob")
        );
        assert_eq!(decoded.expires_on.unix_timestamp(), 1_610_898_650);
        // The header is needed here, unlike for the expiry alone.
        assert_eq!(
            decode_jwt_unverified("fake.eyJleHAiOjIxNDc0ODM2NDd9.fake"),
            Err(JwtError::Header)
        );
        assert_eq!(
            decode_jwt_unverified("notajwt"),
            Err(JwtError::Structure { segments: 1 })
        );
    }
}
