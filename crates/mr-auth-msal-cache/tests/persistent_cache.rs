//! The persistent token cache over real storage: plaintext files shared by concurrent
//! processes, bad documents left untouched, and (Linux) a real Secret Service, gnome-keyring on
//! a private D-Bus session bus.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use mr_auth_msal_cache::{
    AccessTokenSecret, CacheWrite, EnvironmentMap, ErrorKind, MsalTokenCache, PersistentTokenCache,
    RefreshTokenSecret, TokenCachePersistenceOptions,
};
use std::{path::PathBuf, process::Command, time::Duration};
use time::OffsetDateTime;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const UID: &str = "00000000-0000-0000-0000-000000000001";
const CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Rounds each of the two writer processes makes.
const ROUNDS: usize = 100;
/// The environment variable that turns the `child_writer` test into one writer process.
const CHILD_ENV: &str = "MR_AUTH_CACHE_CHILD_WRITER";

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-auth-pcache-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A token response for `client_id`, as the browser flow's token endpoint returns it.
fn response(client_id: &str, refresh_token: &str) -> CacheWrite {
    let client_info = URL_SAFE_NO_PAD.encode(format!(r#"{{"uid":"{UID}","utid":"{TENANT}"}}"#));
    CacheWrite {
        client_id: client_id.to_owned(),
        environment: "login.microsoftonline.com".to_owned(),
        realm: TENANT.to_owned(),
        scopes: vec!["https://storage.azure.com/.default".to_owned()],
        access_token: Some(AccessTokenSecret::new(format!("at-for-{client_id}"))),
        expires_in: 3600,
        refresh_token: Some(RefreshTokenSecret::new(refresh_token)),
        client_info: Some(client_info),
        now: Some(OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()),
        ..Default::default()
    }
}

fn home_account_id() -> String {
    format!("{UID}.{TENANT}")
}

fn writer_client_id(writer: usize, round: usize) -> String {
    format!("{writer:08x}-0000-4000-8000-{round:012x}")
}

/// One writer process of `two_processes_writing_concurrently_lose_no_entry`: does nothing
/// unless started by that test with the cache path in [`CHILD_ENV`].
#[tokio::test]
async fn child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (writer, path) = spec.split_once(':').expect("writer:path");
    let writer: usize = writer.parse().unwrap();
    let cache = PersistentTokenCache::plaintext_file(path);
    for round in 0..ROUNDS {
        let client_id = writer_client_id(writer, round);
        tokio::time::timeout(
            TEST_TIMEOUT,
            cache.modify(|c| c.add(&response(&client_id, &format!("rt-{client_id}")))),
        )
        .await
        .expect("the write finished in time")
        .expect("the write succeeded")
        .expect("the response is valid");
    }
}

#[test]
fn two_processes_writing_concurrently_lose_no_entry() {
    let dir = temp_dir();
    let path = dir.join("msal.cache.nocae");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=2)
        .map(|writer| {
            Command::new(&exe)
                .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, format!("{writer}:{}", path.display()))
                .spawn()
                .expect("start a writer process")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }
    let bytes = std::fs::read(&path).unwrap();
    let cache = MsalTokenCache::from_slice(&bytes).expect("the file always parses");
    for writer in 1..=2 {
        for round in 0..ROUNDS {
            let client_id = writer_client_id(writer, round);
            let rt =
                cache.refresh_token(&client_id, &home_account_id(), "login.microsoftonline.com");
            assert_eq!(
                rt.as_ref().map(RefreshTokenSecret::secret),
                Some(format!("rt-{client_id}").as_str()),
                "writer {writer} round {round} was lost"
            );
        }
    }
    assert!(!dir.join("msal.cache.nocae.lockfile").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn bad_documents_are_reported_and_never_overwritten() {
    let dir = temp_dir();
    let path = dir.join("msal.cache.nocae");
    let cache =
        PersistentTokenCache::plaintext_file(&path).with_lock_timeout(Duration::from_secs(10));
    let good = {
        let mut c = MsalTokenCache::new();
        c.add(&response(CLIENT_ID, "rt-good")).unwrap();
        String::from_utf8(c.to_vec().to_vec()).unwrap()
    };
    let truncated = good[..good.len() / 2].to_owned();
    for bad in [
        "{not json",
        truncated.as_str(),
        "[1,2,3]",
        "\u{0}\u{1}binary",
    ] {
        std::fs::write(&path, bad).unwrap();
        let err = tokio::time::timeout(
            TEST_TIMEOUT,
            cache.modify(|c| c.remove_client_tokens("x", None)),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{bad:.20}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            bad,
            "the bad file was changed"
        );
        let err = tokio::time::timeout(TEST_TIMEOUT, cache.load())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDocument);
    }

    // Unknown fields, a foreign section and one bad entry: the good entry is still found, and
    // a write keeps everything.
    let mut doc: serde_json::Value = serde_json::from_str(&good).unwrap();
    doc["Version"] = serde_json::json!({"schema": 9});
    doc["RefreshToken"]["bad-entry"] = serde_json::json!("not an object");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let loaded = tokio::time::timeout(TEST_TIMEOUT, cache.load())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.skipped_entries(), 1);
    assert!(loaded
        .refresh_token(CLIENT_ID, &home_account_id(), "login.microsoftonline.com")
        .is_some());
    tokio::time::timeout(
        TEST_TIMEOUT,
        cache.modify(|c| c.add(&response("11111111-2222-3333-4444-555555555555", "rt-2"))),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(after["Version"]["schema"], 9);
    assert_eq!(after["RefreshToken"]["bad-entry"], "not an object");
    assert_eq!(after["RefreshToken"].as_object().unwrap().len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A document over `MAX_CACHE_BYTES` (16 MiB) is refused, not read whole, and left alone.
#[tokio::test]
async fn an_oversized_cache_is_refused_and_left_alone() {
    let dir = temp_dir();
    let path = dir.join("msal.cache.nocae");
    let big = vec![b' '; mr_auth_msal_cache::MAX_CACHE_BYTES + 1];
    std::fs::write(&path, &big).unwrap();
    let cache = PersistentTokenCache::plaintext_file(&path);
    let err = tokio::time::timeout(TEST_TIMEOUT, cache.load())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{err}");
    assert!(err.to_string().contains("left as it is"), "{err}");
    let err = tokio::time::timeout(
        TEST_TIMEOUT,
        cache.modify(|c| c.remove_client_tokens("x", None)),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDocument);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), big.len() as u64);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A symbolic link planted at the cache's path (to make the cache write elsewhere) is
/// replaced by the cache file, never written through.
#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_cache_is_replaced_not_followed() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir();
    let target = dir.join("elsewhere");
    std::fs::write(&target, "not the cache").unwrap();
    let path = dir.join("msal.cache.nocae");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let cache = PersistentTokenCache::plaintext_file(&path);
    // The link's target is read as the cache (not JSON): refused, nothing written.
    let err = tokio::time::timeout(
        TEST_TIMEOUT,
        cache.modify(|c| c.add(&response(CLIENT_ID, "rt-1"))),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidDocument);
    // A link to an empty file reads as an empty cache; the write replaces the link.
    std::fs::write(&target, "").unwrap();
    tokio::time::timeout(
        TEST_TIMEOUT,
        cache.modify(|c| c.add(&response(CLIENT_ID, "rt-1"))),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "",
        "written through the link"
    );
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file(), "the link is still there");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A cache with a valid access token, and the lock on it held by someone else (an open file
/// description holding `flock`, as another process would): reading never waits for the lock,
/// so the token is served at once. Time is paused: had the read waited for the lock, the
/// clock would have run to the 60 s lock timeout.
#[tokio::test(start_paused = true)]
async fn a_held_lock_never_delays_reading_the_cache() {
    mr_auth_test_support::bounded(async {
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        let cache = PersistentTokenCache::plaintext_file(&path);
        cache
            .modify(|c| c.add(&response(CLIENT_ID, "rt-1")))
            .await
            .unwrap()
            .unwrap();
        let held = std::fs::File::create(cache.lock_file()).unwrap();
        held.lock().unwrap();
        let start = tokio::time::Instant::now();
        let document = cache.load().await.unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the read waited {:?} for the lock",
            start.elapsed()
        );
        assert!(document
            .refresh_token(CLIENT_ID, &home_account_id(), "login.microsoftonline.com")
            .is_some());
        cache.check_access().await.unwrap();
        // A write does wait, and says which lock when it gives up.
        let err = cache
            .clone()
            .with_lock_timeout(Duration::from_secs(3))
            .modify(|c| c.remove_client_tokens(CLIENT_ID, None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(
            err.to_string().contains("msal.cache.nocae.lockfile"),
            "{err}"
        );
        drop(held);
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await;
}

/// A named pipe at the cache's path: every operation fails at once with a typed error naming
/// it, instead of an open that never returns.
#[cfg(unix)]
#[tokio::test]
async fn a_named_pipe_at_the_cache_path_fails_at_once() {
    mr_auth_test_support::bounded(async {
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        mr_auth_test_support::planted_files::make_fifo(&path);
        let cache = PersistentTokenCache::plaintext_file(&path);
        let load = cache.load().await.map(|_| ());
        let modify = cache.modify(|_| ()).await;
        let check = cache.check_access().await;
        for result in [load, modify, check] {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{err}");
            assert!(err.to_string().contains("is a named pipe (FIFO)"), "{err}");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await;
}

/// What a sign-in would find only after the user signed in, found by `check_access` first:
/// a corrupt document, and a cache directory that cannot be created.
#[tokio::test]
async fn check_access_finds_a_broken_cache_before_any_sign_in() {
    mr_auth_test_support::bounded(async {
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        let cache = PersistentTokenCache::plaintext_file(&path);
        cache.check_access().await.unwrap();
        assert!(!path.exists(), "checking writes no cache");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "nor anything else"
        );
        std::fs::write(&path, "{not json").unwrap();
        let err = cache.check_access().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidDocument, "{err}");

        // HOME is a file: ~/.IdentityService cannot be created (even by root).
        let home = dir.join("home-is-a-file");
        std::fs::write(&home, "").unwrap();
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        let env = EnvironmentMap::new()
            .with("HOME", home.to_str().unwrap())
            .with("LOCALAPPDATA", home.to_str().unwrap())
            .with(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", dir.join("no-bus").display()),
            );
        let cache = PersistentTokenCache::open_with_environment(&options, false, &env).await;
        // Windows' DPAPI store is opened the same way.
        let err = cache.unwrap().check_access().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
        assert!(err.to_string().contains(".IdentityService"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await;
}

/// A cache directory of another user is refused, naming its owner and mode; one of ours that
/// others can write to is repaired.
#[cfg(unix)]
#[tokio::test]
async fn a_cache_directory_that_is_not_private_is_refused_or_repaired() {
    use std::os::unix::fs::PermissionsExt as _;
    mr_auth_test_support::bounded(async {
        let home = temp_dir();
        let identity = home.join(".IdentityService");
        std::fs::create_dir(&identity).unwrap();
        std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o777)).unwrap();
        let options = TokenCachePersistenceOptions {
            allow_unencrypted_storage: true,
            ..Default::default()
        };
        let env = EnvironmentMap::new()
            .with("HOME", home.to_str().unwrap())
            .with(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", home.join("no-bus").display()),
            );
        let cache = PersistentTokenCache::open_with_environment(&options, false, &env)
            .await
            .unwrap();
        cache
            .modify(|c| c.add(&response(CLIENT_ID, "rt-1")))
            .await
            .unwrap()
            .unwrap();
        let mode = std::fs::metadata(&identity).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o755,
            "the write bits of group and others are removed"
        );

        // Another user's directory: as root (CI), give it to nobody; as any other user, a
        // cache "in" / is in root's directory.
        let (foreign, owner) = if effective_uid() == 0 {
            std::os::unix::fs::chown(&identity, Some(65534), Some(65534)).unwrap();
            (cache, 65534)
        } else {
            (PersistentTokenCache::plaintext_file("/msal.cache.nocae"), 0)
        };
        for err in [
            foreign.load().await.map(|_| ()).unwrap_err(),
            foreign.modify(|_| ()).await.unwrap_err(),
            foreign.check_access().await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err}");
            assert!(
                err.to_string().contains(&format!("belongs to uid {owner}")),
                "{err}"
            );
            assert!(err.to_string().contains("mode 0"), "{err}");
        }
        std::fs::remove_dir_all(home).unwrap();
    })
    .await;
}

/// The effective uid, from the owner of a file this process creates.
#[cfg(unix)]
fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    let dir = temp_dir();
    let uid = std::fs::metadata(&dir).unwrap().uid();
    std::fs::remove_dir_all(dir).unwrap();
    uid
}

/// A writer killed between writing its temporary file and renaming it leaves the whole
/// document, refresh tokens included, in `.<name>.<pid>.<random>.tmp`: the next write removes
/// it, and so does `remove_leftovers` (what `mr-auth logout` calls). (Unix: Windows tells a
/// dead writer's files by their age only.)
#[cfg(unix)]
#[tokio::test]
async fn what_a_killed_writer_left_is_removed_by_the_next_write_and_on_sign_out() {
    mr_auth_test_support::bounded(async {
        let dir = temp_dir();
        let path = dir.join("msal.cache.nocae");
        let cache = PersistentTokenCache::plaintext_file(&path);
        let plant = || {
            let left = dir.join(format!(
                ".msal.cache.nocae.{}.{}.tmp",
                mr_auth_test_support::planted_files::exited_process_id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::write(
                &left,
                "{\"RefreshToken\": {\"k\": {\"secret\": \"rt-left\"}}}",
            )
            .unwrap();
            left
        };
        let left = plant();
        cache
            .modify(|c| c.add(&response(CLIENT_ID, "rt-1")))
            .await
            .unwrap()
            .unwrap();
        assert!(!left.exists(), "the next write removes it");
        let left = plant();
        assert_eq!(cache.remove_leftovers().await.unwrap(), 1);
        assert!(!left.exists(), "signing out removes it");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["msal.cache.nocae"]);
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await;
}

/// The environment variable that turns `endless_writer` into a writer that is killed.
#[cfg(unix)]
const ENDLESS_ENV: &str = "MR_AUTH_CACHE_ENDLESS_WRITER";

/// One writer of `killed_writers_leave_a_valid_document_and_nothing_behind`: writes until it is
/// killed (at most 10,000 rounds), saying `wrote <n>` on stdout after each write. Does nothing
/// unless started by that test.
#[cfg(unix)]
#[tokio::test]
async fn endless_writer() {
    let Ok(spec) = std::env::var(ENDLESS_ENV) else {
        return;
    };
    let (writer, path) = spec.split_once(':').expect("writer:path");
    let cache = PersistentTokenCache::plaintext_file(path);
    for round in 0..10_000 {
        let client_id = format!("{writer:0>8}-0000-4000-8000-{round:012x}");
        cache
            .modify(|c| c.add(&response(&client_id, &format!("rt-{client_id}"))))
            .await
            .expect("the write succeeded")
            .expect("the response is valid");
        println!("wrote {round}");
    }
}

/// kill -9 at 60 points of writers' lives: half of them anywhere (after one to three reported
/// writes), half as soon as the writer's temporary file appears (mostly before its rename).
/// The cache is valid JSON after every kill and keeps every write reported done; killed
/// writers did leave temporary files (with refresh tokens) behind, and once the next writer
/// has written, none is left. The document is padded to 1 MiB so each write takes a while.
/// (Unix: Windows tells a dead writer's files by their age only.)
#[cfg(unix)]
#[test]
fn killed_writers_leave_a_valid_document_and_nothing_behind() {
    use std::io::BufRead as _;
    let dir = temp_dir();
    let path = dir.join("msal.cache.nocae");
    std::fs::write(
        &path,
        format!("{{\"Padding\": \"{}\"}}", "x".repeat(1 << 20)),
    )
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut done = Vec::new();
    let mut left_behind = 0;
    for point in 0..60_usize {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "endless_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENDLESS_ENV, format!("{point}:{}", path.display()))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start a writer");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut report = |line: String| {
            if let Some(round) = line.strip_prefix("wrote ") {
                let round: usize = round.parse().unwrap();
                done.push(format!("{point:0>8}-0000-4000-8000-{round:012x}"));
            }
        };
        if point % 2 == 0 {
            for _ in 0..point / 2 % 3 + 1 {
                report(lines.next().expect("the writer reports").unwrap());
            }
        } else {
            let temp_prefix = format!(".msal.cache.nocae.{}.", child.id());
            let mut looks = 0_u32;
            while !std::fs::read_dir(&dir).unwrap().any(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&temp_prefix)
            }) {
                looks += 1;
                assert!(
                    looks < 10_000_000,
                    "writer {point} never wrote a temporary file"
                );
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        lines.map_while(Result::ok).for_each(&mut report);
        let temp_files = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        left_behind += temp_files;
        let cache = MsalTokenCache::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("after kill {point}: {e}"));
        for client_id in &done {
            assert!(
                cache
                    .refresh_token(client_id, &home_account_id(), "login.microsoftonline.com")
                    .is_some(),
                "after kill {point}: the reported write of {client_id} is lost"
            );
        }
    }
    assert!(
        left_behind > 0,
        "no kill landed between a temporary file and its rename"
    );
    let cache = PersistentTokenCache::plaintext_file(&path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(cache.modify(|c| c.add(&response(CLIENT_ID, "rt-last"))))
        .unwrap()
        .unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["msal.cache.nocae"],
        "temporary files of killed writers are left"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Windows: the cache file in `%LOCALAPPDATA%\.IdentityService` is DPAPI-encrypted (run under
/// Wine by `cargo xtask ci wine`, whose DPAPI is Wine's).
#[cfg(windows)]
#[tokio::test]
async fn the_windows_cache_file_is_dpapi_encrypted() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let dir = temp_dir();
        let env = EnvironmentMap::new().with("LOCALAPPDATA", dir.to_str().unwrap());
        let options = TokenCachePersistenceOptions::default();
        let cache = PersistentTokenCache::open_with_environment(&options, false, &env)
            .await
            .unwrap();
        assert!(cache.describe().contains("DPAPI"), "{}", cache.describe());
        let client = CLIENT_ID;
        cache
            .modify(|c| c.add(&response(client, "rt-sealed-by-dpapi")))
            .await
            .unwrap()
            .unwrap();
        let file = dir.join(".IdentityService").join("msal.cache.nocae");
        let sealed = std::fs::read(&file).unwrap();
        let marker = b"rt-sealed-by-dpapi";
        assert!(
            !sealed.windows(marker.len()).any(|w| w == marker),
            "plaintext on disk"
        );
        let again = PersistentTokenCache::open_with_environment(&options, false, &env)
            .await
            .unwrap();
        let rt = again
            .load()
            .await
            .unwrap()
            .refresh_token(client, &home_account_id(), "login.microsoftonline.com")
            .unwrap();
        assert_eq!(rt.secret(), "rt-sealed-by-dpapi");
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await
    .expect("the test finished in time");
}

#[cfg(target_os = "linux")]
mod keyring {
    use super::*;
    use mr_auth_msal_cache::{CacheStore as _, SecretServiceStore};
    use mr_auth_test_support::{
        private_session_bus::PrivateSessionBus, secret_service_session::SecretServiceSession,
    };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signed_in_once_then_found_by_a_new_cache_with_msal_attributes() {
        tokio::time::timeout(TEST_TIMEOUT, async {
            let session = match SecretServiceSession::start_or_skip("secret service cache").await {
                Ok(session) => session,
                Err(missing) => {
                    eprintln!("{missing}");
                    return;
                }
            };
            let env = EnvironmentMap::new()
                .with("HOME", session.home().to_str().unwrap())
                .with("DBUS_SESSION_BUS_ADDRESS", session.bus_address());
            let options = TokenCachePersistenceOptions::default();
            let first = PersistentTokenCache::open_with_environment(&options, false, &env)
                .await
                .unwrap();
            assert!(!first.is_plaintext(), "{}", first.describe());
            first
                .modify(|c| c.add(&response(CLIENT_ID, "rt-from-the-keyring")))
                .await
                .unwrap()
                .unwrap();

            // A second opening, as a new process would do.
            let second = PersistentTokenCache::open_with_environment(&options, false, &env)
                .await
                .unwrap();
            let cache = second.load().await.unwrap();
            let rt = cache
                .refresh_token(CLIENT_ID, &home_account_id(), "login.microsoftonline.com")
                .unwrap();
            assert_eq!(rt.secret(), "rt-from-the-keyring");

            // The item is where MSAL's extensions look for it.
            let item = session
                .only_item(&[
                    ("xdg:schema", "msal.cache.nocae"),
                    ("MsalClientID", "Microsoft.Developer.IdentityService"),
                ])
                .await;
            assert_eq!(item.label, "MSALCache");
            assert_eq!(
                item.attributes
                    .get("Microsoft.Developer.IdentityService")
                    .map(String::as_str),
                Some("1.0.0.0")
            );
            assert!(String::from_utf8(item.secret)
                .unwrap()
                .contains("rt-from-the-keyring"));
            // Nothing secret on disk: only the signal file, empty.
            let signal = session
                .home()
                .join(".IdentityService")
                .join("msal.cache.nocae");
            assert_eq!(std::fs::read(&signal).unwrap().len(), 0);

            // A second write replaces the item rather than adding one.
            second
                .modify(|c| c.add(&response(CLIENT_ID, "rt-rotated")))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                session
                    .count_items(&[("xdg:schema", "msal.cache.nocae")])
                    .await,
                1
            );
        })
        .await
        .expect("the test finished in time");
    }

    /// gnome-keyring unlocked with an empty password has no default collection, only the
    /// in-memory `session` one: the cache is never stored there (it would vanish when the
    /// keyring stops); opening says how to fix it, and with consent the plaintext file is used.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_default_collection_nothing_is_stored_in_the_session_collection() {
        mr_auth_test_support::bounded(async {
            let session = match SecretServiceSession::start_without_default_collection_or_skip(
                "secret service without a default collection",
            )
            .await
            {
                Ok(session) => session,
                Err(missing) => {
                    eprintln!("{missing}");
                    return;
                }
            };
            let (collections, default) = session.collections().await;
            assert_eq!(default, "/", "{collections:?}");
            assert!(
                collections
                    .iter()
                    .all(|c| c.ends_with("/collection/session")),
                "{collections:?}"
            );
            let env = EnvironmentMap::new()
                .with("HOME", session.home().to_str().unwrap())
                .with("DBUS_SESSION_BUS_ADDRESS", session.bus_address());
            let err = PersistentTokenCache::open_with_environment(
                &TokenCachePersistenceOptions::default(),
                false,
                &env,
            )
            .await
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err}");
            for part in [
                "no default keyring",
                "unlock or create the default keyring",
                "allow_unencrypted_storage",
            ] {
                assert!(err.to_string().contains(part), "{part}: {err}");
            }

            // The store itself never writes to the session collection either.
            let signal = session
                .home()
                .join(".IdentityService")
                .join("msal.cache.nocae");
            let store = SecretServiceStore::new("msal.cache.nocae", &signal)
                .with_session_bus_address(session.bus_address());
            assert!(!store.is_available().await);
            let err = store.save(b"{}").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err}");
            assert_eq!(
                store.check_writable().await.unwrap_err().kind(),
                ErrorKind::StoreUnavailable
            );
            let schema = [("xdg:schema", "msal.cache.nocae")];
            assert_eq!(session.count_items(&schema).await, 0);

            let options = TokenCachePersistenceOptions {
                allow_unencrypted_storage: true,
                ..Default::default()
            };
            let cache = PersistentTokenCache::open_with_environment(&options, false, &env)
                .await
                .unwrap();
            assert!(cache.is_plaintext(), "{}", cache.describe());
            cache
                .modify(|c| c.add(&response(CLIENT_ID, "rt-plain")))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(session.count_items(&schema).await, 0);
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_secret_service_plaintext_needs_consent() {
        tokio::time::timeout(TEST_TIMEOUT, async {
            let bus = match PrivateSessionBus::start_or_skip("no secret service").await {
                Ok(bus) => bus,
                Err(missing) => {
                    eprintln!("{missing}");
                    return;
                }
            };
            let home = temp_dir();
            let env = EnvironmentMap::new()
                .with("HOME", home.to_str().unwrap())
                .with("DBUS_SESSION_BUS_ADDRESS", bus.address());
            let err = PersistentTokenCache::open_with_environment(
                &TokenCachePersistenceOptions::default(),
                false,
                &env,
            )
            .await
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
            assert!(
                err.to_string().contains("allow_unencrypted_storage"),
                "{err}"
            );

            let options = TokenCachePersistenceOptions {
                allow_unencrypted_storage: true,
                ..Default::default()
            };
            let cache = PersistentTokenCache::open_with_environment(&options, true, &env)
                .await
                .unwrap();
            assert!(cache.is_plaintext());
            cache
                .modify(|c| c.add(&response(CLIENT_ID, "rt-plain")))
                .await
                .unwrap()
                .unwrap();
            let file = home.join(".IdentityService").join("msal.cache.cae");
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::remove_dir_all(home).unwrap();
        })
        .await
        .expect("the test finished in time");
    }
}
