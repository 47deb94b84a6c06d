//! `mr-auth login`, `entra-token`, `token --aad browser` and `logout` as a user runs them, each
//! a separate process: the sign-in through the browser flow against the loopback mock
//! authority with a real headless Chromium opening the address `login` prints, then silent
//! tokens from the persistent cache in later processes (the authority's counters prove it),
//! in the Secret Service (gnome-keyring on a private D-Bus) and in a plaintext file.
//!
//! Needs `/usr/bin/chromium` (or `MR_AUTH_CHROMIUM`; `MR_AUTH_SKIP_BROWSER_TESTS=1` skips),
//! and for the keyring test `dbus-daemon` and `gnome-keyring-daemon` (skipped without them
//! unless `CI` is set).
#![cfg(target_os = "linux")]

mod cli_support;

use cli_support::{aad_sts, mr_auth, stderr, stdout};
use mr_auth_msal_cache::{
    AccessTokenSecret, CacheWrite, EnvironmentMap, PersistentTokenCache, RefreshTokenSecret,
    TokenCachePersistenceOptions,
};
use mr_auth_test_support::{
    chromium::{chromium_skip_reason, BrowserLauncher as _, Chromium},
    fault_server::{Act, FaultServer},
    mock_authority::{AuthorizeMode, MockAuthority, CLIENT_ID, TENANT},
    secret_service_session::SecretServiceSession,
};
use std::{
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use uuid::Uuid;

const LOGIN_SCOPE: &str = "https://management.azure.com/.default";
const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
/// Another app's client id, whose entries logout must leave alone.
const OTHER_CLIENT: &str = "99999999-8888-7777-6666-555555555555";
/// `client_info` of the mock authority's account (`{"uid":"u","utid":"t"}`).
const CLIENT_INFO: &str = "eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ";
/// The header of every id token the mock authority issues (`{"alg":"none"}`): an id token in
/// the output would show it.
const ID_TOKEN_HEADER: &str = "eyJhbGciOiJub25lIn0";

/// One Chromium at a time: the machine is small.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A user's machine: a config dir and home of its own, a session bus, the mock authority.
struct Machine {
    authority: MockAuthority,
    chromium: Chromium,
    root: PathBuf,
    home: PathBuf,
    bus: String,
    /// Every stderr of every command, to look for secrets in at the end.
    stderr: std::sync::Mutex<String>,
}

impl Machine {
    async fn new(home: PathBuf, bus: String) -> Self {
        let root = std::env::temp_dir().join(format!("mr-auth-cli-signin-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(root.join("config")).unwrap();
        Self {
            authority: MockAuthority::start(AuthorizeMode::AutoPost).await,
            chromium: Chromium::default(),
            root,
            home,
            bus,
            stderr: std::sync::Mutex::new(String::new()),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// `mr-auth <args> -vv` in this machine's environment, killed if the test gives up on it.
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let config = self.config_dir();
        let mut command = mr_auth(args, &self.home, &config, &self.bus, &self.authority);
        command
            .arg("-vv")
            // The address is handed to Chromium by the test, from stderr, as a user on a
            // headless machine would open it; the "browser" of the CLI does nothing.
            .env("BROWSER", "true")
            .env("TZ", "UTC");
        command
    }

    fn keep_stderr(&self, out: &Output) -> String {
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        self.stderr.lock().unwrap().push_str(&text);
        text
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, |_| {}).await
    }

    async fn run_with(
        &self,
        args: &[&str],
        configure: impl FnOnce(&mut tokio::process::Command),
    ) -> Output {
        let mut command = self.command(args);
        configure(&mut command);
        let out = command.output().await.unwrap();
        self.keep_stderr(&out);
        out
    }

    /// `mr-auth login ...`: Chromium opens the address it prints on stderr.
    async fn login(&self, args: &[&str]) -> Output {
        let mut child = self.command(args).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let host = self.authority.authority_host();
        let (url_tx, url_rx) = tokio::sync::oneshot::channel();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut all = String::new();
            let mut url_tx = Some(url_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with(&host) {
                    if let Some(tx) = url_tx.take() {
                        let _ = tx.send(line.clone());
                    }
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        if let Ok(url) = url_rx.await {
            self.chromium.open(&url.parse().unwrap()).unwrap();
        }
        let mut out = child.wait_with_output().await.unwrap();
        out.stderr = reader.await.unwrap().into_bytes();
        self.chromium.shutdown();
        self.keep_stderr(&out);
        out
    }

    /// (authorize requests, token requests by grant type) so far.
    fn counters(&self) -> (usize, Vec<String>) {
        self.authority.log(|l| {
            (
                l.authorize_requests,
                l.token_requests.iter().map(|(g, _)| g.clone()).collect(),
            )
        })
    }

    /// The cache the CLI uses, opened as the CLI opens it.
    async fn cache(&self, allow_unencrypted_storage: bool) -> PersistentTokenCache {
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage,
            ..Default::default()
        };
        let env = EnvironmentMap::new()
            .with("HOME", self.home.to_str().unwrap())
            .with("DBUS_SESSION_BUS_ADDRESS", self.bus.clone());
        PersistentTokenCache::open_with_environment(&options, false, &env)
            .await
            .unwrap()
    }

    /// Asserts that no secret the authority issued (code, verifier, access and refresh
    /// tokens) nor an id token appeared on any command's stderr, all run at trace level.
    fn assert_no_secret_in_stderr(&self) {
        let stderr = self.stderr.lock().unwrap();
        assert!(
            stderr.contains(" DEBUG ") || stderr.contains(" TRACE "),
            "the commands ran at trace level: {stderr}"
        );
        let secrets = self.authority.log(|l| l.issued_secrets.clone());
        assert!(secrets.len() >= 4, "{secrets:?}");
        for secret in secrets {
            assert!(!stderr.contains(&secret), "{secret} leaked on stderr");
        }
        assert!(
            !stderr.contains(ID_TOKEN_HEADER),
            "an id token leaked on stderr"
        );
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.chromium.shutdown();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// An access and refresh token of another app for the same account, as another MSAL app
/// would have written them.
fn other_apps_tokens() -> CacheWrite {
    CacheWrite {
        client_id: OTHER_CLIENT.into(),
        environment: "127.0.0.1".into(),
        realm: "t".into(),
        scopes: vec![LOGIN_SCOPE.into()],
        access_token: Some(AccessTokenSecret::new("other-apps-access-token")),
        expires_in: 3600,
        refresh_token: Some(RefreshTokenSecret::new("other-apps-refresh-token")),
        client_info: Some(CLIENT_INFO.into()),
        ..Default::default()
    }
}

/// Login, silent entra-token in new processes, warm calls without network, logout keeping
/// the other app's entries, and entra-token failing with "run mr-auth login" afterwards.
async fn sign_in_once_use_everywhere(machine: &Machine, cache_flags: &[&str], plaintext: bool) {
    // Not signed in yet: exit 6 with what to do, no network.
    let out = machine
        .run(&["entra-token", "--scope", STORAGE_SCOPE])
        .await;
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run `mr-auth login`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(machine.counters(), (0, vec![]));

    let mut login = vec!["login", "--aad", "browser", "--tenant", TENANT];
    login.extend_from_slice(&["--scope", LOGIN_SCOPE]);
    login.extend_from_slice(cache_flags);
    let out = machine.login(&login).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        machine.counters(),
        (1, vec!["authorization_code".to_owned()])
    );
    // Who signed in, never a token.
    let record_path = machine.config_dir().join("authentication_record.json");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    assert_eq!(record["clientId"], CLIENT_ID);
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["homeAccountId"], "u.t");
    let signed_in = stdout(&out);
    assert!(signed_in.starts_with("Signed in as "), "{signed_in}");
    assert!(
        signed_in.contains(&format!(
            "(tenant {})",
            record["tenantId"].as_str().unwrap()
        )),
        "{signed_in}"
    );
    assert_eq!(signed_in.lines().count(), 1, "{signed_in}");
    assert_eq!(mode(&record_path), 0o600);
    let plaintext_file = machine
        .home
        .join(".IdentityService")
        .join("msal.cache.nocae");
    if plaintext {
        assert!(
            stderr(&out).contains("stored unencrypted"),
            "{}",
            stderr(&out)
        );
        assert_eq!(mode(&plaintext_file), 0o600);
    }

    // A new process, a new scope: silently through the stored refresh token, no browser.
    let out = machine
        .run(&["entra-token", "--scope", STORAGE_SCOPE])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        machine.counters(),
        (
            1,
            vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
        )
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = json["accessToken"].as_str().unwrap().to_owned();
    assert!(token.starts_with("access-token-"), "{json}");
    assert_eq!(json["tokenType"], "Bearer");
    assert_eq!(json["tenant"], record["tenantId"]);
    let expires_on = json["expires_on"].as_i64().unwrap();
    // TZ=UTC: expiresOn is expires_on as local time, the way az prints it.
    let expected = jiff::Timestamp::from_second(expires_on)
        .unwrap()
        .strftime("%Y-%m-%d %H:%M:%S.000000")
        .to_string();
    assert_eq!(json["expiresOn"], expected);

    // Warm: a third process with no network request at all; the authority host is the one
    // login saved, without AZURE_AUTHORITY_HOST.
    let out = machine
        .run_with(
            &["entra-token", "--scope", STORAGE_SCOPE, "--output", "token"],
            |c| {
                c.env_remove("AZURE_AUTHORITY_HOST");
            },
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{token}\n"));
    // The login's own token is cached too.
    let out = machine
        .run(&["entra-token", "--scope", LOGIN_SCOPE, "--output", "token"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(machine.counters().1.len(), 2, "no new token request");
    // An explicit tenant is the one asked for, and the one printed.
    let out = machine
        .run(&["entra-token", "--scope", STORAGE_SCOPE, "--tenant", TENANT])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tenant"], TENANT);
    let out = machine
        .run(&[
            "entra-token",
            "--scope",
            STORAGE_SCOPE,
            "--tenant",
            "not a tenant",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tenant"), "{}", stderr(&out));

    // Issue 21, case 11: the authority host pointed at the same host on another port (a new
    // scope, so only a refresh could answer). The sign-in's record names host and port, so the
    // credential refuses before any request: the refresh token never goes to that port.
    let elsewhere = FaultServer::start(vec![Act::Close]).await;
    assert!(
        elsewhere.url.starts_with("http://127.0.0.1:"),
        "{}",
        elsewhere.url
    );
    let requests = machine.counters();
    let out = machine
        .run_with(&["entra-token", "--scope", VAULT_SCOPE], |c| {
            c.env("AZURE_AUTHORITY_HOST", &elsewhere.url);
        })
        .await;
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("authority"), "{}", stderr(&out));
    assert!(
        elsewhere.arrivals().is_empty(),
        "a request went to the other port"
    );
    assert_eq!(machine.counters(), requests);

    // Another app's entries for the same account: logout leaves them.
    let cache = machine.cache(plaintext).await;
    cache
        .modify(|c| c.add(&other_apps_tokens()).map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    let out = machine.run(&["logout"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Signed out "), "{}", stdout(&out));
    assert!(!record_path.exists());
    let after = cache.load().await.unwrap();
    assert!(
        after.accounts(Some(CLIENT_ID)).is_empty(),
        "mr-auth's sign-in is gone"
    );
    assert_eq!(
        after.accounts(Some(OTHER_CLIENT)).len(),
        1,
        "the other app's stays"
    );
    assert!(after
        .refresh_token(OTHER_CLIENT, "u.t", "127.0.0.1")
        .is_some());
    if plaintext {
        let text = std::fs::read_to_string(&plaintext_file).unwrap();
        assert!(text.contains("other-apps-refresh-token"));
        assert!(
            !text.contains("refresh-token-"),
            "mr-auth's refresh tokens are gone"
        );
    }

    // Signed out: entra-token says to sign in, without a request.
    let requests = machine.counters();
    let out = machine
        .run(&["entra-token", "--scope", STORAGE_SCOPE])
        .await;
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run `mr-auth login`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(machine.counters(), requests);
    // Logging out again is harmless.
    let out = machine.run(&["logout"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    machine.assert_no_secret_in_stderr();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

macro_rules! skip_without_chromium {
    () => {
        if let Some(reason) = chromium_skip_reason() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

#[tokio::test]
async fn sign_in_once_with_the_secret_service() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    mr_auth_test_support::bounded_by(Duration::from_secs(240), async {
        let keyring =
            match SecretServiceSession::start_or_skip("cli sign-in with the keyring").await {
                Ok(keyring) => keyring,
                Err(missing) => {
                    eprintln!("{missing}");
                    return;
                }
            };
        let machine = Machine::new(keyring.home(), keyring.bus_address().to_owned()).await;
        sign_in_once_use_everywhere(&machine, &[], false).await;
        // Nothing was written in plaintext.
        let file = machine
            .home
            .join(".IdentityService")
            .join("msal.cache.nocae");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains("refresh-token-") && !text.contains("access-token-"));
    })
    .await;
}

#[tokio::test]
async fn sign_in_once_with_unencrypted_storage() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    mr_auth_test_support::bounded_by(Duration::from_secs(240), async {
        let root = std::env::temp_dir().join(format!("mr-auth-cli-home-{}", Uuid::new_v4()));
        // No Secret Service on this "bus": the cache must be a plaintext file, when allowed.
        let bus = format!("unix:path={}", root.join("no-bus").display());
        let machine = Machine::new(root.join("home"), bus).await;
        let out = machine
            .run(&["login", "--aad", "browser", "--tenant", TENANT])
            .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("pass --allow-unencrypted-storage"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            machine.counters(),
            (0, vec![]),
            "refused before any sign-in"
        );
        sign_in_once_use_everywhere(&machine, &["--allow-unencrypted-storage"], true).await;
        let _ = std::fs::remove_dir_all(root);
    })
    .await;
}

/// `mr-auth token --aad browser` after `login`: the Mixed Reality token comes silently from the
/// saved sign-in; `--no-persistent-cache` ignores it and starts an interactive sign-in.
#[tokio::test]
async fn token_aad_browser_uses_the_saved_sign_in() {
    skip_without_chromium!();
    let _one = BROWSER_LOCK.lock().await;
    mr_auth_test_support::bounded_by(Duration::from_secs(240), async {
        let root = std::env::temp_dir().join(format!("mr-auth-cli-home-{}", Uuid::new_v4()));
        let bus = format!("unix:path={}", root.join("no-bus").display());
        let machine = Machine::new(root.join("home"), bus).await;
        let out = machine
            // The browser is the default sign-in.
            .login(&["login", "--tenant", TENANT, "--allow-unencrypted-storage"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

        // The emulator takes any unexpired JWT as an Azure AD token.
        let (emulator, base) = aad_sts(&machine.authority, &machine.root).await;
        let token_args = |extra: &'static [&'static str]| {
            let mut args = base.clone();
            args.extend(
                ["--aad", "browser"]
                    .iter()
                    .chain(extra)
                    .map(|s| (*s).to_owned()),
            );
            args
        };
        let args = token_args(&[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = machine.run(&args).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            json["token"].as_str().is_some_and(|t| t.starts_with("eyJ")),
            "{json}"
        );
        assert_eq!(
            machine.counters(),
            (
                1,
                vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
            ),
            "silent: the refresh token, no second authorize"
        );
        assert_eq!(emulator.stats().tokens_issued, 1);

        // Opting out: the saved sign-in is not used, so the sign-in page is offered again.
        let args = token_args(&["--no-persistent-cache"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = machine.command(&args).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let host = machine.authority.authority_host();
        let mut offered = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with(&host) && line.contains("/oauth2/v2.0/authorize?") {
                offered = true;
                break;
            }
        }
        let _ = child.kill().await;
        assert!(offered, "--no-persistent-cache signs in interactively");
        assert_eq!(machine.counters().1.len(), 2, "and redeems nothing stored");
        machine.assert_no_secret_in_stderr();
        let _ = std::fs::remove_dir_all(root);
    })
    .await;
}
