/* Wine 8 lacks bcryptprimitives.dll, which Rust's std on Windows imports for ProcessPrng;
   this stand-in forwards to RtlGenRandom so the test binaries load under Wine. Built by
   .ci/windows/test. */
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n; len -= n;
    }
    return TRUE;
}
