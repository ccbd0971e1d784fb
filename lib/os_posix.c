/* The platform layer on Linux, macOS, the BSDs and other POSIX systems (see
 * os.h). Linux-only calls are behind feature tests and ST__LINUX; building
 * with -DST_OS_PORTABLE_POSIX turns ST__LINUX off, so the branch other POSIX
 * systems take is built and tested on Linux (make check-portable). */
#if !defined(_WIN32)

#if defined(__linux__) && !defined(_DEFAULT_SOURCE) && !defined(ST_OS_PORTABLE_POSIX)
#define _DEFAULT_SOURCE 1 /* madvise(), MADV_* and getentropy() next to _POSIX_C_SOURCE */
#endif
#if !defined(_XOPEN_SOURCE) && !defined(__APPLE__) && !defined(__FreeBSD__)
#define _XOPEN_SOURCE 700 /* realpath() (XSI) */
#endif

#include "os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && !defined(ST_OS_PORTABLE_POSIX)
#define ST__LINUX 1
#else
#define ST__LINUX 0
#endif

#if ST__LINUX && !defined(MADV_POPULATE_READ)
/* Linux 5.14: fault the range in now, failing with EFAULT where an access
 * would raise SIGBUS. Older headers lack the name; older kernels say EINVAL. */
#define MADV_POPULATE_READ 22
#endif
#if ST__LINUX && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23 /* the same for writing: zero-filled, mapped */
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Fails to compile where off_t stayed 32-bit (see internal.h). */
typedef char st__off_t_is_64_bits[sizeof(off_t) >= 8 ? 1 : -1];

/* Each pread asks for at most this much: below the 0x7ffff000 bytes Linux
 * transfers per call and below SSIZE_MAX on 32-bit hosts. */
#define ST__READ_CHUNK ((size_t)1 << 30)

/* ---------------------------------------------------------------- files */

int st__os_open(const char *path, unsigned flags, st__fh *out)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is then
     * refused as not a regular file); it changes nothing for regular files */
    int fd, oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
#ifdef O_NOFOLLOW
    if (flags & ST__OS_NOFOLLOW) oflags |= O_NOFOLLOW;
#else
    (void)flags;
#endif
    *out = ST__FH_NONE;
    do {
        fd = open(path, oflags);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno ? errno : EIO;
    *out = (st__fh)fd;
    return 0;
}

/* realpath into out[ST__PATH_MAX]; realpath's own buffer is PATH_MAX, which
 * may be larger, so it allocates and the result is checked for length. */
static int st__realpath(const char *path, char *out)
{
    char *r = realpath(path, NULL);
    size_t n;
    if (!r) return errno ? errno : EIO;
    n = strlen(r);
    if (n >= ST__PATH_MAX) {
        free(r);
        return ENAMETOOLONG;
    }
    memcpy(out, r, n + 1);
    free(r);
    return 0;
}

int st__os_open_final(const char *path, unsigned flags, st__fh *out, char *final)
{
    int e = st__realpath(path, final);
    *out = ST__FH_NONE;
    if (e) return e;
    /* open what was resolved; O_NOFOLLOW refuses a symlink swapped in since */
    return st__os_open(final, flags | ST__OS_NOFOLLOW, out);
}

int st__os_dir_final(const char *dir, char *out)
{
    return st__realpath(dir, out);
}

int st__os_adopt_fd(int fd, int own, st__fh *out)
{
    int d;
    *out = ST__FH_NONE;
    if (own) {
        *out = (st__fh)fd;
        return 0;
    }
    /* A borrowed descriptor could be closed, or its number reused for another
     * file, behind our back: keep a private duplicate instead. */
    d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0) return errno ? errno : EIO;
    *out = (st__fh)d;
    return 0;
}

void st__os_close_fd(int fd)
{
    if (fd >= 0) (void)close(fd);
}

void st__os_close(st__fh h)
{
    if (h != ST__FH_NONE) (void)close((int)h);
}

