//! Packaging: every publishable crate is packaged and its package built, in dependency order,
//! as `cargo publish` would. `cargo package --workspace` does this offline for crates whose
//! path dependencies are not on crates.io yet: it verifies each package against the packages
//! of the workspace crates it depends on (a local overlay registry), so no `--no-verify` is
//! needed.

use std::path::Path;

use crate::cmd::{Cmd, Result};

/// Workspace packages with `publish = false`: not packaged. Kept in step with the manifests by
/// a test.
pub(crate) const UNPUBLISHED: &[&str] = &["mr-auth-test-support", "mr-auth-wam-fake", "xtask"];

/// Packages and verifies every publishable workspace crate.
pub(crate) fn check(cargo: &std::ffi::OsStr, root: &Path) -> Result {
    let mut cmd = Cmd::new(cargo)
        .current_dir(root)
        .args(["package", "--workspace", "--locked"]);
    for package in UNPUBLISHED {
        cmd = cmd.args(["--exclude", package]);
    }
    cmd.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a manifest says `publish = false` in its `[package]` table.
    fn is_unpublished(manifest: &str) -> bool {
        let mut in_package = false;
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_package = line == "[package]";
            } else if in_package {
                if let Some((key, value)) = line.split_once('=') {
                    if key.trim() == "publish" && value.trim() == "false" {
                        return true;
                    }
                }
            }
        }
        false
    }

    #[test]
    fn unpublished_matches_the_manifests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = Vec::new();
        let crates = std::fs::read_dir(root.join("crates")).unwrap();
        let dirs = crates
            .map(|e| e.unwrap().path())
            .chain([root.join("xtask")]);
        for dir in dirs {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            if is_unpublished(&manifest) {
                found.push(dir.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        found.sort();
        assert_eq!(found, UNPUBLISHED, "publish = false crates vs UNPUBLISHED");
    }

    #[test]
    fn reads_publish_false_only_from_the_package_table() {
        assert!(is_unpublished("[package]\nname = \"x\"\npublish = false\n"));
        assert!(!is_unpublished(
            "[package]\nname = \"x\"\n[x]\npublish = false\n"
        ));
        assert!(!is_unpublished("[package]\npublish = true\n"));
    }
}
