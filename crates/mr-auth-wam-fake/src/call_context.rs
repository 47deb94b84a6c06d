//! Where a call came from: the calling thread's name and COM apartment, recorded with every
//! call so tests can show that no WinRT call runs on an async executor's thread.

use windows::Win32::{
    Foundation::{LocalFree, HLOCAL},
    System::{
        Com::{
            CoGetApartmentType, APTTYPE, APTTYPEQUALIFIER, APTTYPE_MAINSTA, APTTYPE_MTA,
            APTTYPE_NA, APTTYPE_STA,
        },
        Threading::{GetCurrentThread, GetThreadDescription},
    },
};

/// The calling thread's name, as Rust's `std::thread::Builder::name` and tokio set it
/// (`SetThreadDescription`); empty when it has none.
pub(crate) fn thread_name() -> String {
    // SAFETY: the pseudo-handle of the current thread is always valid; on success the
    // returned string is owned by us and freed with LocalFree.
    unsafe {
        let Ok(name) = GetThreadDescription(GetCurrentThread()) else {
            return String::new();
        };
        let text = name.to_string().unwrap_or_default();
        let _ = LocalFree(Some(HLOCAL(name.0.cast())));
        text
    }
}

/// The calling thread's COM apartment.
pub(crate) fn apartment() -> String {
    let mut kind = APTTYPE::default();
    let mut qualifier = APTTYPEQUALIFIER::default();
    // SAFETY: two valid out-pointers to locals.
    match unsafe { CoGetApartmentType(&mut kind, &mut qualifier) } {
        Err(_) => "none".to_owned(),
        Ok(()) => match kind {
            APTTYPE_MTA => "MTA",
            APTTYPE_STA => "STA",
            APTTYPE_MAINSTA => "MainSTA",
            APTTYPE_NA => "NA",
            _ => "other",
        }
        .to_owned(),
    }
}
