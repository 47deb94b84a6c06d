//! The Python peer of the interop tests: the interpreter `MR_AUTH_MSAL_PYTHON` names (`cargo
//! xtask ci msal-python` makes a venv with msal, msal-extensions and azure-identity, pinned),
//! and running one of the tests' scripts with it.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
};

/// Why the interop tests skip: `MR_AUTH_MSAL_PYTHON` is not set. The test prints it (this
/// helper prints nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonNotSet;

impl std::fmt::Display for PythonNotSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "skipped: MR_AUTH_MSAL_PYTHON is not set (a Python with msal, msal-extensions and azure-identity)",
        )
    }
}

/// The interpreter `MR_AUTH_MSAL_PYTHON` names, or why there is none.
///
/// # Panics
///
/// When it is not set under `CI`: there the interop tests must run, not skip.
pub fn python() -> Result<PathBuf, PythonNotSet> {
    match std::env::var_os("MR_AUTH_MSAL_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(
                !ci,
                "MR_AUTH_MSAL_PYTHON is not set under CI: `cargo xtask ci` sets it to a venv with msal"
            );
            Err(PythonNotSet)
        }
    }
}

/// Runs `script` with `args` (and the extra environment `env`), and returns the JSON object
/// it prints.
///
/// # Panics
///
/// When the script fails or prints no JSON: the interop test fails with its stderr.
pub async fn run_json<A: AsRef<OsStr>>(
    python: &Path,
    script: &Path,
    args: &[A],
    env: &[(&str, &OsStr)],
) -> serde_json::Value {
    let mut command = tokio::process::Command::new(python);
    command.arg(script).args(args).kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().await.expect("run python");
    let name = script.file_name().unwrap_or_default().to_string_lossy();
    assert!(
        out.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Asserts what an interop script reports after reading a cache another program wrote: it got
/// `access_token` from the cache with no request (`cached_access_token`,
/// `token_requests_for_cached`), then posted `refresh_token`, and only it, for a new one
/// (`posted_refresh_tokens`).
///
/// # Panics
///
/// When the report says otherwise.
pub fn assert_read_without_request(
    report: &serde_json::Value,
    access_token: &str,
    refresh_token: &str,
) {
    assert_eq!(report["cached_access_token"], access_token, "{report}");
    assert_eq!(
        report["token_requests_for_cached"], 0,
        "a cached token needs no request: {report}"
    );
    assert_eq!(
        report["posted_refresh_tokens"],
        serde_json::json!([refresh_token]),
        "{report}"
    );
}
