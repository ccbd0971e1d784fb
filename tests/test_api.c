/* The public API on valid files: lookup, iteration, tensor fields, typed
 * access, copies, metadata, the error record, NULL tolerance, options, and the
 * allocator hook (counting and failing allocators). */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt.h"
#include "stt_os.h"

/* Views need the element's natural alignment (its size; 4 for C64), the same
 * on every ABI (i386 aligns double and int64_t to 4 in structs: not enough). */
#define VIEW_ALIGN(T) sizeof(T)

/* 1 on a little-endian host. On a big-endian one (make check-s390x) every
 * multi-byte typed view is ST_E_BYTE_ORDER, checked before alignment and also
 * for empty tensors: the answer depends on the host alone. */
static int host_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* What a view of the right dtype gives when aligned (or empty). */
static st_status view_ok(size_t elem_size)
{
    return elem_size > 1 && !host_le() ? ST_E_BYTE_ORDER : ST_OK;
}

/* On a big-endian host, turns count little-endian units (as st_tensor_copy
 * gives them) into host order in place; nothing on a little-endian one. */
static void le_to_host(void *p, size_t unit, size_t count)
{
    unsigned char *b = p, t;
    size_t i, j;
    if (host_le()) return;
    for (i = 0; i < count; i++, b += unit)
        for (j = 0; j < unit / 2; j++) {
            t = b[j];
            b[j] = b[unit - 1 - j];
            b[unit - 1 - j] = t;
        }
}

/* ---------------------------------------------------------------- helpers */

/* File bytes in a 64-byte aligned buffer: the 8-byte prefix, json, spaces so
 * that (8 + N) % 8 == shift, then data (or the stt pattern when data is NULL). */
static unsigned char *mkfile(const char *json, unsigned shift, const void *data,
                             size_t data_len, size_t *out_n)
{
    size_t jl = strlen(json), hn = jl, n, i;
    void *mem = NULL;
    unsigned char *b;
    while ((8 + hn) % 8 != shift % 8) hn++;
    n = 8 + hn + data_len;
    /* freed with stt_aligned_free (Windows: _aligned_malloc, _aligned_free) */
    if (posix_memalign(&mem, 64, n ? n : 1) != 0) abort();
    b = mem;
    for (i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, ' ', hn - jl);
    for (i = 0; i < data_len; i++)
        b[8 + hn + i] = data ? ((const unsigned char *)data)[i] : (unsigned char)((i * 7 + 3) & 0xff);
    *out_n = n;
    return b;
}

static st_file *open_ok(const char *what, const void *bytes, size_t n, const st_open_options *o)
{
    st_file *f = NULL;
    st_error e;
    st_status s = st_open_memory(&f, bytes, n, o, &e);
    if (s != ST_OK || f == NULL) {
        print_error("%s: open failed: %s: %s\n", what, st_status_name(s), e.message);
        fail();
    }
    assert_int_equal(e.code, ST_OK);
    return f;
}

static void expect_status(const char *what, st_status got, const st_error *e, st_status want)
{
    if (got != want || (e && e->code != (int)got)) {
        print_error("%s: want %s, got %s (err.code %s): %s\n", what, st_status_name(want),
                    st_status_name(got), e ? st_status_name(e->code) : "-",
                    e ? e->message : "");
        fail();
    }
}

/* ---------------------------------------------------------------- lookup */

#define U8T(name, b, e) "\"" name "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" #b "," #e "]}"

static const char LOOKUP_HDR[] =
    "{" U8T("a", 0, 1) "," U8T("b", 1, 2) "," U8T("", 2, 3) "," U8T("\\u0077\\u00e9", 3, 4) ","
    U8T("x\\\"y\\\\z", 4, 5) "," U8T("tab\\t", 5, 6) "," U8T("\\ud83d\\ude00", 6, 7) ","
    U8T("ab", 7, 8) "," U8T("a/b.c", 8, 9) "," U8T("\\u0041\\/", 9, 10) "}";

static void test_lookup_by_name(void **state)
{
    static const struct {
        const char *name; /* unescaped, as the caller asks */
        size_t len;
        uint64_t begin;   /* identifies the tensor; UINT64_MAX: absent */
    } cases[] = {
        {"a", 1, 0},
        {"b", 1, 1},
        {"", 0, 2},
        {"w\xc3\xa9", 3, 3},
        {"x\"y\\z", 5, 4},
        {"tab\t", 4, 5},
        {"\xf0\x9f\x98\x80", 4, 6},
        {"ab", 2, 7},
        {"a/b.c", 5, 8},
        {"A/", 2, 9},
        /* absent */
        {"c", 1, UINT64_MAX},
        {"A", 1, UINT64_MAX},
        {"a ", 2, UINT64_MAX},
        {" a", 2, UINT64_MAX},
        {"abc", 3, UINT64_MAX},
        {"\\u0077\\u00e9", 12, UINT64_MAX}, /* the escaped spelling is not the name */
        {"tab", 3, UINT64_MAX},
        {"x\\\"y\\\\z", 7, UINT64_MAX},
        {"\xc3\xa9", 2, UINT64_MAX},
        {"__metadata__", 12, UINT64_MAX},
    };
    size_t n, i;
    unsigned char *b = stt_build_str(LOOKUP_HDR, 10, &n);
    st_file *f = open_ok("lookup", b, n, NULL);
    (void)state;
    assert_int_equal(st_tensor_count(f), 10);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const st_tensor *t1 = st_tensor_find(f, cases[i].name);
        const st_tensor *t2 = st_tensor_find_n(f, cases[i].name, cases[i].len);
        assert_int_equal(strlen(cases[i].name), cases[i].len);
        if (cases[i].begin == UINT64_MAX) {
            if (t1 || t2) {
                print_error("lookup case %zu \"%s\": should be absent\n", i, cases[i].name);
                fail();
            }
            continue;
        }
        if (!t1 || !t2 || t1->begin != cases[i].begin || t2->begin != cases[i].begin ||
            t1->name_len != cases[i].len || memcmp(t1->name, cases[i].name, cases[i].len) != 0 ||
            t1->name[t1->name_len] != '\0') {
            print_error("lookup case %zu \"%s\": not found or wrong tensor\n", i, cases[i].name);
            fail();
        }
    }
    st_close(f);
    free(b);
}

static void test_lookup_find_n(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str(LOOKUP_HDR, 10, &n);
    st_file *f = open_ok("find_n", b, n, NULL);
    /* not NUL-terminated: the length decides */
    static const char buf[] = {'a', 'b', 'X', 'Y'};
    const st_tensor *t;
    (void)state;
    t = st_tensor_find_n(f, buf, 1);
    assert_non_null(t);
    assert_string_equal(t->name, "a");
    t = st_tensor_find_n(f, buf, 2);
    assert_non_null(t);
    assert_string_equal(t->name, "ab");
    t = st_tensor_find_n(f, buf, 0);
    assert_non_null(t);
    assert_string_equal(t->name, "");
    assert_int_equal(t->name_len, 0);
    assert_null(st_tensor_find_n(f, buf, 3));
    assert_null(st_tensor_find_n(f, buf, 4));
    /* a name with NUL is never found, even when its prefix exists */
    assert_null(st_tensor_find_n(f, "a\0", 2));
    assert_null(st_tensor_find_n(f, "a\0b", 3));
    assert_null(st_tensor_find_n(f, "\0", 1));
    assert_null(st_tensor_find_n(f, "ab\0", 3));
    /* NULL arguments */
    assert_null(st_tensor_find(f, NULL));
    assert_null(st_tensor_find_n(f, NULL, 1));
    assert_null(st_tensor_find(NULL, "a"));
    assert_null(st_tensor_find_n(NULL, "a", 1));
    st_close(f);
    free(b);
}

/* The header: "NULL if absent or if an argument is NULL". A NULL name with
 * length 0 is a NULL argument, even in a file that has a tensor named "". */
static void test_lookup_find_n_null_name_len0(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str(LOOKUP_HDR, 10, &n);
    st_file *f = open_ok("find_n NULL", b, n, NULL);
    const st_tensor *t;
    (void)state;
    assert_non_null(st_tensor_find(f, ""));
    t = st_tensor_find_n(f, NULL, 0);
    if (t != NULL)
        print_error("st_tensor_find_n(f, NULL, 0) returned the tensor \"%s\" instead of NULL\n",
                    t->name);
    st_close(f);
    free(b);
    assert_null(t);
}

static void test_lookup_many(void **state)
{
    enum { K = 1000 };
    char *hdr = malloc(K * 80 + 16), name[32];
    size_t len = 0, n;
    unsigned char *b;
    st_file *f;
    int k;
    (void)state;
    assert_non_null(hdr);
    len += (size_t)sprintf(hdr, "{");
    for (k = 0; k < K; k++)
        len += (size_t)sprintf(hdr + len, "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[1],"
                                          "\"data_offsets\":[%d,%d]}",
                               k ? "," : "", k, k, k + 1);
    sprintf(hdr + len, "}");
    b = stt_build_str(hdr, K, &n);
    f = open_ok("1000 tensors", b, n, NULL);
    assert_int_equal(st_tensor_count(f), K);
    for (k = 0; k < K; k++) {
        const st_tensor *t;
        sprintf(name, "t%d", k);
        t = st_tensor_find(f, name);
        if (!t || strcmp(t->name, name) != 0 || t->begin != (uint64_t)k || t->index != (uint64_t)k) {
            print_error("lookup of %s failed\n", name);
            fail();
        }
    }
    assert_null(st_tensor_find(f, "t1000"));
    assert_null(st_tensor_find(f, "t-1"));
    assert_null(st_tensor_find(f, "t01"));
    st_close(f);
    free(b);
    free(hdr);
}

/* ---------------------------------------------------------------- iteration and fields */

static void test_iteration_order(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str(LOOKUP_HDR, 10, &n);
    st_file *f = open_ok("iteration", b, n, NULL);
    uint64_t i;
    (void)state;
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        assert_non_null(t);
        assert_int_equal(t->index, i);
        assert_int_equal(t->begin, i); /* one byte each, in offset order */
        assert_int_equal(st_tensor_find_n(f, t->name, (size_t)t->name_len)->index, i);
    }
    assert_null(st_tensor_at(f, st_tensor_count(f)));
    assert_null(st_tensor_at(f, UINT64_MAX));
    assert_null(st_tensor_at(f, (uint64_t)1 << 32));
    st_close(f);
    free(b);
}

