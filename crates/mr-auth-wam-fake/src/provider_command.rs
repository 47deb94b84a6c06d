//! `Windows.UI.ApplicationSettings.WebAccountProviderCommand`: its factory (the module builds
//! one command per provider it offers in the account picker) and the command, which keeps
//! its provider and the `Invoked` handler the pane calls when the user picks it.

use crate::{
    abi::{
        inspectable, IWebAccountProviderCommand, IWebAccountProviderCommandFactory,
        IWebAccountProviderCommandFactory_Impl, IWebAccountProviderCommand_Impl,
    },
    fake_state,
    objects::{answer, as_class, put, E_NOTIMPL},
    FakeCall,
};
use std::ffi::c_void;
use windows::{
    Security::Credentials::WebAccountProvider,
    Win32::System::WinRT::{IActivationFactory, IActivationFactory_Impl},
    UI::ApplicationSettings::{WebAccountProviderCommand, WebAccountProviderCommandInvokedHandler},
};
use windows_core::{implement, IInspectable, Interface, Ref, Result, HRESULT};

#[implement(IWebAccountProviderCommand)]
struct FakeProviderCommand {
    provider: WebAccountProvider,
    invoked: WebAccountProviderCommandInvokedHandler,
}

inspectable!(
    FakeProviderCommand_Impl,
    "Windows.UI.ApplicationSettings.WebAccountProviderCommand"
);

impl IWebAccountProviderCommand_Impl for FakeProviderCommand_Impl {
    unsafe fn WebAccountProvider(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.provider.clone())) }
    }
    unsafe fn Invoked(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.invoked.clone())) }
    }
}

/// `WebAccountProviderCommand`'s factory.
#[implement(IActivationFactory, IWebAccountProviderCommandFactory)]
pub(crate) struct FakeProviderCommandFactory;

inspectable!(
    FakeProviderCommandFactory_Impl,
    "Windows.UI.ApplicationSettings.WebAccountProviderCommand"
);

impl IActivationFactory_Impl for FakeProviderCommandFactory_Impl {
    fn ActivateInstance(&self) -> Result<IInspectable> {
        // WebAccountProviderCommand has no default constructor.
        Err(E_NOTIMPL.into())
    }
}

fn create(
    provider: &Ref<WebAccountProvider>,
    invoked: &Ref<WebAccountProviderCommandInvokedHandler>,
) -> Result<WebAccountProviderCommand> {
    let provider = provider.ok()?.clone();
    let invoked = invoked.ok()?.clone();
    fake_state::record(FakeCall {
        provider: Some((
            provider.Id()?.to_string_lossy(),
            provider.Authority()?.to_string_lossy(),
        )),
        ..fake_state::call("CreateWebAccountProviderCommand")
    });
    as_class(FakeProviderCommand { provider, invoked })
}

impl IWebAccountProviderCommandFactory_Impl for FakeProviderCommandFactory_Impl {
    unsafe fn CreateWebAccountProviderCommand(
        &self,
        provider: Ref<WebAccountProvider>,
        invoked: Ref<WebAccountProviderCommandInvokedHandler>,
        result: *mut *mut c_void,
    ) -> HRESULT {
        answer(result, create(&provider, &invoked))
    }
}

// Keeps the interface types in use for the `implement` macro's QueryInterface tables.
const _: fn() = || {
    let _ = <IWebAccountProviderCommandFactory as Interface>::IID;
    let _ = <IWebAccountProviderCommand as Interface>::IID;
};
