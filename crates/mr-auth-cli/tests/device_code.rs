//! `mr-auth login` with a device code, as a user runs it: each command a separate process
//! against the loopback mock authority, the tokens in a plaintext cache under a home of the
//! test's own. The flag, the headless choice (and `--aad browser` overriding it), a declined
//! sign-in, an expired code, Ctrl-C while polling, and `token --aad device-code` getting a
//! Mixed Reality token from the STS emulator with the device code sign-in's token.
#![cfg(unix)]

mod cli_support;

use cli_support::{aad_sts, mr_auth, stderr, stdout};
use mr_auth_emulator::RunningEmulator;
use mr_auth_test_support::{
    bounded,
    mock_authority::{AuthorizeMode, DevicePoll, MockAuthority, TENANT},
};
use std::{path::PathBuf, process::Output};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::Child,
};

const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// A user's machine: a home and config dir of its own, no Secret Service, the mock authority.
struct Machine {
    authority: MockAuthority,
    root: PathBuf,
}

impl Machine {
    async fn new() -> Self {
        let root =
            std::env::temp_dir().join(format!("mr-auth-cli-device-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("home")).unwrap();
        let authority = MockAuthority::start(AuthorizeMode::AutoPost).await;
        // One second between polls, so the tests are quick in real time.
        authority.set_device_code_timing(900, Some(1));
        Self { authority, root }
    }

    /// `mr-auth <args>` with `environment` on top of this machine's own.
    fn command(&self, args: &[&str], environment: &[(&str, &str)]) -> tokio::process::Command {
        let (home, config) = (self.root.join("home"), self.root.join("config"));
        let bus = format!("unix:path={}", self.root.join("no-bus").display());
        let mut command = mr_auth(args, &home, &config, bus, &self.authority);
        command.envs(environment.iter().copied());
        command
    }

    async fn run(&self, args: &[&str], environment: &[(&str, &str)]) -> Output {
        self.command(args, environment).output().await.unwrap()
    }

    fn login_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["login", "--tenant", TENANT, "--allow-unencrypted-storage"];
        args.extend_from_slice(extra);
        args
    }

    /// An STS emulator that takes any unexpired JWT as an Azure AD token (the mock authority
    /// issues JWTs from now on), and `mr-auth token --aad device-code` against it.
    async fn token_with_device_code(&self) -> (RunningEmulator, tokio::process::Command) {
        let (emulator, mut args) = aad_sts(&self.authority, &self.root).await;
        args.extend(
            [
                "--aad",
                "device-code",
                "--tenant",
                TENANT,
                "--allow-unencrypted-storage",
            ]
            .map(str::to_owned),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        (emulator, self.command(&args, DESKTOP))
    }

    fn assert_no_secret_in(&self, stderr: &str) {
        for secret in self.authority.log(|l| l.issued_secrets.clone()) {
            assert!(!stderr.contains(&secret), "a secret on stderr");
        }
    }

    fn record_saved(&self) -> bool {
        self.root
            .join("config")
            .join("authentication_record.json")
            .is_file()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Reads `child`'s stderr until a line contains `needle`; every line read so far.
async fn stderr_until(
    child: &mut Child,
    needle: &str,
) -> (
    Vec<String>,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let found = line.contains(needle);
        seen.push(line);
        if found {
            return (seen, lines);
        }
    }
    panic!("stderr ended without {needle:?}: {seen:?}");
}

/// A desktop session: `login` would use the browser.
const DESKTOP: &[(&str, &str)] = &[("DISPLAY", ":0"), ("BROWSER", "true")];

#[tokio::test]
async fn use_device_code_signs_in_and_later_commands_are_silent() {
    bounded(async {
        let m = Machine::new().await;
        // The user approves on another device after the first poll.
        m.authority
            .script_device_polls([DevicePoll::Pending, DevicePoll::Success]);
        let out = m
            .run(&Machine::login_args(&["--use-device-code"]), DESKTOP)
            .await;
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        let user_code = m.authority.user_code().unwrap();
        assert!(
            err.contains(&format!("{}/devicelogin", m.authority.authority_host()))
                && err.contains(&user_code),
            "the message with the address and code goes to stderr: {err}"
        );
        assert!(
            !err.contains("To sign in, open this address"),
            "no browser: {err}"
        );
        assert_eq!(
            stdout(&out),
            "Signed in as user@contoso.com (tenant contoso.onmicrosoft.com)\n"
        );
        assert!(m.record_saved());
        assert_eq!(
            m.authority
                .log(|l| (l.device_code_requests, l.authorize_requests)),
            (1, 0)
        );

        // A new process gets a token for another scope silently, from the stored refresh token.
        let out = m
            .run(
                &["entra-token", "--scope", STORAGE_SCOPE, "--output", "token"],
                &[],
            )
            .await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("access-token-"));
        assert_eq!(
            m.authority.log(|l| l.device_code_requests),
            1,
            "no second code"
        );
        m.assert_no_secret_in(&err);
    })
    .await;
}

#[tokio::test]
async fn without_a_display_or_in_ssh_login_uses_a_device_code_and_says_why() {
    bounded(async {
        for (environment, why) in [
            (
                &[][..],
                "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)",
            ),
            (
                &[
                    ("DISPLAY", "localhost:10.0"),
                    ("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22"),
                ][..],
                "this is an SSH session",
            ),
        ] {
            let m = Machine::new().await;
            m.authority.script_device_polls([DevicePoll::Success]);
            let out = m.run(&Machine::login_args(&[]), environment).await;
            let err = stderr(&out);
            assert!(out.status.success(), "{err}");
            let said: Vec<&str> = err
                .lines()
                .filter(|l| l.contains("signing in with a device code"))
                .collect();
            assert_eq!(said.len(), 1, "one line: {err}");
            assert!(
                said[0].contains(why) && said[0].contains("--aad browser"),
                "{err}"
            );
            assert_eq!(
                m.authority
                    .log(|l| (l.device_code_requests, l.authorize_requests)),
                (1, 0)
            );
        }
    })
    .await;
}

#[tokio::test]
async fn aad_browser_still_forces_the_browser_on_a_headless_machine() {
    bounded(async {
        let m = Machine::new().await;
        let mut child = m
            .command(
                &Machine::login_args(&["--aad", "browser"]),
                &[("SSH_TTY", "/dev/pts/1")],
            )
            .spawn()
            .unwrap();
        let (seen, _) = stderr_until(&mut child, "To sign in, open this address").await;
        assert!(!seen.iter().any(|l| l.contains("device code")), "{seen:?}");
        assert_eq!(m.authority.log(|l| l.device_code_requests), 0);
        child.kill().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_declined_sign_in_and_an_expired_code_fail_and_save_nothing() {
    bounded(async {
        let m = Machine::new().await;
        m.authority
            .script_device_polls([DevicePoll::Pending, DevicePoll::Declined]);
        let out = m
            .run(&Machine::login_args(&["--use-device-code"]), DESKTOP)
            .await;
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains("declined"), "{}", stderr(&out));
        assert!(!m.record_saved());

        // The code lasts 2 s and is polled every second: one poll, then the code has expired.
        m.authority.set_device_code_timing(2, Some(1));
        let out = m
            .run(&Machine::login_args(&["--use-device-code"]), DESKTOP)
            .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("device code expired"), "{err}");
        assert!(!m.record_saved());
        assert_eq!(m.authority.log(|l| l.device_polls.len()), 3, "2 + 1");
    })
    .await;
}

#[tokio::test]
async fn ctrl_c_while_waiting_ends_polling_at_once_and_fails() {
    bounded(async {
        let m = Machine::new().await;
        let mut child = m
            .command(&Machine::login_args(&["--use-device-code"]), DESKTOP)
            .spawn()
            .unwrap();
        // The prompt is on stderr: the command is polling.
        let (_, mut rest) = stderr_until(&mut child, "/devicelogin").await;
        assert_eq!(m.authority.log(|l| l.device_code_requests), 1);
        let pid = child.id().unwrap().to_string();
        let sent = tokio::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(130));
        let mut after = Vec::new();
        while let Some(line) = rest.next_line().await.unwrap() {
            after.push(line);
        }
        assert!(
            after.iter().any(|l| l.contains("interrupted (Ctrl-C)")),
            "{after:?}"
        );
        assert!(!m.record_saved());
    })
    .await;
}

/// `token --aad device-code`: the message with the code is on stderr while the sign-in still
/// waits for the user (the user answers only once it is there), then the sign-in's Azure AD
/// token is exchanged for a Mixed Reality token.
#[tokio::test]
async fn token_aad_device_code_shows_the_code_at_once_then_exchanges_the_token() {
    bounded(async {
        let m = Machine::new().await;
        let (emulator, mut command) = m.token_with_device_code().await;
        let mut child = command.spawn().unwrap();
        let (mut err, mut rest) = stderr_until(&mut child, "/devicelogin").await;
        let user_code = m.authority.user_code().unwrap();
        assert!(err.last().unwrap().contains(&user_code), "{err:?}");
        assert!(
            m.authority.log(|l| l
                .device_polls
                .iter()
                .all(|(_, answer)| *answer == DevicePoll::Pending)),
            "the sign-in is still waiting"
        );
        assert_eq!(emulator.stats().token_requests, 0);

        // The user enters the code on another device.
        assert!(m.authority.answer_user_code(&user_code, true));
        let out = child.wait_with_output().await.unwrap();
        while let Some(line) = rest.next_line().await.unwrap() {
            err.push(line);
        }
        let err = err.join("\n");
        assert!(out.status.success(), "{err}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            json["token"].as_str().is_some_and(|t| t.starts_with("eyJ")),
            "{json}"
        );
        assert_eq!(emulator.stats().tokens_issued, 1);
        assert_eq!(
            m.authority
                .log(|l| (l.device_code_requests, l.authorize_requests)),
            (1, 0)
        );
        assert_eq!(
            m.authority
                .log(|l| l.device_polls.last().map(|(_, answer)| *answer)),
            Some(DevicePoll::Success)
        );
        let scope = m
            .authority
            .log(|l| l.last_device_code_form.get("scope").cloned())
            .unwrap();
        assert!(
            scope.contains("https://sts.mixedreality.azure.com//.default"),
            "{scope}"
        );
        m.assert_no_secret_in(&err);
        assert!(!err.contains(&json["token"].as_str().unwrap()[..40]));
    })
    .await;
}

/// `token --aad device-code` declined on the other device, or with a code that expired: the
/// typed error's reason and its exit code, no token asked of the STS.
#[tokio::test]
async fn token_aad_device_code_declined_or_expired_fails_with_the_reason() {
    bounded(async {
        for (answer, says) in [
            (Some(DevicePoll::Declined), "declined"),
            // The authority says the code expired.
            (Some(DevicePoll::Expired), "device code expired"),
            // The code's own lifetime (2 s, polled every second) runs out first.
            (None, "device code expired after 2 s"),
        ] {
            let m = Machine::new().await;
            match answer {
                Some(answer) => m
                    .authority
                    .script_device_polls([DevicePoll::Pending, answer]),
                None => m.authority.set_device_code_timing(2, Some(1)),
            }
            let (emulator, mut command) = m.token_with_device_code().await;
            let out = command.output().await.unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(3), "{answer:?}: {err}");
            assert!(err.contains(says), "{answer:?}: {err}");
            assert!(err.contains("/devicelogin"), "the code was shown: {err}");
            assert_eq!(stdout(&out), "", "{answer:?}");
            assert_eq!(emulator.stats().token_requests, 0, "{answer:?}");
            assert_eq!(m.authority.log(|l| l.device_code_requests), 1);
        }
    })
    .await;
}

/// After `login --use-device-code`, `token --aad device-code` is silent for the saved account:
/// the refresh token gets the Azure AD token for the STS, and no second code is shown.
#[tokio::test]
async fn token_aad_device_code_is_silent_after_login() {
    bounded(async {
        let m = Machine::new().await;
        m.authority.script_device_polls([DevicePoll::Success]);
        let out = m
            .run(&Machine::login_args(&["--use-device-code"]), DESKTOP)
            .await;
        assert!(out.status.success(), "{}", stderr(&out));
        let (emulator, mut command) = m.token_with_device_code().await;
        let out = command.output().await.unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("/devicelogin"), "no code shown: {err}");
        assert_eq!(
            m.authority.log(|l| l.device_code_requests),
            1,
            "no second code"
        );
        let grants: Vec<String> = m
            .authority
            .log(|l| l.token_requests.iter().map(|(g, _)| g.clone()).collect());
        assert_eq!(grants.last().map(String::as_str), Some("refresh_token"));
        assert_eq!(emulator.stats().tokens_issued, 1);
        m.assert_no_secret_in(&err);
    })
    .await;
}
