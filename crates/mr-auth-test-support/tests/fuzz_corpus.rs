//! Every committed fuzz input (`fuzz/corpus/<target>/`) replayed through its target's entry
//! point, in an ordinary stable test build: what `cargo xtask ci` runs instead of a short
//! fuzzing session. Exploring for new inputs (nightly, libFuzzer, ASan) is `cargo xtask fuzz`'s
//! job; see FUZZING.md for what this keeps and what it leaves to that command.
//!
//! Linux only, as the fuzz targets are (cargo-fuzz and libFuzzer run them on Linux).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};

/// A fuzz target: its name (`fuzz/fuzz_targets/<name>.rs`), the entry point it calls as
/// written in that file, and the same entry point.
type Target = (&'static str, &'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    (
        "broker_authentication_record",
        "mr_auth_broker::fuzzing::authentication_record",
        mr_auth_broker::fuzzing::authentication_record,
    ),
    (
        "broker_linux_broker_response",
        "mr_auth_broker::fuzzing::linux_broker_response",
        mr_auth_broker::fuzzing::linux_broker_response,
    ),
    (
        "broker_loopback_request",
        "mr_auth_broker::fuzzing::loopback_request",
        mr_auth_broker::fuzzing::loopback_request,
    ),
    (
        "broker_token_endpoint_response",
        "mr_auth_broker::fuzzing::token_endpoint_response",
        mr_auth_broker::fuzzing::token_endpoint_response,
    ),
    (
        "broker_wam_response",
        "mr_auth_broker::fuzzing::wam_response_properties",
        mr_auth_broker::fuzzing::wam_response_properties,
    ),
    (
        "core_jwt",
        "mr_auth_core::fuzzing::jwt",
        mr_auth_core::fuzzing::jwt,
    ),
    (
        "core_sts_error_response",
        "mr_auth_core::fuzzing::sts_error_response",
        mr_auth_core::fuzzing::sts_error_response,
    ),
    (
        "core_sts_success_body",
        "mr_auth_core::fuzzing::sts_success_body",
        mr_auth_core::fuzzing::sts_success_body,
    ),
    (
        "emulator_request",
        "mr_auth_emulator::fuzzing::request",
        mr_auth_emulator::fuzzing::request,
    ),
    (
        "msal_cache_document",
        "mr_auth_msal_cache::fuzzing::msal_cache_document",
        mr_auth_msal_cache::fuzzing::msal_cache_document,
    ),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_is_replayed_here_with_the_entry_point_it_calls() {
    let targets = files(&fuzz_dir().join("fuzz_targets"));
    assert!(!targets.is_empty());
    for file in &targets {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a target file name");
        let Some((_, entry_point, _)) = TARGETS.iter().find(|(n, _, _)| *n == name) else {
            panic!("fuzz target {name} is not in TARGETS: add it, so CI replays its corpus");
        };
        let source = std::fs::read_to_string(file).unwrap();
        assert!(
            source.contains(&format!("| {entry_point}(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call {entry_point}: keep TARGETS in step"
        );
    }
    assert_eq!(
        targets.len(),
        TARGETS.len(),
        "TARGETS names a removed target"
    );
}

#[test]
fn every_committed_input_runs_through_its_target_without_a_panic() {
    let mut replayed = 0;
    for (name, _, entry_point) in TARGETS {
        let corpus = fuzz_dir().join("corpus").join(name);
        let inputs = files(&corpus);
        assert!(!inputs.is_empty(), "{} has no inputs", corpus.display());
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            // Printed before the run, so a panic's output ends with the input that caused it.
            eprintln!("{name}: {}", input.display());
            entry_point(&data);
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} inputs");
}