static void test_tensor_fields(void **state)
{
    static const char hdr[] =
        "{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
        "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
        "\"scalar\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]},"
        "\"\\u00e9t\\u00e9\":{\"dtype\":\"BOOL\",\"shape\":[1,1,1,5],\"data_offsets\":[40,45]}}";
    static const struct {
        const char *name;
        uint64_t name_len;
        st_dtype dt;
        uint32_t rank;
        uint64_t shape[4];
        uint64_t numel, nbytes, begin, end, index;
    } want[] = {
        {"h", 1, ST_F16, 1, {4, 0, 0, 0}, 4, 8, 0, 8, 0},
        {"weight", 6, ST_F32, 2, {2, 3, 0, 0}, 6, 24, 8, 32, 1},
        {"scalar", 6, ST_I64, 0, {0, 0, 0, 0}, 1, 8, 32, 40, 2},
        {"\xc3\xa9t\xc3\xa9", 5, ST_BOOL, 4, {1, 1, 1, 5}, 5, 5, 40, 45, 3},
    };
    size_t n, i, k;
    unsigned char *b = stt_build_str(hdr, 45, &n);
    st_file *f = open_ok("fields", b, n, NULL);
    const unsigned char *base = st_file_bytes(f);
    uint64_t doff = 8 + (sizeof hdr - 1);
    (void)state;
    assert_ptr_equal(base, b);
    assert_int_equal(st_file_size(f), n);
    assert_int_equal(st_file_header_size(f), sizeof hdr - 1);
    assert_int_equal(st_file_data_offset(f), doff);
    assert_int_equal(st_file_data_size(f), 45);
    assert_int_equal(st_tensor_count(f), 4);
    for (i = 0; i < 4; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        assert_non_null(t);
        assert_non_null(st_tensor_find(f, want[i].name));
        assert_int_equal(st_tensor_find(f, want[i].name)->index, i);
        assert_string_equal(t->name, want[i].name);
        assert_int_equal(t->name_len, want[i].name_len);
        assert_int_equal(t->name[t->name_len], '\0');
        assert_int_equal(t->dtype, want[i].dt);
        assert_int_equal(t->rank, want[i].rank);
        if (want[i].rank == 0) assert_null(t->shape);
        for (k = 0; k < want[i].rank; k++) assert_int_equal(t->shape[k], want[i].shape[k]);
        assert_int_equal(t->numel, want[i].numel);
        assert_int_equal(t->nbytes, want[i].nbytes);
        assert_int_equal(t->begin, want[i].begin);
        assert_int_equal(t->end, want[i].end);
        assert_int_equal(t->offset, doff + want[i].begin);
        assert_ptr_equal(t->data, base + doff + want[i].begin);
        assert_int_equal(t->index, want[i].index);
        /* the data is the bytes written */
        assert_memory_equal(t->data, b + doff + want[i].begin, (size_t)want[i].nbytes);
    }
    st_close(f);
    free(b);
}

/* ---------------------------------------------------------------- typed access */

#define WRAP(fn, T)                                                                  \
    static st_status call_##fn(const st_tensor *t, const void **out, int null_out)   \
    {                                                                                \
        static const T sentinel_;                                                    \
        const T *p = &sentinel_;                                                     \
        st_status s;                                                                 \
        if (null_out) return st_tensor_as_##fn(t, NULL);                             \
        s = st_tensor_as_##fn(t, &p);                                                \
        *out = p;                                                                    \
        return s;                                                                    \
    }
WRAP(f32, float)
WRAP(f64, double)
WRAP(f16, uint16_t)
WRAP(bf16, uint16_t)
WRAP(c64, float)
WRAP(i8, int8_t)
WRAP(u8, uint8_t)
WRAP(bool, uint8_t)
WRAP(i16, int16_t)
WRAP(u16, uint16_t)
WRAP(i32, int32_t)
WRAP(u32, uint32_t)
WRAP(i64, int64_t)
WRAP(u64, uint64_t)

typedef struct accessor {
    const char *fn;
    st_dtype dt;
    const char *dtname;
    size_t align;
    st_status (*call)(const st_tensor *, const void **, int);
} accessor;

static const accessor ACC[] = {
    {"st_tensor_as_f32", ST_F32, "F32", VIEW_ALIGN(float), call_f32},
    {"st_tensor_as_f64", ST_F64, "F64", VIEW_ALIGN(double), call_f64},
    {"st_tensor_as_f16", ST_F16, "F16", VIEW_ALIGN(uint16_t), call_f16},
    {"st_tensor_as_bf16", ST_BF16, "BF16", VIEW_ALIGN(uint16_t), call_bf16},
    {"st_tensor_as_c64", ST_C64, "C64", VIEW_ALIGN(float), call_c64},
    {"st_tensor_as_i8", ST_I8, "I8", 1, call_i8},
    {"st_tensor_as_u8", ST_U8, "U8", 1, call_u8},
    {"st_tensor_as_bool", ST_BOOL, "BOOL", 1, call_bool},
    {"st_tensor_as_i16", ST_I16, "I16", VIEW_ALIGN(uint16_t), call_i16},
    {"st_tensor_as_u16", ST_U16, "U16", VIEW_ALIGN(uint16_t), call_u16},
    {"st_tensor_as_i32", ST_I32, "I32", VIEW_ALIGN(uint32_t), call_i32},
    {"st_tensor_as_u32", ST_U32, "U32", VIEW_ALIGN(uint32_t), call_u32},
    {"st_tensor_as_i64", ST_I64, "I64", VIEW_ALIGN(uint64_t), call_i64},
    {"st_tensor_as_u64", ST_U64, "U64", VIEW_ALIGN(uint64_t), call_u64},
};
#define N_ACC (sizeof ACC / sizeof ACC[0])

static const struct {
    const char *name;
    unsigned bits;
} ALL_DT[22] = {
    {"BOOL", 8}, {"U8", 8}, {"I8", 8}, {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8},
    {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"F4", 4}, {"F6_E2M3", 6}, {"F6_E3M2", 6},
    {"I16", 16}, {"U16", 16}, {"F16", 16}, {"BF16", 16}, {"I32", 32}, {"U32", 32},
    {"F32", 32}, {"C64", 64}, {"F64", 64}, {"I64", 64}, {"U64", 64},
};

/* Every accessor against a tensor of every dtype (each 24 bytes, 8-aligned). */
static void test_typed_dtype_matrix(void **state)
{
    char hdr[4096];
    size_t len = 0, n, i, a;
    unsigned char *b;
    st_file *f;
    (void)state;
    len += (size_t)snprintf(hdr, sizeof hdr, "{");
    for (i = 0; i < 22; i++)
        len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                "%s\"t_%s\":{\"dtype\":\"%s\",\"shape\":[%u],"
                                "\"data_offsets\":[%zu,%zu]}",
                                i ? "," : "", ALL_DT[i].name, ALL_DT[i].name,
                                192u / ALL_DT[i].bits, 24 * i, 24 * i + 24);
    snprintf(hdr + len, sizeof hdr - len, "}");
    b = mkfile(hdr, 0, NULL, 24 * 22, &n);
    f = open_ok("22 dtypes", b, n, NULL);
    assert_int_equal(st_tensor_count(f), 22);
    for (i = 0; i < 22; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        assert_int_equal(t->dtype, (st_dtype)(i + 1));
        assert_int_equal((uintptr_t)t->data % 8, 0);
        for (a = 0; a < N_ACC; a++) {
            const void *out = NULL;
            st_status s = ACC[a].call(t, &out, 0);
            int match = ACC[a].dt == t->dtype;
            st_status want = match ? view_ok(st_dtype_bits(t->dtype) / 8) : ST_E_DTYPE_MISMATCH;
            if (s != want || out != (want == ST_OK ? t->data : NULL)) {
                print_error("%s on %s: want %s, got %s, out %s\n", ACC[a].fn, t->name,
                            st_status_name(want), st_status_name(s),
                            out == NULL ? "NULL" : out == t->data ? "data" : "other");
                fail();
            }
        }
    }
    st_close(f);
    stt_aligned_free(b);
}

static void test_typed_null_args(void **state)
{
    size_t n, a;
    unsigned char *b = mkfile("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0,
                              NULL, 8, &n);
    st_file *f = open_ok("null args", b, n, NULL);
    const st_tensor *t = st_tensor_at(f, 0);
    (void)state;
    for (a = 0; a < N_ACC; a++) {
        const void *out = NULL;
        st_status s = ACC[a].call(NULL, &out, 0);
        if (s != ST_E_INVALID_ARGUMENT || out != NULL) {
            print_error("%s(NULL, &out): want ST_E_INVALID_ARGUMENT and NULL, got %s\n",
                        ACC[a].fn, st_status_name(s));
            fail();
        }
        s = ACC[a].call(t, NULL, 1);
        if (s != ST_E_INVALID_ARGUMENT) {
            print_error("%s(t, NULL): want ST_E_INVALID_ARGUMENT, got %s\n", ACC[a].fn,
                        st_status_name(s));
            fail();
        }
        s = ACC[a].call(NULL, NULL, 1);
        assert_int_equal(s, ST_E_INVALID_ARGUMENT);
    }
    st_close(f);
    stt_aligned_free(b);
}

/* The tensor sits at data offset k after a k-byte U8 tensor; the buffer is
 * 64-aligned and 8 + N is a multiple of 8, so its address is k mod 8. */
static void test_typed_alignment(void **state)
{
    size_t a, n;
    unsigned k;
    int misaligned_seen = 0;
    (void)state;
    for (a = 0; a < N_ACC; a++) {
        for (k = 0; k < 8; k++) {
            char hdr[256];
            unsigned char *b, copy[24];
            st_file *f;
            const st_tensor *t;
            const void *out = NULL;
            st_status s, want;
            unsigned bits = ACC[a].dt == ST_BOOL || ACC[a].dt == ST_U8 || ACC[a].dt == ST_I8 ? 8
                            : ACC[a].dt == ST_F16 || ACC[a].dt == ST_BF16 ||
                                  ACC[a].dt == ST_I16 || ACC[a].dt == ST_U16
                                ? 16
                            : ACC[a].dt == ST_F32 || ACC[a].dt == ST_I32 || ACC[a].dt == ST_U32
                                ? 32
                                : 64;
            snprintf(hdr, sizeof hdr,
                     "{\"p\":{\"dtype\":\"U8\",\"shape\":[%u],\"data_offsets\":[0,%u]},"
                     "\"t\":{\"dtype\":\"%s\",\"shape\":[%u],\"data_offsets\":[%u,%u]}}",
                     k, k, ACC[a].dtname, 192u / bits, k, k + 24);
            b = mkfile(hdr, 0, NULL, k + 24, &n);
            f = open_ok(hdr, b, n, NULL);
            t = st_tensor_find(f, "t");
            assert_non_null(t);
            assert_int_equal((uintptr_t)t->data % 8, k);
            want = (uintptr_t)t->data % ACC[a].align == 0 ? ST_OK : ST_E_MISALIGNED;
            if (view_ok(bits / 8) != ST_OK) want = view_ok(bits / 8);
            if (want == ST_E_MISALIGNED) misaligned_seen = 1;
            s = ACC[a].call(t, &out, 0);
            if (s != want || out != (want == ST_OK ? t->data : NULL)) {
                print_error("%s on %s at address %% 8 == %u: want %s, got %s\n", ACC[a].fn,
                            ACC[a].dtname, k, st_status_name(want), st_status_name(s));
                fail();
            }
            /* st_tensor_copy works at any alignment and gives the stored bytes */
            memset(copy, 0, sizeof copy);
            assert_int_equal(st_tensor_copy(t, 0, copy, 24), ST_OK);
            assert_memory_equal(copy, b + st_file_data_offset(f) + k, 24);
            st_close(f);
            stt_aligned_free(b);
        }
    }
    /* (a big-endian host refuses every multi-byte view before looking at the
     * address: there is no misaligned case to see) */
    assert_true(misaligned_seen == host_le());
}

