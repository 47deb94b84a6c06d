//! Helpers for the WAM tests: Wine detection (WAM does not exist under Wine, so the tests
//! that prove the fallback run only there, and the ones that need a real WAM never do).
#![allow(
    unreachable_pub,
    reason = "a module of each wam test binary, not of a library"
)]

use std::ffi::{c_char, CStr};
use windows::{
    core::{s, w},
    Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress},
};

/// Wine's version when running under Wine (its ntdll exports `wine_get_version`).
pub fn wine_version() -> Option<String> {
    // SAFETY: a static nul-terminated module name; ntdll.dll is in every Windows process.
    let ntdll = unsafe { GetModuleHandleW(w!("ntdll.dll")) }.ok()?;
    // SAFETY: a valid module handle and a static nul-terminated export name.
    let proc = unsafe { GetProcAddress(ntdll, s!("wine_get_version")) }?;
    // SAFETY: Wine declares `const char *wine_get_version(void)`.
    let get: unsafe extern "C" fn() -> *const c_char = unsafe { std::mem::transmute(proc) };
    // SAFETY: Wine's function takes no arguments and returns a static string or null.
    let version = unsafe { get() };
    if version.is_null() {
        return Some(String::new());
    }
    // SAFETY: non-null, nul-terminated, static.
    Some(
        unsafe { CStr::from_ptr(version) }
            .to_string_lossy()
            .into_owned(),
    )
}
