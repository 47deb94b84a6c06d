//! `mr-auth` with hostile or broken local files, each command a separate process: the sign-in
//! it keeps (`login` through the loopback mock authority, the browser played by the test), then
//! a lock another process holds, a named pipe at the cache's path, a planted lock file link,
//! directories of another user or writable by others, what a killed writer left, and caches or
//! settings that cannot be written, which `login` must find before the user signs in; and
//! `login`'s loopback receiver while hundreds of slow connections hold it (issue 21, case 9).
//!
//! The cache is the plaintext file (`--allow-unencrypted-storage`, no Secret Service on the
//! bus), except in the keyring test (gnome-keyring on a private D-Bus, skipped without it
//! unless `CI` is set).
#![cfg(target_os = "linux")]

mod cli_support;

use cli_support::{mr_auth, stderr};
use mr_auth_test_support::{
    bounded_by,
    mock_authority::{AuthorizeMode, MockAuthority, TENANT},
    planted_files::{exited_process_id, make_fifo},
    secret_service_session::SecretServiceSession,
};
use std::{
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    process::Output,
};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use uuid::Uuid;

const SCOPE: &str = "https://storage.azure.com/.default";
/// What `login` prints before it waits for the browser: never seen when `login` refuses first.
const SIGN_IN_PROMPT: &str = "open this address in a browser";

/// One user's machine: a home, a configuration directory, no Secret Service, the authority.
struct Machine {
    authority: MockAuthority,
    root: PathBuf,
    home: PathBuf,
    config: PathBuf,
    bus: String,
}

impl Machine {
    async fn new() -> Self {
        let root = std::env::temp_dir().join(format!("mr-auth-cli-files-{}", Uuid::new_v4()));
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        Self {
            authority: MockAuthority::start(AuthorizeMode::QueryRedirect).await,
            bus: format!("unix:path={}", root.join("no-bus").display()),
            config: root.join("config"),
            root,
            home,
        }
    }

    fn cache_dir(&self) -> PathBuf {
        self.home.join(".IdentityService")
    }

    fn cache_file(&self) -> PathBuf {
        self.cache_dir().join("msal.cache.nocae")
    }

    /// `mr-auth <args>` in this machine's environment, killed if the test gives up on it.
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = mr_auth(args, &self.home, &self.config, &self.bus, &self.authority);
        command.env("BROWSER", "true");
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.unwrap()
    }

    /// `mr-auth login` for [`SCOPE`], the test in the browser's place: it approves the address
    /// `login` prints at the mock authority and delivers the redirect to `login`'s loopback
    /// receiver.
    async fn login(&self) {
        self.login_among_slow_connections(0).await;
    }

    /// [`login`](Self::login), with `slow` connections to `login`'s loopback receiver opened
    /// before the redirect, each with half a request head sent (slowloris), until `login` ends.
    /// The redirect must get its page within 20 s of connecting.
    async fn login_among_slow_connections(&self, slow: usize) {
        let mut child = self
            .command(&[
                "login",
                "--aad",
                "browser",
                "--tenant",
                TENANT,
                "--scope",
                SCOPE,
                "--allow-unencrypted-storage",
            ])
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let host = self.authority.authority_host();
        let url = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("login prints the address");
            if line.starts_with(&host) {
                break url::Url::parse(&line).unwrap();
            }
        };
        let (redirect_uri, code, state) = self.authority.approve(&url).unwrap();
        let port = url::Url::parse(&redirect_uri).unwrap().port().unwrap();
        // Each sends the start of a request head and holds the rest back, kept open until
        // `login` has ended (the receiver may close some to make room).
        let mut held = Vec::with_capacity(slow);
        for _ in 0..slow {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let _ = s.write_all(b"GET /?state=").await;
            held.push(s);
        }
        bounded_by(
            std::time::Duration::from_secs(20),
            deliver_redirect(&redirect_uri, &code, &state),
        )
        .await;
        let out = child.wait_with_output().await.unwrap();
        drop(held);
        assert_eq!(out.status.code(), Some(0), "login failed");
        assert_eq!(self.token_requests(), 1);
    }

    fn token_requests(&self) -> usize {
        self.authority.log(|l| l.token_requests.len())
    }

    /// `entra-token --output token` for [`SCOPE`].
    async fn entra_token(&self) -> Output {
        self.run(&["entra-token", "--scope", SCOPE, "--output", "token"])
            .await
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The browser's part: `GET <redirect_uri>?code=..&state=..` to the loopback receiver.
async fn deliver_redirect(redirect_uri: &str, code: &str, state: &str) {
    let mut target = url::Url::parse(redirect_uri).unwrap();
    target
        .query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", state);
    let port = target.port().unwrap();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "GET {}?{} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n",
        target.path(),
        target.query().unwrap()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Whether the tests run as root (as CI does): the owner of a directory this process makes.
fn is_root() -> bool {
    let probe = std::env::temp_dir().join(format!("mr-auth-uid-{}", Uuid::new_v4()));
    std::fs::create_dir(&probe).unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_dir(&probe).unwrap();
    uid == 0
}

/// Issue 21, case 7: another process holds the cache's lock (a lock file held with `flock`, as
/// a sign-in in progress would): `entra-token` still prints the valid cached token, at once and
/// without a request. It used to wait 60 s for the lock, then say "run `mr-auth login`".
#[tokio::test]
async fn a_held_lock_does_not_delay_a_cached_token() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        let lock_file = machine.cache_dir().join("msal.cache.nocae.lockfile");
        let held = std::fs::File::create(&lock_file).unwrap();
        held.lock().unwrap();
        let out = machine.entra_token().await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("access-token-"));
        assert_eq!(machine.token_requests(), 1, "the cached token, no request");
        drop(held);
    })
    .await;
}