int st__os_fstat(st__fh h, st__os_stat *out)
{
    struct stat sb;
    out->kind = ST__OS_OTHER;
    out->size = 0;
    if (fstat((int)h, &sb) != 0) return errno ? errno : EIO;
    if (S_ISREG(sb.st_mode)) out->kind = ST__OS_REG;
    else if (S_ISDIR(sb.st_mode)) out->kind = ST__OS_DIR;
    else if (S_ISBLK(sb.st_mode)) out->kind = ST__OS_BLK;
    if (sb.st_size > 0) out->size = (uint64_t)sb.st_size;
    if (out->kind == ST__OS_BLK) {
        /* st_size of a block device is 0: its end is its size */
        off_t end = lseek((int)h, 0, SEEK_END);
        if (end < 0) return errno ? errno : EIO;
        out->size = (uint64_t)end;
    }
    return 0;
}

int st__os_path_kind(const char *path, int *kind)
{
    struct stat sb;
    *kind = ST__OS_OTHER;
    if (stat(path, &sb) != 0) return errno ? errno : EIO;
    if (S_ISREG(sb.st_mode)) *kind = ST__OS_REG;
    else if (S_ISDIR(sb.st_mode)) *kind = ST__OS_DIR;
    else if (S_ISBLK(sb.st_mode)) *kind = ST__OS_BLK;
    return 0;
}

int st__os_pread(st__fh h, void *dst, uint64_t size, uint64_t off, uint64_t *done)
{
    unsigned char *p = (unsigned char *)dst;
    const uint64_t off_max = ((uint64_t)1 << (sizeof(off_t) * 8 - 1)) - 1;
    uint64_t got = 0;
    *done = 0;
    if (size > off_max || off > off_max - size) return EOVERFLOW;
    while (got < size) {
        uint64_t left = size - got;
        size_t want = left > (uint64_t)ST__READ_CHUNK ? ST__READ_CHUNK : (size_t)left;
        ssize_t n = pread((int)h, p + (size_t)got, want, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR) continue;
            *done = got;
            return errno ? errno : EIO;
        }
        if (n == 0) break; /* end of file: the caller decides what it means */
        got += (uint64_t)n;
    }
    *done = got;
    return 0;
}

int st__os_list_dir(const char *dir, int (*fn)(void *ctx, const char *name), void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int r = 0, e;
    if (!d) return -(errno ? errno : EIO);
    /* cppcheck-suppress readdirCalled ; readdir on a stream of our own is
     * thread-safe, and readdir_r is deprecated */
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        r = fn(ctx, de->d_name);
        if (r) break;
    }
    e = errno;
    closedir(d);
    if (r) return r;
    return e ? -e : 0;
}

/* ---------------------------------------------------------------- writing */

int st__os_create(const char *path, st__fh *out)
{
    int fd;
    *out = ST__FH_NONE;
    do {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno ? errno : EIO;
    *out = (st__fh)fd;
    return 0;
}

int st__os_dup_fd_write(int fd, st__fh *out)
{
    /* a duplicate: pwrite moves no file position */
    return st__os_adopt_fd(fd, 0, out);
}

int st__os_pwrite(st__fh h, const void *src, uint64_t size, uint64_t off)
{
    const unsigned char *p = (const unsigned char *)src;
    const uint64_t off_max = ((uint64_t)1 << (sizeof(off_t) * 8 - 1)) - 1;
    uint64_t done = 0;
    if (size > off_max || off > off_max - size) return EFBIG;
    while (done < size) {
        uint64_t left = size - done;
        size_t want = left > (uint64_t)ST__READ_CHUNK ? ST__READ_CHUNK : (size_t)left;
        ssize_t n = pwrite((int)h, p + (size_t)done, want, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno ? errno : EIO;
        }
        if (n == 0) return EIO; /* no progress: never loop forever */
        done += (uint64_t)n;
    }
    return 0;
}

int st__os_set_size(st__fh h, uint64_t size)
{
    const uint64_t off_max = ((uint64_t)1 << (sizeof(off_t) * 8 - 1)) - 1;
    int r;
    if (size > off_max) return EFBIG;
    do {
        r = ftruncate((int)h, (off_t)size);
    } while (r != 0 && errno == EINTR);
    return r == 0 ? 0 : (errno ? errno : EIO);
}

int st__os_sync(st__fh h)
{
    int r;
    do {
        r = fsync((int)h);
    } while (r != 0 && errno == EINTR);
    return r == 0 ? 0 : (errno ? errno : EIO);
}

int st__os_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : (errno ? errno : EIO);
}

