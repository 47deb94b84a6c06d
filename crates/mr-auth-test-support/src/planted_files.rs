//! What a hostile or unlucky machine leaves where a test's code reads and writes: named pipes,
//! and files of processes that are gone.

/// Makes a named pipe (FIFO) at `path`, with the system's `mkfifo`: opening it for reading
/// blocks until a writer comes, which never happens in a test.
///
/// # Panics
///
/// When `mkfifo` fails (a test failure).
#[cfg(unix)]
pub fn make_fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

/// The id of a process that ran, exited and was reaped: no process has it now (until the
/// system hands it out again, far later). For files named after a writer that is gone.
///
/// # Panics
///
/// When no process can be started (a test failure).
pub fn exited_process_id() -> u32 {
    // The running test binary itself, listing its tests: there on every platform.
    let mut child = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .arg("--list")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start a process");
    let id = child.id();
    child.wait().expect("the process exited");
    id
}
