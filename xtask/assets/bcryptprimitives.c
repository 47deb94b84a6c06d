/*
 * A stand-in for Windows' bcryptprimitives.dll, built with mingw by `cargo xtask ci` and copied
 * into the Wine prefix used to run the Windows test binaries.
 *
 * Why: Rust >= 1.78 Windows binaries import `ProcessPrng` from bcryptprimitives.dll for their
 * randomness (rust-lang/rust#121337), and Debian's Wine 8.0 does not ship that DLL, so every
 * test binary would fail to load. This stub exports the one function std needs and fills the
 * buffer from `RtlGenRandom` (exported by advapi32 as `SystemFunction036`), which Wine does
 * implement.
 *
 * Test-only: this DLL is never shipped to users.
 */
#include <windows.h>

/* RtlGenRandom has no import-library declaration in the headers by that name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a 32-bit length; feed it in chunks so any SIZE_T works. */
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
