/* Test support on Windows: see stt_os.h. Not part of the library. */
#include "stt_os.h"

#if defined(_WIN32)
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

int stt_fcntl_getfd(int fd, int cmd)
{
    (void)cmd;
    if (fd < 0 || _get_osfhandle(fd) == -1) {
        errno = EBADF;
        return -1;
    }
    return 0;
}

long long stt_pread(int fd, void *buf, size_t n, long long off)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED ov;
    DWORD got = 0;
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)(unsigned long long)off;
    ov.OffsetHigh = (DWORD)((unsigned long long)off >> 32);
    if (!ReadFile(h, buf, n > 0x40000000u ? 0x40000000u : (DWORD)n, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF) return 0;
        errno = EIO;
        return -1;
    }
    return (long long)got;
}

char *mkdtemp(char *tmpl)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = strlen(tmpl), i;
    unsigned long long x;
    LARGE_INTEGER t;
    int tries;
    if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX") != 0) {
        errno = EINVAL;
        return NULL;
    }
    QueryPerformanceCounter(&t);
    x = (unsigned long long)t.QuadPart ^ (unsigned long long)GetCurrentProcessId() << 40 ^
        (unsigned long long)GetCurrentThreadId() << 20;
    for (tries = 0; tries < 1000; tries++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        for (i = 0; i < 6; i++) tmpl[n - 6 + i] = digits[(x >> (20 + 6 * i)) % 36];
        if (_mkdir(tmpl) == 0) return tmpl;
        if (errno != EEXIST) return NULL;
    }
    errno = EEXIST;
    return NULL;
}

/* UTF-8 -> UTF-16 with '\\' separators; 0 on failure */
static int stt_wide(const char *s, wchar_t *w, int cap)
{
    int i, n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, cap);
    for (i = 0; i < n; i++)
        if (w[i] == L'/') w[i] = L'\\';
    return n;
}

int symlink(const char *target, const char *link)
{
    wchar_t wt[1024], wl[1024], full[2048];
    DWORD flags = 0x2 /* SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE */, a;
    if (!stt_wide(target, wt, 1024) || !stt_wide(link, wl, 1024)) {
        errno = EINVAL;
        return -1;
    }
    /* a link to a directory must say so; a relative target is relative to
     * the link's directory */
    if (wt[0] == L'\\' || (wt[0] && wt[1] == L':')) {
        wcscpy(full, wt);
    } else {
        wchar_t *sep;
        wcscpy(full, wl);
        sep = wcsrchr(full, L'\\');
        if (sep) sep[1] = L'\0';
        else full[0] = L'\0';
        wcscat(full, wt);
    }
    a = GetFileAttributesW(full);
    if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) flags |= 0x1;
    if (!CreateSymbolicLinkW(wl, wt, flags)) {
        DWORD e = GetLastError();
        errno = e == ERROR_PRIVILEGE_NOT_HELD || e == ERROR_ACCESS_DENIED ? EPERM : EIO;
        return -1;
    }
    a = GetFileAttributesW(wl);
    if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_REPARSE_POINT)) {
        errno = ENOSYS;
        return -1;
    }
    return 0;
}

long sysconf(int name)
{
    SYSTEM_INFO si;
    if (name != _SC_PAGESIZE) {
        errno = EINVAL;
        return -1;
    }
    GetSystemInfo(&si);
    return (long)si.dwPageSize;
}

FILE *stt_fopen_utf8(const char *path, const char *mode)
{
    wchar_t wp[1024], wm[16];
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wp, 1024) ||
        !MultiByteToWideChar(CP_UTF8, 0, mode, -1, wm, 16)) {
        errno = EINVAL;
        return NULL;
    }
    return _wfopen(wp, wm);
}

int stt_unlink_utf8(const char *path)
{
    wchar_t wp[1024];
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wp, 1024)) {
        errno = EINVAL;
        return -1;
    }
    return _wunlink(wp);
}

int posix_memalign(void **p, size_t align, size_t n)
{
    *p = _aligned_malloc(n ? n : 1, align);
    return *p ? 0 : ENOMEM;
}

#else
/* ISO C wants a declaration in every unit */
typedef int stt_os_posix_unused;
#endif