/* Empty tensors (no elements) at an aligned address, and their other calls. */
static void test_typed_empty_tensor(void **state)
{
    size_t n;
    unsigned char *b = mkfile("{\"p\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                              "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                              "\"d\":{\"dtype\":\"F64\",\"shape\":[4,0],\"data_offsets\":[8,8]}}",
                              0, NULL, 8, &n);
    st_file *f = open_ok("empty tensors", b, n, NULL);
    const st_tensor *e = st_tensor_find(f, "e"), *d = st_tensor_find(f, "d");
    const float *pf = NULL;
    const double *pd = NULL;
    const int32_t *pi = NULL;
    unsigned char dst[1] = {0x11};
    (void)state;
    assert_int_equal((uintptr_t)e->data % 8, 0);
    assert_int_equal(st_tensor_as_f32(e, &pf), view_ok(4));
    assert_int_equal(st_tensor_as_f64(d, &pd), view_ok(8));
    assert_int_equal(st_tensor_as_i32(e, &pi), ST_E_DTYPE_MISMATCH);
    assert_null(pi);
    assert_int_equal(st_tensor_copy(e, 0, NULL, 0), ST_OK);
    assert_int_equal(st_tensor_copy(d, 0, dst, 0), ST_OK);
    assert_int_equal(st_tensor_copy(d, 0, dst, 1), ST_E_RANGE);
    assert_int_equal(dst[0], 0x11);
    st_close(f);
    stt_aligned_free(b);
}

/* The header: "A tensor with no elements gives ST_OK and a pointer that must
 * not be read" -- here at an address where a non-empty F32/F64 would be
 * misaligned. */
static void test_typed_empty_tensor_misaligned(void **state)
{
    size_t n;
    unsigned char *b = mkfile("{\"p\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                              "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[1,1]},"
                              "\"d\":{\"dtype\":\"F64\",\"shape\":[4,0],\"data_offsets\":[1,1]}}",
                              0, NULL, 1, &n);
    st_file *f = open_ok("empty tensors, odd address", b, n, NULL);
    const float *pf = NULL;
    const double *pd = NULL;
    st_status s1, s2;
    (void)state;
    assert_int_equal((uintptr_t)st_tensor_find(f, "e")->data % 8, 1);
    s1 = st_tensor_as_f32(st_tensor_find(f, "e"), &pf);
    s2 = st_tensor_as_f64(st_tensor_find(f, "d"), &pd);
    st_close(f);
    stt_aligned_free(b);
    if (s1 != view_ok(4) || s2 != view_ok(8)) {
        print_error("empty F32 / F64 at an odd address: want %s, got %s / %s\n",
                    st_status_name(view_ok(4)), st_status_name(s1), st_status_name(s2));
        fail();
    }
}

/* ---------------------------------------------------------------- values */

static void put_le(unsigned char *p, uint64_t v, unsigned nbytes)
{
    unsigned i;
    for (i = 0; i < nbytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static uint64_t f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    return u;
}

/* Writes known values little-endian; reads them back typed (aligned file) and
 * through st_tensor_copy (file shifted so every tensor is misaligned). */
static void test_typed_values(void **state)
{
    static const float fv[4] = {1.5f, -2.25f, 3.0e10f, -0.0f};
    static const double dv[3] = {3.141592653589793, -1e-300, 65504.0};
    static const int64_t iv[3] = {INT64_MIN, -1, INT64_MAX};
    static const uint16_t hv[4] = {0x3c00, 0x7bff, 0x8001, 0xffff};
    static const int32_t i32v[2] = {-123456789, 2147483647};
    static const int8_t i8v[8] = {-128, -1, 0, 1, 2, 3, 126, 127};
    const char *hdr =
        "{\"f\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[16,40]},"
        "\"i\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[40,64]},"
        "\"h\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[64,72]},"
        "\"j\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[72,80]},"
        "\"b\":{\"dtype\":\"I8\",\"shape\":[8],\"data_offsets\":[80,88]},"
        "\"c\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[88,104]}}";
    unsigned char data[104];
    unsigned shift;
    size_t i;
    (void)state;
    for (i = 0; i < 4; i++) put_le(data + 4 * i, f32_bits(fv[i]), 4);
    for (i = 0; i < 3; i++) put_le(data + 16 + 8 * i, f64_bits(dv[i]), 8);
    for (i = 0; i < 3; i++) put_le(data + 40 + 8 * i, (uint64_t)iv[i], 8);
    for (i = 0; i < 4; i++) put_le(data + 64 + 2 * i, hv[i], 2);
    for (i = 0; i < 2; i++) put_le(data + 72 + 4 * i, (uint32_t)i32v[i], 4);
    for (i = 0; i < 8; i++) data[80 + i] = (unsigned char)i8v[i];
    for (i = 0; i < 4; i++) put_le(data + 88 + 4 * i, f32_bits(fv[i]), 4);
    for (shift = 0; shift < 8; shift += 1) {
        size_t n;
        unsigned char *b = mkfile(hdr, shift, data, sizeof data, &n);
        st_file *f = open_ok("values", b, n, NULL);
        float fo[4];
        double dout[3];
        int64_t io[3];
        uint16_t ho[4];
        int32_t jo[2];
        int8_t bo[8];
        float co[4];
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "f"), 0, fo, 16), ST_OK);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "d"), 0, dout, 24), ST_OK);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "i"), 0, io, 24), ST_OK);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "h"), 0, ho, 8), ST_OK);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "j"), 0, jo, 8), ST_OK);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "b"), 0, bo, 8), ST_OK);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "c"), 0, co, 16), ST_OK);
        /* st_tensor_copy gives the stored little-endian bytes */
        le_to_host(fo, 4, 4);
        le_to_host(dout, 8, 3);
        le_to_host(io, 8, 3);
        le_to_host(ho, 2, 4);
        le_to_host(jo, 4, 2);
        le_to_host(co, 4, 4);
        for (i = 0; i < 4; i++) assert_int_equal(f32_bits(fo[i]), f32_bits(fv[i]));
        for (i = 0; i < 3; i++) assert_int_equal(f64_bits(dout[i]), f64_bits(dv[i]));
        for (i = 0; i < 3; i++) assert_true(io[i] == iv[i]);
        for (i = 0; i < 4; i++) assert_int_equal(ho[i], hv[i]);
        for (i = 0; i < 2; i++) assert_true(jo[i] == i32v[i]);
        for (i = 0; i < 8; i++) assert_true(bo[i] == i8v[i]);
        for (i = 0; i < 4; i++) assert_int_equal(f32_bits(co[i]), f32_bits(fv[i]));
        if (shift == 0 && !host_le()) {
            /* big-endian host: multi-byte views refused, bytes still viewable */
            const float *pf = fo;
            const double *pd = dout;
            const int64_t *pi = io;
            const uint16_t *ph = ho;
            const int32_t *pj = jo;
            const int8_t *pb = NULL;
            const float *pc = co;
            assert_int_equal(st_tensor_as_f32(st_tensor_find(f, "f"), &pf), ST_E_BYTE_ORDER);
            assert_int_equal(st_tensor_as_f64(st_tensor_find(f, "d"), &pd), ST_E_BYTE_ORDER);
            assert_int_equal(st_tensor_as_i64(st_tensor_find(f, "i"), &pi), ST_E_BYTE_ORDER);
            assert_int_equal(st_tensor_as_bf16(st_tensor_find(f, "h"), &ph), ST_E_BYTE_ORDER);
            assert_int_equal(st_tensor_as_i32(st_tensor_find(f, "j"), &pj), ST_E_BYTE_ORDER);
            assert_int_equal(st_tensor_as_c64(st_tensor_find(f, "c"), &pc), ST_E_BYTE_ORDER);
            assert_null(pf);
            assert_null(pd);
            assert_null(pi);
            assert_null(ph);
            assert_null(pj);
            assert_null(pc);
            assert_int_equal(st_tensor_as_i8(st_tensor_find(f, "b"), &pb), ST_OK);
            for (i = 0; i < 8; i++) assert_true(pb[i] == i8v[i]);
        } else if (shift == 0) {
            /* aligned: typed views give the same values in place */
            const float *pf;
            const double *pd;
            const int64_t *pi;
            const uint16_t *ph;
            const int32_t *pj;
            const int8_t *pb;
            const float *pc;
            assert_int_equal(st_tensor_as_f32(st_tensor_find(f, "f"), &pf), ST_OK);
            assert_int_equal(st_tensor_as_f64(st_tensor_find(f, "d"), &pd), ST_OK);
            assert_int_equal(st_tensor_as_i64(st_tensor_find(f, "i"), &pi), ST_OK);
            assert_int_equal(st_tensor_as_bf16(st_tensor_find(f, "h"), &ph), ST_OK);
            assert_int_equal(st_tensor_as_i32(st_tensor_find(f, "j"), &pj), ST_OK);
            assert_int_equal(st_tensor_as_i8(st_tensor_find(f, "b"), &pb), ST_OK);
            assert_int_equal(st_tensor_as_c64(st_tensor_find(f, "c"), &pc), ST_OK);
            for (i = 0; i < 4; i++) assert_int_equal(f32_bits(pf[i]), f32_bits(fv[i]));
            for (i = 0; i < 3; i++) assert_int_equal(f64_bits(pd[i]), f64_bits(dv[i]));
            for (i = 0; i < 3; i++) assert_true(pi[i] == iv[i]);
            for (i = 0; i < 4; i++) assert_int_equal(ph[i], hv[i]);
            for (i = 0; i < 2; i++) assert_true(pj[i] == i32v[i]);
            for (i = 0; i < 8; i++) assert_true(pb[i] == i8v[i]);
            for (i = 0; i < 4; i++) assert_int_equal(f32_bits(pc[i]), f32_bits(fv[i]));
        } else if (shift % 4 != 0) {
            const float *pf = fo;
            assert_int_equal(st_tensor_as_f32(st_tensor_find(f, "f"), &pf),
                             host_le() ? ST_E_MISALIGNED : ST_E_BYTE_ORDER);
            assert_null(pf);
        }
        st_close(f);
        stt_aligned_free(b);
    }
}

