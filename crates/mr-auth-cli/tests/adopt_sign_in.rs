//! `mr-auth login` adopting a sign-in another app left in the shared token cache, `account
//! list`, and `entra-token` naming the sign-ins it saw, each command a separate process: the
//! cache a plaintext file in a home of the test's own, the authority the loopback mock, which
//! counts what it is asked (an adoption is one refresh grant and no authorize request).
//!
//! The first test has MSAL for Python sign in (`MR_AUTH_MSAL_PYTHON`; skipped without it
//! unless `CI` is set); the others seed the cache as another app would have.
#![cfg(target_os = "linux")]

mod cli_support;

use cli_support::{mr_auth, stderr, stdout};
use mr_auth_msal_cache::{AccessTokenSecret, CacheWrite, RefreshTokenSecret};
use mr_auth_test_support::{
    bounded,
    mock_authority::{AuthorizeMode, MockAccount, MockAuthority, CLIENT_ID, TENANT, TENANT_ID},
    msal_python::{python, run_json},
    TempHome,
};
use std::{ffi::OsStr, path::Path, process::Output};
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// `login`'s scope when none is given (as `az login`'s, with its double slash).
const LOGIN_SCOPE: &str = "https://management.azure.com//.default";
const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
/// The flags of every sign-in command here: the mock's tenant, and the plaintext cache (no
/// Secret Service in these homes).
const FLAGS: [&str; 3] = ["--tenant", TENANT, "--allow-unencrypted-storage"];

/// A user's machine: a home (and config dir) of its own, no Secret Service, the mock authority.
struct Machine {
    authority: MockAuthority,
    home: TempHome,
    /// Every command's stderr, to look for secrets in at the end.
    stderr: std::sync::Mutex<String>,
}

impl Machine {
    async fn new() -> Self {
        Self {
            authority: MockAuthority::start(AuthorizeMode::Stall).await,
            home: TempHome::new(),
            stderr: std::sync::Mutex::new(String::new()),
        }
    }

    /// `mr-auth <args> -vv` here, killed if the test gives up on it.
    fn mr_auth(&self, args: &[&str]) -> tokio::process::Command {
        let home = self.home.path();
        let config = home.join("config");
        let mut command = mr_auth(args, home, &config, self.home.no_bus(), &self.authority);
        // A sign-in page is only looked for on stderr; no browser opens it.
        command.arg("-vv").env("BROWSER", "true");
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let out = self.mr_auth(args).output().await.unwrap();
        self.stderr
            .lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// `mr-auth <args>` until it offers the sign-in page on stderr (then it is stopped): what
    /// it printed before, and the page's address.
    async fn until_sign_in_page(&self, args: &[&str]) -> (String, String) {
        let mut child = self.mr_auth(args).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let host = self.authority.authority_host();
        let mut before = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with(&host) && line.contains("/oauth2/v2.0/authorize?") {
                child.kill().await.unwrap();
                self.stderr.lock().unwrap().push_str(&before);
                return (before, line);
            }
            before.push_str(&line);
            before.push('\n');
        }
        panic!("no sign-in page was offered: {before}");
    }

    /// (authorize requests, token requests by grant type).
    fn counters(&self) -> (usize, Vec<String>) {
        self.authority.log(|l| {
            (
                l.authorize_requests,
                l.token_requests.iter().map(|(g, _)| g.clone()).collect(),
            )
        })
    }

    /// `account`'s sign-in by another app of the same client id, whose refresh token the
    /// authority redeems.
    fn other_apps_sign_in(&self, account: &MockAccount) -> CacheWrite {
        let refresh_token = format!("rt-of-{}", account.uid);
        self.authority
            .accept_refresh_token(&refresh_token, account.clone());
        account.sign_in(CLIENT_ID, "127.0.0.1", &refresh_token)
    }

    fn assert_no_secret_in_stderr(&self) {
        let stderr = self.stderr.lock().unwrap();
        assert!(
            stderr.contains(" DEBUG ") || stderr.contains(" TRACE "),
            "the commands ran at trace level: {stderr}"
        );
        for secret in self.authority.log(|l| l.issued_secrets.clone()) {
            assert!(!stderr.contains(&secret), "{secret} leaked on stderr");
        }
    }
}

fn alice() -> MockAccount {
    MockAccount::new("a", "ta", "alice@contoso.com")
}

fn bob() -> MockAccount {
    MockAccount::new("b", "tb", "bob@fabrikam.com")
}

