/* Getting bytes: mapping the handle's file read-only, or (ST_OPEN_READ)
 * reading it into memory the handle owns. (Borrowed buffers need no code:
 * st_open_memory points the handle at them.) */
#include "os.h"

#include <errno.h>
#include <string.h>

/* The size of a regular file or block device behind f->fh. */
static st_status st__source_size(const st_file *f, uint64_t *out, st_error *err)
{
    st__os_stat sb;
    int e = st__os_fstat(f->fh, &sb);
    if (e != 0) {
        st_status s = st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0,
                               "cannot stat the file: %s", strerror(e));
        if (err) err->sys_errno = e;
        return s;
    }
    if (sb.kind == ST__OS_DIR) {
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "is a directory, not a file");
        if (err) err->sys_errno = EISDIR;
        return ST_E_IO;
    }
    if (sb.kind != ST__OS_REG && sb.kind != ST__OS_BLK) {
        return st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0,
                        "not a regular file (pipes and sockets cannot be mapped; "
                        "read it into memory and use st_open_memory)");
    }
    *out = sb.size;
    return ST_OK;
}

st_status st__source_map(st_file *f, st_error *err)
{
    uint64_t size;
    void *p;
    int e;
    st_status s = st__source_size(f, &size, err);
    if (s != ST_OK) return s;
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
    e = st__os_map(f->fh, size, &p);
    if (e != 0) {
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

st_status st__source_read(st_file *f, st_error *err)
{
    uint64_t size, done = 0;
    unsigned char probe;
    int e;
    st_status s = st__source_size(f, &size, err);
    if (s != ST_OK) return s;
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
        e = st__os_pread(f->fh, f->owned, size, 0, &done);
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
    e = st__os_pread(f->fh, &probe, 1, size, &done);
    if (e == 0 && done != 0) {
        st__fail(err, ST_E_IO, size, NULL, 0,
                 "the file grew while being read: it had %llu bytes when opened",
                 (unsigned long long)size);
        if (err) err->sys_errno = EIO;
        return ST_E_IO;
    }
    /* below 8 bytes the open's sniffing still reads the file: close it then */
    if (size >= 8) {
        st__os_close(f->fh);
        f->fh = ST__FH_NONE;
    }
    return ST_OK;
}

void st__source_release(st_file *f)
{
    st__os_unmap(f->map_addr, f->map_len);
    f->map_addr = NULL;
    f->map_len = 0;
    st__free(&f->alloc, f->owned, f->owned_len);
    f->owned = NULL;
    f->owned_len = 0;
    st__os_close(f->fh);
    f->fh = ST__FH_NONE;
    f->bytes = NULL;
}
