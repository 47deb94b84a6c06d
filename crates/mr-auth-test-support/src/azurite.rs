//! Azurite, Microsoft's Azure Storage emulator, as a real storage server for tests: installed
//! with npm on first use, started on a free loopback port over HTTPS (a certificate from a CA
//! made for the run) with bearer-token checks on (`--oauth basic`), stopped on drop.
//!
//! `--oauth basic` checks a bearer token's issuer (`https://sts.windows.net/...`), audience
//! (`https://storage.azure.com` or the account URL) and lifetime, not its signature; see
//! [`MockAuthority::issue_v1_access_tokens`](crate::mock_authority::MockAuthority::issue_v1_access_tokens)
//! for tokens it accepts.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
};
use url::Url;

/// The Azurite release the tests run against (the one `spec/azurite.md` was verified with).
pub const AZURITE_VERSION: &str = "3.37.0";
/// The path of an installed `azurite-blob`, to use it instead of installing one.
pub const AZURITE_ENV: &str = "MR_AUTH_AZURITE";
/// Set to `1` to skip the Azurite tests (they print why).
pub const SKIP_ENV: &str = "MR_AUTH_SKIP_AZURITE_TESTS";
/// Azurite's one storage account.
pub const ACCOUNT: &str = "devstoreaccount1";

/// How long `npm install` may take, and how long Azurite may take to start listening.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One `npm install` at a time in this process: tests that start Azurite in parallel share it.
static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `Some(reason)` when the Azurite tests are to be skipped: asked for by the environment, or
/// on Windows (the test runs there under Wine, without node).
pub fn azurite_skip_reason() -> Option<String> {
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        return Some(format!("{SKIP_ENV}=1 is set"));
    }
    if cfg!(windows) {
        return Some("the Azurite tests run Debian's node and run on Linux only".into());
    }
    None
}

/// `<dir>/node_modules/.bin/azurite-blob`, where [`install`] puts it.
pub fn installed_binary(dir: &Path) -> PathBuf {
    dir.join("node_modules").join(".bin").join("azurite-blob")
}

/// Installs Azurite [`AZURITE_VERSION`] with npm into `dir` unless it is there already, and
/// returns the path of `azurite-blob`. `cargo xtask ci` runs this ahead of the tests.
pub async fn install(dir: &Path) -> Result<PathBuf, String> {
    let binary = installed_binary(dir);
    let _one = INSTALL.lock().await;
    if binary.is_file() {
        return Ok(binary);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--no-save",
        "--prefix",
    ])
    .arg(dir)
    .arg(format!("azurite@{AZURITE_VERSION}"))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let output = npm.spawn().map_err(|e| {
        format!(
            "cannot run npm ({e}): install node and npm (apt-get install -y nodejs npm), or set \
             {AZURITE_ENV} to an azurite-blob, or {SKIP_ENV}=1 to skip"
        )
    })?;
    let output = tokio::time::timeout(INSTALL_TIMEOUT, output.wait_with_output())
        .await
        .map_err(|_| {
            format!("npm install azurite@{AZURITE_VERSION} took over {INSTALL_TIMEOUT:?}")
        })?
        .map_err(|e| format!("npm install failed: {e}"))?;
    if !output.status.success() || !binary.is_file() {
        return Err(format!(
            "npm install azurite@{AZURITE_VERSION} into {} failed ({}): {}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(binary)
}

/// A running Azurite blob service. Killed, and its data and certificate removed, on drop.
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    dir: PathBuf,
    port: u16,
    ca_pem: String,
}

impl Azurite {
    /// Starts the blob service with `--oauth basic` over HTTPS. Azurite comes from
    /// [`AZURITE_ENV`] when set, else from `install_dir` (installed there on first use).
    pub async fn start(install_dir: &Path) -> Result<Self, String> {
        let binary = match std::env::var_os(AZURITE_ENV) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => install(install_dir).await?,
        };
        let dir = std::env::temp_dir().join(format!("mr-auth-azurite-{}", uuid::Uuid::new_v4()));
        let (cert_pem, key_pem, ca_pem) = certificate()?;
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        let write = |path: &Path, contents: &str| {
            std::fs::write(path, contents)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        std::fs::create_dir_all(dir.join("data"))
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        write(&cert, &cert_pem)?;
        write(&key, &key_pem)?;
        let mut command = Command::new(&binary);
        command
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--oauth",
                "basic",
            ])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--location")
            .arg(dir.join("data"))
            // No access log, and no telemetry: nothing may leave the machine.
            .args(["--silent", "--disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        if let Some(stdout) = stdout {
            tokio::spawn(drain(stdout, Arc::clone(&output), Some(port_tx)));
        }
        if let Some(stderr) = stderr {
            tokio::spawn(drain(stderr, Arc::clone(&output), None));
        }
        let started = tokio::time::timeout(START_TIMEOUT, port_rx).await;
        let log = || output.lock().map(|o| o.clone()).unwrap_or_default();
        let port = match started {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => return Err(format!("azurite exited before listening: {}", log())),
            Err(_) => {
                return Err(format!(
                    "azurite did not listen within {START_TIMEOUT:?}: {}",
                    log()
                ))
            }
        };
        Ok(Self {
            child,
            dir,
            port,
            ca_pem,
        })
    }

    /// The blob service URL, `https://127.0.0.1:<port>/devstoreaccount1` (no trailing slash:
    /// the blob clients append path segments, and a trailing one would leave an empty segment).
    pub fn blob_service_url(&self) -> Url {
        Url::parse(&format!("https://127.0.0.1:{}/{ACCOUNT}", self.port))
            .unwrap_or_else(|e| unreachable!("a fixed URL parses: {e}"))
    }

    /// The PEM of the CA that issued Azurite's certificate, for the client's trusted roots.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies a pipe of Azurite's into `output` and, for stdout, sends the port of its
/// "successfully listens on https://127.0.0.1:<port>" line.
async fn drain(
    pipe: impl AsyncRead + Unpin,
    output: Arc<Mutex<String>>,
    mut port_tx: Option<tokio::sync::oneshot::Sender<u16>>,
) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(port) = line
            .split_once("listens on https://127.0.0.1:")
            .and_then(|(_, port)| port.trim().trim_end_matches('/').parse().ok())
        {
            if let Some(tx) = port_tx.take() {
                let _ = tx.send(port);
            }
        }
        if let Ok(mut output) = output.lock() {
            output.push_str(&line);
            output.push('\n');
        }
    }
}

/// A CA made for this run and a certificate it issued for `127.0.0.1`: (certificate PEM,
/// private key PEM, CA PEM).
fn certificate() -> Result<(String, String, String), String> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let e = |e: rcgen::Error| format!("cannot make the test certificate: {e}");
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_pem = ca.self_signed(&ca_key).map_err(e)?.pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(e)?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .map_err(e)?
        .signed_by(&key, &issuer)
        .map_err(e)?;
    Ok((cert.pem(), key.serialize_pem(), ca_pem))
}
