//! [`FakeAction`]: the `IAsyncAction` of `ShowAddAccountForWindowAsync`, either completed at
//! once or held pending (the pane left open) until cancelled; `Cancel` is recorded.

use crate::fake_state;
use std::sync::{Mutex, MutexGuard};
use windows_core::{implement, ComObject, Error, IUnknownImpl, Ref, Result, HRESULT};
use windows_future::{
    AsyncActionCompletedHandler, AsyncStatus, IAsyncAction, IAsyncAction_Impl, IAsyncInfo,
    IAsyncInfo_Impl,
};

/// `E_ILLEGAL_METHOD_CALL`: results asked for before the action completed.
const E_ILLEGAL_METHOD_CALL: HRESULT = HRESULT(0x8000_000E_u32 as i32);
/// `HRESULT_FROM_WIN32(ERROR_CANCELLED)`: the results of a cancelled action.
const E_CANCELLED: HRESULT = HRESULT(0x8007_04C7_u32 as i32);

#[implement(IAsyncAction, IAsyncInfo)]
pub(crate) struct FakeAction {
    /// The method that returned this action, for the `Cancel` record.
    method: &'static str,
    state: Mutex<ActionState>,
}

struct ActionState {
    status: AsyncStatus,
    handler: Option<AsyncActionCompletedHandler>,
}

impl FakeAction {
    fn create(method: &'static str, status: AsyncStatus) -> IAsyncAction {
        ComObject::new(Self {
            method,
            state: Mutex::new(ActionState {
                status,
                handler: None,
            }),
        })
        .into_interface()
    }

    /// An action that already completed.
    pub(crate) fn ready(method: &'static str) -> IAsyncAction {
        Self::create(method, AsyncStatus::Completed)
    }

    /// An action that stays pending until it is cancelled.
    pub(crate) fn held(method: &'static str) -> IAsyncAction {
        let action = Self::create(method, AsyncStatus::Started);
        fake_state::note_held();
        action
    }

    fn lock(&self) -> MutexGuard<'_, ActionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FakeAction_Impl {
    /// Calls the completion handler (outside the lock, as WinRT does).
    fn notify(&self, handler: Option<AsyncActionCompletedHandler>, status: AsyncStatus) {
        if let Some(handler) = handler {
            let this: IAsyncAction = self.to_object().to_interface();
            let _ = handler.Invoke(&this, status);
        }
    }
}

impl IAsyncInfo_Impl for FakeAction_Impl {
    fn Id(&self) -> Result<u32> {
        Ok(2)
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
        call.operation = Some(self.method.to_owned());
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

impl IAsyncAction_Impl for FakeAction_Impl {
    fn SetCompleted(&self, handler: Ref<AsyncActionCompletedHandler>) -> Result<()> {
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

    fn Completed(&self) -> Result<AsyncActionCompletedHandler> {
        self.lock().handler.clone().ok_or_else(Error::empty)
    }

    fn GetResults(&self) -> Result<()> {
        match self.lock().status {
            AsyncStatus::Completed => Ok(()),
            AsyncStatus::Canceled => Err(E_CANCELLED.into()),
            _ => Err(E_ILLEGAL_METHOD_CALL.into()),
        }
    }
}
