//! `cargo xtask tidy`: house rules neither the compiler nor clippy checks (see
//! `../shared/STYLE.md`).
//!
//! - Every crate root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`) of the packages in
//!   `crates/` and of xtask says `#![forbid(unsafe_code)]`. The broker, the MSAL cache and the
//!   fake WAM provider (Windows FFI) may say `#![deny(unsafe_code)]` instead, and then allows unsafe code only in its Windows module:
//!   a file whose path names `windows` or `wam`, or an item gated by `cfg(windows)`.
//! - Each `"allow"` level in a Cargo.toml `[lints]` table has a `#` comment on the same line
//!   or the line above.
//!
//! - The broker crate keeps its layers (`oauth/` <- `platform/` <- `credential/`, one way) and
//!   no file in its `credential/` has more than 300 lines of code: see [`layers`], which says
//!   how a file's names are read and what counts as a line of code.
//!
//! That every `#[allow(...)]` in Rust code carries its reason is clippy's job
//! (`allow_attributes_without_reason` in the workspace lints), not tidy's.
//!
//! The check also runs as a `#[test]`, so `cargo test` enforces it too.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::Result;

mod layers;

/// The packages allowed `#![deny(unsafe_code)]` with unsafe code in their Windows module: the
/// broker (WAM), the MSAL cache (DPAPI), and the fake WAM provider the broker's Wine tests load
/// (a COM server, FFI throughout).
const FFI_PACKAGES: &[&str] = &["mr-auth-broker", "mr-auth-msal-cache", "mr-auth-wam-fake"];

/// Runs every tidy check over the workspace at `root`; returns the problems found, each as
/// `path:line: what is wrong`.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut packages = Vec::new();
    let crates = root.join("crates");
    let entries =
        fs::read_dir(&crates).map_err(|e| format!("cannot read {}: {e}", crates.display()))?;
    for entry in entries {
        let dir = entry
            .map_err(|e| format!("cannot read {}: {e}", crates.display()))?
            .path();
        if dir.join("Cargo.toml").is_file() {
            packages.push(dir);
        }
    }
    packages.push(root.join("xtask"));
    packages.sort();

    for package in &packages {
        let name = package.file_name().unwrap_or_default().to_string_lossy();
        check_crate_roots(
            root,
            package,
            FFI_PACKAGES.contains(&name.as_ref()),
            &mut problems,
        )?;
        check_toml_lints(root, &package.join("Cargo.toml"), &mut problems)?;
    }
    check_toml_lints(root, &root.join("Cargo.toml"), &mut problems)?;

    let mut files = Vec::new();
    for dir in ["crates", "examples", "xtask"] {
        rust_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    for file in &files {
        let source = read(file)?;
        let rel = relative(root, file);
        let ffi = FFI_PACKAGES
            .iter()
            .any(|p| rel.starts_with(&format!("crates/{p}/")));
        if ffi && !is_windows_module(&rel) {
            problems.extend(unsafe_outside_windows(&source).into_iter().map(|line| {
                format!("{rel}:{line}: unsafe code allowed outside the Windows module")
            }));
        }
    }
    problems.extend(layers::check(root)?);
    Ok(problems)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Collects the `.rs` files under `dir`, skipping build output and hidden directories.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    let Ok(entries) = fs::read_dir(dir) else {
        // A missing directory (no examples yet) has no files to check.
        return Ok(());
    };
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Checks that each crate root of `package` forbids unsafe code (or, for the FFI package,
/// forbids or denies it).
fn check_crate_roots(root: &Path, package: &Path, ffi: bool, problems: &mut Vec<String>) -> Result {
    let src = package.join("src");
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .filter(|p| p.is_file())
        .collect();
    if let Ok(entries) = fs::read_dir(src.join("bin")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") {
                roots.push(path);
            } else if path.join("main.rs").is_file() {
                roots.push(path.join("main.rs"));
            }
        }
    }
    if roots.is_empty() {
        problems.push(format!(
            "{}: no src/lib.rs or src/main.rs found",
            relative(root, package)
        ));
    }
    roots.sort();
    for file in roots {
        let source = read(&file)?;
        let levels: &[&str] = if ffi {
            &["forbid", "deny"]
        } else {
            &["forbid"]
        };
        if !source.lines().any(|line| {
            line.trim()
                .strip_prefix("#![")
                .and_then(|rest| rest.strip_suffix(']'))
                .is_some_and(|text| sets_unsafe_code_level(text, levels))
        }) {
            let wanted = if ffi {
                "`#![forbid(unsafe_code)]` (or `#![deny(unsafe_code)]` with unsafe code only in the Windows module)"
            } else {
                "`#![forbid(unsafe_code)]`"
            };
            problems.push(format!("{}:1: missing {wanted}", relative(root, &file)));
        }
    }
    Ok(())
}

/// Whether an attribute's text is `<level>(..., unsafe_code, ...)` for one of `levels`.
fn sets_unsafe_code_level(text: &str, levels: &[&str]) -> bool {
    levels.iter().any(|level| {
        text.strip_prefix(level)
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('('))
            .is_some_and(|list| list.split([',', ')', ' ']).any(|l| l == "unsafe_code"))
    })
}

/// Whether a broker file (path relative to the workspace) is part of its Windows module.
fn is_windows_module(rel: &str) -> bool {
    rel.split('/')
        .skip(3) // crates/<package>/src
        .any(|part| part.contains("windows") || part.contains("wam"))
}

