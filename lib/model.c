/* Sharded models: the public st_model_* functions over the index read by
 * model_index.c. Shards open lazily, at most max_open_shards at once (the
 * least recently used unpinned shard is closed first), and are pinned between
 * st_model_acquire and st_model_release. Each shard is checked when opened:
 * it must resolve inside the index's directory and hold exactly the tensors
 * the weight map gives it.
 *
 * Locking: one mutex guards the shard table (file, pins, LRU stamps, the open
 * count). Opening a shard (mmap, header parse, weight-map check) and closing
 * an evicted one happen outside the lock; a shard being opened is marked
 * "opening" and other threads that want it wait on the condition variable. */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST__MODEL_KNOWN_FLAGS (ST_MODEL_VALIDATE_ALL | ST_MODEL_FOLLOW_SYMLINKS)
#define ST__DEFAULT_OPEN_SHARDS 16u
/* NOLINTBEGIN(bugprone-sizeof-expression): pointer members; their size is meant */
#define ST__MOPT_END(field) \
    (offsetof(st_model_options, field) + sizeof(((st_model_options *)0)->field))
#define ST__FOPT_END(field) \
    (offsetof(st_open_options, field) + sizeof(((st_open_options *)0)->field))
/* NOLINTEND(bugprone-sizeof-expression) */

/* ---------------------------------------------------------------- the directory */

/* root = real path of the directory part of path. */
static st_status st__set_root(st_model *m, const char *path, st_error *err)
{
    char dir[ST__PATH_MAX], real[ST__PATH_MAX];
    const char *slash = NULL, *p;
    size_t n;
    int e;
    for (p = path; *p; p++)
        if (ST__OS_IS_SEP(*p)) slash = p;
    if (!slash) {
        memcpy(dir, ".", 2);
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "path too long");
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    e = st__os_dir_final(dir, real);
    if (e != 0) return st__model_io_fail(err, e, "cannot resolve the directory", dir);
    m->root_len = strlen(real);
    m->root = st__model_strdup(&m->arena, real, m->root_len);
    if (!m->root)
        return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    return ST_OK;
}

/* ---------------------------------------------------------------- shards */

void st__model_close_file(const st_model *m, st_file *f)
{
    st_reader rd;
    if (!f) return;
    rd = f->reader; /* the handle's copy: what open_file gave */
    st_close(f);
    if (m->has_storage && m->storage.close_file) m->storage.close_file(m->storage.ctx, &rd);
}

/* A shard through the model's storage: open_file, then st_open_reader. */
static st_status st__load_shard_storage(const st_model *m, const st__shard *sh, const char *q,
                                        st_file **out, st_error *err)
{
    st_reader rd;
    uint64_t size = 0;
    st_status s;
    int e;
    memset(&rd, 0, sizeof rd);
    rd.struct_size = (uint32_t)sizeof rd;
    e = m->storage.open_file(m->storage.ctx, sh->name, &rd, &size);
    if (e != 0) {
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0,
                 "shard \"%s\": the storage cannot open it: code %d (%s)", q, e,
                 e > 0 ? strerror(e) : "not an errno value");
        if (err) err->sys_errno = e;
        return ST_E_IO;
    }
    s = st_open_reader(out, &rd, size, &m->fopts, err);
    if (s != ST_OK) {
        if (m->storage.close_file) m->storage.close_file(m->storage.ctx, &rd);
        st__model_prefix(err, "shard \"%s\": ", q);
    }
    return s;
}