/* ---------------------------------------------------------------- copy */

static void test_copy_ranges(void **state)
{
    size_t n;
    unsigned char *b = mkfile("{\"x\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
                              "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]}}",
                              3, NULL, 16, &n);
    st_file *f = open_ok("copy", b, n, NULL);
    const st_tensor *t = st_tensor_find(f, "x"), *z = st_tensor_find(f, "z");
    const unsigned char *src;
    unsigned char dst[32], keep[32];
    static const struct {
        uint64_t off, size;
        st_status want;
    } cases[] = {
        {0, 16, ST_OK},   {3, 5, ST_OK},    {15, 1, ST_OK},   {16, 0, ST_OK},
        {0, 0, ST_OK},    {0, 17, ST_E_RANGE}, {16, 1, ST_E_RANGE}, {17, 0, ST_E_RANGE},
        {1, 16, ST_E_RANGE}, {UINT64_MAX, 2, ST_E_RANGE}, {2, UINT64_MAX, ST_E_RANGE},
        {UINT64_MAX, 0, ST_E_RANGE}, {UINT64_MAX - 7, 16, ST_E_RANGE},
    };
    size_t i;
    (void)state;
    assert_non_null(t);
    assert_non_null(z);
    src = t->data;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_status s;
        memset(dst, 0xAA, sizeof dst);
        memcpy(keep, dst, sizeof dst);
        s = st_tensor_copy(t, cases[i].off, dst, cases[i].size);
        if (s != cases[i].want) {
            print_error("copy(off %llu, size %llu): want %s, got %s\n",
                        (unsigned long long)cases[i].off, (unsigned long long)cases[i].size,
                        st_status_name(cases[i].want), st_status_name(s));
            fail();
        }
        if (s == ST_OK) {
            assert_memory_equal(dst, src + cases[i].off, (size_t)cases[i].size);
            /* nothing written past size */
            assert_memory_equal(dst + cases[i].size, keep + cases[i].size,
                                sizeof dst - (size_t)cases[i].size);
        } else {
            assert_memory_equal(dst, keep, sizeof dst); /* nothing copied */
        }
    }
    /* the copied bytes are the bytes written into the file */
    assert_int_equal(st_tensor_copy(t, 0, dst, 16), ST_OK);
    for (i = 0; i < 16; i++) assert_int_equal(dst[i], (i * 7 + 3) & 0xff);
    /* arguments */
    assert_int_equal(st_tensor_copy(NULL, 0, dst, 1), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_copy(NULL, 0, NULL, 0), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_copy(t, 0, NULL, 1), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_copy(t, 0, NULL, 0), ST_OK);
    /* an empty tensor */
    assert_int_equal(st_tensor_copy(z, 0, dst, 0), ST_OK);
    assert_int_equal(st_tensor_copy(z, 0, dst, 1), ST_E_RANGE);
    assert_int_equal(st_tensor_copy(z, 1, dst, 0), ST_E_RANGE);
    st_close(f);
    stt_aligned_free(b);
}

/* ---------------------------------------------------------------- metadata */

static void test_metadata_states(void **state)
{
    static const struct {
        const char *hdr;
        st_metadata_state want;
    } cases[] = {
        {"{}", ST_METADATA_ABSENT},
        {"{\"__metadata__\":null}", ST_METADATA_NULL},
        {"{\"__metadata__\":{}}", ST_METADATA_OBJECT},
        {"{\"__metadata__\" : { } }", ST_METADATA_OBJECT},
        {"{\"\\u005f_metadata__\":null}", ST_METADATA_NULL},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", ST_METADATA_ABSENT},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"__metadata__\":{}}",
         ST_METADATA_OBJECT},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"__metadata__\":null}",
         ST_METADATA_NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        unsigned char *b = stt_build_str(cases[i].hdr, 0, &n);
        st_file *f = open_ok(cases[i].hdr, b, n, NULL);
        if (st_metadata_state_of(f) != cases[i].want) {
            print_error("%s: want metadata state %d, got %d\n", cases[i].hdr, (int)cases[i].want,
                        (int)st_metadata_state_of(f));
            fail();
        }
        assert_int_equal(st_metadata_count(f), 0);
        assert_null(st_metadata_at(f, 0));
        assert_null(st_metadata_find(f, "__metadata__"));
        assert_null(st_metadata_find(f, ""));
        assert_null(st_metadata_find_n(f, "k", 1));
        assert_null(st_tensor_find(f, "__metadata__"));
        st_close(f);
        free(b);
    }
}

static void test_metadata_entries(void **state)
{
    static const char hdr[] =
        "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
        "\"__metadata__\":{\"format\":\"pt\",\"q\":\"x\\\"y\\\\z\\n\\t\\/\",\"nul\":\"a\\u0000b\","
        "\"\\u006b2\":\"v\",\"\":\"empty key\",\"e\":\"\",\"emoji\":\"\\ud83d\\ude00\","
        "\"uni\":\"\\u00e9\\u0000\"}}";
    static const struct {
        const char *key;
        size_t key_len;
        const char *value;
        size_t value_len;
    } want[] = {
        {"format", 6, "pt", 2},
        {"q", 1, "x\"y\\z\n\t/", 8},
        {"nul", 3, "a\0b", 3},
        {"k2", 2, "v", 1},
        {"", 0, "empty key", 9},
        {"e", 1, "", 0},
        {"emoji", 5, "\xf0\x9f\x98\x80", 4},
        {"uni", 3, "\xc3\xa9\0", 3},
    };
    size_t n, i;
    unsigned char *b = stt_build_str(hdr, 1, &n);
    st_file *f = open_ok("metadata entries", b, n, NULL);
    static const char keybuf[] = {'f', 'o', 'r', 'm', 'a', 't', 'X'};
    (void)state;
    assert_int_equal(st_metadata_state_of(f), ST_METADATA_OBJECT);
    assert_int_equal(st_metadata_count(f), 8);
    assert_int_equal(st_tensor_count(f), 1);
    for (i = 0; i < 8; i++) {
        const st_metadata_entry *m = st_metadata_at(f, i);
        const st_metadata_entry *byk = st_metadata_find_n(f, want[i].key, want[i].key_len);
        assert_non_null(m);
        if (m->key_len != want[i].key_len || memcmp(m->key, want[i].key, want[i].key_len) != 0 ||
            m->key[m->key_len] != '\0' || m->value_len != want[i].value_len ||
            memcmp(m->value, want[i].value, want[i].value_len) != 0 ||
            m->value[m->value_len] != '\0') {
            print_error("metadata entry %zu (key \"%s\"): wrong key or value\n", i, want[i].key);
            fail();
        }
        assert_non_null(byk);
        assert_int_equal(byk->value_len, want[i].value_len);
        assert_memory_equal(byk->value, want[i].value, want[i].value_len);
        assert_non_null(st_metadata_find(f, want[i].key));
        assert_int_equal(st_metadata_find(f, want[i].key)->value_len, want[i].value_len);
    }
    assert_null(st_metadata_at(f, 8));
    assert_null(st_metadata_at(f, UINT64_MAX));
    /* lookups */
    assert_string_equal(st_metadata_find(f, "k2")->value, "v");
    assert_null(st_metadata_find(f, "\\u006b2"));
    assert_null(st_metadata_find(f, "missing"));
    assert_null(st_metadata_find(f, "Format"));
    assert_null(st_metadata_find(f, "t"));
    assert_null(st_metadata_find(f, NULL));
    assert_string_equal(st_metadata_find_n(f, keybuf, 6)->value, "pt");
    assert_null(st_metadata_find_n(f, keybuf, 7));
    assert_null(st_metadata_find_n(f, keybuf, 5));
    assert_null(st_metadata_find_n(f, "e\0", 2));
    assert_string_equal(st_metadata_find(f, "")->value, "empty key");
    assert_null(st_tensor_find(f, "format"));
    st_close(f);
    free(b);
}

static void test_metadata_many(void **state)
{
    enum { K = 300 };
    char *hdr = malloc(K * 40 + 64), key[32], val[32];
    size_t len = 0, n;
    unsigned char *b;
    st_file *f;
    int k;
    (void)state;
    assert_non_null(hdr);
    len += (size_t)sprintf(hdr, "{\"__metadata__\":{");
    for (k = 0; k < K; k++)
        len += (size_t)sprintf(hdr + len, "%s\"key%d\":\"value%d\"", k ? "," : "", k, k * 3);
    sprintf(hdr + len, "}}");
    b = stt_build_str(hdr, 0, &n);
    f = open_ok("300 metadata entries", b, n, NULL);
    assert_int_equal(st_metadata_count(f), K);
    for (k = 0; k < K; k++) {
        const st_metadata_entry *m;
        sprintf(key, "key%d", k);
        sprintf(val, "value%d", k * 3);
        m = st_metadata_find(f, key);
        assert_non_null(m);
        assert_string_equal(m->value, val);
        assert_string_equal(st_metadata_at(f, (uint64_t)k)->key, key);
    }
    assert_null(st_metadata_find(f, "key300"));
    st_close(f);
    free(b);
    free(hdr);
}

/* Metadata of K generated entries (meta_build), checked entry by entry: keys
 * and values with NUL (\u0000) in them, an empty key, empty values, some long
 * values (longer than the handle's string blocks, so that values start at a
 * block's end and in blocks of their own) and a long key; the handle makes
 * the public entries 1024 at a time, so K around that straddles chunks. */
typedef struct meta_set {
    size_t k;
    char **key, **val; /* decoded, malloc'd */
    size_t *klen, *vlen;
    unsigned char *file;
    size_t n;
} meta_set;

static size_t meta_long_len(size_t i)
{
    return i % 97 == 13 ? 1000 + (i * 7919) % 150000 : 0;
}

