//! A broker error answer (`{"error": {context, errorCode, status, subStatus, tag}}`) and the
//! credential's error for it, keeping status, tag and context for support.

use super::protocol::MAX_FIELD_BYTES;
use crate::{
    error::{Error, ErrorKind},
    oauth::{aadsts_codes, names_redirect_uri_problem},
};
use serde_json::Value;

/// Which kind of call failed: a silent miss lets the credential move on, an interactive
/// failure ends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BrokerCall {
    Silent,
    Interactive,
}

/// OAuth errors (in `context`) that mean "sign in again", as MSAL treats them.
const INTERACTION_ERRORS: [&str; 4] = [
    "invalid_grant",
    "interaction_required",
    "login_required",
    "consent_required",
];

/// What the broker's `status` says, by the names (or numbers) MSAL's runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    InteractionRequired,
    NoNetwork,
    ServerUnavailable,
    UserCanceled,
    IncorrectConfiguration,
    AccountUnusable,
    Other,
}

impl Status {
    fn parse(value: Option<&Value>) -> Self {
        let name = match value {
            Some(Value::Number(n)) => match n.as_u64() {
                Some(2) => return Self::InteractionRequired,
                Some(3 | 4) => return Self::NoNetwork,
                Some(5) => return Self::ServerUnavailable,
                Some(7 | 8) => return Self::UserCanceled,
                Some(9) => return Self::IncorrectConfiguration,
                Some(13) => return Self::AccountUnusable,
                _ => return Self::Other,
            },
            Some(Value::String(s)) => s.to_ascii_lowercase().replace(['_', ' '], ""),
            _ => return Self::Other,
        };
        match name.as_str() {
            "interactionrequired" => Self::InteractionRequired,
            "nonetwork" | "networktemporarilyunavailable" => Self::NoNetwork,
            "servertemporarilyunavailable" => Self::ServerUnavailable,
            "usercanceled" | "usercancelled" | "applicationcanceled" | "applicationcancelled" => {
                Self::UserCanceled
            }
            "incorrectconfiguration" => Self::IncorrectConfiguration,
            "accountunusable" => Self::AccountUnusable,
            _ => Self::Other,
        }
    }
}