/* Every weight-map tensor of the shard is in f, and f has no other tensor. */
static st_status st__check_shard(const st_model *m, uint64_t si, const st_file *f,
                                 st_error *err)
{
    const st__shard *sh = &m->shards[si];
    uint64_t i, n;
    char q[64], q2[64], q3[64];
    for (i = sh->first; i < sh->first + sh->count; i++) {
        const st_model_entry *e = &m->entries[i];
        if (!st_tensor_find_n(f, e->name, (size_t)e->name_len))
            return st__fail(err, ST_E_NOT_FOUND, ST__NO_OFFSET, e->name, (size_t)e->name_len,
                            "shard \"%s\": tensor \"%s\" of the weight map is not in the shard",
                            st__quote(q, sizeof q, sh->name, sh->name_len),
                            st__quote(q2, sizeof q2, e->name, (size_t)e->name_len));
    }
    n = st_tensor_count(f);
    if (n == sh->count) return ST_OK; /* names are unique on both sides */
    for (i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        const st_model_entry *e = st_model_find_n(m, t->name, (size_t)t->name_len);
        if (e && e->shard == si) continue;
        st__quote(q, sizeof q, sh->name, sh->name_len);
        st__quote(q2, sizeof q2, t->name, (size_t)t->name_len);
        if (!e)
            return st__fail(err, ST_E_SCHEMA, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                            "shard \"%s\": tensor \"%s\" is not in the weight map", q, q2);
        return st__fail(err, ST_E_SCHEMA, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "shard \"%s\": tensor \"%s\" belongs to shard \"%s\" in the weight map",
                        q, q2, st__quote(q3, sizeof q3, m->shards[e->shard].name,
                                         m->shards[e->shard].name_len));
    }
    return ST_OK; /* not reached: counts differ, so some tensor is extra */
}

/* Opens the file behind h (which it owns) for shard qname, with the model's
 * file options; errors are prefixed with the shard. */
static st_status st__open_shard_file(const st_model *m, st__fh h, const char *qname,
                                     st_file **out, st_error *err)
{
    st_status s = st__open_handle(out, h, &m->fopts, err);
    if (s != ST_OK) st__model_prefix(err, "shard \"%s\": ", qname);
    return s;
}

/* ST_E_IO for a shard whose file cannot be opened. */
static st_status st__shard_open_fail(st_error *err, int e, const char *qname, const char *path)
{
    char q[96];
    st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "shard \"%s\": cannot open \"%s\": %s",
             qname, st__quote(q, sizeof q, path, strlen(path)), strerror(e));
    if (err) err->sys_errno = e;
    return ST_E_IO;
}

/* real (a final path) is root or inside it. */
static int st__inside_root(const st_model *m, const char *real)
{
    size_t n = m->root_len;
    if (strncmp(real, m->root, n) != 0) return 0;
    /* a root that ends in a separator ("/", "C:\\") is continued by any name */
    return (n > 0 && ST__OS_IS_SEP(m->root[n - 1])) || ST__OS_IS_SEP(real[n]);
}

/* Opens shard si and checks it against the weight map. Called without the
 * lock: reads only immutable parts of the model. */
static st_status st__load_shard(st_model *m, uint64_t si, st_file **out, st_error *err)
{
    const st__shard *sh = &m->shards[si];
    char path[ST__PATH_MAX], real[ST__PATH_MAX], q[64], q2[96];
    st_file *f = NULL;
    st_status s;
    st__fh h;
    int e;
    *out = NULL;
    st__quote(q, sizeof q, sh->name, sh->name_len);
    if (m->has_storage) {
        s = st__load_shard_storage(m, sh, q, &f, err);
        if (s != ST_OK) return s;
        s = st__check_shard(m, si, f, err);
        if (s != ST_OK) {
            st__model_close_file(m, f);
            return s;
        }
        *out = f;
        return ST_OK;
    }
    if (m->single) {
        e = st__os_open(m->single, 0, &h);
        if (e != 0) return st__shard_open_fail(err, e, q, m->single);
    } else {
        if (!st__model_join(path, m->root, m->root_len, sh->name, sh->name_len))
            return st__fail(err, ST_E_NAME, ST__NO_OFFSET, NULL, 0,
                            "shard \"%s\": path too long", q);
        /* the final path of what was opened: no symlink or junction can be
         * swapped in between the check and the open */
        e = st__os_open_final(path, 0, &h, real);
        if (e != 0) return st__shard_open_fail(err, e, q, path);
        if (!m->follow_symlinks && !st__inside_root(m, real)) {
            st__os_close(h);
            return st__fail(err, ST_E_NAME, ST__NO_OFFSET, NULL, 0,
                            "shard \"%s\" resolves to \"%s\", outside the index's directory "
                            "(symlinks are followed; ST_MODEL_FOLLOW_SYMLINKS allows it)", q,
                            st__quote(q2, sizeof q2, real, strlen(real)));
        }
    }
    s = st__open_shard_file(m, h, q, &f, err);
    if (s != ST_OK) return s;
    s = st__check_shard(m, si, f, err);
    if (s != ST_OK) {
        st_close(f);
        return s;
    }
    *out = f;
    return ST_OK;
}