static void meta_build(meta_set *m, size_t k)
{
    size_t i, cap = 64, len = 0, j;
    char *h;
    m->k = k;
    m->key = calloc(k, sizeof *m->key);
    m->val = calloc(k, sizeof *m->val);
    m->klen = calloc(k, sizeof *m->klen);
    m->vlen = calloc(k, sizeof *m->vlen);
    assert_true(m->key && m->val && m->klen && m->vlen);
    for (i = 0; i < k; i++) {
        char kb[64], vb[64];
        size_t kl, vl, ll = meta_long_len(i);
        kl = (size_t)sprintf(kb, "key%zu", i);
        if (i % 7 == 3) { /* a NUL inside: "k\0ey<i>" */
            memmove(kb + 2, kb + 1, kl);
            kb[1] = '\0';
            kl++;
        }
        if (i % 11 == 5) kb[kl++] = '\0'; /* a NUL at the end */
        if (i == 2) kl = 0;                /* the empty key */
        vl = (size_t)sprintf(vb, "v%zu", i * 3);
        if (i % 5 == 1) { /* "v\0<3i>\0x" */
            memmove(vb + 2, vb + 1, vl);
            vb[1] = '\0';
            vl++;
            vb[vl++] = '\0';
            vb[vl++] = 'x';
        }
        if (i % 13 == 4) vl = 0;
        if (i == 700 && k > 700) { /* a key longer than a string block */
            kl = 9000;
            m->key[i] = malloc(kl);
            assert_non_null(m->key[i]);
            for (j = 0; j < kl; j++) m->key[i][j] = (char)('A' + j % 26);
            m->key[i][17] = '\0';
        } else {
            m->key[i] = malloc(kl + 1);
            assert_non_null(m->key[i]);
            memcpy(m->key[i], kb, kl);
        }
        if (ll) {
            vl = ll;
            m->val[i] = malloc(vl);
            assert_non_null(m->val[i]);
            for (j = 0; j < vl; j++) m->val[i][j] = (char)('a' + (i + j) % 26);
            m->val[i][vl / 2] = '\0';
        } else {
            m->val[i] = malloc(vl + 1);
            assert_non_null(m->val[i]);
            memcpy(m->val[i], vb, vl);
        }
        m->klen[i] = kl;
        m->vlen[i] = vl;
        cap += 6 * (kl + vl) + 8;
    }
    h = malloc(cap);
    assert_non_null(h);
    len += (size_t)sprintf(h, "{\"__metadata__\":{");
    for (i = 0; i < k; i++) {
        const char *strs[2];
        size_t lens[2], t;
        strs[0] = m->key[i];
        lens[0] = m->klen[i];
        strs[1] = m->val[i];
        lens[1] = m->vlen[i];
        if (i) h[len++] = ',';
        for (t = 0; t < 2; t++) {
            h[len++] = '"';
            for (j = 0; j < lens[t]; j++) {
                if (strs[t][j] == '\0') {
                    memcpy(h + len, "\\u0000", 6);
                    len += 6;
                } else {
                    h[len++] = strs[t][j];
                }
            }
            h[len++] = '"';
            if (t == 0) h[len++] = ':';
        }
    }
    memcpy(h + len, "}}", 3);
    m->file = stt_build_str(h, 0, &m->n);
    free(h);
}

static void meta_free(meta_set *m)
{
    size_t i;
    for (i = 0; i < m->k; i++) {
        free(m->key[i]);
        free(m->val[i]);
    }
    free(m->key);
    free(m->val);
    free(m->klen);
    free(m->vlen);
    free(m->file);
}

/* 0 if e is entry i of m, its strings NUL-terminated. */
static int meta_differs(const meta_set *m, size_t i, const st_metadata_entry *e)
{
    return !e || e->key_len != m->klen[i] || e->value_len != m->vlen[i] ||
           memcmp(e->key, m->key[i], m->klen[i]) != 0 || e->key[m->klen[i]] != '\0' ||
           memcmp(e->value, m->val[i], m->vlen[i]) != 0 || e->value[m->vlen[i]] != '\0';
}

/* Every entry by position (twice: the same address), by key with find_n and,
 * for keys without NUL, with find: the same entry. Positions in an order that
 * makes chunks in the middle first. */
static void meta_check_all(const meta_set *m, st_file *f)
{
    size_t i, q;
    assert_int_equal(st_metadata_count(f), m->k);
    for (q = 0; q < m->k; q++) {
        const st_metadata_entry *e, *byk;
        i = (q * 7 + m->k / 2) % m->k;
        if (m->k % 7 == 0) i = q;
        e = st_metadata_at(f, i);
        if (meta_differs(m, i, e)) {
            print_error("K=%zu: entry %zu is wrong\n", m->k, i);
            fail();
        }
        byk = st_metadata_find_n(f, m->key[i], m->klen[i]);
        if (byk != e) {
            print_error("K=%zu: find_n of entry %zu gives %p, at gives %p\n", m->k, i,
                        (const void *)byk, (const void *)e);
            fail();
        }
        if (!memchr(m->key[i], '\0', m->klen[i])) {
            char *z = malloc(m->klen[i] + 1);
            assert_non_null(z);
            memcpy(z, m->key[i], m->klen[i]);
            z[m->klen[i]] = '\0';
            assert_ptr_equal(st_metadata_find(f, z), e);
            free(z);
        } else {
            /* cut at the NUL: another key (absent here, or another entry's) */
            const st_metadata_entry *cut = st_metadata_find(f, m->key[i]);
            assert_true(cut != e);
        }
    }
    for (i = 0; i < m->k; i++) {
        const st_metadata_entry *e = st_metadata_at(f, i);
        if (meta_differs(m, i, e) || st_metadata_at(f, i) != e) {
            print_error("K=%zu: entry %zu is wrong or moved on a second call\n", m->k, i);
            fail();
        }
    }
    assert_null(st_metadata_at(f, m->k));
    assert_null(st_metadata_find_n(f, "key", 3));
}

static void test_metadata_chunks(void **state)
{
    static const size_t ks[] = {1, 2, 1023, 1024, 1025, 2047, 2049, 3000};
    size_t t;
    (void)state;
    for (t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        meta_set m;
        st_file *f;
        meta_build(&m, ks[t]);
        f = open_ok("generated metadata", m.file, m.n, NULL);
        meta_check_all(&m, f);
        st_close(f);
        meta_free(&m);
    }
}

/* Long values around short entries, from memory and from a file (the
 * library's own mapping), the strings of the handle in blocks of up to 1 MiB:
 * 6000 entries, one in 97 between 1,000 and 151,000 bytes. */
static void test_metadata_long_values(void **state)
{
    meta_set m;
    st_file *f;
    char *path;
    st_error e;
    (void)state;
    meta_build(&m, 6000);
    assert_true(m.n > (4u << 20)); /* several blocks */
    f = open_ok("long metadata values", m.file, m.n, NULL);
    meta_check_all(&m, f);
    st_close(f);
    path = stt_write_temp(m.file, m.n);
    expect_status("long metadata values, path", st_open_path(&f, path, NULL, &e), &e, ST_OK);
    meta_check_all(&m, f);
    st_close(f);
    stt_remove_temp(path);
    meta_free(&m);
}

/* Threads reading one handle at once, each in its own order, entries made on
 * first use by whichever thread comes first: every thread must see the same
 * address for an entry, and the right bytes. */
#define META_THREADS 4
typedef struct meta_start {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int waiting, go;
} meta_start;

typedef struct meta_thread_arg {
    const meta_set *m;
    st_file *f;
    meta_start *start;
    const st_metadata_entry **seen; /* by position */
    int id, bad;
} meta_thread_arg;

static void *meta_thread(void *p)
{
    meta_thread_arg *a = (meta_thread_arg *)p;
    size_t q, k = a->m->k;
    int round;
    /* all threads start together: two of them on the first chunk, two on the last */
    pthread_mutex_lock(&a->start->mu);
    if (++a->start->waiting == META_THREADS) {
        a->start->go = 1;
        pthread_cond_broadcast(&a->start->cv);
    }
    while (!a->start->go) pthread_cond_wait(&a->start->cv, &a->start->mu);
    pthread_mutex_unlock(&a->start->mu);
    for (round = 0; round < 3; round++) {
        for (q = 0; q < k; q++) {
            /* threads 0 and 2 go forward, 1 and 3 backward; odd ones look up by key */
            size_t i = (a->id & 1) ? k - 1 - q : q;
            const st_metadata_entry *e = (a->id & 2)
                ? st_metadata_find_n(a->f, a->m->key[i], a->m->klen[i])
                : st_metadata_at(a->f, i);
            if (meta_differs(a->m, i, e) || (a->seen[i] && a->seen[i] != e)) a->bad++;
            a->seen[i] = e;
        }
    }
    return NULL;
}

static void test_metadata_threads(void **state)
{
    meta_set m;
    int rep, t;
    size_t i;
    (void)state;
    meta_build(&m, 2100);
    for (rep = 0; rep < 60; rep++) {
        st_file *f = open_ok("metadata for threads", m.file, m.n, NULL);
        pthread_t th[META_THREADS];
        meta_thread_arg a[META_THREADS];
        meta_start start;
        assert_int_equal(pthread_mutex_init(&start.mu, NULL), 0);
        assert_int_equal(pthread_cond_init(&start.cv, NULL), 0);
        start.waiting = 0;
        start.go = 0;
        for (t = 0; t < META_THREADS; t++) {
            a[t].m = &m;
            a[t].f = f;
            a[t].start = &start;
            a[t].seen = calloc(m.k, sizeof *a[t].seen);
            assert_non_null(a[t].seen);
            a[t].id = t;
            a[t].bad = 0;
        }
        for (t = 0; t < META_THREADS; t++)
            assert_int_equal(pthread_create(&th[t], NULL, meta_thread, &a[t]), 0);
        for (t = 0; t < META_THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
        for (t = 0; t < META_THREADS; t++) {
            assert_int_equal(a[t].bad, 0);
            for (i = 0; i < m.k; i++)
                if (a[t].seen[i] != a[0].seen[i]) {
                    print_error("thread %d, entry %zu: %p, thread 0: %p\n", t, i,
                                (const void *)a[t].seen[i], (const void *)a[0].seen[i]);
                    fail();
                }
        }
        for (t = 0; t < META_THREADS; t++) free(a[t].seen);
        pthread_cond_destroy(&start.cv);
        pthread_mutex_destroy(&start.mu);
        st_close(f);
    }
    meta_free(&m);
}

/* ---------------------------------------------------------------- error record */

static void test_error_cleared_on_success(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                                     1, &n);
    st_file *f = NULL;
    st_error e;
    (void)state;
    memset(&e, 0x5a, sizeof e);
    assert_int_equal(st_open_memory(&f, b, n, NULL, &e), ST_OK);
    assert_int_equal(e.code, ST_OK);
    assert_int_equal(e.flags, 0);
    assert_int_equal(e.offset, 0);
    assert_int_equal(e.sys_errno, 0);
    assert_int_equal(e.tensor[0], '\0');
    assert_int_equal(e.message[0], '\0');
    st_close(f);
    /* a failure, then a success on the same record */
    assert_int_equal(st_open_memory(&f, b, n - 1, NULL, &e), ST_E_COVERAGE);
    assert_int_equal(e.code, ST_E_COVERAGE);
    assert_null(f);
    assert_int_equal(st_open_memory(&f, b, n, NULL, &e), ST_OK);
    assert_int_equal(e.code, ST_OK);
    assert_int_equal(e.flags, 0);
    assert_int_equal(e.offset, 0);
    assert_int_equal(e.tensor[0], '\0');
    assert_int_equal(e.message[0], '\0');
    st_close(f);
    /* no record at all */
    assert_int_equal(st_open_memory(&f, b, n, NULL, NULL), ST_OK);
    st_close(f);
    assert_int_equal(st_open_memory(&f, b, n - 1, NULL, NULL), ST_E_COVERAGE);
    assert_null(f);
    free(b);
}

