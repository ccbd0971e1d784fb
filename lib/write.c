/* Writing, where the bytes go: a temporary file beside the target that is
 * flushed and renamed over it (the target is its old self or the complete new
 * file, never a part), a caller's descriptor, or a buffer. The streaming writer
 * fixes the header first and then takes data in any order from any thread,
 * keeping for each tensor the ranges written so far, so that a byte written
 * twice or never is reported. */
#include "write.h"

#include <errno.h>
#include <string.h>

#define ST__WRITE_KNOWN_FLAGS (ST_WRITE_KEEP_ORDER | ST_WRITE_NO_SYNC)
/* NOLINTBEGIN(bugprone-sizeof-expression): pointer members; their size is meant */
#define ST__WOPT_END(field) \
    (offsetof(st_write_options, field) + sizeof(((st_write_options *)0)->field))
/* NOLINTEND(bugprone-sizeof-expression) */

typedef struct st__wopts {
    uint32_t flags;
    uint32_t alignment;
    uint64_t cap;
    st_allocator alloc;
} st__wopts;

static st_status st__write_options(const st_write_options *o, st__wopts *r, st_error *err)
{
    r->flags = 0;
    r->alignment = 8;
    r->cap = ST_DEFAULT_MAX_HEADER_SIZE;
    r->alloc = st__default_allocator;
    if (!o) return ST_OK;
    if (o->struct_size < ST__WOPT_END(max_header_size))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "write options struct_size %u is too small (initialise with "
                        "ST_WRITE_OPTIONS_INIT)", (unsigned)o->struct_size);
    if (o->flags & ~(uint32_t)ST__WRITE_KNOWN_FLAGS)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "unknown write flags 0x%x",
                        (unsigned)(o->flags & ~(uint32_t)ST__WRITE_KNOWN_FLAGS));
    r->flags = o->flags;
    if (o->alignment) {
        if (o->alignment < 8 || o->alignment > 4096 || (o->alignment & (o->alignment - 1)))
            return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                            "alignment %u is not a power of two from 8 to 4096",
                            (unsigned)o->alignment);
        r->alignment = o->alignment;
    }
    if (st__opt_cap(o->max_header_size, &r->cap, err) != ST_OK) return ST_E_INVALID_ARGUMENT;
    if (o->struct_size >= ST__WOPT_END(allocator) &&
        st__opt_allocator(o->allocator, &r->alloc, err) != ST_OK)
        return ST_E_INVALID_ARGUMENT;
    return ST_OK;
}

static st_status st__io_fail(st_error *err, int e, const char *what, const char *path)
{
    char q[96];
    if (path)
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "%s \"%s\": %s", what,
                 st__quote(q, sizeof q, path, strlen(path)), strerror(e));
    else
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "%s: %s", what, strerror(e));
    if (err) err->sys_errno = e;
    return ST_E_IO;
}

/* ---------------------------------------------------------------- the writer */

/* The ranges of one tensor's data written so far: sorted, disjoint, and
 * merged when they touch, so sequential pieces keep one range. */
typedef struct st__ranges {
    uint64_t *v; /* n pairs [begin, end) */
    uint32_t n, cap;
} st__ranges;

struct st_writer {
    st_allocator alloc;
    st__wlayout L;
    st__fh fh;
    char *tmp;    /* path mode: the temporary file (else NULL) */
    char *target; /* path mode: the target */
    size_t tmp_size, target_size;
    uint32_t flags;
    st__os_lock *lock;
    st__ranges *done; /* per tensor, by the caller's index */
    char *names;      /* streaming: the names, back to back, for messages */
    uint64_t *name_at; /* count + 1 offsets into names */
    size_t names_size;
    st_status failed; /* sticky: a write failed */
    int failed_errno;
    uint64_t failed_index;
};

