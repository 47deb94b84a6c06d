//! A program that uses these crates still runs under valgrind, as users run theirs to profile
//! it or check its memory. rustix's own vDSO lookup read memory valgrind does not map and
//! crashed every such program at the first read of the coarse clock (bytecodealliance/rustix
//! #1559); the clock now reads it through libc.
//!
//! The test runs its own binary under `valgrind --tool=none` with a child test that reads
//! every clock the library has. Skipped where valgrind is not installed, except under `CI`,
//! where `cargo xtask ci` installs it.
#![cfg(target_os = "linux")]

use mr_auth_core::{Clock, SystemClock};
use std::{
    process::{Command, Stdio},
    time::Duration,
};

/// Set in the child process: the `child_reads_every_clock` test then reads the clocks.
const CHILD_ENV: &str = "MR_AUTH_CORE_VALGRIND_CHILD";

/// What the child prints when it read them all.
const READ: &str = "every clock read";

#[test]
fn child_reads_every_clock() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let clock = SystemClock;
    let coarse = clock.coarse_unix_nanos();
    let precise = clock.unix_nanos();
    let now = clock.now().unix_timestamp_nanos();
    // The coarse clock lags the precise one by at most a few ticks.
    assert!(coarse > 0, "coarse {coarse}");
    assert!(
        (precise - coarse).abs() < 10_000_000_000,
        "{precise} {coarse}"
    );
    assert!((now - precise).abs() < 10_000_000_000, "{now} {precise}");
    println!("{READ}");
}

#[test]
fn the_clocks_can_be_read_under_valgrind() {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let child = match Command::new("valgrind")
        .args(["--tool=none", "--quiet", "--error-exitcode=3"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_reads_every_clock",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !ci => {
            println!("skipped: valgrind is not installed");
            return;
        }
        Err(e) => panic!("cannot start valgrind (cargo xtask ci installs it): {e}"),
    };
    // Bounded: a program that hangs under valgrind fails here instead of hanging the run.
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let Ok(output) = finished.recv_timeout(Duration::from_secs(120)) else {
        let pid = rustix::process::Pid::from_raw(pid.try_into().unwrap()).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        panic!("the child did not finish under valgrind within 120 s");
    };
    let output = output.unwrap();
    let status = output.status;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.success() && stdout.contains(READ),
        "under valgrind the clocks could not be read ({status}):\n{stdout}\n{stderr}"
    );
}
