/* Opening: options, the source, then frame -> header -> validate, all or
 * nothing; and closing. */
#include "os.h"

#include <errno.h>
#include <string.h>

#define ST__KNOWN_FLAGS (ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING | ST_OPEN_CLOSE_FD | \
                         ST_OPEN_READ)
/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointer members; their size is meant */
#define ST__OPT_END(field) (offsetof(st_open_options, field) + sizeof(((st_open_options *)0)->field))

typedef struct st__opts {
    uint32_t flags;
    uint64_t cap;
    st_allocator alloc;
    uint64_t read_gap;
} st__opts;

st_status st__opt_cap(uint64_t max_header_size, uint64_t *cap, st_error *err)
{
    if (!max_header_size) return ST_OK;
    if (max_header_size > ST_MAX_HEADER_SIZE_LIMIT)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "max_header_size %llu is above the limit of %llu",
                        (unsigned long long)max_header_size,
                        (unsigned long long)ST_MAX_HEADER_SIZE_LIMIT);
    *cap = max_header_size;
    return ST_OK;
}

static st_status st__read_options(const st_open_options *o, st__opts *r, st_error *err)
{
    r->flags = 0;
    r->cap = ST_DEFAULT_MAX_HEADER_SIZE;
    r->alloc = st__default_allocator;
    r->read_gap = ST_DEFAULT_READ_GAP;
    if (!o) return ST_OK;
    if (o->struct_size < ST__OPT_END(max_header_size))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "options struct_size %u is too small (initialise with ST_OPEN_OPTIONS_INIT)",
                        (unsigned)o->struct_size);
    if (o->flags & ~(uint32_t)ST__KNOWN_FLAGS)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "unknown option flags 0x%x", (unsigned)(o->flags & ~(uint32_t)ST__KNOWN_FLAGS));
    r->flags = o->flags;
    if (st__opt_cap(o->max_header_size, &r->cap, err) != ST_OK) return ST_E_INVALID_ARGUMENT;
    if (o->struct_size >= ST__OPT_END(allocator) &&
        st__opt_allocator(o->allocator, &r->alloc, err) != ST_OK)
        return ST_E_INVALID_ARGUMENT;
    if (o->struct_size >= ST__OPT_END(read_gap) && o->read_gap)
        r->read_gap = o->read_gap == ST_READ_GAP_NONE ? 0 : o->read_gap;
    return ST_OK;
}

static void st__destroy(st_file *f)
{
    st_allocator a = f->alloc;
    st__source_release(f);
    if (f->reader_lock) st__os_lock_free(&a, f->reader_lock);
    st__hash_free(&f->names, &a);
    st__hash_free(&f->meta_hash, &a);
    st__free(&a, f->tensors, f->tensors_cap * sizeof *f->tensors);
    st__meta_release(f);
    st__free(&a, f->meta, f->meta_cap * sizeof *f->meta);
    st__free(&a, f->order, (size_t)f->ntensors * sizeof(uint32_t));
    st__free(&a, f->tmp_pos, f->tmp_pos_cap * sizeof(uint64_t));
    st__arena_free_all(&f->arena);
    st__arena_free_all(&f->name_arena);
    st__free(&a, f, sizeof *f);
}

static st_file *st__new(const st__opts *o)
{
    st_file *f = (st_file *)st__malloc(&o->alloc, sizeof *f);
    if (!f) return NULL;
    memset(f, 0, sizeof *f);
    f->alloc = o->alloc;
    f->fh = ST__FH_NONE;
    f->arena.alloc = &f->alloc;
    f->arena.block_size = 4096;
    f->name_arena.alloc = &f->alloc;
    f->name_arena.block_size = 4096;
    f->meta_state = ST_METADATA_ABSENT;
    f->read_gap = o->read_gap;
    st__random_key(&f->key);
    return f;
}

#define ST__POPULATE_MIN ((uint64_t)1 << 20)

