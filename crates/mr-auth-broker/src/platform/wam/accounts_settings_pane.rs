//! The account picker of MSA passthrough through WinRT: Windows' `AccountsSettingsPane` for
//! the parent window (`IAccountsSettingsPaneInterop::GetForWindow` and
//! `ShowAddAccountForWindowAsync`, as MSAL.NET's WAM broker calls them), answering its
//! `AccountCommandsRequested` event with one `WebAccountProviderCommand` per provider of the
//! [`AccountPickerOffer`]. Every call blocks, so it runs on the worker thread of
//! [`run_in_mta`](super::mta_thread::run_in_mta), like [`WamClient`](super::wam_client::WamClient).

use super::{
    mta_thread::Canceller,
    wam_account_picker::{AccountPickerOffer, PickedAccount},
    wam_call_error::WamStage,
    wam_client::failed,
    wam_route::MICROSOFT_PROVIDER,
};
use crate::{error::Result, platform::ParentWindowHandle};
use std::sync::{Arc, Mutex, MutexGuard};
use windows::{
    core::{factory, Ref, HSTRING},
    Foundation::TypedEventHandler,
    Security::Authentication::Web::Core::WebAuthenticationCoreManager,
    Win32::{Foundation::HWND, System::WinRT::IAccountsSettingsPaneInterop},
    UI::ApplicationSettings::{
        AccountsSettingsPane, AccountsSettingsPaneCommandsRequestedEventArgs,
        WebAccountProviderCommand, WebAccountProviderCommandInvokedHandler,
    },
};
use windows_future::IAsyncAction;

/// What the pane's handlers saw; shared with them, since Windows may call them on another
/// thread.
#[derive(Default)]
struct PickerOutcome {
    /// The command the user invoked, if any.
    picked: Option<PickedAccount>,
    /// Why the commands could not be offered, if they could not.
    failure: Option<windows::core::Error>,
}

fn lock(outcome: &Mutex<PickerOutcome>) -> MutexGuard<'_, PickerOutcome> {
    // Two plain fields; a panic elsewhere leaves them consistent.
    outcome.lock().unwrap_or_else(|p| p.into_inner())
}

fn picker_failed(error: &windows::core::Error) -> crate::error::Error {
    failed(WamStage::AccountPicker, error)
}

/// Shows the account picker parented to `window` and waits until it closes: the kind of
/// account the user picked, or `None` when the pane was closed without a choice. Dropping the
/// caller's future cancels the pending `ShowAddAccountForWindowAsync` (through `canceller`),
/// which closes the pane.
pub(crate) fn show_account_picker(
    canceller: &Canceller,
    window: ParentWindowHandle,
    offer: &AccountPickerOffer,
) -> Result<Option<PickedAccount>> {
    let interop = factory::<AccountsSettingsPane, IAccountsSettingsPaneInterop>()
        .map_err(|e| picker_failed(&e))?;
    let hwnd = HWND(window.as_raw() as *mut core::ffi::c_void);
    // SAFETY: `hwnd` is a non-null window handle (the pane validates it and fails with
    // ERROR_INVALID_WINDOW_HANDLE otherwise) and the result type is the AccountsSettingsPane
    // the interop interface documents for GetForWindow.
    let pane: AccountsSettingsPane =
        unsafe { interop.GetForWindow(hwnd) }.map_err(|e| picker_failed(&e))?;

    let outcome = Arc::new(Mutex::new(PickerOutcome::default()));
    let providers: Vec<(PickedAccount, String)> = offer
        .providers()
        .into_iter()
        .map(|(picked, authority)| (picked, authority.to_owned()))
        .collect();
    let handler = TypedEventHandler::new({
        let outcome = outcome.clone();
        move |_: Ref<AccountsSettingsPane>,
              args: Ref<AccountsSettingsPaneCommandsRequestedEventArgs>| {
            let offered = args
                .ok()
                .and_then(|args| offer_commands(args, &providers, &outcome));
            if let Err(e) = &offered {
                lock(&outcome).failure = Some(e.clone());
            }
            offered
        }
    });
    let token = pane
        .AccountCommandsRequested(&handler)
        .map_err(|e| picker_failed(&e))?;
    let _subscription = Subscription { pane: &pane, token };

    // SAFETY: as for GetForWindow; the result type is the IAsyncAction the interop interface
    // documents for ShowAddAccountForWindowAsync.
    let shown: windows::core::Result<IAsyncAction> =
        unsafe { interop.ShowAddAccountForWindowAsync(hwnd) };
    let action = shown.map_err(|e| picker_failed(&e))?;
    canceller
        .wait_action(action)
        .map_err(|e| picker_failed(&e))?;

    let outcome = lock(&outcome);
    if let Some(e) = &outcome.failure {
        return Err(picker_failed(e));
    }
    Ok(outcome.picked)
}

/// Adds a command per provider to the pane's `WebAccountProviderCommands`; invoking one
/// records its kind in `outcome`.
fn offer_commands(
    args: &AccountsSettingsPaneCommandsRequestedEventArgs,
    providers: &[(PickedAccount, String)],
    outcome: &Arc<Mutex<PickerOutcome>>,
) -> windows::core::Result<()> {
    let commands = args.WebAccountProviderCommands()?;
    for (picked, authority) in providers {
        // Found here rather than passed in: WinRT objects may not cross to the thread Windows
        // raises the event on. The lookup answers at once (it reads the installed plugins).
        let provider = WebAuthenticationCoreManager::FindAccountProviderWithAuthorityAsync(
            &HSTRING::from(MICROSOFT_PROVIDER),
            &HSTRING::from(authority.as_str()),
        )?
        .join()?;
        let invoked = WebAccountProviderCommandInvokedHandler::new({
            let outcome = outcome.clone();
            let picked = *picked;
            move |_| {
                lock(&outcome).picked = Some(picked);
                Ok(())
            }
        });
        commands.Append(&WebAccountProviderCommand::CreateWebAccountProviderCommand(
            &provider, &invoked,
        )?)?;
    }
    Ok(())
}

/// The `AccountCommandsRequested` handler, removed on drop (whether the pane closed, failed
/// or was cancelled), so a later picker on the same window does not call it again.
struct Subscription<'a> {
    pane: &'a AccountsSettingsPane,
    token: i64,
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        // Fails only if the pane is gone, and with it the handler.
        let _ = self.pane.RemoveAccountCommandsRequested(self.token);
    }
}
