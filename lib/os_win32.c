/* The platform layer on Windows (mingw-w64 and MSVC); the contract is
 * lib/os.h. Paths arrive as UTF-8 and are converted to UTF-16 for the W
 * calls; paths given back (final paths, directory entries) are UTF-8.
 * Compiles to nothing elsewhere (every build lists both os_*.c files). */
#include "os.h"

#if defined(_WIN32)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <bcrypt.h>
#include <io.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER)
#pragma comment(lib, "bcrypt")
#endif

/* st__fh and _get_osfhandle keep a HANDLE as an integer: converted back here
 * only */
static HANDLE st__os_handle(intptr_t h)
{
    return (HANDLE)h; /* NOLINT(performance-no-int-to-ptr): it was a pointer */
}
#define ST__H(h) st__os_handle(h)

/* The nearest errno value of a Win32 error (callers describe it with
 * strerror). */
static int st__os_errno(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_BAD_PATHNAME:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
        return EACCES;
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_PARAMETER:
    case ERROR_NO_UNICODE_TRANSLATION:
    case ERROR_NEGATIVE_SEEK:
        return EINVAL;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return ENOMEM;
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_BUFFER_OVERFLOW:
        return ENAMETOOLONG;
    case ERROR_DIRECTORY:
        return ENOTDIR;
    case ERROR_INVALID_HANDLE:
        return EBADF;
    case ERROR_TOO_MANY_OPEN_FILES:
        return EMFILE;
    case ERROR_CANT_RESOLVE_FILENAME:
        return ELOOP;
    case ERROR_BROKEN_PIPE:
        return EPIPE;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        return ENOSPC;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
        return ENOSYS;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return EEXIST;
    case ERROR_FILE_TOO_LARGE:
        return EFBIG;
    case ERROR_WRITE_PROTECT:
        return EROFS;
    case ERROR_NOT_SAME_DEVICE:
        return EXDEV;
    case ERROR_DIR_NOT_EMPTY:
        return ENOTEMPTY;
    default:
        return EIO;
    }
}

/* UTF-8 path -> NUL-terminated UTF-16 in out[cap]; the number of UTF-16
 * units before the NUL in *len. Invalid UTF-8 is refused (EINVAL), never
 * replaced by U+FFFD (which would name another file). */
static int st__os_widen(const char *path, wchar_t *out, int cap, int *len)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, out, cap);
    if (n <= 0) {
        DWORD e = GetLastError();
        return e == ERROR_INSUFFICIENT_BUFFER ? ENAMETOOLONG : st__os_errno(e);
    }
    if (len) *len = n - 1;
    return 0;
}

/* NUL-terminated UTF-16 -> UTF-8 in out[cap]. A name holding an unpaired
 * surrogate has no UTF-8 form: EINVAL. */
static int st__os_narrow(const wchar_t *w, char *out, int cap)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, out, cap, NULL, NULL);
    if (n <= 0) {
        DWORD e = GetLastError();
        return e == ERROR_INSUFFICIENT_BUFFER ? ENAMETOOLONG : st__os_errno(e);
    }
    return 0;
}

/* ---------------------------------------------------------------- files */

/* The errno of a failed open of wpath. Windows says "path not found" where
 * a component before the last is a file; POSIX says ENOTDIR, which names the
 * mistake: said so when an existing prefix of the path is not a directory. */
static int st__os_open_errno(const wchar_t *wpath, DWORD e)
{
    wchar_t w[ST__PATH_MAX];
    size_t n = wcslen(wpath);
    if (e != ERROR_PATH_NOT_FOUND || n >= ST__PATH_MAX) return st__os_errno(e);
    memcpy(w, wpath, (n + 1) * sizeof *w);
    while (n > 0) {
        DWORD a;
        while (n > 0 && w[n - 1] != L'\\' && w[n - 1] != L'/') n--;
        while (n > 0 && (w[n - 1] == L'\\' || w[n - 1] == L'/')) n--;
        if (n == 0 || w[n - 1] == L':') break;
        w[n] = L'\0';
        a = GetFileAttributesW(w);
        if (a != INVALID_FILE_ATTRIBUTES) return (a & FILE_ATTRIBUTE_DIRECTORY) ? ENOENT : ENOTDIR;
    }
    return ENOENT;
}

