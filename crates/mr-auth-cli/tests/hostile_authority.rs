//! Issue 21's network cases as they were reproduced, black-box with the `mr-auth` binary: an
//! authority whose error carries terminal escapes, a token endpoint that refuses, stalls or
//! never answers, and a tenant that would remove the URL's tenant segment. The authority is a
//! loopback [`FaultServer`] (`AZURE_AUTHORITY_HOST`), and the sign-in a device code one, whose
//! first request (`devicecode`) is the one the faults hit.

use mr_auth_test_support::{
    bounded_by,
    fault_server::{response, Act, FaultServer},
    mock_authority::{client_info, unsigned_jwt},
};
use std::{
    path::PathBuf,
    process::{Output, Stdio},
    time::Duration,
};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_mr-auth");

/// A home and configuration directory of its own, removed at the end.
struct Home(PathBuf);

impl Home {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mr-auth-cli-hostile-{}", Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("config")).unwrap();
        Self(dir)
    }

    /// `mr-auth login --aad device-code --allow-unencrypted-storage <args>` at `authority`,
    /// bounded by `limit` (the child is killed if the test gives up on it).
    async fn login(&self, authority: &str, args: &[&str], limit: Duration) -> Output {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args([
                "login",
                "--aad",
                "device-code",
                "--allow-unencrypted-storage",
            ])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.0)
            .env("MR_AUTH_CONFIG_DIR", self.0.join("config"))
            // No Secret Service: the cache is a 0600 file in this home.
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env("AZURE_AUTHORITY_HOST", authority)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        bounded_by(limit, command.output()).await.unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `login` (no extra flags) in a new home against a fault server playing `acts`, which must
/// fail: the server, the home (kept for looking at its files) and what `login` printed on
/// stderr.
async fn failed_login(acts: Vec<Act>) -> (FaultServer, Home, String) {
    let authority = FaultServer::start(acts).await;
    let home = Home::new();
    let out = home
        .login(&authority.url, &[], Duration::from_secs(60))
        .await;
    let text = stderr(&out);
    assert!(!out.status.success(), "{text}");
    (authority, home, text)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Case 1: an authority's `error`, `error_description` and correlation id with ANSI and OSC
/// sequences, CR and LF reach the user's terminal as data: no control character is printed,
/// the AADSTS code and the description's text still are.
#[tokio::test]
async fn terminal_escapes_in_an_authority_error_never_reach_the_terminal() {
    let body = serde_json::json!({
        "error": "invalid_request\u{1b}]0;owned\u{7}",
        "error_description": "AADSTS90002: Tenant not found.\u{1b}[2J\r\nmr-auth: signed in as admin\u{1b}[8m",
        "error_codes": [90002],
        "correlation_id": "c0rr\u{1b}[31m",
    })
    .to_string();
    let (authority, _home, text) = failed_login(vec![Act::Reply(response(
        "400 Bad Request",
        &[("content-type", "application/json")],
        &body,
    ))])
    .await;
    assert_eq!(authority.arrivals().len(), 1, "one devicecode request");
    assert!(text.contains("AADSTS90002"), "{text}");
    assert!(text.contains("Tenant not found."), "{text}");
    for control in ['\u{1b}', '\u{7}', '\r'] {
        assert!(!text.contains(control), "{control:?} printed: {text:?}");
    }
    assert!(
        !text.contains("\nmr-auth: signed in as admin"),
        "a forged line: {text:?}"
    );
}

/// Cases 2 and 3: a token endpoint that accepts the connection and never answers costs at
/// most `--request-timeout-secs` (here 3 s, the whole call with its retries), and the error
/// names the timeout and the tries. Without a bound the command hangs until the test's 60 s.
#[tokio::test]
async fn a_stalled_authority_is_bounded_by_the_request_timeout_and_named() {
    let authority = FaultServer::start(vec![Act::Silent]).await;
    let home = Home::new();
    let started = tokio::time::Instant::now();
    let out = home
        .login(
            &authority.url,
            &["--request-timeout-secs", "3"],
            Duration::from_secs(60),
        )
        .await;
    let took = started.elapsed();
    let text = stderr(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("timed out") || text.contains("timeout"),
        "{text}"
    );
    assert!(
        text.contains("devicecode endpoint"),
        "names the endpoint: {text}"
    );
    assert!(
        text.contains("try") || text.contains("tries"),
        "names the tries: {text}"
    );
    // Generous for a loaded machine, far below the 60 s of a call without the flag's bound.
    assert!(took < Duration::from_secs(30), "took {took:?}: {text}");
}

/// Case 3: a refused connection fails at once (a few quick retries at most), naming the
/// refusal and the tries, not a vague "could not reach".
#[tokio::test]
async fn a_refused_connection_fails_within_seconds_naming_the_refusal() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let home = Home::new();
    let started = tokio::time::Instant::now();
    let out = home
        .login(
            &format!("http://127.0.0.1:{port}"),
            &[],
            Duration::from_secs(60),
        )
        .await;
    let took = started.elapsed();
    let text = stderr(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("refused"), "names the refusal: {text}");
    assert!(text.contains("tries"), "names the tries: {text}");
    // The bound for a refused authority (4 tries, waits under 0.5, 1 and 2 s); the
    // long retries of before took 82 s.
    assert!(took < Duration::from_secs(15), "took {took:?}: {text}");
}