/* Marks [b, e) of r written; 0 if some byte of it already was, -1 out of memory. */
static int st__ranges_add(const st_allocator *a, st__ranges *r, uint64_t b, uint64_t e)
{
    size_t lo = 0, hi = r->n, k;
    /* k: the first range that ends after b */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->v[2 * mid + 1] <= b) lo = mid + 1;
        else hi = mid;
    }
    k = lo;
    if (k < r->n && r->v[2 * k] < e) return 0;
    if (k > 0 && r->v[2 * k - 1] == b) { /* extends the previous range */
        r->v[2 * k - 1] = e;
        if (k < r->n && r->v[2 * k] == e) { /* and closes the gap to the next */
            r->v[2 * k - 1] = r->v[2 * k + 1];
            memmove(&r->v[2 * k], &r->v[2 * k + 2], (r->n - k - 1) * 2 * sizeof *r->v);
            r->n--;
        }
        return 1;
    }
    if (k < r->n && r->v[2 * k] == e) { /* extends the next one down */
        r->v[2 * k] = b;
        return 1;
    }
    if (r->n == r->cap) {
        /* one pair first: pieces written in order merge into it */
        uint32_t nc = r->cap ? r->cap * 2 : 1;
        uint64_t *nv;
        if (nc > UINT32_MAX / 4) return -1;
        nv = (uint64_t *)st__realloc(a, r->v, (size_t)r->cap * 2 * sizeof *r->v,
                                     (size_t)nc * 2 * sizeof *r->v);
        if (!nv) return -1;
        r->v = nv;
        r->cap = nc;
    }
    memmove(&r->v[2 * k + 2], &r->v[2 * k], (r->n - k) * 2 * sizeof *r->v);
    r->v[2 * k] = b;
    r->v[2 * k + 1] = e;
    r->n++;
    return 1;
}

void st__writer_free(st_writer *w)
{
    st_allocator a = w->alloc;
    uint64_t i;
    if (w->done) {
        for (i = 0; i < w->L.count; i++)
            st__free(&a, w->done[i].v, (size_t)w->done[i].cap * 2 * sizeof(uint64_t));
        st__free(&a, w->done, (size_t)w->L.count * sizeof *w->done);
    }
    st__free(&a, w->names, w->names_size);
    if (w->name_at) st__free(&a, w->name_at, (size_t)(w->L.count + 1) * sizeof *w->name_at);
    st__os_lock_free(&a, w->lock);
    st__wlayout_free(&w->L);
    st__free(&a, w->tmp, w->tmp_size);
    st__free(&a, w->target, w->target_size);
    st__free(&a, w, sizeof *w);
}

/* Closes the file and, in path mode, removes the temporary file. */
void st__writer_discard(st_writer *w)
{
    st__os_close(w->fh);
    w->fh = ST__FH_NONE;
    if (w->tmp) (void)st__os_remove(w->tmp);
}

static char *st__dup(const st_allocator *a, const char *s, size_t *size)
{
    size_t n = strlen(s) + 1;
    char *d = (char *)st__malloc(a, n);
    if (d) memcpy(d, s, n);
    *size = n;
    return d;
}

/* A copy of the names (validated by the layout: their lengths fit in size_t),
 * so that messages can name a tensor after the caller's specs are gone. */
static st_status st__keep_names(st_writer *w, const st_tensor_spec *t, uint64_t count)
{
    uint64_t i, total = 0;
    for (i = 0; i < count; i++) {
        if (t[i].name_len > (uint64_t)SIZE_MAX - total) return ST_E_NOMEM;
        total += t[i].name_len;
    }
    w->name_at = (uint64_t *)st__malloc(&w->alloc, (size_t)(count + 1) * sizeof *w->name_at);
    w->names_size = total ? (size_t)total : 1;
    w->names = (char *)st__malloc(&w->alloc, w->names_size);
    if (!w->name_at || !w->names) return ST_E_NOMEM;
    total = 0;
    for (i = 0; i < count; i++) {
        w->name_at[i] = total;
        if (t[i].name_len) memcpy(w->names + total, t[i].name, (size_t)t[i].name_len);
        total += t[i].name_len;
    }
    w->name_at[count] = total;
    return ST_OK;
}

