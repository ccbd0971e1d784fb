/* Fuzz target for the writer: the input describes tensors (names as raw bytes,
 * so invalid UTF-8, NUL, "__metadata__" and duplicates all come up; dtypes
 * including invalid numbers; shapes with 0, 1 or huge dimensions) and metadata,
 * plus the layout options. st_write_memory must either refuse with one of the
 * statuses a writer gives for bad specs, or write a file that the reader opens
 * with no leniency switch and that holds exactly what was given: the same
 * names, dtypes, shapes, bytes and metadata, in the reference order or the
 * caller's. Any other outcome aborts. Builds with libFuzzer (make fuzz-write)
 * or with tests/fuzz/replay.c (make fuzz-replay). */
#include <safetensors.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MAX_T 12
#define MAX_M 4
#define MAX_DATA (1u << 16)

typedef struct cursor {
    const unsigned char *p;
    size_t n;
} cursor;

static unsigned take(cursor *c)
{
    unsigned v;
    if (!c->n) return 0;
    v = *c->p++;
    c->n--;
    return v;
}

/* up to max bytes, as many as the next input byte says */
static const char *take_str(cursor *c, size_t max, uint64_t *len)
{
    size_t n = take(c) % (max + 1);
    const char *s = (const char *)c->p;
    if (n > c->n) n = c->n;
    c->p += n;
    c->n -= n;
    *len = n;
    return n ? s : "";
}

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_write: %s\n", why);
    abort();
}

static int refusal(st_status s)
{
    return s == ST_E_NAME || s == ST_E_UTF8 || s == ST_E_DUPLICATE || s == ST_E_DTYPE ||
           s == ST_E_OVERFLOW || s == ST_E_PARTIAL_BYTE || s == ST_E_HEADER_TOO_LARGE ||
           s == ST_E_TOO_BIG;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static unsigned char pattern[MAX_DATA];
    cursor c;
    st_tensor_spec t[MAX_T];
    st_metadata_entry m[MAX_M];
    uint64_t shapes[MAX_T][4], nt, nm, i, total = 0, fsize = 0;
    st_write_options o = ST_WRITE_OPTIONS_INIT;
    unsigned flags;
    int with_meta;
    st_status s;
    st_error e;
    unsigned char *out;
    st_file *f = NULL;

    for (i = 0; i < MAX_DATA; i++) pattern[i] = (unsigned char)(i * 131 + 7);
    c.p = data;
    c.n = size;
    flags = take(&c);
    if (flags & 1) o.flags |= ST_WRITE_KEEP_ORDER;
    o.alignment = (flags & 2) ? 8u << (take(&c) % 10) : 0; /* 8 .. 4096 */
    if (flags & 4) o.max_header_size = 64 + take(&c) * 4;
    nt = take(&c) % (MAX_T + 1);
    for (i = 0; i < nt; i++) {
        uint32_t d;
        uint64_t numel = 1;
        unsigned bits;
        int overflow = 0;
        t[i].name = take_str(&c, 20, &t[i].name_len);
        t[i].dtype = (int)(take(&c) % 25); /* 0 and 23, 24: not dtypes */
        t[i].rank = take(&c) % 5;
        for (d = 0; d < t[i].rank; d++) {
            unsigned v = take(&c);
            /* mostly small; sometimes 2^32 or 2^62 to reach the overflow checks */
            shapes[i][d] = v == 255 ? UINT64_C(1) << 62 : v == 254 ? UINT64_C(1) << 32 : v % 9;
            if (shapes[i][d] && numel > UINT64_MAX / shapes[i][d]) overflow = 1;
            else numel *= shapes[i][d];
        }
        t[i].shape = t[i].rank ? shapes[i] : NULL;
        /* the data: a slice of the pattern. A tensor the writer would accept
         * must fit in it (else the writer would read past it): such inputs are
         * not worth running */
        t[i].data = pattern;
        bits = st_dtype_bits(t[i].dtype);
        if (bits && !overflow && numel <= UINT64_MAX / bits && (numel * bits) % 8 == 0) {
            uint64_t bytes = numel * bits / 8;
            if (bytes > MAX_DATA - total) return 0;
            total += bytes;
        }
    }
    with_meta = take(&c) & 1;
    nm = with_meta ? take(&c) % (MAX_M + 1) : 0;
    for (i = 0; i < nm; i++) {
        m[i].key = take_str(&c, 12, &m[i].key_len);
        m[i].value = take_str(&c, 12, &m[i].value_len);
    }

    s = st_write_memory(NULL, 0, &fsize, t, nt, with_meta ? m : NULL, nm, &o, &e);
    if (s != ST_OK) {
        if (!refusal(s) || e.code != (int)s) fail("an unexpected status from the writer");
        if (fsize != 0) fail("a size on failure");
        return 0;
    }
    if (fsize > SIZE_MAX) fail("a size beyond SIZE_MAX");
    out = (unsigned char *)malloc((size_t)fsize ? (size_t)fsize : 1);
    if (!out) return 0;
    if (st_write_memory(out, fsize, &fsize, t, nt, with_meta ? m : NULL, nm, &o, &e) != ST_OK)
        fail("the second call disagrees with the size query");
    if (st_open_memory(&f, out, fsize, NULL, &e) != ST_OK) {
        fprintf(stderr, "fuzz_write: the reader refuses the writer's file: %s\n", e.message);
        abort();
    }
    if (st_tensor_count(f) != nt) fail("tensor count");
    if (o.alignment && st_file_data_offset(f) % o.alignment) fail("alignment");
    for (i = 0; i < nt; i++) {
        const st_tensor *x = st_tensor_find_n(f, t[i].name, (size_t)t[i].name_len);
        uint32_t d;
        if (!x) fail("a tensor is missing");
        if ((int)x->dtype != t[i].dtype || x->rank != t[i].rank) fail("dtype or rank");
        for (d = 0; d < x->rank; d++)
            if (x->shape[d] != t[i].shape[d]) fail("shape");
        if (x->nbytes && memcmp(x->data, pattern, (size_t)x->nbytes) != 0) fail("bytes");
        if ((o.flags & ST_WRITE_KEEP_ORDER) && x->index != i) fail("the caller's order");
        if (!(o.flags & ST_WRITE_KEEP_ORDER) && x->index > 0) {
            /* the reference order: dtype rank descending, then name bytes */
            const st_tensor *prev = st_tensor_at(f, x->index - 1);
            if (prev->dtype == x->dtype) {
                uint64_t n = prev->name_len < x->name_len ? prev->name_len : x->name_len;
                int cmp = n ? memcmp(prev->name, x->name, (size_t)n) : 0;
                if (cmp > 0 || (cmp == 0 && prev->name_len > x->name_len)) fail("name order");
            }
        }
    }
    if (!with_meta && st_metadata_state_of(f) != ST_METADATA_ABSENT) fail("metadata appeared");
    if (with_meta && st_metadata_count(f) != nm) fail("metadata count");
    for (i = 0; i < nm; i++) {
        const st_metadata_entry *x = st_metadata_at(f, i);
        if (!x || x->key_len != m[i].key_len || x->value_len != m[i].value_len ||
            (m[i].key_len && memcmp(x->key, m[i].key, (size_t)m[i].key_len)) ||
            (m[i].value_len && memcmp(x->value, m[i].value, (size_t)m[i].value_len)))
            fail("metadata entry, in the order given");
    }
    st_close(f);
    free(out);
    return 0;
}
