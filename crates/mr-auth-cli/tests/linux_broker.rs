//! `mr-auth token --aad broker` on Linux signs in through the Microsoft identity broker on the
//! session bus: here a private `dbus-daemon` with the fake broker of `mr-auth-test-support`,
//! and the emulator accepting the AAD token it hands out.
#![cfg(target_os = "linux")]

use mr_auth_emulator::{AadMode, Emulator};
use mr_auth_test_support::{
    fake_linux_broker::{FakeLinuxBroker, FakeScript},
    hung_bus::HungBus,
    private_session_bus::PrivateSessionBus,
};
use std::{process::Stdio, time::Duration};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_mr-auth");
const ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";
/// An unsigned JWT for the Mixed Reality STS, expiring in 2100 (the emulator's permissive AAD
/// mode checks the shape and `exp` only).
const AAD_TOKEN: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJodHRwczovL3N0cy5taXhlZHJlYWxpdHkuYXp1cmUuY29tIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln";

#[tokio::test]
async fn aad_broker_uses_the_linux_broker_on_the_session_bus() {
    let bus = match PrivateSessionBus::start_or_skip("cli --aad broker").await {
        Ok(bus) => bus,
        Err(missing) => {
            eprintln!("{missing}");
            return;
        }
    };
    let fake = FakeLinuxBroker::start(
        bus.address(),
        FakeScript {
            access_token: Some(AAD_TOKEN.into()),
            ..FakeScript::default()
        },
    )
    .await;
    let emulator = Emulator::builder()
        .account(Uuid::parse_str(ACCOUNT).unwrap(), "unused-key")
        .aad(AadMode::Permissive)
        .start()
        .await
        .unwrap();
    let ca = std::env::temp_dir().join(format!("mr-auth-cli-broker-{}.pem", Uuid::new_v4()));
    std::fs::write(&ca, emulator.ca_pem().unwrap()).unwrap();

    // A home and config dir of its own: no saved sign-in or cache of the machine's user.
    let home = std::env::temp_dir().join(format!("mr-auth-cli-broker-home-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&home).unwrap();
    let mut command = std::process::Command::new(BIN);
    command
        .args([
            "token",
            "--account-id",
            ACCOUNT,
            "--account-domain",
            "mixedreality.azure.com",
        ])
        .args([
            "--endpoint",
            emulator.endpoint().as_str(),
            "--aad",
            "broker",
        ])
        .arg("--ca-file")
        .arg(&ca)
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .env("HOME", &home)
        .env("MR_AUTH_CONFIG_DIR", home.join("config"))
        // Should anything fall back to a browser, it must not open one.
        .env("BROWSER", "false")
        .env_remove("MIXEDREALITY_ACCOUNT_KEY")
        .env_remove("MIXEDREALITY_STS_ENDPOINT")
        .stdin(Stdio::null());
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output().unwrap()),
    )
    .await
    .expect("the cli finished within 60 s")
    .unwrap();
    let _ = std::fs::remove_file(&ca);
    let _ = std::fs::remove_dir_all(&home);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        json["token"].as_str().is_some_and(|t| t.starts_with("eyJ")),
        "{json}"
    );

    let calls = fake.calls_to("acquireTokenInteractively");
    assert_eq!(calls.len(), 1, "one broker sign-in");
    let scopes = &calls[0].request["authParameters"]["requestedScopes"];
    assert!(
        scopes
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("mixedreality")),
        "{scopes}"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// `mr-auth login --aad broker` signs in through the Linux broker and saves the broker's
