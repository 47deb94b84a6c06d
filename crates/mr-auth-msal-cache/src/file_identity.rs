//! Windows: whether an open file and a path are the same file, by volume serial number and
//! file index (`GetFileInformationByHandle`), which std exposes only on nightly.

use std::{
    fs::{File, OpenOptions},
    os::windows::{fs::OpenOptionsExt as _, io::AsRawHandle as _},
    path::Path,
};
use windows::Win32::{
    Foundation::HANDLE,
    Storage::FileSystem::{GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION},
};

/// `FILE_FLAG_BACKUP_SEMANTICS` | `FILE_FLAG_OPEN_REPARSE_POINT` (winbase.h): open whatever
/// the path names itself, a link included, never what it points to.
const OPEN_THE_NAME_ITSELF: u32 = 0x0200_0000 | 0x0020_0000;

/// Whether `path` names the file `file` has open. False when `path` cannot be opened (gone,
/// or removed and still open elsewhere: delete pending) or either identity cannot be read.
pub(crate) fn same_file(file: &File, path: &Path) -> bool {
    let Ok(named) = OpenOptions::new()
        .access_mode(0)
        .custom_flags(OPEN_THE_NAME_ITSELF)
        .open(path)
    else {
        return false;
    };
    matches!((identity(file), identity(&named)), (Some(a), Some(b)) if a == b)
}

/// The volume serial number and the 64-bit file index of an open file.
fn identity(file: &File) -> Option<(u32, u32, u32)> {
    let mut info = BY_HANDLE_FILE_INFORMATION::default();
    // SAFETY: the handle is borrowed from `file`, open for the whole call; `info` is a valid,
    // writable BY_HANDLE_FILE_INFORMATION the call fills.
    unsafe { GetFileInformationByHandle(HANDLE(file.as_raw_handle()), &mut info) }.ok()?;
    Some((
        info.dwVolumeSerialNumber,
        info.nFileIndexHigh,
        info.nFileIndexLow,
    ))
}
