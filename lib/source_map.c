/* Getting bytes: mapping a file descriptor read-only, or (ST_OPEN_READ)
 * reading it into memory the handle owns. (Borrowed buffers need no code:
 * st_open_memory points the handle at them.) */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fails to compile where off_t stayed 32-bit (see internal.h). */
typedef char st__off_t_is_64_bits[sizeof(off_t) >= 8 ? 1 : -1];

/* The size of a regular file or block device behind fd. */
static st_status st__source_size(int fd, uint64_t *out, st_error *err)
{
    struct stat stbuf;
    uint64_t size;
    if (fstat(fd, &stbuf) != 0) {
        int e = errno;
        st_status s = st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0,
                               "cannot stat the file: %s", strerror(e));
        if (err) err->sys_errno = e;
        return s;
    }
    if (S_ISDIR(stbuf.st_mode)) {
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "is a directory, not a file");
        if (err) err->sys_errno = EISDIR;
        return ST_E_IO;
    }
    if (!S_ISREG(stbuf.st_mode) && !S_ISBLK(stbuf.st_mode)) {
        return st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0,
                        "not a regular file (pipes and sockets cannot be mapped; "
                        "read it into memory and use st_open_memory)");
    }
    if (stbuf.st_size < 0)
        return st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "negative file size");
    size = (uint64_t)stbuf.st_size;
    if (S_ISBLK(stbuf.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        if (end < 0) {
            int e = errno;
            st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "cannot size the device: %s",
                     strerror(e));
            if (err) err->sys_errno = e;
            return ST_E_IO;
        }
        size = (uint64_t)end;
    }
    *out = size;
    return ST_OK;
}

st_status st__source_map_fd(st_file *f, int fd, st_error *err)
{
    uint64_t size;
    void *p;
    st_status s = st__source_size(fd, &size, err);
    if (s != ST_OK) return s;
    f->fd = fd;
    /* ST_OK sets size; the analyzer does not inline the variadic st__fail (never
     * ST_OK here). NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
    f->size = size;
    if (size < 8) {
        /* Nothing to map; rule 1 reports it. */
        f->bytes = NULL;
        return ST_OK;
    }
    if (size > (uint64_t)SIZE_MAX) {
        return st__fail(err, ST_E_TOO_BIG, 0, NULL, 0,
                        "file of %llu bytes is larger than this process can map",
                        (unsigned long long)size);
    }
    p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        st__fail(err, e == ENOMEM ? ST_E_TOO_BIG : ST_E_IO, ST__NO_OFFSET, NULL, 0,
                 "cannot map %llu bytes: %s", (unsigned long long)size, strerror(e));
        if (err) err->sys_errno = e;
        return e == ENOMEM ? ST_E_TOO_BIG : ST_E_IO;
    }
    f->map_addr = p;
    f->map_len = (size_t)size;
    f->src_kind = ST__SRC_MAP;
    f->bytes = (const unsigned char *)p;
    return ST_OK;
}

st_status st__source_read_fd(st_file *f, int fd, st_error *err)
{
    uint64_t size, done = 0;
    unsigned char probe;
    int e;
    st_status s = st__source_size(fd, &size, err);
    if (s != ST_OK) return s;
    f->fd = fd;
    /* ST_OK sets size; the analyzer does not inline the variadic st__fail (never
     * ST_OK here). NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
    f->size = size;
    f->src_kind = ST__SRC_READ;
    f->bytes = NULL;
    if (size > (uint64_t)SIZE_MAX)
        return st__fail(err, ST_E_TOO_BIG, 0, NULL, 0,
                        "file of %llu bytes is larger than this process can hold in memory",
                        (unsigned long long)size);
    if (size >= 8) { /* below 8, rule 1 reports it */
        f->owned = st__malloc(&f->alloc, (size_t)size);
        if (!f->owned)
            return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0,
                            "cannot allocate %llu bytes to read the file into",
                            (unsigned long long)size);
        f->owned_len = (size_t)size;
        e = st__pread_full(fd, f->owned, size, 0, &done);
        if (e != 0) {
            st__fail(err, ST_E_IO, done, NULL, 0, "reading the file failed at byte %llu: %s",
                     (unsigned long long)done, strerror(e));
            if (err) err->sys_errno = e;
            return ST_E_IO;
        }
        if (done < size) {
            st__fail(err, ST_E_IO, done, NULL, 0,
                     "the file shrank while being read: it ended at byte %llu, not %llu",
                     (unsigned long long)done, (unsigned long long)size);
            if (err) err->sys_errno = EIO;
            return ST_E_IO;
        }
        f->bytes = (const unsigned char *)f->owned;
    }
    /* one byte more must be end of file, or the file grew while being read */
    e = st__pread_full(fd, &probe, 1, size, &done);
    if (e == 0 && done != 0) {
        st__fail(err, ST_E_IO, size, NULL, 0,
                 "the file grew while being read: it had %llu bytes when opened",
                 (unsigned long long)size);
        if (err) err->sys_errno = EIO;
        return ST_E_IO;
    }
    /* the handle no longer needs the descriptor */
    if (f->own_fd) close(fd);
    f->fd = -1;
    f->own_fd = 0;
    return ST_OK;
}

void st__source_release(st_file *f)
{
    if (f->map_addr) munmap(f->map_addr, f->map_len);
    f->map_addr = NULL;
    f->map_len = 0;
    st__free(&f->alloc, f->owned, f->owned_len);
    f->owned = NULL;
    f->owned_len = 0;
    if (f->own_fd && f->fd >= 0) close(f->fd);
    f->fd = -1;
    f->own_fd = 0;
    f->bytes = NULL;
}
