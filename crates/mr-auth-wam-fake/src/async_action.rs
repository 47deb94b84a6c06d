//! [`FakeAction`]: the `IAsyncAction` of `ShowAddAccountForWindowAsync`, either completed at
//! once or held pending (the pane left open) until cancelled; its state is an [`AsyncCore`]
//! with no result.

use crate::async_core::AsyncCore;
use windows_core::{implement, ComObject, IUnknownImpl, Ref, Result, HRESULT};
use windows_future::{
    AsyncActionCompletedHandler, AsyncStatus, IAsyncAction, IAsyncAction_Impl, IAsyncInfo,
    IAsyncInfo_Impl,
};

#[implement(IAsyncAction, IAsyncInfo)]
pub(crate) struct FakeAction(AsyncCore<AsyncActionCompletedHandler, ()>);

impl FakeAction {
    /// An action that already completed.
    pub(crate) fn ready(method: &str) -> IAsyncAction {
        ComObject::new(Self(AsyncCore::ready(method, None, Some(())))).into_interface()
    }

    /// An action that stays pending until it is cancelled.
    pub(crate) fn held(method: &str) -> IAsyncAction {
        ComObject::new(Self(AsyncCore::held(method, None))).into_interface()
    }
}

impl FakeAction_Impl {
    fn notify(&self, handler: &AsyncActionCompletedHandler, status: AsyncStatus) {
        let this: IAsyncAction = self.to_object().to_interface();
        // A failing handler is the caller's problem, as with WinRT's own actions.
        let _ = handler.Invoke(&this, status);
    }
}

impl IAsyncInfo_Impl for FakeAction_Impl {
    fn Id(&self) -> Result<u32> {
        Ok(2)
    }

    fn Status(&self) -> Result<AsyncStatus> {
        Ok(self.0.status())
    }

    fn ErrorCode(&self) -> Result<HRESULT> {
        Ok(self.0.error_code())
    }

    fn Cancel(&self) -> Result<()> {
        if let Some(handler) = self.0.cancel() {
            self.notify(&handler, AsyncStatus::Canceled);
        }
        Ok(())
    }

    fn Close(&self) -> Result<()> {
        Ok(())
    }
}

impl IAsyncAction_Impl for FakeAction_Impl {
    fn SetCompleted(&self, handler: Ref<AsyncActionCompletedHandler>) -> Result<()> {
        let handler = handler.ok()?;
        if let Some(status) = self.0.set_completed(handler) {
            self.notify(handler, status);
        }
        Ok(())
    }

    fn Completed(&self) -> Result<AsyncActionCompletedHandler> {
        self.0.completed()
    }

    fn GetResults(&self) -> Result<()> {
        self.0.results()
    }
}
