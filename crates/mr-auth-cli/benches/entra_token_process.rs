//! The warm `mr-auth entra-token --output token` as a whole process (release build), next to a
//! fresh Python azure-identity `get_token` on the same persistent cache, side by side in one
//! `hyperfine` run, with the floors of a process on this machine in the same run.
//!
//! ```text
//! cargo xtask bench entra-token          # installs hyperfine and the Python venv, then runs this
//! MR_AUTH_BENCH_PYTHON=<python with azure-identity> cargo bench -p mr-auth-cli --bench entra_token_process
//! ```
//!
//! Setup, all on loopback: the test-support mock authority (v1 JWT access tokens) with a TLS
//! front for Python (azure-identity and MSAL refuse a plain-HTTP authority); a home and a
//! configuration directory of their own; a real `mr-auth login --allow-unencrypted-storage`
//! whose sign-in page a scripted browser approves, which leaves the account
//! (`authentication_record.json`, `login_settings.json`) and the tokens (the plaintext
//! `~/.IdentityService/msal.cache.nocae`, which azure-identity reads too) as a user's login
//! would. Then each command runs once, both must print the same cached token, and the mock's
//! request counter must not move for `mr-auth` (Python makes one request per process: MSAL
//! fetches the tenant's OpenID configuration whenever it builds its application). Then
//! hyperfine times, in one run:
//!
//! - `mr-auth entra-token --output token` (warm: a valid token in the cache);
//! - `python azure_identity_get_token.py` (azure-identity `InteractiveBrowserCredential` with
//!   the saved record and the same cache, `get_token`);
//! - floors: `mr-auth --version` (this binary's start-up: loading, the tokio runtime, clap) and
//!   `cat` of the cache file (a process that reads the file and prints it).
//!
//! After the run the counter is checked again: only Python's discovery requests were made.
//! Environment: `MR_AUTH_BENCH_PYTHON` (required; without it the bench says why and does
//! nothing), `MR_AUTH_BENCH_BIN` (the `mr-auth` to time; default the one cargo built for this
//! bench, whose dependencies carry the dev-dependencies' features: `cargo xtask bench` passes
//! the plain release build), `MR_AUTH_BENCH_RUNS` (default 50), `MR_AUTH_BENCH_OUT` (a directory for
//! `entra-token.json`, hyperfine's export; default the temporary directory), and
//! `MR_AUTH_BENCH_KEEP` (a directory: the seeded `home/`, `config/` and the front's CA are made
//! there and kept, so the warm process can be profiled by hand afterwards, e.g.
//! `HOME=$DIR/home MR_AUTH_CONFIG_DIR=$DIR/config strace -c -f mr-auth entra-token ...`; the
//! authority is gone by then, which a warm run does not notice).

#![allow(
    missing_docs,
    reason = "a benchmark binary, not an API: criterion's convention of undocumented items"
)]

#[cfg(target_os = "linux")]
mod process_bench {
    use mr_auth_test_support::{
        chromium::{BrowserLauncher as _, ScriptedBrowser},
        mock_authority::{AuthorizeMode, MockAuthority, V1AccessTokens, CLIENT_ID, TENANT},
        TlsFront,
    };
    use std::{
        io::{BufRead as _, BufReader},
        net::{Ipv4Addr, SocketAddr},
        path::{Path, PathBuf},
        process::{Command, Stdio},
        sync::{mpsc, Arc},
        time::Duration,
    };

