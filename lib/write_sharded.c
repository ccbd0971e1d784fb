/* Writing a sharded model: the tensors split greedily into shards of a
 * maximum data size, every shard written and flushed under a temporary name,
 * then renamed into place, then the index (written as transformers writes
 * it: json.dumps(index, indent=2, sort_keys=True) + "\n"). */
#include "write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Bytes of s[0..n) as Python's json.dumps writes a string body with
 * ensure_ascii: '"', '\\' and \b \f \n \r \t escaped, other control
 * characters, DEL and everything outside ASCII as \uXXXX (UTF-16 pairs above
 * U+FFFF). s is valid UTF-8 (checked by the layout). out NULL: count only. */
static size_t st__ascii_json(char *out, const char *s, uint64_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    uint64_t i = 0;
    size_t len = 0;
    while (i < n) {
        uint32_t c = p[i];
        unsigned k, units;
        uint32_t u[2];
        if (c < 0x80) {
            i++;
            if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
                c == '\t') {
                if (out) {
                    out[len] = '\\';
                    out[len + 1] = (char)(c == '"' ? '"' : c == '\\' ? '\\' : c == '\b' ? 'b' :
                                          c == '\f' ? 'f' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
                }
                len += 2;
                continue;
            }
            if (c >= 0x20 && c != 0x7f) { /* json.dumps escapes all but ' '..'~' */
                if (out) out[len] = (char)c;
                len++;
                continue;
            }
            u[0] = c;
            units = 1;
        } else {
            unsigned extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
            c &= extra == 3 ? 0x07 : extra == 2 ? 0x0F : 0x1F;
            for (k = 1; k <= extra; k++) c = (c << 6) | (p[i + k] & 0x3F);
            i += extra + 1;
            if (c >= 0x10000) {
                c -= 0x10000;
                u[0] = 0xD800 | (c >> 10);
                u[1] = 0xDC00 | (c & 0x3FF);
                units = 2;
            } else {
                u[0] = c;
                units = 1;
            }
        }
        for (k = 0; k < units; k++) {
            if (out) {
                out[len] = '\\';
                out[len + 1] = 'u';
                out[len + 2] = hex[(u[k] >> 12) & 15];
                out[len + 3] = hex[(u[k] >> 8) & 15];
                out[len + 4] = hex[(u[k] >> 4) & 15];
                out[len + 5] = hex[u[k] & 15];
            }
            len += 6;
        }
    }
    return len;
}

typedef struct st__shardset {
    const st_allocator *a;
    uint64_t n;           /* shards */
    uint32_t *shard_of;   /* per tensor */
    st_writer **w;        /* per shard, while being written */
    st_tensor_spec *sub;  /* scratch: one shard's specs */
    uint32_t *by_name;    /* tensors sorted by name, for the index */
} st__shardset;

static int st__name_less(const void *ctx, uint32_t x, uint32_t y)
{
    const st_tensor_spec *t = (const st_tensor_spec *)ctx;
    uint64_t n = t[x].name_len < t[y].name_len ? t[x].name_len : t[y].name_len;
    int c = n ? memcmp(t[x].name, t[y].name, (size_t)n) : 0;
    return c < 0 || (c == 0 && t[x].name_len < t[y].name_len);
}

static void st__shardset_free(st__shardset *S, uint64_t count)
{
    uint64_t k;
    if (S->w) {
        for (k = 0; k < S->n; k++)
            if (S->w[k]) {
                st__writer_discard(S->w[k]);
                st__writer_free(S->w[k]);
            }
        st__free(S->a, S->w, (size_t)S->n * sizeof(void *));
    }
    if (!count) count = 1; /* the sizes they were allocated with */
    st__free(S->a, S->shard_of, (size_t)count * sizeof *S->shard_of);
    st__free(S->a, S->sub, (size_t)count * sizeof *S->sub);
    st__free(S->a, S->by_name, (size_t)count * 2 * sizeof *S->by_name);
}

static void st__shard_name(char *out, size_t cap, const char *prefix, uint64_t k, uint64_t n)
{
    if (n == 1) (void)snprintf(out, cap, "%s.safetensors", prefix);
    else (void)snprintf(out, cap, "%s-%05llu-of-%05llu.safetensors", prefix, (unsigned long long)k + 1,
                  (unsigned long long)n);
}

