//! The `mr-auth` binary, run as a user would, against the emulator on loopback.

use mr_auth_emulator::{Emulator, Fault, RunningEmulator};
use std::{
    io::{BufRead as _, BufReader, Write as _},
    process::{Command, Output, Stdio},
    time::Duration,
};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_mr-auth");
const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "cli-test-key";

struct Sts {
    emulator: RunningEmulator,
    ca_file: tempfile_path::TempPem,
}

mod tempfile_path {
    use std::path::PathBuf;

    /// A PEM file under the target's temp folder, removed on drop.
    pub(super) struct TempPem(pub(super) PathBuf);

    impl Drop for TempPem {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

async fn sts(faults: Vec<Fault>) -> Sts {
    let emulator = Emulator::builder()
        .account(Uuid::parse_str(ACCOUNT).unwrap(), KEY)
        .faults(faults)
        .start()
        .await
        .unwrap();
    let path = std::env::temp_dir().join(format!("mr-auth-cli-test-{}.pem", Uuid::new_v4()));
    std::fs::write(&path, emulator.ca_pem().unwrap()).unwrap();
    Sts {
        emulator,
        ca_file: tempfile_path::TempPem(path),
    }
}

fn token_command(sts: &Sts, key: Option<&str>) -> Command {
    token_command_for(
        sts,
        key,
        ACCOUNT,
        "mixedreality.azure.com",
        sts.emulator.endpoint().as_str(),
    )
}

fn token_command_for(
    sts: &Sts,
    key: Option<&str>,
    account: &str,
    domain: &str,
    endpoint: &str,
) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["token", "--account-id", account, "--account-domain", domain])
        .args(["--endpoint", endpoint])
        .arg("--ca-file")
        .arg(&sts.ca_file.0)
        .env_remove("MIXEDREALITY_ACCOUNT_KEY")
        .env_remove("MIXEDREALITY_STS_ENDPOINT")
        .stdin(Stdio::null());
    if let Some(key) = key {
        command.env("MIXEDREALITY_ACCOUNT_KEY", key);
    }
    command
}

async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn token_against_the_emulator_prints_json() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![]).await;
        let out = output(token_command(&sts, Some(KEY))).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let token = value["token"].as_str().unwrap();
        let expires = mr_auth_core::jwt_expires_on(token).unwrap();
        assert_eq!(value["expires_on_unix"], expires.unix_timestamp());
        assert!(value["ms_cv"].as_str().unwrap().ends_with(".0"));
        assert!(!stderr(&out).contains(KEY));
        assert_eq!(sts.emulator.stats().tokens_issued, 1);
    })
    .await;
}

#[tokio::test]
async fn token_output_then_decode_from_stdin() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![]).await;
        let mut command = token_command(&sts, Some(KEY));
        command.args(["--output", "token"]);
        let out = output(command).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let token = String::from_utf8(out.stdout).unwrap();
        assert_eq!(token.trim().split('.').count(), 3);

        let decoded = tokio::task::spawn_blocking(move || {
            let mut child = Command::new(BIN)
                .args(["decode", "--output", "json"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(token.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        assert_eq!(decoded.status.code(), Some(0));
        let value: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap();
        assert_eq!(value["claims"]["aid"], ACCOUNT);
        assert_eq!(value["header"]["alg"], "ES256");
        let left = value["expires_in_seconds"].as_i64().unwrap();
        assert!((86_000..=86_400).contains(&left), "{left}");
    })
    .await;
}

#[tokio::test]
async fn key_from_stdin() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![]).await;
        let mut command = token_command(&sts, None);
        command
            .arg("--key-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{KEY}\n").as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    })
    .await;
}

#[tokio::test]
async fn wrong_key_exits_3_with_one_line() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![]).await;
        let out = output(token_command(&sts, Some("wrong-key"))).await;
        assert_eq!(out.status.code(), Some(3));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("authentication failed") && err.contains("401"),
            "{err}"
        );
        assert!(!err.contains("wrong-key"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn transient_failures_exit_4() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![Fault::status(503, None).unwrap(); 4]).await;
        let out = output(token_command(&sts, Some(KEY))).await;
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert!(stderr(&out).contains("503"));
    })
    .await;
}

