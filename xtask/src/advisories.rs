//! `cargo deny check advisories` from the offline RustSec snapshot when there is one
//! (`../shared/advisory-db/advisory-db.bundle`, a git bundle; the CI checkout has `shared/`
//! beside the repository), from the live database otherwise.
//!
//! An empty or unreadable database would pass every lock file, so before the workspace is
//! checked the same command runs on a canary lock file (`xtask/fixtures/advisories-canary`,
//! which pins a crate with a known advisory) and must fail naming that advisory.

use std::path::{Path, PathBuf};

use crate::cmd::{Cmd, Result};

/// Overrides where the snapshot bundle is looked for.
pub(crate) const BUNDLE_ENV: &str = "MR_AUTH_ADVISORY_DB_BUNDLE";

/// The snapshot's place relative to the repository root.
const BUNDLE_RELATIVE: &str = "../shared/advisory-db/advisory-db.bundle";

/// The directory name cargo-deny 0.20 derives from the default database URL
/// (`https://github.com/rustsec/advisory-db`); it looks for the database there under
/// `db-path`.
const DB_DIR_NAME: &str = "advisory-db-3157b0e258782691";

/// The canary crate's manifest, relative to the repository root, and the advisory it must
/// trip (base64 0.5.1: RUSTSEC-2017-0004, an integer overflow fixed in 0.5.2).
const CANARY_MANIFEST: &str = "xtask/fixtures/advisories-canary/Cargo.toml";
const CANARY_ADVISORY: &str = "RUSTSEC-2017-0004";

/// Where the advisories come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The offline snapshot, a git bundle.
    Snapshot(PathBuf),
    /// The live database, fetched by cargo-deny.
    Live,
}

/// The snapshot bundle named by [`BUNDLE_ENV`], else `<root>/../shared/advisory-db/...` when it
/// exists, else the live database.
pub(crate) fn source(root: &Path, bundle_env: Option<PathBuf>) -> Source {
    match bundle_env {
        Some(bundle) if !bundle.as_os_str().is_empty() => Source::Snapshot(bundle),
        _ => {
            let bundle = root.join(BUNDLE_RELATIVE);
            if bundle.is_file() {
                Source::Snapshot(bundle)
            } else {
                Source::Live
            }
        }
    }
}

/// The deny configuration for an offline run: the repository's `deny.toml` with `db-path`
/// pointing at `db_path`, inside its `[advisories]` table (added when it has none).
pub(crate) fn offline_config(deny_toml: &str, db_path: &Path) -> String {
    let db_line = format!("db-path = {}", toml_string(&db_path.display().to_string()));
    let mut out = String::with_capacity(deny_toml.len() + db_line.len() + 16);
    let mut in_advisories = false;
    let mut placed = false;
    for line in deny_toml.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_advisories = trimmed == "[advisories]";
        } else if in_advisories && trimmed.starts_with("db-path") {
            // Replaced by ours below the table header.
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if trimmed == "[advisories]" && !placed {
            out.push_str(&db_line);
            out.push('\n');
            placed = true;
        }
    }
    if !placed {
        out.push_str("\n[advisories]\n");
        out.push_str(&db_line);
        out.push('\n');
    }
    out
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the check for the workspace at `root`, with scratch files under `work_dir`. Returns a
/// note for the summary saying which database was used.
pub(crate) fn check(cargo: &std::ffi::OsStr, root: &Path, work_dir: &Path) -> Result<String> {
    match source(root, std::env::var_os(BUNDLE_ENV).map(PathBuf::from)) {
        Source::Live => {
            let deny = |manifest: Option<&Path>| {
                deny_cmd(cargo, root, manifest).args(["check", "advisories"])
            };
            canary(root, |manifest| deny(Some(manifest)))?;
            deny(None).run()?;
            Ok("advisories checked against the live RustSec database".to_owned())
        }
        Source::Snapshot(bundle) => {
            let db_path = work_dir.join("advisory-db");
            clone_snapshot(&bundle, &db_path.join(DB_DIR_NAME))?;
            let deny_toml = std::fs::read_to_string(root.join("deny.toml"))
                .map_err(|e| format!("cannot read deny.toml: {e}"))?;
            let config = work_dir.join("deny-advisories-offline.toml");
            std::fs::write(&config, offline_config(&deny_toml, &db_path))
                .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
            let deny = |manifest: Option<&Path>| {
                deny_cmd(cargo, root, manifest)
                    .arg("--offline")
                    .arg("--config")
                    .arg(&config)
                    .args(["check", "advisories"])
            };
            canary(root, |manifest| deny(Some(manifest)))?;
            deny(None).run()?;
            Ok(format!(
                "advisories checked offline against the snapshot {}",
                bundle.display()
            ))
        }
    }
}

