//! Browser launchers for tests: one that records and does nothing, one that plays the browser
//! against the mock authority without HTTP to the authorize page, and a real headless Chromium.

use crate::mock_authority::MockAuthority;
use mr_auth_broker::{AuthorizeUrlHandler, Result};
use std::{
    io::{Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};
use url::Url;

/// Something that can be handed the authorize URL: the credential takes it as an
/// `AuthorizeUrlHandler::Callback` (see [`handler`]).
pub trait BrowserLauncher: Send + Sync + 'static {
    /// Opens (or follows) `url`.
    fn open(&self, url: &Url) -> Result<()>;
}

/// The credential option that hands each authorize URL to `browser`.
pub fn handler<B: BrowserLauncher>(browser: Arc<B>) -> AuthorizeUrlHandler {
    AuthorizeUrlHandler::callback(move |url| browser.open(url))
}

/// Records the URLs it was asked to open; opens nothing.
#[derive(Debug, Default)]
pub struct NoBrowser {
    /// The URLs, in order.
    pub opened: Mutex<Vec<Url>>,
}

impl NoBrowser {
    /// How many URLs it was asked to open.
    pub fn count(&self) -> usize {
        self.opened.lock().unwrap().len()
    }
}

impl BrowserLauncher for NoBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        self.opened.lock().unwrap().push(url.clone());
        Ok(())
    }
}

/// Approves the sign-in at the mock authority and posts the response to the receiver, as a
/// browser would after the authorize page.
pub struct ScriptedBrowser {
    /// The authority it approves sign-ins at.
    pub authority: Arc<MockAuthority>,
    /// How many sign-ins it was asked to open.
    pub opened: Mutex<usize>,
}

impl std::fmt::Debug for ScriptedBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptedBrowser")
    }
}

impl ScriptedBrowser {
    /// A browser approving at `authority`.
    pub fn new(authority: Arc<MockAuthority>) -> Self {
        Self {
            authority,
            opened: Mutex::new(0),
        }
    }
    /// How many sign-ins it was asked to open.
    pub fn count(&self) -> usize {
        *self.opened.lock().unwrap()
    }
}

impl BrowserLauncher for ScriptedBrowser {
    fn open(&self, url: &Url) -> Result<()> {
        *self.opened.lock().unwrap() += 1;
        let (redirect, code, state) = self
            .authority
            .approve(url)
            .expect("authorize request is valid");
        let to = Url::parse(&redirect).unwrap();
        let port = to.port().unwrap();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &state)
            .finish();
        let request = format!("POST {} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", to.path(), body.len());
        // In the caller's runtime when there is one (the credential's), so that under a paused
        // tokio clock the post is part of what the runtime waits for; else on a thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .unwrap();
                    s.write_all(request.as_bytes()).await.unwrap();
                    let mut out = Vec::new();
                    let _ = s.read_to_end(&mut out).await;
                });
            }
            Err(_) => {
                std::thread::spawn(move || {
                    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    s.write_all(request.as_bytes()).unwrap();
                    let mut out = String::new();
                    let _ = s.read_to_string(&mut out);
                });
            }
        }
        Ok(())
    }
}

/// Where Debian's `chromium` package puts the browser (`MR_AUTH_CHROMIUM` overrides it).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Set to `1` to skip the real-browser tests (they print why).
pub const SKIP_ENV: &str = "MR_AUTH_SKIP_BROWSER_TESTS";

/// `Some(reason)` when the browser tests are to be skipped (asked for by the environment);
/// panics when Chromium is missing and skipping was not asked for.
pub fn chromium_skip_reason() -> Option<String> {
    let path = std::env::var("MR_AUTH_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        return Some(format!("{SKIP_ENV}=1 is set"));
    }
    if cfg!(windows) {
        // Under Wine (CI) there is no Windows browser; the flow itself is platform-neutral
        // and covered by these tests on Linux.
        return Some("the real-browser tests drive Debian's chromium and run on Linux only".into());
    }
    assert!(
        std::path::Path::new(&path).exists(),
        "these tests need a real Chromium at {path} (apt-get install -y chromium, or set MR_AUTH_CHROMIUM); set {SKIP_ENV}=1 to skip them"
    );
    None
}

/// A real headless Chromium, started in its own process group so the whole browser (zygote,
/// renderers) is killed at the end of the test.
#[derive(Debug, Default)]
pub struct Chromium {
    children: Mutex<Vec<(Child, PathBuf)>>,
}

impl BrowserLauncher for Chromium {
    fn open(&self, url: &Url) -> Result<()> {
        let path = std::env::var("MR_AUTH_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
        let profile =
            std::env::temp_dir().join(format!("mr-auth-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).unwrap();
        let mut command = Command::new(path);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("chromium starts");
        self.children.lock().unwrap().push((child, profile));
        Ok(())
    }
}

impl Chromium {
    /// How many browsers it started.
    pub fn launched(&self) -> usize {
        self.children.lock().unwrap().len()
    }

    /// Kills every browser this launcher started (the whole process group) and removes its
    /// profile directory.
    pub fn shutdown(&self) {
        for (mut child, profile) in self.children.lock().unwrap().drain(..) {
            #[cfg(unix)]
            {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(profile);
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.shutdown();
    }
}