/// MSAL for Python signs in; `entra-token` names that sign-in; `login` adopts it with one
/// refresh grant and no authorize request; `entra-token` in a new process is silent, MSAL's
/// own access token included; `account list` shows it, marked as login's.
#[tokio::test]
async fn login_adopts_what_msal_python_signed_in() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    bounded(async {
        let machine = Machine::new().await;
        // MSAL's account is 00000000-0000-0000-0000-000000000001.<TENANT_ID>, user@contoso.com.
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mr-auth-broker/tests/msal_interop.py");
        let cache_file = machine.home.cache_file();
        let args: [&OsStr; 8] = [
            "write".as_ref(),
            "file".as_ref(),
            cache_file.as_os_str(),
            CLIENT_ID.as_ref(),
            TENANT.as_ref(),
            "rt-msal-seed".as_ref(),
            "127.0.0.1".as_ref(),
            TENANT_ID.as_ref(),
        ];
        let report = run_json(&python, &script, &args, &[]).await;
        assert_eq!(report["access_token"], "at-from-python", "{report}");
        let msal_account = MockAccount::new(
            "00000000-0000-0000-0000-000000000001",
            TENANT_ID,
            "user@contoso.com",
        );
        machine
            .authority
            .accept_refresh_token("rt-from-python", msal_account);

        // Not signed in with mr-auth: entra-token says so and names the sign-in it saw.
        let out = machine.run(&["entra-token", "--scope", STORAGE_SCOPE]).await;
        assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains("not signed in; run `mr-auth login`"), "{said}");
        assert!(said.contains(&format!("user@contoso.com (tenant {TENANT_ID})")), "{said}");
        assert!(
            said.contains("`mr-auth login --username user@contoso.com --allow-unencrypted-storage`"),
            "{said}"
        );

        let out = machine.run(&["login"].iter().chain(&FLAGS).copied().collect::<Vec<_>>()).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            stdout(&out),
            format!("Signed in as user@contoso.com (tenant {TENANT}), adopting the sign-in already in the shared token cache\n")
        );
        assert_eq!(machine.counters(), (0, vec!["refresh_token".to_owned()]));
        assert_eq!(
            machine.authority.log(|l| l.redeemed_refresh_tokens.clone()),
            ["rt-from-python"]
        );
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(machine.home.path().join("config/authentication_record.json"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            record["homeAccountId"],
            format!("00000000-0000-0000-0000-000000000001.{TENANT_ID}")
        );

        // New processes, silent: MSAL's access token for storage, login's for management.
        let out = machine
            .run(&["entra-token", "--scope", STORAGE_SCOPE, "--output", "token"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), "at-from-python\n");
        let out = machine
            .run(&["entra-token", "--scope", LOGIN_SCOPE, "--output", "token"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("access-token-"), "{}", stdout(&out));
        assert_eq!(machine.counters(), (0, vec!["refresh_token".to_owned()]));

        let out = machine.run(&["account", "list", "--output", "json"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let accounts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            accounts,
            serde_json::json!([{
                "username": "user@contoso.com",
                "tenantId": TENANT_ID,
                "homeAccountId": format!("00000000-0000-0000-0000-000000000001.{TENANT_ID}"),
                "environment": "127.0.0.1",
                "loginAccount": true,
            }])
        );
        machine.assert_no_secret_in_stderr();
    })
    .await;
}

