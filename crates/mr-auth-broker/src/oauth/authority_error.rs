//! What the authority's OAuth errors mean, wherever they arrive: in the redirect to the
//! loopback receiver or in the token endpoint's answer.

use super::aad_error_codes::{
    aadsts_codes, names_redirect_uri_problem, CONFIDENTIAL_CLIENT, USER_DECLINED_CONSENT,
};
use crate::error::{Error, ErrorKind};

/// An OAuth error response (`error`, `error_description`, `error_subcode`, the `AADSTS` codes
/// when the authority listed them, else those in the description) as a typed error.
/// `redirect_uri` is the one to name when the app registration lacks it.
pub(crate) fn authority_error(
    error: &str,
    description: &str,
    subcode: Option<&str>,
    mut codes: Vec<String>,
    correlation_id: Option<String>,
    redirect_uri: &str,
) -> Error {
    if codes.is_empty() {
        codes = aadsts_codes(description);
    }
    let has = |code: &str| codes.iter().any(|c| c == code);
    // The authority's text, from a redirect anyone can forge or from the token endpoint:
    // quoted bounded and without control characters.
    let first_line = description.lines().next().unwrap_or_default().trim();
    let first_line = mr_auth_core::outside_text(first_line, MAX_DESCRIPTION_LEN);
    let shown_error = mr_auth_core::outside_text(error, MAX_OAUTH_ERROR_LEN);
    let detail = if first_line.is_empty() {
        shown_error
    } else {
        format!("{shown_error}: {first_line}")
    };
    // A missing redirect URI first: registering it is the fix even when the app is also
    // treated as a confidential client.
    let lacks_redirect_uri = codes
        .iter()
        .any(|c| c != CONFIDENTIAL_CLIENT && names_redirect_uri_problem(std::slice::from_ref(c)));
    let (kind, message) = if lacks_redirect_uri {
        (
            ErrorKind::RedirectUriNotRegistered,
            format!("the app registration does not list the redirect uri {redirect_uri}; add it under authentication, platform \"mobile and desktop applications\" ({detail})"),
        )
    } else if has(CONFIDENTIAL_CLIENT) {
        (
            ErrorKind::RedirectUriNotRegistered,
            format!("the app registration treats this app as a confidential client; register {redirect_uri} under \"mobile and desktop applications\" and set \"allow public client flows\" to yes ({detail})"),
        )
    } else if (error == "access_denied" && subcode == Some("cancel")) || has(USER_DECLINED_CONSENT)
    {
        (
            ErrorKind::UserCancelled,
            format!("the sign-in was cancelled ({detail})"),
        )
    } else if let Some(kind_and_message) = device_code_error(error, &detail) {
        kind_and_message
    } else if matches!(
        error,
        "interaction_required" | "login_required" | "consent_required"
    ) {
        (
            ErrorKind::AuthenticationRequired,
            format!("the user has to sign in interactively ({detail})"),
        )
    } else if error.is_empty() {
        (
            ErrorKind::AuthenticationFailed,
            "the authority refused the request without saying why".to_owned(),
        )
    } else {
        (
            ErrorKind::AuthenticationFailed,
            format!("the authority refused the sign-in ({detail})"),
        )
    };
    let mut e = Error::new(kind, message)
        .with_error_codes(codes)
        .with_correlation_id(correlation_id);
    if kind == ErrorKind::RedirectUriNotRegistered {
        e = e.with_redirect_uri(redirect_uri);
    }
    // The code is kept for whoever must tell OAuth errors apart (the device code flow's
    // polling); one that is not an OAuth error code (RFC 6749 5.2: printable ASCII) is not.
    if !error.is_empty()
        && error.len() <= MAX_OAUTH_ERROR_LEN
        && error.bytes().all(|b| b.is_ascii_graphic())
    {
        e = e.with_oauth_error(error);
    }
    e
}

