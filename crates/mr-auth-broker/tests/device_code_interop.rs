//! The device code sign-in shared with Python: azure-identity's `DeviceCodeCredential`
//! (`tests/device_code_interop.py`, on MSAL and msal-extensions) and this crate's, on the same
//! persistent cache (a plaintext file under a home of the test's own), both directions. Python
//! signs in with a device code against the loopback mock authority (both over https, through a
//! TLS front), and the Rust credential gets a token silently with Python's record; then the
//! Rust credential signs in and Python gets that token silently with its record. The records
//! name the authority's host and port, as azure-identity's do.
//!
//! The interpreter is `MR_AUTH_MSAL_PYTHON` (`cargo xtask ci msal-python` makes a venv with
//! msal and azure-identity). Without it the tests are skipped with a message, except under
//! `CI`, where they fail.

#![cfg(target_os = "linux")]

use mr_auth_broker::{
    test_util::{device_code_credential_with_hooks, TestHooks},
    AuthenticationRecord, DeviceCodeCredentialOptions, DeviceCodePromptCallback,
    TokenCachePersistenceOptions,
};
use mr_auth_core::EnvironmentMap;
use mr_auth_test_support::{
    bounded,
    mock_authority::{
        AuthorizeMode, DevicePoll, MockAuthority, CLIENT_ID, DEVICE_CODE_GRANT, TENANT,
    },
    msal_python::python,
    TlsFront,
};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

const SCOPE: &str = "https://storage.azure.com/.default";

/// A machine: a home with no Secret Service (so both sides keep the plaintext file), the
/// mock authority, and its TLS front for Python.
struct Machine {
    authority: MockAuthority,
    front: TlsFront,
    home: PathBuf,
    ca_file: PathBuf,
}

impl Machine {
    async fn new() -> Self {
        let home =
            std::env::temp_dir().join(format!("mr-auth-dc-interop-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&home).unwrap();
        let authority = MockAuthority::start(AuthorizeMode::AutoPost).await;
        authority.set_device_code_timing(900, Some(1));
        let front = TlsFront::start(SocketAddr::from(([127, 0, 0, 1], authority.port))).await;
        authority.set_public_url(front.url());
        let ca_file = home.join("ca.pem");
        std::fs::write(&ca_file, front.ca_pem()).unwrap();
        Self {
            authority,
            front,
            home,
            ca_file,
        }
    }

    fn bus(&self) -> String {
        format!("unix:path={}", self.home.join("no-bus").display())
    }

    fn python(&self, python: &Path, args: &[&str]) -> tokio::process::Command {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/device_code_interop.py");
        let mut command = tokio::process::Command::new(python);
        command
            .arg(script)
            .arg(args[0])
            .args([self.front.url(), TENANT, CLIENT_ID])
            .arg(&self.ca_file)
            .arg(SCOPE)
            .args(&args[1..])
            .env("HOME", &self.home)
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// The Rust credential on the same cache, at the same authority as Python (the TLS front:
    /// host and port are what a record names, and a record's refresh token goes nowhere else).
    fn options(&self, record: Option<AuthenticationRecord>) -> DeviceCodeCredentialOptions {
        let trusting_the_front = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.front.ca_pem().as_bytes()).unwrap(),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        DeviceCodeCredentialOptions {
            client_id: CLIENT_ID.parse().unwrap(),
            tenant_id: TENANT.parse().unwrap(),
            authority: Some(self.front.url().parse().unwrap()),
            client_options: azure_core::http::ClientOptions {
                transport: Some(azure_core::http::Transport::new(Arc::new(
                    trusting_the_front,
                ))),
                ..Default::default()
            },
            cache_persistence_options: Some(TokenCachePersistenceOptions {
                allow_unencrypted_storage: true,
                ..Default::default()
            }),
            disable_automatic_authentication: record.is_some(),
            authentication_record: record,
            ..Default::default()
        }
    }

    fn hooks(&self) -> TestHooks {
        TestHooks {
            environment: Arc::new(
                EnvironmentMap::new()
                    .with("HOME", self.home.to_str().unwrap())
                    .with("DBUS_SESSION_BUS_ADDRESS", self.bus()),
            ),
            ..TestHooks::default()
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_identity_signs_in_with_a_device_code_and_the_rust_credential_is_silent() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    bounded(async {
        let m = Machine::new().await;
        let mut child = m.python(&python, &["sign-in"]).spawn().unwrap();
        // The user reads azure-identity's prompt and approves on "another device".
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let user_code = loop {
            let line = stderr
                .next_line()
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("python ended without a prompt: {seen:?}"));
            if let Ok(prompt) = serde_json::from_str::<serde_json::Value>(&line) {
                break prompt["user_code"].as_str().unwrap().to_owned();
            }
            seen.push(line);
        };
        assert_eq!(Some(user_code.clone()), m.authority.user_code());
        assert!(m.authority.answer_user_code(&user_code, true));
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        let status = child.wait().await.unwrap();
        let mut rest = String::new();
        while let Some(line) = stderr.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        assert!(status.success(), "python failed: {seen:?}\n{rest}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let python_token = report["token"].as_str().unwrap().to_owned();
        assert!(m.authority.log(|l| l
            .token_requests
            .iter()
            .any(|(grant, ok)| grant == DEVICE_CODE_GRANT && *ok)));

        // The Rust credential with Python's record: Python's access token, no request at all.
        let record = AuthenticationRecord::from_json(report["record"].as_str().unwrap()).unwrap();
        assert_eq!(record.username(), "user@contoso.com");
        let requests = m.authority.log(|l| l.token_requests.len());
        let prompt = DeviceCodePromptCallback::new(|_| panic!("no prompt: silent"));
        let rust =
            device_code_credential_with_hooks(prompt, Some(m.options(Some(record))), m.hooks())
                .unwrap();
        let token = rust.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(token.token.secret(), python_token);
        assert_eq!(m.authority.log(|l| l.token_requests.len()), requests);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_credential_signs_in_with_a_device_code_and_azure_identity_is_silent() {
    let Ok(python) = python().inspect_err(|skip| eprintln!("{skip}")) else {
        return;
    };
    bounded(async {
        let m = Machine::new().await;
        // The user approves as soon as the code is shown.
        let approve = {
            let codes = Arc::new(std::sync::Mutex::new(Vec::new()));
            let seen = Arc::clone(&codes);
            (
                DeviceCodePromptCallback::new(move |prompt| {
                    seen.lock().unwrap().push(prompt.user_code.clone());
                    Ok(())
                }),
                codes,
            )
        };
        m.authority.script_device_polls([DevicePoll::Success]);
        let rust =
            device_code_credential_with_hooks(approve.0, Some(m.options(None)), m.hooks()).unwrap();
        let record = rust.authenticate(&[SCOPE], None).await.unwrap();
        let rust_token = rust.get_token_info(&[SCOPE], None).await.unwrap();
        assert_eq!(approve.1.lock().unwrap().len(), 1);

        let record_file = m.home.join("record.json");
        std::fs::write(&record_file, record.to_json()).unwrap();
        let requests = m.authority.log(|l| l.token_requests.len());
        let out = m
            .python(&python, &["silent", record_file.to_str().unwrap()])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["token"], rust_token.token.secret(), "{report}");
        assert_eq!(
            m.authority.log(|l| l.token_requests.len()),
            requests,
            "no request"
        );
        assert_eq!(
            m.authority.log(|l| l.device_code_requests),
            1,
            "one sign-in in all"
        );
    })
    .await;
}