/* The steps after the bytes are available. Consumes f on failure. */
static st_status st__finish(st_file **out, st_file *f, const st__opts *o, st_error *err)
{
    st_status s = st__frame(f, o->cap, err);
    if (s == ST_OK && f->src_kind == ST__SRC_MAP && f->map_addr && f->header_size > ST__POPULATE_MIN)
        /* the header is read next, all of it: one call maps its pages in
         * (from the file cache) instead of a fault per 64 KiB */
        (void)st__os_populate(f->map_addr, (size_t)(8 + f->header_size));
    if (s == ST_OK) s = st__parse_header(f, o->flags, err);
    if (s == ST_OK) s = st__validate(f, o->flags, err);
    if (s == ST_OK) s = st__meta_publish(f, err);
    if (s == ST_E_HEADER_TOO_SMALL || s == ST_E_HEADER_TOO_LARGE || s == ST_E_HEADER_LENGTH ||
        s == ST_E_UTF8 || s == ST_E_JSON) {
        /* rules 1 to 5 failed: name the file if it is a known other format */
        unsigned char small[8];
        const unsigned char *b = f->bytes;
        const char *what;
        uint64_t got = 0;
        uint64_t avail = ST__SRC_HAS_DATA(f->src_kind) ? f->size : f->avail;
        if (!b && f->size > 0 && f->size < 8 && f->fh != ST__FH_NONE &&
            st__os_pread(f->fh, small, f->size, 0, &got) == 0 && got == f->size)
            b = small; /* too small to map: read the few bytes */
        what = st__sniff(b, avail);
        if (what) s = st__fail(err, ST_E_WRONG_FORMAT, 0, NULL, 0, "not a safetensors file: %s", what);
    }
    if (s != ST_OK) {
        st__destroy(f);
        return s;
    }
    /* the records no longer move: lookups may prefetch the one they find */
    f->names.records = (const char *)f->tensors;
    f->names.record_size = sizeof *f->tensors;
    st__free(&f->alloc, f->tmp_pos, f->tmp_pos_cap * sizeof(uint64_t));
    f->tmp_pos = NULL;
    if (!ST__SRC_HAS_DATA(f->src_kind)) {
        /* everything needed is decoded: the header bytes are not kept */
        st__free(&f->alloc, f->owned, f->owned_len);
        f->owned = NULL;
        f->owned_len = 0;
        f->bytes = NULL;
        f->avail = 0;
    }
    st__clear_error(err);
    *out = f;
    return ST_OK;
}

/* The open flags that make no sense without a descriptor. */
static st_status st__no_fd_flags(const st__opts *o, const char *fn, st_error *err)
{
    if (o->flags & (ST_OPEN_CLOSE_FD | ST_OPEN_READ))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "%s takes neither ST_OPEN_CLOSE_FD nor ST_OPEN_READ (it has no file "
                        "descriptor)",
                        fn);
    return ST_OK;
}

st_status st_open_reader(st_file **out, const st_reader *reader, uint64_t size,
                         const st_open_options *opts, st_error *err)
{
    st__opts o;
    st_file *f;
    st_status s;
    int e;
    if (out) *out = NULL;
    if (!out || !reader)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "%s is NULL",
                        !out ? "out" : "reader");
    if (reader->struct_size < sizeof(st_reader))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "reader struct_size %u is too small (initialise with ST_READER_INIT)",
                        (unsigned)reader->struct_size);
    if (!reader->read)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "the reader has no read function");
    if (reader->flags & ~(uint32_t)ST_READER_THREAD_SAFE)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "unknown reader flags 0x%x",
                        (unsigned)(reader->flags & ~(uint32_t)ST_READER_THREAD_SAFE));
    s = st__read_options(opts, &o, err);
    if (s == ST_OK) s = st__no_fd_flags(&o, "st_open_reader", err);
    if (s != ST_OK) return s;
    f = st__new(&o);
    if (!f) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    memcpy(&f->reader, reader, sizeof f->reader);
    f->reader.struct_size = sizeof f->reader;
    f->size = size;
    f->src_kind = ST__SRC_READER;
    if (!(reader->flags & ST_READER_THREAD_SAFE)) {
        st__os_lock *l = NULL;
        e = st__os_lock_new(&f->alloc, &l);
        if (e != 0) {
            st__destroy(f);
            return st__fail(err, e == ENOMEM ? ST_E_NOMEM : ST_E_IO, ST__NO_OFFSET, NULL, 0,
                            "cannot create the lock that serializes the reader: %s",
                            strerror(e));
        }
        f->reader_lock = l;
    }
    s = st__source_reader(f, o.cap, err);
    if (s != ST_OK) {
        st__destroy(f);
        return s;
    }
    return st__finish(out, f, &o, err);
}

st_status st_open_header(st_file **out, const void *prefix, uint64_t prefix_size,
                         uint64_t file_size, const st_open_options *opts, st_error *err)
{
    st__opts o;
    st_file *f;
    st_status s;
    const unsigned char *b = (const unsigned char *)prefix;
    if (out) *out = NULL;
    if (!out)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "out is NULL");
    if (!prefix && prefix_size)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "prefix is NULL but prefix_size is %llu",
                        (unsigned long long)prefix_size);
    if (prefix_size > file_size)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "prefix_size %llu is larger than the file's %llu bytes",
                        (unsigned long long)prefix_size, (unsigned long long)file_size);
    s = st__read_options(opts, &o, err);
    if (s == ST_OK) s = st__no_fd_flags(&o, "st_open_header", err);
    if (s != ST_OK) return s;
    if (prefix_size < 8 && file_size >= 8)
        return st__fail(err, ST_E_NEED_MORE, 8, NULL, 0,
                        "the prefix holds %llu bytes: the 8-byte header length is needed "
                        "first",
                        (unsigned long long)prefix_size);
    if (file_size >= 8) {
        uint64_t n = 0;
        int i;
        for (i = 7; i >= 0; i--) n = (n << 8) | b[i];
        /* only when rules 2 and 3 pass: otherwise they decide */
        if (n <= o.cap && n <= file_size - 8 && prefix_size < 8 + n)
            return st__fail(err, ST_E_NEED_MORE, 8 + n, NULL, 0,
                            "the prefix holds %llu bytes but the header ends at byte %llu: "
                            "pass the first %llu bytes of the file",
                            (unsigned long long)prefix_size, (unsigned long long)n + 8,
                            (unsigned long long)n + 8);
    }
    f = st__new(&o);
    if (!f) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    f->bytes = b;
    f->avail = prefix_size;
    f->size = file_size;
    f->src_kind = ST__SRC_HEADER;
    return st__finish(out, f, &o, err);
}

