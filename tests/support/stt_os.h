/* Test support: the POSIX calls the suites make, on Windows (mingw-w64,
 * make check-windows). Elsewhere this header only includes the POSIX
 * headers. Include it after the system headers. Not part of the library.
 *
 * Files: open() defaults to text mode on Windows (CRLF translation, ^Z as
 * end of file); the Windows suites link mingw-w64's binmode.o, which makes
 * binary the default for open() and fopen() alike. */
#ifndef STT_OS_H
#define STT_OS_H

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define STT_WINDOWS 1

#ifndef O_CLOEXEC
#define O_CLOEXEC O_NOINHERIT
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK 0 /* opening a file never blocks on Windows */
#endif

/* fcntl(fd, F_GETFD) only: 0 if fd is open, else -1 with errno EBADF */
#define F_GETFD 1
#define fcntl(fd, cmd) stt_fcntl_getfd((fd), (cmd))
int stt_fcntl_getfd(int fd, int cmd);
/* positional read through the descriptor's handle (an OVERLAPPED offset) */
long long stt_pread(int fd, void *buf, size_t n, long long off);
#define pread(fd, buf, n, off) stt_pread((fd), (buf), (n), (long long)(off))
#define mkdir(path, mode) _mkdir(path)
#define lstat stat /* the suites lstat only to tell directories from files */
/* creates the directory named by a template ending in XXXXXX */
char *mkdtemp(char *tmpl);
/* CreateSymbolicLinkW ('/' turned into '\\'); -1 with errno ENOSYS when the
 * call claims success but no link exists (wine 8 has only a stub), EPERM
 * when Windows refuses (symbolic links need Developer Mode or a privilege) */
int symlink(const char *target, const char *link);
#define _SC_PAGESIZE 30
long sysconf(int name);
/* 64-byte aligned blocks: _aligned_malloc, freed by stt_aligned_free */
int posix_memalign(void **p, size_t align, size_t n);
#define stt_aligned_free(p) _aligned_free(p)

/* fopen and unlink of a UTF-8 path (the library's encoding; the narrow CRT
 * calls take the ANSI code page) */
#include <stdio.h>
FILE *stt_fopen_utf8(const char *path, const char *mode);
int stt_unlink_utf8(const char *path);

#else /* POSIX */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#define STT_WINDOWS 0
#define stt_aligned_free(p) free(p)
#define stt_fopen_utf8(path, mode) fopen((path), (mode))
#define stt_unlink_utf8(path) unlink(path)
#endif

#endif /* STT_OS_H */
