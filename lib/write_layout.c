/* Writing, the steps before any byte is written: every rule of FORMAT.md that
 * a writer can break is checked on the caller's specs; the tensors are put in
 * the reference's order (or kept in the caller's); offsets are laid out back to
 * back; the header is built as the reference serializer builds it (compact
 * JSON, "__metadata__" first, fields dtype, shape, data_offsets, only '"', '\\'
 * and control characters escaped) and padded with spaces (FORMAT.md section 7). */
#include "write.h"

#include <stdio.h>
#include <string.h>

/* Position of each dtype in the reference's dtype enum (FORMAT.md section 7),
 * by st_dtype number: the reference sorts by it, descending. */
static const unsigned char st__ref_rank[ST_DTYPE_COUNT_] = {
    0,
    /* BOOL */ 0, /* U8 */ 4, /* I8 */ 5, /* F8_E5M2 */ 6, /* F8_E4M3 */ 7,
    /* F8_E8M0 */ 8, /* F8_E4M3FNUZ */ 9, /* F8_E5M2FNUZ */ 10, /* F4 */ 1,
    /* F6_E2M3 */ 2, /* F6_E3M2 */ 3, /* I16 */ 11, /* U16 */ 12, /* F16 */ 13,
    /* BF16 */ 14, /* I32 */ 15, /* U32 */ 16, /* F32 */ 17, /* C64 */ 18,
    /* F64 */ 19, /* I64 */ 20, /* U64 */ 21,
};

static int st__bytes_cmp(const char *a, uint64_t an, const char *b, uint64_t bn)
{
    uint64_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, (size_t)n) : 0;
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

/* Sort orders: by name (duplicates become neighbours), by the reference's
 * order (dtype rank descending, then name), by metadata key. */
enum { ST__BY_NAME, ST__BY_REF, ST__BY_KEY };

typedef struct st__sort_ctx {
    const st_tensor_spec *t;
    const st_metadata_entry *m;
    int how;
} st__sort_ctx;

static int st__less(const st__sort_ctx *c, uint32_t x, uint32_t y)
{
    if (c->how == ST__BY_KEY)
        return st__bytes_cmp(c->m[x].key, c->m[x].key_len, c->m[y].key, c->m[y].key_len) < 0;
    if (c->how == ST__BY_REF && c->t[x].dtype != c->t[y].dtype)
        return st__ref_rank[c->t[x].dtype] > st__ref_rank[c->t[y].dtype];
    return st__bytes_cmp(c->t[x].name, c->t[x].name_len, c->t[y].name, c->t[y].name_len) < 0;
}

void st__msort_u32(uint32_t *v, uint32_t *tmp, size_t n,
                   int (*less)(const void *ctx, uint32_t x, uint32_t y), const void *ctx)
{
    size_t width, i;
    uint32_t *src = v, *dst = tmp, *sw;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t lo = i, mid = i + width < n ? i + width : n;
            size_t hi = i + 2 * width < n ? i + 2 * width : n, a = lo, b = mid, k = lo;
            while (a < mid && b < hi) dst[k++] = less(ctx, src[b], src[a]) ? src[b++] : src[a++];
            while (a < mid) dst[k++] = src[a++];
            while (b < hi) dst[k++] = src[b++];
        }
        sw = src; src = dst; dst = sw;
    }
    if (src != v) memcpy(v, src, n * sizeof *v);
}

static int st__less_cb(const void *c, uint32_t x, uint32_t y)
{
    return st__less((const st__sort_ctx *)c, x, y);
}

static void st__sort(const st__sort_ctx *c, uint32_t *v, uint32_t *tmp, size_t n)
{
    st__msort_u32(v, tmp, n, st__less_cb, c);
}

/* ---------------------------------------------------------------- JSON */

/* Bytes of s[0..n) as a JSON string body, escaped as serde_json does. */
static uint64_t st__esc_len(const char *s, uint64_t n)
{
    uint64_t i, len = 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' ||
            ch == '\t')
            len += 2;
        else if (ch < 0x20)
            len += 6;
        else
            len += 1;
    }
    return len;
}