/// The longest OAuth `error` code kept on an error; real ones are a few words.
const MAX_OAUTH_ERROR_LEN: usize = 64;
/// The longest `error_description` line quoted in a message; Entra ID's are a sentence or two.
const MAX_DESCRIPTION_LEN: usize = 512;

/// The device code grant's final answers (RFC 8628 section 3.5, and Entra ID's
/// `bad_verification_code`); `authorization_pending` and `slow_down` are not final and are
/// the polling's business.
fn device_code_error(error: &str, detail: &str) -> Option<(ErrorKind, String)> {
    match error {
        "authorization_declined" => Some((
            ErrorKind::UserCancelled,
            format!("the user declined the sign-in on the device code page ({detail})"),
        )),
        "expired_token" => Some((
            ErrorKind::DeviceCodeExpired,
            format!("the device code expired before the sign-in was finished; sign in again and enter the new code sooner ({detail})"),
        )),
        "bad_verification_code" => Some((
            ErrorKind::BadVerificationCode,
            format!("the authority does not recognise the device code; sign in again ({detail})"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_error_kind() {
        let uri = "http://localhost:8400";
        let e = authority_error(
            "invalid_client",
            "AADSTS7000218: The request body must contain client_assertion",
            None,
            vec![],
            None,
            uri,
        );
        assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered);
        assert!(e.message().contains("allow public client flows"));
        assert_eq!(e.redirect_uri(), Some(uri));
        let e = authority_error("access_denied", "", Some("cancel"), vec![], None, uri);
        assert_eq!(e.kind(), ErrorKind::UserCancelled);
        let e = authority_error(
            "interaction_required",
            "AADSTS50076",
            None,
            vec![],
            None,
            uri,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        let e = authority_error(
            "invalid_grant",
            "AADSTS501481: The Code_Verifier does not match",
            None,
            vec![],
            Some("c1".into()),
            uri,
        );
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(e.correlation_id(), Some("c1"));
        assert_eq!(e.redirect_uri(), None);
    }

    #[test]
    fn device_code_answers_have_their_kinds_and_the_code_is_kept() {
        for (error, kind) in [
            ("authorization_declined", ErrorKind::UserCancelled),
            ("expired_token", ErrorKind::DeviceCodeExpired),
            ("bad_verification_code", ErrorKind::BadVerificationCode),
            ("authorization_pending", ErrorKind::AuthenticationFailed),
        ] {
            let e = authority_error(error, "AADSTS70016: x", None, vec![], None, "");
            assert_eq!(e.kind(), kind, "{error}");
            assert_eq!(e.oauth_error(), Some(error));
        }
        let long = "x".repeat(65);
        for odd in ["", "a\u{1b}[2J", long.as_str()] {
            assert_eq!(
                authority_error(odd, "", None, vec![], None, "").oauth_error(),
                None
            );
        }
    }

    #[test]
    fn the_authoritys_text_is_quoted_bounded_and_without_control_characters() {
        let description = format!(
            "AADSTS70000: \u{1b}]2;pwned\u{7}\u{1b}[2J{}",
            "x".repeat(5000)
        );
        let e = authority_error(
            "invalid_grant\u{1b}[8m",
            &description,
            None,
            vec![],
            Some("corr\u{1b}[2J".into()),
            "",
        );
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\u{fffd}]2;pwned"), "{shown:?}");
        assert!(shown.len() < 1024, "{}", shown.len());
        assert_eq!(e.error_codes(), ["AADSTS70000"]);
    }

    #[test]
    fn a_registration_without_the_redirect_uri_names_it() {
        let uri = "http://localhost:8400";
        for code in ["AADSTS50011", "AADSTS500113"] {
            let e = authority_error(
                "invalid_request",
                &format!("{code}: redirect uri mismatch"),
                None,
                vec![],
                None,
                uri,
            );
            assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered, "{code}");
            assert!(
                e.message().contains("does not list the redirect uri"),
                "{e}"
            );
            assert_eq!(e.redirect_uri(), Some(uri));
        }
    }
}
