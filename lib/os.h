/* The platform layer: every call into the operating system that the library
 * makes goes through these functions, and no other file of lib/ includes an
 * OS header. One implementation per OS family, each in its own file, each
 * compiling to nothing on the other family (so both can be listed in every
 * build and in the amalgamation):
 *   os_posix.c   Linux, macOS, the BSDs and other POSIX systems. Linux-only
 *                calls sit behind feature tests; building with
 *                -DST_OS_PORTABLE_POSIX switches them off, so that the branch
 *                macOS and the BSDs get is built and tested on Linux too.
 *   os_win32.c   Windows (mingw-w64 and MSVC): UTF-8 paths converted to
 *                UTF-16 for the W calls, file mappings, positional reads
 *                through OVERLAPPED, SRW locks and condition variables.
 * Conventions: functions that can fail return 0 or an errno-style code
 * (Win32 errors are mapped to the nearest errno value), which callers put
 * in st_error.sys_errno and describe with strerror(). Never a global state,
 * never printing. Private; never installed. */
#ifndef ST_OS_H
#define ST_OS_H

#include "internal.h"

#if defined(_WIN32)
#define ST__OS_WINDOWS 1
/* Windows takes both separators; paths from the OS use '\\' */
#define ST__OS_IS_SEP(c) ((c) == '/' || (c) == '\\')
#else
#define ST__OS_WINDOWS 0
#define ST__OS_IS_SEP(c) ((c) == '/')
#endif

/* Longest path the library builds or resolves, NUL included. */
#define ST__PATH_MAX 4096

/* ---------------------------------------------------------------- files */

#define ST__OS_NOFOLLOW 1u /* refuse a symbolic link as the last component */

/* Opens path read-only, close-on-exec, never blocking on a FIFO (opening a
 * FIFO succeeds and st__os_fstat then says ST__OS_OTHER). path is UTF-8. */
int st__os_open(const char *path, unsigned flags, st__fh *out);
/* The same, and writes the final path of what was opened (symbolic links,
 * junctions and "." / ".." resolved; no trailing separator) in
 * final[ST__PATH_MAX]: the path containment is checked on. */
int st__os_open_final(const char *path, unsigned flags, st__fh *out, char *final);
/* The final path of an existing directory, as st__os_open_final gives it
 * for files, in out[ST__PATH_MAX]. */
int st__os_dir_final(const char *dir, char *out);
/* A file handle for a caller's descriptor (st_open_fd). own: the library
 * takes fd over (it is closed here on failure too); otherwise a private
 * duplicate is made and fd is left alone. */
int st__os_adopt_fd(int fd, int own, st__fh *out);
/* Closes a caller's descriptor the library was given to own, on a failure
 * before st__os_adopt_fd. */
void st__os_close_fd(int fd);
void st__os_close(st__fh h);

enum { ST__OS_REG = 1, ST__OS_DIR = 2, ST__OS_BLK = 3, ST__OS_OTHER = 4 };
typedef struct st__os_stat {
    int kind;      /* ST__OS_REG, ... */
    uint64_t size; /* bytes (a block device is sized too) */
} st__os_stat;

int st__os_fstat(st__fh h, st__os_stat *out);
/* The kind of what path names, following symbolic links. */
int st__os_path_kind(const char *path, int *kind);

/* Reads size bytes at off, in chunks, retrying interruptions, with no
 * shared file position (safe from several threads at once). Returns 0 with
 * *done == size, or fewer at end of file; or the error of the failed call
 * with *done bytes read before it. */
int st__os_pread(st__fh h, void *dst, uint64_t size, uint64_t off, uint64_t *done);

/* Calls fn(ctx, name) for each entry of directory dir ("." and ".."
 * excluded) until fn returns non-zero, which is returned. 0 at the end, or
 * an errno-style code (as a negative number) if the listing failed. */
int st__os_list_dir(const char *dir, int (*fn)(void *ctx, const char *name), void *ctx);

/* ---------------------------------------------------------------- writing */

/* Creates the new, empty file path exclusively (EEXIST if anything has that
 * name), read-write, close-on-exec, with the permissions a new file gets
 * (0666 less the umask on POSIX). */
int st__os_create(const char *path, st__fh *out);
/* A handle of the library's own for writing to a caller's descriptor (which
 * is left open, its position unmoved by the library's positional writes). */
int st__os_dup_fd_write(int fd, st__fh *out);
/* Writes size bytes at off, in chunks, retrying interruptions and short
 * writes, with no shared file position (safe from several threads at once).
 * 0, or the error of the failed call (ENOSPC, EFBIG, EIO, ...). */
int st__os_pwrite(st__fh h, const void *src, uint64_t size, uint64_t off);
/* Sets the file's length (ftruncate / SetEndOfFile). */
int st__os_set_size(st__fh h, uint64_t size);
/* Flushes the file's data and size to the device (fsync / FlushFileBuffers). */
int st__os_sync(st__fh h);
/* Renames from over to atomically, replacing to if it exists. */
int st__os_rename(const char *from, const char *to);
/* Flushes the directory that holds path, so that a rename in it is durable
 * (POSIX); 0 where the OS has no such call (Windows: the rename itself is
 * made durable by MoveFileExW's MOVEFILE_WRITE_THROUGH). */
int st__os_sync_dir(const char *path);
/* Removes the file path. */
int st__os_remove(const char *path);

/* ---------------------------------------------------------------- memory */

/* Maps size (> 0, <= SIZE_MAX) bytes of h read-only (private, copy on write
 * never happens). ENOMEM: the address space cannot hold it. */
int st__os_map(st__fh h, uint64_t size, void **addr);
void st__os_unmap(void *addr, size_t len);
size_t st__os_page_size(void);
/* Page advice on a page-aligned range of a mapping; 0 where the OS has no
 * equivalent (documented per OS in docs/guide.md). */
int st__os_advise(void *addr, size_t len, st_advice advice);
/* Faults a page-aligned range of a mapping in now, reporting the error a
 * page access would raise instead of raising it. ENOSYS: not offered here;
 * the caller touches the pages itself (after checking the file's size). */
int st__os_populate(void *addr, size_t len);
/* Asks for huge pages on the aligned interior of a large heap block; does
 * nothing where there is no such request. */
void st__os_advise_huge(void *p, size_t size);
/* 1 where st__os_advise_huge can give huge pages to a heap block. */
int st__os_huge_ok(void);
/* Maps a fresh heap block in at once rather than page by page (a hint:
 * nothing happens where the OS has no such request). */
void st__os_prefault(void *p, size_t size);

/* ---------------------------------------------------------------- misc */

/* n bytes from the OS entropy source; a time- and address-based mix where
 * there is none (not cryptographic, but varies per process and per call). */
void st__os_random(void *buf, size_t n);

/* A mutex with one condition variable (the sharded model's shard table). */
typedef struct st__os_lock st__os_lock;
/* The lock is allocated through the hook a (a->malloc_fn / free_fn directly:
 * the platform layer uses nothing of the rest of lib/). */
int st__os_lock_new(const st_allocator *a, st__os_lock **out);
void st__os_lock_free(const st_allocator *a, st__os_lock *l);
void st__os_lock_acquire(st__os_lock *l);
void st__os_lock_release(st__os_lock *l);
void st__os_lock_wait(st__os_lock *l);
void st__os_lock_broadcast(st__os_lock *l);

#endif /* ST_OS_H */