static void test_error_written_on_failure(void **state)
{
    static const unsigned char gguf[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    static const unsigned char too_large[8] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 100000001 */
    static const unsigned char too_long[10] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    static const struct {
        const char *what;
        const char *hdr; /* NULL: raw bytes */
        const unsigned char *raw;
        size_t raw_len;
        uint64_t data_len;
        st_status want;
    } cases[] = {
        {"7 bytes", NULL, gguf + 8, 7, 0, ST_E_HEADER_TOO_SMALL},
        {"N above the cap", NULL, too_large, 8, 0, ST_E_HEADER_TOO_LARGE},
        {"N past the end", NULL, too_long, 10, 0, ST_E_HEADER_LENGTH},
        {"GGUF", NULL, gguf, 24, 0, ST_E_WRONG_FORMAT},
        {"bad UTF-8", "{\"\xff\":1}", NULL, 0, 0, ST_E_UTF8},
        {"bad JSON", "{,}", NULL, 0, 0, ST_E_JSON},
        {"schema", "{\"a\":1}", NULL, 0, 0, ST_E_SCHEMA},
        {"dtype", "{\"a\":{\"dtype\":\"F31\",\"shape\":[],\"data_offsets\":[0,4]}}", NULL, 0, 4,
         ST_E_DTYPE},
        {"duplicate", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                      "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
         NULL, 0, 0, ST_E_DUPLICATE},
        {"metadata", "{\"__metadata__\":{\"k\":1}}", NULL, 0, 0, ST_E_METADATA},
        {"name", "{\"a\\u0000\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", NULL, 0,
         0, ST_E_NAME},
        {"offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", NULL, 0, 2,
         ST_E_OFFSETS},
        {"overflow", "{\"a\":{\"dtype\":\"U64\",\"shape\":[2305843009213693952],"
                     "\"data_offsets\":[0,0]}}", NULL, 0, 0, ST_E_OVERFLOW},
        {"partial byte", "{\"a\":{\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]}}", NULL, 0,
         1, ST_E_PARTIAL_BYTE},
        {"size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,3]}}", NULL, 0, 3,
         ST_E_SIZE_MISMATCH},
        {"coverage", "{}", NULL, 0, 1, ST_E_COVERAGE},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        unsigned char *b = cases[i].hdr ? stt_build_str(cases[i].hdr, cases[i].data_len, &n) : NULL;
        const void *bytes = b ? (const void *)b : (const void *)cases[i].raw;
        int dummy;
        st_file *f = (st_file *)(void *)&dummy; /* must be overwritten with NULL */
        st_error e;
        st_status s;
        if (!b) n = cases[i].raw_len;
        memset(&e, 0x5a, sizeof e);
        s = st_open_memory(&f, bytes, n, NULL, &e);
        expect_status(cases[i].what, s, &e, cases[i].want);
        assert_null(f);
        assert_true(e.message[0] != '\0');
        assert_true(strlen(e.message) < sizeof e.message);
        assert_true(memchr(e.tensor, '\0', sizeof e.tensor) != NULL);
        if (!(e.flags & ST_ERROR_HAS_TENSOR)) assert_int_equal(e.tensor[0], '\0');
        assert_int_equal(e.sys_errno, 0);
        /* the status is the same without a record */
        assert_int_equal(st_open_memory(&f, bytes, n, NULL, NULL), cases[i].want);
        free(b);
    }
}

static void test_open_invalid_arguments(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str("{}", 0, &n);
    st_file *f = NULL;
    st_error e;
    (void)state;
    memset(&e, 0x5a, sizeof e);
    expect_status("out NULL", st_open_memory(NULL, b, n, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_true(e.message[0] != '\0');
    expect_status("out NULL, no record", st_open_memory(NULL, b, n, NULL, NULL), NULL,
                  ST_E_INVALID_ARGUMENT);
    expect_status("data NULL, size 2", st_open_memory(&f, NULL, 2, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_null(f);
    free(b);
}

/* ---------------------------------------------------------------- NULL tolerance */

static void test_null_getters(void **state)
{
    (void)state;
    st_close(NULL);
    assert_int_equal(st_file_size(NULL), 0);
    assert_int_equal(st_file_header_size(NULL), 0);
    assert_int_equal(st_file_data_offset(NULL), 0);
    assert_int_equal(st_file_data_size(NULL), 0);
    assert_null(st_file_bytes(NULL));
    assert_int_equal(st_file_leniency_used(NULL), 0);
    assert_int_equal(st_file_trailing_bytes(NULL), 0);
    assert_int_equal(st_tensor_count(NULL), 0);
    assert_null(st_tensor_at(NULL, 0));
    assert_null(st_tensor_find(NULL, "a"));
    assert_null(st_tensor_find(NULL, NULL));
    assert_null(st_tensor_find_n(NULL, "a", 1));
    assert_null(st_tensor_find_n(NULL, NULL, 0));
    assert_int_equal(st_metadata_state_of(NULL), ST_METADATA_ABSENT);
    assert_int_equal(st_metadata_count(NULL), 0);
    assert_null(st_metadata_at(NULL, 0));
    assert_null(st_metadata_find(NULL, "k"));
    assert_null(st_metadata_find(NULL, NULL));
    assert_null(st_metadata_find_n(NULL, "k", 1));
    assert_null(st_metadata_find_n(NULL, NULL, 0));
}

/* ---------------------------------------------------------------- options */

static void test_options_basic(void **state)
{
    static const char hdr[] = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    const uint64_t N = sizeof hdr - 1;
    size_t n;
    unsigned char *b = stt_build_str(hdr, 2, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    static const struct {
        const char *what;
        uint64_t cap;
        st_status want;
    } caps[] = {
        {"cap 0 = default", 0, ST_OK},
        {"cap N", 0 /* set below */, ST_OK},
        {"cap N-1", 0, ST_E_HEADER_TOO_LARGE},
        {"cap 1", 1, ST_E_HEADER_TOO_LARGE},
        {"cap 2", 2, ST_E_HEADER_TOO_LARGE},
        {"cap at the limit", ST_MAX_HEADER_SIZE_LIMIT, ST_OK},
        {"cap above the limit", (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1, ST_E_INVALID_ARGUMENT},
        {"cap 2^64-1", UINT64_MAX, ST_E_INVALID_ARGUMENT},
        {"cap default", ST_DEFAULT_MAX_HEADER_SIZE, ST_OK},
    };
    size_t i;
    (void)state;
    /* NULL options and the initializer */
    expect_status("NULL opts", st_open_memory(&f, b, n, NULL, &e), &e, ST_OK);
    st_close(f);
    expect_status("INIT opts", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
    st_close(f);
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        o = (st_open_options)ST_OPEN_OPTIONS_INIT;
        o.max_header_size = i == 1 ? N : i == 2 ? N - 1 : caps[i].cap;
        memset(&e, 0, sizeof e);
        expect_status(caps[i].what, st_open_memory(&f, b, n, &o, &e), &e, caps[i].want);
        if (caps[i].want == ST_E_HEADER_TOO_LARGE) {
            assert_true(e.flags & ST_ERROR_HAS_OFFSET);
            assert_int_equal(e.offset, 0);
        }
        if (caps[i].want != ST_OK) assert_null(f);
        st_close(f);
        f = NULL;
    }
    free(b);
}

static void test_options_default_cap(void **state)
{
    unsigned char p[8];
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_error e;
    st_file *f = NULL;
    (void)state;
    /* 100,000,001 with the default cap: too large (before the length check) */
    put_le(p, 100000001u, 8);
    expect_status("N=100000001", st_open_memory(&f, p, 8, NULL, &e), &e, ST_E_HEADER_TOO_LARGE);
    assert_int_equal(e.offset, 0);
    /* 100,000,000 is allowed by the cap; the file is too short */
    put_le(p, 100000000u, 8);
    expect_status("N=100000000", st_open_memory(&f, p, 8, NULL, &e), &e, ST_E_HEADER_LENGTH);
    assert_int_equal(e.offset, 0);
    /* a raised cap lets 100,000,001 reach the length check */
    put_le(p, 100000001u, 8);
    o.max_header_size = 200000000u;
    expect_status("N=100000001, cap raised", st_open_memory(&f, p, 8, &o, &e), &e,
                  ST_E_HEADER_LENGTH);
    /* the largest cap */
    o.max_header_size = ST_MAX_HEADER_SIZE_LIMIT;
    put_le(p, (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1, 8);
    expect_status("N=limit+1, cap limit", st_open_memory(&f, p, 8, &o, &e), &e,
                  ST_E_HEADER_TOO_LARGE);
    put_le(p, ST_MAX_HEADER_SIZE_LIMIT, 8);
    expect_status("N=limit, cap limit", st_open_memory(&f, p, 8, &o, &e), &e, ST_E_HEADER_LENGTH);
    assert_null(f);
}

/* Every flag bit the header does not define is refused. */
#define KNOWN_FLAGS \
    (ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING | ST_OPEN_CLOSE_FD | ST_OPEN_READ)

static void test_options_flags(void **state)
{
    size_t n;
    unsigned bit;
    unsigned char *b = stt_build_str("{}", 0, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    (void)state;
    for (bit = 0; bit < 32; bit++) {
        char what[64];
        uint32_t flag = (uint32_t)1u << bit;
        if (flag & KNOWN_FLAGS) continue;
        o.flags = flag;
        snprintf(what, sizeof what, "flags 0x%x", (unsigned)flag);
        expect_status(what, st_open_memory(&f, b, n, &o, &e), &e, ST_E_INVALID_ARGUMENT);
        assert_null(f);
        /* also next to valid bits */
        o.flags = flag | ST_LENIENT_TRAILING_BYTES;
        expect_status(what, st_open_memory(&f, b, n, &o, &e), &e, ST_E_INVALID_ARGUMENT);
        assert_null(f);
    }
    o.flags = 0xffffffffu;
    expect_status("flags 0xffffffff", st_open_memory(&f, b, n, &o, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    o.flags = ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING;
    expect_status("both leniency flags", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
    assert_int_equal(st_file_leniency_used(f), 0);
    st_close(f);
    free(b);
}

/* ---------------------------------------------------------------- allocators */

typedef struct blk {
    void *p;
    size_t size;
} blk;

typedef struct counter {
    unsigned magic;
    size_t calls;        /* malloc + realloc calls (the failing sweep counts these) */
    size_t n_malloc, n_realloc, n_free;
    size_t live, live_bytes, total_bytes;
    size_t bad_ctx, bad_size, unknown_ptr, null_free;
    size_t fail_at;      /* the call number that fails; SIZE_MAX: none */
    blk *blocks;
    size_t nblocks, cap;
} counter;

#define COUNTER_MAGIC 0x51a7u

static counter *ctx_of(void *ctx)
{
    counter *c = ctx;
    if (c == NULL || c->magic != COUNTER_MAGIC) {
        /* the context pointer did not come back: nothing else can be trusted */
        print_error("allocator called with a wrong context pointer\n");
        abort();
    }
    return c;
}

static long find_blk(const counter *c, const void *p)
{
    size_t i;
    for (i = 0; i < c->nblocks; i++)
        if (c->blocks[i].p == p) return (long)i;
    return -1;
}

static void add_blk(counter *c, void *p, size_t size)
{
    if (c->nblocks == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->blocks = realloc(c->blocks, c->cap * sizeof *c->blocks);
        if (!c->blocks) abort();
    }
    c->blocks[c->nblocks].p = p;
    c->blocks[c->nblocks].size = size;
    c->nblocks++;
    c->live++;
    c->live_bytes += size;
    c->total_bytes += size;
}

static void *cnt_malloc(void *ctx, size_t size)
{
    counter *c = ctx_of(ctx);
    void *p;
    if (c->calls++ == c->fail_at) return NULL;
    c->n_malloc++;
    p = malloc(size ? size : 1);
    if (p) add_blk(c, p, size);
    return p;
}

static void *cnt_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    counter *c = ctx_of(ctx);
    long i;
    void *p;
    if (c->calls++ == c->fail_at) return NULL;
    c->n_realloc++;
    if (ptr == NULL) {
        if (old_size != 0) c->bad_size++;
        p = malloc(new_size ? new_size : 1);
        if (p) add_blk(c, p, new_size);
        return p;
    }
    i = find_blk(c, ptr);
    if (i < 0) {
        c->unknown_ptr++;
        return NULL;
    }
    if (c->blocks[i].size != old_size) c->bad_size++;
    p = realloc(ptr, new_size ? new_size : 1);
    if (!p) return NULL;
    c->live_bytes -= c->blocks[i].size;
    c->live_bytes += new_size;
    c->total_bytes += new_size;
    c->blocks[i].p = p;
    c->blocks[i].size = new_size;
    return p;
}

static void cnt_free(void *ctx, void *ptr, size_t size)
{
    counter *c = ctx_of(ctx);
    long i;
    if (ptr == NULL) {
        c->null_free++;
        return;
    }
    c->n_free++;
    i = find_blk(c, ptr);
    if (i < 0) {
        c->unknown_ptr++;
        return;
    }
    if (c->blocks[i].size != size) c->bad_size++;
    c->live--;
    c->live_bytes -= c->blocks[i].size;
    c->blocks[i] = c->blocks[--c->nblocks];
    free(ptr);
}

static void counter_init(counter *c, size_t fail_at)
{
    memset(c, 0, sizeof *c);
    c->magic = COUNTER_MAGIC;
    c->fail_at = fail_at;
}

/* a: the counting allocator over c (c set up by counter_init). */
static void counting_allocator(st_allocator *a, counter *c)
{
    a->malloc_fn = cnt_malloc;
    a->realloc_fn = cnt_realloc;
    a->free_fn = cnt_free;
    a->ctx = c;
}

static void counter_done(counter *c)
{
    free(c->blocks);
    c->blocks = NULL;
}

static void check_clean(const char *what, const counter *c)
{
    if (c->live != 0 || c->live_bytes != 0 || c->bad_size != 0 || c->unknown_ptr != 0) {
        print_error("%s: live %zu blocks / %zu bytes, %zu size mismatches, %zu unknown pointers\n",
                    what, c->live, c->live_bytes, c->bad_size, c->unknown_ptr);
        fail();
    }
}

/* A header with metadata and enough tensors to make tables grow. */
static char *big_header(int ntensors, int nmeta, uint64_t *data_len)
{
    char *h = malloc((size_t)(ntensors + nmeta) * 100 + 64);
    size_t len = 0;
    int k;
    if (!h) abort();
    len += (size_t)sprintf(h, "{\"__metadata__\":{");
    for (k = 0; k < nmeta; k++)
        len += (size_t)sprintf(h + len, "%s\"meta_key_%d\":\"value \\u00e9 %d\"", k ? "," : "", k, k);
    len += (size_t)sprintf(h + len, "}");
    for (k = 0; k < ntensors; k++)
        len += (size_t)sprintf(h + len, ",\"layer.%d.w\\u0031\":{\"dtype\":\"F32\",\"shape\":[2,%d],"
                                        "\"data_offsets\":[%d,%d]}",
                               ntensors - 1 - k, 1, 8 * (ntensors - 1 - k), 8 * (ntensors - k));
    sprintf(h + len, "}");
    *data_len = 8u * (uint64_t)ntensors;
    return h;
}

static void test_allocator_counting(void **state)
{
    uint64_t dl;
    char *hdr = big_header(50, 20, &dl);
    size_t n;
    unsigned char *b = stt_build_str(hdr, dl, &n);
    counter c;
    st_allocator a;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    (void)state;
    counter_init(&c, SIZE_MAX);
    counting_allocator(&a, &c);
    o.allocator = &a;
    expect_status("counting allocator", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
    assert_true(c.n_malloc + c.n_realloc > 0);
    assert_true(c.live > 0);
    assert_true(c.total_bytes > 0);
    assert_int_equal(st_tensor_count(f), 50);
    assert_int_equal(st_metadata_count(f), 20);
    assert_non_null(st_tensor_find(f, "layer.7.w1"));
    assert_string_equal(st_metadata_find(f, "meta_key_3")->value, "value \xc3\xa9 3");
    /* the allocator struct is copied: the caller's copy may go away before close */
    memset(&a, 0, sizeof a);
    st_close(f);
    check_clean("after st_close", &c);
    assert_true(c.n_free > 0);
    /* a failed open leaves nothing behind either */
    counting_allocator(&a, &c);
    expect_status("counting allocator, truncated file", st_open_memory(&f, b, n - 1, &o, &e), &e,
                  ST_E_COVERAGE);
    assert_null(f);
    check_clean("after a failed open", &c);
    /* ST_OPEN_READ: the file's bytes are memory the handle owns */
    {
        char *path = stt_write_temp(b, n);
        o.flags = ST_OPEN_READ;
        expect_status("counting allocator, ST_OPEN_READ", st_open_path(&f, path, &o, &e), &e,
                      ST_OK);
        assert_true(c.live_bytes >= n);
        assert_memory_equal(st_file_bytes(f), b, n);
        st_close(f);
        check_clean("after st_close, ST_OPEN_READ", &c);
        stt_remove_temp(path);
    }
    counter_done(&c);
    free(b);
    free(hdr);
}

/* st_alloc_cache: files opened one after another through one cache ask the
 * base allocator for no new block of 4 KiB or more after the first open, keep
 * the sizes the base was given, and give everything back at close. */
/* Tables big enough for the default allocator's 2 MiB-aligned blocks, opened
 * from a file (the library's own mapping) and from memory: 40,000 tensors
 * (3.5 MB of records), and a metadata object whose first 64 entries are long
 * and the next 150,000 tiny, so the entry array outgrows its estimate and is
 * grown while aligned, shifting its bytes. Everything must read back. */
static void test_big_tables(void **state)
{
    size_t cap = 8u << 20, n = 0, i, size = 0, k;
    char *h = malloc(cap);
    unsigned char *file;
    char *path;
    int from;
    (void)state;
    assert_non_null(h);
    n += (size_t)snprintf(h + n, cap - n, "{\"__metadata__\":{");
    for (i = 0; i < 64; i++) {
        n += (size_t)snprintf(h + n, cap - n, "%s\"long%zu\":\"", i ? "," : "", i);
        memset(h + n, 'a' + (int)(i % 26), 2000);
        n += 2000;
        h[n++] = '"';
    }
    for (i = 0; i < 150000; i++) n += (size_t)snprintf(h + n, cap - n, ",\"k%zu\":\"%zu\"", i, i * 7);
    n += (size_t)snprintf(h + n, cap - n, "}");
    for (i = 0; i < 40000; i++)
        n += (size_t)snprintf(h + n, cap - n, ",\"t%zu\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[%zu,%zu]}",
                              i, 2 * i, 2 * i + 2);
    n += (size_t)snprintf(h + n, cap - n, "}");
    assert_true(n < cap);
    file = stt_build(h, n, 80000, &size);
    assert_non_null(file);
    path = stt_write_temp(file, size);
    assert_non_null(path);
    for (from = 0; from < 2; from++) {
        st_file *f = NULL;
        st_error err;
        st_status s = from ? st_open_memory(&f, file, size, NULL, &err)
                           : st_open_path(&f, path, NULL, &err);
        if (s != ST_OK) fail_msg("%s", err.message);
        assert_int_equal(st_tensor_count(f), 40000);
        assert_int_equal(st_metadata_count(f), 64 + 150000);
        for (i = 0; i < 40000; i++) {
            char nm[32];
            const st_tensor *t;
            snprintf(nm, sizeof nm, "t%zu", i);
            t = st_tensor_find(f, nm);
            assert_non_null(t);
            assert_int_equal(t->begin, 2 * i);
            assert_ptr_equal(st_tensor_at(f, i), t);
        }
        for (i = 0; i < 64; i++) {
            const st_metadata_entry *e = st_metadata_at(f, i);
            assert_int_equal(e->value_len, 2000);
            for (k = 0; k < 2000; k++) assert_int_equal(e->value[k], 'a' + (int)(i % 26));
        }
        for (i = 0; i < 150000; i++) {
            char key[32], val[32];
            const st_metadata_entry *e;
            snprintf(key, sizeof key, "k%zu", i);
            snprintf(val, sizeof val, "%zu", i * 7);
            e = st_metadata_find(f, key);
            assert_non_null(e);
            assert_ptr_equal(e, st_metadata_at(f, 64 + i));
            assert_string_equal(e->value, val);
        }
        st_close(f);
    }
    stt_remove_temp(path);
    free(file);
    free(h);
}

static void test_alloc_cache(void **state)
{
    uint64_t dl;
    char *hdr = big_header(400, 5, &dl);
    size_t n, k, large_first = 0;
    unsigned char *b = stt_build_str(hdr, dl, &n);
    counter c;
    st_allocator a = {cnt_malloc, cnt_realloc, cnt_free, NULL};
    st_allocator missing = {cnt_malloc, NULL, cnt_free, NULL};
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_alloc_cache *cache = (st_alloc_cache *)1;
    st_error e;
    (void)state;
    counter_init(&c, SIZE_MAX);
    a.ctx = &c;
    missing.ctx = &c;
    expect_status("cache: out NULL", st_alloc_cache_new(NULL, &a, &e), &e, ST_E_INVALID_ARGUMENT);
    expect_status("cache: base without realloc", st_alloc_cache_new(&cache, &missing, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_null(cache);
    assert_null(st_alloc_cache_allocator(NULL));
    st_alloc_cache_close(NULL);
    expect_status("cache: new", st_alloc_cache_new(&cache, &a, &e), &e, ST_OK);
    assert_non_null(st_alloc_cache_allocator(cache));
    o.allocator = st_alloc_cache_allocator(cache);
    for (k = 0; k < 4; k++) {
        st_file *f = NULL;
        size_t before = c.n_malloc + c.n_realloc, i, large = 0;
        expect_status("cache: open", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
        assert_int_equal(st_tensor_count(f), 400);
        assert_non_null(st_tensor_find(f, "layer.123.w1"));
        st_close(f);
        for (i = 0; i < c.nblocks; i++) large += c.blocks[i].size >= 4096;
        if (k == 0) {
            large_first = large;
            assert_true(large_first > 0); /* kept for the next open */
        } else {
            /* the same file again: every block it needs is a kept one */
            assert_int_equal(large, large_first);
            assert_true(c.n_malloc + c.n_realloc - before < 64);
        }
    }
    /* a cache without a base allocator of its own works the same */
    {
        st_alloc_cache *plain = NULL;
        st_open_options po = ST_OPEN_OPTIONS_INIT;
        st_file *f = NULL;
        expect_status("cache: plain", st_alloc_cache_new(&plain, NULL, &e), &e, ST_OK);
        po.allocator = st_alloc_cache_allocator(plain);
        expect_status("cache: plain open", st_open_memory(&f, b, n, &po, &e), &e, ST_OK);
        st_close(f);
        expect_status("cache: plain reopen", st_open_memory(&f, b, n, &po, &e), &e, ST_OK);
        assert_int_equal(st_tensor_count(f), 400);
        st_close(f);
        st_alloc_cache_close(plain);
    }
    st_alloc_cache_close(cache);
    check_clean("after st_alloc_cache_close", &c);
    counter_done(&c);
    free(b);
    free(hdr);
}

/* struct_size: too small is refused; exactly up to max_header_size means the
 * allocator field is not part of the caller's struct and must not be read. */
static void test_options_struct_size(void **state)
{
    static const uint32_t bad[] = {0, 4, 8, 12, 15};
    size_t n, i;
    unsigned char *b = stt_build_str("{}", 0, &n);
    st_open_options o;
    st_file *f = NULL;
    st_error e;
    counter c;
    st_allocator a;
    (void)state;
    counter_init(&c, SIZE_MAX);
    counting_allocator(&a, &c);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[64];
        o = (st_open_options)ST_OPEN_OPTIONS_INIT;
        o.struct_size = bad[i];
        snprintf(what, sizeof what, "struct_size %u", (unsigned)bad[i]);
        expect_status(what, st_open_memory(&f, b, n, &o, &e), &e, ST_E_INVALID_ARGUMENT);
        assert_null(f);
    }
    o = (st_open_options)ST_OPEN_OPTIONS_INIT;
    o.struct_size = (uint32_t)(offsetof(st_open_options, max_header_size) + 8);
    o.allocator = &a;
    expect_status("struct_size 16", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
    st_close(f);
    assert_int_equal(c.calls, 0);
    /* the same with the full size uses the allocator */
    o.struct_size = sizeof o;
    expect_status("struct_size full", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
    st_close(f);
    assert_true(c.calls > 0);
    check_clean("struct_size full", &c);
    counter_done(&c);
    free(b);
}

/* Fails the k-th allocation for k = 0, 1, 2, ... until open succeeds. */
static void sweep(const char *what, const void *bytes, size_t n, const char *path,
                  uint32_t flags, st_status final)
{
    size_t k;
    for (k = 0; k < 100000; k++) {
        counter c;
        st_allocator a;
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        st_file *f = NULL;
        st_error e;
        st_status s;
        counter_init(&c, k);
        counting_allocator(&a, &c);
        o.allocator = &a;
        o.flags = flags;
        memset(&e, 0x5a, sizeof e);
        s = path ? st_open_path(&f, path, &o, &e) : st_open_memory(&f, bytes, n, &o, &e);
        if (e.code != (int)s) {
            print_error("%s: k=%zu: err.code %d, returned %d\n", what, k, e.code, (int)s);
            fail();
        }
        if (c.calls <= k) {
            /* the k-th allocation never happened: this is the unhindered result */
            if (s != final) {
                print_error("%s: k=%zu: final status %s, want %s: %s\n", what, k,
                            st_status_name(s), st_status_name(final), e.message);
                fail();
            }
            st_close(f);
            check_clean(what, &c);
            counter_done(&c);
            assert_true(k > 0); /* at least one allocation was made */
            return;
        }
        if (s != ST_E_NOMEM) {
            print_error("%s: allocation %zu failed: want ST_E_NOMEM, got %s: %s\n", what, k,
                        st_status_name(s), e.message);
            fail();
        }
        assert_null(f);
        check_clean(what, &c);
        counter_done(&c);
    }
    fail_msg("%s: open still allocating after 100000 calls", what);
}

/* The public metadata entries are made on first use, through the handle's
 * allocator: a failure there gives NULL (for that call only), nothing leaks,
 * and a later call makes the entry. */
static void test_allocator_metadata_on_demand(void **state)
{
    meta_set m;
    counter c;
    st_allocator a;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    size_t before;
    (void)state;
    meta_build(&m, 2500);
    counter_init(&c, SIZE_MAX);
    counting_allocator(&a, &c);
    o.allocator = &a;
    expect_status("metadata on demand", st_open_memory(&f, m.file, m.n, &o, &e), &e, ST_OK);
    before = c.live;
    /* the next allocation fails: the first entry of chunk 1 */
    c.fail_at = c.calls;
    assert_null(st_metadata_at(f, 1500));
    assert_int_equal(c.live, before);
    c.fail_at = c.calls;
    assert_null(st_metadata_find_n(f, m.key[1024], m.klen[1024]));
    c.fail_at = c.calls;
    assert_null(st_metadata_at(f, 0));
    /* a name that is absent allocates nothing and fails nothing */
    c.fail_at = c.calls;
    assert_null(st_metadata_find(f, "absent"));
    assert_int_equal(c.live, before);
    c.fail_at = SIZE_MAX;
    assert_false(meta_differs(&m, 1500, st_metadata_at(f, 1500)));
    assert_int_equal(c.live, before + 1); /* one chunk */
    /* a chunk made once is not made again, even when allocation fails */
    c.fail_at = c.calls;
    assert_ptr_equal(st_metadata_find_n(f, m.key[1024], m.klen[1024]), st_metadata_at(f, 1024));
    assert_false(meta_differs(&m, 1024, st_metadata_at(f, 1024)));
    c.fail_at = SIZE_MAX;
    meta_check_all(&m, f);
    assert_int_equal(c.live, before + 3); /* chunks 0, 1 and 2 */
    st_close(f);
    check_clean("metadata on demand, after st_close", &c);
    /* closed with only some chunks made */
    expect_status("metadata on demand, some", st_open_memory(&f, m.file, m.n, &o, &e), &e, ST_OK);
    assert_non_null(st_metadata_at(f, 2400));
    st_close(f);
    check_clean("metadata on demand, some chunks", &c);
    counter_done(&c);
    meta_free(&m);
}

static void test_allocator_failing_sweep(void **state)
{
    uint64_t dl;
    char *hdr = big_header(40, 12, &dl);
    size_t n;
    unsigned char *b = stt_build_str(hdr, dl, &n);
    char *path;
    (void)state;
    sweep("memory, valid", b, n, NULL, 0, ST_OK);
    sweep("memory, coverage error", b, n - 1, NULL, 0, ST_E_COVERAGE);
    path = stt_write_temp(b, n);
    sweep("path, valid", NULL, 0, path, 0, ST_OK);
    sweep("path, ST_OPEN_READ", NULL, 0, path, ST_OPEN_READ, ST_OK);
    stt_remove_temp(path);
    free(b);
    free(hdr);
    /* a failing rule-7 file: every step before it must also clean up */
    hdr = big_header(30, 3, &dl);
    {
        char *p = strstr(hdr, "\"data_offsets\":[0,8]");
        assert_non_null(p);
        memcpy(p, "\"data_offsets\":[1,9]", 20); /* leaves a hole at 0 */
    }
    b = stt_build_str(hdr, dl, &n);
    sweep("memory, offsets error", b, n, NULL, 0, ST_E_OFFSETS);
    free(b);
    free(hdr);
    /* the smallest file */
    b = stt_build_str("{}", 0, &n);
    sweep("memory, {}", b, n, NULL, 0, ST_OK);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_by_name),
        cmocka_unit_test(test_lookup_find_n),
        cmocka_unit_test(test_lookup_find_n_null_name_len0),
        cmocka_unit_test(test_lookup_many),
        cmocka_unit_test(test_iteration_order),
        cmocka_unit_test(test_tensor_fields),
        cmocka_unit_test(test_typed_dtype_matrix),
        cmocka_unit_test(test_typed_null_args),
        cmocka_unit_test(test_typed_alignment),
        cmocka_unit_test(test_typed_empty_tensor),
        cmocka_unit_test(test_typed_empty_tensor_misaligned),
        cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_copy_ranges),
        cmocka_unit_test(test_metadata_states),
        cmocka_unit_test(test_metadata_entries),
        cmocka_unit_test(test_metadata_many),
        cmocka_unit_test(test_metadata_chunks),
        cmocka_unit_test(test_metadata_long_values),
        cmocka_unit_test(test_metadata_threads),
        cmocka_unit_test(test_error_cleared_on_success),
        cmocka_unit_test(test_error_written_on_failure),
        cmocka_unit_test(test_open_invalid_arguments),
        cmocka_unit_test(test_null_getters),
        cmocka_unit_test(test_options_basic),
        cmocka_unit_test(test_options_default_cap),
        cmocka_unit_test(test_options_flags),
        cmocka_unit_test(test_options_struct_size),
        cmocka_unit_test(test_allocator_counting),
        cmocka_unit_test(test_alloc_cache),
        cmocka_unit_test(test_big_tables),
        cmocka_unit_test(test_allocator_metadata_on_demand),
        cmocka_unit_test(test_allocator_failing_sweep),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
