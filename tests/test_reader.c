/* Opening through a caller's reader (st_open_reader) and from the header only
 * (st_open_header): the same validation as st_open_memory, two reads to list
 * a file and none of its data, data on demand, ST_E_NO_DATA wherever a data
 * pointer would be needed, reader faults (a failure at the Nth call, an error
 * code, a short read), a slow reader from several threads (serialized unless
 * it says it is thread-safe), and a failing-allocator sweep. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <safetensors.h>
#include "reader.h"
#include "stt.h"

static void expect_status(const char *what, st_status got, const st_error *e, st_status want)
{
    if (got != want || (e && e->code != (int)got)) {
        print_error("%s: want %s, got %s (err.code %s): %s\n", what, st_status_name(want),
                    st_status_name(got), e ? st_status_name(e->code) : "-",
                    e ? e->message : "");
        fail();
    }
}

static const char SAMPLE[] =
    "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]},"
    "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
    "\"e\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[28,28]},"
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[28,40]}}";

static unsigned char *sample(size_t *n)
{
    return stt_build_str(SAMPLE, 40, n);
}

/* The listing of two handles is the same: names, shapes, offsets, metadata. */
static void same_listing(const st_file *a, const st_file *b)
{
    uint64_t i, d;
    assert_int_equal(st_tensor_count(a), st_tensor_count(b));
    assert_int_equal(st_file_size(a), st_file_size(b));
    assert_int_equal(st_file_header_size(a), st_file_header_size(b));
    assert_int_equal(st_file_data_offset(a), st_file_data_offset(b));
    for (i = 0; i < st_tensor_count(a); i++) {
        const st_tensor *x = st_tensor_at(a, i), *y = st_tensor_at(b, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->dtype, y->dtype);
        assert_int_equal(x->rank, y->rank);
        for (d = 0; d < x->rank; d++) assert_int_equal(x->shape[d], y->shape[d]);
        assert_int_equal(x->offset, y->offset);
        assert_int_equal(x->nbytes, y->nbytes);
        assert_ptr_equal(st_tensor_find(b, x->name), y);
    }
    assert_int_equal(st_metadata_state_of(a), st_metadata_state_of(b));
    assert_int_equal(st_metadata_count(a), st_metadata_count(b));
    for (i = 0; i < st_metadata_count(a); i++) {
        assert_string_equal(st_metadata_at(a, i)->key, st_metadata_at(b, i)->key);
        assert_string_equal(st_metadata_at(a, i)->value, st_metadata_at(b, i)->value);
    }
}

/* Every function that needs a data pointer says ST_E_NO_DATA. */
static void no_data_pointers(const st_file *f)
{
    uint64_t i;
    unsigned char buf[64];
    float fl[8];
    uint64_t start[2] = {0, 0}, stop[2] = {1, 1};
    assert_null(st_file_bytes(f));
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        const void *p = (const void *)1;
        assert_null(t->data);
        assert_int_equal(st_tensor_view(t, &p), ST_E_NO_DATA);
        assert_null(p);
        assert_int_equal(st_tensor_copy(t, 0, buf, t->nbytes < 8 ? t->nbytes : 8), ST_E_NO_DATA);
        assert_int_equal(st_tensor_copy_elements(t, 0, 0, buf), ST_E_NO_DATA);
        assert_int_equal(st_tensor_to_f32(t, 0, 0, fl), ST_E_NO_DATA);
        if (t->rank == 2)
            assert_int_equal(st_tensor_copy_slice(t, 2, start, stop, buf, sizeof buf, NULL),
                             ST_E_NO_DATA);
        /* the dtype check comes first */
        if (t->dtype == ST_F32) {
            const float *fp = (const float *)1;
            assert_int_equal(st_tensor_as_f32(t, &fp), ST_E_NO_DATA);
            assert_null(fp);
            assert_int_equal(st_tensor_as_f64(t, (const double **)&p), ST_E_DTYPE_MISMATCH);
        }
        if (t->dtype == ST_BF16) {
            const uint16_t *bp;
            assert_int_equal(st_tensor_as_bf16(t, &bp), ST_E_NO_DATA);
        }
        if (t->dtype == ST_U8) {
            const uint8_t *up;
            assert_int_equal(st_tensor_as_u8(t, &up), ST_E_NO_DATA);
        }
        /* hints have nothing to do */
        assert_int_equal(st_tensor_advise(f, t, ST_ADVICE_WILLNEED), ST_OK);
        assert_int_equal(st_tensor_prefetch(f, t, NULL), ST_OK);
    }
}

