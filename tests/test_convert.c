/* Conversions: every code of every 8/16-bit, F4 and F6 dtype, lists of 32/64-bit
 * inputs, and float -> BF16/F16 rounding, all against the reference file that
 * tests/convert_ref.py computes from the format definitions; plus windows
 * (first/count, odd F4 and unaligned F6 starts), unaligned buffers, argument
 * and range checks, and hand-checked values that need no reference file.
 *
 * The reference file: $ST_CONVERT_REF if set, else convert_ref.bin next to
 * this test binary (the Makefile generates it there). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt.h"

static const char *g_argv0 = "";

/* ---------------------------------------------------------------- helpers */

/* 2^e, exact, without libm (the test links no -lm). */
static double p2(int e)
{
    double v = 1.0;
    for (; e > 0; e--) v *= 2.0;
    for (; e < 0; e++) v *= 0.5;
    return v;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static int f32_isnan_bits(uint32_t u)
{
    return (u & 0x7fffffffu) > 0x7f800000u;
}

static int f16_isnan_bits(uint32_t u)
{
    return (u & 0x7fffu) > 0x7c00u;
}

static int bf16_isnan_bits(uint32_t u)
{
    return (u & 0x7fffu) > 0x7f80u;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* Reads the float at dst[i] of a possibly unaligned float array. */
static uint32_t out_bits(const unsigned char *dst, size_t i)
{
    uint32_t u;
    memcpy(&u, dst + 4 * i, 4);
    return u;
}

/* Mismatch reporting: prints up to 8 per check, then counts. */
typedef struct checker {
    const char *what;
    unsigned long bad;
} checker;

static void check_f32(checker *c, uint64_t input, uint32_t got, uint32_t want, uint32_t mask)
{
    if ((got & mask) == (want & mask) && (!f32_isnan_bits(want) || f32_isnan_bits(got))) return;
    if (c->bad++ < 8)
        print_error("%s: input 0x%llx: got 0x%08lx, want 0x%08lx (mask 0x%08lx)\n", c->what,
                    (unsigned long long)input, (unsigned long)got, (unsigned long)want,
                    (unsigned long)mask);
}

static void check_done(const checker *c)
{
    if (c->bad) {
        print_error("%s: %lu mismatches\n", c->what, c->bad);
        fail();
    }
}

/* ---------------------------------------------------------------- reference file */

enum { K_ALL = 1, K_LIST = 2, K_ENCODE = 3 };

typedef struct ref_section {
    uint32_t kind, dtype;
    uint64_t count;
    const unsigned char *input;    /* K_LIST: u64[count]; K_ENCODE: u32[count] */
    const unsigned char *expected; /* K_ALL, K_LIST: u32[count] */
    const unsigned char *mask;
    const unsigned char *bf16, *bf16_mask, *f16, *f16_mask; /* K_ENCODE: u16[count] */
} ref_section;

typedef struct ref_file {
    unsigned char *bytes;
    size_t size;
    ref_section sec[64];
    unsigned nsec;
} ref_file;

static char *ref_path(void)
{
    const char *env = getenv("ST_CONVERT_REF");
    const char *slash;
    char *p;
    size_t dl;
    if (env && *env) {
        p = xmalloc(strlen(env) + 1);
        strcpy(p, env);
        return p;
    }
    slash = strrchr(g_argv0, '/');
    dl = slash ? (size_t)(slash - g_argv0) + 1 : 0;
    p = xmalloc(dl + sizeof "convert_ref.bin");
    memcpy(p, g_argv0, dl);
    strcpy(p + dl, "convert_ref.bin");
    return p;
}

/* Loads and indexes the file; fails the test with a message if it is absent
 * or malformed (a missing file must not pass silently). */
static int ref_load(ref_file *r)
{
    char *path = ref_path();
    FILE *fp = fopen(path, "rb");
    size_t pos, cap = 0;
    uint32_t nsec, i;
    memset(r, 0, sizeof *r);
    if (!fp) {
        print_error("cannot open reference file %s: generate it with "
                    "'python3 tests/convert_ref.py %s' or set ST_CONVERT_REF\n", path, path);
        free(path);
        return -1;
    }
    for (;;) {
        size_t got;
        if (r->size == cap) {
            cap = cap ? cap * 2 : (size_t)1 << 24;
            r->bytes = realloc(r->bytes, cap);
            if (!r->bytes) abort();
        }
        got = fread(r->bytes + r->size, 1, cap - r->size, fp);
        r->size += got;
        if (got == 0) break;
    }
    fclose(fp);
    if (r->size < 16 || memcmp(r->bytes, "STCVREF1", 8) != 0) goto bad;
    nsec = rd32(r->bytes + 8);
    if (nsec > 64) goto bad;
    pos = 16;
    for (i = 0; i < nsec; i++) {
        ref_section *s = &r->sec[i];
        size_t need, n;
        if (r->size - pos < 16) goto bad;
        s->kind = rd32(r->bytes + pos);
        s->dtype = rd32(r->bytes + pos + 4);
        s->count = rd64(r->bytes + pos + 8);
        pos += 16;
        if (s->count > (1u << 24)) goto bad;
        n = (size_t)s->count;
        need = s->kind == K_ALL ? 8 * n : s->kind == K_LIST ? 16 * n : s->kind == K_ENCODE ? 12 * n : 0;
        if (need == 0 || r->size - pos < need) goto bad;
        if (s->kind == K_ALL) {
            s->expected = r->bytes + pos;
            s->mask = s->expected + 4 * n;
        } else if (s->kind == K_LIST) {
            s->input = r->bytes + pos;
            s->expected = s->input + 8 * n;
            s->mask = s->expected + 4 * n;
        } else {
            s->input = r->bytes + pos;
            s->bf16 = s->input + 4 * n;
            s->bf16_mask = s->bf16 + 2 * n;
            s->f16 = s->bf16_mask + 2 * n;
            s->f16_mask = s->f16 + 2 * n;
        }
        pos += need;
    }
    if (pos != r->size) goto bad;
    r->nsec = nsec;
    free(path);
    return 0;
bad:
    print_error("reference file %s is malformed\n", path);
    free(path);
    free(r->bytes);
    r->bytes = NULL;
    return -1;
}

static int ref_setup(void **state)
{
    ref_file *r = xmalloc(sizeof *r);
    if (ref_load(r) != 0) {
        free(r);
        *state = NULL;
        return 0; /* each test fails on a NULL state */
    }
    *state = r;
    return 0;
}

static int ref_teardown(void **state)
{
    ref_file *r = *state;
    if (r) {
        free(r->bytes);
        free(r);
    }
    return 0;
}

static ref_file *ref_of(void **state)
{
    ref_file *r = *state;
    if (!r) {
        print_error("no reference file\n");
        fail();
    }
    return r;
}

static const ref_section *ref_find(const ref_file *r, uint32_t kind, uint32_t dtype)
{
    unsigned i;
    for (i = 0; i < r->nsec; i++)
        if (r->sec[i].kind == kind && r->sec[i].dtype == dtype) return &r->sec[i];
    return NULL;
}

/* ---------------------------------------------------------------- packing inputs */

/* Element size in bits. */
static unsigned bits_of(int dt)
{
    return st_dtype_bits(dt);
}

/* Bytes holding elements 0..n-1 of a dtype. */
static size_t bytes_for(int dt, size_t n)
{
    return (n * bits_of(dt) + 7) / 8;
}

/* Writes code c as element i of a little-endian packed buffer. */
static void put_code(unsigned char *buf, int dt, size_t i, uint64_t c)
{
    unsigned b = bits_of(dt), k;
    if (b == 4) {
        unsigned char *p = buf + i / 2;
        if (i & 1) *p = (unsigned char)((*p & 0x0f) | (c & 15) << 4);
        else *p = (unsigned char)((*p & 0xf0) | (c & 15));
    } else if (b == 6) {
        /* element i: bits 6i..6i+5 of the little-endian bit stream */
        for (k = 0; k < 6; k++) {
            size_t bit = 6 * i + k;
            unsigned char m = (unsigned char)(1u << (bit % 8));
            if ((c >> k) & 1) buf[bit / 8] |= m;
            else buf[bit / 8] &= (unsigned char)~m;
        }
    } else {
        for (k = 0; k < b / 8; k++) buf[i * (b / 8) + k] = (unsigned char)(c >> (8 * k));
    }
}

/* ---------------------------------------------------------------- decode checks */

/* Runs one conversion of elements first..first+count-1 of the packed buffer
 * src (n elements) from an exact-size copy (so ASan sees over-reads) at a
 * given misalignment, into a dst with guard bytes at a given misalignment, and
 * checks every result against want/mask. */
static void run_window(checker *c, int dt, const unsigned char *src, size_t first, size_t count,
                       const uint64_t *inputs, const unsigned char *want,
                       const unsigned char *mask, unsigned src_mis, unsigned dst_mis)
{
    size_t nb = bytes_for(dt, first + count), i;
    unsigned char *sbuf = xmalloc(nb + src_mis);
    unsigned char *dbuf = xmalloc(4 * count + dst_mis + 16);
    unsigned char *d = dbuf + dst_mis + 8;
    st_status s;
    memcpy(sbuf + src_mis, src, nb);
    memset(dbuf, 0xa5, 4 * count + dst_mis + 16);
    s = st_convert_to_f32(dt, sbuf + src_mis, first, count, (float *)(void *)d);
    if (s != ST_OK) {
        print_error("%s: first %lu count %lu: %s\n", c->what, (unsigned long)first,
                    (unsigned long)count, st_status_name(s));
        fail();
    }
    for (i = 0; i < count; i++)
        check_f32(c, inputs ? inputs[first + i] : first + i, out_bits(d, i),
                  rd32(want + 4 * (first + i)), rd32(mask + 4 * (first + i)));
    for (i = 0; i < dst_mis + 8; i++)
        if (dbuf[i] != 0xa5 && c->bad++ < 8) print_error("%s: wrote before dst\n", c->what);
    for (i = 0; i < 8; i++)
        if (d[4 * count + i] != 0xa5 && c->bad++ < 8) print_error("%s: wrote past dst\n", c->what);
    free(sbuf);
    free(dbuf);
}

/* All checks for one section: the whole set in one call at every
 * misalignment, then windows. */
static void check_decode_section(const ref_section *sec, const char *name)
{
    int dt = (int)sec->dtype;
    size_t n = (size_t)sec->count, i, first, count;
    unsigned char *src = xmalloc(bytes_for(dt, n) + 8);
    uint64_t *inputs = NULL;
    unsigned mis;
    checker c;
    char what[64];
    memset(src, 0, bytes_for(dt, n) + 8);
    if (sec->kind == K_LIST) {
        inputs = xmalloc(n * sizeof *inputs);
        for (i = 0; i < n; i++) inputs[i] = rd64(sec->input + 8 * i);
    }
    for (i = 0; i < n; i++) put_code(src, dt, i, inputs ? inputs[i] : i);

    for (mis = 0; mis < 4; mis++) {
        snprintf(what, sizeof what, "%s all (misaligned %u)", name, mis);
        c.what = what;
        c.bad = 0;
        run_window(&c, dt, src, 0, n, inputs, sec->expected, sec->mask, mis, (mis * 3) % 4);
        check_done(&c);
    }

    snprintf(what, sizeof what, "%s windows", name);
    c.what = what;
    c.bad = 0;
    if (n <= 256) {
        /* every window */
        for (first = 0; first <= n; first++)
            for (count = 0; first + count <= n; count++)
                run_window(&c, dt, src, first, count, inputs, sec->expected, sec->mask,
                           (unsigned)(first % 3), (unsigned)(count % 4));
    } else {
        /* starts near the beginning and the end, and lengths around the
         * library's block size (256) */
        static const size_t counts[] = {0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 255,
                                        256, 257, 511, 512, 513, 1000};
        for (first = 0; first < 12; first++)
            for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
                if (first + counts[i] <= n)
                    run_window(&c, dt, src, first, counts[i], inputs, sec->expected, sec->mask,
                               (unsigned)(first % 4), (unsigned)(i % 4));
                if (counts[i] <= n)
                    run_window(&c, dt, src, n - counts[i], counts[i], inputs, sec->expected,
                               sec->mask, 1, 3);
            }
    }
    check_done(&c);
    free(src);
    free(inputs);
}

typedef struct want_sec {
    uint32_t kind;
    int dtype;
    uint64_t min_count;
} want_sec;

static const want_sec WANT[] = {
    {K_ALL, ST_BOOL, 256},           {K_ALL, ST_U8, 256},          {K_ALL, ST_I8, 256},
    {K_ALL, ST_F8_E5M2, 256},        {K_ALL, ST_F8_E4M3, 256},     {K_ALL, ST_F8_E8M0, 256},
    {K_ALL, ST_F8_E4M3FNUZ, 256},    {K_ALL, ST_F8_E5M2FNUZ, 256}, {K_ALL, ST_F4, 16},
    {K_ALL, ST_F6_E2M3, 64},         {K_ALL, ST_F6_E3M2, 64},      {K_ALL, ST_I16, 65536},
    {K_ALL, ST_U16, 65536},          {K_ALL, ST_F16, 65536},       {K_ALL, ST_BF16, 65536},
    {K_LIST, ST_I32, 100000},        {K_LIST, ST_U32, 100000},     {K_LIST, ST_F32, 100000},
    {K_LIST, ST_F64, 100000},        {K_LIST, ST_I64, 100000},     {K_LIST, ST_U64, 100000},
};

static void test_ref_complete(void **state)
{
    ref_file *r = ref_of(state);
    size_t i;
    const ref_section *e;
    for (i = 0; i < sizeof WANT / sizeof WANT[0]; i++) {
        const ref_section *s = ref_find(r, WANT[i].kind, (uint32_t)WANT[i].dtype);
        if (!s || s->count < WANT[i].min_count ||
            (WANT[i].kind == K_ALL && s->count != ((uint64_t)1 << bits_of(WANT[i].dtype)))) {
            print_error("reference file lacks a full section for %s\n",
                        st_dtype_name(WANT[i].dtype));
            fail();
        }
    }
    e = ref_find(r, K_ENCODE, 0);
    assert_non_null(e);
    assert_true(e->count >= 1000000);
}

#define DECODE_TEST(fn, DT)                                                                 \
    static void fn(void **state)                                                            \
    {                                                                                       \
        ref_file *r = ref_of(state);                                                        \
        const ref_section *s = ref_find(r, K_ALL, DT);                                      \
        if (!s) s = ref_find(r, K_LIST, DT);                                                \
        assert_non_null(s);                                                                 \
        check_decode_section(s, #DT);                                                       \
    }

DECODE_TEST(test_ref_bool, ST_BOOL)
DECODE_TEST(test_ref_u8, ST_U8)
DECODE_TEST(test_ref_i8, ST_I8)
DECODE_TEST(test_ref_e5m2, ST_F8_E5M2)
DECODE_TEST(test_ref_e4m3, ST_F8_E4M3)
DECODE_TEST(test_ref_e8m0, ST_F8_E8M0)
DECODE_TEST(test_ref_e4m3fnuz, ST_F8_E4M3FNUZ)
DECODE_TEST(test_ref_e5m2fnuz, ST_F8_E5M2FNUZ)
DECODE_TEST(test_ref_f4, ST_F4)
DECODE_TEST(test_ref_f6_e2m3, ST_F6_E2M3)
DECODE_TEST(test_ref_f6_e3m2, ST_F6_E3M2)
DECODE_TEST(test_ref_i16, ST_I16)
DECODE_TEST(test_ref_u16, ST_U16)
DECODE_TEST(test_ref_f16, ST_F16)
DECODE_TEST(test_ref_bf16, ST_BF16)
DECODE_TEST(test_ref_i32, ST_I32)
DECODE_TEST(test_ref_u32, ST_U32)
DECODE_TEST(test_ref_f32, ST_F32)
DECODE_TEST(test_ref_f64, ST_F64)
DECODE_TEST(test_ref_i64, ST_I64)
DECODE_TEST(test_ref_u64, ST_U64)

/* ---------------------------------------------------------------- encode checks */

static void check_encode(const ref_section *e, int to_f16, unsigned src_mis, unsigned dst_mis)
{
    size_t n = (size_t)e->count, i;
    unsigned char *sbuf = xmalloc(4 * n + src_mis);
    unsigned char *dbuf = xmalloc(2 * n + dst_mis + 8);
    unsigned char *d = dbuf + dst_mis + 4;
    const unsigned char *want = to_f16 ? e->f16 : e->bf16;
    const unsigned char *mask = to_f16 ? e->f16_mask : e->bf16_mask;
    checker c;
    c.what = to_f16 ? "float -> F16" : "float -> BF16";
    c.bad = 0;
    for (i = 0; i < n; i++) {
        uint32_t u = rd32(e->input + 4 * i);
        memcpy(sbuf + src_mis + 4 * i, &u, 4); /* host order */
    }
    memset(dbuf, 0x5a, 2 * n + dst_mis + 8);
    if (to_f16)
        st_f32_to_f16((const float *)(const void *)(sbuf + src_mis), (uint16_t *)(void *)d, n);
    else
        st_f32_to_bf16((const float *)(const void *)(sbuf + src_mis), (uint16_t *)(void *)d, n);
    for (i = 0; i < n; i++) {
        uint16_t got, w = rd16(want + 2 * i), m = rd16(mask + 2 * i);
        int wnan = to_f16 ? f16_isnan_bits(w) : bf16_isnan_bits(w);
        int gnan;
        memcpy(&got, d + 2 * i, 2);
        gnan = to_f16 ? f16_isnan_bits(got) : bf16_isnan_bits(got);
        if ((got & m) != (w & m) || (wnan && !gnan)) {
            if (c.bad++ < 8)
                print_error("%s: input 0x%08lx: got 0x%04x, want 0x%04x (mask 0x%04x)\n", c.what,
                            (unsigned long)rd32(e->input + 4 * i), got, w, m);
        }
    }
    for (i = 0; i < dst_mis + 4; i++)
        if (dbuf[i] != 0x5a && c.bad++ < 8) print_error("%s: wrote before dst\n", c.what);
    for (i = 0; i < 4; i++)
        if (d[2 * n + i] != 0x5a && c.bad++ < 8) print_error("%s: wrote past dst\n", c.what);
    check_done(&c);
    free(sbuf);
    free(dbuf);
}

static void test_ref_to_bf16(void **state)
{
    const ref_section *e = ref_find(ref_of(state), K_ENCODE, 0);
    assert_non_null(e);
    check_encode(e, 0, 0, 0);
    check_encode(e, 0, 1, 3);
}

static void test_ref_to_f16(void **state)
{
    const ref_section *e = ref_find(ref_of(state), K_ENCODE, 0);
    assert_non_null(e);
    check_encode(e, 1, 0, 0);
    check_encode(e, 1, 3, 1);
}

/* Short lengths around the block size, from the reference inputs. */
static void test_ref_encode_lengths(void **state)
{
    const ref_section *e = ref_find(ref_of(state), K_ENCODE, 0);
    static const size_t lens[] = {0, 1, 2, 3, 7, 8, 9, 255, 256, 257, 300, 513};
    size_t li, i, off = 123457;
    float src[600];
    uint16_t dst[602];
    assert_non_null(e);
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        for (i = 0; i < n; i++) {
            uint32_t u = rd32(e->input + 4 * (off + i));
            memcpy(&src[i], &u, 4);
        }
        for (i = 0; i < 2; i++) {
            size_t k;
            memset(dst, 0x5a, sizeof dst);
            if (i) st_f32_to_f16(src, dst, n);
            else st_f32_to_bf16(src, dst, n);
            for (k = 0; k < n; k++) {
                const unsigned char *w = i ? e->f16 : e->bf16;
                const unsigned char *m = i ? e->f16_mask : e->bf16_mask;
                assert_int_equal(dst[k] & rd16(m + 2 * (off + k)),
                                 rd16(w + 2 * (off + k)) & rd16(m + 2 * (off + k)));
            }
            assert_int_equal(dst[n], 0x5a5a);
        }
    }
}

/* ---------------------------------------------------------------- hand-checked values */

/* Tiny independent decoders for the MX sub-byte formats (no specials). */
static float mini(unsigned code, int E, int M, int bias)
{
    int sign = (code >> (E + M)) & 1;
    int e = (int)(code >> M) & ((1 << E) - 1);
    int m = (int)code & ((1 << M) - 1);
    double v = e ? (1.0 + m * p2(-M)) * p2(e - bias) : m * p2(-M) * p2(1 - bias);
    return (float)(sign ? -v : v);
}

static float conv1(int dt, unsigned code)
{
    unsigned char b[8] = {0};
    float f = -12345.0f;
    put_code(b, dt, 0, code);
    assert_int_equal(st_convert_to_f32(dt, b, 0, 1, &f), ST_OK);
    return f;
}

static void test_known_values(void **state)
{
    unsigned i;
    (void)state;
    /* E4M3: max 448, min subnormal 2^-9, min normal 2^-6, NaN S.1111.111 */
    assert_true(conv1(ST_F8_E4M3, 0x7e) == 448.0f);
    assert_true(conv1(ST_F8_E4M3, 0xfe) == -448.0f);
    assert_true(conv1(ST_F8_E4M3, 0x01) == (float)p2(-9));
    assert_true(conv1(ST_F8_E4M3, 0x08) == (float)p2(-6));
    assert_true(conv1(ST_F8_E4M3, 0x38) == 1.0f);
    assert_true(conv1(ST_F8_E4M3, 0x78) == 256.0f); /* not infinity */
    assert_true(isnan(conv1(ST_F8_E4M3, 0x7f)));
    assert_true(isnan(conv1(ST_F8_E4M3, 0xff)) && signbit(conv1(ST_F8_E4M3, 0xff)));
    assert_int_equal(fbits(conv1(ST_F8_E4M3, 0x80)), 0x80000000u);
    /* E5M2: max 57344, inf, NaN, min subnormal 2^-16 */
    assert_true(conv1(ST_F8_E5M2, 0x7b) == 57344.0f);
    assert_true(conv1(ST_F8_E5M2, 0x3c) == 1.0f);
    assert_true(conv1(ST_F8_E5M2, 0x01) == (float)p2(-16));
    assert_true(isinf(conv1(ST_F8_E5M2, 0x7c)) && conv1(ST_F8_E5M2, 0x7c) > 0);
    assert_true(isinf(conv1(ST_F8_E5M2, 0xfc)) && conv1(ST_F8_E5M2, 0xfc) < 0);
    for (i = 0x7d; i <= 0x7f; i++) assert_true(isnan(conv1(ST_F8_E5M2, i)));
    /* FNUZ: 0x80 NaN, 0x00 +0, bias 8 / 16 */
    assert_true(isnan(conv1(ST_F8_E4M3FNUZ, 0x80)));
    assert_true(isnan(conv1(ST_F8_E5M2FNUZ, 0x80)));
    assert_int_equal(fbits(conv1(ST_F8_E4M3FNUZ, 0x00)), 0u);
    assert_true(conv1(ST_F8_E4M3FNUZ, 0x7f) == 240.0f);
    assert_true(conv1(ST_F8_E4M3FNUZ, 0xff) == -240.0f);
    assert_true(conv1(ST_F8_E4M3FNUZ, 0x40) == 1.0f);
    assert_true(conv1(ST_F8_E4M3FNUZ, 0x01) == (float)p2(-10));
    assert_true(conv1(ST_F8_E5M2FNUZ, 0x7f) == 57344.0f);
    assert_true(conv1(ST_F8_E5M2FNUZ, 0x40) == 1.0f);
    assert_true(conv1(ST_F8_E5M2FNUZ, 0x01) == (float)p2(-17));
    /* E8M0 */
    assert_true(conv1(ST_F8_E8M0, 127) == 1.0f);
    assert_true(conv1(ST_F8_E8M0, 0) == (float)p2(-127));
    assert_true(conv1(ST_F8_E8M0, 254) == (float)p2(127));
    assert_true(isnan(conv1(ST_F8_E8M0, 255)));
    /* F4: 0, .5, 1, 1.5, 2, 3, 4, 6 and negatives */
    {
        static const float f4[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
        for (i = 0; i < 8; i++) {
            assert_true(conv1(ST_F4, i) == f4[i]);
            assert_true(conv1(ST_F4, i | 8) == -f4[i]);
            assert_true(conv1(ST_F4, i) == mini(i, 2, 1, 1));
        }
        assert_int_equal(fbits(conv1(ST_F4, 8)), 0x80000000u);
    }
    /* F6: E2M3 max 7.5, min subnormal 1/8; E3M2 max 28, min subnormal 1/16 */
    assert_true(conv1(ST_F6_E2M3, 0x1f) == 7.5f);
    assert_true(conv1(ST_F6_E2M3, 0x01) == 0.125f);
    assert_true(conv1(ST_F6_E2M3, 0x3f) == -7.5f);
    assert_true(conv1(ST_F6_E3M2, 0x1f) == 28.0f);
    assert_true(conv1(ST_F6_E3M2, 0x01) == 0.0625f);
    assert_true(conv1(ST_F6_E3M2, 0x0c) == 1.0f);
    for (i = 0; i < 64; i++) {
        assert_true(conv1(ST_F6_E2M3, i) == mini(i, 2, 3, 1));
        assert_true(conv1(ST_F6_E3M2, i) == mini(i, 3, 2, 3));
    }
    /* F16 / BF16 */
    assert_true(conv1(ST_F16, 0x3c00) == 1.0f);
    assert_true(conv1(ST_F16, 0x7bff) == 65504.0f);
    assert_true(conv1(ST_F16, 0x0001) == (float)p2(-24));
    assert_true(conv1(ST_F16, 0x03ff) == (float)(1023 * p2(-24)));
    assert_int_equal(fbits(conv1(ST_F16, 0x8000)), 0x80000000u);
    assert_int_equal(fbits(conv1(ST_F16, 0xfc00)), 0xff800000u);
    assert_int_equal(fbits(conv1(ST_F16, 0x7e00)), 0x7fc00000u);
    assert_true(conv1(ST_BF16, 0x3f80) == 1.0f);
    assert_int_equal(fbits(conv1(ST_BF16, 0x0001)), 0x00010000u);
    assert_int_equal(fbits(conv1(ST_BF16, 0xffc1)), 0xffc10000u);
    /* integers and BOOL */
    assert_true(conv1(ST_I8, 0x80) == -128.0f);
    assert_true(conv1(ST_U8, 0xff) == 255.0f);
    assert_true(conv1(ST_I16, 0x8000) == -32768.0f);
    assert_true(conv1(ST_BOOL, 2) == 1.0f);
    assert_true(conv1(ST_BOOL, 0) == 0.0f);
    assert_true(conv1(ST_I32, 0x01000001u) == 16777216.0f); /* tie -> even */
    assert_true(conv1(ST_I32, 0x01000003u) == 16777220.0f); /* tie -> even */
    {
        unsigned char b[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        float f;
        assert_int_equal(st_convert_to_f32(ST_U64, b, 0, 1, &f), ST_OK);
        assert_true(f == 18446744073709551616.0f);
        assert_int_equal(st_convert_to_f32(ST_I64, b, 0, 1, &f), ST_OK);
        assert_true(f == -1.0f);
    }
}

/* F4 nibble order and F6 packing, written out by hand. */
static void test_packing_by_hand(void **state)
{
    /* F4: byte 0x21 holds element 0 = code 1 (0.5) in its low nibble and
     * element 1 = code 2 (1.0) in its high nibble. */
    static const unsigned char f4[3] = {0x21, 0xf7, 0x0e};
    /* F6: codes 1, 2, 3, 4 make the 24-bit little-endian word
     * 1 | 2 << 6 | 3 << 12 | 4 << 18 = 0x103081, stored as bytes 81 30 10;
     * then codes 0x3f, 0, 0x20, 1 in the next three bytes. */
    unsigned char f6[6];
    uint32_t w1 = 1u | 2u << 6 | 3u << 12 | 4u << 18;
    uint32_t w2 = 0x3fu | 0u << 6 | 0x20u << 12 | 0x01u << 18;
    float out[8];
    unsigned i;
    (void)state;
    assert_int_equal(w1, 0x103081u);
    for (i = 0; i < 3; i++) {
        f6[i] = (unsigned char)(w1 >> (8 * i));
        f6[3 + i] = (unsigned char)(w2 >> (8 * i));
    }
    assert_int_equal(st_convert_to_f32(ST_F4, f4, 0, 6, out), ST_OK);
    assert_true(out[0] == 0.5f && out[1] == 1.0f);
    assert_true(out[2] == 6.0f && out[3] == -6.0f);
    assert_true(out[4] == -4.0f && out[5] == 0.0f);
    assert_int_equal(st_convert_to_f32(ST_F4, f4, 3, 2, out), ST_OK);
    assert_true(out[0] == -6.0f && out[1] == -4.0f);
    assert_int_equal(st_convert_to_f32(ST_F6_E2M3, f6, 0, 8, out), ST_OK);
    assert_true(out[0] == mini(1, 2, 3, 1) && out[1] == mini(2, 2, 3, 1));
    assert_true(out[2] == mini(3, 2, 3, 1) && out[3] == mini(4, 2, 3, 1));
    assert_true(out[4] == -7.5f && out[5] == 0.0f);
    assert_true(out[6] == mini(0x20, 2, 3, 1) && out[7] == mini(1, 2, 3, 1));
    assert_int_equal(fbits(out[6]), 0x80000000u); /* code 0x20 is -0 */
    /* an element whose bits straddle two bytes, alone */
    assert_int_equal(st_convert_to_f32(ST_F6_E3M2, f6, 1, 1, out), ST_OK);
    assert_true(out[0] == mini(2, 3, 2, 3));
    assert_int_equal(st_convert_to_f32(ST_F6_E3M2, f6, 2, 1, out), ST_OK);
    assert_true(out[0] == mini(3, 3, 2, 3));
    assert_int_equal(st_convert_to_f32(ST_F6_E3M2, f6, 5, 3, out), ST_OK);
    assert_true(out[0] == mini(0, 3, 2, 3) && out[1] == mini(0x20, 3, 2, 3) &&
                out[2] == mini(1, 3, 2, 3));
}

static void test_encode_by_hand(void **state)
{
    static const float in[] = {1.0f, -2.0f, 65504.0f, 65520.0f, 65519.996f, 1e-8f, -0.0f,
                               5.9604645e-08f, 2.9802322e-08f, 3.0e-08f, 1.00390625f};
    static const uint16_t want_f16[] = {0x3c00, 0xc000, 0x7bff, 0x7c00, 0x7bff, 0x0000,
                                        0x8000, 0x0001, 0x0000, 0x0001, 0x3c04};
    uint16_t out[16];
    float nan_in[2];
    uint32_t u;
    unsigned i;
    (void)state;
    st_f32_to_f16(in, out, sizeof in / sizeof in[0]);
    for (i = 0; i < sizeof in / sizeof in[0]; i++) assert_int_equal(out[i], want_f16[i]);
    st_f32_to_bf16(in, out, 2);
    assert_int_equal(out[0], 0x3f80);
    assert_int_equal(out[1], 0xc000);
    /* 1.00390625 = 1 + 2^-8: a tie in BF16, to even 1.0; 1 + 3*2^-8 up. */
    nan_in[0] = 1.00390625f;
    nan_in[1] = 1.01171875f;
    st_f32_to_bf16(nan_in, out, 2);
    assert_int_equal(out[0], 0x3f80);
    assert_int_equal(out[1], 0x3f82);
    /* NaNs: quiet, sign kept, even when the payload would be cut to 0 */
    u = 0xff800001u; /* signaling NaN, payload only in the low bits */
    memcpy(&nan_in[0], &u, 4);
    u = 0x7fc00000u;
    memcpy(&nan_in[1], &u, 4);
    st_f32_to_bf16(nan_in, out, 2);
    assert_int_equal(out[0] & 0xffc0, 0xffc0);
    assert_int_equal(out[1] & 0xffc0, 0x7fc0);
    st_f32_to_f16(nan_in, out, 2);
    assert_int_equal(out[0] & 0xfe00, 0xfe00);
    assert_int_equal(out[1] & 0xfe00, 0x7e00);
    /* infinities and BF16 overflow by rounding */
    u = 0x7f7fffffu;
    memcpy(&nan_in[0], &u, 4);
    st_f32_to_bf16(nan_in, out, 1);
    assert_int_equal(out[0], 0x7f80);
    /* NULL and zero counts are no-ops */
    st_f32_to_bf16(NULL, out, 4);
    st_f32_to_bf16(in, NULL, 4);
    st_f32_to_f16(NULL, out, 4);
    st_f32_to_f16(in, NULL, 4);
    st_f32_to_f16(in, out, 0);
    st_f32_to_bf16(NULL, NULL, 0);
}

/* ---------------------------------------------------------------- arguments */

static void test_convert_arguments(void **state)
{
    unsigned char src[16] = {0};
    float dst[4];
    int dt;
    (void)state;
    assert_int_equal(st_convert_to_f32(ST_F32, NULL, 0, 1, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_F32, src, 0, 1, NULL), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_F4, NULL, 3, 1, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_F32, NULL, 0, 0, NULL), ST_OK);
    assert_int_equal(st_convert_to_f32(ST_F32, NULL, 7, 0, NULL), ST_OK);
    /* unknown dtypes, whatever the count */
    assert_int_equal(st_convert_to_f32(ST_DTYPE_INVALID, src, 0, 1, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_DTYPE_COUNT_, src, 0, 1, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(-1, src, 0, 1, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(1000, src, 0, 0, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(0, NULL, 0, 0, NULL), ST_E_INVALID_ARGUMENT);
    /* C64 is never converted */
    assert_int_equal(st_convert_to_f32(ST_C64, src, 0, 1, dst), ST_E_DTYPE_MISMATCH);
    assert_int_equal(st_convert_to_f32(ST_C64, src, 0, 0, dst), ST_E_DTYPE_MISMATCH);
    /* ranges no buffer can have */
    assert_int_equal(st_convert_to_f32(ST_U8, src, UINT64_MAX, 1, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_U8, src, 1, UINT64_MAX, dst), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_F64, src, UINT64_MAX / 8, 1, dst),
                     ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_convert_to_f32(ST_F4, src, UINT64_MAX - 1, 1, dst), ST_E_INVALID_ARGUMENT);
    /* every other dtype converts one zero element to +0 */
    for (dt = 1; dt < ST_DTYPE_COUNT_; dt++) {
        if (dt == ST_C64) continue;
        dst[0] = -1.0f;
        assert_int_equal(st_convert_to_f32(dt, src, 0, 1, dst), ST_OK);
        if (dt == ST_F8_E8M0) assert_true(dst[0] == (float)p2(-127));
        else assert_int_equal(fbits(dst[0]), 0u);
    }
}

/* A file with tensors of several dtypes, sub-byte ones included. */
static const char TENSOR_HDR[] =
    "{\"f4\":{\"dtype\":\"F4\",\"shape\":[3,2],\"data_offsets\":[0,3]},"
    "\"e2m3\":{\"dtype\":\"F6_E2M3\",\"shape\":[8],\"data_offsets\":[3,9]},"
    "\"e3m2\":{\"dtype\":\"F6_E3M2\",\"shape\":[2,2,3],\"data_offsets\":[9,18]},"
    "\"bf\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[18,28]},"
    "\"c\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[28,36]},"
    "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[36,40]},"
    "\"e\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[40,40]},"
    "\"h\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[40,54]}}";

static void test_tensor_to_f32(void **state)
{
    size_t n, i, first, count;
    unsigned char *bytes = stt_build_str(TENSOR_HDR, 54, &n);
    st_file *f = NULL;
    const st_tensor *t;
    static const char *const names[] = {"f4", "e2m3", "e3m2", "bf", "s", "h"};
    float all[16], part[16];
    unsigned char *ubuf = xmalloc(4 * 16 + 1);
    (void)state;
    assert_int_equal(st_open_memory(&f, bytes, n, NULL, NULL), ST_OK);

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        t = st_tensor_find(f, names[i]);
        assert_non_null(t);
        assert_true(t->numel <= 16);
        assert_int_equal(st_tensor_to_f32(t, 0, t->numel, all), ST_OK);
        /* every window agrees with the whole, into an unaligned dst too */
        for (first = 0; first <= t->numel; first++)
            for (count = 0; first + count <= t->numel; count++) {
                memset(part, 0, sizeof part);
                assert_int_equal(st_tensor_to_f32(t, first, count, part), ST_OK);
                if (count == 0) continue;
                assert_memory_equal(part, all + first, count * 4);
                assert_int_equal(st_tensor_to_f32(t, first, count, (float *)(void *)(ubuf + 1)),
                                 ST_OK);
                assert_memory_equal(ubuf + 1, all + first, count * 4);
            }
        /* range checks */
        assert_int_equal(st_tensor_to_f32(t, t->numel, 0, part), ST_OK);
        assert_int_equal(st_tensor_to_f32(t, t->numel + 1, 0, part), ST_E_RANGE);
        assert_int_equal(st_tensor_to_f32(t, 0, t->numel + 1, part), ST_E_RANGE);
        assert_int_equal(st_tensor_to_f32(t, 1, t->numel, part), ST_E_RANGE);
        assert_int_equal(st_tensor_to_f32(t, 1, UINT64_MAX, part), ST_E_RANGE);
        assert_int_equal(st_tensor_to_f32(t, UINT64_MAX, 2, part), ST_E_RANGE);
        assert_int_equal(st_tensor_to_f32(t, 0, 1, NULL), ST_E_INVALID_ARGUMENT);
        assert_int_equal(st_tensor_to_f32(t, 0, 0, NULL), ST_OK);
    }

    /* values, from the stt data pattern byte i = (i * 7 + 3) & 0xff */
    t = st_tensor_find(f, "f4"); /* bytes 03 0a 11 */
    assert_int_equal(st_tensor_to_f32(t, 0, 6, all), ST_OK);
    assert_true(all[0] == mini(3, 2, 1, 1) && all[1] == mini(0, 2, 1, 1));
    assert_true(all[2] == mini(0xa, 2, 1, 1) && all[3] == mini(0, 2, 1, 1));
    assert_true(all[4] == mini(1, 2, 1, 1) && all[5] == mini(1, 2, 1, 1));
    assert_int_equal(st_tensor_to_f32(t, 3, 2, all), ST_OK); /* odd first */
    assert_true(all[0] == mini(0, 2, 1, 1) && all[1] == mini(1, 2, 1, 1));
    t = st_tensor_find(f, "e2m3"); /* bytes 3..8: 18 1f 26 | 2d 34 3b */
    assert_int_equal(st_tensor_to_f32(t, 0, 8, all), ST_OK);
    {
        uint32_t w1 = 0x18u | 0x1fu << 8 | 0x26u << 16, w2 = 0x2du | 0x34u << 8 | 0x3bu << 16;
        for (i = 0; i < 4; i++) {
            assert_true(all[i] == mini((w1 >> (6 * i)) & 63, 2, 3, 1));
            assert_true(all[4 + i] == mini((w2 >> (6 * i)) & 63, 2, 3, 1));
        }
        assert_int_equal(st_tensor_to_f32(t, 3, 3, part), ST_OK); /* first % 4 == 3 */
        assert_true(part[0] == mini((w1 >> 18) & 63, 2, 3, 1));
        assert_true(part[1] == mini(w2 & 63, 2, 3, 1));
        assert_true(part[2] == mini((w2 >> 6) & 63, 2, 3, 1));
    }
    t = st_tensor_find(f, "bf"); /* bytes 18..21: 81 88 | 8f 96 */
    assert_int_equal(st_tensor_to_f32(t, 1, 1, all), ST_OK);
    assert_int_equal(fbits(all[0]), 0x968f0000u);

    /* C64 and NULL */
    t = st_tensor_find(f, "c");
    assert_non_null(t);
    assert_int_equal(st_tensor_to_f32(t, 0, 1, all), ST_E_DTYPE_MISMATCH);
    assert_int_equal(st_tensor_to_f32(NULL, 0, 0, all), ST_E_INVALID_ARGUMENT);
    /* empty tensor */
    t = st_tensor_find(f, "e");
    assert_int_equal(st_tensor_to_f32(t, 0, 0, NULL), ST_OK);
    assert_int_equal(st_tensor_to_f32(t, 0, 1, all), ST_E_RANGE);

    st_close(f);
    free(bytes);
    free(ubuf);
}

/* Long runs cross the block boundary: BF16 and F16 of 1000 elements against
 * one-element conversions. */
static void test_long_runs(void **state)
{
    static const int dts[] = {ST_BF16, ST_F16, ST_I16, ST_U16, ST_I32, ST_U32, ST_F64, ST_I64,
                              ST_U64, ST_BOOL, ST_I8, ST_U8, ST_F8_E4M3, ST_F4, ST_F6_E2M3};
    size_t n = 1000, i, k;
    unsigned char *src = xmalloc(8 * n + 1);
    float *all = xmalloc(4 * n), one;
    (void)state;
    for (i = 0; i < 8 * n + 1; i++) src[i] = (unsigned char)((i * 131 + 7) ^ (i >> 3));
    for (k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        assert_int_equal(st_convert_to_f32(dts[k], src + 1, 0, n, all), ST_OK);
        for (i = 0; i < n; i++) {
            assert_int_equal(st_convert_to_f32(dts[k], src + 1, i, 1, &one), ST_OK);
            if (fbits(one) != fbits(all[i])) {
                print_error("%s element %lu: bulk 0x%08lx, alone 0x%08lx\n",
                            st_dtype_name(dts[k]), (unsigned long)i,
                            (unsigned long)fbits(all[i]), (unsigned long)fbits(one));
                fail();
            }
        }
    }
    free(src);
    free(all);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest ref_tests[] = {
        cmocka_unit_test(test_ref_complete),
        cmocka_unit_test(test_ref_bool),
        cmocka_unit_test(test_ref_u8),
        cmocka_unit_test(test_ref_i8),
        cmocka_unit_test(test_ref_e5m2),
        cmocka_unit_test(test_ref_e4m3),
        cmocka_unit_test(test_ref_e8m0),
        cmocka_unit_test(test_ref_e4m3fnuz),
        cmocka_unit_test(test_ref_e5m2fnuz),
        cmocka_unit_test(test_ref_f4),
        cmocka_unit_test(test_ref_f6_e2m3),
        cmocka_unit_test(test_ref_f6_e3m2),
        cmocka_unit_test(test_ref_i16),
        cmocka_unit_test(test_ref_u16),
        cmocka_unit_test(test_ref_f16),
        cmocka_unit_test(test_ref_bf16),
        cmocka_unit_test(test_ref_i32),
        cmocka_unit_test(test_ref_u32),
        cmocka_unit_test(test_ref_f32),
        cmocka_unit_test(test_ref_f64),
        cmocka_unit_test(test_ref_i64),
        cmocka_unit_test(test_ref_u64),
        cmocka_unit_test(test_ref_to_bf16),
        cmocka_unit_test(test_ref_to_f16),
        cmocka_unit_test(test_ref_encode_lengths),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_packing_by_hand),
        cmocka_unit_test(test_encode_by_hand),
        cmocka_unit_test(test_convert_arguments),
        cmocka_unit_test(test_tensor_to_f32),
        cmocka_unit_test(test_long_runs),
    };
    int rc;
    (void)argc;
    if (argv && argv[0]) g_argv0 = argv[0];
    rc = cmocka_run_group_tests_name("convert", tests, NULL, NULL);
    rc += cmocka_run_group_tests_name("convert_reference", ref_tests, ref_setup, ref_teardown);
    return rc;
}
