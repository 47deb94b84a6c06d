//! What the `mr-auth` process tests share: the binary run as a user on a machine of the test's
//! own, and what it printed, as text.
#![allow(
    unreachable_pub,
    reason = "a module of each CLI test binary, not of a library"
)]
#![allow(dead_code, reason = "each test binary uses the part it needs")]

use mr_auth_emulator::{AadMode, Emulator, RunningEmulator};
use mr_auth_test_support::mock_authority::{MockAuthority, V1AccessTokens, CLIENT_ID};
use std::{
    ffi::OsStr,
    path::Path,
    process::{Output, Stdio},
};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mr-auth");

/// `mr-auth <args>` as a user runs it on the test's machine: nothing of the test's environment
/// but `PATH`; the user's `home`, mr-auth's `config` directory, the session `bus` (one where no
/// Secret Service answers, or a private one), and the mock `authority` with its app
/// registration standing for Entra ID. Standard input empty, the output piped, and the process
/// killed if the test gives up on it.
pub fn mr_auth(
    args: &[&str],
    home: &Path,
    config: &Path,
    bus: impl AsRef<OsStr>,
    authority: &MockAuthority,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("MR_AUTH_CONFIG_DIR", config)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("AZURE_AUTHORITY_HOST", authority.authority_host())
        .env("MR_AUTH_CLIENT_ID", CLIENT_ID)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// What the process printed on stdout.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the process printed on stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The Mixed Reality account of the `token --aad` tests.
pub const AAD_ACCOUNT: &str = "87e9abb1-79b9-4502-bbae-cfae8c610f23";

/// An STS emulator that takes any unexpired JWT as an Azure AD token (`authority` issues JWTs
/// from now on), with its CA in `dir/ca.pem`; and the arguments of `mr-auth token` for
/// [`AAD_ACCOUNT`] there, to which the test adds `--aad` and the rest.
pub async fn aad_sts(authority: &MockAuthority, dir: &Path) -> (RunningEmulator, Vec<String>) {
    authority.issue_v1_access_tokens(V1AccessTokens::default());
    let emulator = Emulator::builder()
        .account(uuid::Uuid::parse_str(AAD_ACCOUNT).unwrap(), "unused-key")
        .aad(AadMode::Permissive)
        .start()
        .await
        .unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem().unwrap()).unwrap();
    let args = [
        "token",
        "--account-id",
        AAD_ACCOUNT,
        "--account-domain",
        "mixedreality.azure.com",
        "--endpoint",
        emulator.endpoint().as_str(),
        "--ca-file",
        &ca.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    (emulator, args)
}
