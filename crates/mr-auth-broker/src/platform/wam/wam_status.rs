//! What a WAM token request's status means for the credential (platform-neutral, so it is
//! unit-tested on every platform).

use crate::{
    error::{Error, ErrorKind, Result},
    oauth::{aadsts_codes, names_redirect_uri_problem},
};
use std::fmt;

/// `Windows.Security.Authentication.Web.Core.WebTokenRequestStatus`, as a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WamStatus {
    /// `Success`.
    Success,
    /// `UserCancel`: the user closed the dialog.
    UserCancel,
    /// `AccountSwitch`: the user signed in with another account than the hinted one. A success.
    AccountSwitch,
    /// `UserInteractionRequired`: no token without UI.
    UserInteractionRequired,
    /// `AccountProviderNotAvailable`: the account provider (AAD or MSA plugin) is missing.
    AccountProviderNotAvailable,
    /// `ProviderError`: the provider failed; usually a redirect URI the app registration lacks.
    ProviderError,
    /// A value this code does not know (a newer Windows).
    Other(i32),
}

impl WamStatus {
    /// The status from its numeric WinRT value.
    pub(crate) fn from_raw(value: i32) -> Self {
        match value {
            0 => Self::Success,
            1 => Self::UserCancel,
            2 => Self::AccountSwitch,
            3 => Self::UserInteractionRequired,
            4 => Self::AccountProviderNotAvailable,
            5 => Self::ProviderError,
            other => Self::Other(other),
        }
    }

    /// Whether a token came back.
    pub(crate) fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::AccountSwitch)
    }
}

/// `WebProviderError`: the provider's error code and message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WamProviderError {
    /// The provider's error code (an HRESULT-like value such as `0xCAA20003`).
    pub(crate) code: u32,
    /// The provider's message (may be empty).
    pub(crate) message: String,
}

impl fmt::Display for WamProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message.trim();
        if message.is_empty() {
            write!(f, "wam error 0x{:08X}", self.code)
        } else {
            write!(f, "wam error 0x{:08X}: {message}", self.code)
        }
    }
}

/// The AAD plugin's error facilities for "could not reach the network" (HTTP, URLMON, WinINet).
const NETWORK_FACILITIES: [u32; 3] = [0xAA3, 0xAA7, 0xAA8];

/// `ERROR_ADAL_SERVER_ERROR_TEMPORARILY_UNAVAILABLE`.
const SERVER_TEMPORARILY_UNAVAILABLE: u32 = 0xCAA2_0005;

/// Turns a WAM result status into `Ok(())` (a token came back) or the error the credential's
/// orchestration expects (see the error contract of [`crate::PlatformBroker`]).
///
/// `redirect_uri` is the URI the request used, named in the redirect-URI guidance.
pub(crate) fn check_status(
    status: WamStatus,
    error: Option<&WamProviderError>,
    redirect_uri: &str,
) -> Result<()> {
    let detail = match error {
        Some(e) => e.to_string(),
        None => "wam gave no error details".to_owned(),
    };
    let codes = error.map(|e| aadsts_codes(&e.message)).unwrap_or_default();
    match status {
        WamStatus::Success | WamStatus::AccountSwitch => Ok(()),
        WamStatus::UserInteractionRequired => Err(Error::new(
            ErrorKind::AuthenticationRequired,
            format!("wam needs the user to sign in interactively ({detail})"),
        )
        .with_error_codes(codes)),
        WamStatus::UserCancel => Err(Error::new(
            ErrorKind::UserCancelled,
            "the user cancelled the wam sign-in",
        )),
        WamStatus::AccountProviderNotAvailable => Err(Error::new(
            ErrorKind::BrokerUnavailable,
            format!("the wam account provider is not available on this machine ({detail})"),
        )),
        WamStatus::ProviderError => Err(provider_error(error, detail, codes, redirect_uri)),
        WamStatus::Other(value) => Err(Error::new(
            ErrorKind::AuthenticationFailed,
            format!("wam returned the unknown status {value} ({detail})"),
        )
        .with_error_codes(codes)),
    }
}

