//! [`AsyncCore`]: the WinRT async state machine behind every async object the fake returns
//! (`IAsyncOperation<T>` in [`crate::async_operation`], `IAsyncAction` in
//! [`crate::async_action`]): the status, the result, the completion handler and `Cancel`,
//! which is recorded. Each COM class only wraps it in its interface and invokes the handler
//! this returns, outside the lock, as WinRT does.

use crate::fake_state;
use std::sync::{Mutex, MutexGuard};
use windows_core::{Error, Result, HRESULT};
use windows_future::AsyncStatus;

/// `E_ILLEGAL_METHOD_CALL`: results asked for before the operation completed.
const E_ILLEGAL_METHOD_CALL: HRESULT = HRESULT(0x8000_000E_u32 as i32);
/// `HRESULT_FROM_WIN32(ERROR_CANCELLED)`: the results of a cancelled operation.
const E_CANCELLED: HRESULT = HRESULT(0x8007_04C7_u32 as i32);

/// The state of one async object whose completion handler is `H` and result `T`.
pub(crate) struct AsyncCore<H, T> {
    /// The method that returned the object, and which token call it answers, for the
    /// `Cancel` record.
    method: String,
    token_call: Option<usize>,
    state: Mutex<State<H, T>>,
}

struct State<H, T> {
    status: AsyncStatus,
    /// The result; `None` is a null result (windows-rs reports it as an empty error).
    result: Option<T>,
    handler: Option<H>,
}

impl<H: Clone, T: Clone> AsyncCore<H, T> {
    /// An object that already completed with `result`.
    pub(crate) fn ready(method: &str, token_call: Option<usize>, result: Option<T>) -> Self {
        Self::new(method, token_call, AsyncStatus::Completed, result)
    }

    /// An object that stays pending until it is cancelled; the fake counts it as held (tests
    /// wait for that before they cancel).
    pub(crate) fn held(method: &str, token_call: Option<usize>) -> Self {
        let core = Self::new(method, token_call, AsyncStatus::Started, None);
        fake_state::note_held();
        core
    }

    fn new(
        method: &str,
        token_call: Option<usize>,
        status: AsyncStatus,
        result: Option<T>,
    ) -> Self {
        Self {
            method: method.to_owned(),
            token_call,
            state: Mutex::new(State {
                status,
                result,
                handler: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<H, T>> {
        // Plain data: a panic elsewhere leaves it consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `IAsyncInfo.Status`.
    pub(crate) fn status(&self) -> AsyncStatus {
        self.lock().status
    }

    /// `IAsyncInfo.ErrorCode`: the cancellation error once cancelled, else success.
    pub(crate) fn error_code(&self) -> HRESULT {
        match self.status() {
            AsyncStatus::Canceled => E_CANCELLED,
            _ => HRESULT(0),
        }
    }

    /// `IAsyncInfo.Cancel`: records the call and cancels a pending object. Returns the handler
    /// to invoke with [`AsyncStatus::Canceled`] when one was waiting.
    pub(crate) fn cancel(&self) -> Option<H> {
        let mut call = fake_state::call("IAsyncInfo.Cancel");
        call.token_call = self.token_call;
        call.operation = Some(self.method.clone());
        fake_state::record(call);
        let mut state = self.lock();
        if state.status != AsyncStatus::Started {
            return None;
        }
        state.status = AsyncStatus::Canceled;
        state.handler.take()
    }

    /// `put_Completed`: keeps `handler` while the object is pending. When it is already
    /// complete, returns the status to invoke `handler` with at once, as WinRT does.
    pub(crate) fn set_completed(&self, handler: &H) -> Option<AsyncStatus> {
        let mut state = self.lock();
        if state.status == AsyncStatus::Started {
            state.handler = Some(handler.clone());
            None
        } else {
            Some(state.status)
        }
    }

    /// `get_Completed`: the handler kept, if any.
    pub(crate) fn completed(&self) -> Result<H> {
        self.lock().handler.clone().ok_or_else(Error::empty)
    }

    /// `GetResults`: the result once completed (a null result is an empty error), the
    /// cancellation error once cancelled, and `E_ILLEGAL_METHOD_CALL` while pending.
    pub(crate) fn results(&self) -> Result<T> {
        let state = self.lock();
        match state.status {
            AsyncStatus::Completed => state.result.clone().ok_or_else(Error::empty),
            AsyncStatus::Canceled => Err(E_CANCELLED.into()),
            _ => Err(E_ILLEGAL_METHOD_CALL.into()),
        }
    }
}
