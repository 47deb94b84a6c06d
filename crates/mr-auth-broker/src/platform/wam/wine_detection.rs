//! Whether this Windows program runs under Wine (where there is no WAM), detected the way
//! Wine documents: its `ntdll.dll` exports `wine_get_version`.

use std::ffi::{c_char, CStr};
use windows::{
    core::{s, w},
    Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress},
};

/// Wine's version (`"8.0"`, ...) when running under Wine, `None` on real Windows.
pub(crate) fn wine_version() -> Option<String> {
    // SAFETY: the argument is a static, nul-terminated wide string; ntdll.dll is mapped into
    // every Windows process, and the returned module handle is not freed by the caller.
    let ntdll = unsafe { GetModuleHandleW(w!("ntdll.dll")) }.ok()?;
    // SAFETY: `ntdll` is a valid module handle and the name a static, nul-terminated string.
    let proc = unsafe { GetProcAddress(ntdll, s!("wine_get_version")) }?;
    // SAFETY: Wine declares `const char *wine_get_version(void)` (cdecl, which is the
    // x86-64 Windows calling convention too), so the pointer has this signature.
    let get_version: unsafe extern "C" fn() -> *const c_char = unsafe { std::mem::transmute(proc) };
    // SAFETY: calling Wine's function, which takes no arguments and returns a pointer to a
    // static, nul-terminated string (or null, checked below).
    let version = unsafe { get_version() };
    if version.is_null() {
        return Some(String::new());
    }
    // SAFETY: `version` is non-null and points to Wine's static nul-terminated string.
    Some(
        unsafe { CStr::from_ptr(version) }
            .to_string_lossy()
            .into_owned(),
    )
}