fn provider_error(
    error: Option<&WamProviderError>,
    detail: String,
    codes: Vec<String>,
    redirect_uri: &str,
) -> Error {
    let code = error.map_or(0, |e| e.code);
    let facility = (code >> 16) & 0x1FFF;
    if NETWORK_FACILITIES.contains(&facility) {
        return Error::new(
            ErrorKind::Transport,
            format!("wam could not reach the authority ({detail}); check the network connection and retry"),
        )
        .with_error_codes(codes);
    }
    if code == SERVER_TEMPORARILY_UNAVAILABLE {
        return Error::new(
            ErrorKind::ServiceError,
            format!("the authority is temporarily unavailable ({detail}); retry later"),
        )
        .with_error_codes(codes);
    }
    let names_other_cause = !codes.is_empty() && !names_redirect_uri_problem(&codes);
    if names_other_cause {
        return Error::new(
            ErrorKind::AuthenticationFailed,
            format!("the wam sign-in failed ({detail})"),
        )
        .with_error_codes(codes);
    }
    Error::new(
        ErrorKind::RedirectUriNotRegistered,
        format!(
            "wam reported a provider error ({detail}); this usually means the app registration does not list the redirect uri {redirect_uri}: add it under Authentication > Mobile and desktop applications, and allow public client flows"
        ),
    )
    .with_error_codes(codes)
    .with_redirect_uri(redirect_uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "ms-appx-web://Microsoft.AAD.BrokerPlugin/04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    fn err(code: u32, message: &str) -> WamProviderError {
        WamProviderError {
            code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn raw_values_follow_the_winrt_enum() {
        let all = [
            (0, WamStatus::Success),
            (1, WamStatus::UserCancel),
            (2, WamStatus::AccountSwitch),
            (3, WamStatus::UserInteractionRequired),
            (4, WamStatus::AccountProviderNotAvailable),
            (5, WamStatus::ProviderError),
            (9, WamStatus::Other(9)),
            (-1, WamStatus::Other(-1)),
        ];
        for (raw, status) in all {
            assert_eq!(WamStatus::from_raw(raw), status);
        }
        assert!(WamStatus::AccountSwitch.is_success());
        assert!(!WamStatus::ProviderError.is_success());
    }

    #[test]
    fn success_and_account_switch_are_ok() {
        check_status(WamStatus::Success, None, URI).unwrap();
        check_status(
            WamStatus::AccountSwitch,
            Some(&err(1, "other account")),
            URI,
        )
        .unwrap();
    }

    #[test]
    fn interaction_required_is_authentication_required_with_the_wam_code() {
        let e = check_status(
            WamStatus::UserInteractionRequired,
            Some(&err(0xCAA2_000C, "AADSTS50076: mfa required")),
            URI,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationRequired);
        assert!(e.message().contains("0xCAA2000C"), "{e}");
        assert_eq!(e.error_codes(), ["AADSTS50076"]);
    }

    #[test]
    fn user_cancel_is_cancelled() {
        let e = check_status(WamStatus::UserCancel, None, URI).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UserCancelled);
    }

    #[test]
    fn provider_error_names_the_redirect_uri_and_the_wam_error() {
        for message in [
            "",
            "Incorrect redirect uri",
            "AADSTS50011: reply url mismatch",
        ] {
            let e = check_status(
                WamStatus::ProviderError,
                Some(&err(0xCAA2_0003, message)),
                URI,
            )
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered, "{message}");
            assert_eq!(e.redirect_uri(), Some(URI));
            assert!(e.message().contains(URI), "{e}");
            assert!(e.message().contains("0xCAA20003"), "{e}");
            assert!(e.message().contains(message.trim()), "{e}");
        }
        let e = check_status(WamStatus::ProviderError, None, URI).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RedirectUriNotRegistered);
        assert!(e.message().contains("no error details"), "{e}");
    }

    #[test]
    fn provider_error_with_another_aadsts_code_is_authentication_failed() {
        let e = check_status(
            WamStatus::ProviderError,
            Some(&err(
                0xCAA2_0008,
                "AADSTS65001: consent required. AADSTS65001 again",
            )),
            URI,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(e.error_codes(), ["AADSTS65001"]);
        assert!(e.redirect_uri().is_none());
    }

    #[test]
    fn network_and_service_provider_errors_keep_their_own_kinds() {
        let e =
            check_status(WamStatus::ProviderError, Some(&err(0xCAA3_0194, "")), URI).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport);
        let e =
            check_status(WamStatus::ProviderError, Some(&err(0xCAA8_2EE7, "")), URI).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport);
        let e = check_status(
            WamStatus::ProviderError,
            Some(&err(SERVER_TEMPORARILY_UNAVAILABLE, "busy")),
            URI,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServiceError);
    }

    #[test]
    fn missing_provider_is_broker_unavailable_and_unknown_status_is_a_broker_error() {
        let e = check_status(WamStatus::AccountProviderNotAvailable, None, URI).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
        let e =
            check_status(WamStatus::Other(42), Some(&err(0x8000_4005, "boom")), URI).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert!(
            e.message().contains("42") && e.message().contains("0x80004005: boom"),
            "{e}"
        );
    }
}