/* st__fail for tensor k of a streaming writer: err.tensor names it. */
#define ST__WNAME(w, k) (w)->names + (w)->name_at[k], (size_t)((w)->name_at[(k) + 1] - (w)->name_at[k])

/* Creates "<path>.<16 hex digits>.tmp" exclusively: beside the target, so the
 * rename over it is atomic; random, so two writers never share one and a file
 * someone put there first is never reused. Its name in tmp[ST__PATH_MAX]. */
int st__create_temp(const char *path, st__fh *h, char *tmp)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(path), i;
    int tries, e = EEXIST;
    if (n + 22 >= ST__PATH_MAX) return ENAMETOOLONG;
    for (tries = 0; tries < 100 && e == EEXIST; tries++) {
        unsigned char r[8];
        st__os_random(r, sizeof r);
        memcpy(tmp, path, n + 1);
        tmp[n] = '.';
        for (i = 0; i < 8; i++) {
            tmp[n + 1 + 2 * i] = hex[r[i] >> 4];
            tmp[n + 2 + 2 * i] = hex[r[i] & 15];
        }
        memcpy(tmp + n + 17, ".tmp", 5);
        e = st__os_create(tmp, h);
    }
    return e;
}

/* The common part of every way to write: options, layout, the file (a
 * temporary one beside path, or a duplicate of fd) and the header. */
st_status st__writer_new(st_writer **out, const char *path, int fd,
                                const st_tensor_spec *t, uint64_t count,
                                const st_metadata_entry *meta, uint64_t nmeta,
                                const st_write_options *opts, int streaming, st_error *err)
{
    st__wopts o;
    st_writer *w;
    st_status s;
    char tmp[ST__PATH_MAX];
    int e;
    *out = NULL;
    s = st__write_options(opts, &o, err);
    if (s != ST_OK) return s;
    w = (st_writer *)st__malloc(&o.alloc, sizeof *w);
    if (!w) {
        st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
        return ST_E_NOMEM;
    }
    memset(w, 0, sizeof *w);
    w->alloc = o.alloc;
    w->fh = ST__FH_NONE;
    w->flags = o.flags;
    s = st__wlayout_build(&w->L, &w->alloc, t, count, meta, nmeta, o.flags, o.alignment, o.cap,
                          !streaming, err);
    if (s != ST_OK) goto fail;
    if (streaming) {
        if (count) {
            w->done = (st__ranges *)st__malloc(&w->alloc, (size_t)count * sizeof *w->done);
            if (!w->done) goto nomem;
            memset(w->done, 0, (size_t)count * sizeof *w->done);
            s = st__keep_names(w, t, count);
            if (s != ST_OK) goto nomem;
        }
        if (st__os_lock_new(&w->alloc, &w->lock) != 0) goto nomem;
    }
    if (path) {
        w->target = st__dup(&w->alloc, path, &w->target_size);
        if (!w->target) goto nomem;
        e = st__create_temp(path, &w->fh, tmp);
        if (e != 0) {
            s = st__io_fail(err, e, "cannot create a temporary file beside", path);
            goto fail;
        }
        w->tmp = st__dup(&w->alloc, tmp, &w->tmp_size);
        if (!w->tmp) {
            (void)st__os_remove(tmp);
            goto nomem;
        }
    } else {
        e = st__os_dup_fd_write(fd, &w->fh);
        if (e != 0) {
            st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "cannot duplicate fd %d: %s", fd,
                     strerror(e));
            if (err) err->sys_errno = e;
            s = ST_E_IO;
            goto fail;
        }
    }
    e = st__os_pwrite(w->fh, w->L.head, w->L.head_len, 0);
    if (e == 0 && streaming && w->tmp)
        /* the final size at once: the data goes into it in any order */
        e = st__os_set_size(w->fh, (uint64_t)w->L.head_len + w->L.data_size);
    if (e != 0) {
        s = st__io_fail(err, e, "writing the header failed", w->tmp);
        goto fail;
    }
    if (streaming) {
        /* written: a streaming writer keeps only the offsets, not the text */
        st__free(&w->alloc, w->L.head, w->L.head_len);
        w->L.head = NULL;
    }
    *out = w;
    return ST_OK;