static unsigned char *st__esc(unsigned char *p, const char *s, uint64_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char e = 0;
        switch (ch) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '\b': e = 'b'; break;
        case '\f': e = 'f'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        case '\t': e = 't'; break;
        default: break;
        }
        if (e) {
            *p++ = '\\';
            *p++ = (unsigned char)e;
        } else if (ch < 0x20) {
            /* bytes of the header, not a C string */
            memcpy(p, "\\u00", 4); /* NOLINT(bugprone-not-null-terminated-result) */
            p[4] = (unsigned char)hex[ch >> 4];
            p[5] = (unsigned char)hex[ch & 15];
            p += 6;
        } else {
            *p++ = ch;
        }
    }
    return p;
}

static size_t st__u64_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static unsigned char *st__u64(unsigned char *p, uint64_t v)
{
    size_t n = st__u64_len(v), i;
    for (i = n; i > 0; i--) {
        p[i - 1] = (unsigned char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

static unsigned char *st__lit(unsigned char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n); /* NOLINT(bugprone-not-null-terminated-result): header bytes */
    return p + n;
}

/* The fixed parts of a tensor's entry, after its name. */
#define ST__W_DTYPE "\":{\"dtype\":\""
#define ST__W_SHAPE "\",\"shape\":["
#define ST__W_OFFSETS "],\"data_offsets\":["
#define ST__W_END "]}"

/* ---------------------------------------------------------------- checks */

static st_status st__check_spec(const st_tensor_spec *t, uint64_t i, int need_data,
                                uint64_t *nbytes, st_error *err)
{
    uint64_t numel = 1, bits;
    unsigned dbits;
    uint32_t d;
    size_t bad;
    char q[64];
    const char *nm = t->name ? t->name : "";
    size_t nl = (size_t)t->name_len;
    if (!t->name && t->name_len)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "tensor %llu: name is NULL but name_len is %llu", (unsigned long long)i,
                        (unsigned long long)t->name_len);
    if (t->name_len > (uint64_t)SIZE_MAX)
        return st__fail(err, ST_E_TOO_BIG, ST__NO_OFFSET, NULL, 0, "tensor %llu: name too long",
                        (unsigned long long)i);
    if (memchr(nm, '\0', nl))
        return st__fail(err, ST_E_NAME, ST__NO_OFFSET, nm, nl,
                        "tensor name \"%s\" contains a NUL character (rule 6: readers refuse it)",
                        st__quote(q, sizeof q, nm, nl));
    if (!st__utf8_valid((const unsigned char *)nm, nl, &bad))
        return st__fail(err, ST_E_UTF8, ST__NO_OFFSET, nm, nl,
                        "tensor name \"%s\" is not valid UTF-8 at byte %zu (rule 4)",
                        st__quote(q, sizeof q, nm, nl), bad);
    if (nl == 12 && memcmp(nm, "__metadata__", 12) == 0)
        return st__fail(err, ST_E_NAME, ST__NO_OFFSET, nm, nl,
                        "\"__metadata__\" is the metadata key, not a tensor name");
    dbits = st_dtype_bits(t->dtype);
    if (dbits == 0)
        return st__fail(err, ST_E_DTYPE, ST__NO_OFFSET, nm, nl,
                        "tensor \"%s\": dtype %d is not one of the format's dtypes",
                        st__quote(q, sizeof q, nm, nl), t->dtype);
    if (t->rank && !t->shape)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, nm, nl,
                        "tensor \"%s\": shape is NULL but rank is %u",
                        st__quote(q, sizeof q, nm, nl), (unsigned)t->rank);
    for (d = 0; d < t->rank; d++) {
        if (t->shape[d] && numel > UINT64_MAX / t->shape[d])
            return st__fail(err, ST_E_OVERFLOW, ST__NO_OFFSET, nm, nl,
                            "tensor \"%s\": the element count overflows 64 bits at dimension "
                            "%u (rule 8)", st__quote(q, sizeof q, nm, nl), (unsigned)d);
        numel *= t->shape[d];
    }
    if (numel > UINT64_MAX / dbits)
        return st__fail(err, ST_E_OVERFLOW, ST__NO_OFFSET, nm, nl,
                        "tensor \"%s\": %llu elements of %u bits overflow 64 bits (rule 8)",
                        st__quote(q, sizeof q, nm, nl), (unsigned long long)numel, dbits);
    bits = numel * dbits;
    if (bits % 8)
        return st__fail(err, ST_E_PARTIAL_BYTE, ST__NO_OFFSET, nm, nl,
                        "tensor \"%s\": %llu elements of %s are %llu bits, not a whole number of "
                        "bytes (rule 8)", st__quote(q, sizeof q, nm, nl),
                        (unsigned long long)numel, st_dtype_name(t->dtype),
                        (unsigned long long)bits);
    *nbytes = bits / 8;
    if (need_data && *nbytes && !t->data)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, nm, nl,
                        "tensor \"%s\": data is NULL for %llu bytes",
                        st__quote(q, sizeof q, nm, nl), (unsigned long long)*nbytes);
    return ST_OK;
}

