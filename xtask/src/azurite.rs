//! Azurite, the storage emulator the facade's blob test runs against (see
//! `crates/mr-auth-test-support/src/azurite.rs`): node and npm from Debian (the setup's apt
//! list), Azurite installed with npm into a folder of the target directory, once.

use std::path::{Path, PathBuf};

use crate::cmd::{Cmd, Result};

/// The release the test runs against; the same as test-support's `AZURITE_VERSION` (a test
/// keeps them equal).
pub(crate) const VERSION: &str = "3.37.0";

/// The variable that hands the installed `azurite-blob` to the test.
pub(crate) const ENV: &str = "MR_AUTH_AZURITE";

/// How long `npm install` may take.
const INSTALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Where Azurite [`VERSION`] is installed under `target_dir`, and its `azurite-blob`.
fn paths(target_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = target_dir.join("azurite").join(VERSION);
    let binary = dir.join("node_modules").join(".bin").join("azurite-blob");
    (dir, binary)
}

/// `azurite-blob` when Azurite [`VERSION`] is installed under `target_dir`; installs nothing.
pub(crate) fn installed(target_dir: &Path) -> Option<PathBuf> {
    let (_, binary) = paths(target_dir);
    binary.is_file().then_some(binary)
}

/// Installs Azurite [`VERSION`] with npm into `<target_dir>/azurite` unless present; returns
/// the path of `azurite-blob`.
pub(crate) fn ensure(target_dir: &Path) -> Result<PathBuf> {
    let (dir, binary) = paths(target_dir);
    if binary.is_file() {
        eprintln!("{} present", binary.display());
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Cmd::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
        ])
        .arg(&dir)
        .arg(format!("azurite@{VERSION}"))
        .timeout(INSTALL_TIMEOUT)
        .run()?;
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "npm installed azurite@{VERSION} but {} is missing",
            binary.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_runs_the_version_installed_here() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let support =
            std::fs::read_to_string(root.join("crates/mr-auth-test-support/src/azurite.rs"))
                .unwrap();
        assert!(
            support.contains(&format!("AZURITE_VERSION: &str = \"{VERSION}\";")),
            "xtask installs azurite {VERSION}; test-support must run the same release"
        );
        assert!(support.contains(&format!("AZURITE_ENV: &str = \"{ENV}\";")));
    }
}