#[tokio::test]
async fn unusable_token_exits_5() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![Fault::TokenWithoutExp]).await;
        let out = output(token_command(&sts, Some(KEY))).await;
        assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
        assert!(stderr(&out).contains("no exp claim"));
    })
    .await;
}

#[tokio::test]
async fn bad_input_exits_2_naming_the_problem() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![]).await;
        let endpoint = sts.emulator.endpoint().to_string();
        for (args, expected) in [
            (
                ["nope", "mixedreality.azure.com", endpoint.as_str()],
                "is not a UUID",
            ),
            (
                [ACCOUNT, "eastus", endpoint.as_str()],
                "did you mean eastus.mixedreality.azure.com",
            ),
            (
                [ACCOUNT, "mixedreality.azure.com", "http://example.com"],
                "plain http",
            ),
        ] {
            let out = output(token_command_for(
                &sts,
                Some(KEY),
                args[0],
                args[1],
                args[2],
            ))
            .await;
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(expected),
                "{args:?}: {}",
                stderr(&out)
            );
        }
        // No key anywhere and no terminal to prompt on.
        let out = output(token_command(&sts, None)).await;
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("set MIXEDREALITY_ACCOUNT_KEY"),
            "{}",
            stderr(&out)
        );
        // Usage errors are bad input too.
        let out = output({
            let mut c = Command::new(BIN);
            c.args(["token", "--no-such-flag"]);
            c
        })
        .await;
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(sts.emulator.stats().token_requests, 0);
    })
    .await;
}

#[tokio::test]
async fn decode_rejects_garbage_with_exit_2() {
    mr_auth_test_support::bounded(async move {
        let out = output({
            let mut c = Command::new(BIN);
            c.args(["decode", "not-a-jwt"]);
            c
        })
        .await;
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("cannot decode the token"));
    })
    .await;
}