static int st__os_open_w(const wchar_t *wpath, unsigned flags, HANDLE *out)
{
    const DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    DWORD attrs = FILE_ATTRIBUTE_NORMAL;
    HANDLE h;
    if (flags & ST__OS_NOFOLLOW) attrs |= FILE_FLAG_OPEN_REPARSE_POINT;
    h = CreateFileW(wpath, GENERIC_READ, share, NULL, OPEN_EXISTING, attrs, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        DWORD a;
        /* A directory opens only with backup semantics. Those are asked for
         * only then: for a process holding the backup privilege they also
         * bypass the file's access checks. The directory is then reported
         * by st__os_fstat, so that callers say "is a directory". */
        if (e != ERROR_ACCESS_DENIED) return st__os_open_errno(wpath, e);
        a = GetFileAttributesW(wpath);
        if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY)) return EACCES;
        h = CreateFileW(wpath, GENERIC_READ, share, NULL, OPEN_EXISTING,
                        attrs | FILE_FLAG_BACKUP_SEMANTICS, NULL);
        if (h == INVALID_HANDLE_VALUE) return st__os_errno(GetLastError());
    }
    if (flags & ST__OS_NOFOLLOW) {
        /* FILE_FLAG_OPEN_REPARSE_POINT opened the link itself: refuse it */
        BY_HANDLE_FILE_INFORMATION fi;
        if (!GetFileInformationByHandle(h, &fi)) {
            int e = st__os_errno(GetLastError());
            CloseHandle(h);
            return e;
        }
        if (fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
            CloseHandle(h);
            return ELOOP;
        }
    }
    *out = h;
    return 0;
}

int st__os_open(const char *path, unsigned flags, st__fh *out)
{
    wchar_t w[ST__PATH_MAX];
    HANDLE h = INVALID_HANDLE_VALUE;
    int e = st__os_widen(path, w, ST__PATH_MAX, NULL);
    *out = ST__FH_NONE;
    if (e != 0) return e;
    e = st__os_open_w(w, flags, &h);
    if (e != 0) return e;
    *out = (st__fh)h;
    return 0;
}

/* The final path of h in out[ST__PATH_MAX], UTF-8, as a DOS path: "C:\..."
 * for "\\?\C:\...", "\\server\share\..." for "\\?\UNC\server\share\...".
 * Normalized: links and junctions resolved, the case as stored on disk. A
 * drive's root keeps its separator ("C:\"); no other path ends in one. */
