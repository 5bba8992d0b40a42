/* credlist.exe: what another process finds in the Windows Credential Manager, for the
 * client's keychain tests under Wine (crates/client/tests/client/keychain.rs) — the
 * Windows counterpart of `secret-tool search` on Linux. It proves that the items the
 * client wrote are in the Credential Manager, not in keyring's in-memory mock.
 *
 * Prints one line per generic credential whose target name contains the argument:
 *   <target name> TAB <size of the secret in bytes> TAB <secret as UTF-8>
 * (keyring stores a password as UTF-16LE, which is what the size counts.)
 *
 * Built by scripts/windows-tests.sh with x86_64-w64-mingw32-gcc; test-only. */
#include <windows.h>
#include <wincred.h>
#include <stdio.h>
#include <wchar.h>

static void print_utf8(const WCHAR *text, int length)
{
    int size = WideCharToMultiByte(CP_UTF8, 0, text, length, NULL, 0, NULL, NULL);
    char *out = HeapAlloc(GetProcessHeap(), 0, size + 1);
    if (!out)
        return;
    WideCharToMultiByte(CP_UTF8, 0, text, length, out, size, NULL, NULL);
    fwrite(out, 1, size, stdout);
    HeapFree(GetProcessHeap(), 0, out);
}

int wmain(int argc, WCHAR **argv)
{
    DWORD count = 0;
    PCREDENTIALW *credentials = NULL;
    const WCHAR *needle = argc > 1 ? argv[1] : L"";

    if (!CredEnumerateW(NULL, 0, &count, &credentials)) {
        if (GetLastError() == ERROR_NOT_FOUND)
            return 0;
        fprintf(stderr, "CredEnumerateW failed: %lu\n", GetLastError());
        return 1;
    }
    for (DWORD i = 0; i < count; i++) {
        const CREDENTIALW *c = credentials[i];
        if (c->Type != CRED_TYPE_GENERIC || !wcsstr(c->TargetName, needle))
            continue;
        print_utf8(c->TargetName, (int)wcslen(c->TargetName));
        printf("\t%lu\t", c->CredentialBlobSize);
        print_utf8((const WCHAR *)c->CredentialBlob, (int)(c->CredentialBlobSize / sizeof(WCHAR)));
        printf("\n");
    }
    CredFree(credentials);
    return 0;
}