/// Held already, kept: 20 `entra-token` processes at once, each for another scope, each
/// redeeming the stored refresh token and writing its access token into the cache under the
/// lock (reads take none): no write is lost, so every scope is then served from the cache
/// without a request.
#[tokio::test]
async fn twenty_concurrent_entra_tokens_lose_nothing() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        machine.authority.keep_refresh_tokens();
        let scopes: Vec<String> = (0..20)
            .map(|i| format!("https://resource-{i}.example.com/.default"))
            .collect();
        let children: Vec<_> = scopes
            .iter()
            .map(|scope| {
                machine
                    .command(&["entra-token", "--scope", scope, "--output", "token"])
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().await.unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
        assert_eq!(machine.token_requests(), 21, "one refresh per scope");
        for scope in &scopes {
            let out = machine
                .run(&["entra-token", "--scope", scope, "--output", "token"])
                .await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
        assert_eq!(
            machine.token_requests(),
            21,
            "a token was lost: it was asked for again"
        );
    })
    .await;
}

/// Issue 21, case 13: a named pipe at the cache's path made every command hang in `open`. Now
/// `entra-token` and `logout` fail at once naming it, and `login` refuses before the sign-in.
#[tokio::test]
async fn a_named_pipe_at_the_cache_path_fails_at_once() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        std::fs::remove_file(machine.cache_file()).unwrap();
        make_fifo(&machine.cache_file());
        for args in [
            &["entra-token", "--scope", SCOPE][..],
            &["logout"],
            &["login", "--tenant", TENANT, "--allow-unencrypted-storage"],
        ] {
            let out = machine.run(args).await;
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out)
                    .contains("msal.cache.nocae is a named pipe (FIFO), not a regular file"),
                "{args:?}: {}",
                stderr(&out)
            );
            assert!(!stderr(&out).contains(SIGN_IN_PROMPT), "{args:?}");
        }
        assert_eq!(machine.authority.log(|l| l.authorize_requests), 1);
    })
    .await;
}

