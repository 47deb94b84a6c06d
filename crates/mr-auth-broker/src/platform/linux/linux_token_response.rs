//! A token answer (`{"brokerTokenResponse": {...}}`), read into the credential's types.

use super::{
    linux_accounts::{is_error, LinuxAccount},
    linux_broker_error::{broker_error, BrokerCall},
    protocol::{MAX_RESPONSE_BYTES, MAX_TOKEN_BYTES},
};
use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{AccessTokenInfo, TokenType},
};
use azure_core::credentials::Secret;
use serde_json::Value;
use time::OffsetDateTime;

/// A token answer, validated.
#[derive(Debug)]
pub(crate) struct LinuxTokenResponse {
    /// The token, its type and expiry.
    pub(crate) token: AccessTokenInfo,
    /// The account the token is for, when the broker said.
    pub(crate) account: Option<LinuxAccount>,
}

fn garbage(what: &str) -> Error {
    Error::new(
        ErrorKind::BrokerUnavailable,
        format!("the broker's token answer does not follow its protocol ({what}); update or restart microsoft-identity-broker"),
    )
}

/// `expiresOn`: milliseconds since the Unix epoch, a number or decimal text.
fn expires_on(value: &Value) -> Option<OffsetDateTime> {
    let ms: i64 = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s)
            if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()?
        }
        _ => return None,
    };
    if ms <= 0 {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(ms / 1000).ok()
}

