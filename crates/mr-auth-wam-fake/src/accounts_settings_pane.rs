//! `Windows.UI.ApplicationSettings.AccountsSettingsPane`, the account picker: its activation
//! factory with `IAccountsSettingsPaneInterop` (`GetForWindow`,
//! `ShowAddAccountForWindowAsync`), the per-window pane with its `AccountCommandsRequested`
//! event, and the event's args, whose `WebAccountProviderCommands` vector collects what the
//! module offers. `ShowAddAccountForWindowAsync` raises the event, records the providers
//! offered, invokes the command the script picks (or none) and completes, or stays open until
//! cancelled.

use crate::{
    abi::{
        inspectable, IAccountsSettingsPane, IAccountsSettingsPaneCommandsRequestedEventArgs,
        IAccountsSettingsPaneCommandsRequestedEventArgs_Impl, IAccountsSettingsPane_Impl,
        PaneCommandsRequestedHandler,
    },
    async_action::FakeAction,
    command_vector::FakeVector,
    fake_state,
    objects::{as_class, put, put_string, E_NOTIMPL},
    FakePickerChoice,
};
use std::{
    ffi::c_void,
    sync::{Arc, LazyLock, Mutex, MutexGuard},
};
use windows::{
    Win32::{
        Foundation::HWND,
        System::WinRT::{
            IAccountsSettingsPaneInterop, IAccountsSettingsPaneInterop_Impl, IActivationFactory,
            IActivationFactory_Impl,
        },
    },
    UI::ApplicationSettings::{
        AccountsSettingsPane, AccountsSettingsPaneCommandsRequestedEventArgs,
        WebAccountProviderCommand,
    },
};
use windows_collections::IVector;
use windows_core::{
    implement, Error, Event, IInspectable, IUnknown, Interface, Ref, Result, GUID, HRESULT, HSTRING,
};
use windows_future::IAsyncAction;

const S_OK: HRESULT = HRESULT(0);
const E_POINTER: HRESULT = HRESULT(0x8000_4003_u32 as i32);
const E_NOINTERFACE: HRESULT = HRESULT(0x8000_4002_u32 as i32);
const E_UNEXPECTED: HRESULT = HRESULT(0x8000_FFFF_u32 as i32);

/// The authority of the personal-account (MSA) provider.
const CONSUMERS: &str = "consumers";

/// The pane of one window: the handlers of its `AccountCommandsRequested` event.
struct PaneState {
    hwnd: isize,
    handlers: Event<PaneCommandsRequestedHandler>,
}

/// Every window's pane, until the next reset.
static PANES: LazyLock<Mutex<Vec<Arc<PaneState>>>> = LazyLock::new(Mutex::default);

fn panes() -> MutexGuard<'static, Vec<Arc<PaneState>>> {
    PANES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forgets every pane (and so every handler a test left registered).
pub(crate) fn forget_panes() {
    panes().clear();
}

/// The pane of `hwnd`, made on first use (as `GetForWindow` does).
fn pane_for(hwnd: isize) -> Arc<PaneState> {
    let mut panes = panes();
    if let Some(pane) = panes.iter().find(|p| p.hwnd == hwnd) {
        return pane.clone();
    }
    let pane = Arc::new(PaneState {
        hwnd,
        handlers: Event::new(),
    });
    panes.push(pane.clone());
    pane
}

#[implement(IAccountsSettingsPane)]
struct FakePane(Arc<PaneState>);

inspectable!(
    FakePane_Impl,
    "Windows.UI.ApplicationSettings.AccountsSettingsPane"
);

