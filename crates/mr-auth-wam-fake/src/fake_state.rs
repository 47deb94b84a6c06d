//! The fake's one piece of process-wide state: the current script, the calls received and the
//! operations held pending. Tests reset it through the DLL's control exports ([`crate::FakeWam`]).

use crate::{call_context, FakeCall, FakeResponse, FakeScript};
use std::{
    sync::{Condvar, LazyLock, Mutex, MutexGuard},
    time::Duration,
};

#[derive(Default)]
pub(crate) struct FakeState {
    pub(crate) script: FakeScript,
    next_response: usize,
    pub(crate) calls: Vec<FakeCall>,
    held: usize,
}

static STATE: LazyLock<Mutex<FakeState>> = LazyLock::new(Mutex::default);
static CHANGED: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, FakeState> {
    // The state is plain data; a panic elsewhere leaves it consistent.
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Replaces the script and forgets every call received (the panes are forgotten apart:
/// [`crate::exports`] does both).
pub(crate) fn reset(script: FakeScript) {
    *lock() = FakeState {
        script,
        ..FakeState::default()
    };
    CHANGED.notify_all();
}

/// Reads the state.
pub(crate) fn with<R>(f: impl FnOnce(&FakeState) -> R) -> R {
    f(&lock())
}

/// A call record for `method`, on this thread.
pub(crate) fn call(method: &str) -> FakeCall {
    FakeCall {
        method: method.to_owned(),
        thread: call_context::thread_name(),
        apartment: call_context::apartment(),
        ..FakeCall::default()
    }
}

/// Records `call`.
pub(crate) fn record(call: FakeCall) {
    lock().calls.push(call);
    CHANGED.notify_all();
}

/// Takes the answer to the next token call: its index and the scripted response (`None` when
/// the script has no more).
pub(crate) fn next_response() -> (usize, Option<FakeResponse>) {
    let mut state = lock();
    let index = state.next_response;
    state.next_response += 1;
    (index, state.script.responses.get(index).cloned())
}

/// Notes that a held operation started.
pub(crate) fn note_held() {
    lock().held += 1;
    CHANGED.notify_all();
}

/// Blocks until `done` holds for the state, for at most `timeout`; whether it did.
fn wait_until(timeout: Duration, done: impl Fn(&FakeState) -> bool) -> bool {
    let (state, _) = CHANGED
        .wait_timeout_while(lock(), timeout, |s| !done(s))
        .unwrap_or_else(|p| p.into_inner());
    done(&state)
}

/// Blocks until `count` operations have been held, for at most `timeout`; whether they were.
pub(crate) fn wait_until_held(count: usize, timeout: Duration) -> bool {
    wait_until(timeout, |s| s.held >= count)
}

/// Blocks until a call to `method` was recorded, for at most `timeout`; whether it was.
pub(crate) fn wait_for_call(method: &str, timeout: Duration) -> bool {
    wait_until(timeout, |s| s.calls.iter().any(|c| c.method == method))
}
