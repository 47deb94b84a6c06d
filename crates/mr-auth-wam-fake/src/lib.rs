//! A fake of WAM's WinRT classes for tests under Wine (test-only, `publish = false`).
//!
//! Wine's `RoGetActivationFactory` looks a class up under
//! `HKLM\Software\Microsoft\WindowsRuntime\ActivatableClassId\<class>`, loads the DLL its
//! `DllPath` names and calls that DLL's `DllGetActivationFactory`. Built as a cdylib for
//! `x86_64-pc-windows-gnu` and registered that way by `cargo xtask ci wine`, this crate serves
//! the classes `mr-auth-broker`'s WAM module activates:
//!
//! - `Windows.Security.Authentication.Web.Core.WebAuthenticationCoreManager`: its statics
//!   (`FindAccountProviderAsync` with and without authority, `FindAccountAsync`,
//!   `GetTokenSilentlyAsync` with and without account, `RequestTokenAsync`) and
//!   `IWebAuthenticationCoreManagerInterop::RequestTokenForWindowAsync`;
//! - `Windows.Security.Authentication.Web.Core.WebTokenRequest` (its factory, the request and
//!   its `Properties` map);
//! - the objects those calls return: `WebAccountProvider`, `WebAccount`,
//!   `WebTokenRequestResult`, `WebTokenResponse`, `WebProviderError`, and every
//!   `IAsyncOperation` (which records `Cancel`);
//! - the account picker: `Windows.UI.ApplicationSettings.AccountsSettingsPane` through
//!   `IAccountsSettingsPaneInterop` (`GetForWindow`, `ShowAddAccountForWindowAsync`, whose
//!   `IAsyncAction` records `Cancel` too), its `AccountCommandsRequested` event, and
//!   `WebAccountProviderCommand` (its factory and the commands the module offers).
//!
//! Each test scripts the fake and reads what it received through `FakeWam` (the same DLL,
//! loaded into the test process, which is where combase loads it too): a `FakeScript` says
//! which accounts exist, how each token call answers (status, token, response properties,
//! provider error, or held pending until cancelled) and which command the user picks in the
//! account picker (work or school, personal, none, or the pane left open); every call is recorded as a `FakeCall`
//! with its thread and COM apartment.
//!
//! On other platforms the crate is empty.
#![deny(unsafe_code)]

#[cfg(windows)]
#[allow(unsafe_code, reason = "COM vtables (FFI)")]
mod abi;
#[cfg(windows)]
#[allow(unsafe_code, reason = "COM out-parameters (FFI)")]
mod accounts_settings_pane;
#[cfg(windows)]
#[allow(unsafe_code, reason = "`#[implement]` expands to COM vtables (FFI)")]
mod async_action;
#[cfg(windows)]
mod async_core;
#[cfg(windows)]
#[allow(unsafe_code, reason = "`#[implement]` expands to COM vtables (FFI)")]
mod async_operation;
#[cfg(windows)]
#[allow(unsafe_code, reason = "GetThreadDescription/CoGetApartmentType (FFI)")]
mod call_context;
#[cfg(windows)]
#[allow(unsafe_code, reason = "`#[implement]` expands to COM vtables (FFI)")]
mod command_vector;
#[allow(
    unreachable_pub,
    reason = "exported from the DLL (`#[no_mangle]`), not through Rust paths"
)]
#[cfg(windows)]
#[allow(unsafe_code, reason = "the DLL's C ABI exports (FFI)")]
mod exports;
#[cfg(windows)]
mod fake_state;
#[cfg(windows)]
#[allow(unsafe_code, reason = "LoadLibraryW/GetProcAddress/RegGetValueW (FFI)")]
mod fake_wam;
#[cfg(windows)]
#[allow(unsafe_code, reason = "COM out-parameters (FFI)")]
mod manager;
#[cfg(windows)]
#[allow(unsafe_code, reason = "COM out-parameters (FFI)")]
mod objects;
#[cfg(windows)]
#[allow(unsafe_code, reason = "COM out-parameters (FFI)")]
mod provider_command;
#[cfg(windows)]
mod script;
#[cfg(windows)]
#[allow(unsafe_code, reason = "`#[implement]` expands to COM vtables (FFI)")]
mod string_map;

#[cfg(windows)]
pub use fake_wam::FakeWam;
#[cfg(windows)]
pub use script::{
    FakeAccount, FakeCall, FakePicker, FakePickerChoice, FakeProviderError, FakeRequest,
    FakeResponse, FakeScript, FakeStatus,
};