nomem:
    st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    s = ST_E_NOMEM;
fail:
    st__writer_discard(w);
    st__writer_free(w);
    return s;
}

st_status st__writer_seal(st_writer *w, st_error *err)
{
    int e = 0;
    if (!(w->flags & ST_WRITE_NO_SYNC)) e = st__os_sync(w->fh);
    if (e != 0) return st__io_fail(err, e, "flushing the temporary file failed", w->tmp);
    st__os_close(w->fh);
    w->fh = ST__FH_NONE;
    return ST_OK;
}

st_status st__writer_rename(st_writer *w, st_error *err)
{
    int e = st__os_rename(w->tmp, w->target);
    if (e != 0) return st__io_fail(err, e, "cannot rename the temporary file over", w->target);
    /* the temporary name is gone: nothing for a discard to remove */
    st__free(&w->alloc, w->tmp, w->tmp_size);
    w->tmp = NULL;
    w->tmp_size = 0;
    return ST_OK;
}

st_status st__writer_sync_dir(const st_writer *w, st_error *err)
{
    int e = (w->flags & ST_WRITE_NO_SYNC) ? 0 : st__os_sync_dir(w->target);
    if (e != 0)
        /* the file is complete and in place; only its durability is in doubt */
        return st__io_fail(err, e, "the file is written, but flushing its directory failed",
                           w->target);
    return ST_OK;
}

/* Path mode: flush, rename over the target, flush the directory. Frees w. */
static st_status st__writer_commit(st_writer *w, st_error *err)
{
    st_status s = ST_OK;
    if (w->tmp) {
        s = st__writer_seal(w, err);
        if (s == ST_OK) s = st__writer_rename(w, err);
        if (s == ST_OK) s = st__writer_sync_dir(w, err);
    }
    st__writer_discard(w);
    st__writer_free(w);
    if (s == ST_OK) st__clear_error(err);
    return s;
}

/* The data of every tensor in file order, at its place. */
st_status st__write_all(st_writer *w, const st_tensor_spec *t, st_error *err)
{
    uint64_t i;
    for (i = 0; i < w->L.count; i++) {
        uint32_t k = w->L.order[i];
        int e;
        if (!w->L.nbytes[k]) continue;
        e = st__os_pwrite(w->fh, t[k].data, w->L.nbytes[k], w->L.head_len + w->L.begin[k]);
        if (e != 0) {
            char q[64];
            st__fail(err, ST_E_IO, w->L.head_len + w->L.begin[k], t[k].name,
                     (size_t)t[k].name_len, "writing the %llu bytes of tensor \"%s\" failed: %s",
                     (unsigned long long)w->L.nbytes[k],
                     st__quote(q, sizeof q, t[k].name, (size_t)t[k].name_len), strerror(e));
            if (err) err->sys_errno = e;
            return ST_E_IO;
        }
    }
    return ST_OK;
}

static st_status st__write_to(const char *path, int fd, const st_tensor_spec *t, uint64_t count,
                              const st_metadata_entry *meta, uint64_t nmeta,
                              const st_write_options *opts, st_error *err)
{
    st_writer *w;
    st_status s = st__writer_new(&w, path, fd, t, count, meta, nmeta, opts, 0, err);
    if (s != ST_OK) return s;
    s = st__write_all(w, t, err);
    if (s != ST_OK) {
        st__writer_discard(w);
        st__writer_free(w);
        return s;
    }
    return st__writer_commit(w, err);
}

st_status st_write_file(const char *path, const st_tensor_spec *tensors, uint64_t count,
                        const st_metadata_entry *metadata, uint64_t nmeta,
                        const st_write_options *opts, st_error *err)
{
    if (!path)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "path is NULL");
    return st__write_to(path, -1, tensors, count, metadata, nmeta, opts, err);
}

st_status st_write_fd(int fd, const st_tensor_spec *tensors, uint64_t count,
                      const st_metadata_entry *metadata, uint64_t nmeta,
                      const st_write_options *opts, st_error *err)
{
    if (fd < 0)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "fd %d is negative", fd);
    return st__write_to(NULL, fd, tensors, count, metadata, nmeta, opts, err);
}