/// Issue 21, case 15: `decode` cut standard input at 64 KiB and then said "not a JWT". Now
/// input over the limit is refused as too large, naming the limit.
#[tokio::test]
async fn decode_says_when_the_input_is_too_large() {
    mr_auth_test_support::bounded(async move {
        let out = tokio::task::spawn_blocking(|| {
            let mut child = Command::new(BIN)
                .arg("decode")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            // `decode` stops reading at the limit: the rest may not be taken.
            let _ = stdin.write_all(&vec![b'e'; 64 * 1024 + 1]);
            drop(stdin);
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("larger than 64 KiB (65536 bytes)"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("cannot decode"), "{}", stderr(&out));
    })
    .await;
}

/// Issue 21, case 4: `--ca-file /dev/zero` grew to gigabytes and a named pipe blocked forever.
/// Now anything but a regular file of at most 4 MiB is refused at once, naming the file and
/// what is wrong with it, before any request.
#[cfg(unix)]
#[tokio::test]
async fn a_ca_file_that_is_not_a_small_regular_file_is_refused_at_once() {
    mr_auth_test_support::bounded(async move {
        let sts = sts(vec![]).await;
        let dir = std::env::temp_dir().join(format!("mr-auth-cli-ca-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("ca.fifo");
        mr_auth_test_support::planted_files::make_fifo(&fifo);
        let huge = dir.join("huge.pem");
        // Sparse: 4 MiB + 1 byte of zeros, without writing them.
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(4 * 1024 * 1024 + 1)
            .unwrap();
        let cases = [
            (
                "/dev/zero".into(),
                "/dev/zero is a character device, not a regular file",
            ),
            (
                fifo.clone(),
                "ca.fifo is a named pipe (FIFO), not a regular file",
            ),
            (dir.clone(), " is a directory, not a regular file"),
            (huge.clone(), "huge.pem is larger than 4194304 bytes"),
            (dir.join("missing.pem"), "cannot open "),
        ];
        for (path, expected) in cases {
            let path: std::path::PathBuf = path;
            let mut command = Command::new(BIN);
            command
                .args(["token", "--account-id", ACCOUNT])
                .args(["--account-domain", "mixedreality.azure.com"])
                .args(["--endpoint", sts.emulator.endpoint().as_str()])
                .arg("--ca-file")
                .arg(&path)
                .env("MIXEDREALITY_ACCOUNT_KEY", KEY)
                .stdin(Stdio::null());
            let out = output(command).await;
            assert_eq!(
                out.status.code(),
                Some(2),
                "{}: {}",
                path.display(),
                stderr(&out)
            );
            let text = stderr(&out);
            assert!(text.contains("cannot use the CA file"), "{text}");
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert_eq!(sts.emulator.stats().token_requests, 0);
        std::fs::remove_dir_all(dir).unwrap();
    })
    .await;
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["token", "--help"],
        &["decode", "--help"],
        &["emulator", "--help"],
        &["login", "--help"],
        &["entra-token", "--help"],
        &["logout", "--help"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    let text = String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap();
    assert!(text.contains("Exit codes"), "{text}");
    for documented in [
        "6 not signed in",
        "MR_AUTH_CONFIG_DIR",
        "--verbose",
        "entra-token",
    ] {
        assert!(text.contains(documented), "{documented}: {text}");
    }
    let token_help = String::from_utf8(
        Command::new(BIN)
            .args(["token", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for source in ["developer-tools", "broker", "browser"] {
        assert!(token_help.contains(&format!("- {source}")), "{token_help}");
    }
}

#[tokio::test]
async fn emulator_command_serves_the_token_command() {
    mr_auth_test_support::bounded(async move {
        let mut child = Command::new(BIN)
            .args([
                "emulator",
                "--no-tls",
                "--account",
                &format!("{ACCOUNT}:{KEY}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let read_endpoint = tokio::task::spawn_blocking(move || {
            let mut endpoint = None;
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if let Some(url) = line.strip_prefix("endpoint: ") {
                    endpoint = Some(url.to_owned());
                }
                if line.starts_with("ready") {
                    break;
                }
            }
            endpoint
        });
        // Bounded: an emulator that never says "ready" fails the test instead of hanging it.
        let endpoint = match tokio::time::timeout(Duration::from_secs(20), read_endpoint).await {
            Ok(read) => read.unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("`mr-auth emulator` did not print `ready` within 20 s");
            }
        };
        let result = async {
            let endpoint = endpoint.expect("the emulator printed its endpoint");
            assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
            let mut command = Command::new(BIN);
            command
                .args([
                    "token",
                    "--account-id",
                    ACCOUNT,
                    "--account-domain",
                    "mixedreality.azure.com",
                    "--endpoint",
                    &endpoint,
                ])
                .env("MIXEDREALITY_ACCOUNT_KEY", KEY)
                .stdin(Stdio::null());
            let out = output(command).await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
        .await;
        let _ = child.kill();
        let _ = child.wait();
        result
    })
    .await;
}

#[tokio::test]
async fn no_system_roots_trusts_only_the_ca_file() {
    let sts = sts(vec![]).await;
    let mut command = token_command(&sts, Some(KEY));
    command.arg("--no-system-roots");
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Another emulator's CA only: its certificate is refused, at the first try.
    let other = self::sts(vec![]).await;
    let path = std::env::temp_dir().join(format!("mr-auth-cli-test-{}.pem", Uuid::new_v4()));
    std::fs::copy(&sts.ca_file.0, &path).unwrap();
    let mismatched = Sts {
        emulator: other.emulator,
        ca_file: tempfile_path::TempPem(path),
    };
    let mut command = token_command(&mismatched, Some(KEY));
    command.arg("--no-system-roots");
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    assert_eq!(mismatched.emulator.stats().token_requests, 0);

    let mut command = Command::new(BIN);
    command
        .args([
            "token",
            "--account-id",
            ACCOUNT,
            "--account-domain",
            "mixedreality.azure.com",
        ])
        .arg("--no-system-roots")
        .env("MIXEDREALITY_ACCOUNT_KEY", KEY)
        .stdin(Stdio::null());
    let out = output(command).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "--no-system-roots needs --ca-file"
    );
}
