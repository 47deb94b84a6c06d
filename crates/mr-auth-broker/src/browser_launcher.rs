use crate::{Error, ErrorKind, Result};
use std::{fmt, process::Command};
use url::Url;

/// Opens the authorization URL in a browser for the interactive browser flow.
///
/// The default, [`SystemBrowser`], opens the user's default browser. Tests (or applications
/// that want their own window) inject another one through
/// [`InteractiveBrowserBrokerCredentialOptions::browser`](crate::InteractiveBrowserBrokerCredentialOptions::browser).
/// A launcher must not block: start the browser and return.
pub trait BrowserLauncher: Send + Sync + fmt::Debug {
    /// Opens `url`. An error is not fatal: the credential has already printed the URL to
    /// stderr, and keeps waiting for a browser to come back until the timeout.
    fn open(&self, url: &Url) -> Result<()>;
}

/// The operating system's default browser: `xdg-open` on Linux and BSDs, `open` on macOS,
/// the URL protocol handler (`rundll32 url.dll,FileProtocolHandler`) on Windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBrowser;

impl BrowserLauncher for SystemBrowser {
    fn open(&self, url: &Url) -> Result<()> {
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
                "could not start the system browser; open the printed url yourself",
            )
            .with_source(e)
        })?;
        // Reap the opener when it exits so it does not linger as a zombie.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(())
    }
}