/* ---------------------------------------------------------------- reader: listing */

static void test_reader_lists_in_two_reads(void **state)
{
    size_t n, hn = strlen(SAMPLE);
    unsigned char *b = sample(&n), buf[64];
    stt_mem_reader r;
    st_reader rd;
    st_file *f = NULL, *m = NULL;
    st_error e;
    uint64_t i;
    (void)state;
    stt_mem_reader_init(&r, b, n, &rd);
    memset(&e, 0x5a, sizeof e);
    expect_status("open", st_open_reader(&f, &rd, n, NULL, &e), &e, ST_OK);
    assert_string_equal(e.message, "");
    /* the prefix, then the header: no data byte */
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.log[0].off, 0);
    assert_int_equal(r.log[0].size, 8);
    assert_int_equal(r.log[1].off, 8);
    assert_int_equal(r.log[1].size, hn);
    assert_int_equal(r.bytes_read, 8 + hn);
    expect_status("memory", st_open_memory(&m, b, n, NULL, &e), &e, ST_OK);
    same_listing(f, m);
    assert_int_equal(r.calls, 2); /* listing never reads */
    no_data_pointers(f);
    assert_int_equal(r.calls, 2);
    /* data on demand: one read per st_tensor_read, the same bytes */
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        unsigned calls = r.calls;
        memset(buf, 0, sizeof buf);
        expect_status("read", st_tensor_read(f, t, 0, buf, t->nbytes, &e), &e, ST_OK);
        assert_memory_equal(buf, st_tensor_at(m, i)->data, (size_t)t->nbytes);
        assert_int_equal(r.calls, calls + (t->nbytes ? 1u : 0u));
    }
    /* a part of a tensor: exactly those bytes */
    {
        const st_tensor *t = st_tensor_find(f, "b");
        unsigned calls = r.calls;
        expect_status("part", st_tensor_read(f, t, 5, buf, 7, &e), &e, ST_OK);
        assert_int_equal(r.calls, calls + 1);
        assert_int_equal(r.log[calls].off, t->offset + 5);
        assert_int_equal(r.log[calls].size, 7);
        assert_memory_equal(buf, (const unsigned char *)st_tensor_find(m, "b")->data + 5, 7);
        expect_status("range", st_tensor_read(f, t, 20, buf, 5, &e), &e, ST_E_RANGE);
    }
    assert_false(r.bad_call);
    st_close(f);
    st_close(m);
    stt_mem_reader_done(&r);
    free(b);
}

/* ---------------------------------------------------------------- same validation */

typedef struct vcase {
    const char *name;
    const char *hdr; /* NULL: raw bytes below */
    uint64_t data;
    const char *raw;
    size_t raw_len;
    uint64_t cap;
    uint32_t flags;
} vcase;

