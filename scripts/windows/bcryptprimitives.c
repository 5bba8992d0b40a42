/* bcryptprimitives.dll for Wine 8 (Debian 12), which has none: Rust's standard library
 * (1.78 and later) takes its random numbers from ProcessPrng in this DLL, so every Rust
 * program for Windows stops before main without it. Newer Wine ships the DLL; Windows
 * has had it since Windows 8. This one gives ProcessPrng on top of RtlGenRandom
 * (advapi32's SystemFunction036), the generator Rust used before.
 *
 * Built and installed into the test prefix by scripts/windows-tests.sh. Only for the
 * tests under Wine: nothing of it ships with the app. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