/* With the lock held: while more shards are open than allowed, closes the
 * least recently used unpinned one (outside the lock). */
static void st__trim(st_model *m)
{
    for (;;) {
        st__shard *victim = NULL;
        st_file *f;
        uint64_t i;
        if (m->nopen <= m->max_open) return;
        for (i = 0; i < m->nshards; i++) {
            st__shard *sh = &m->shards[i];
            if (sh->file && sh->pins == 0 && (!victim || sh->last_use < victim->last_use))
                victim = sh;
        }
        if (!victim) return; /* all pinned or opening: over the limit for now */
        f = victim->file;
        victim->file = NULL;
        m->nopen--;
        st__os_lock_release(m->lock);
        st__model_close_file(m, f);
        st__os_lock_acquire(m->lock);
    }
}

st_status st_model_acquire(st_model *model, uint64_t shard, const st_file **out, st_error *err)
{
    st__shard *sh;
    st_file *f = NULL;
    st_status s;
    if (out) *out = NULL;
    if (!model || !out)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        !model ? "model is NULL" : "out is NULL");
    if (shard >= model->nshards)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "shard %llu is out of range (the model has %llu)",
                        (unsigned long long)shard, (unsigned long long)model->nshards);
    sh = &model->shards[shard];
    st__os_lock_acquire(model->lock);
    for (;;) {
        if (sh->file) {
            if (sh->pins == UINT32_MAX) {
                st__os_lock_release(model->lock);
                return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                                "shard %llu is pinned 2^32-1 times", (unsigned long long)shard);
            }
            sh->pins++;
            sh->last_use = ++model->tick;
            *out = sh->file;
            st__os_lock_release(model->lock);
            st__clear_error(err);
            return ST_OK;
        }
        if (!sh->opening) break;
        st__os_lock_wait(model->lock);
    }
    sh->opening = 1;
    model->nopen++; /* the slot is taken now: make room before opening */
    st__trim(model);
    st__os_lock_release(model->lock);

    s = st__load_shard(model, shard, &f, err);

    st__os_lock_acquire(model->lock);
    sh->opening = 0;
    if (s != ST_OK) {
        model->nopen--;
    } else {
        sh->file = f;
        sh->pins = 1;
        sh->last_use = ++model->tick;
        *out = f;
    }
    st__os_lock_broadcast(model->lock);
    st__trim(model);
    st__os_lock_release(model->lock);
    if (s == ST_OK) st__clear_error(err);
    return s;
}

void st_model_release(st_model *model, uint64_t shard)
{
    st__shard *sh;
    if (!model || shard >= model->nshards) return;
    sh = &model->shards[shard];
    st__os_lock_acquire(model->lock);
    if (sh->file && sh->pins) {
        sh->pins--;
        sh->last_use = ++model->tick;
        st__trim(model);
    }
    st__os_lock_release(model->lock);
}

/* ---------------------------------------------------------------- open / close */

static void st__model_free(st_model *m)
{
    st_allocator a = m->alloc;
    uint64_t i;
    for (i = 0; i < m->nshards; i++) st__model_close_file(m, m->shards[i].file);
    st__hash_free(&m->names, &a);
    st__hash_free(&m->shard_names, &a);
    st__free(&a, m->entries, m->entries_cap * sizeof *m->entries);
    st__free(&a, m->shards, m->shards_cap * sizeof *m->shards);
    st__free(&a, m->meta, m->meta_cap * sizeof *m->meta);
    st__arena_free_all(&m->arena);
    st__free(&a, m->text, m->text_alloc);
    st__cache_close(&m->cache);
    st__os_lock_free(&a, m->lock);
    st__free(&a, m, sizeof *m);
}

