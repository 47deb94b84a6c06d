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
    let first_line = description.lines().next().unwrap_or_default().trim();
    let detail = if first_line.is_empty() {
        error.to_owned()
    } else {
        format!("{error}: {first_line}")
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
    e
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