/// A field as short display text: strings and numbers, bounded, control characters replaced.
fn field_text(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let text = mr_auth_core::outside_text(&text, MAX_FIELD_BYTES);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The credential's error for a broker `error` object (and its `subError`, when given):
/// - interaction required (or `invalid_grant` and the like in the context): for a silent
///   call [`ErrorKind::AuthenticationRequired`], so the credential goes on;
/// - user or application cancelled: [`ErrorKind::UserCancelled`];
/// - a redirect-URI AADSTS code, or an incorrect configuration without another code:
///   [`ErrorKind::RedirectUriNotRegistered`] naming the URI;
/// - no network: [`ErrorKind::Transport`]; server unavailable: [`ErrorKind::ServiceError`];
/// - anything else: [`ErrorKind::AuthenticationFailed`].
///
/// The message keeps the broker's status, sub-status, error code, tag and context; AADSTS codes
/// go to [`Error::error_codes`].
pub(crate) fn broker_error(
    error: &Value,
    sub_error: Option<&Value>,
    call: BrokerCall,
    redirect_uri: &str,
) -> Error {
    let status = Status::parse(error.get("status"));
    let context = field_text(error.get("context"));
    let mut details: Vec<String> = Vec::new();
    for (label, name) in [
        ("status", "status"),
        ("sub-status", "subStatus"),
        ("error code", "errorCode"),
        ("tag", "tag"),
    ] {
        if let Some(text) = field_text(error.get(name)) {
            details.push(format!("{label} {text}"));
        }
    }
    if let Some(text) = field_text(sub_error) {
        details.push(format!("sub-error {text}"));
    }
    if let Some(text) = &context {
        details.push(text.clone());
    }
    if details.is_empty() {
        details.push("the broker gave no error details".to_owned());
    }
    let detail = details.join(", ");
    let context_lower = context.as_deref().unwrap_or_default().to_ascii_lowercase();
    let codes = aadsts_codes(context.as_deref().unwrap_or_default());
    let needs_interaction = status == Status::InteractionRequired
        || status == Status::AccountUnusable
        || INTERACTION_ERRORS.iter().any(|e| context_lower.contains(e));
    let redirect_code = names_redirect_uri_problem(&codes);

    let (kind, message) = if redirect_code
        || (status == Status::IncorrectConfiguration && codes.is_empty())
    {
        return Error::new(
            ErrorKind::RedirectUriNotRegistered,
            format!(
                "the broker refused the app registration ({detail}); the app registration must list the redirect uri {redirect_uri} under Authentication > Mobile and desktop applications, with public client flows allowed"
            ),
        )
        .with_error_codes(codes)
        .with_redirect_uri(redirect_uri);
    } else if status == Status::UserCanceled {
        (
            ErrorKind::UserCancelled,
            format!("the sign-in through the broker was cancelled ({detail})"),
        )
    } else if status == Status::NoNetwork {
        (
            ErrorKind::Transport,
            format!("the broker could not reach the authority ({detail}); check the network connection and retry"),
        )
    } else if status == Status::ServerUnavailable {
        (
            ErrorKind::ServiceError,
            format!("the authority is temporarily unavailable ({detail}); retry later"),
        )
    } else if needs_interaction && call == BrokerCall::Silent {
        (
            ErrorKind::AuthenticationRequired,
            format!("the broker needs the user to sign in interactively ({detail})"),
        )
    } else {
        (
            ErrorKind::AuthenticationFailed,
            format!("the broker's sign-in failed ({detail})"),
        )
    };
    Error::new(kind, message).with_error_codes(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URI: &str = "https://login.microsoftonline.com/common/oauth2/nativeclient";

    fn map(error: Value, call: BrokerCall) -> Error {
        broker_error(&error, None, call, URI)
    }

    #[test]
    fn interaction_required_is_a_silent_miss_and_keeps_the_details() {
        let e = map(
            json!({"status": "InteractionRequired", "subStatus": 6, "errorCode": 1001, "tag": "5ryd4", "context": "AADSTS50076: mfa"}),
            BrokerCall::Silent,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        for part in [
            "status InteractionRequired",
            "sub-status 6",
            "error code 1001",
            "tag 5ryd4",
            "AADSTS50076: mfa",
        ] {
            assert!(e.message().contains(part), "{part}: {e}");
        }
        assert_eq!(e.error_codes(), ["AADSTS50076"]);
        let e = map(json!({"status": 2}), BrokerCall::Interactive);
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn invalid_grant_in_the_context_is_a_silent_miss() {
        let e = map(
            json!({"status": "Unexpected", "context": "invalid_grant AADSTS700082: suberror: 'token_expired'"}),
            BrokerCall::Silent,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired, "{e}");
        assert_eq!(e.error_codes(), ["AADSTS700082"]);
    }

    #[test]
    fn cancel_network_server_and_other_errors() {
        assert_eq!(
            map(json!({"status": "UserCanceled"}), BrokerCall::Interactive).kind(),
            ErrorKind::UserCancelled
        );
        assert_eq!(
            map(json!({"status": 8}), BrokerCall::Interactive).kind(),
            ErrorKind::UserCancelled
        );
        assert_eq!(
            map(json!({"status": "no_network"}), BrokerCall::Silent).kind(),
            ErrorKind::Transport
        );
        assert_eq!(
            map(json!({"status": 5}), BrokerCall::Silent).kind(),
            ErrorKind::ServiceError
        );
        let e = map(json!({}), BrokerCall::Interactive);
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert!(e.message().contains("no error details"), "{e}");
        let e = map(
            json!({"status": ["odd"], "tag": {"x": 1}}),
            BrokerCall::Silent,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn redirect_uri_problems_name_the_uri() {
        for error in [
            json!({"status": "IncorrectConfiguration"}),
            json!({"status": "Unexpected", "context": "AADSTS50011: reply url mismatch"}),
            json!({"context": "AADSTS7000218: client_assertion or client_secret"}),
        ] {
            let e = map(error.clone(), BrokerCall::Interactive);
            assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered, "{error}");
            assert_eq!(e.redirect_uri(), Some(URI));
            assert!(e.message().contains(URI), "{e}");
        }
        let e = map(
            json!({"status": "IncorrectConfiguration", "context": "AADSTS700016: app not found"}),
            BrokerCall::Interactive,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn texts_are_bounded_and_without_control_characters() {
        let e = map(
            json!({"context": format!("a\nb{}", "x".repeat(10_000))}),
            BrokerCall::Interactive,
        );
        assert!(!e.message().contains('\n'));
        assert!(
            e.message().len() < 2 * MAX_FIELD_BYTES,
            "{}",
            e.message().len()
        );
    }
}