/* Appends n bytes of src at out + *at (out NULL: counts only). */
static void st__put(char *out, size_t *at, const char *src, size_t n)
{
    if (out) memcpy(out + *at, src, n);
    *at += n;
}

/* The index text into out (NULL: counts only); its length. */
static size_t st__index_emit(char *out, const st__shardset *S, const st_tensor_spec *t,
                             uint64_t count, const char *prefix, uint64_t total)
{
    char head[128], name[ST__PATH_MAX];
    size_t at = 0, i;
    int hl = snprintf(head, sizeof head, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n"
                      "  \"weight_map\": {", (unsigned long long)total);
    st__put(out, &at, head, (size_t)hl);
    for (i = 0; i < count; i++) {
        uint32_t k = S->by_name[i];
        st__put(out, &at, "\n    \"", 6);
        at += st__ascii_json(out ? out + at : NULL, t[k].name, t[k].name_len);
        st__put(out, &at, "\": \"", 4);
        st__shard_name(name, sizeof name, prefix, S->shard_of[k], S->n);
        st__put(out, &at, name, strlen(name));
        st__put(out, &at, i + 1 < count ? "\"," : "\"", i + 1 < count ? 2 : 1);
    }
    if (count) st__put(out, &at, "\n  ", 3);
    st__put(out, &at, "}\n}\n", 4);
    return at;
}

/* Writes text to path atomically (temporary file, flush, rename). */
static st_status st__write_text(const char *path, const char *text, size_t len, int sync,
                                st_error *err)
{
    char tmp[ST__PATH_MAX];
    st__fh h;
    int e = st__create_temp(path, &h, tmp);
    char q[96];
    if (e == 0) {
        e = st__os_pwrite(h, text, len, 0);
        if (e == 0 && sync) e = st__os_sync(h);
        st__os_close(h);
        if (e == 0) e = st__os_rename(tmp, path);
        if (e != 0) (void)st__os_remove(tmp);
    }
    if (e != 0) {
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "writing the index \"%s\" failed: %s",
                 st__quote(q, sizeof q, path, strlen(path)), strerror(e));
        if (err) err->sys_errno = e;
        return ST_E_IO;
    }
    return ST_OK;
}