int st__os_sync_dir(const char *path)
{
    char dir[ST__PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, r, e;
    if (!slash) {
        memcpy(dir, ".", 2);
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) return ENAMETOOLONG;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    do {
        fd = open(dir, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno ? errno : EIO;
    do {
        r = fsync(fd);
    } while (r != 0 && errno == EINTR);
    e = r == 0 ? 0 : errno;
    close(fd);
    /* some filesystems cannot sync a directory: nothing more can be done */
    return e == EINVAL || e == EBADF || e == EROFS ? 0 : e;
}

int st__os_remove(const char *path)
{
    return unlink(path) == 0 ? 0 : (errno ? errno : EIO);
}

/* ---------------------------------------------------------------- memory */

int st__os_map(st__fh h, uint64_t size, void **addr)
{
    void *p;
    *addr = NULL;
    if (size == 0 || size > (uint64_t)SIZE_MAX) return ENOMEM;
    p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, (int)h, 0);
    if (p == MAP_FAILED) return errno ? errno : EIO;
    *addr = p;
    return 0;
}

void st__os_unmap(void *addr, size_t len)
{
    if (addr) (void)munmap(addr, len);
}

size_t st__os_page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    /* a power of two in practice; fall back to 4096 if not */
    if (p <= 0 || ((unsigned long)p & ((unsigned long)p - 1)) != 0) return 4096;
    return (size_t)p;
}

int st__os_advise(void *addr, size_t len, st_advice advice)
{
#if ST__LINUX
    /* plain madvise: glibc's posix_madvise ignores POSIX_MADV_DONTNEED, and
     * dropping clean pages of a read-only mapping is safe */
    int adv;
    switch (advice) {
    case ST_ADVICE_WILLNEED: adv = MADV_WILLNEED; break;
    case ST_ADVICE_DONTNEED: adv = MADV_DONTNEED; break;
    case ST_ADVICE_SEQUENTIAL: adv = MADV_SEQUENTIAL; break;
    case ST_ADVICE_RANDOM: adv = MADV_RANDOM; break;
    default: return EINVAL;
    }
    return madvise(addr, len, adv) == 0 ? 0 : (errno ? errno : EIO);
#else
    int adv;
    switch (advice) {
    case ST_ADVICE_WILLNEED: adv = POSIX_MADV_WILLNEED; break;
    case ST_ADVICE_DONTNEED: adv = POSIX_MADV_DONTNEED; break;
    case ST_ADVICE_SEQUENTIAL: adv = POSIX_MADV_SEQUENTIAL; break;
    case ST_ADVICE_RANDOM: adv = POSIX_MADV_RANDOM; break;
    default: return EINVAL;
    }
    return posix_madvise(addr, len, adv); /* returns the error number */
#endif
}

int st__os_populate(void *addr, size_t len)
{
#if ST__LINUX
    int tries, e = 0;
    for (tries = 0; tries < 100; tries++) {
        e = madvise(addr, len, MADV_POPULATE_READ) == 0 ? 0 : errno;
        if (e != EINTR && e != EAGAIN) break;
    }
    /* EINVAL: a kernel older than 5.14; the caller touches the pages */
    return e == EINVAL ? ENOSYS : e;
#else
    (void)addr;
    (void)len;
    return ENOSYS;
#endif
}

/* Blocks of at least this size (the token array and the tensor records of a
 * large header) ask for transparent huge pages where the kernel offers them
 * on request: an open touches all of such a block once, and with 4 KiB pages
 * the page faults and TLB misses cost a quarter of the open time of a 100k
 * tensor header. Only the 2 MiB-aligned interior is advised, so nothing
 * outside the block is affected; a refusal changes nothing. */
#define ST__HUGE_MIN ((size_t)2 << 20)
#define ST__HUGE_PAGE ((size_t)2 << 20)

int st__os_huge_ok(void)
{
#if ST__LINUX && defined(MADV_HUGEPAGE)
    return 1;
#else
    return 0;
#endif
}

/* Where a page fault is dear (a virtual machine's can cost 25 us, against 0.7 us
 * per 4 KiB page mapped in bulk), a mid-sized heap block that the open is about
 * to fill is mapped in one call. Older kernels refuse (EINVAL): nothing changes. */
void st__os_prefault(void *p, size_t size)
{
#if ST__LINUX
    size_t pg = st__os_page_size();
    uintptr_t a = (uintptr_t)p, lo, hi;
    if (!p) return;
    lo = (a + pg - 1) & ~(uintptr_t)(pg - 1);
    hi = (a + size) & ~(uintptr_t)(pg - 1);
    if (hi > lo) (void)madvise((char *)p + (lo - a), (size_t)(hi - lo), MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)size;
#endif
}

void st__os_advise_huge(void *p, size_t size)
{
#if ST__LINUX && defined(MADV_HUGEPAGE)
    uintptr_t a = (uintptr_t)p, lo, hi;
    if (!p || size < ST__HUGE_MIN) return;
    lo = (a + ST__HUGE_PAGE - 1) & ~(uintptr_t)(ST__HUGE_PAGE - 1);
    hi = (a + size) & ~(uintptr_t)(ST__HUGE_PAGE - 1);
    /* the range as an offset into the block: no integer-to-pointer cast */
    if (hi > lo) (void)madvise((char *)p + (lo - a), (size_t)(hi - lo), MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

/* ---------------------------------------------------------------- misc */

static uint64_t st__mix64(uint64_t x)
{
    x ^= x >> 30; x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27; x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

void st__os_random(void *buf, size_t n)
{
    unsigned char *out = (unsigned char *)buf;
    size_t got = 0;
#if ST__LINUX && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
    /* getentropy: at most 256 bytes a call, no descriptor */
    while (got < n) {
        size_t k = n - got > 256 ? 256 : n - got;
        if (getentropy(out + got, k) != 0) break;
        got += k;
    }
#else
    {
        /* every POSIX system of interest has the device (read, not pread: it
         * is a character device) */
        st__fh h;
        if (st__os_open("/dev/urandom", 0, &h) == 0) {
            while (got < n) {
                ssize_t r = read((int)h, out + got, n - got);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break;
                got += (size_t)r;
            }
            st__os_close(h);
        }
    }
#endif
    if (got < n) {
        /* Fallback: not cryptographic, but varies per process and per call. */
        struct timespec ts;
        uint64_t a = (uint64_t)(uintptr_t)buf, t = 0, x;
        size_t i;
        if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
            t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        x = st__mix64(a ^ t ^ (uint64_t)getpid());
        for (i = got; i < n; i++) {
            if ((i - got) % 8 == 0)
                x = st__mix64(x + (uint64_t)clock() + UINT64_C(0x9e3779b97f4a7c15));
            out[i] = (unsigned char)(x >> (8 * ((i - got) % 8)));
        }
    }
}

struct st__os_lock {
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

int st__os_lock_new(const st_allocator *a, st__os_lock **out)
{
    /* the hook itself, not alloc.c: the platform layer sits below the rest */
    st__os_lock *l = (st__os_lock *)a->malloc_fn(a->ctx, sizeof *l);
    int e;
    *out = NULL;
    if (!l) return ENOMEM;
    e = pthread_mutex_init(&l->mu, NULL);
    if (e) {
        a->free_fn(a->ctx, l, sizeof *l);
        return e;
    }
    e = pthread_cond_init(&l->cv, NULL);
    if (e) {
        pthread_mutex_destroy(&l->mu);
        a->free_fn(a->ctx, l, sizeof *l);
        return e;
    }
    *out = l;
    return 0;
}

void st__os_lock_free(const st_allocator *a, st__os_lock *l)
{
    if (!l) return;
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    a->free_fn(a->ctx, l, sizeof *l);
}

void st__os_lock_acquire(st__os_lock *l) { pthread_mutex_lock(&l->mu); }
void st__os_lock_release(st__os_lock *l) { pthread_mutex_unlock(&l->mu); }
void st__os_lock_wait(st__os_lock *l) { pthread_cond_wait(&l->cv, &l->mu); }
void st__os_lock_broadcast(st__os_lock *l) { pthread_cond_broadcast(&l->cv); }

#else
/* Windows: see os_win32.c. ISO C wants a declaration in every unit. */
typedef int st__os_posix_unused;
#endif
