//! Runs the blocking WinRT calls off the async executor, on a thread of their own in COM's
//! multi-threaded apartment, and cancels the WAM operation in flight when the caller stops
//! waiting (the credential's timeout, or a dropped request).

use crate::error::{Error, ErrorKind, Result};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use windows::{
    core::HRESULT,
    Win32::System::Com::{CoInitializeEx, CoUninitialize, COINIT_MULTITHREADED},
};
use windows_future::{
    AsyncActionCompletedHandler, AsyncOperationCompletedHandler, IAsyncAction, IAsyncOperation,
};

/// Runs `work` on a new thread in the multi-threaded apartment and waits for it without
/// blocking the executor. Dropping the returned future cancels the WAM operation `work` is
/// waiting on, so the thread ends soon after instead of waiting for the user for ever.
///
/// A dedicated thread rather than `tokio::task::spawn_blocking`: it works under any executor
/// (the credential may be polled outside a tokio runtime) and an interactive sign-in, which
/// can take minutes, does not hold a thread of tokio's blocking pool.
pub(crate) async fn run_in_mta<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Canceller) -> Result<T> + Send + 'static,
{
    let canceller = Canceller::default();
    let on_drop = CancelOnDrop(canceller.clone());
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("mr-auth-wam".to_owned())
        .spawn(move || {
            let _apartment = MultiThreadedApartment::enter();
            // The receiver is gone only if the caller stopped waiting; nothing to report then.
            let _ = sender.send(work(&canceller));
        });
    if let Err(e) = spawned {
        return Err(Error::new(
            ErrorKind::BrokerUnavailable,
            format!("could not start a thread for wam: {e}"),
        ));
    }
    let result = receiver.await;
    on_drop.disarm();
    result.unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::BrokerUnavailable,
            "the wam worker thread ended without an answer",
        ))
    })
}

/// Lets the async side cancel the WAM operation the worker thread is waiting on.
///
/// The async side only sends a wake-up; the worker thread itself calls `Cancel`, so no COM
/// call ever runs on the caller's (executor) thread.
#[derive(Clone, Default)]
pub(crate) struct Canceller(Arc<Mutex<CancelState>>);

#[derive(Default)]
struct CancelState {
    cancelled: bool,
    /// Wakes the worker thread blocked in [`Canceller::wait`].
    waiting: Option<mpsc::Sender<Wake>>,
}

/// Why the worker thread woke up.
enum Wake {
    /// The operation completed (with any status).
    Completed,
    /// The caller stopped waiting.
    Cancelled,
}

/// `HRESULT_FROM_WIN32(ERROR_CANCELLED)`: what [`Canceller::wait`] returns once cancelled.
const CANCELLED: HRESULT = HRESULT(0x8007_04C7_u32 as i32);

impl std::fmt::Debug for Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canceller")
            .field("cancelled", &self.lock().cancelled)
            .finish()
    }
}

impl Canceller {
    fn lock(&self) -> MutexGuard<'_, CancelState> {
        // Only a flag and a sender are stored; a poisoned state is still consistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks this (worker) thread until `operation` completes, unless cancelled first; then
    /// cancels `operation`, from this thread, and returns `ERROR_CANCELLED`.
    pub(crate) fn wait<R>(&self, operation: IAsyncOperation<R>) -> windows::core::Result<R>
    where
        R: windows::core::RuntimeType + 'static,
    {
        self.wait_until_done(
            |wake| {
                operation.SetCompleted(&AsyncOperationCompletedHandler::new(move |_, _| {
                    // The receiver is gone only once this wait returned; nobody to tell then.
                    let _ = wake.send(Wake::Completed);
                    Ok(())
                }))
            },
            || {
                // Cancel only fails when the operation already finished: nothing to cancel.
                let _ = operation.Cancel();
            },
        )?;
        operation.GetResults()
    }

    /// [`Canceller::wait`] for an operation without a result (`IAsyncAction`), such as the
    /// account picker's `ShowAddAccountForWindowAsync`.
    pub(crate) fn wait_action(&self, action: IAsyncAction) -> windows::core::Result<()> {
        self.wait_until_done(
            |wake| {
                action.SetCompleted(&AsyncActionCompletedHandler::new(move |_, _| {
                    // The receiver is gone only once this wait returned; nobody to tell then.
                    let _ = wake.send(Wake::Completed);
                    Ok(())
                }))
            },
            || {
                // Cancel only fails when the action already finished: nothing to cancel.
                let _ = action.Cancel();
            },
        )?;
        action.GetResults()
    }

    /// Registers a completion handler through `set_completed` and blocks until it sends
    /// [`Wake::Completed`], unless cancelled first (or meanwhile): then calls `cancel`, from
    /// this thread, and returns `ERROR_CANCELLED`.
    fn wait_until_done(
        &self,
        set_completed: impl FnOnce(mpsc::Sender<Wake>) -> windows::core::Result<()>,
        cancel: impl FnOnce(),
    ) -> windows::core::Result<()> {
        let (wake, woken) = mpsc::channel();
        {
            let mut state = self.lock();
            if state.cancelled {
                cancel();
                return Err(CANCELLED.into());
            }
            state.waiting = Some(wake.clone());
        }
        let outcome = match set_completed(wake) {
            Ok(()) => woken.recv(),
            Err(e) => {
                self.lock().waiting = None;
                return Err(e);
            }
        };
        self.lock().waiting = None;
        match outcome {
            Ok(Wake::Completed) => Ok(()),
            // Every sender dropped without a word cannot happen while `state.waiting` holds
            // one; treat it as a cancellation all the same.
            Ok(Wake::Cancelled) | Err(_) => {
                cancel();
                Err(CANCELLED.into())
            }
        }
    }

    fn cancel(&self) {
        let mut state = self.lock();
        state.cancelled = true;
        if let Some(waiting) = state.waiting.take() {
            // The worker may have just returned; then there is nothing to wake.
            let _ = waiting.send(Wake::Cancelled);
        }
    }
}

/// Cancels on drop unless disarmed (the future completed normally).
struct CancelOnDrop(Canceller);

impl CancelOnDrop {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// This thread's membership of the multi-threaded apartment, left on drop.
struct MultiThreadedApartment {
    entered: bool,
}

impl MultiThreadedApartment {
    fn enter() -> Self {
        // SAFETY: CoInitializeEx with a null reserved pointer on a thread we created; a
        // success (S_OK, or S_FALSE if already initialized) is balanced by CoUninitialize in
        // Drop on this same thread.
        let hr = unsafe { CoInitializeEx(None, COINIT_MULTITHREADED) };
        if hr.is_err() {
            tracing::debug!(hresult = hr.0, "CoInitializeEx(COINIT_MULTITHREADED) failed; WinRT will use the implicit multi-threaded apartment");
        }
        Self {
            entered: hr.is_ok(),
        }
    }
}

impl Drop for MultiThreadedApartment {
    fn drop(&mut self) {
        if self.entered {
            // SAFETY: balances the successful CoInitializeEx above, on the same thread (this
            // guard is created and dropped inside the worker thread's closure).
            unsafe { CoUninitialize() };
        }
    }
}
