/* Reading for engines: copies in host byte order, the file alignment of a
 * tensor, reads through the file descriptor instead of the mapping, and page
 * hints. The descriptor paths exist so that a file truncated behind our back
 * gives a status instead of SIGBUS. */
#include "os.h"

#include <errno.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

void st__copy_swapped(void *dst, const void *src, uint64_t count, size_t unit)
{
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    uint64_t i;
    size_t j;
    for (i = 0; i < count; i++, d += unit, s += unit)
        for (j = 0; j < unit; j++) d[j] = s[unit - 1 - j];
}

/* t must be one of file's own views: an engine holding tensors of several
 * files must not read one file's offsets through another file's descriptor.
 * Compared as integers: relational operators on pointers into different
 * arrays are undefined. */
static int st__owns(const st_file *file, const st_tensor *t)
{
    uintptr_t base = (uintptr_t)file->tensors, p = (uintptr_t)t;
    if (!file->tensors || p < base) return 0;
    if ((p - base) % sizeof(st_tensor) != 0) return 0;
    return (p - base) / sizeof(st_tensor) < file->ntensors;
}

static st_status st__check_args(const st_file *file, const st_tensor *t, const char *fn,
                                st_error *err)
{
    if (!file || !t)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "%s: %s is NULL", fn,
                        !file ? "file" : "tensor");
    if (!st__owns(file, t))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "%s: the tensor does not come from this file", fn);
    return ST_OK;
}

/* The page-aligned part of the mapping that covers t. 0 when there is nothing
 * to do (no mapping, or no bytes). */
static int st__page_range(const st_file *file, const st_tensor *t, void **addr, size_t *len)
{
    size_t page, start, end;
    if (file->src_kind != ST__SRC_MAP || !file->map_addr || t->nbytes == 0) return 0;
    page = st__os_page_size();
    /* t->offset + t->nbytes <= map_len <= SIZE_MAX: validated at open */
    start = (size_t)t->offset & ~(page - 1);
    end = (size_t)(t->offset + t->nbytes);
    end = end > SIZE_MAX - (page - 1) ? SIZE_MAX & ~(page - 1) : (end + page - 1) & ~(page - 1);
    *addr = (unsigned char *)file->map_addr + start;
    *len = end - start;
    return 1;
}

/* ---------------------------------------------------------------- copies */

st_status st_tensor_copy_elements(const st_tensor *t, uint64_t first, uint64_t count, void *dst)
{
    unsigned bits;
    size_t esize;
    const unsigned char *src;
    if (!t || (!dst && count)) return ST_E_INVALID_ARGUMENT;
    bits = st_dtype_bits(t->dtype);
    if (bits == 0) return ST_E_INVALID_ARGUMENT;
    if (bits % 8 != 0) return ST_E_DTYPE_MISMATCH;
    if (!t->data) return ST_E_NO_DATA;
    if (first > t->numel || count > t->numel - first) return ST_E_RANGE;
    if (count == 0) return ST_OK;
    esize = bits / 8;
    /* first + count <= numel and numel * esize == nbytes <= the file size,
     * which fits in size_t: no overflow below. */
    src = (const unsigned char *)t->data + (size_t)first * esize;
    if (esize == 1 || !st__host_big_endian()) {
        memcpy(dst, src, (size_t)count * esize);
    } else {
        /* C64 is two little-endian floats: swap each one, keep their order */
        size_t unit = t->dtype == ST_C64 ? 4 : esize;
        st__copy_swapped(dst, src, count * (esize / unit), unit);
    }
    return ST_OK;
}

uint64_t st_tensor_file_alignment(const st_tensor *t)
{
    uint64_t low;
    if (!t) return 0;
    if (t->offset == 0) return 4096;
    low = t->offset & (~t->offset + 1); /* lowest set bit */
    return low > 4096 ? 4096 : low;
}

/* ---------------------------------------------------------------- reads */

st_status st__check_tensor(const st_file *file, const st_tensor *t, const char *fn,
                           st_error *err)
{
    return st__check_args(file, t, fn, err);
}

/* The reader's failure as a record: its code in sys_errno (EIO for a short
 * read, which is no errno). */