/// The 1-based lines of attributes that allow unsafe code on something not gated to Windows.
///
/// Line-based: an attribute is a line starting with `#[`, and the item's attributes are the
/// attribute and comment lines next to it. Enough for the FFI crate's own layout (one
/// attribute per line, as rustfmt writes them).
fn unsafe_outside_windows(source: &str) -> Vec<usize> {
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let is_attribute_or_comment = |line: &&&str| line.starts_with("#[") || line.starts_with("//");
    let attribute_text = |line: &str| -> Option<String> {
        let code = line.split("//").next().unwrap_or_default().trim();
        code.strip_prefix("#[")
            .and_then(|rest| rest.strip_suffix(']'))
            .map(str::to_owned)
    };
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(text) = attribute_text(line) else {
            continue;
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let relaxes_unsafe = (compact.starts_with("allow(") || compact.starts_with("expect("))
            && compact.contains("unsafe_code");
        if !relaxes_unsafe {
            continue;
        }
        let above = lines[..index]
            .iter()
            .rev()
            .take_while(is_attribute_or_comment);
        let below = lines[index + 1..]
            .iter()
            .take_while(is_attribute_or_comment);
        let gated = above
            .chain(below)
            .filter_map(|line: &&str| attribute_text(line))
            .any(|text| gated_to_windows(&text));
        if !gated {
            found.push(index + 1);
        }
    }
    found
}

/// Whether an attribute is `cfg(windows)` or `cfg(target_os = "windows")` (any spacing).
fn gated_to_windows(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact == "cfg(windows)" || compact == "cfg(target_os=\"windows\")"
}

/// Checks that every `"allow"` level in a Cargo.toml `[lints]` table has a comment.
fn check_toml_lints(root: &Path, manifest: &Path, problems: &mut Vec<String>) -> Result {
    if !manifest.is_file() {
        return Ok(());
    }
    let text = read(manifest)?;
    let rel = relative(root, manifest);
    problems.extend(
        unexplained_toml_allows(&text).into_iter().map(|line| {
            format!("{rel}:{line}: lint set to \"allow\" without a comment saying why")
        }),
    );
    Ok(())
}

/// The 1-based lines in a manifest's lint tables that set a lint to `"allow"` without a `#`
/// comment on that line or the line above.
fn unexplained_toml_allows(text: &str) -> Vec<usize> {
    let mut in_lints = false;
    let mut previous_comment = false;
    let mut unexplained = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (value, comment) = split_toml_comment(line);
        let value = value.trim();
        if value.starts_with('[') {
            let header = value.trim_matches(|c| c == '[' || c == ']').trim();
            in_lints = header == "lints"
                || header.starts_with("lints.")
                || header == "workspace.lints"
                || header.starts_with("workspace.lints.");
        } else if in_lints {
            let compact: String = value
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c == '\'' { '"' } else { c })
                .collect();
            let allows = compact.ends_with("=\"allow\"") || compact.contains("level=\"allow\"");
            if allows && comment.is_none() && !previous_comment {
                unexplained.push(i + 1);
            }
        }
        previous_comment = comment.is_some();
    }
    unexplained
}

/// Splits a TOML line into its value part and its `#` comment, if any (a `#` inside a
/// basic or literal string does not start a comment).
fn split_toml_comment(line: &str) -> (&str, Option<&str>) {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return (&line[..i], Some(&line[i + 1..])),
            None => {}
        }
    }
    (line, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_tidy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let problems = check(&root).expect("the tidy check can read the workspace");
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn forbid_detection() {
        assert!(sets_unsafe_code_level("forbid(unsafe_code)", &["forbid"]));
        assert!(sets_unsafe_code_level(
            "forbid(missing_docs, unsafe_code)",
            &["forbid"]
        ));
        assert!(!sets_unsafe_code_level("deny(unsafe_code)", &["forbid"]));
        assert!(sets_unsafe_code_level(
            "deny(unsafe_code)",
            &["forbid", "deny"]
        ));
        assert!(!sets_unsafe_code_level(
            "forbid(unsafe_op_in_unsafe_fn)",
            &["forbid"]
        ));
    }

    #[test]
    fn unsafe_only_in_the_windows_module() {
        let src = "\
// WinRT FFI
#[cfg(windows)]
#[allow(unsafe_code)]
mod wam;
// nope
#[allow(unsafe_code)]
mod other;
#[cfg(target_os = \"windows\")]
#[allow(unsafe_code)] // ffi
mod wam2;
";
        assert_eq!(unsafe_outside_windows(src), [6]);
        assert!(is_windows_module(
            "crates/mr-auth-broker/src/windows/wam.rs"
        ));
        assert!(is_windows_module("crates/mr-auth-broker/src/wam_broker.rs"));
        assert!(!is_windows_module("crates/mr-auth-broker/src/browser.rs"));
    }

    #[test]
    fn toml_allow_needs_a_comment() {
        let toml = "\
[package]
name = \"allow\"

[lints.clippy]
# why
module_name_repetitions = \"allow\"
too_many_lines = { level = \"allow\", priority = 1 }
print_stdout = \"allow\" # why
unwrap_used = \"deny\"

[workspace.lints.rust]
missing_docs = 'allow'
x = \"allow\"
";
        assert_eq!(unexplained_toml_allows(toml), [7, 12, 13]);
    }
}