st_status st_write_sharded(const char *dir, const char *prefix, uint64_t max_shard_bytes,
                           const st_tensor_spec *tensors, uint64_t count,
                           const st_metadata_entry *metadata, uint64_t nmeta,
                           const st_write_options *opts, uint64_t *nshards, st_error *err)
{
    st__shardset S;
    st__wlayout L;
    st_allocator alloc = st__default_allocator;
    st_status s;
    uint64_t i, k, used = 0, total;
    size_t plen, dlen;
    /* names are at most plen + 35 bytes: path has room for dir, '/' and one */
    char path[ST__PATH_MAX + 64], name[ST__PATH_MAX], q[96];
    uint64_t n_out;
    char *text = NULL;
    size_t text_len = 0;
    int sync = !(opts && opts->struct_size >= sizeof *opts && (opts->flags & ST_WRITE_NO_SYNC));

    if (nshards) *nshards = 0;
    memset(&S, 0, sizeof S);
    if (!dir)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "dir is NULL");
    if (!prefix) prefix = "model";
    plen = strlen(prefix);
    dlen = strlen(dir);
    if (plen == 0 || strcmp(prefix, ".") == 0 || strcmp(prefix, "..") == 0 ||
        strpbrk(prefix, "/\\:") != NULL)
        return st__fail(err, ST_E_NAME, ST__NO_OFFSET, NULL, 0,
                        "prefix \"%s\" is not a plain file name",
                        st__quote(q, sizeof q, prefix, plen));
    if (dlen + plen + 64 >= ST__PATH_MAX)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "path too long");
    if (opts && opts->struct_size >= sizeof *opts && opts->allocator) alloc = *opts->allocator;
    /* every rule checked over all the tensors at once (duplicates across
     * shards too), before anything is written */
    s = st__wlayout_build(&L, &alloc, tensors, count, metadata, nmeta, 0, 8,
                          ST_MAX_HEADER_SIZE_LIMIT, 1, err);
    if (s != ST_OK) return s;
    S.a = &alloc;
    S.shard_of = (uint32_t *)st__malloc(&alloc, (size_t)(count ? count : 1) * sizeof *S.shard_of);
    S.sub = (st_tensor_spec *)st__malloc(&alloc, (size_t)(count ? count : 1) * sizeof *S.sub);
    S.by_name = (uint32_t *)st__malloc(&alloc, (size_t)(count ? count : 1) * 2 * sizeof *S.by_name);
    if (!S.shard_of || !S.sub || !S.by_name) {
        st__wlayout_free(&L);
        goto nomem;
    }
    /* greedy, in the caller's order: a tensor that would overflow a
     * non-empty shard starts the next one */
    S.n = 1;
    for (i = 0; i < count; i++) {
        uint64_t nb = L.nbytes[i];
        if (max_shard_bytes && used > 0 && (nb > max_shard_bytes || used > max_shard_bytes - nb)) {
            S.n++;
            used = 0;
        }
        S.shard_of[i] = (uint32_t)(S.n - 1);
        used += nb;
    }
    total = L.data_size;
    st__wlayout_free(&L);
    if (S.n > 99999) {
        st__shardset_free(&S, count);
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "%llu shards: more than five digits can number",
                        (unsigned long long)S.n);
    }
    /* an array of pointers: sizeof(void *) each */
    S.w = (st_writer **)st__malloc(&alloc, (size_t)S.n * sizeof(void *));
    if (!S.w) goto nomem;
    for (k = 0; k < S.n; k++) S.w[k] = NULL;
    /* every shard whole and flushed under its temporary name */
    for (k = 0; k < S.n; k++) {
        uint64_t m = 0;
        for (i = 0; i < count; i++)
            if (S.shard_of[i] == k) S.sub[m++] = tensors[i];
        st__shard_name(name, sizeof name, prefix, k, S.n);
        (void)snprintf(path, sizeof path, "%s/%s", dir, name);
        s = st__writer_new(&S.w[k], path, -1, S.sub, m, metadata, nmeta, opts, 0, err);
        if (s == ST_OK) s = st__write_all(S.w[k], S.sub, err);
        if (s == ST_OK) s = st__writer_seal(S.w[k], err);
        if (s != ST_OK) goto fail;
    }
    /* the index text too, so that nothing is allocated once renaming starts */
    if (S.n > 1) {
        for (i = 0; i < count; i++) S.by_name[i] = (uint32_t)i;
        st__msort_u32(S.by_name, S.by_name + count, (size_t)count, st__name_less, tensors);
        text_len = st__index_emit(NULL, &S, tensors, count, prefix, total);
        text = (char *)st__malloc(&alloc, text_len + 1);
        if (!text) goto nomem;
        (void)st__index_emit(text, &S, tensors, count, prefix, total);
    }
    /* into place, then the index: from here a failure leaves the shards
     * renamed so far in place (said in the message) */
    for (k = 0; k < S.n; k++) {
        s = st__writer_rename(S.w[k], err);
        if (s != ST_OK) {
            char m[64];
            (void)snprintf(m, sizeof m, " (%llu of %llu shards were in place)", (unsigned long long)k,
                     (unsigned long long)S.n);
            st__append(err, m);
            goto fail;
        }
    }
    if (S.n > 1) {
        (void)snprintf(path, sizeof path, "%s/%s.safetensors.index.json", dir, prefix);
        s = st__write_text(path, text, text_len, sync, err);
        if (s != ST_OK) goto fail;
    }
    s = st__writer_sync_dir(S.w[0], err);
    n_out = S.n;
    st__free(&alloc, text, text_len + 1);
    st__shardset_free(&S, count);
    if (s != ST_OK) return s;
    if (nshards) *nshards = n_out;
    st__clear_error(err);
    return ST_OK;
nomem:
    st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    s = ST_E_NOMEM;
fail:
    if (text) st__free(&alloc, text, text_len + 1);
    st__shardset_free(&S, count);
    return s;
}