st_status st_open_memory(st_file **out, const void *data, uint64_t size,
                         const st_open_options *opts, st_error *err)
{
    st__opts o;
    st_file *f;
    st_status s;
    if (out) *out = NULL;
    if (!out)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "out is NULL");
    if (!data && size)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "data is NULL but size is %llu", (unsigned long long)size);
    s = st__read_options(opts, &o, err);
    if (s != ST_OK) return s;
    if (o.flags & ST_OPEN_CLOSE_FD)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "ST_OPEN_CLOSE_FD is for st_open_fd");
    if (size > (uint64_t)SIZE_MAX)
        return st__fail(err, ST_E_TOO_BIG, ST__NO_OFFSET, NULL, 0,
                        "buffer of %llu bytes is larger than this process can address",
                        (unsigned long long)size);
    f = st__new(&o);
    if (!f) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    f->bytes = (const unsigned char *)data;
    f->size = size;
    f->src_kind = ST__SRC_MEMORY;
    return st__finish(out, f, &o, err);
}

/* The source and the steps, on a file the handle owns (closed on failure). */
static st_status st__open_owned(st_file **out, st__fh h, const st__opts *o, st_error *err)
{
    st_status s;
    st_file *f = st__new(o);
    if (!f) {
        st__os_close(h);
        return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    }
    f->fh = h;
    s = (o->flags & ST_OPEN_READ) ? st__source_read(f, err) : st__source_map(f, err);
    if (s != ST_OK) {
        st__destroy(f);
        return s;
    }
    return st__finish(out, f, o, err);
}

st_status st__open_handle(st_file **out, st__fh h, const st_open_options *opts,
                          st_error *err)
{
    st__opts o;
    st_status s = st__read_options(opts, &o, err);
    if (s != ST_OK || !out) {
        st__os_close(h);
        return s != ST_OK ? s : st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                                         "out is NULL");
    }
    *out = NULL;
    return st__open_owned(out, h, &o, err);
}

st_status st_open_fd(st_file **out, int fd, const st_open_options *opts, st_error *err)
{
    st__opts o;
    st__fh h;
    st_status s;
    int own, e;
    if (out) *out = NULL;
    s = st__read_options(opts, &o, err);
    own = (s == ST_OK && (o.flags & ST_OPEN_CLOSE_FD)) || (s != ST_OK && opts &&
          opts->struct_size >= ST__OPT_END(flags) && (opts->flags & ST_OPEN_CLOSE_FD));
    if (s != ST_OK || !out || fd < 0) {
        if (s == ST_OK && !out)
            s = st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "out is NULL");
        else if (s == ST_OK)
            s = st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                         "fd %d is negative", fd);
        if (own && fd >= 0) st__os_close_fd(fd);
        return s;
    }
    /* A borrowed descriptor could be closed, or its number reused for another
     * file, behind our back: the handle keeps a private duplicate. */
    e = st__os_adopt_fd(fd, own, &h);
    if (e != 0) {
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "cannot %s fd %d: %s",
                 own ? "take over" : "duplicate", fd, strerror(e));
        if (err) err->sys_errno = e;
        return ST_E_IO;
    }
    return st__open_owned(out, h, &o, err);
}

st_status st_open_path(st_file **out, const char *path, const st_open_options *opts,
                       st_error *err)
{
    st__opts o;
    st__fh h;
    st_status s;
    int e;
    if (out) *out = NULL;
    if (!out || !path)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        !out ? "out is NULL" : "path is NULL");
    s = st__read_options(opts, &o, err);
    if (s != ST_OK) return s;
    if (o.flags & ST_OPEN_CLOSE_FD)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "ST_OPEN_CLOSE_FD is for st_open_fd");
    e = st__os_open(path, 0, &h);
    if (e != 0) {
        char q[96];
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "cannot open \"%s\": %s",
                 st__quote(q, sizeof q, path, strlen(path)), strerror(e));
        if (err) err->sys_errno = e;
        return ST_E_IO;
    }
    return st__open_owned(out, h, &o, err);
}

void st_close(st_file *file)
{
    if (file) st__destroy(file);
}