static st_status st__check_meta(const st_metadata_entry *m, uint64_t i, st_error *err)
{
    size_t bad;
    char q[64];
    if ((!m->key && m->key_len) || (!m->value && m->value_len))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "metadata entry %llu: %s is NULL but its length is not 0",
                        (unsigned long long)i, !m->key && m->key_len ? "key" : "value");
    if (m->key_len > (uint64_t)SIZE_MAX || m->value_len > (uint64_t)SIZE_MAX)
        return st__fail(err, ST_E_TOO_BIG, ST__NO_OFFSET, NULL, 0,
                        "metadata entry %llu is too long", (unsigned long long)i);
    if (m->key_len && !st__utf8_valid((const unsigned char *)m->key, (size_t)m->key_len, &bad))
        return st__fail(err, ST_E_UTF8, ST__NO_OFFSET, NULL, 0,
                        "metadata key \"%s\" is not valid UTF-8 at byte %zu (rule 4)",
                        st__quote(q, sizeof q, m->key, (size_t)m->key_len), bad);
    if (m->value_len && !st__utf8_valid((const unsigned char *)m->value, (size_t)m->value_len, &bad))
        return st__fail(err, ST_E_UTF8, ST__NO_OFFSET, NULL, 0,
                        "metadata value of \"%s\" is not valid UTF-8 at byte %zu (rule 4)",
                        st__quote(q, sizeof q, m->key ? m->key : "", (size_t)m->key_len), bad);
    return ST_OK;
}

/* ---------------------------------------------------------------- layout */

void st__wlayout_free(st__wlayout *L)
{
    const st_allocator *a = L->alloc;
    if (!a) return;
    st__free(a, L->order, (size_t)L->count * sizeof *L->order);
    st__free(a, L->begin, (size_t)L->count * sizeof *L->begin);
    st__free(a, L->nbytes, (size_t)L->count * sizeof *L->nbytes);
    st__free(a, L->head, L->head_len);
    memset(L, 0, sizeof *L);
}

/* Adds n to *acc; 0 on overflow. */
static int st__add(uint64_t *acc, uint64_t n)
{
    if (*acc > UINT64_MAX - n) return 0;
    *acc += n;
    return 1;
}