st_status st_write_memory(void *dst, uint64_t dst_size, uint64_t *size,
                          const st_tensor_spec *tensors, uint64_t count,
                          const st_metadata_entry *metadata, uint64_t nmeta,
                          const st_write_options *opts, st_error *err)
{
    st__wopts o;
    st__wlayout L;
    st_status s;
    uint64_t i, total;
    unsigned char *d = (unsigned char *)dst;
    if (size) *size = 0;
    if (!size)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "size is NULL");
    s = st__write_options(opts, &o, err);
    if (s != ST_OK) return s;
    s = st__wlayout_build(&L, &o.alloc, tensors, count, metadata, nmeta, o.flags, o.alignment,
                          o.cap, 1, err);
    if (s != ST_OK) return s;
    total = (uint64_t)L.head_len + L.data_size;
    *size = total;
    if (!dst) {
        st__wlayout_free(&L);
        st__clear_error(err);
        return ST_OK;
    }
    if (dst_size < total) {
        st__wlayout_free(&L);
        return st__fail(err, ST_E_RANGE, ST__NO_OFFSET, NULL, 0,
                        "the file needs %llu bytes; the buffer has %llu",
                        (unsigned long long)total, (unsigned long long)dst_size);
    }
    /* total <= dst_size: it fits in the caller's address space */
    memcpy(d, L.head, L.head_len);
    for (i = 0; i < count; i++)
        if (L.nbytes[i])
            memcpy(d + L.head_len + (size_t)L.begin[i], tensors[i].data, (size_t)L.nbytes[i]);
    st__wlayout_free(&L);
    st__clear_error(err);
    return ST_OK;
}

/* ---------------------------------------------------------------- streaming */

st_status st_writer_begin_path(st_writer **out, const char *path,
                               const st_tensor_spec *tensors, uint64_t count,
                               const st_metadata_entry *metadata, uint64_t nmeta,
                               const st_write_options *opts, st_error *err)
{
    if (out) *out = NULL;
    if (!out || !path)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        !out ? "out is NULL" : "path is NULL");
    return st__writer_new(out, path, -1, tensors, count, metadata, nmeta, opts, 1, err);
}

st_status st_writer_begin_fd(st_writer **out, int fd, const st_tensor_spec *tensors,
                             uint64_t count, const st_metadata_entry *metadata, uint64_t nmeta,
                             const st_write_options *opts, st_error *err)
{
    if (out) *out = NULL;
    if (!out || fd < 0)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        !out ? "out is NULL" : "fd is negative");
    return st__writer_new(out, NULL, fd, tensors, count, metadata, nmeta, opts, 1, err);
}

uint64_t st_writer_tensor_offset(const st_writer *w, uint64_t index)
{
    if (!w || index >= w->L.count) return 0;
    return (uint64_t)w->L.head_len + w->L.begin[index];
}

uint64_t st_writer_file_size(const st_writer *w)
{
    return w ? (uint64_t)w->L.head_len + w->L.data_size : 0;
}