/// Issue 21, case 5: a lock file planted as a link (to a victim file, or dangling) made a
/// write overwrite the victim with "<pid> <program>", or create the link's target. Now the
/// command fails naming the link, and neither happens.
#[tokio::test]
async fn a_planted_lock_file_link_is_refused_and_nothing_is_written_through_it() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        let lock_file = machine.cache_dir().join("msal.cache.nocae.lockfile");
        let victim = machine.root.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, &lock_file).unwrap();
        let out = machine.run(&["logout"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is a symbolic link"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

        std::fs::remove_file(&lock_file).unwrap();
        let target = machine.root.join("created-through-the-link");
        std::os::unix::fs::symlink(&target, &lock_file).unwrap();
        let out = machine.run(&["logout"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(!target.exists(), "the dangling link's target was created");
    })
    .await;
}

/// Issue 21, case 10: a writer killed between its temporary file and the rename left the whole
/// cache, refresh token included, in `.msal.cache.nocae.<pid>.<random>.tmp`, and nothing
/// removed it, not even `logout`. Now `logout` does (and every later write), even when the
/// killed write was the first, so the cache itself holds nothing of the account.
#[tokio::test]
async fn logout_removes_what_a_killed_writer_left() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        let cache = std::fs::read(machine.cache_file()).unwrap();
        std::fs::write(machine.cache_file(), "{}").unwrap();
        // What a killed writer leaves: its whole document, named after a process that is gone.
        let pid = exited_process_id();
        let left = machine.cache_dir().join(format!(
            ".msal.cache.nocae.{pid}.{}.tmp",
            Uuid::new_v4().simple()
        ));
        std::fs::write(&left, &cache).unwrap();
        let others = machine.cache_dir().join("notes.tmp");
        std::fs::write(&others, "not mr-auth's").unwrap();
        let out = machine.run(&["logout"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            !left.exists(),
            "the killed writer's refresh token is still on disk"
        );
        assert!(others.exists(), "a file that is not mr-auth's was removed");
    })
    .await;
}

/// Issue 21, case 6: a configuration or cache directory of another user was used as it is.
/// Now it is refused, naming the directory, its owner and its mode; one of this user that
/// others can write to is repaired. As root (CI) the directories are given to `nobody`; as any
/// other user, the configuration directory is `/`, which is root's.
#[tokio::test]
async fn directories_of_another_user_are_refused_and_ours_repaired() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        // Ours, writable by others: repaired, and the cached token served.
        for dir in [&machine.config, &machine.cache_dir()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let out = machine.entra_token().await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(mode(&machine.config), 0o755);
        assert_eq!(mode(&machine.cache_dir()), 0o755);

        let foreign: Vec<(PathBuf, &str)> = if is_root() {
            for dir in [&machine.config, &machine.cache_dir()] {
                std::os::unix::fs::chown(dir, Some(65534), Some(65534)).unwrap();
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            }
            vec![
                (machine.config.clone(), "65534"),
                (machine.cache_dir(), "65534"),
            ]
        } else {
            vec![(PathBuf::from("/"), "0")]
        };
        for (dir, owner) in foreign {
            let mut command = machine.command(&["entra-token", "--scope", SCOPE]);
            if dir == Path::new("/") {
                command.env("MR_AUTH_CONFIG_DIR", "/");
            } else if dir == machine.cache_dir() {
                // The configuration directory is usable again; the cache's is not.
                std::os::unix::fs::chown(&machine.config, Some(0), Some(0)).unwrap();
            }
            let before = mode(&dir);
            let out = command.output().await.unwrap();
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            let text = stderr(&out);
            assert!(text.contains(&dir.display().to_string()), "{text}");
            assert!(text.contains(&format!("belongs to uid {owner}")), "{text}");
            assert!(text.contains(&format!("mode {before:04o}")), "{text}");
            assert_eq!(mode(&dir), before, "another user's directory was changed");
        }
        assert_eq!(machine.token_requests(), 1, "nothing was sent");
    })
    .await;
}

/// Held already, kept: what `login` saved, tampered with or replaced (not JSON, another
/// version, too large, a named pipe), is refused before any request, with what to do.
#[tokio::test]
async fn hostile_saved_sign_in_files_are_refused_before_any_request() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        machine.login().await;
        let record = machine.config.join("authentication_record.json");
        let settings = machine.config.join("login_settings.json");
        let saved = std::fs::read_to_string(&settings).unwrap();
        let cases: [(&Path, &str, i32, &str); 3] = [
            (&record, "{not json", 6, "run `mr-auth login` again"),
            (
                &settings,
                &saved.replace("\"version\":1", "\"version\":9"),
                6,
                "run `mr-auth login` again",
            ),
            (
                &record,
                &"x".repeat(70 * 1024),
                1,
                "larger than 65536 bytes",
            ),
        ];
        for (file, content, code, expected) in cases {
            let before = std::fs::read(file).unwrap();
            std::fs::write(file, content).unwrap();
            let out = machine.entra_token().await;
            assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
            assert!(
                stderr(&out).contains(expected),
                "{expected}: {}",
                stderr(&out)
            );
            std::fs::write(file, before).unwrap();
        }
        std::fs::remove_file(&record).unwrap();
        make_fifo(&record);
        let out = machine.entra_token().await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is a named pipe (FIFO)"),
            "{}",
            stderr(&out)
        );
        assert_eq!(machine.token_requests(), 1, "nothing was sent");
    })
    .await;
}

