//! Packaging: every publishable crate is packaged and its package built, in dependency order,
//! as `cargo publish` would. `cargo package --workspace` does this offline for crates whose
//! path dependencies are not on crates.io yet: it verifies each package against the packages
//! of the workspace crates it depends on (a local overlay registry), so no `--no-verify` is
//! needed.
//!
//! Before packaging, sources that an earlier run unpacked from that overlay are removed (see
//! [`remove_stale_overlay_sources`]): cargo would otherwise verify against them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{Cmd, Result};

/// Workspace packages with `publish = false`: not packaged. Kept in step with the manifests by
/// a test.
pub(crate) const UNPUBLISHED: &[&str] = &["mr-auth-test-support", "mr-auth-wam-fake", "xtask"];

/// Packages and verifies every publishable workspace crate.
pub(crate) fn check(cargo: &std::ffi::OsStr, root: &Path) -> Result {
    let publishable = publishable_crates(root)?;
    if let Some(home) = cargo_home() {
        for removed in remove_stale_overlay_sources(&home, &publishable)? {
            eprintln!(
                "package: removed sources unpacked by an earlier run: {}",
                removed.display()
            );
        }
    }
    let mut cmd = Cmd::new(cargo)
        .current_dir(root)
        .args(["package", "--workspace", "--locked"]);
    for package in UNPUBLISHED {
        cmd = cmd.args(["--exclude", package]);
    }
    cmd.run()
}

/// The workspace crates under `crates/` that are published (every directory is named after its
/// package; a test checks the unpublished ones against the manifests).
fn publishable_crates(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("crates");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if entry.path().join("Cargo.toml").is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !UNPUBLISHED.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// `CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME") {
        Some(home) if !home.is_empty() => Some(PathBuf::from(home)),
        _ => std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")),
    }
}

/// Removes `<cargo home>/registry/src/<local registry>/<crate>-<version>` for each of `crates`,
/// and returns what it removed.
///
/// `cargo package --workspace` verifies each package against the packages of the workspace
/// crates it depends on through a local overlay registry, and unpacks those into
/// `registry/src/-<hash of the overlay's path>/<name>-<version>`. When that directory already
/// holds a finished unpacking (`.cargo-ok`), cargo reuses it instead of unpacking the new
/// package. So a second run from the same checkout path with the same versions (every CI run
/// on one machine) verifies against the sources of the first run: seen here as "cannot find
/// function" errors for functions added since. Local registries are the directories whose
/// name starts with `-` (no host); crates.io's sources are not touched.
fn remove_stale_overlay_sources(cargo_home: &Path, crates: &[String]) -> Result<Vec<PathBuf>> {
    let src = cargo_home.join("registry").join("src");
    let Ok(registries) = fs::read_dir(&src) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(unpacked) = fs::read_dir(registry.path()) else {
            continue;
        };
        for package in unpacked.flatten() {
            let name = package.file_name().to_string_lossy().into_owned();
            if crates.iter().any(|c| is_unpacked_version_of(&name, c)) {
                let path = package.path();
                fs::remove_dir_all(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                removed.push(path);
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// Whether `dir` is `<krate>-<version>` (`mr-auth-0.1.0` is `mr-auth`'s, `mr-auth-core-0.1.0`
/// is not).
fn is_unpacked_version_of(dir: &str, krate: &str) -> bool {
    dir.strip_prefix(krate)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
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
        let crates = fs::read_dir(root.join("crates")).unwrap();
        let dirs = crates
            .map(|e| e.unwrap().path())
            .chain([root.join("xtask")]);
        for dir in dirs {
            let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            if is_unpublished(&manifest) {
                found.push(dir.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        found.sort();
        assert_eq!(found, UNPUBLISHED, "publish = false crates vs UNPUBLISHED");
    }

    #[test]
    fn names_an_unpacked_version_only_of_its_own_crate() {
        assert!(is_unpacked_version_of("mr-auth-0.1.0", "mr-auth"));
        assert!(is_unpacked_version_of("mr-auth-core-0.1.0", "mr-auth-core"));
        assert!(!is_unpacked_version_of("mr-auth-core-0.1.0", "mr-auth"));
        assert!(!is_unpacked_version_of("mr-auth-core", "mr-auth-core"));
        assert!(!is_unpacked_version_of(
            "mr-auth-corex-0.1.0",
            "mr-auth-core"
        ));
    }

    #[test]
    fn removes_stale_workspace_sources_from_local_registries_only() {
        let home = std::env::temp_dir().join(format!("xtask-package-{}", std::process::id()));
        let _ = fs::remove_dir_all(&home);
        let src = home.join("registry").join("src");
        let make = |path: &str| {
            let dir = src.join(path);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(".cargo-ok"), "{\"v\":1}").unwrap();
            dir
        };
        let stale = make("-22c3805da5a543b4/mr-auth-core-0.1.0");
        let stale_facade = make("-22c3805da5a543b4/mr-auth-0.1.0");
        let other = make("-22c3805da5a543b4/serde-1.0.0");
        let crates_io = make("index.crates.io-1949cf8c6b5b557f/mr-auth-core-0.1.0");
        let crates = vec!["mr-auth".to_owned(), "mr-auth-core".to_owned()];

        let removed = remove_stale_overlay_sources(&home, &crates).unwrap();

        assert_eq!(removed, vec![stale_facade.clone(), stale.clone()]);
        assert!(!stale.exists() && !stale_facade.exists());
        assert!(other.exists(), "only workspace crates are removed");
        assert!(crates_io.exists(), "crates.io's sources are not touched");
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn a_missing_registry_is_nothing_to_remove() {
        let home = Path::new("/nonexistent/xtask-package-home");
        assert!(remove_stale_overlay_sources(home, &["mr-auth".to_owned()])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn publishable_crates_are_the_workspace_crates_less_the_unpublished() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let crates = publishable_crates(&root).unwrap();
        assert!(crates.contains(&"mr-auth-core".to_owned()));
        assert!(!crates.iter().any(|c| UNPUBLISHED.contains(&c.as_str())));
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
