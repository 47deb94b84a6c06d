//! The DLL's exports: `DllGetActivationFactory` for combase, and the control functions
//! [`crate::FakeWam`] calls from the test.

use crate::{accounts_settings_pane, fake_state, manager::factory_for, FakeScript};
use std::{ffi::c_void, time::Duration};
use windows_core::{Interface, Ref, HRESULT, HSTRING};

const S_OK: HRESULT = HRESULT(0);
const S_FALSE: HRESULT = HRESULT(1);
/// `REGDB_E_CLASSNOTREG`: a class this DLL does not serve.
const REGDB_E_CLASSNOTREG: HRESULT = HRESULT(0x8004_0154_u32 as i32);
const E_POINTER: HRESULT = HRESULT(0x8000_4003_u32 as i32);
const E_INVALIDARG: HRESULT = HRESULT(0x8007_0057_u32 as i32);

/// The WinRT DLL entry point: the activation factory of `class`.
///
/// # Safety
/// Called by combase with a valid class name and a writable out-pointer.
#[no_mangle]
pub unsafe extern "system" fn DllGetActivationFactory(
    class: Ref<HSTRING>,
    factory: *mut *mut c_void,
) -> HRESULT {
    if factory.is_null() {
        return E_POINTER;
    }
    let class = class.to_string_lossy();
    let mut call = fake_state::call("DllGetActivationFactory");
    call.provider = Some((class.clone(), String::new()));
    fake_state::record(call);
    let found = factory_for(&class);
    let hr = if found.is_some() {
        S_OK
    } else {
        REGDB_E_CLASSNOTREG
    };
    // SAFETY: checked non-null above; combase owns the returned reference.
    unsafe { factory.write(found.map_or(std::ptr::null_mut(), Interface::into_raw)) };
    hr
}

/// Never unloaded while the process runs: the script and the record live in it.
#[no_mangle]
pub extern "system" fn DllCanUnloadNow() -> HRESULT {
    S_FALSE
}

/// Replaces the script (`len` bytes of JSON at `json`) and forgets the calls received.
///
/// # Safety
/// `json` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "system" fn mr_auth_wam_fake_reset(json: *const u8, len: usize) -> HRESULT {
    if json.is_null() {
        return E_POINTER;
    }
    // SAFETY: the caller guarantees `len` readable bytes at `json`.
    let bytes = unsafe { std::slice::from_raw_parts(json, len) };
    match serde_json::from_slice::<FakeScript>(bytes) {
        Ok(script) => {
            // Every window's pane too, and so every handler a test left registered.
            accounts_settings_pane::forget_panes();
            fake_state::reset(script);
            S_OK
        }
        Err(_) => E_INVALIDARG,
    }
}

/// Writes the calls received so far, as JSON, to `buffer` if `capacity` is enough; returns
/// the JSON's length either way.
///
/// # Safety
/// `buffer` must be null or point to `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "system" fn mr_auth_wam_fake_calls(buffer: *mut u8, capacity: usize) -> usize {
    let json = fake_state::with(|s| serde_json::to_vec(&s.calls)).unwrap_or_default();
    if !buffer.is_null() && json.len() <= capacity {
        // SAFETY: the caller guarantees `capacity` writable bytes; `json.len() <= capacity`.
        unsafe { std::ptr::copy_nonoverlapping(json.as_ptr(), buffer, json.len()) };
    }
    json.len()
}

/// Blocks until `count` token calls are held pending, for at most `timeout_ms`; 1 if they
/// were, 0 if the time ran out.
#[no_mangle]
pub extern "system" fn mr_auth_wam_fake_wait_until_held(count: u32, timeout_ms: u32) -> u32 {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    u32::from(fake_state::wait_until_held(
        count,
        Duration::from_millis(timeout_ms.into()),
    ))
}

/// Blocks until a call to the method named by the `len` UTF-8 bytes at `method` was recorded,
/// for at most `timeout_ms`; 1 if it was, 0 if the time ran out or the name is not UTF-8.
///
/// # Safety
/// `method` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "system" fn mr_auth_wam_fake_wait_for_call(
    method: *const u8,
    len: usize,
    timeout_ms: u32,
) -> u32 {
    if method.is_null() {
        return 0;
    }
    // SAFETY: the caller guarantees `len` readable bytes at `method`.
    let bytes = unsafe { std::slice::from_raw_parts(method, len) };
    let Ok(method) = std::str::from_utf8(bytes) else {
        return 0;
    };
    u32::from(fake_state::wait_for_call(
        method,
        Duration::from_millis(timeout_ms.into()),
    ))
}