static st_status st__reader_fail(const st_file *f, const st_tensor *t, uint64_t off,
                                 uint64_t size, int e, const char *fn, st_error *err)
{
    st_status s;
    if (e == ST_READER_SHORT)
        s = st__fail(err, ST_E_IO, off, t->name, (size_t)t->name_len,
                     "%s: the reader returned fewer than the %llu bytes asked for at file "
                     "offset %llu (short read; the file was declared %llu bytes)",
                     fn, (unsigned long long)size, (unsigned long long)off,
                     (unsigned long long)f->size);
    else
        s = st__fail(err, ST_E_IO, off, t->name, (size_t)t->name_len,
                     "%s: the reader failed reading %llu bytes at file offset %llu: "
                     "code %d (%s)",
                     fn, (unsigned long long)size, (unsigned long long)off, e,
                     e > 0 ? strerror(e) : "not an errno value");
    if (err) err->sys_errno = e == ST_READER_SHORT ? EIO : e;
    return s;
}

st_status st__read_at(const st_file *f, const st_tensor *t, uint64_t off, void *dst,
                      uint64_t size, const char *fn, st_error *err)
{
    uint64_t done = 0;
    st_status s;
    int e;
    if (size == 0) return ST_OK;
    if (f->src_kind == ST__SRC_HEADER)
        return st__fail(err, ST_E_NO_DATA, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: the handle was opened from the header only (st_open_header): "
                        "it has no tensor data",
                        fn);
    if (f->src_kind == ST__SRC_READER) {
        e = st__reader_read(f, off, dst, size);
        return e == 0 ? ST_OK : st__reader_fail(f, t, off, size, e, fn, err);
    }
    if (f->src_kind != ST__SRC_MAP || f->fh == ST__FH_NONE) {
        /* borrowed buffer or ST_OPEN_READ copy: the bytes cannot change under us
         * (a memory caller promised to keep them alive and unchanged) */
        memcpy(dst, f->bytes + (size_t)off, (size_t)size);
        return ST_OK;
    }
    e = st__os_pread(f->fh, dst, size, off, &done);
    if (e != 0) {
        s = st__fail(err, ST_E_IO, off + done, t->name, (size_t)t->name_len,
                     "%s: reading %llu bytes at file offset %llu failed after %llu "
                     "bytes: %s",
                     fn, (unsigned long long)size, (unsigned long long)off,
                     (unsigned long long)done, strerror(e));
        if (err) err->sys_errno = e;
        return s;
    }
    if (done < size) {
        /* end of file inside the tensor: report where the data now ends (the
         * read may have started past it) */
        st__os_stat sb;
        uint64_t end = off + done;
        if (st__os_fstat(f->fh, &sb) == 0 && sb.size < end) end = sb.size;
        s = st__fail(err, ST_E_IO, end, t->name, (size_t)t->name_len,
                     "%s: the file shrank since open: its data now ends at byte "
                     "%llu, before the %llu bytes wanted at file offset %llu (file had %llu "
                     "bytes at open)",
                     fn, (unsigned long long)end, (unsigned long long)size,
                     (unsigned long long)off, (unsigned long long)f->size);
        /* no system call failed, but the record must say the read did */
        if (err) err->sys_errno = EIO;
        return s;
    }
    return ST_OK;
}

st_status st_tensor_read(const st_file *file, const st_tensor *t, uint64_t byte_offset,
                         void *dst, uint64_t size, st_error *err)
{
    st_status s = st__check_args(file, t, "st_tensor_read", err);
    if (s != ST_OK) return s;
    if (!dst && size)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "st_tensor_read: dst is NULL but size is %llu", (unsigned long long)size);
    if (byte_offset > t->nbytes || size > t->nbytes - byte_offset)
        return st__fail(err, ST_E_RANGE, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "st_tensor_read: %llu bytes at byte %llu run past the end of the "
                        "tensor's %llu bytes",
                        (unsigned long long)size, (unsigned long long)byte_offset,
                        (unsigned long long)t->nbytes);
    if (file->src_kind == ST__SRC_HEADER) /* even for 0 bytes: say there is no data */
        return st__read_at(file, t, t->offset, dst, 1, "st_tensor_read", err);
    s = st__read_at(file, t, t->offset + byte_offset, dst, size, "st_tensor_read", err);
    if (s == ST_OK) st__clear_error(err);
    return s;
}