    /// The `mr-auth` cargo built for this bench. Its dependencies have the features of the
    /// bench's dev-dependencies too (test-support's TLS turns on rustls' aws-lc-rs provider),
    /// so it is not quite the binary users get: `cargo xtask bench` passes the plain
    /// `cargo build --release -p mr-auth-cli` binary in `MR_AUTH_BENCH_BIN` instead.
    const CARGO_BIN: &str = env!("CARGO_BIN_EXE_mr-auth");
    const SCOPE: &str = "https://storage.azure.com/.default";
    const PYTHON_SCRIPT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/azure_identity_get_token.py"
    );

    /// The names of hyperfine's rows, which `cargo xtask bench` reads back.
    const OURS: &str = "mr-auth entra-token (warm)";
    const PYTHON: &str = "python azure-identity get_token (fresh process)";
    const FLOOR_START: &str = "floor: mr-auth --version";
    const FLOOR_CAT: &str = "floor: cat the cache file";

    /// A user's machine: its own home and configuration directory, removed on drop unless
    /// kept.
    struct Machine {
        root: PathBuf,
        keep: bool,
    }

    impl Machine {
        fn new(keep: Option<PathBuf>) -> Self {
            let root = keep.clone().unwrap_or_else(|| {
                std::env::temp_dir()
                    .join(format!("mr-auth-entra-token-bench-{}", std::process::id()))
            });
            let _ = std::fs::remove_dir_all(root.join("home"));
            let _ = std::fs::remove_dir_all(root.join("config"));
            for dir in ["home", "config"] {
                std::fs::create_dir_all(root.join(dir)).expect("the bench's temporary directory");
            }
            Self {
                root,
                keep: keep.is_some(),
            }
        }

        fn home(&self) -> PathBuf {
            self.root.join("home")
        }

        fn config(&self) -> PathBuf {
            self.root.join("config")
        }

        fn cache_file(&self) -> PathBuf {
            self.home()
                .join(".IdentityService")
                .join("msal.cache.nocae")
        }

        /// The environment every command runs with: nothing of the caller's but `PATH`; no
        /// session bus (so the cache is the plaintext file), Python trusting the front's CA.
        fn env(&self, ca_file: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
            vec![
                ("PATH", std::env::var_os("PATH").unwrap_or_default()),
                ("HOME", self.home().into()),
                ("MR_AUTH_CONFIG_DIR", self.config().into()),
                ("REQUESTS_CA_BUNDLE", ca_file.into()),
            ]
        }
    }

    impl Drop for Machine {
        fn drop(&mut self) {
            if !self.keep {
                let _ = std::fs::remove_dir_all(&self.root);
            }
        }
    }

    /// `mr-auth login` against the mock, the scripted browser approving the address it prints.
    fn login(machine: &Machine, bin: &str, authority: &Arc<MockAuthority>) -> Result<(), String> {
        let host = authority.authority_host();
        let mut child = Command::new(bin)
            .args(["login", "--tenant", TENANT, "--scope", SCOPE])
            .arg("--allow-unencrypted-storage")
            .env_clear()
            .envs(machine.env(Path::new("/nonexistent")))
            .env("AZURE_AUTHORITY_HOST", &host)
            .env("MR_AUTH_CLIENT_ID", CLIENT_ID)
            // The address goes to the scripted browser from stderr, as a user on a headless
            // machine would open it; the CLI's own "browser" does nothing.
            .env("BROWSER", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {bin}: {e}"))?;
        let stderr = child.stderr.take().ok_or("login has no stderr")?;
        let (address_tx, address_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().take(200) {
                let Ok(line) = line else { break };
                if line.starts_with(&host) {
                    let _ = address_tx.send(line.clone());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let opened = address_rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "login printed no sign-in address within 60 s".to_owned())
            .and_then(|address| {
                let url = address.parse().map_err(|e| format!("{address}: {e}"))?;
                ScriptedBrowser::new(Arc::clone(authority))
                    .open(&url)
                    .map_err(|e| format!("the scripted browser: {e}"))
            });
        if opened.is_err() {
            let _ = child.kill();
        }
        let status = child.wait().map_err(|e| format!("login: {e}"))?;
        let stderr = reader.join().unwrap_or_default();
        opened?;
        if !status.success() {
            return Err(format!("mr-auth login failed ({status}):\n{stderr}"));
        }
        Ok(())
    }

    /// Runs `program args` in the machine's environment; its stdout, trimmed.
    fn run_once(
        machine: &Machine,
        ca_file: &Path,
        program: &str,
        args: &[&str],
    ) -> Result<String, String> {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .envs(machine.env(ca_file))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{program} {args:?} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// (every request, token requests) the mock has received so far.
    fn counters(authority: &MockAuthority) -> (usize, usize) {
        authority.log(|log| (log.requests, log.token_requests.len()))
    }

    pub(crate) fn run() -> Result<(), String> {
        let Some(python) = std::env::var_os("MR_AUTH_BENCH_PYTHON").filter(|p| !p.is_empty())
        else {
            println!(
                "entra_token_process: skipped: MR_AUTH_BENCH_PYTHON is not set (a Python with \
                 azure-identity; `cargo xtask bench entra-token` makes one)"
            );
            return Ok(());
        };
        let python = python.to_string_lossy().into_owned();
        let bin = std::env::var("MR_AUTH_BENCH_BIN")
            .ok()
            .filter(|bin| !bin.is_empty())
            .unwrap_or_else(|| CARGO_BIN.to_owned());
        println!("timing {bin}");
        let runs: u32 = match std::env::var("MR_AUTH_BENCH_RUNS") {
            Ok(runs) => runs
                .parse()
                .map_err(|_| format!("MR_AUTH_BENCH_RUNS={runs:?} is not a number"))?,
            Err(_) => 50,
        };
        let warmup = 5;
        let out_dir =
            std::env::var_os("MR_AUTH_BENCH_OUT").map_or_else(std::env::temp_dir, PathBuf::from);
        std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;

        let server = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio: {e}"))?;
        let (authority, front) = server.block_on(async {
            let authority = Arc::new(MockAuthority::start(AuthorizeMode::AutoPost).await);
            authority.issue_v1_access_tokens(V1AccessTokens::default());
            let front =
                TlsFront::start(SocketAddr::from((Ipv4Addr::LOCALHOST, authority.port))).await;
            authority.set_public_url(front.url());
            (authority, front)
        });
        let machine = Machine::new(
            std::env::var_os("MR_AUTH_BENCH_KEEP")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
        );
        let ca_file = machine.root.join("front-ca.pem");
        std::fs::write(&ca_file, front.ca_pem()).map_err(|e| format!("the CA file: {e}"))?;

        login(&machine, &bin, &authority)?;
        let record = machine.config().join("authentication_record.json");
        // azure-identity's `authority` is the host; the tenant comes from the record.
        let python_authority = front.url().to_owned();
        let ours_args = ["entra-token", "--scope", SCOPE, "--output", "token"];
        let record_arg = record.display().to_string();
        let python_args = [
            PYTHON_SCRIPT,
            record_arg.as_str(),
            python_authority.as_str(),
            SCOPE,
        ];

        // Once each: the same cached token, and no request from mr-auth.
        let (requests, tokens) = counters(&authority);
        let our_token = run_once(&machine, &ca_file, &bin, &ours_args)?;
        let after_ours = counters(&authority);
        if after_ours != (requests, tokens) {
            return Err(format!(
                "the warm entra-token made {} request(s) to the authority; it must need none",
                after_ours.0 - requests
            ));
        }
        let python_token = run_once(&machine, &ca_file, &python, &python_args)?;
        let (after_python, token_requests) = counters(&authority);
        let python_requests = after_python - after_ours.0;
        if token_requests != tokens {
            return Err("Python asked the token endpoint: it did not find the cached token".into());
        }
        if our_token.is_empty() || our_token != python_token {
            return Err("mr-auth and azure-identity printed different tokens".into());
        }
        println!(
            "both print the cached token ({} bytes); requests per process: mr-auth 0, Python \
             {python_requests} (MSAL's OpenID configuration)",
            our_token.len()
        );

        let export = out_dir.join("entra-token.json");
        let command_line = |program: &str, args: &[&str]| {
            std::iter::once(program)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let cache_file = machine.cache_file().display().to_string();
        let status = Command::new("hyperfine")
            .env_clear()
            .envs(machine.env(&ca_file))
            .args([
                "-N",
                "--warmup",
                &warmup.to_string(),
                "--runs",
                &runs.to_string(),
            ])
            .arg("--export-json")
            .arg(&export)
            .args(["--command-name", OURS, &command_line(&bin, &ours_args)])
            .args([
                "--command-name",
                PYTHON,
                &command_line(&python, &python_args),
            ])
            .args([
                "--command-name",
                FLOOR_START,
                &command_line(&bin, &["--version"]),
            ])
            .args([
                "--command-name",
                FLOOR_CAT,
                &command_line("cat", &[&cache_file]),
            ])
            .status()
            .map_err(|e| format!("cannot run hyperfine (is it installed?): {e}"))?;
        if !status.success() {
            return Err(format!("hyperfine failed ({status})"));
        }
        let (after_run, token_requests) = counters(&authority);
        let expected = python_requests * (warmup + runs) as usize;
        if token_requests != tokens || after_run - after_python != expected {
            return Err(format!(
                "during the run the authority got {} request(s) ({} token requests); only \
                 Python's {expected} discovery requests were expected",
                after_run - after_python,
                token_requests - tokens
            ));
        }
        println!(
            "no token request during the run; mr-auth made no request at all, Python \
             {python_requests} per process; hyperfine's export: {}",
            export.display()
        );
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    match process_bench::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("entra_token_process: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("entra_token_process: Linux only (the plaintext cache and /proc)");
}
