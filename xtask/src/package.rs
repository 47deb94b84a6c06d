//! Packaging: every publishable crate is packaged as `cargo publish` would, and what
//! `cargo package`'s verify build would prove is checked more cheaply:
//!
//! - `cargo package --workspace --no-verify`: the manifests are publishable (every path
//!   dependency has a version, metadata is complete) and the `.crate` files are made;
//! - every source file a crate compiles is in its package: each file under `src/` and each
//!   file an `include_str!` / `include_bytes!` names ([`missing_from_package`]);
//! - each crate type-checks alone (`cargo check -p CRATE`: its library and binaries) with
//!   only its own features, not those other workspace members turn on.
//!
//! The verify build compiled each package's dependencies again for every crate's own feature
//! set (424 s of a 2237 s CI run on 2 cores); these checks reuse the workspace's target
//! directory and only type-check. What they do not prove: that the packaged sources compile to
//! a binary (code generation and linking, which the test step does from the same sources).

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::cmd::{Cmd, Result};

/// Workspace packages with `publish = false`: not packaged. Kept in step with the manifests by
/// a test.
pub(crate) const UNPUBLISHED: &[&str] = &["mr-auth-test-support", "mr-auth-wam-fake", "xtask"];

/// Packages every publishable workspace crate and checks what its verify build would.
pub(crate) fn check(cargo: &std::ffi::OsStr, root: &Path) -> Result {
    let publishable = publishable_crates(root)?;
    let cargo = || Cmd::new(cargo).current_dir(root);
    let mut package = cargo().args(["package", "--workspace", "--locked", "--no-verify"]);
    for excluded in UNPUBLISHED {
        package = package.args(["--exclude", excluded]);
    }
    package.run()?;
    let mut problems = Vec::new();
    for krate in &publishable {
        let listed = cargo()
            .args(["package", "--list", "--locked", "-p", krate])
            .read_quietly()
            .ok_or_else(|| format!("`cargo package --list -p {krate}` failed"))?;
        let listed: Vec<&str> = listed.lines().map(str::trim).collect();
        let dir = root.join("crates").join(krate);
        for problem in missing_from_package(&dir, &listed)? {
            problems.push(format!("{krate}: {problem}"));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "files the crates compile are not in their packages:\n{}",
            problems.join("\n")
        ));
    }
    for krate in &publishable {
        cargo()
            // No target selection: the library and binaries, as the verify build built.
            .args(["check", "-p", krate, "--locked"])
            .run()?;
    }
    Ok(())
}

/// What a crate at `dir` compiles but its package (the `cargo package --list` lines `listed`)
/// lacks: files under `src/`, and the files `include_str!` / `include_bytes!` name (outside
/// `#[cfg(doctest)]`, which a build does not read).
fn missing_from_package(dir: &Path, listed: &[&str]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    collect_files(&dir.join("src"), &mut sources)?;
    for source in &sources {
        let relative = relative_name(dir, source);
        if !listed.contains(&relative.as_str()) {
            problems.push(format!("{relative} is not packaged"));
        }
        if source.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(source)
            .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
        for included in included_paths(&text) {
            let from = Path::new(&relative).parent().unwrap_or(Path::new(""));
            match normalize(&from.join(&included)) {
                Some(target) if listed.contains(&target.as_str()) => {}
                Some(target) => {
                    problems.push(format!(
                        "{relative} includes {target}, which is not packaged"
                    ));
                }
                None => problems.push(format!(
                    "{relative} includes {included}, outside the package"
                )),
            }
        }
    }
    Ok(problems)
}

/// Every file below `dir`, recursively.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `dir`, with `/` separators (as `cargo package --list` prints).
fn relative_name(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// `path` with `.` and `..` resolved, `/`-separated; `None` when it leaves its root.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// The literal paths of the `include_str!("...")` and `include_bytes!("...")` in `source`, but
/// those right under `#[cfg(doctest)]`.
fn included_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut previous = "";
    for line in source.lines() {
        let doctest_only = previous.trim() == "#[cfg(doctest)]";
        for macro_name in ["include_str!(\"", "include_bytes!(\""] {
            let mut rest = line;
            while let Some(at) = rest.find(macro_name) {
                rest = &rest[at + macro_name.len()..];
                if let Some(end) = rest.find('"') {
                    if !doctest_only {
                        paths.push(rest[..end].to_owned());
                    }
                    rest = &rest[end..];
                }
            }
        }
        previous = line;
    }
    paths
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

    #[test]
    fn finds_what_a_package_lacks() {
        let dir = std::env::temp_dir().join(format!("xtask-package-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src/nested")).unwrap();
        fs::write(
            dir.join("src/lib.rs"),
            "#![doc = include_str!(\"../README.md\")]\nmod nested;\n\
             #[cfg(doctest)]\n#[doc = include_str!(\"../../../README.md\")]\nstruct D;\n\
             const K: &[u8] = include_bytes!(\"nested/key.der\");\n",
        )
        .unwrap();
        fs::write(
            dir.join("src/nested/mod.rs"),
            "const A: &str = include_str!(\"../../../x\");\n",
        )
        .unwrap();
        fs::write(dir.join("src/nested/key.der"), "k").unwrap();
        let complete = [
            "Cargo.toml",
            "README.md",
            "src/lib.rs",
            "src/nested/mod.rs",
            "src/nested/key.der",
        ];
        assert_eq!(
            missing_from_package(&dir, &complete).unwrap(),
            ["src/nested/mod.rs includes ../../../x, outside the package"]
        );
        let without = ["Cargo.toml", "src/lib.rs", "src/nested/mod.rs"];
        let mut problems = missing_from_package(&dir, &without).unwrap();
        problems.sort();
        assert_eq!(
            problems,
            [
                "src/lib.rs includes README.md, which is not packaged",
                "src/lib.rs includes src/nested/key.der, which is not packaged",
                "src/nested/key.der is not packaged",
                "src/nested/mod.rs includes ../../../x, outside the package",
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_publishable_crates_package_what_they_compile() {
        // The check itself, on the repository (without cargo: the lists are the files present,
        // which is what `cargo package --list` gives for a clean checkout without excludes).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for krate in publishable_crates(&root).unwrap() {
            let dir = root.join("crates").join(&krate);
            let mut files = Vec::new();
            collect_files(&dir.join("src"), &mut files).unwrap();
            let mut listed: Vec<String> = files.iter().map(|f| relative_name(&dir, f)).collect();
            listed.push("README.md".to_owned());
            let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
            assert_eq!(
                missing_from_package(&dir, &listed).unwrap(),
                Vec::<String>::new(),
                "{krate}"
            );
        }
    }
}
