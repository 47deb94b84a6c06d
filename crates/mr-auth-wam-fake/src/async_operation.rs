//! [`FakeOperation`]: the `IAsyncOperation<T>` every fake async method returns, either
//! completed at once or held pending until cancelled; its state is an [`AsyncCore`].

use crate::async_core::AsyncCore;
use windows_core::{implement, ComObject, IUnknownImpl, Ref, Result, RuntimeType, HRESULT};
use windows_future::{
    AsyncOperationCompletedHandler, AsyncStatus, IAsyncInfo, IAsyncInfo_Impl, IAsyncOperation,
    IAsyncOperation_Impl,
};

#[implement(IAsyncOperation<T>, IAsyncInfo)]
pub(crate) struct FakeOperation<T>(AsyncCore<AsyncOperationCompletedHandler<T>, T>)
where
    T: RuntimeType + Clone + 'static;

impl<T: RuntimeType + Clone + 'static> FakeOperation<T> {
    /// An operation that already completed with `result`; `token_call` is the token call it
    /// answers, if any.
    pub(crate) fn ready(
        method: &str,
        result: Option<T>,
        token_call: Option<usize>,
    ) -> IAsyncOperation<T> {
        ComObject::new(Self(AsyncCore::ready(method, token_call, result))).into_interface()
    }

    /// An operation that stays pending until it is cancelled.
    pub(crate) fn held(method: &str, token_call: Option<usize>) -> IAsyncOperation<T> {
        ComObject::new(Self(AsyncCore::held(method, token_call))).into_interface()
    }
}

impl<T: RuntimeType + Clone + 'static> FakeOperation_Impl<T> {
    fn notify(&self, handler: &AsyncOperationCompletedHandler<T>, status: AsyncStatus) {
        let this: IAsyncOperation<T> = self.to_object().to_interface();
        // A failing handler is the caller's problem, as with WinRT's own operations.
        let _ = handler.Invoke(&this, status);
    }
}

impl<T: RuntimeType + Clone + 'static> IAsyncInfo_Impl for FakeOperation_Impl<T> {
    fn Id(&self) -> Result<u32> {
        Ok(1)
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

impl<T: RuntimeType + Clone + 'static> IAsyncOperation_Impl<T> for FakeOperation_Impl<T> {
    fn SetCompleted(&self, handler: Ref<AsyncOperationCompletedHandler<T>>) -> Result<()> {
        let handler = handler.ok()?;
        if let Some(status) = self.0.set_completed(handler) {
            self.notify(handler, status);
        }
        Ok(())
    }

    fn Completed(&self) -> Result<AsyncOperationCompletedHandler<T>> {
        self.0.completed()
    }

    fn GetResults(&self) -> Result<T> {
        self.0.results()
    }
}
