//! A WinRT call into WAM that failed with an HRESULT, and the error the credential sees
//! (platform-neutral: the Windows code passes the HRESULT and message in).

use crate::error::{Error, ErrorKind};

/// `REGDB_E_CLASSNOTREG`: the WinRT class is not registered (no WAM: Wine, Server Core, ...).
pub(crate) const REGDB_E_CLASSNOTREG: u32 = 0x8004_0154;

/// `HRESULT_FROM_WIN32(ERROR_CANCELLED)`: the operation was cancelled.
const E_CANCELLED: u32 = 0x8007_04C7;

/// `HRESULT_FROM_WIN32(ERROR_INVALID_WINDOW_HANDLE)`.
const E_INVALID_WINDOW_HANDLE: u32 = 0x8007_0578;

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WamStage {
    /// Activating `WebAuthenticationCoreManager` (and its interop interface).
    Activation,
    /// `FindAccountProviderAsync`: the AAD or MSA provider could not be found.
    ProviderLookup,
    /// A token request or account lookup after WAM was found.
    Call,
    /// The account picker of MSA passthrough (`AccountsSettingsPane`).
    AccountPicker,
}

/// A failed WinRT call: the step, the HRESULT (as its unsigned bit pattern) and the system's
/// message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WamCallError {
    pub(crate) stage: WamStage,
    pub(crate) hresult: u32,
    pub(crate) message: String,
    /// Set when running under Wine: its version, named in the message.
    pub(crate) wine_version: Option<String>,
}

impl WamCallError {
    /// The credential's error for this failure:
    /// - activation or provider lookup failed: [`ErrorKind::BrokerUnavailable`] with the
    ///   HRESULT (`0x80040154` is "not registered": this Windows has no WAM), so the credential
    ///   falls back to the browser where it may;
    /// - a cancelled operation: [`ErrorKind::UserCancelled`];
    /// - an invalid parent window: [`ErrorKind::InvalidInput`];
    /// - the account picker not registered (a Windows without it, such as Server Core):
    ///   [`ErrorKind::BrokerUnavailable`];
    /// - anything else: [`ErrorKind::AuthenticationFailed`] with the HRESULT and message.
    pub(crate) fn into_error(self) -> Error {
        let hr = format!("hresult 0x{:08X}", self.hresult);
        let what = match self.message.trim() {
            "" => hr,
            m => format!("{hr}: {m}"),
        };
        let wine = self
            .wine_version
            .as_deref()
            .map(|v| format!(" (running under wine {v}, which has no wam)"))
            .unwrap_or_default();
        match self.stage {
            WamStage::Activation => {
                let reason = if self.hresult == REGDB_E_CLASSNOTREG {
                    "the web account manager is not registered on this system"
                } else {
                    "the web account manager could not be activated"
                };
                Error::new(
                    ErrorKind::BrokerUnavailable,
                    format!("wam is unavailable: {reason} ({what}){wine}"),
                )
            }
            WamStage::ProviderLookup => Error::new(
                ErrorKind::BrokerUnavailable,
                format!("wam has no microsoft account provider here ({what}){wine}"),
            ),
            WamStage::AccountPicker if self.hresult == REGDB_E_CLASSNOTREG => Error::new(
                ErrorKind::BrokerUnavailable,
                format!("wam's account picker (AccountsSettingsPane) is not registered on this system ({what}){wine}"),
            ),
            WamStage::Call | WamStage::AccountPicker => match self.hresult {
                E_CANCELLED => Error::new(ErrorKind::UserCancelled, format!("the wam sign-in was cancelled ({what})")),
                E_INVALID_WINDOW_HANDLE => Error::new(
                    ErrorKind::InvalidInput,
                    format!("the parent window handle is not a valid window ({what}); pass the hwnd of a top-level window of this process"),
                ),
                _ if self.stage == WamStage::AccountPicker => Error::new(
                    ErrorKind::AuthenticationFailed,
                    format!("wam's account picker failed ({what}){wine}"),
                ),
                _ => Error::new(
                    ErrorKind::AuthenticationFailed,
                    format!("a wam call failed ({what}){wine}"),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(stage: WamStage, hresult: u32, message: &str) -> Error {
        WamCallError {
            stage,
            hresult,
            message: message.to_owned(),
            wine_version: None,
        }
        .into_error()
    }

    #[test]
    fn class_not_registered_is_broker_unavailable_with_the_hresult() {
        let e = call(
            WamStage::Activation,
            REGDB_E_CLASSNOTREG,
            "Class not registered",
        );
        assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
        assert!(e.message().contains("0x80040154"), "{e}");
        assert!(e.message().contains("not registered"), "{e}");

        let e = WamCallError {
            stage: WamStage::Activation,
            hresult: REGDB_E_CLASSNOTREG,
            message: String::new(),
            wine_version: Some("8.0".into()),
        }
        .into_error();
        assert!(
            e.message()
                .ends_with("(running under wine 8.0, which has no wam)"),
            "{e}"
        );
    }

    #[test]
    fn any_activation_or_provider_failure_is_broker_unavailable() {
        let e = call(WamStage::Activation, 0x8000_4005, "Unspecified error");
        assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
        assert!(e.message().contains("0x80004005: Unspecified error"), "{e}");
        let e = call(WamStage::ProviderLookup, 0, "");
        assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
        assert!(e.message().contains("0x00000000"), "{e}");
    }

    #[test]
    fn call_failures_keep_their_meaning() {
        assert_eq!(
            call(WamStage::Call, E_CANCELLED, "").kind(),
            ErrorKind::UserCancelled
        );
        assert_eq!(
            call(
                WamStage::Call,
                E_INVALID_WINDOW_HANDLE,
                "Invalid window handle."
            )
            .kind(),
            ErrorKind::InvalidInput
        );
        let e = call(WamStage::Call, 0x8007_0005, "Access is denied.");
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert!(e.message().contains("0x80070005: Access is denied."), "{e}");
    }

    #[test]
    fn account_picker_failures_name_the_picker() {
        let e = call(WamStage::AccountPicker, REGDB_E_CLASSNOTREG, "");
        assert_eq!(e.kind(), ErrorKind::BrokerUnavailable);
        assert!(e.message().contains("AccountsSettingsPane"), "{e}");
        assert_eq!(
            call(WamStage::AccountPicker, E_CANCELLED, "").kind(),
            ErrorKind::UserCancelled
        );
        let e = call(WamStage::AccountPicker, 0x8000_FFFF, "Catastrophic failure");
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert!(
            e.message().starts_with("wam's account picker failed"),
            "{e}"
        );
        assert!(e.message().contains("0x8000FFFF"), "{e}");
    }
}
