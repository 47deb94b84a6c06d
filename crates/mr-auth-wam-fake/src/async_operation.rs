//! [`FakeOperation`]: the `IAsyncOperation<T>` every fake async method returns, either
//! completed at once or held pending until cancelled; `Cancel` is recorded.

use crate::fake_state;
use std::sync::{Mutex, MutexGuard};
use windows_core::{implement, ComObject, Error, IUnknownImpl, Ref, Result, RuntimeType, HRESULT};
use windows_future::{
    AsyncOperationCompletedHandler, AsyncStatus, IAsyncInfo, IAsyncInfo_Impl, IAsyncOperation,
    IAsyncOperation_Impl,
};

/// `E_ILLEGAL_METHOD_CALL`: results asked for before the operation completed.
const E_ILLEGAL_METHOD_CALL: HRESULT = HRESULT(0x8000_000E_u32 as i32);
/// `HRESULT_FROM_WIN32(ERROR_CANCELLED)`: the results of a cancelled operation.
const E_CANCELLED: HRESULT = HRESULT(0x8007_04C7_u32 as i32);

#[implement(IAsyncOperation<T>, IAsyncInfo)]
pub(crate) struct FakeOperation<T>
where
    T: RuntimeType + Clone + 'static,
{
    /// The method that returned this operation, and which token call it answers, for the
    /// `Cancel` record.
    method: String,
    token_call: Option<usize>,
    state: Mutex<OperationState<T>>,
}

struct OperationState<T: RuntimeType + 'static> {
    status: AsyncStatus,
    /// The result; `None` is a null result (windows-rs reports it as an empty error).
    result: Option<T>,
    handler: Option<AsyncOperationCompletedHandler<T>>,
}

impl<T: RuntimeType + Clone + 'static> FakeOperation<T> {
    /// An operation that already completed with `result`.
    pub(crate) fn ready(
        method: &str,
        result: Option<T>,
        token_call: Option<usize>,
    ) -> IAsyncOperation<T> {
        ComObject::new(Self {
            method: method.to_owned(),
            token_call,
            state: Mutex::new(OperationState {
                status: AsyncStatus::Completed,
                result,
                handler: None,
            }),
        })
        .into_interface()
    }

    /// An operation that stays pending until it is cancelled.
    pub(crate) fn held(method: &str, token_call: Option<usize>) -> IAsyncOperation<T> {
        let operation = ComObject::new(Self {
            method: method.to_owned(),
            token_call,
            state: Mutex::new(OperationState {
                status: AsyncStatus::Started,
                result: None,
                handler: None,
            }),
        })
        .into_interface();
        fake_state::note_held();
        operation
    }

    fn lock(&self) -> MutexGuard<'_, OperationState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T: RuntimeType + Clone + 'static> FakeOperation_Impl<T> {
    /// Calls the completion handler (outside the lock, as WinRT does).
    fn notify(&self, handler: Option<AsyncOperationCompletedHandler<T>>, status: AsyncStatus) {
        if let Some(handler) = handler {
            let this: IAsyncOperation<T> = self.to_object().to_interface();
            let _ = handler.Invoke(&this, status);
        }
    }
}

impl<T: RuntimeType + Clone + 'static> IAsyncInfo_Impl for FakeOperation_Impl<T> {
    fn Id(&self) -> Result<u32> {
        Ok(1)
    }

    fn Status(&self) -> Result<AsyncStatus> {
        Ok(self.lock().status)
    }

    fn ErrorCode(&self) -> Result<HRESULT> {
        Ok(match self.lock().status {
            AsyncStatus::Canceled => E_CANCELLED,
            _ => HRESULT(0),
        })
    }

    fn Cancel(&self) -> Result<()> {
        let mut call = fake_state::call("IAsyncInfo.Cancel");
        call.token_call = self.token_call;
        call.operation = Some(self.method.clone());
        fake_state::record(call);
        let handler = {
            let mut state = self.lock();
            if state.status != AsyncStatus::Started {
                return Ok(());
            }
            state.status = AsyncStatus::Canceled;
            state.handler.take()
        };
        self.notify(handler, AsyncStatus::Canceled);
        Ok(())
    }

    fn Close(&self) -> Result<()> {
        Ok(())
    }
}

impl<T: RuntimeType + Clone + 'static> IAsyncOperation_Impl<T> for FakeOperation_Impl<T> {
    fn SetCompleted(&self, handler: Ref<AsyncOperationCompletedHandler<T>>) -> Result<()> {
        let handler = handler.ok()?.clone();
        let done = {
            let mut state = self.lock();
            if state.status == AsyncStatus::Started {
                state.handler = Some(handler.clone());
                None
            } else {
                Some(state.status)
            }
        };
        // Already complete: WinRT calls the handler at once.
        if let Some(status) = done {
            self.notify(Some(handler), status);
        }
        Ok(())
    }

    fn Completed(&self) -> Result<AsyncOperationCompletedHandler<T>> {
        self.lock().handler.clone().ok_or_else(Error::empty)
    }

    fn GetResults(&self) -> Result<T> {
        let state = self.lock();
        match state.status {
            AsyncStatus::Completed => state.result.clone().ok_or_else(Error::empty),
            AsyncStatus::Canceled => Err(E_CANCELLED.into()),
            _ => Err(E_ILLEGAL_METHOD_CALL.into()),
        }
    }
}