static const vcase VCASES[] = {
    {"ok", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, NULL, 0, 0, 0},
    {"empty", "{}", 0, NULL, 0, 0, 0},
    {"too small", NULL, 0, "\x02\x00\x00\x00", 4, 0, 0},
    {"zero bytes", NULL, 0, "", 0, 0, 0},
    {"over the cap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, NULL, 0,
     10, 0},
    {"length past the end", NULL, 0, "\xff\x00\x00\x00\x00\x00\x00\x00{}", 10, 0, 0},
    {"huge length", NULL, 0, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, 0, 0},
    {"bad utf-8", "{\"\xc0\x80\":1}", 0, NULL, 0, 0, 0},
    {"bad json", "{\"a\":}", 0, NULL, 0, 0, 0},
    {"schema", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2]}}", 0, NULL, 0, 0, 0},
    {"dtype", "{\"a\":{\"dtype\":\"X\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, NULL, 0, 0, 0},
    {"hole", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3, NULL, 0, 0, 0},
    {"size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, NULL,
     0, 0, 0},
    {"truncated", "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 5, NULL, 0, 0,
     0},
    {"trailing", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 5, NULL, 0, 0,
     0},
    {"trailing allowed", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 5,
     NULL, 0, 0, ST_LENIENT_TRAILING_BYTES},
    {"html page", NULL, 0, "<!DOCTYPE html><html><body>login</body></html>", 47, 0, 0},
    {"git lfs", NULL, 0,
     "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12345\n", 70, 0, 0},
    {"gguf", NULL, 0, "GGUF\x03\x00\x00\x00\x00\x00\x00\x00", 12, 0, 0},
    {"duplicate", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                  "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
     0, NULL, 0, 0, 0},
};

static unsigned char *vcase_bytes(const vcase *c, size_t *n)
{
    unsigned char *b;
    if (c->hdr) return stt_build_str(c->hdr, c->data, n);
    b = malloc(c->raw_len ? c->raw_len : 1);
    if (!b) abort();
    memcpy(b, c->raw, c->raw_len);
    *n = c->raw_len;
    return b;
}

static void same_error(const char *what, const st_error *a, const st_error *b)
{
    if (a->code != b->code || a->flags != b->flags || a->offset != b->offset ||
        strcmp(a->tensor, b->tensor) != 0 || strcmp(a->message, b->message) != 0) {
        print_error("%s: memory gave %s at %llu (%s), the other open %s at %llu (%s)\n", what,
                    st_status_name(a->code), (unsigned long long)a->offset, a->message,
                    st_status_name(b->code), (unsigned long long)b->offset, b->message);
        fail();
    }
}

static void test_same_validation(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof VCASES / sizeof VCASES[0]; i++) {
        const vcase *c = &VCASES[i];
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        size_t n;
        unsigned char *b = vcase_bytes(c, &n);
        stt_mem_reader r;
        st_reader rd;
        st_file *fm = NULL, *fr = NULL, *fh = NULL;
        st_error em, er, eh;
        st_status sm, sr, sh;
        o.max_header_size = c->cap;
        o.flags = c->flags;
        sm = st_open_memory(&fm, n ? b : NULL, n, &o, &em);
        stt_mem_reader_init(&r, b, n, &rd);
        sr = st_open_reader(&fr, &rd, n, &o, &er);
        sh = st_open_header(&fh, n ? b : NULL, n, n, &o, &eh);
        if (sm != sr || sm != sh) {
            print_error("%s: memory %s, reader %s, header %s\n", c->name, st_status_name(sm),
                        st_status_name(sr), st_status_name(sh));
            fail();
        }
        same_error(c->name, &em, &er);
        same_error(c->name, &em, &eh);
        if (sm == ST_OK) {
            same_listing(fm, fr);
            same_listing(fm, fh);
            assert_int_equal(st_file_leniency_used(fm), st_file_leniency_used(fr));
            assert_int_equal(st_file_trailing_bytes(fm), st_file_trailing_bytes(fh));
        } else {
            assert_null(fr);
            assert_null(fh);
        }
        /* never past the declared size, never 0 bytes; no data byte read at
         * open, and no header byte when rule 2 or 3 fails (the format sniff
         * reads at most 512 bytes) */
        assert_false(r.bad_call);
        if (sm == ST_OK)
            assert_int_equal(r.bytes_read, n < 8 ? n : 8 + st_file_header_size(fr));
        assert_true(r.calls <= 3);
        assert_true(r.bytes_read <= (n > 8 + ((uint64_t)1 << 20) ? 512 : n));
        st_close(fm);
        st_close(fr);
        st_close(fh);
        stt_mem_reader_done(&r);
        free(b);
    }
}

