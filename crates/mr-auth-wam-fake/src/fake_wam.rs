//! [`FakeWam`]: the test's handle on the fake, in the test process.

use crate::{FakeCall, FakeScript};
use std::{ffi::c_void, time::Duration};
use windows::{
    core::{s, w, HSTRING, PCSTR, PCWSTR},
    Win32::{
        Foundation::HMODULE,
        System::{
            LibraryLoader::{GetProcAddress, LoadLibraryW},
            Registry::{RegGetValueW, HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ},
        },
    },
};

/// The registry key combase reads for `WebAuthenticationCoreManager`.
const CORE_MANAGER_KEY: PCWSTR = w!(
    "Software\\Microsoft\\WindowsRuntime\\ActivatableClassId\\Windows.Security.Authentication.Web.Core.WebAuthenticationCoreManager"
);

type ResetFn = unsafe extern "system" fn(*const u8, usize) -> windows_core::HRESULT;
type CallsFn = unsafe extern "system" fn(*mut u8, usize) -> usize;
type WaitHeldFn = unsafe extern "system" fn(u32, u32) -> u32;
type WaitCallFn = unsafe extern "system" fn(*const u8, usize, u32) -> u32;
/// What `GetProcAddress` returns.
type ExportFn = unsafe extern "system" fn() -> isize;

/// The fake WAM DLL, loaded from the path registered for `WebAuthenticationCoreManager` (the
/// module combase loads too, so both see the same script and record).
#[derive(Debug, Clone, Copy)]
pub struct FakeWam {
    reset: ResetFn,
    calls: CallsFn,
    wait_until_held: WaitHeldFn,
    wait_for_call: WaitCallFn,
}

fn export(module: HMODULE, name: PCSTR) -> Result<ExportFn, String> {
    // SAFETY: a loaded module and a static nul-terminated name.
    unsafe { GetProcAddress(module, name) }.ok_or_else(|| {
        // SAFETY: `name` is a static nul-terminated string.
        let name = unsafe { name.to_string() }.unwrap_or_default();
        format!("the registered fake wam dll has no export {name}: rebuild it")
    })
}

impl FakeWam {
    /// Loads the fake from the `DllPath` registered for `WebAuthenticationCoreManager`;
    /// an error that says so when the fake is not registered (run `cargo xtask ci wine`).
    pub fn load() -> Result<Self, String> {
        let mut buffer = vec![0u16; 1024];
        let mut size = u32::try_from(buffer.len() * 2).unwrap_or(u32::MAX);
        // SAFETY: a valid key name and value name, and a buffer of `size` bytes.
        let found = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                CORE_MANAGER_KEY,
                w!("DllPath"),
                RRF_RT_REG_SZ,
                None,
                Some(buffer.as_mut_ptr().cast::<c_void>()),
                Some(&mut size),
            )
        };
        if found.is_err() {
            return Err(format!(
                "the fake wam is not registered ({found:?}): `cargo xtask ci wine` registers it in its wine prefix"
            ));
        }
        let len = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
        let path = HSTRING::from_wide(&buffer[..len]);
        // SAFETY: a nul-terminated path (HSTRING keeps a terminator).
        let module = unsafe { LoadLibraryW(PCWSTR(path.as_ptr())) }
            .map_err(|e| format!("cannot load the fake wam dll {path}: {e}"))?;
        // SAFETY: each export has the signature declared next to it in `exports.rs`.
        unsafe {
            Ok(Self {
                reset: std::mem::transmute::<ExportFn, ResetFn>(export(
                    module,
                    s!("mr_auth_wam_fake_reset"),
                )?),
                calls: std::mem::transmute::<ExportFn, CallsFn>(export(
                    module,
                    s!("mr_auth_wam_fake_calls"),
                )?),
                wait_until_held: std::mem::transmute::<ExportFn, WaitHeldFn>(export(
                    module,
                    s!("mr_auth_wam_fake_wait_until_held"),
                )?),
                wait_for_call: std::mem::transmute::<ExportFn, WaitCallFn>(export(
                    module,
                    s!("mr_auth_wam_fake_wait_for_call"),
                )?),
            })
        }
    }

    /// Replaces the script and forgets every call received.
    pub fn reset(&self, script: &FakeScript) {
        let json = serde_json::to_vec(script).unwrap_or_default();
        // SAFETY: `json.len()` readable bytes.
        let hr = unsafe { (self.reset)(json.as_ptr(), json.len()) };
        assert!(hr.is_ok(), "the fake wam rejected the script: {hr:?}");
    }

    /// Every call the fake received since the last [`FakeWam::reset`], in order.
    pub fn calls(&self) -> Vec<FakeCall> {
        for _ in 0..4 {
            // SAFETY: a null buffer only asks for the length.
            let len = unsafe { (self.calls)(std::ptr::null_mut(), 0) };
            let mut buffer = vec![0u8; len];
            // SAFETY: `buffer` has `len` writable bytes.
            let written = unsafe { (self.calls)(buffer.as_mut_ptr(), buffer.len()) };
            if written == len {
                return serde_json::from_slice(&buffer).unwrap_or_default();
            }
            // A call was recorded in between; ask again.
        }
        panic!("the fake wam's record kept changing while being read");
    }

    /// The calls to `method`.
    pub fn calls_to(&self, method: &str) -> Vec<FakeCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Blocks until `count` token calls are held pending (their response has `hold`), for at
    /// most `timeout`; whether they were.
    pub fn wait_until_held(&self, count: u32, timeout: Duration) -> bool {
        let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        // SAFETY: plain values.
        unsafe { (self.wait_until_held)(count, ms) == 1 }
    }

    /// Blocks until a call to `method` was recorded, for at most `timeout`; whether it was.
    pub fn wait_for_call(&self, method: &str, timeout: Duration) -> bool {
        let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        // SAFETY: `method.len()` readable bytes.
        unsafe { (self.wait_for_call)(method.as_ptr(), method.len(), ms) == 1 }
    }
}