static int st__os_final_of(HANDLE h, char *out)
{
    wchar_t w[ST__PATH_MAX];
    wchar_t *p = w;
    DWORD n = GetFinalPathNameByHandleW(h, w, ST__PATH_MAX, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (n == 0) return st__os_errno(GetLastError());
    if (n >= ST__PATH_MAX) return ENAMETOOLONG;
    if (wcsncmp(p, L"\\\\?\\UNC\\", 8) == 0) {
        p += 6; /* "\\?\UNC\server" -> "\\server" (two separators kept) */
        p[0] = L'\\';
        p[1] = L'\\';
    } else if (wcsncmp(p, L"\\\\?\\", 4) == 0) {
        p += 4;
    }
    n = (DWORD)wcslen(p);
    /* no trailing separator, except on a drive's root */
    while (n > 3 && p[n - 1] == L'\\' && p[n - 2] != L':') p[--n] = L'\0';
    return st__os_narrow(p, out, ST__PATH_MAX);
}

int st__os_open_final(const char *path, unsigned flags, st__fh *out, char *final)
{
    st__fh h;
    int e = st__os_open(path, flags, &h);
    if (e != 0) return e;
    e = st__os_final_of(ST__H(h), final);
    if (e != 0) {
        CloseHandle(ST__H(h));
        return e;
    }
    *out = h;
    return 0;
}

int st__os_dir_final(const char *dir, char *out)
{
    wchar_t w[ST__PATH_MAX];
    BY_HANDLE_FILE_INFORMATION fi;
    HANDLE h;
    int e = st__os_widen(dir, w, ST__PATH_MAX, NULL);
    if (e != 0) return e;
    /* no access right is needed to ask for attributes and the name */
    h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) return st__os_open_errno(w, GetLastError());
    if (!GetFileInformationByHandle(h, &fi))
        e = st__os_errno(GetLastError());
    else if (!(fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
        e = ENOTDIR;
    else
        e = st__os_final_of(h, out);
    CloseHandle(h);
    return e;
}

/* The Universal C runtime's default answer to a bad descriptor in
 * _get_osfhandle and _close is to end the process; a bad st_open_fd argument
 * must be an error, so this thread ignores it during those calls. (The
 * msvcrt.dll of mingw-w64's default runtime returns -1 / EBADF by itself;
 * its headers do not declare the per-thread handler.) */
#if defined(_MSC_VER)
static void __cdecl st__os_ignore_invalid(const wchar_t *expr, const wchar_t *fn,
                                          const wchar_t *file, unsigned line, uintptr_t r)
{
    (void)expr;
    (void)fn;
    (void)file;
    (void)line;
    (void)r;
}
#define ST__CRT_QUIET_BEGIN \
    _invalid_parameter_handler st__old_iph = _set_thread_local_invalid_parameter_handler(st__os_ignore_invalid)
#define ST__CRT_QUIET_END _set_thread_local_invalid_parameter_handler(st__old_iph)
#else
#define ST__CRT_QUIET_BEGIN
#define ST__CRT_QUIET_END
#endif

int st__os_adopt_fd(int fd, int own, st__fh *out)
{
    HANDLE dup = INVALID_HANDLE_VALUE, self = GetCurrentProcess();
    intptr_t osh;
    int e = 0;
    *out = ST__FH_NONE;
    ST__CRT_QUIET_BEGIN;
    osh = _get_osfhandle(fd);
    if (osh == -1 || osh == -2) { /* -2: a descriptor with no stream (no console) */
        e = EBADF;
    } else if (GetFileType(ST__H(osh)) != FILE_TYPE_DISK) {
        /* pipes and the like: no position to keep apart, nothing to reopen */
        if (!DuplicateHandle(self, ST__H(osh), self, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
            e = st__os_errno(GetLastError());
    } else {
        /* A new open of the same file, not a duplicate: a duplicate shares the
         * file position, which every ReadFile moves, even one given an offset,
         * and the caller's position must stay where it is. A new open checks
         * the file's permissions, not the descriptor's: first a read of 0
         * bytes at the current position (it moves nothing) fails where the
         * descriptor cannot read. */
        char c;
        DWORD got = 0;
        if (!ReadFile(ST__H(osh), &c, 0, &got, NULL)) {
            e = st__os_errno(GetLastError());
        } else {
            dup = ReOpenFile(ST__H(osh), GENERIC_READ,
                             FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
            /* not reopenable (another handle's sharing mode, say): a
             * duplicate still reads right, only the position moves */
            if (dup == INVALID_HANDLE_VALUE &&
                !DuplicateHandle(self, ST__H(osh), self, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
                e = st__os_errno(GetLastError());
        }
    }
    /* the library's own handle makes the descriptor useless to it */
    if (own && osh != -1) _close(fd);
    ST__CRT_QUIET_END;
    if (e != 0) return e;
    *out = (st__fh)dup;
    return 0;
}

void st__os_close_fd(int fd)
{
    ST__CRT_QUIET_BEGIN;
    _close(fd);
    ST__CRT_QUIET_END;
}

void st__os_close(st__fh h)
{
    if (h != ST__FH_NONE) CloseHandle(ST__H(h));
}

int st__os_fstat(st__fh h, st__os_stat *out)
{
    BY_HANDLE_FILE_INFORMATION fi;
    DWORD type = GetFileType(ST__H(h));
    out->kind = ST__OS_OTHER;
    out->size = 0;
    if (type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR)
        return st__os_errno(GetLastError());
    if (type != FILE_TYPE_DISK) { /* pipes, consoles, sockets */
        out->kind = ST__OS_OTHER;
        return 0;
    }
    if (!GetFileInformationByHandle(ST__H(h), &fi)) return st__os_errno(GetLastError());
    if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        out->kind = ST__OS_DIR;
        return 0;
    }
    out->kind = ST__OS_REG;
    out->size = (uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow;
    return 0;
}

int st__os_path_kind(const char *path, int *kind)
{
    wchar_t w[ST__PATH_MAX];
    st__os_stat st;
    HANDLE h;
    int e = st__os_widen(path, w, ST__PATH_MAX, NULL);
    *kind = ST__OS_OTHER;
    if (e != 0) return e;
    /* a handle, not GetFileAttributesW: that one describes a link itself,
     * and links must be followed */
    h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) return st__os_open_errno(w, GetLastError());
    e = st__os_fstat((st__fh)h, &st);
    CloseHandle(h);
    if (e == 0) *kind = st.kind;
    return e;
}

int st__os_pread(st__fh h, void *dst, uint64_t size, uint64_t off, uint64_t *done)
{
    unsigned char *p = (unsigned char *)dst;
    *done = 0;
    /* Windows file offsets are signed 64-bit */
    if (size > (uint64_t)INT64_MAX || off > (uint64_t)INT64_MAX - size) return EOVERFLOW;
    while (*done < size) {
        /* the offset travels in the OVERLAPPED: no shared file position */
        OVERLAPPED ov;
        uint64_t left = size - *done, at = off + *done;
        DWORD want = left > (1u << 30) ? (DWORD)(1u << 30) : (DWORD)left, got = 0;
        memset(&ov, 0, sizeof ov);
        ov.Offset = (DWORD)at;
        ov.OffsetHigh = (DWORD)(at >> 32);
        if (!ReadFile(ST__H(h), p + *done, want, &got, &ov)) {
            DWORD e = GetLastError();
            if (e == ERROR_HANDLE_EOF) return 0;
            return st__os_errno(e);
        }
        if (got == 0) return 0;
        *done += got;
    }
    return 0;
}

int st__os_list_dir(const char *dir, int (*fn)(void *ctx, const char *name), void *ctx)
{
    wchar_t w[ST__PATH_MAX];
    WIN32_FIND_DATAW fd;
    HANDLE find;
    int n = 0, e = st__os_widen(dir, w, ST__PATH_MAX - 2, &n);
    if (e != 0) return -e;
    if (n > 0 && w[n - 1] != L'\\' && w[n - 1] != L'/' && w[n - 1] != L':') w[n++] = L'\\';
    w[n++] = L'*';
    w[n] = L'\0';
    find = FindFirstFileExW(w, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
    if (find == INVALID_HANDLE_VALUE) {
        DWORD err = GetLastError();
        DWORD a;
        if (err == ERROR_FILE_NOT_FOUND) return 0; /* an empty drive root */
        /* the directory itself, for a precise error */
        a = st__os_widen(dir, w, ST__PATH_MAX, NULL) == 0 ? GetFileAttributesW(w)
                                                          : INVALID_FILE_ATTRIBUTES;
        if (a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY)) return -ENOTDIR;
        return -st__os_errno(err);
    }
    e = 0;
    do {
        /* a UTF-16 unit is at most 3 bytes of UTF-8; names are at most 255 units */
        char name[MAX_PATH * 3 + 1];
        const wchar_t *c = fd.cFileName;
        if (c[0] == L'.' && (c[1] == L'\0' || (c[1] == L'.' && c[2] == L'\0'))) continue;
        /* a name with an unpaired surrogate has no UTF-8 spelling, so no index
         * can name it: it is not listed */
        if (st__os_narrow(c, name, (int)sizeof name) != 0) continue;
        e = fn(ctx, name);
        if (e != 0) break;
    } while (FindNextFileW(find, &fd));
    if (e == 0) {
        DWORD err = GetLastError();
        if (err != ERROR_NO_MORE_FILES) e = -st__os_errno(err);
    }
    FindClose(find);
    return e;
}

/* ---------------------------------------------------------------- writing */

int st__os_create(const char *path, st__fh *out)
{
    wchar_t w[ST__PATH_MAX];
    HANDLE h;
    int e = st__os_widen(path, w, ST__PATH_MAX, NULL);
    *out = ST__FH_NONE;
    if (e != 0) return e;
    /* CREATE_NEW: EEXIST if anything has the name; shared for deletion, so
     * that a failed write can remove it while it is still open */
    h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_NEW,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) return st__os_open_errno(w, GetLastError());
    *out = (st__fh)h;
    return 0;
}

int st__os_dup_fd_write(int fd, st__fh *out)
{
    HANDLE dup = INVALID_HANDLE_VALUE, self = GetCurrentProcess();
    intptr_t osh;
    int e = 0;
    *out = ST__FH_NONE;
    ST__CRT_QUIET_BEGIN;
    osh = _get_osfhandle(fd);
    ST__CRT_QUIET_END;
    if (osh == -1 || osh == -2) return EBADF;
    if (GetFileType(ST__H(osh)) != FILE_TYPE_DISK) return ESPIPE; /* no offsets to write at */
    {
        /* as in st__os_adopt_fd: a new open of the file, so that the caller's
         * position stays, after a write of 0 bytes at the current position
         * (it changes nothing) proves the descriptor may write */
        DWORD put = 0;
        if (!WriteFile(ST__H(osh), "", 0, &put, NULL)) return st__os_errno(GetLastError());
    }
    dup = ReOpenFile(ST__H(osh), GENERIC_READ | GENERIC_WRITE,
                     FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
    if (dup == INVALID_HANDLE_VALUE &&
        !DuplicateHandle(self, ST__H(osh), self, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
        e = st__os_errno(GetLastError());
    if (e != 0) return e;
    *out = (st__fh)dup;
    return 0;
}

int st__os_pwrite(st__fh h, const void *src, uint64_t size, uint64_t off)
{
    const unsigned char *p = (const unsigned char *)src;
    uint64_t done = 0;
    if (size > (uint64_t)INT64_MAX || off > (uint64_t)INT64_MAX - size) return EFBIG;
    while (done < size) {
        OVERLAPPED ov;
        uint64_t left = size - done, at = off + done;
        DWORD want = left > (1u << 30) ? (DWORD)(1u << 30) : (DWORD)left, put = 0;
        memset(&ov, 0, sizeof ov);
        ov.Offset = (DWORD)at;
        ov.OffsetHigh = (DWORD)(at >> 32);
        if (!WriteFile(ST__H(h), p + done, want, &put, &ov)) return st__os_errno(GetLastError());
        if (put == 0) return EIO; /* no progress: never loop forever */
        done += put;
    }
    return 0;
}

int st__os_set_size(st__fh h, uint64_t size)
{
    /* by handle, not SetEndOfFile: no file position involved */
    FILE_END_OF_FILE_INFO eof;
    if (size > (uint64_t)INT64_MAX) return EFBIG;
    eof.EndOfFile.QuadPart = (LONGLONG)size;
    if (!SetFileInformationByHandle(ST__H(h), FileEndOfFileInfo, &eof, sizeof eof))
        return st__os_errno(GetLastError());
    return 0;
}

int st__os_sync(st__fh h)
{
    return FlushFileBuffers(ST__H(h)) ? 0 : st__os_errno(GetLastError());
}

int st__os_rename(const char *from, const char *to)
{
    wchar_t wf[ST__PATH_MAX], wt[ST__PATH_MAX];
    int e = st__os_widen(from, wf, ST__PATH_MAX, NULL);
    if (e == 0) e = st__os_widen(to, wt, ST__PATH_MAX, NULL);
    if (e != 0) return e;
    /* replaces to, and returns once the rename is on the disk */
    if (!MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return st__os_errno(GetLastError());
    return 0;
}

int st__os_sync_dir(const char *path)
{
    /* nothing to flush: MOVEFILE_WRITE_THROUGH made the rename durable */
    (void)path;
    return 0;
}

int st__os_remove(const char *path)
{
    wchar_t w[ST__PATH_MAX];
    int e = st__os_widen(path, w, ST__PATH_MAX, NULL);
    if (e != 0) return e;
    return DeleteFileW(w) ? 0 : st__os_errno(GetLastError());
}

/* ---------------------------------------------------------------- memory */

int st__os_map(st__fh h, uint64_t size, void **addr)
{
    HANDLE m;
    void *p;
    DWORD e;
    *addr = NULL;
    if (size == 0 || size > (uint64_t)SIZE_MAX) return ENOMEM;
    /* size 0 maps the whole file: a file that shrank since it was sized is
     * then too short for the view, which fails instead of mapping past the end */
    m = CreateFileMappingW(ST__H(h), NULL, PAGE_READONLY, 0, 0, NULL);
    if (!m) {
        e = GetLastError();
        return st__os_errno(e);
    }
    p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, (SIZE_T)size);
    e = p ? 0 : GetLastError();
    CloseHandle(m); /* the view holds the mapping */
    if (!p) return st__os_errno(e);
    *addr = p;
    return 0;
}

void st__os_unmap(void *addr, size_t len)
{
    (void)len;
    if (addr) UnmapViewOfFile(addr);
}

size_t st__os_page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize ? (size_t)si.dwPageSize : 4096;
}

/* PrefetchVirtualMemory (Windows 8 and later), looked up at run time so that
 * the DLL still loads where kernel32 lacks it. Its own declarations: older
 * SDK headers lack them too. */
typedef struct st__os_range {
    void *addr;
    SIZE_T len;
} st__os_range;
typedef BOOL(WINAPI *st__os_prefetch_fn)(HANDLE, ULONG_PTR, st__os_range *, ULONG);

/* 0 when the range was prefetched (or there is no such call), else an errno */
static int st__os_prefetch(void *addr, size_t len)
{
    HMODULE k = GetModuleHandleW(L"kernel32.dll");
    st__os_prefetch_fn f;
    st__os_range r;
    if (!k) return 0;
    /* through a generic function pointer type: a direct cast between function
     * types draws -Wcast-function-type */
    f = (st__os_prefetch_fn)(void (*)(void))GetProcAddress(k, "PrefetchVirtualMemory");
    if (!f) return 0;
    r.addr = addr;
    r.len = len;
    return f(GetCurrentProcess(), 1, &r, 0) ? 0 : st__os_errno(GetLastError());
}

int st__os_advise(void *addr, size_t len, st_advice advice)
{
    /* "Will need" prefetches. "Done with it" takes the pages out of the
     * working set: VirtualUnlock on pages that are not locked does exactly that
     * (and reports ERROR_NOT_LOCKED, which is the expected answer here); a file
     * view's pages stay in the file cache. There is no read-ahead hint for a
     * mapped view. */
    if (advice == ST_ADVICE_WILLNEED) return st__os_prefetch(addr, len);
    if (advice == ST_ADVICE_DONTNEED) (void)VirtualUnlock(addr, len);
    return 0;
}

int st__os_populate(void *addr, size_t len)
{
    /* start the reads in bulk, but an error would still only show when a
     * page is touched: the caller touches them (after checking the size) */
    (void)st__os_prefetch(addr, len);
    return ENOSYS;
}

int st__os_huge_ok(void)
{
    return 0; /* large pages need a privilege and a special allocation */
}

void st__os_prefault(void *p, size_t size)
{
    /* heap pages are committed by the heap; nothing to ask ahead */
    (void)p;
    (void)size;
}

void st__os_advise_huge(void *p, size_t size)
{
    /* large pages need a privilege and a special allocation: nothing to ask */
    (void)p;
    (void)size;
}

/* ---------------------------------------------------------------- misc */

static uint64_t st__os_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void st__os_random(void *buf, size_t n)
{
    unsigned char *p = (unsigned char *)buf;
    size_t left = n;
    LARGE_INTEGER t;
    uint64_t s;
    while (left > 0) {
        ULONG chunk = left > 0x40000000u ? 0x40000000u : (ULONG)left;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            break;
        p += chunk;
        left -= chunk;
    }
    if (left == 0) return;
    /* no entropy source: time, process, thread and address mixed */
    QueryPerformanceCounter(&t);
    s = (uint64_t)t.QuadPart ^ (uint64_t)GetCurrentProcessId() << 32 ^
        (uint64_t)GetCurrentThreadId() ^ (uint64_t)(uintptr_t)&t ^ (uint64_t)GetTickCount64();
    while (left > 0) {
        uint64_t v;
        size_t k = left < sizeof v ? left : sizeof v;
        s = st__os_mix(s + (uint64_t)(uintptr_t)p);
        v = s;
        memcpy(p, &v, k);
        p += k;
        left -= k;
    }
}

struct st__os_lock {
    SRWLOCK mu;
    CONDITION_VARIABLE cv;
};

int st__os_lock_new(const st_allocator *a, st__os_lock **out)
{
    /* the hook itself, not alloc.c: the platform layer sits below the rest */
    st__os_lock *l = (st__os_lock *)a->malloc_fn(a->ctx, sizeof *l);
    *out = NULL;
    if (!l) return ENOMEM;
    InitializeSRWLock(&l->mu);
    InitializeConditionVariable(&l->cv);
    *out = l;
    return 0;
}

void st__os_lock_free(const st_allocator *a, st__os_lock *l)
{
    /* an SRW lock and a condition variable hold no resource */
    if (l) a->free_fn(a->ctx, l, sizeof *l);
}

void st__os_lock_acquire(st__os_lock *l)
{
    AcquireSRWLockExclusive(&l->mu);
}

void st__os_lock_release(st__os_lock *l)
{
    ReleaseSRWLockExclusive(&l->mu);
}

void st__os_lock_wait(st__os_lock *l)
{
    SleepConditionVariableSRW(&l->cv, &l->mu, INFINITE, 0);
}

void st__os_lock_broadcast(st__os_lock *l)
{
    WakeAllConditionVariable(&l->cv);
}

#else
/* ISO C wants at least one declaration in a translation unit */
typedef int st__os_win32_unused;
#endif /* _WIN32 */