/// Case 12: `--tenant ..` and `--tenant .` (and their encoded forms) are refused as bad input
/// before any request, instead of removing the tenant segment of the authority's URL.
#[tokio::test]
async fn dot_tenants_are_refused_before_any_request() {
    let authority = FaultServer::start(vec![Act::Close]).await;
    let home = Home::new();
    for tenant in ["..", ".", "%2e%2e", "a/../b"] {
        let out = home
            .login(
                &authority.url,
                &["--tenant", tenant],
                Duration::from_secs(60),
            )
            .await;
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{tenant}: {text}");
        assert!(text.contains("--tenant"), "{tenant}: {text}");
    }
    assert!(authority.arrivals().is_empty(), "no request was made");
}

/// Case 14: a token response whose id token names another application as its audience is
/// refused (OpenID Connect): `login` fails naming the audience, and neither the record nor the
/// response's tokens are saved anywhere under the home. Without the check the sign-in succeeds
/// as the account the foreign id token names.
#[tokio::test]
async fn an_id_token_issued_to_another_application_is_refused_and_nothing_is_saved() {
    let device_code = serde_json::json!({
        "device_code": "device-code-1",
        "user_code": "ABCD-EFGH",
        "verification_uri": "http://127.0.0.1/devicelogin",
        "expires_in": 900,
        "interval": 1,
        "message": "Enter ABCD-EFGH at http://127.0.0.1/devicelogin",
    })
    .to_string();
    let id_token = unsigned_jwt(&serde_json::json!({
        "aud": "99999999-2222-3333-4444-555555555555",
        "iss": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
        "sub": "user-1",
        "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "preferred_username": "mallory@contoso.com",
        "exp": 4_102_444_800u64,
    }));
    let tokens = serde_json::json!({
        "token_type": "Bearer",
        "access_token": "access-token-for-another-app",
        "expires_in": 3600,
        "refresh_token": "refresh-token-for-another-app",
        "id_token": id_token,
        "client_info": client_info(
            "00000000-0000-0000-0000-000000000001",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
        ),
        "scope": "https://management.azure.com/user_impersonation",
    })
    .to_string();
    let json = [("content-type", "application/json")];
    let (authority, home, text) = failed_login(vec![
        Act::Reply(response("200 OK", &json, &device_code)),
        Act::Reply(response("200 OK", &json, &tokens)),
    ])
    .await;
    assert_eq!(authority.arrivals().len(), 2, "devicecode, then one poll");
    assert!(
        text.contains("another application") && text.contains("99999999-2222"),
        "names the audience: {text}"
    );
    assert!(!text.contains("signed in as"), "{text}");
    for secret in [
        "access-token-for-another-app",
        "refresh-token-for-another-app",
    ] {
        assert!(!text.contains(secret), "{secret} printed: {text}");
        assert!(
            !any_file_contains(&home.0, secret),
            "{secret} was saved under the home"
        );
    }
    assert!(
        !any_file_contains(&home.0, "mallory@contoso.com"),
        "a record of the foreign account was saved"
    );
}

/// Whether any regular file under `dir` (walked to a small depth) contains `needle`.
fn any_file_contains(dir: &std::path::Path, needle: &str) -> bool {
    fn walk(dir: &std::path::Path, needle: &str, depth: u32) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|entry| {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth < 6 => walk(&path, needle, depth + 1),
                Ok(t) if t.is_file() => std::fs::read(&path)
                    .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(needle)),
                _ => false,
            }
        })
    }
    walk(dir, needle, 0)
}