impl IAccountsSettingsPane_Impl for FakePane_Impl {
    unsafe fn AccountCommandsRequested(
        &self,
        handler: Ref<PaneCommandsRequestedHandler>,
        token: *mut i64,
    ) -> HRESULT {
        if token.is_null() {
            return E_POINTER;
        }
        let mut call = fake_state::call("AccountCommandsRequested");
        call.hwnd = Some(self.0.hwnd);
        fake_state::record(call);
        let added = handler
            .ok()
            .and_then(|handler| self.0.handlers.add(handler));
        match added {
            Ok(cookie) => {
                // SAFETY: checked non-null above; an out-parameter of this ABI method.
                unsafe { token.write(cookie) };
                S_OK
            }
            Err(e) => e.code(),
        }
    }

    unsafe fn RemoveAccountCommandsRequested(&self, token: i64) -> HRESULT {
        let mut call = fake_state::call("RemoveAccountCommandsRequested");
        call.hwnd = Some(self.0.hwnd);
        fake_state::record(call);
        self.0.handlers.remove(token);
        S_OK
    }
}

#[implement(IAccountsSettingsPaneCommandsRequestedEventArgs)]
struct FakeCommandsRequestedArgs {
    provider_commands: IVector<WebAccountProviderCommand>,
}

inspectable!(
    FakeCommandsRequestedArgs_Impl,
    "Windows.UI.ApplicationSettings.AccountsSettingsPaneCommandsRequestedEventArgs"
);

