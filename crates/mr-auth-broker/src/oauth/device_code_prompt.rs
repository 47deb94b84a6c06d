//! What the user must be shown to sign in with a device code, and the application's callback
//! that shows it: the library never prints.

use crate::error::Result;
use std::{fmt, sync::Arc};
use time::OffsetDateTime;
use url::Url;

/// What the device code flow asks the user to do, for the application to show: open
/// `verification_uri` on any device, enter `user_code`, before `expires_on`.
///
/// Every text here came from the authority; control characters (terminal escapes, line
/// breaks) are removed before the application sees it, so it can be printed as it is. `Debug`
/// hides the code and the message (they let whoever reads them finish this sign-in with
/// their own account).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCodePrompt {
    /// Where to enter the code (`https://microsoft.com/devicelogin` for Entra ID).
    pub verification_uri: Url,
    /// The code to enter there.
    pub user_code: String,
    /// When the code stops working.
    pub expires_on: OffsetDateTime,
    /// The authority's own sentence with the address and the code, localised (Entra ID's
    /// `message`); composed from the address and code when the authority sent none.
    pub message: String,
}

impl fmt::Debug for DeviceCodePrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCodePrompt")
            .field("verification_uri", &self.verification_uri.as_str())
            .field("user_code", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

/// The function a [`DeviceCodePromptCallback`] calls.
pub type DeviceCodePromptFn = dyn Fn(&DeviceCodePrompt) -> Result<()> + Send + Sync;

/// Shows a [`DeviceCodePrompt`] to the user: what Python's azure-identity calls
/// `prompt_callback`.
///
/// It is called once per device code sign-in, before polling starts, and must not block:
/// show the prompt (print it, put it in a window, send it to the user's phone) and return. An
/// error it returns ends the sign-in with that error. azure-identity prints the message to
/// standard output when no callback is given; a library here never prints, so a device code
/// sign-in always has one.
///
/// ```
/// use mr_auth_broker::DeviceCodePromptCallback;
///
/// let prompt = DeviceCodePromptCallback::new(|prompt| {
///     // A command-line tool prints it; a GUI shows it in its window.
///     eprintln!("{}", prompt.message);
///     Ok(())
/// });
/// # let _ = prompt;
/// ```
#[derive(Clone)]
pub struct DeviceCodePromptCallback(Arc<DeviceCodePromptFn>);

impl DeviceCodePromptCallback {
    /// A callback calling `f`.
    pub fn new(f: impl Fn(&DeviceCodePrompt) -> Result<()> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Shows `prompt` as the application asked.
    ///
    /// # Errors
    ///
    /// The callback's own error.
    pub fn show(&self, prompt: &DeviceCodePrompt) -> Result<()> {
        (self.0)(prompt)
    }
}

impl fmt::Debug for DeviceCodePromptCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCodePromptCallback(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};
    use std::sync::Mutex;

    #[test]
    fn the_callback_sees_the_prompt_and_debug_hides_the_code() {
        let prompt = DeviceCodePrompt {
            verification_uri: Url::parse("https://microsoft.com/devicelogin").unwrap(),
            user_code: "ABCD-EFGH".into(),
            expires_on: OffsetDateTime::UNIX_EPOCH,
            message: "enter ABCD-EFGH".into(),
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let callback = DeviceCodePromptCallback::new(move |p| {
            s.lock().unwrap().push(p.user_code.clone());
            Err(Error::new(ErrorKind::UserCancelled, "not now"))
        });
        assert_eq!(
            callback.show(&prompt).unwrap_err().kind(),
            ErrorKind::UserCancelled
        );
        assert_eq!(*seen.lock().unwrap(), ["ABCD-EFGH"]);
        let debug = format!("{prompt:?} {callback:?}");
        assert!(!debug.contains("ABCD"), "{debug}");
        assert!(debug.contains("microsoft.com/devicelogin"), "{debug}");
    }
}
