//! The Windows Web Account Manager (WAM) broker, through WinRT
//! (`Windows.Security.Authentication.Web.Core`); see "Windows: WAM through WinRT" in the
//! broker spec.
//!
//! Split so that only thin WinRT calls are Windows-only:
//! - platform-neutral, compiled and unit-tested everywhere: which provider serves a request
//!   ([`wam_route`]), the request's properties ([`wam_token_request`]), what a result status
//!   means ([`wam_status`]), reading a response and its expiry ([`wam_response`]), failed
//!   calls ([`wam_call_error`]), account ids ([`wam_account_id`]), what the MSA passthrough
//!   account picker offers ([`wam_account_picker`]) and the parent window choice
//!   ([`window_handle_choice`]);
//! - Windows only: the worker thread in COM's multi-threaded apartment ([`mta_thread`]), the
//!   WinRT calls ([`wam_client`]), the account picker's pane ([`accounts_settings_pane`]), the
//!   broker ([`wam_broker`]) and Wine detection
//!   ([`wine_detection`]). These are the only files with `unsafe` code, each block with a
//!   `SAFETY` comment.
// The platform-neutral parts are used only by the Windows broker; they are compiled on every
// platform so that their unit tests run on Linux too.
#![cfg_attr(
    not(windows),
    allow(
        dead_code,
        reason = "the platform-neutral parts are used only by the Windows broker"
    )
)]

mod wam_account_id;
mod wam_account_picker;
mod wam_call_error;
mod wam_response;
mod wam_route;
mod wam_status;
mod wam_token_request;
mod window_handle_choice;

#[cfg(windows)]
#[allow(unsafe_code, reason = "IAccountsSettingsPaneInterop (COM FFI)")]
mod accounts_settings_pane;
#[cfg(windows)]
#[allow(unsafe_code, reason = "CoInitializeEx/CoUninitialize (FFI)")]
mod mta_thread;
#[cfg(windows)]
mod wam_broker;
#[cfg(windows)]
#[allow(unsafe_code, reason = "IWebAuthenticationCoreManagerInterop (COM FFI)")]
mod wam_client;
#[cfg(windows)]
#[allow(unsafe_code, reason = "GetModuleHandleW/GetProcAddress (FFI)")]
mod wine_detection;

#[cfg(windows)]
pub(crate) use wam_broker::WamBroker;
#[cfg(feature = "fuzzing")]
pub(crate) use wam_response::fuzz as fuzz_response;
#[cfg(all(windows, test))]
use wine_detection::wine_version;
