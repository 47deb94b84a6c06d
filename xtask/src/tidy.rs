//! `cargo xtask tidy`: house rules the compiler does not check (see `../shared/STYLE.md`).
//!
//! - Every crate root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`) of the packages in
//!   `crates/` and of xtask says `#![forbid(unsafe_code)]`. The broker and the fake WAM
//!   provider (Windows FFI) may say `#![deny(unsafe_code)]` instead, and then allows unsafe code only in its Windows module:
//!   a file whose path names `windows` or `wam`, or an item gated by `cfg(windows)`.
//! - Every relaxed lint carries its reason: each `allow(...)`/`expect(...)` attribute (also
//!   inside `cfg_attr`) in `crates/`, `examples/` and `xtask/` has a plain comment on the
//!   same line, among the item's attributes, on the line above them (doc comments in between
//!   are skipped) or between them and the item, or a `reason = "..."`; each `"allow"` level in a Cargo.toml `[lints]` table has a `#` comment on
//!   the same line or the line above.
//!
//! The check also runs as a `#[test]`, so `cargo test` enforces it too.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::Result;
use crate::rust_source::{has_word_then, Attribute, RustSource};

/// The packages allowed `#![deny(unsafe_code)]` with unsafe code in their Windows module: the
/// broker, and the fake WAM provider its Wine tests load (a COM server, FFI throughout).
const FFI_PACKAGES: &[&str] = &["mr-auth-broker", "mr-auth-wam-fake"];

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
        problems.extend(
            unexplained_allows(&source)
                .into_iter()
                .map(|line| format!("{rel}:{line}: relaxed lint without a comment saying why")),
        );
        let ffi = FFI_PACKAGES
            .iter()
            .any(|p| rel.starts_with(&format!("crates/{p}/")));
        if ffi && !is_windows_module(&rel) {
            problems.extend(unsafe_outside_windows(&source).into_iter().map(|line| {
                format!("{rel}:{line}: unsafe code allowed outside the Windows module")
            }));
        }
    }
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
        let source = RustSource::parse(&read(&file)?);
        let levels: &[&str] = if ffi {
            &["forbid", "deny"]
        } else {
            &["forbid"]
        };
        if !source
            .attributes
            .iter()
            .any(|a| a.inner && sets_unsafe_code_level(&a.text, levels))
        {
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

/// Whether the attribute relaxes a lint: `allow(...)` or `expect(...)`, possibly inside
/// `cfg_attr`.
fn relaxes_lint(attribute: &Attribute) -> bool {
    has_word_then(&attribute.text, "allow", '(') || has_word_then(&attribute.text, "expect", '(')
}

/// The 1-based lines of `allow`/`expect` attributes that carry no reason.
fn unexplained_allows(source: &str) -> Vec<usize> {
    let parsed = RustSource::parse(source);
    let commented = |line: usize| parsed.lines.get(line).is_some_and(|l| l.plain_comment);
    let doc_only = |line: usize| {
        parsed
            .lines
            .get(line)
            .is_some_and(|l| l.doc_comment && !l.code && !l.plain_comment)
    };
    let mut unexplained = Vec::new();
    for attribute in parsed.attributes.iter().filter(|a| relaxes_lint(a)) {
        if has_word_then(&attribute.text, "reason", '=') {
            continue;
        }
        // A comment anywhere among the item's attributes.
        let group_end_line = parsed
            .attributes
            .iter()
            .filter(|b| b.group_start == attribute.group_start)
            .map(|b| b.end_line)
            .max()
            .unwrap_or(attribute.end_line);
        if (attribute.group_start_line..=group_end_line).any(commented) {
            continue;
        }
        // Or on comment lines between the attributes and the item.
        let mut line = group_end_line + 1;
        let mut explained = false;
        while let Some(info) = parsed.lines.get(line) {
            if info.code || !(info.plain_comment || info.doc_comment) {
                break;
            }
            if info.plain_comment {
                explained = true;
                break;
            }
            line += 1;
        }
        if explained {
            continue;
        }
        // Or on the lines above the item's attributes, past its doc comment.
        let mut line = attribute.group_start_line;
        while line > 0 {
            line -= 1;
            if commented(line) {
                explained = true;
                break;
            }
            if !doc_only(line) {
                break;
            }
        }
        if !explained {
            unexplained.push(attribute.start_line + 1);
        }
    }
    unexplained
}

/// Whether a broker file (path relative to the workspace) is part of its Windows module.
fn is_windows_module(rel: &str) -> bool {
    rel.split('/')
        .skip(3) // crates/<package>/src
        .any(|part| part.contains("windows") || part.contains("wam"))
}

/// The 1-based lines of attributes that allow unsafe code on something not gated to Windows.
fn unsafe_outside_windows(source: &str) -> Vec<usize> {
    let parsed = RustSource::parse(source);
    parsed
        .attributes
        .iter()
        .filter(|a| {
            (has_word_then(&a.text, "allow", '(') || has_word_then(&a.text, "expect", '('))
                && a.text.contains("unsafe_code")
        })
        .filter(|a| {
            // The item's other attributes must gate it to Windows.
            let group = parsed.attributes[a.group_start..]
                .iter()
                .take_while(|b| b.group_start == a.group_start);
            !group.into_iter().any(|b| gated_to_windows(&b.text))
        })
        .map(|a| a.start_line + 1)
        .collect()
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
    fn allow_needs_a_comment() {
        let src = "\
fn a() {}
#[allow(dead_code)]
fn b() {}
";
        assert_eq!(unexplained_allows(src), [2]);
    }

    #[test]
    fn allow_with_a_comment_is_fine() {
        let src = "\
// the field is read only on Windows
#[allow(dead_code)]
fn a() {}
#[allow(dead_code)] // same line
fn b() {}
/// Docs.
/// More docs.
// why: test helper
#[allow(dead_code)]
fn c() {}
// why, for both
#[derive(Debug)]
#[allow(dead_code)]
struct D;
#[expect(clippy::x, reason = \"why\")]
fn e() {}
#[allow(
    dead_code, // why
)]
fn f() {}
#[allow(clippy::cast_possible_truncation)]
// why, below the attribute
fn g() {}
#[allow(dead_code)]
#[cfg(test)] // why, on a sibling attribute
fn h() {}
";
        assert_eq!(unexplained_allows(src), Vec::<usize>::new());
    }

    #[test]
    fn doc_comment_is_not_a_reason() {
        let src = "\
/// Docs.
#[allow(dead_code)]
fn a() {}
";
        assert_eq!(unexplained_allows(src), [2]);
    }

    #[test]
    fn a_comment_after_the_item_does_not_count() {
        let src = "\
#[allow(dead_code)]
fn a() {}
// about b
fn b() {}
";
        assert_eq!(unexplained_allows(src), [1]);
    }

    #[test]
    fn a_comment_two_items_up_does_not_count() {
        let src = "\
// about a
fn a() {}
#[allow(dead_code)]
fn b() {}
";
        assert_eq!(unexplained_allows(src), [3]);
    }

    #[test]
    fn expect_and_cfg_attr_and_inner_are_caught() {
        let src = "\
#![allow(missing_docs)]
#[expect(dead_code)]
fn a() {}
#[cfg_attr(test, allow(dead_code))]
fn b() {}
";
        assert_eq!(unexplained_allows(src), [1, 2, 4]);
    }

    #[test]
    fn strings_and_comments_are_not_attributes() {
        let src = "\
const S: &str = \"#[allow(dead_code)]\";
// #[allow(dead_code)]
";
        assert_eq!(unexplained_allows(src), Vec::<usize>::new());
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