/// Reads a token answer.
///
/// - A broker `error`: mapped by [`broker_error`] (kind by status and context).
/// - A token: `accessToken` (non-empty, at most [`MAX_TOKEN_BYTES`], printable ASCII so it
///   can go in a header), `accessTokenType` 0 (Bearer) or 1 (PoP), `expiresOn` in ms, and
///   `account` when present must be a valid account.
/// - The type must be the one asked for (`wanted`): a Bearer answer to a PoP request is a
///   [`ErrorKind::Protocol`] error, never returned as a token (and the reverse).
/// - Anything else that does not follow the protocol (not json, too long, missing or
///   ill-typed fields): [`ErrorKind::BrokerUnavailable`] with what was wrong.
pub(crate) fn parse_token_response(
    response: &str,
    wanted: TokenType,
    call: BrokerCall,
    redirect_uri: &str,
) -> Result<LinuxTokenResponse> {
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(garbage(&format!(
            "{} bytes, more than {MAX_RESPONSE_BYTES}",
            response.len()
        )));
    }
    let value: Value =
        serde_json::from_str(response).map_err(|e| garbage("not json").with_source(e))?;
    let Some(body) = value.get("brokerTokenResponse").and_then(Value::as_object) else {
        return Err(garbage("no brokerTokenResponse object"));
    };
    if let Some(error) = body.get("error").filter(|e| is_error(e)) {
        return Err(broker_error(
            error,
            body.get("subError"),
            call,
            redirect_uri,
        ));
    }
    let token = match body.get("accessToken") {
        Some(Value::String(t)) if !t.is_empty() => t,
        _ => return Err(garbage("no accessToken")),
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(garbage("an accessToken longer than accepted"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(garbage(
            "an accessToken with characters a token cannot have",
        ));
    }
    let token_type = match body.get("accessTokenType").and_then(Value::as_u64) {
        Some(0) => TokenType::Bearer,
        Some(1) => TokenType::Pop,
        _ => return Err(garbage("accessTokenType is not 0 (bearer) or 1 (pop)")),
    };
    let Some(expires_on) = body.get("expiresOn").and_then(expires_on) else {
        return Err(garbage("expiresOn is not a time in milliseconds"));
    };
    let account = match body.get("account") {
        None | Some(Value::Null) => None,
        Some(a) => Some(LinuxAccount::from_json(a).map_err(|e| garbage(&e))?),
    };
    if token_type != wanted {
        return Err(Error::protocol(format!(
            "the broker answered a {wanted} request with a {token_type} token; refusing it (a proof-of-possession request is never downgraded)"
        )));
    }
    Ok(LinuxTokenResponse {
        token: AccessTokenInfo {
            token: Secret::new(token.clone()),
            expires_on,
            token_type,
            refresh_on: None,
        },
        account,
    })
}

/// Fuzzing entry: the token-answer parser on arbitrary bytes, for both token types.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        for wanted in [TokenType::Bearer, TokenType::Pop] {
            for call in [BrokerCall::Silent, BrokerCall::Interactive] {
                let _ = parse_token_response(text, wanted, call, "https://x");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URI: &str = "https://login.microsoftonline.com/common/oauth2/nativeclient";

    fn success(token_type: u8) -> Value {
        json!({"brokerTokenResponse": {
            "accessToken": "eyJ0.eyJ1.sig",
            "accessTokenType": token_type,
            "clientInfo": "e30",
            "expiresOn": 1_700_000_000_123_i64,
            "extendedExpiresOn": 1_700_003_600_000_i64,
            "grantedScopes": "https://management.azure.com/.default",
            "idToken": "id-token-secret",
            "account": {"homeAccountId": "o.t", "username": "a@contoso.com", "realm": "t"}
        }})
    }

    fn parse(v: &Value, wanted: TokenType) -> Result<LinuxTokenResponse> {
        parse_token_response(&v.to_string(), wanted, BrokerCall::Silent, URI)
    }

    #[test]
    fn bearer_and_pop_successes() {
        let r = parse(&success(0), TokenType::Bearer).unwrap();
        assert_eq!(r.token.token.secret(), "eyJ0.eyJ1.sig");
        assert_eq!(r.token.token_type, TokenType::Bearer);
        assert_eq!(r.token.expires_on.unix_timestamp(), 1_700_000_000);
        assert_eq!(r.account.unwrap().home_account_id, "o.t");
        let r = parse(&success(1), TokenType::Pop).unwrap();
        assert_eq!(r.token.token_type, TokenType::Pop);
        assert!(!format!("{r:?}").contains("eyJ0"));
    }

    #[test]
    fn a_bearer_answer_to_pop_is_refused_and_the_reverse() {
        let e = parse(&success(0), TokenType::Pop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("never downgraded"), "{e}");
        assert_eq!(
            parse(&success(1), TokenType::Bearer).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }

    #[test]
    fn expiry_as_text_and_no_account() {
        let mut v = success(0);
        v["brokerTokenResponse"]["expiresOn"] = json!("1700000000999");
        v["brokerTokenResponse"]
            .as_object_mut()
            .unwrap()
            .remove("account");
        let r = parse(&v, TokenType::Bearer).unwrap();
        assert_eq!(r.token.expires_on.unix_timestamp(), 1_700_000_000);
        assert!(r.account.is_none());
    }

    #[test]
    fn broker_errors_are_mapped() {
        let v = json!({"brokerTokenResponse": {"error": {"status": "UserCanceled", "tag": "t1"}}, "telemetry": {}});
        let e = parse_token_response(
            &v.to_string(),
            TokenType::Bearer,
            BrokerCall::Interactive,
            URI,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UserCancelled);
        assert!(e.message().contains("tag t1"), "{e}");
        // An empty or null error beside a token is no error.
        let mut v = success(0);
        v["brokerTokenResponse"]["error"] = json!(null);
        parse(&v, TokenType::Bearer).unwrap();
        v["brokerTokenResponse"]["error"] = json!({});
        parse(&v, TokenType::Bearer).unwrap();
        // A real error beside a token wins: no token is returned with an error.
        v["brokerTokenResponse"]["error"] = json!({"status": "InteractionRequired"});
        assert_eq!(
            parse(&v, TokenType::Bearer).unwrap_err().kind(),
            ErrorKind::AuthenticationRequired
        );
    }

    #[test]
    fn garbage_is_broker_unavailable_never_a_panic() {
        let mut cases: Vec<String> = [
            "",
            "null",
            "[]",
            "{",
            "{}",
            r#"{"brokerTokenResponse":1}"#,
            r#"{"brokerTokenResponse":{}}"#,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let field_cases: [(&str, Value); 9] = [
            ("accessToken", json!("")),
            ("accessToken", json!(5)),
            ("accessToken", json!("a b")),
            ("accessToken", json!("x".repeat(MAX_TOKEN_BYTES + 1))),
            ("accessTokenType", json!(2)),
            ("accessTokenType", json!("0")),
            ("expiresOn", json!(-5)),
            ("expiresOn", json!("soon")),
            ("account", json!({"homeAccountId": 3})),
        ];
        for (field, bad) in field_cases {
            let mut v = success(0);
            v["brokerTokenResponse"][field] = bad;
            cases.push(v.to_string());
        }
        let mut deep = String::new();
        for _ in 0..10_000 {
            deep.push('[');
        }
        cases.push(deep);
        cases.push(format!(
            r#"{{"brokerTokenResponse":{{"accessToken":"{}"}}}}"#,
            "a".repeat(MAX_RESPONSE_BYTES)
        ));
        for case in cases {
            let e = parse_token_response(&case, TokenType::Bearer, BrokerCall::Silent, URI)
                .unwrap_err();
            assert_eq!(
                e.kind(),
                ErrorKind::BrokerUnavailable,
                "{}",
                case.chars().take(120).collect::<String>()
            );
        }
    }
}
