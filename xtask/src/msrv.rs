//! The minimum supported Rust version: the workspace is checked with the toolchain its
//! `rust-version` declares (read from the root `Cargo.toml`, so raising it needs no edit here).

use std::path::Path;

use crate::cmd::{Cmd, Result};

/// The `rust-version` of `[workspace.package]` in a root `Cargo.toml`.
pub(crate) fn declared(root_manifest: &str) -> Result<String> {
    let mut in_table = false;
    for line in root_manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[workspace.package]";
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "rust-version" {
            continue;
        }
        let value = value.split('#').next().unwrap_or_default().trim();
        let version = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("rust-version is not a string: {value}"))?;
        let parts: Vec<&str> = version.split('.').collect();
        let numeric = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !(2..=3).contains(&parts.len()) || !numeric {
            return Err(format!(
                "rust-version `{version}` is not MAJOR.MINOR[.PATCH]"
            ));
        }
        return Ok(version.to_owned());
    }
    Err("no rust-version in [workspace.package] of Cargo.toml".to_owned())
}

/// The `rust-version` the workspace at `root` declares.
pub(crate) fn declared_in(root: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("cannot read Cargo.toml: {e}"))?;
    declared(&manifest)
}

/// Whether rustup has toolchain `version`.
pub(crate) fn toolchain_installed(version: &str) -> bool {
    Cmd::new("rustup")
        .args(["run", version, "rustc", "--version"])
        .succeeds_quietly()
}

/// Checks the libraries and binaries of every package, with every feature, with the declared
/// toolchain (installed by `cargo xtask ci setup`) against the committed lock file.
///
/// Tests, benches and examples are not checked with it: users build the libraries and the CLI
/// with the declared Rust; the tests and their dev-dependencies build with stable only (the
/// other steps), and checking them here too took most of this step's time.
pub(crate) fn check(root: &Path) -> Result<String> {
    let version = declared_in(root)?;
    if !toolchain_installed(&version) {
        return Err(format!(
            "Rust {version} (the declared rust-version) is not installed: run `cargo xtask ci setup`"
        ));
    }
    Cmd::new("rustup")
        .current_dir(root)
        // The outer cargo's variables would point the inner one at the newer toolchain.
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .args(["run", &version, "cargo", "check"])
        // No target selection: every library and binary, and no tests, benches or examples.
        .args(["--workspace", "--all-features", "--locked"])
        .run()
        .map_err(|e| {
            format!(
                "{e}\nthe workspace does not build with its declared rust-version {version}: \
                 pick dependency releases that support it (`resolver = \"3\"` does when the lock \
                 file is updated), or raise rust-version in Cargo.toml and say why"
            )
        })?;
    Ok(format!(
        "MSRV: libraries and binaries checked with Rust {version}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_rust_version() {
        let manifest = "[package]\nrust-version = \"1.70\"\n\n[workspace.package]\nedition = \"2021\"\nrust-version = \"1.88\" # Azure SDK\n";
        assert_eq!(declared(manifest).unwrap(), "1.88");
    }

    #[test]
    fn refuses_a_missing_or_malformed_version() {
        assert!(declared("[workspace.package]\nedition = \"2021\"\n").is_err());
        assert!(declared("[workspace.package]\nrust-version = \"stable\"\n").is_err());
        assert!(declared("[workspace.package]\nrust-version = 1.88\n").is_err());
    }

    #[test]
    fn the_repository_declares_one() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(declared(&manifest).unwrap().starts_with("1."));
    }
}