/* A single .safetensors file as a model of one shard, kept open. */
static st_status st__open_single(st_model *m, const char *path, st_error *err)
{
    st_file *f = NULL;
    const char *base = path, *p;
    st__shard *sh;
    uint64_t i, n;
    uint32_t dup = 0;
    st_status s;
    st__fh h;
    int oe;
    char q[64];
    for (p = path; *p; p++)
        if (ST__OS_IS_SEP(*p)) base = p + 1;
    m->single = st__model_strdup(&m->arena, path, strlen(path));
    if (!m->single) goto nomem;
    st__quote(q, sizeof q, base, strlen(base));
    oe = st__os_open(path, 0, &h);
    if (oe != 0) return st__shard_open_fail(err, oe, q, path);
    s = st__open_shard_file(m, h, q, &f, err);
    if (s != ST_OK) return s;
    n = st_tensor_count(f);
    m->shards = (st__shard *)st__malloc(&m->alloc, sizeof *m->shards);
    if (!m->shards) goto nomem_f;
    m->shards_cap = 1;
    sh = &m->shards[0];
    memset(sh, 0, sizeof *sh);
    sh->name = st__model_strdup(&m->arena, base, strlen(base));
    if (!sh->name) goto nomem_f;
    sh->name_len = strlen(base);
    m->nshards = 1;
    if (!st__hash_init(&m->shard_names, &m->alloc, 1, 0) ||
        st__hash_insert(&m->shard_names, &m->alloc, &m->key, m, st__model_shard_key, sh->name,
                        sh->name_len, 0, &dup) < 0)
        goto nomem_f;
    if (n) {
        if (n > SIZE_MAX / sizeof *m->entries) goto nomem_f;
        m->entries = (st_model_entry *)st__malloc(&m->alloc, (size_t)n * sizeof *m->entries);
        if (!m->entries) goto nomem_f;
        m->entries_cap = (size_t)n;
    }
    for (i = 0; i < n; i++) {
        /* copied: the names must outlive the shard's handle */
        const st_tensor *t = st_tensor_at(f, i);
        st_model_entry *e = &m->entries[i];
        e->name = st__model_strdup(&m->arena, t->name, (size_t)t->name_len);
        if (!e->name) goto nomem_f;
        e->name_len = t->name_len;
        e->shard = 0;
        e->index = i;
    }
    m->nentries = n;
    s = st__model_finish_entries(m, err);
    if (s != ST_OK) {
        st_close(f);
        return s;
    }
    sh->file = f;
    sh->last_use = ++m->tick;
    m->nopen = 1;
    return ST_OK;
nomem_f:
    st_close(f);
nomem:
    return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
}

static st_status st__open_index(st_model *m, const char *path, uint64_t cap, st_error *err)
{
    char *text = NULL;
    size_t len = 0, alloc_len = 0;
    const char *slash = strrchr(path, '/');
    st_status s = st__set_root(m, path, err);
    if (s != ST_OK) return s;
    s = st__model_read_index(m, path, cap, &text, &len, &alloc_len, err);
    if (s != ST_OK) return s;
    m->text = text; /* the model's from now on: tensor names point into it */
    m->text_alloc = alloc_len;
    return st__model_parse_index(m, len, slash ? slash + 1 : path, err);
}

/* Checks the shard options once, up front, by opening the smallest valid file
 * from memory with them: the same checks st_open_* make, without copying them. */
static st_status st__check_file_options(const st_open_options *fo, st_open_options *copy,
                                        st_error *err)
{
    static const unsigned char smallest[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    st_open_options probe;
    st_file *f = NULL;
    st_status s;
    size_t n;
    memset(copy, 0, sizeof *copy);
    copy->struct_size = (uint32_t)sizeof *copy;
    if (!fo) return ST_OK;
    if (fo->struct_size < ST__FOPT_END(max_header_size))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "file_options: struct_size %u is too small (initialise with "
                        "ST_OPEN_OPTIONS_INIT)", (unsigned)fo->struct_size);
    if (fo->flags & ST_OPEN_CLOSE_FD)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "file_options: ST_OPEN_CLOSE_FD has no meaning for a model");
    n = fo->struct_size < sizeof *copy ? fo->struct_size : sizeof *copy;
    memcpy(copy, fo, n);
    copy->struct_size = (uint32_t)sizeof *copy;
    probe = *copy;
    probe.flags &= ~(uint32_t)ST_OPEN_READ; /* a source option: not for memory */
    s = st_open_memory(&f, smallest, sizeof smallest, &probe, err);
    st_close(f);
    if (s != ST_OK) st__model_prefix(err, "file_options: ");
    return s;
}

/* Options, the model's memory and its lock: what every model open does
 * before reading the index. NULL with *status set on failure. */
