//! Helpers for the WAM tests: Wine detection (WAM does not exist under Wine, so the tests
//! that prove the fallback run only there, and the ones that need a real WAM never do) and a
//! `tracing` capture.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different subset"
)]

use std::{
    ffi::{c_char, CStr},
    io::Write,
    sync::{Arc, Mutex},
};
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

/// Everything written through `tracing` while the guard from [`Captured::install`] lives.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures DEBUG and above on this thread until the guard is dropped.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