/// account; `logout` forgets it (and says the broker keeps its own sign-in).
#[tokio::test]
async fn login_through_the_linux_broker_saves_its_account() {
    let bus = match PrivateSessionBus::start_or_skip("cli login --aad broker").await {
        Ok(bus) => bus,
        Err(missing) => {
            eprintln!("{missing}");
            return;
        }
    };
    let fake = FakeLinuxBroker::start(bus.address(), FakeScript::default()).await;
    let home = std::env::temp_dir().join(format!("mr-auth-cli-broker-home-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&home).unwrap();
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(BIN);
        command
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            .env("HOME", &home)
            .env("MR_AUTH_CONFIG_DIR", home.join("config"))
            .env("BROWSER", "false")
            .env_remove("AZURE_AUTHORITY_HOST")
            .env_remove("MR_AUTH_CLIENT_ID")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        async move {
            tokio::time::timeout(
                Duration::from_secs(60),
                tokio::task::spawn_blocking(move || command.output().unwrap()),
            )
            .await
            .expect("the cli finished within 60 s")
            .unwrap()
        }
    };

    let out = run(&["login", "--aad", "broker"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("Signed in as user@contoso.com (tenant "),
        "{stdout}"
    );
    assert!(!stdout.contains("fake-"), "no token is printed: {stdout}");
    assert_eq!(fake.calls_to("acquireTokenInteractively").len(), 1);
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("config").join("authentication_record.json")).unwrap(),
    )
    .unwrap();
    let account = mr_auth_test_support::fake_linux_broker::fake_account("user@contoso.com");
    assert_eq!(record["homeAccountId"], account["homeAccountId"]);
    assert_eq!(record["username"], "user@contoso.com");
    assert_eq!(record["authority"], "login.microsoftonline.com");
    let tenant = record["tenantId"].as_str().unwrap();
    assert!(stdout.contains(&format!("(tenant {tenant})")), "{stdout}");

    // A new process gets a token silently from the broker, for the saved account.
    let out = run(&[
        "entra-token",
        "--scope",
        "https://storage.azure.com/.default",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["accessToken"]
            .as_str()
            .is_some_and(|t| t.starts_with("fake-")),
        "{json}"
    );
    assert_eq!(fake.calls_to("acquireTokenSilently").len(), 1);
    assert_eq!(
        fake.calls_to("acquireTokenInteractively").len(),
        1,
        "no new sign-in"
    );

    let out = run(&["logout"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Signed out user@contoso.com"));
    assert!(stderr.contains("broker keeps its own sign-in"), "{stderr}");
    assert!(!home
        .join("config")
        .join("authentication_record.json")
        .exists());
    assert_eq!(fake.violations(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&home);
}

/// Issue 21, case 16, black-box: `token --aad broker` on a session bus that accepts the
/// connection and never answers. The broker is given up after its 5 s bound (the cause is a
/// `tracing` event, shown with `-v`), the browser flow goes on (its address is shown), and when
/// nobody signs in the command ends at `--timeout-secs` blaming the sign-in, not the STS.
/// Without the bound the hung bus takes the whole `--timeout-secs` and no address is shown.
#[tokio::test]
async fn aad_broker_on_a_hung_session_bus_goes_on_to_the_browser_within_seconds() {
    let hung = HungBus::start();
    let home = std::env::temp_dir().join(format!("mr-auth-cli-hung-bus-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&home).unwrap();
    let mut command = std::process::Command::new(BIN);
    command
        .args(["-v", "token", "--account-id", ACCOUNT])
        .args(["--account-domain", "mixedreality.azure.com"])
        // Never reached: the sign-in does not finish.
        .args(["--endpoint", "https://127.0.0.1:9/"])
        .args(["--aad", "broker", "--no-persistent-cache"])
        .args(["--timeout-secs", "15"])
        .env("DBUS_SESSION_BUS_ADDRESS", hung.address())
        .env("HOME", &home)
        .env("MR_AUTH_CONFIG_DIR", home.join("config"))
        .env("BROWSER", "false")
        .env_remove("RUST_LOG")
        .env_remove("MIXEDREALITY_ACCOUNT_KEY")
        .env_remove("MIXEDREALITY_STS_ENDPOINT")
        .stdin(Stdio::null());
    // The hung bus runs on this test's runtime while the command runs on a blocking thread.
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::task::spawn_blocking(move || command.output().unwrap()),
    )
    .await
    .expect("the cli finished within 90 s")
    .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("did not answer within 5 s"),
        "the hung bus is logged with -v: {stderr}"
    );
    assert!(
        stderr.contains("To sign in, open this address in a browser"),
        "the browser flow went on: {stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("the credential did not produce an Azure AD token within 15s")
            && last.contains("was not asked"),
        "the error blames the sign-in, not the STS: {last}"
    );
}