/* The cap holds through the reader: a header over it is never read. */
static void test_reader_cap(void **state)
{
    size_t n;
    unsigned char *b = sample(&n);
    stt_mem_reader r;
    st_reader rd;
    st_file *f = NULL;
    st_error e;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    (void)state;
    o.max_header_size = 16;
    stt_mem_reader_init(&r, b, n, &rd);
    expect_status("cap", st_open_reader(&f, &rd, n, &o, &e), &e, ST_E_HEADER_TOO_LARGE);
    assert_null(f);
    /* the prefix, and at most 512 bytes to name another format */
    assert_true(r.calls <= 2);
    assert_int_equal(r.log[0].size, 8);
    stt_mem_reader_done(&r);
    free(b);
}

/* ---------------------------------------------------------------- faults */

static void test_reader_faults(void **state)
{
    static const int codes[] = {EIO, ETIMEDOUT, ECONNRESET, ST_READER_SHORT, -77};
    size_t n, ci;
    unsigned char *b = sample(&n), buf[64];
    unsigned at;
    (void)state;
    for (ci = 0; ci < sizeof codes / sizeof codes[0]; ci++) {
        for (at = 1; at <= 4; at++) {
            stt_mem_reader r;
            st_reader rd;
            st_file *f = NULL;
            st_error e;
            char what[96];
            st_status s;
            snprintf(what, sizeof what, "code %d at call %u", codes[ci], at);
            stt_mem_reader_init(&r, b, n, &rd);
            r.fail_at = at;
            r.fail_code = codes[ci];
            s = st_open_reader(&f, &rd, n, NULL, &e);
            if (at <= 2) {
                /* the prefix or the header */
                expect_status(what, s, &e, ST_E_IO);
                assert_null(f);
                assert_int_equal(e.offset, at == 1 ? 0 : 8);
                assert_true(e.flags & ST_ERROR_HAS_OFFSET);
                assert_int_equal(e.sys_errno, codes[ci] == ST_READER_SHORT ? EIO : codes[ci]);
                assert_non_null(strstr(e.message, at == 1 ? "8-byte header length" : "header"));
                if (codes[ci] == ST_READER_SHORT) assert_non_null(strstr(e.message, "short"));
            } else {
                /* data: call 3 is the first read of "b", call 4 of "c" */
                const st_tensor *tb, *tc;
                expect_status(what, s, &e, ST_OK);
                tb = st_tensor_find(f, "b");
                tc = st_tensor_find(f, "c");
                s = st_tensor_read(f, tb, 0, buf, tb->nbytes, &e);
                if (at == 3) {
                    expect_status(what, s, &e, ST_E_IO);
                    assert_string_equal(e.tensor, "b");
                    assert_int_equal(e.offset, tb->offset);
                    assert_int_equal(e.sys_errno, codes[ci] == ST_READER_SHORT ? EIO : codes[ci]);
                } else {
                    expect_status(what, s, &e, ST_OK);
                }
                {
                    uint64_t st2[2] = {0, 1}, sp2[2] = {3, 2};
                    s = st_tensor_read_slice(f, tc, 2, st2, sp2, buf, sizeof buf, &e);
                    expect_status(what, s, &e, at == 4 ? ST_E_IO : ST_OK);
                    if (at == 4) assert_string_equal(e.tensor, "c");
                }
                /* the handle still works after a failed read */
                r.fail_at = 0;
                expect_status("after", st_tensor_read(f, tb, 0, buf, tb->nbytes, &e), &e, ST_OK);
                st_close(f);
            }
            stt_mem_reader_done(&r);
        }
    }
    free(b);
}

