//! Windows' Data Protection API: the cache file is encrypted for the signed-in user, as MSAL's
//! extensions do with `FilePersistenceWithDataProtection`.

use crate::{Error, ErrorKind, Result};
use windows::Win32::{
    Foundation::{LocalFree, HLOCAL},
    Security::Cryptography::{
        CryptProtectData, CryptUnprotectData, CRYPTPROTECT_UI_FORBIDDEN, CRYPT_INTEGER_BLOB,
    },
};
use zeroize::Zeroizing;

/// Encrypts `data` for the current user (`CryptProtectData`, no UI, no extra entropy: what
/// MSAL's extensions write).
pub(crate) fn protect(data: &[u8]) -> Result<Vec<u8>> {
    Ok(crypt(Direction::Protect, data)?.to_vec())
}

/// Decrypts what [`protect`] (or MSAL) wrote for the current user.
pub(crate) fn unprotect(data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    crypt(Direction::Unprotect, data)
}

#[derive(Clone, Copy)]
enum Direction {
    Protect,
    Unprotect,
}

/// One DPAPI call on `data` for the current user, without UI or extra entropy.
fn crypt(direction: Direction, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    const NO_UI: u32 = CRYPTPROTECT_UI_FORBIDDEN;
    let input = blob(data)?;
    let mut output = CRYPT_INTEGER_BLOB::default();
    // SAFETY: `input` points at `data`, alive for the call; `output` is written by the call
    // and its buffer freed by `take` with LocalFree, as the API requires.
    let result = unsafe {
        match direction {
            Direction::Protect => {
                CryptProtectData(&input, None, None, None, None, NO_UI, &mut output)
            }
            Direction::Unprotect => {
                CryptUnprotectData(&input, None, None, None, None, NO_UI, &mut output)
            }
        }
    };
    let what = match direction {
        Direction::Protect => "encrypt",
        Direction::Unprotect => "decrypt",
    };
    result.map_err(|e| failed(what, &e))?;
    Ok(take(output))
}

fn blob(data: &[u8]) -> Result<CRYPT_INTEGER_BLOB> {
    let len = u32::try_from(data.len())
        .map_err(|_| Error::new(ErrorKind::Storage, "the token cache is too large for DPAPI"))?;
    Ok(CRYPT_INTEGER_BLOB {
        cbData: len,
        pbData: data.as_ptr().cast_mut(),
    })
}

/// Copies the API's output out and frees its buffer.
fn take(output: CRYPT_INTEGER_BLOB) -> Zeroizing<Vec<u8>> {
    if output.pbData.is_null() {
        return Zeroizing::new(Vec::new());
    }
    // SAFETY: on success the API set pbData/cbData to a LocalAlloc'ed buffer of that size.
    let bytes = unsafe { std::slice::from_raw_parts(output.pbData, output.cbData as usize) };
    let copy = Zeroizing::new(bytes.to_vec());
    // SAFETY: the buffer came from the API, which documents LocalFree for it; freed once.
    unsafe {
        std::ptr::write_bytes(output.pbData, 0, output.cbData as usize);
        let _ = LocalFree(Some(HLOCAL(output.pbData.cast())));
    }
    copy
}

fn failed(what: &str, e: &windows::core::Error) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!(
            "cannot {what} the token cache with DPAPI (HRESULT {:#010x}): {}; a cache encrypted by \
             another Windows user cannot be read",
            e.code().0,
            e.message()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let marker = b"refresh-token-secret-value";
        let secret = br#"{"RefreshToken":{"k":{"secret":"refresh-token-secret-value"}}}"#;
        let sealed = protect(secret).unwrap();
        assert!(!sealed.windows(marker.len()).any(|w| w == marker));
        assert_eq!(&unprotect(&sealed).unwrap()[..], &secret[..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let err = unprotect(b"not a dpapi blob").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage);
    }
}