/// `cargo deny --locked --all-features [--manifest-path M]` (global options come before the
/// subcommand).
fn deny_cmd(cargo: &std::ffi::OsStr, root: &Path, manifest: Option<&Path>) -> Cmd {
    let mut cmd = Cmd::new(cargo).current_dir(root).args(["deny", "--locked"]);
    if let Some(manifest) = manifest {
        cmd = cmd.arg("--manifest-path").arg(manifest);
    }
    cmd.arg("--all-features")
}

/// Runs `deny` on the canary lock file, which must fail naming [`CANARY_ADVISORY`].
fn canary(root: &Path, deny: impl Fn(&Path) -> Cmd) -> Result {
    let manifest = root.join(CANARY_MANIFEST);
    // The offline run reads the canary's manifests from the local registry cache.
    Cmd::new(crate::cargo())
        .args(["fetch", "--locked", "--manifest-path"])
        .arg(&manifest)
        .run()?;
    match deny(&manifest).output_quietly() {
        Ok((true, _)) => Err(format!(
            "the advisory database let the canary {} pass: it does not know {CANARY_ADVISORY}, \
             so it cannot be trusted to catch anything",
            manifest.display()
        )),
        Ok((false, output)) if output.contains(CANARY_ADVISORY) => {
            eprintln!("advisories: the canary trips {CANARY_ADVISORY}, as it must");
            Ok(())
        }
        Ok((false, output)) => Err(format!(
            "cargo deny failed on the canary without naming {CANARY_ADVISORY}:\n{output}"
        )),
        Err(e) => Err(e),
    }
}

/// Clones the bundle to `dest`, replacing an earlier clone (a local clone of a small bundle
/// takes about a second, and a stale database must not linger).
fn clone_snapshot(bundle: &Path, dest: &Path) -> Result {
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .map_err(|e| format!("cannot remove {}: {e}", dest.display()))?;
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    Cmd::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "clone",
            "--quiet",
            "--branch",
            "main",
        ])
        .arg(bundle)
        .arg(dest)
        .run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_config_adds_an_advisories_table_with_the_db_path() {
        let config = offline_config("[bans]\nwildcards = \"deny\"\n", Path::new("/t/adb"));
        assert_eq!(
            config,
            "[bans]\nwildcards = \"deny\"\n\n[advisories]\ndb-path = \"/t/adb\"\n"
        );
    }

    #[test]
    fn offline_config_puts_the_db_path_into_an_existing_table() {
        let deny = "[advisories]\ndb-path = \"~/old\"\nyanked = \"deny\"\n\n[bans]\n";
        let config = offline_config(deny, Path::new("/t/adb"));
        assert_eq!(
            config,
            "[advisories]\ndb-path = \"/t/adb\"\nyanked = \"deny\"\n\n[bans]\n"
        );
    }

    #[test]
    fn offline_config_of_the_repository_deny_toml_keeps_every_other_check() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let deny = std::fs::read_to_string(root.join("deny.toml")).unwrap();
        let config = offline_config(&deny, Path::new("/t/a \"b\""));
        assert!(config.starts_with(&deny), "{config}");
        assert_eq!(config.matches("[advisories]").count(), 1, "{config}");
        assert!(config.contains(r#"db-path = "/t/a \"b\"""#), "{config}");
    }

    #[test]
    fn the_snapshot_is_used_when_present_and_the_live_db_otherwise() {
        let nowhere = Path::new("/nonexistent/repo");
        assert_eq!(source(nowhere, None), Source::Live);
        assert_eq!(source(nowhere, Some(PathBuf::new())), Source::Live);
        let bundle = PathBuf::from("/x/advisory-db.bundle");
        assert_eq!(
            source(nowhere, Some(bundle.clone())),
            Source::Snapshot(bundle)
        );
    }

    #[test]
    fn the_canary_pins_the_vulnerable_version() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let lock = std::fs::read_to_string(root.join(CANARY_MANIFEST).with_file_name("Cargo.lock"))
            .unwrap();
        assert!(
            lock.contains("name = \"base64\"\nversion = \"0.5.1\""),
            "{lock}"
        );
    }
}