static st_model *st__model_new(const st_model_options *opts, uint32_t *flags_out,
                               uint64_t *cap_out, st_status *status, st_error *err)
{
    st_open_options fo;
    const st_open_options *fop = NULL;
    st_allocator alloc = st__default_allocator;
    uint32_t flags = 0, max_open = ST__DEFAULT_OPEN_SHARDS;
    uint64_t cap = ST_DEFAULT_MAX_HEADER_SIZE;
    st_model *m;
    st_status s;
    if (opts) {
        if (opts->struct_size < ST__MOPT_END(max_open_shards)) {
            *status = st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                               "model options struct_size %u is too small (initialise with "
                               "ST_MODEL_OPTIONS_INIT)", (unsigned)opts->struct_size);
            return NULL;
        }
        if (opts->flags & ~(uint32_t)ST__MODEL_KNOWN_FLAGS) {
            *status = st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                               "unknown model option flags 0x%x",
                               (unsigned)(opts->flags & ~(uint32_t)ST__MODEL_KNOWN_FLAGS));
            return NULL;
        }
        flags = opts->flags;
        if (opts->max_open_shards) max_open = opts->max_open_shards;
        if (opts->struct_size >= ST__MOPT_END(file_options)) fop = opts->file_options;
    }
    s = st__check_file_options(fop, &fo, err);
    if (s != ST_OK) {
        *status = s;
        return NULL;
    }
    if (fo.max_header_size) cap = fo.max_header_size;
    if (fo.struct_size >= ST__FOPT_END(allocator) && fo.allocator) alloc = *fo.allocator;

    m = (st_model *)st__malloc(&alloc, sizeof *m);
    if (!m) {
        *status = st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
        return NULL;
    }
    memset(m, 0, sizeof *m);
    m->alloc = alloc;
    m->arena.alloc = &m->alloc;
    m->arena.block_size = 4096;
    m->fopts = fo;
    m->fopts.allocator = &m->shard_alloc;
    m->max_open = max_open;
    m->follow_symlinks = (flags & ST_MODEL_FOLLOW_SYMLINKS) != 0;
    st__random_key(&m->key);
    st__cache_allocator(&m->cache, &m->shard_alloc);
    if (st__cache_init(&m->cache, &m->alloc) != 0 || st__os_lock_new(&m->alloc, &m->lock) != 0) {
        st__model_free(m);
        *status = st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "cannot create a lock");
        return NULL;
    }
    *flags_out = flags;
    *cap_out = cap;
    *status = ST_OK;
    return m;
}

/* After the index: every shard checked now with ST_MODEL_VALIDATE_ALL. Frees
 * the model on failure. */
static st_status st__model_done(st_model **out, st_model *m, uint32_t flags, st_error *err)
{
    if ((flags & ST_MODEL_VALIDATE_ALL) && !m->single) {
        uint64_t i;
        for (i = 0; i < m->nshards; i++) {
            const st_file *f = NULL;
            st_status s = st_model_acquire(m, i, &f, err);
            if (s != ST_OK) {
                st__model_free(m);
                return s;
            }
            st_model_release(m, i);
        }
    }
    st__clear_error(err);
    *out = m;
    return ST_OK;
}

st_status st_model_open(st_model **out, const char *path, const st_model_options *opts,
                        st_error *err)
{
    uint32_t flags = 0;
    uint64_t cap = 0;
    st_model *m = NULL;
    st_status s;
    size_t plen;
    int e, kind;

    if (out) *out = NULL;
    if (!out || !path)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        !out ? "out is NULL" : "path is NULL");
    plen = strlen(path);
    m = st__model_new(opts, &flags, &cap, &s, err);
    if (!m) return s;
    if (plen == 0 || plen >= ST__PATH_MAX) {
        s = st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                     plen ? "path is too long" : "path is empty");
        goto fail;
    }

    e = st__os_path_kind(path, &kind);
    if (e != 0) {
        s = st__model_io_fail(err, e, "cannot open", path);
        goto fail;
    }
    if (kind == ST__OS_DIR) {
        char dir[ST__PATH_MAX], idx[ST__PATH_MAX];
        size_t n = plen;
        /* "dir/" names the same directory */
        while (n > 1 && ST__OS_IS_SEP(path[n - 1])) n--;
        memcpy(dir, path, n);
        dir[n] = '\0';
        s = st__model_find_index(dir, idx, err);
        if (s == ST_OK) s = st__open_index(m, idx, cap, err);
    } else if (st__model_ends_with(path, plen, ".json")) {
        s = st__open_index(m, path, cap, err);
    } else {
        s = st__open_single(m, path, err);
    }
    if (s != ST_OK) goto fail;
    return st__model_done(out, m, flags, err);