/* ---------------------------------------------------------------- page hints */

st_status st_tensor_advise(const st_file *file, const st_tensor *t, st_advice advice)
{
    void *addr;
    size_t len;
    if (!file || !t || !st__owns(file, t)) return ST_E_INVALID_ARGUMENT;
    if (advice != ST_ADVICE_WILLNEED && advice != ST_ADVICE_DONTNEED &&
        advice != ST_ADVICE_SEQUENTIAL && advice != ST_ADVICE_RANDOM)
        return ST_E_INVALID_ARGUMENT;
    if (!st__page_range(file, t, &addr, &len)) return ST_OK;
    return st__os_advise(addr, len, advice) == 0 ? ST_OK : ST_E_IO;
}

/* fstat and check the tensor's bytes are still in the file. */
static st_status st__check_still_there(const st_file *file, const st_tensor *t, st_error *err)
{
    st__os_stat sb;
    uint64_t need = t->offset + t->nbytes;
    int e;
    if (file->fh == ST__FH_NONE) return ST_OK; /* nothing to ask */
    e = st__os_fstat(file->fh, &sb);
    if (e != 0) {
        st_status s = st__fail(err, ST_E_IO, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                               "st_tensor_prefetch: cannot stat the file: %s", strerror(e));
        if (err) err->sys_errno = e;
        return s;
    }
    if (sb.kind == ST__OS_REG && sb.size < need) {
        st_status s = st__fail(err, ST_E_IO, sb.size, t->name, (size_t)t->name_len,
                               "st_tensor_prefetch: the file shrank since open: it ends at byte "
                               "%llu but the tensor's data runs to byte %llu (file had %llu "
                               "bytes at open)",
                               (unsigned long long)sb.size, (unsigned long long)need,
                               (unsigned long long)file->size);
        if (err) err->sys_errno = EIO;
        return s;
    }
    return ST_OK;
}

st_status st_tensor_prefetch(const st_file *file, const st_tensor *t, st_error *err)
{
    void *addr;
    size_t len, page, i;
    const volatile unsigned char *p;
    unsigned char sink = 0;
    st_status s = st__check_args(file, t, "st_tensor_prefetch", err);
    if (s != ST_OK) return s;
    if (!st__page_range(file, t, &addr, &len)) {
        st__clear_error(err);
        return ST_OK;
    }
    /* A file cut inside the tensor's last page does not fault (the page reads
     * as zeros past the end), so ask fstat first in every case. */
    s = st__check_still_there(file, t, err);
    if (s != ST_OK) return s;
    {
        int e = st__os_populate(addr, len);
        if (e == 0) {
            st__clear_error(err);
            return ST_OK;
        }
        if (e != ENOSYS) {
            /* EFAULT is the SIGBUS an access would have raised: normally the
             * file lost the tensor's bytes. Say so when fstat confirms it. */
            s = st__check_still_there(file, t, err);
            if (s != ST_OK) {
                if (err) err->sys_errno = e;
                return s;
            }
            s = st__fail(err, ST_E_IO, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                         "st_tensor_prefetch: faulting in %llu bytes at file offset %llu "
                         "failed: %s",
                         (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                         strerror(e));
            if (err) err->sys_errno = e;
            return s;
        }
        /* not offered here (or a kernel older than 5.14): touch the pages */
    }
    /* One byte per page, all inside the tensor: the first byte, every page
     * start after it, and nothing past the tensor's end. */
    page = st__os_page_size();
    p = (const volatile unsigned char *)t->data;
    sink ^= p[0];
    i = page - ((uintptr_t)t->data & (page - 1));
    while (i < (size_t)t->nbytes) {
        sink ^= p[i];
        if ((size_t)t->nbytes - i <= page) break;
        i += page;
    }
    (void)sink;
    (void)addr;
    (void)len;
    st__clear_error(err);
    return ST_OK;
}