/// Two sign-ins: `login` lists them and asks for `--username`; `--username` adopts that one;
/// `account list` shows both; `--prompt` signs in anew; an unknown `--username` signs in with
/// that name filled in.
#[tokio::test]
async fn several_sign_ins_are_chosen_by_username_and_prompt_signs_in_anew() {
    bounded(async {
        let machine = Machine::new().await;
        let (alice_sign_in, bob_sign_in) = (
            machine.other_apps_sign_in(&alice()),
            machine.other_apps_sign_in(&bob()),
        );
        machine.home.seed(&[alice_sign_in, bob_sign_in]).await;

        let out = machine
            .run(&["entra-token", "--scope", STORAGE_SCOPE])
            .await;
        assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
        for needle in [
            "alice@contoso.com (tenant ta)",
            "bob@fabrikam.com (tenant tb)",
            "mr-auth login --username",
        ] {
            assert!(stderr(&out).contains(needle), "{needle}: {}", stderr(&out));
        }

        let login = |extra: &[&'static str]| {
            let mut args = vec!["login"];
            args.extend_from_slice(&FLAGS);
            args.extend_from_slice(extra);
            args
        };
        let out = machine.run(&login(&[])).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        for needle in [
            "several accounts",
            "alice@contoso.com (tenant ta), bob@fabrikam.com (tenant tb)",
            "--username",
            "--prompt",
        ] {
            assert!(stderr(&out).contains(needle), "{needle}: {}", stderr(&out));
        }
        assert_eq!(machine.counters(), (0, vec![]), "nothing was asked");

        let out = machine
            .run(&login(&["--username", "BOB@fabrikam.com"]))
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("Signed in as bob@fabrikam.com"),
            "{}",
            stdout(&out)
        );
        assert_eq!(machine.counters(), (0, vec!["refresh_token".to_owned()]));
        assert_eq!(
            machine.authority.log(|l| l.redeemed_refresh_tokens.clone()),
            ["rt-of-b"]
        );

        let out = machine.run(&["account", "list"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let table = stdout(&out);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[0].starts_with("USERNAME") && lines[0].ends_with("LOGIN"),
            "{table}"
        );
        assert!(
            lines[1].starts_with("alice@contoso.com  ta ") && !lines[1].ends_with('*'),
            "{table}"
        );
        assert!(
            lines[2].starts_with("bob@fabrikam.com   tb ") && lines[2].ends_with(" *"),
            "{table}"
        );

        // --prompt: the sign-in page, whatever the cache holds.
        let (_, page) = machine.until_sign_in_page(&login(&["--prompt"])).await;
        assert!(page.contains("client_id="), "{page}");
        // A name the cache does not hold: said, then the page, filled in for it.
        let (said, page) = machine
            .until_sign_in_page(&login(&["--username", "carol@contoso.com"]))
            .await;
        assert!(
            said.contains("holds no sign-in of carol@contoso.com"),
            "{said}"
        );
        assert!(said.contains("alice@contoso.com (tenant ta)"), "{said}");
        assert!(page.contains("login_hint=carol%40contoso.com"), "{page}");
        assert_eq!(machine.counters().1, ["refresh_token"], "no more grants");
        machine.assert_no_secret_in_stderr();
    })
    .await;
}

/// A refresh token the authority refuses (revoked): `login` says so, then offers the sign-in
/// page.
#[tokio::test]
async fn a_revoked_sign_in_is_said_and_the_interactive_sign_in_follows() {
    bounded(async {
        let machine = Machine::new().await;
        let revoked = CacheWrite {
            refresh_token: Some(RefreshTokenSecret::new("revoked-refresh-token")),
            ..alice().sign_in(CLIENT_ID, "127.0.0.1", "unused")
        };
        machine.home.seed(&[revoked]).await;
        let mut args = vec!["login"];
        args.extend_from_slice(&FLAGS);
        let (said, _) = machine.until_sign_in_page(&args).await;
        assert!(
            said.contains("the existing sign-in of alice@contoso.com (tenant ta) in the shared token cache could not be used"),
            "{said}"
        );
        assert!(said.contains("AADSTS70000"), "the authority's reason: {said}");
        assert!(said.contains("signing in again"), "{said}");
        assert!(!said.contains("revoked-refresh-token"), "{said}");
        assert_eq!(machine.counters(), (0, vec!["refresh_token".to_owned()]));
    })
    .await;
}

/// `account list` shows the cache's text without control characters (JSON keeps it, escaped),
/// and an empty cache as nothing on stdout (`[]` in JSON) and a line on stderr.
#[tokio::test]
async fn account_list_never_writes_the_cache_s_text_raw() {
    bounded(async {
        let machine = Machine::new().await;
        let out = machine.run(&["account", "list"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
        assert!(
            stderr(&out).contains("holds no sign-in of client id"),
            "{}",
            stderr(&out)
        );
        let out = machine.run(&["account", "list", "--output", "json"]).await;
        assert_eq!(stdout(&out), "[]\n");

        let hostile = MockAccount {
            uid: "h".into(),
            utid: "t".into(),
            username: "evil\u{1b}]0;owned\u{7}\u{1b}[2J\u{202e}name@contoso.com".into(),
        };
        let with_token = CacheWrite {
            scopes: vec![STORAGE_SCOPE.into()],
            access_token: Some(AccessTokenSecret::new("at-of-h")),
            expires_in: 3600,
            ..hostile.sign_in(CLIENT_ID, "127.0.0.1", "rt-of-h")
        };
        machine.home.seed(&[with_token]).await;
        let out = machine.run(&["account", "list"]).await;
        let table = stdout(&out);
        assert!(
            !table
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "{table:?}"
        );
        assert!(
            table.contains("evil]0;owned[2Jname@contoso.com"),
            "{table:?}"
        );
        let out = machine.run(&["account", "list", "--output", "json"]).await;
        let text = stdout(&out);
        assert!(!text.contains('\u{1b}'), "escaped in JSON: {text:?}");
        let accounts: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(accounts[0]["username"], hostile.username.as_str());
        assert_eq!(accounts[0]["loginAccount"], false);

        let out = machine
            .run(&["entra-token", "--scope", STORAGE_SCOPE])
            .await;
        assert_eq!(out.status.code(), Some(6));
        assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
    })
    .await;
}