fail:
    st__model_free(m);
    return s;
}

st_status st_model_open_storage(st_model **out, const st_model_storage *storage,
                                const char *index_name, const st_model_options *opts,
                                st_error *err)
{
    uint32_t flags = 0;
    uint64_t cap = 0;
    st_model *m = NULL;
    st_status s;
    char *text = NULL;
    size_t len = 0, alloc_len = 0;
    if (out) *out = NULL;
    if (!out || !storage || !index_name)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "%s is NULL",
                        !out ? "out" : !storage ? "storage" : "index_name");
    if (storage->struct_size < sizeof(st_model_storage))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "storage struct_size %u is too small (initialise with "
                        "ST_MODEL_STORAGE_INIT)", (unsigned)storage->struct_size);
    if (storage->flags != 0)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "unknown storage flags 0x%x", (unsigned)storage->flags);
    if (!storage->open_file)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "the storage has no open_file");
    if (!*index_name)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "index_name is empty");
    m = st__model_new(opts, &flags, &cap, &s, err);
    if (!m) return s;
    m->has_storage = 1;
    memcpy(&m->storage, storage, sizeof m->storage);
    m->fopts.flags &= ~(uint32_t)ST_OPEN_READ; /* a source option: readers have none */
    s = st__model_read_index_storage(m, index_name, cap, &text, &len, &alloc_len, err);
    if (s == ST_OK) {
        m->text = text;
        m->text_alloc = alloc_len;
        s = st__model_parse_index(m, len, index_name, err);
    }
    if (s != ST_OK) {
        st__model_free(m);
        return s;
    }
    return st__model_done(out, m, flags, err);
}

void st_model_close(st_model *model)
{
    if (model) st__model_free(model);
}

/* ---------------------------------------------------------------- getters */

uint64_t st_model_tensor_count(const st_model *model)
{
    return model ? model->nentries : 0;
}

uint64_t st_model_shard_count(const st_model *model)
{
    return model ? model->nshards : 0;
}

const char *st_model_shard_name(const st_model *model, uint64_t shard)
{
    if (!model || shard >= model->nshards) return NULL;
    return model->shards[shard].name;
}

const st_model_entry *st_model_entry_at(const st_model *model, uint64_t index)
{
    if (!model || index >= model->nentries) return NULL;
    return &model->entries[index];
}

const st_model_entry *st_model_find_n(const st_model *model, const char *name, size_t name_len)
{
    int64_t i;
    if (!model || (!name && name_len)) return NULL;
    if (!name) name = "";
    i = st__hash_find(&model->names, &model->key, model, st__model_entry_name, name, name_len);
    return i < 0 ? NULL : &model->entries[i];
}

const st_model_entry *st_model_find(const st_model *model, const char *name)
{
    int64_t i;
    if (!model || !name) return NULL;
    i = st__hash_find_str(&model->names, &model->key, model, st__model_entry_name, name,
                          strlen(name));
    return i < 0 ? NULL : &model->entries[i];
}

uint64_t st_model_metadata_count(const st_model *model)
{
    return model ? model->nmeta : 0;
}

const st_metadata_entry *st_model_metadata_at(const st_model *model, uint64_t index)
{
    return model && index < model->nmeta ? &model->meta[index] : NULL;
}

const st_metadata_entry *st_model_metadata_find_n(const st_model *model, const char *key,
                                                  size_t key_len)
{
    uint64_t i;
    if (!model || !key) return NULL;
    /* indexes hold a handful of entries: a scan */
    for (i = 0; i < model->nmeta; i++)
        if (model->meta[i].key_len == key_len && memcmp(model->meta[i].key, key, key_len) == 0)
            return &model->meta[i];
    return NULL;
}

const st_metadata_entry *st_model_metadata_find(const st_model *model, const char *key)
{
    return key ? st_model_metadata_find_n(model, key, strlen(key)) : NULL;
}
