/* Getting bytes through a caller's reader (st_open_reader): the prefix and
 * the header at open, data on demand afterwards. Nothing is mapped and no
 * data byte is read at open. */
#include "os.h"

#include <errno.h>
#include <string.h>

int st__reader_read(const st_file *f, uint64_t off, void *dst, uint64_t size)
{
    unsigned char *d = (unsigned char *)dst;
    int e = 0;
    /* the reader's size_t: one call for any buffer a 64-bit host can hold */
    while (size > 0 && e == 0) {
        size_t n = size > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)size;
        if (f->reader_lock) st__os_lock_acquire(f->reader_lock);
        e = f->reader.read(f->reader.ctx, off, d, n);
        if (f->reader_lock) st__os_lock_release(f->reader_lock);
        d += n;
        off += n;
        size -= n;
    }
    return e;
}

static st_status st__reader_open_fail(const st_file *f, uint64_t off, uint64_t size, int e,
                                      const char *what, st_error *err)
{
    st_status s;
    if (e == ST_READER_SHORT)
        s = st__fail(err, ST_E_IO, off, NULL, 0,
                     "reading the %s (%llu bytes at offset %llu) through the reader: it "
                     "returned fewer bytes than asked (short read; the file was declared "
                     "%llu bytes)",
                     what, (unsigned long long)size, (unsigned long long)off,
                     (unsigned long long)f->size);
    else
        s = st__fail(err, ST_E_IO, off, NULL, 0,
                     "reading the %s (%llu bytes at offset %llu) through the reader failed: "
                     "code %d (%s)",
                     what, (unsigned long long)size, (unsigned long long)off, e,
                     e > 0 ? strerror(e) : "not an errno value");
    if (err) err->sys_errno = e == ST_READER_SHORT ? EIO : e;
    return s;
}

/* A buffer of n bytes from the handle's allocator, holding the first `keep`
 * bytes of the previous one. */
static st_status st__reader_buffer(st_file *f, size_t n, size_t keep, st_error *err)
{
    unsigned char *p = (unsigned char *)st__malloc(&f->alloc, n ? n : 1);
    if (!p)
        return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0,
                        "cannot allocate %llu bytes for the header", (unsigned long long)n);
    if (keep) memcpy(p, f->owned, keep);
    st__free(&f->alloc, f->owned, f->owned_len);
    f->owned = p;
    f->owned_len = n ? n : 1;
    f->bytes = p;
    f->avail = n;
    return ST_OK;
}

st_status st__source_reader(st_file *f, uint64_t cap, st_error *err)
{
    uint64_t n = 0, first = f->size < 8 ? f->size : 8;
    st_status s;
    int e, i;
    f->src_kind = ST__SRC_READER;
    s = st__reader_buffer(f, (size_t)first, 0, err);
    if (s != ST_OK) return s;
    if (f->size == 0) return ST_OK; /* nothing to read; rule 1 reports it */
    e = st__reader_read(f, 0, f->owned, first);
    if (e != 0) return st__reader_open_fail(f, 0, first, e, "8-byte header length", err);
    if (first < 8) return ST_OK; /* rule 1 reports it */
    for (i = 7; i >= 0; i--) n = (n << 8) | f->bytes[i];
    if (n <= cap && n <= f->size - 8) {
        /* rules 1 to 3 will pass: n <= cap <= ST_MAX_HEADER_SIZE_LIMIT fits size_t */
        s = st__reader_buffer(f, (size_t)(8 + n), 8, err);
        if (s != ST_OK) return s;
        if (n == 0) return ST_OK;
        e = st__reader_read(f, 8, (unsigned char *)f->owned + 8, n);
        if (e != 0) return st__reader_open_fail(f, 8, n, e, "header", err);
        return ST_OK;
    }
    {
        /* rule 2 or 3 will fail: a few more bytes let the open name a known
         * other format (an HTML page, a Git LFS pointer); a failure here only
         * loses that hint */
        uint64_t more = f->size < 512 ? f->size : 512;
        s = st__reader_buffer(f, (size_t)more, 8, err);
        if (s != ST_OK) return s;
        if (st__reader_read(f, 8, (unsigned char *)f->owned + 8, more - 8) != 0) f->avail = 8;
    }
    return ST_OK;
}