/* A declared size larger than the storage: open still reads only the header
 * (coverage is checked against the declared size, so the file must claim
 * the right one); a smaller declared size is a coverage error. */
static void test_reader_declared_size(void **state)
{
    size_t n;
    unsigned char *b = sample(&n);
    stt_mem_reader r;
    st_reader rd;
    st_file *f = NULL;
    st_error e;
    (void)state;
    stt_mem_reader_init(&r, b, n, &rd);
    r.declared = n + 1;
    expect_status("one more", st_open_reader(&f, &rd, n + 1, NULL, &e), &e, ST_E_COVERAGE);
    stt_mem_reader_done(&r);
    stt_mem_reader_init(&r, b, n, &rd);
    expect_status("one less", st_open_reader(&f, &rd, n - 1, NULL, &e), &e, ST_E_COVERAGE);
    assert_false(r.bad_call);
    stt_mem_reader_done(&r);
    free(b);
}

static void test_reader_arguments(void **state)
{
    size_t n;
    unsigned char *b = sample(&n);
    stt_mem_reader r;
    st_reader rd, bad;
    st_file *f = (st_file *)&n;
    st_error e;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    (void)state;
    stt_mem_reader_init(&r, b, n, &rd);
    expect_status("out NULL", st_open_reader(NULL, &rd, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    expect_status("reader NULL", st_open_reader(&f, NULL, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_null(f);
    bad = rd;
    bad.struct_size = 4;
    expect_status("struct_size", st_open_reader(&f, &bad, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    bad = rd;
    bad.read = NULL;
    expect_status("no read", st_open_reader(&f, &bad, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    bad = rd;
    bad.flags = 0x80;
    expect_status("flags", st_open_reader(&f, &bad, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    o.flags = ST_OPEN_READ;
    expect_status("ST_OPEN_READ", st_open_reader(&f, &rd, n, &o, &e), &e, ST_E_INVALID_ARGUMENT);
    o.flags = ST_OPEN_CLOSE_FD;
    expect_status("CLOSE_FD", st_open_reader(&f, &rd, n, &o, &e), &e, ST_E_INVALID_ARGUMENT);
    o.flags = 0;
    o.struct_size = 8;
    expect_status("options", st_open_reader(&f, &rd, n, &o, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_int_equal(r.calls, 0);
    /* an older options struct (no read_gap) is fine */
    o.struct_size = (uint32_t)(offsetof(st_open_options, allocator) + sizeof(void *));
    expect_status("old options", st_open_reader(&f, &rd, n, &o, &e), &e, ST_OK);
    st_close(f);
    stt_mem_reader_done(&r);
    free(b);
}

/* ---------------------------------------------------------------- threads */

typedef struct thr {
    st_file *f;
    const unsigned char *file;
    int ok;
} thr;

static void *reader_thread(void *arg)
{
    thr *a = (thr *)arg;
    const st_tensor *t = st_tensor_find(a->f, "w");
    uint64_t start[2] = {0, 0}, stop[2] = {32, 32}, k;
    unsigned char *out = malloc(32 * 32 * 4);
    int i;
    a->ok = out != NULL;
    for (i = 0; i < 12 && a->ok; i++) {
        start[1] = (uint64_t)i;
        stop[1] = (uint64_t)i + 3;
        if (st_tensor_read_slice(a->f, t, 2, start, stop, out, 32 * 32 * 4, NULL) != ST_OK)
            a->ok = 0;
        for (k = 0; k < 32 && a->ok; k++)
            if (memcmp(out + k * 12, a->file + t->offset + (k * 32 + (uint64_t)i) * 4, 12) != 0)
                a->ok = 0;
    }
    free(out);
    return NULL;
}

static void run_threads(int thread_safe)
{
    const char *json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[32,32],\"data_offsets\":[0,4096]}}";
    size_t n;
    unsigned char *b = stt_build_str(json, 4096, &n);
    stt_mem_reader r;
    st_reader rd;
    st_file *f = NULL;
    st_error e;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    pthread_t th[4];
    thr args[4];
    int i;
    o.read_gap = ST_READ_GAP_NONE; /* one read per row: many calls */
    stt_mem_reader_init(&r, b, n, &rd);
    if (thread_safe) rd.flags = ST_READER_THREAD_SAFE;
    r.sleep_us = 200;
    expect_status("open", st_open_reader(&f, &rd, n, &o, &e), &e, ST_OK);
    for (i = 0; i < 4; i++) {
        args[i].f = f;
        args[i].file = b;
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_true(args[i].ok);
    }
    print_message("%s reader: %u calls, at most %d at once\n",
                  thread_safe ? "thread-safe" : "serialized", r.calls, r.max_in_flight);
    assert_int_equal(r.calls, 2 + 4 * 12 * 32);
    if (thread_safe)
        assert_true(r.max_in_flight > 1);
    else
        assert_int_equal(r.max_in_flight, 1);
    st_close(f);
    stt_mem_reader_done(&r);
    free(b);
}

static void test_threads_serialized(void **state)
{
    (void)state;
    run_threads(0);
}

static void test_threads_thread_safe(void **state)
{
    (void)state;
    run_threads(1);
}

/* ---------------------------------------------------------------- allocator sweep */

static long alloc_budget;
static long alloc_live;
static void *sw_malloc(void *ctx, size_t n)
{
    void *p;
    (void)ctx;
    if (alloc_budget == 0) return NULL;
    if (alloc_budget > 0) alloc_budget--;
    p = malloc(n);
    if (p) alloc_live++;
    return p;
}
static void *sw_realloc(void *ctx, void *p, size_t o, size_t n)
{
    (void)ctx;
    (void)o;
    if (alloc_budget == 0) return NULL;
    if (alloc_budget > 0) alloc_budget--;
    if (!p) alloc_live++;
    return realloc(p, n);
}
static void sw_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    if (p) alloc_live--;
    free(p);
}

static void test_alloc_sweep(void **state)
{
    st_allocator a = {sw_malloc, sw_realloc, sw_free, NULL};
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    size_t n;
    unsigned char *b = sample(&n);
    long k;
    int oks = 0, which;
    (void)state;
    o.allocator = &a;
    for (which = 0; which < 2; which++) {
        for (k = 0; k < 200; k++) {
            stt_mem_reader r;
            st_reader rd;
            st_file *f = NULL;
            st_error e;
            st_status s;
            stt_mem_reader_init(&r, b, n, &rd);
            alloc_budget = k;
            alloc_live = 0;
            s = which ? st_open_header(&f, b, n, n, &o, &e) : st_open_reader(&f, &rd, n, &o, &e);
            if (s == ST_OK) {
                uint64_t start[2] = {0, 1}, stop[2] = {2, 2};
                unsigned char out[8];
                alloc_budget = -1;
                if (!which)
                    expect_status("slice", st_tensor_read_slice(f, st_tensor_find(f, "b"), 2,
                                                                start, stop, out, 8, &e),
                                  &e, ST_OK);
                st_close(f);
                oks++;
            } else {
                expect_status("sweep", s, &e, ST_E_NOMEM);
                assert_null(f);
            }
            assert_int_equal(alloc_live, 0);
            stt_mem_reader_done(&r);
            if (s == ST_OK) break;
        }
    }
    assert_int_equal(oks, 2);
    free(b);
}

/* ---------------------------------------------------------------- header only */

static void test_header_only(void **state)
{
    size_t n, hn = strlen(SAMPLE), k;
    unsigned char *b = sample(&n), *copy, buf[16];
    st_file *f = NULL, *m = NULL;
    st_error e;
    uint64_t start[2] = {0, 0}, stop[2] = {1, 1};
    (void)state;
    expect_status("memory", st_open_memory(&m, b, n, NULL, &e), &e, ST_OK);
    /* exactly 8 + N bytes, in a buffer freed right after the open */
    copy = malloc(8 + hn);
    if (!copy) abort();
    memcpy(copy, b, 8 + hn);
    expect_status("header", st_open_header(&f, copy, 8 + hn, n, NULL, &e), &e, ST_OK);
    memset(copy, 0, 8 + hn);
    free(copy);
    same_listing(m, f);
    no_data_pointers(f);
    expect_status("read", st_tensor_read(f, st_tensor_find(f, "b"), 0, buf, 4, &e), &e,
                  ST_E_NO_DATA);
    assert_string_equal(e.tensor, "b");
    assert_non_null(strstr(e.message, "st_open_header"));
    expect_status("read 0", st_tensor_read(f, st_tensor_find(f, "b"), 0, buf, 0, &e), &e,
                  ST_E_NO_DATA);
    expect_status("slice", st_tensor_read_slice(f, st_tensor_find(f, "b"), 2, start, stop, buf,
                                                sizeof buf, &e),
                  &e, ST_E_NO_DATA);
    stop[0] = 0;
    expect_status("empty slice", st_tensor_read_slice(f, st_tensor_find(f, "b"), 2, start, stop,
                                                      buf, sizeof buf, &e),
                  &e, ST_E_NO_DATA);
    st_close(f);
    /* the whole file is fine too (extra bytes ignored) */
    expect_status("whole file", st_open_header(&f, b, n, n, NULL, &e), &e, ST_OK);
    same_listing(m, f);
    st_close(f);
    /* one byte short of the header, or of the prefix: how many are needed */
    for (k = 0; k < 8 + hn; k++) {
        expect_status("short", st_open_header(&f, k ? b : NULL, k, n, NULL, &e), &e,
                      ST_E_NEED_MORE);
        assert_int_equal(e.offset, k < 8 ? 8 : 8 + hn);
        assert_true(e.flags & ST_ERROR_HAS_OFFSET);
        assert_null(f);
    }
    /* the declared size must be the one the tensors fill */
    expect_status("size + 1", st_open_header(&f, b, 8 + hn, n + 1, NULL, &e), &e, ST_E_COVERAGE);
    expect_status("size - 1", st_open_header(&f, b, 8 + hn, n - 1, NULL, &e), &e, ST_E_COVERAGE);
    expect_status("size = 8 + N", st_open_header(&f, b, 8 + hn, 8 + hn, NULL, &e), &e,
                  ST_E_COVERAGE);
    /* arguments */
    expect_status("prefix > file", st_open_header(&f, b, n, n - 1, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    expect_status("NULL prefix", st_open_header(&f, NULL, 5, n, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    expect_status("NULL out", st_open_header(NULL, b, n, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    {
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        o.flags = ST_OPEN_READ;
        expect_status("ST_OPEN_READ", st_open_header(&f, b, n, n, &o, &e), &e,
                      ST_E_INVALID_ARGUMENT);
        /* the cap decides before the prefix's length */
        o.flags = 0;
        o.max_header_size = 16;
        expect_status("cap", st_open_header(&f, b, 8, n, &o, &e), &e, ST_E_HEADER_TOO_LARGE);
    }
    /* a header length past the declared end: rule 3, not "need more" */
    expect_status("rule 3", st_open_header(&f, b, 8, 8 + hn - 1, NULL, &e), &e,
                  ST_E_HEADER_LENGTH);
    st_close(m);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_lists_in_two_reads),
        cmocka_unit_test(test_same_validation),
        cmocka_unit_test(test_reader_cap),
        cmocka_unit_test(test_reader_faults),
        cmocka_unit_test(test_reader_declared_size),
        cmocka_unit_test(test_reader_arguments),
        cmocka_unit_test(test_threads_serialized),
        cmocka_unit_test(test_threads_thread_safe),
        cmocka_unit_test(test_alloc_sweep),
        cmocka_unit_test(test_header_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