st_status st__wlayout_build(st__wlayout *L, const st_allocator *a, const st_tensor_spec *t,
                            uint64_t count, const st_metadata_entry *meta, uint64_t nmeta,
                            uint32_t flags, uint32_t alignment, uint64_t cap, int need_data,
                            st_error *err)
{
    st__sort_ctx c;
    uint32_t *tmp = NULL, *keys = NULL;
    uint64_t i, len, off, pad, total;
    unsigned char *p;
    st_status s = ST_OK;
    char q[64];

    memset(L, 0, sizeof *L);
    if (!t && count)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "tensors is NULL but count is %llu", (unsigned long long)count);
    if (!meta && nmeta)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "metadata is NULL but nmeta is %llu", (unsigned long long)nmeta);
    if (count >= UINT32_MAX || nmeta >= UINT32_MAX ||
        count > (uint64_t)(SIZE_MAX / sizeof(uint64_t)) ||
        nmeta > (uint64_t)(SIZE_MAX / sizeof(uint32_t)))
        return st__fail(err, ST_E_TOO_BIG, ST__NO_OFFSET, NULL, 0,
                        "%llu tensors and %llu metadata entries are more than a header holds",
                        (unsigned long long)count, (unsigned long long)nmeta);
    L->alloc = a;
    L->count = count;
    if (count) {
        L->order = (uint32_t *)st__malloc(a, (size_t)count * sizeof *L->order);
        L->begin = (uint64_t *)st__malloc(a, (size_t)count * sizeof *L->begin);
        L->nbytes = (uint64_t *)st__malloc(a, (size_t)count * sizeof *L->nbytes);
        tmp = (uint32_t *)st__malloc(a, (size_t)count * sizeof *tmp);
        if (!L->order || !L->begin || !L->nbytes || !tmp) goto nomem;
    }
    for (i = 0; i < count; i++) {
        s = st__check_spec(&t[i], i, need_data, &L->nbytes[i], err);
        if (s != ST_OK) goto fail;
        L->order[i] = (uint32_t)i;
    }
    for (i = 0; i < nmeta; i++) {
        s = st__check_meta(&meta[i], i, err);
        if (s != ST_OK) goto fail;
    }

    /* duplicates: neighbours once sorted by name */
    c.t = t;
    c.m = meta;
    c.how = ST__BY_NAME;
    st__sort(&c, L->order, tmp, (size_t)count);
    for (i = 1; i < count; i++) {
        const st_tensor_spec *x = &t[L->order[i]], *y = &t[L->order[i - 1]];
        if (st__bytes_cmp(x->name, x->name_len, y->name, y->name_len) == 0) {
            s = st__fail(err, ST_E_DUPLICATE, ST__NO_OFFSET, x->name, (size_t)x->name_len,
                         "tensor name \"%s\" is given twice (tensors %u and %u)",
                         st__quote(q, sizeof q, x->name, (size_t)x->name_len),
                         (unsigned)(L->order[i - 1] < L->order[i] ? L->order[i - 1] : L->order[i]),
                         (unsigned)(L->order[i - 1] < L->order[i] ? L->order[i] : L->order[i - 1]));
            goto fail;
        }
    }
    if (nmeta > 1) {
        keys = (uint32_t *)st__malloc(a, (size_t)nmeta * 2 * sizeof *keys);
        if (!keys) goto nomem;
        for (i = 0; i < nmeta; i++) keys[i] = (uint32_t)i;
        c.how = ST__BY_KEY;
        st__sort(&c, keys, keys + nmeta, (size_t)nmeta);
        for (i = 1; i < nmeta; i++) {
            const st_metadata_entry *x = &meta[keys[i]], *y = &meta[keys[i - 1]];
            if (st__bytes_cmp(x->key, x->key_len, y->key, y->key_len) == 0) {
                s = st__fail(err, ST_E_DUPLICATE, ST__NO_OFFSET, NULL, 0,
                             "metadata key \"%s\" is given twice",
                             st__quote(q, sizeof q, x->key ? x->key : "", (size_t)x->key_len));
                goto fail;
            }
        }
        st__free(a, keys, (size_t)nmeta * 2 * sizeof *keys);
        keys = NULL;
    }

    /* the order of the file */
    if (flags & ST_WRITE_KEEP_ORDER) {
        for (i = 0; i < count; i++) L->order[i] = (uint32_t)i;
    } else {
        c.how = ST__BY_REF;
        st__sort(&c, L->order, tmp, (size_t)count);
    }
    st__free(a, tmp, (size_t)count * sizeof *tmp);
    tmp = NULL;
    off = 0;
    for (i = 0; i < count; i++) {
        uint32_t k = L->order[i];
        L->begin[k] = off;
        if (!st__add(&off, L->nbytes[k])) {
            s = st__fail(err, ST_E_OVERFLOW, ST__NO_OFFSET, t[k].name, (size_t)t[k].name_len,
                         "the data section overflows 64 bits at tensor \"%s\"",
                         st__quote(q, sizeof q, t[k].name, (size_t)t[k].name_len));
            goto fail;
        }
    }
    L->data_size = off;

    /* the header's length, then its bytes */
    len = 2; /* {} */
    if (meta) {
        len += 17; /* "__metadata__":{} */
        for (i = 0; i < nmeta; i++)
            len += st__esc_len(meta[i].key, meta[i].key_len) +
                   st__esc_len(meta[i].value, meta[i].value_len) + 5 + (i > 0);
        if (count) len++; /* , */
    }
    for (i = 0; i < count; i++) {
        uint32_t k = L->order[i], d;
        /* "NAME":{"dtype":"DT","shape":[...],"data_offsets":[B,E]} */
        len += (i > 0) + 1 + st__esc_len(t[k].name, t[k].name_len) + strlen(ST__W_DTYPE) +
               strlen(st_dtype_name(t[k].dtype)) + strlen(ST__W_SHAPE) + strlen(ST__W_OFFSETS) +
               st__u64_len(L->begin[k]) + 1 + st__u64_len(L->begin[k] + L->nbytes[k]) +
               strlen(ST__W_END);
        for (d = 0; d < t[k].rank; d++) len += st__u64_len(t[k].shape[d]) + (d > 0);
        if (len > cap) break; /* too large anyway: stop counting */
    }
    pad = (alignment - (8 + len) % alignment) % alignment;
    total = len + pad;
    if (len > cap || total > cap) {
        s = st__fail(err, ST_E_HEADER_TOO_LARGE, 0, NULL, 0,
                     "the header would be %s%llu bytes%s, above the cap of %llu "
                     "(max_header_size)", len > cap ? "over " : "",
                     (unsigned long long)(len > cap ? cap : total),
                     len <= cap && pad ? " with its padding" : "", (unsigned long long)cap);
        goto fail;
    }
    if (8 + total > (uint64_t)SIZE_MAX) {
        s = st__fail(err, ST_E_TOO_BIG, ST__NO_OFFSET, NULL, 0,
                     "a header of %llu bytes is larger than this process can hold",
                     (unsigned long long)total);
        goto fail;
    }
    if (8 + total > UINT64_MAX - L->data_size) {
        s = st__fail(err, ST_E_OVERFLOW, ST__NO_OFFSET, NULL, 0, "the file size overflows 64 bits");
        goto fail;
    }
    L->head_len = (size_t)(8 + total);
    L->head = (unsigned char *)st__malloc(a, L->head_len);
    if (!L->head) goto nomem;
    for (i = 0; i < 8; i++) L->head[i] = (unsigned char)(total >> (8 * i));
    p = L->head + 8;
    *p++ = '{';
    if (meta) {
        p = st__lit(p, "\"__metadata__\":{");
        for (i = 0; i < nmeta; i++) {
            if (i) *p++ = ',';
            *p++ = '"';
            p = st__esc(p, meta[i].key, meta[i].key_len);
            p = st__lit(p, "\":\"");
            p = st__esc(p, meta[i].value, meta[i].value_len);
            *p++ = '"';
        }
        *p++ = '}';
        if (count) *p++ = ',';
    }
    for (i = 0; i < count; i++) {
        uint32_t k = L->order[i], d;
        if (i) *p++ = ',';
        *p++ = '"';
        p = st__esc(p, t[k].name, t[k].name_len);
        p = st__lit(p, ST__W_DTYPE);
        p = st__lit(p, st_dtype_name(t[k].dtype));
        p = st__lit(p, ST__W_SHAPE);
        for (d = 0; d < t[k].rank; d++) {
            if (d) *p++ = ',';
            p = st__u64(p, t[k].shape[d]);
        }
        p = st__lit(p, ST__W_OFFSETS);
        p = st__u64(p, L->begin[k]);
        *p++ = ',';
        p = st__u64(p, L->begin[k] + L->nbytes[k]);
        p = st__lit(p, ST__W_END);
    }
    *p++ = '}';
    memset(p, ' ', (size_t)pad);
    return ST_OK;

nomem:
    st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory laying out %llu tensors",
             (unsigned long long)count);
    s = ST_E_NOMEM;
fail:
    st__free(a, tmp, (size_t)count * sizeof *tmp);
    if (keys) st__free(a, keys, (size_t)nmeta * 2 * sizeof *keys);
    st__wlayout_free(L);
    return s;
}