st_status st_writer_write(st_writer *w, uint64_t index, uint64_t byte_offset, const void *src,
                          uint64_t size, st_error *err)
{
    uint64_t nb, at;
    int r, e;
    if (!w)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "writer is NULL");
    if (index >= w->L.count)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "tensor %llu is out of range (the writer has %llu)",
                        (unsigned long long)index, (unsigned long long)w->L.count);
    if (!src && size)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "src is NULL but size is %llu", (unsigned long long)size);
    nb = w->L.nbytes[index];
    if (byte_offset > nb || size > nb - byte_offset)
        return st__fail(err, ST_E_RANGE, ST__NO_OFFSET, ST__WNAME(w, index),
                        "%llu bytes at byte %llu run past the end of tensor %llu's %llu bytes",
                        (unsigned long long)size, (unsigned long long)byte_offset,
                        (unsigned long long)index, (unsigned long long)nb);
    if (size == 0) {
        st__clear_error(err);
        return ST_OK;
    }
    st__os_lock_acquire(w->lock);
    r = w->failed != ST_OK ? 2 : st__ranges_add(&w->alloc, &w->done[index], byte_offset,
                                                  byte_offset + size);
    if (r == 0) {
        /* a caller that writes a range twice has lost track of its data: the
         * file must not be committed, whatever it does next */
        w->failed = ST_E_WRITTEN_TWICE;
        w->failed_errno = 0;
        w->failed_index = index;
    }
    st__os_lock_release(w->lock);
    if (r == 2)
        return st__fail(err, w->failed, ST__NO_OFFSET, NULL, 0,
                        "an earlier write of tensor %llu failed (%s); the writer can only be "
                        "aborted, or finished with that status",
                        (unsigned long long)w->failed_index, st_status_name(w->failed));
    if (r < 0) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    if (r == 0)
        return st__fail(err, ST_E_WRITTEN_TWICE, ST__NO_OFFSET, ST__WNAME(w, index),
                        "bytes %llu to %llu of tensor %llu were already written (in part or "
                        "in full); nothing was written, and the writer can only fail now",
                        (unsigned long long)byte_offset, (unsigned long long)(byte_offset + size),
                        (unsigned long long)index);
    at = (uint64_t)w->L.head_len + w->L.begin[index] + byte_offset;
    e = st__os_pwrite(w->fh, src, size, at);
    if (e != 0) {
        st__os_lock_acquire(w->lock);
        if (w->failed == ST_OK) {
            w->failed = ST_E_IO;
            w->failed_errno = e;
            w->failed_index = index;
        }
        st__os_lock_release(w->lock);
        r = (int)st__fail(err, ST_E_IO, at, ST__WNAME(w, index),
                          "writing %llu bytes of tensor %llu at file offset %llu failed: %s",
                          (unsigned long long)size, (unsigned long long)index,
                          (unsigned long long)at, strerror(e));
        if (err) err->sys_errno = e;
        return (st_status)r;
    }
    st__clear_error(err);
    return ST_OK;
}

st_status st_writer_finish(st_writer *w, st_error *err)
{
    uint64_t i;
    if (!w) return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "writer is NULL");
    if (w->failed != ST_OK) {
        st_status s = w->failed == ST_E_WRITTEN_TWICE
            ? st__fail(err, w->failed, ST__NO_OFFSET, ST__WNAME(w, w->failed_index),
                       "bytes of tensor %llu were given twice; nothing was committed",
                       (unsigned long long)w->failed_index)
            : st__fail(err, w->failed, ST__NO_OFFSET, ST__WNAME(w, w->failed_index),
                       "a write of tensor %llu failed: %s; nothing was committed",
                       (unsigned long long)w->failed_index, strerror(w->failed_errno));
        if (err) err->sys_errno = w->failed_errno;
        st__writer_discard(w);
        st__writer_free(w);
        return s;
    }
    for (i = 0; i < w->L.count; i++) {
        uint32_t k = w->L.order[i];
        const st__ranges *r = &w->done[k];
        uint64_t nb = w->L.nbytes[k], hole;
        if (nb == 0 || (r->n == 1 && r->v[0] == 0 && r->v[1] == nb)) continue;
        hole = r->n == 0 || r->v[0] > 0 ? 0 : r->v[1];
        {
            st_status s = st__fail(err, ST_E_INCOMPLETE, (uint64_t)w->L.head_len + w->L.begin[k] + hole,
                                   ST__WNAME(w, k),
                                   "tensor %llu was not written in full: its byte %llu of %llu "
                                   "is missing; nothing was committed",
                                   (unsigned long long)k, (unsigned long long)hole,
                                   (unsigned long long)nb);
            st__writer_discard(w);
            st__writer_free(w);
            return s;
        }
    }
    return st__writer_commit(w, err);
}

void st_writer_abort(st_writer *w)
{
    if (!w) return;
    st__writer_discard(w);
    st__writer_free(w);
}
