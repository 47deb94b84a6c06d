use crate::error::{Error, ErrorKind, Result};
use std::{fmt, process::Command, sync::Arc};
use url::Url;

/// The callback of [`AuthorizeUrlHandler::Callback`]: shows or hands over the authorize URL.
pub type AuthorizeUrlCallback = dyn Fn(&Url) -> Result<()> + Send + Sync;

/// How the browser flow's authorize URL reaches the user.
///
/// The library never prints it. By default it opens the system browser; an application that
/// knows better (a CLI on a headless machine that prints the URL, a GUI with its own window, a
/// test driving a headless browser) passes a callback. The URL carries the sign-in's `state`
/// and `nonce`: show it to the user only.
///
/// ```
/// use mr_auth_broker::{AuthorizeUrlHandler, InteractiveBrowserBrokerCredentialOptions};
///
/// let options = InteractiveBrowserBrokerCredentialOptions {
///     authorize_url_handler: AuthorizeUrlHandler::callback(|url| {
///         // A CLI prints it; this library never does.
///         let _ = url;
///         Ok(())
///     }),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub enum AuthorizeUrlHandler {
    /// Open the operating system's default browser: `xdg-open` on Linux and the BSDs, `open`
    /// on macOS, the URL protocol handler (`rundll32 url.dll,FileProtocolHandler`) on Windows.
    /// If it cannot be started, the sign-in fails with [`ErrorKind::Transport`] (nobody would
    /// ever see the URL).
    #[default]
    SystemBrowser,
    /// Call this with the URL. It must not block: show or hand over the URL and return. An
    /// error ends the sign-in with that error.
    Callback(Arc<AuthorizeUrlCallback>),
}

impl AuthorizeUrlHandler {
    /// A [`Callback`](Self::Callback) handler.
    pub fn callback(f: impl Fn(&Url) -> Result<()> + Send + Sync + 'static) -> Self {
        Self::Callback(Arc::new(f))
    }

    /// Hands `url` to the user as this handler does, and returns without waiting for a browser:
    /// what the credential does with each authorize URL. An application's own callback may call
    /// `AuthorizeUrlHandler::SystemBrowser.open(url)` after showing the URL itself.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Transport`] when the system browser cannot be started; a callback's own
    /// error.
    pub fn open(&self, url: &Url) -> Result<()> {
        match self {
            Self::SystemBrowser => open_system_browser(url),
            Self::Callback(callback) => callback(url),
        }
    }
}

impl fmt::Debug for AuthorizeUrlHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SystemBrowser => f.write_str("SystemBrowser"),
            Self::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// Starts the default browser on `url` and returns without waiting for it.
///
/// Hand-written rather than the `webbrowser` crate: three commands, started without waiting
/// for the browser, with its output discarded so nothing reaches the application's terminal,
/// and no extra dependency tree; `webbrowser` waits on some text-mode browsers and inherits
/// their output.
fn open_system_browser(url: &Url) -> Result<()> {
    let mut command = if cfg!(windows) {
        let mut c = Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else if cfg!(target_os = "macos") {
        Command::new("open")
    } else {
        Command::new("xdg-open")
    };
    command.arg(url.as_str());
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().map_err(|e| {
        Error::new(
            ErrorKind::Transport,
            "could not start the system browser; set authorize_url_handler to a callback that shows the sign-in url",
        )
        .with_source(e)
    })?;
    // Reap the opener when it exits so it does not linger as a zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_callback_gets_the_url_and_its_error_is_returned() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let handler = AuthorizeUrlHandler::callback(move |url| {
            s.lock().unwrap().push(url.to_string());
            Err(Error::new(ErrorKind::UserCancelled, "no"))
        });
        let url = Url::parse("https://login.example.com/authorize?state=s").unwrap();
        assert_eq!(
            handler.open(&url).unwrap_err().kind(),
            ErrorKind::UserCancelled
        );
        assert_eq!(*seen.lock().unwrap(), [url.to_string()]);
        assert_eq!(format!("{handler:?}"), "Callback(..)");
    }
}