/// Issue 21, case 8: a configuration directory or cache that cannot be written was found only
/// after the user signed in. Now `login` checks both first: it fails before printing the
/// sign-in address, and the authority sees no request.
#[tokio::test]
async fn login_finds_an_unusable_config_or_cache_before_the_sign_in() {
    mr_auth_test_support::bounded(async {
        let machine = Machine::new().await;
        let login = ["login", "--tenant", TENANT, "--allow-unencrypted-storage"];
        // The configuration directory would be inside a file: it cannot be created.
        let file = machine.root.join("a-file");
        std::fs::write(&file, "").unwrap();
        let mut command = machine.command(&login);
        command.env("MR_AUTH_CONFIG_DIR", file.join("mr-auth"));
        let out = command.output().await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("a-file/mr-auth"), "{}", stderr(&out));
        assert!(!stderr(&out).contains(SIGN_IN_PROMPT), "{}", stderr(&out));

        // A cache that is not MSAL's document: it would never be overwritten, so the tokens of
        // the sign-in could not be kept.
        std::fs::create_dir_all(machine.cache_dir()).unwrap();
        std::fs::write(machine.cache_file(), "{not json").unwrap();
        let out = machine.run(&login).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("msal.cache.nocae"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(SIGN_IN_PROMPT), "{}", stderr(&out));

        // The cache's directory would be inside a file.
        std::fs::remove_dir_all(machine.cache_dir()).unwrap();
        std::fs::write(machine.cache_dir(), "").unwrap();
        let out = machine.run(&login).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(".IdentityService"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(SIGN_IN_PROMPT), "{}", stderr(&out));
        assert_eq!(machine.authority.log(|l| l.authorize_requests), 0);
    })
    .await;
}

/// Issue 21, case 17: gnome-keyring unlocked with an empty password has no default collection,
/// only the in-memory `session` one; `login` stored the tokens there without a word, and they
/// vanished with the keyring. Now `login` refuses before the sign-in and says how to fix it.
#[tokio::test]
async fn login_refuses_a_keyring_without_a_default_collection() {
    mr_auth_test_support::bounded(async {
        let keyring = match SecretServiceSession::start_without_default_collection_or_skip(
            "cli login without a default keyring",
        )
        .await
        {
            Ok(keyring) => keyring,
            Err(missing) => {
                eprintln!("{missing}");
                return;
            }
        };
        let mut machine = Machine::new().await;
        machine.bus = keyring.bus_address().to_owned();
        let out = machine.run(&["login", "--tenant", TENANT]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stderr(&out);
        for part in [
            "no default keyring",
            "unlock or create the default keyring",
            "pass --allow-unencrypted-storage",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert!(!text.contains(SIGN_IN_PROMPT), "{text}");
        assert_eq!(machine.authority.log(|l| l.authorize_requests), 0);
        assert_eq!(
            keyring
                .count_items(&[("xdg:schema", "msal.cache.nocae")])
                .await,
            0
        );
    })
    .await;
}

/// Issue 21, case 9: 300 slowloris connections to `login`'s loopback receiver (each sends the
/// start of a request head and holds the rest back) are open when the browser's redirect comes;
/// the redirect still gets its page within 20 s and `login` signs in. Before the fix the
/// receiver's 16 slots and the kernel's queue kept the redirect out until the attack ended.
#[tokio::test]
async fn login_signs_in_while_hundreds_of_slow_connections_hold_the_receiver() {
    let m = Machine::new().await;
    bounded_by(
        std::time::Duration::from_secs(90),
        m.login_among_slow_connections(300),
    )
    .await;
    let out = m.entra_token().await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