impl IAccountsSettingsPaneCommandsRequestedEventArgs_Impl for FakeCommandsRequestedArgs_Impl {
    unsafe fn WebAccountProviderCommands(&self, result: *mut *mut c_void) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put(result, Some(self.provider_commands.clone())) }
    }
    unsafe fn WebAccountCommands(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
    unsafe fn CredentialCommands(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
    unsafe fn Commands(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
    unsafe fn HeaderText(&self, result: *mut HSTRING) -> HRESULT {
        // SAFETY: an out-parameter of this ABI method.
        unsafe { put_string(result, &HSTRING::new()) }
    }
    unsafe fn SetHeaderText(&self, _value: Ref<HSTRING>) -> HRESULT {
        S_OK
    }
    unsafe fn GetDeferral(&self, _result: *mut *mut c_void) -> HRESULT {
        E_NOTIMPL
    }
}

/// `Windows.UI.ApplicationSettings.AccountsSettingsPane`'s activation factory.
#[implement(IActivationFactory, IAccountsSettingsPaneInterop)]
pub(crate) struct FakePaneFactory;

inspectable!(
    FakePaneFactory_Impl,
    "Windows.UI.ApplicationSettings.AccountsSettingsPane"
);

impl IActivationFactory_Impl for FakePaneFactory_Impl {
    fn ActivateInstance(&self) -> Result<IInspectable> {
        // A pane is had per window, never constructed.
        Err(E_NOTIMPL.into())
    }
}

/// Writes `object` to a COM out-parameter as the interface `riid` asks for.
///
/// # Safety
/// `riid` must be null or point to a GUID; `out` must be null or writable.
unsafe fn query(object: &IUnknown, riid: *const GUID, out: *mut *mut c_void) -> Result<()> {
    if riid.is_null() || out.is_null() {
        return Err(E_POINTER.into());
    }
    // SAFETY: both pointers checked non-null; the caller guarantees their validity.
    unsafe { object.query(riid, out) }.ok()
}

/// The provider (id, authority) of each command, in order.
fn providers_of(commands: &IVector<WebAccountProviderCommand>) -> Result<Vec<(String, String)>> {
    let mut offered = Vec::new();
    for command in commands {
        let provider = command.WebAccountProvider()?;
        offered.push((
            provider.Id()?.to_string_lossy(),
            provider.Authority()?.to_string_lossy(),
        ));
    }
    Ok(offered)
}

/// The index of the command `choice` picks among `offered`.
fn pick(choice: FakePickerChoice, offered: &[(String, String)]) -> Option<usize> {
    let personal = |(_, authority): &(String, String)| authority.eq_ignore_ascii_case(CONSUMERS);
    match choice {
        FakePickerChoice::WorkOrSchool => offered.iter().position(|p| !personal(p)),
        FakePickerChoice::Personal => offered.iter().position(personal),
        FakePickerChoice::Dismiss => None,
    }
}

/// Shows the pane of `hwnd`: raises `AccountCommandsRequested`, records what was offered and
/// "invokes" the command the script chooses.
fn show_add_account(hwnd: isize) -> Result<IAsyncAction> {
    const METHOD: &str = "ShowAddAccountForWindowAsync";
    let pane = pane_for(hwnd);
    let sender: AccountsSettingsPane = as_class(FakePane(pane.clone()))?;
    let commands = FakeVector::<WebAccountProviderCommand>::create();
    let args: AccountsSettingsPaneCommandsRequestedEventArgs =
        as_class(FakeCommandsRequestedArgs {
            provider_commands: commands.clone(),
        })?;
    // Raised on the calling thread, outside every lock of the fake.
    pane.handlers.call(|handler| handler.Invoke(&sender, &args));
    let mut call = fake_state::call(METHOD);
    call.hwnd = Some(hwnd);
    call.offered = providers_of(&commands)?;
    let Some(picker) = fake_state::with(|s| s.script.account_picker) else {
        fake_state::record(call);
        return Err(Error::new(
            E_UNEXPECTED,
            "the fake wam script has no account picker",
        ));
    };
    if picker.hold {
        fake_state::record(call);
        return Ok(FakeAction::held(METHOD));
    }
    let picked = pick(picker.choice, &call.offered);
    if picker.choice != FakePickerChoice::Dismiss && picked.is_none() {
        fake_state::record(call);
        return Err(Error::new(
            E_UNEXPECTED,
            "the fake wam script picks an account kind the picker did not offer",
        ));
    }
    call.picked = picked.and_then(|i| call.offered.get(i).cloned());
    fake_state::record(call);
    if let Some(i) = picked {
        let command = commands.GetAt(u32::try_from(i).unwrap_or(u32::MAX))?;
        command.Invoked()?.Invoke(&command)?;
    }
    Ok(FakeAction::ready(METHOD))
}

impl IAccountsSettingsPaneInterop_Impl for FakePaneFactory_Impl {
    fn GetForWindow(
        &self,
        appwindow: HWND,
        riid: *const GUID,
        accountssettingspane: *mut *mut c_void,
    ) -> Result<()> {
        let hwnd = appwindow.0 as isize;
        let mut call = fake_state::call("GetForWindow");
        call.hwnd = Some(hwnd);
        fake_state::record(call);
        let pane: IUnknown = FakePane(pane_for(hwnd)).into();
        // SAFETY: `riid` and the out-parameter are this COM method's parameters.
        unsafe { query(&pane, riid, accountssettingspane) }
    }

    fn ShowManageAccountsForWindowAsync(
        &self,
        _appwindow: HWND,
        _riid: *const GUID,
        _asyncaction: *mut *mut c_void,
    ) -> Result<()> {
        Err(E_NOTIMPL.into())
    }

    fn ShowAddAccountForWindowAsync(
        &self,
        appwindow: HWND,
        riid: *const GUID,
        asyncaction: *mut *mut c_void,
    ) -> Result<()> {
        // SAFETY: the caller passes a valid `riid` or null.
        if unsafe { riid.as_ref() } != Some(&IAsyncAction::IID) {
            return Err(E_NOINTERFACE.into());
        }
        let action: IUnknown = show_add_account(appwindow.0 as isize)?.into();
        // SAFETY: `riid` and the out-parameter are this COM method's parameters.
        unsafe { query(&action, riid, asyncaction) }
    }
}

// Keeps the interface types in use for the `implement` macro's QueryInterface tables.
const _: fn() = || {
    let _ = <IAccountsSettingsPane as Interface>::IID;
    let _ = <IAccountsSettingsPaneCommandsRequestedEventArgs as Interface>::IID;
};
