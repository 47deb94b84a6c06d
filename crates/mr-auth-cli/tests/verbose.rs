//! `-v` / `-vv` / `RUST_LOG`: the libraries' tracing events on stderr, never a secret.

use mr_auth_emulator::Emulator;
use std::process::{Command, Output, Stdio};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_mr-auth");
const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
const KEY: &str = "cli-verbose-test-key-0123456789";

/// Runs `mr-auth token` against `emulator` with `extra` arguments and environment.
async fn token(
    emulator: &mr_auth_emulator::RunningEmulator,
    configure: impl FnOnce(&mut Command),
) -> Output {
    let ca = std::env::temp_dir().join(format!("mr-auth-cli-verbose-{}.pem", Uuid::new_v4()));
    std::fs::write(&ca, emulator.ca_pem().unwrap()).unwrap();
    let mut command = Command::new(BIN);
    command
        .args([
            "token",
            "--account-id",
            ACCOUNT,
            "--account-domain",
            "mixedreality.azure.com",
        ])
        .args(["--endpoint", emulator.endpoint().as_str()])
        .arg("--ca-file")
        .arg(&ca)
        .env("MIXEDREALITY_ACCOUNT_KEY", KEY)
        .env_remove("MIXEDREALITY_STS_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    configure(&mut command);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let _ = std::fs::remove_file(&ca);
    out
}

async fn emulator() -> mr_auth_emulator::RunningEmulator {
    Emulator::builder()
        .account(Uuid::parse_str(ACCOUNT).unwrap(), KEY)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn quiet_by_default() {
    mr_auth_test_support::bounded(async {
        let emulator = emulator().await;
        let out = token(&emulator, |_| {}).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await;
}

#[tokio::test]
async fn trace_level_shows_the_exchange_but_no_secret() {
    mr_auth_test_support::bounded(async {
        let emulator = emulator().await;
        for configure in [
            (|c: &mut Command| {
                c.arg("-vv");
            }) as fn(&mut Command),
            |c: &mut Command| {
                c.env("RUST_LOG", "trace");
            },
        ] {
            let out = token(&emulator, configure).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let access_token = json["token"].as_str().unwrap();
            // The libraries' events are there (the STS exchange, at trace level)...
            assert!(stderr.contains("mr_auth_core"), "{stderr}");
            assert!(
                stderr.contains("TRACE") || stderr.contains("DEBUG"),
                "{stderr}"
            );
            // ...but neither the account key nor the token, nor the token's signature alone.
            assert!(!stderr.contains(KEY), "the account key leaked: {stderr}");
            assert!(!stderr.contains(access_token), "the token leaked: {stderr}");
            let signature = access_token.rsplit('.').next().unwrap();
            assert!(
                !stderr.contains(signature),
                "the token's signature leaked: {stderr}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_bad_rust_log_is_reported_not_fatal() {
    mr_auth_test_support::bounded(async {
        let emulator = emulator().await;
        let out = token(&emulator, |c| {
            c.env("RUST_LOG", "mr_auth=notalevel");
        })
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("ignoring RUST_LOG"), "{stderr}");
    })
    .await;
}
