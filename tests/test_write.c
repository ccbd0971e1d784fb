/* The writer: the reference layout byte for byte (expected bytes written out by
 * hand from FORMAT.md section 7), every refusal with its status, round trips
 * through the reader, streaming from several threads, and failures (allocation,
 * write, rename) that must leave the target as it was and no temporary file. */
/* 64-bit off_t and inode numbers on 32-bit hosts: readdir would otherwise fail
 * with EOVERFLOW on large filesystems (seen under qemu-i386). */
#define _FILE_OFFSET_BITS 64
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/resource.h>
#include <sys/wait.h>
#endif
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt_os.h"

/* ---------------------------------------------------------------- helpers */

static char *make_dir(void)
{
    char *d = strdup("/tmp/stw.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

/* Number of entries of dir other than "." and "..". */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void rm_dir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (unlink(p) != 0) rmdir(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *b;
    long sz;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    sz = ftell(fp);
    assert_true(sz >= 0);
    rewind(fp);
    b = malloc((size_t)sz + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* The file the reference writes for this header JSON (unpadded) and data: the
 * 8-byte length, the JSON, spaces up to a multiple of align for 8 + N. */
static unsigned char *expected_file(const char *json, const void *data, size_t dlen, size_t align,
                                    size_t *n)
{
    size_t len = strlen(json), pad = (align - (8 + len) % align) % align, i;
    uint64_t hn = len + pad;
    unsigned char *b = malloc(8 + hn + dlen + 1);
    assert_non_null(b);
    for (i = 0; i < 8; i++) b[i] = (unsigned char)(hn >> (8 * i));
    memcpy(b + 8, json, len);
    memset(b + 8 + len, ' ', pad);
    if (dlen) memcpy(b + 8 + hn, data, dlen);
    *n = 8 + hn + dlen;
    return b;
}

static void expect_bytes(const char *what, const unsigned char *got, size_t gn,
                         const unsigned char *want, size_t wn)
{
    if (gn != wn || memcmp(got, want, wn) != 0) {
        size_t i = 0;
        while (i < gn && i < wn && got[i] == want[i]) i++;
        print_error("%s: %zu bytes, want %zu; first difference at byte %zu\n  got:  %.*s\n  want: %.*s\n",
                    what, gn, wn, i, (int)(gn > 8 ? gn - 8 : 0), (const char *)got + 8,
                    (int)(wn > 8 ? wn - 8 : 0), (const char *)want + 8);
        fail();
    }
}

static st_tensor_spec spec(const char *name, int dtype, uint32_t rank, const uint64_t *shape,
                           const void *data)
{
    st_tensor_spec t;
    t.name = name;
    t.name_len = strlen(name);
    t.dtype = dtype;
    t.rank = rank;
    t.shape = shape;
    t.data = data;
    return t;
}

static st_metadata_entry meta(const char *k, const char *v)
{
    st_metadata_entry m;
    m.key = k;
    m.key_len = strlen(k);
    m.value = v;
    m.value_len = strlen(v);
    return m;
}

/* Writes the case every way (memory, file, descriptor, streaming from a path
 * and from a descriptor) and compares each with want. */
static void write_every_way(const char *what, const st_tensor_spec *t, uint64_t n,
                            const st_metadata_entry *m, uint64_t nm, const st_write_options *o,
                            const unsigned char *want, size_t wn)
{
    char *dir = make_dir(), path[256];
    unsigned char *got;
    size_t gn;
    uint64_t size = 0, i;
    st_error e;
    st_writer *w = NULL;
    int fd;

    /* memory: a size query, then the bytes */
    assert_int_equal(st_write_memory(NULL, 0, &size, t, n, m, nm, o, &e), ST_OK);
    assert_int_equal(size, wn);
    got = malloc(wn + 1);
    assert_non_null(got);
    assert_int_equal(st_write_memory(got, wn, &size, t, n, m, nm, o, &e), ST_OK);
    expect_bytes(what, got, wn, want, wn);
    free(got);

    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    assert_int_equal(st_write_file(path, t, n, m, nm, o, &e), ST_OK);
    assert_int_equal(e.code, ST_OK);
    got = read_all(path, &gn);
    expect_bytes(what, got, gn, want, wn);
    free(got);
    assert_int_equal(dir_entries(dir), 1); /* no temporary file left */

    snprintf(path, sizeof path, "%s/b.safetensors", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(st_write_fd(fd, t, n, m, nm, o, &e), ST_OK);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 0); /* position not moved */
    close(fd);
    got = read_all(path, &gn);
    expect_bytes(what, got, gn, want, wn);
    free(got);

    /* streaming, each tensor in two pieces, last tensor first */
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    assert_int_equal(st_writer_begin_path(&w, path, t, n, m, nm, o, &e), ST_OK);
    assert_int_equal(st_writer_file_size(w), wn);
    for (i = n; i-- > 0;) {
        uint64_t off = st_writer_tensor_offset(w, i), nb = 0, half;
        uint64_t numel = 1;
        uint32_t d;
        for (d = 0; d < t[i].rank; d++) numel *= t[i].shape[d];
        nb = numel * st_dtype_bits(t[i].dtype) / 8;
        assert_true(off >= 8 && off + nb <= wn);
        assert_memory_equal(want + off, t[i].data ? t[i].data : "", nb);
        half = nb / 2;
        assert_int_equal(st_writer_write(w, i, half, (const unsigned char *)t[i].data + half,
                                         nb - half, &e), ST_OK);
        assert_int_equal(st_writer_write(w, i, 0, t[i].data, half, &e), ST_OK);
    }
    assert_int_equal(st_writer_finish(w, &e), ST_OK);
    got = read_all(path, &gn);
    expect_bytes(what, got, gn, want, wn);
    free(got);

    snprintf(path, sizeof path, "%s/d.safetensors", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(st_writer_begin_fd(&w, fd, t, n, m, nm, o, &e), ST_OK);
    for (i = 0; i < n; i++) {
        uint64_t numel = 1;
        uint32_t d;
        for (d = 0; d < t[i].rank; d++) numel *= t[i].shape[d];
        assert_int_equal(st_writer_write(w, i, 0, t[i].data,
                                         numel * st_dtype_bits(t[i].dtype) / 8, &e), ST_OK);
    }
    assert_int_equal(st_writer_finish(w, &e), ST_OK);
    close(fd);
    got = read_all(path, &gn);
    expect_bytes(what, got, gn, want, wn);
    free(got);
    assert_int_equal(dir_entries(dir), 4);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- layout */

static void test_reference_layout(void **state)
{
    static const uint64_t s2[] = {2}, s23[] = {2, 3}, s00[] = {0, 0}, s4[] = {4}, s1[] = {1};
    const float f2[2] = {1.5f, -2.0f};
    const unsigned char u8[6] = {1, 2, 3, 4, 5, 6}, b1[1] = {1}, f4[2] = {0x21, 0x97};
    const unsigned char f16[4] = {0x00, 0x3c, 0x00, 0xc0}, u64[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    const unsigned char f32b[8] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
    st_tensor_spec t[8];
    st_metadata_entry m[2];
    unsigned char data[64], *want;
    size_t wn, dn;
    st_write_options o = ST_WRITE_OPTIONS_INIT;
    (void)state;

    /* one tensor, no metadata */
    t[0] = spec("a", ST_F32, 1, s2, f2);
    want = expected_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", f2, 8,
                         8, &wn);
    write_every_way("one tensor", t, 1, NULL, 0, NULL, want, wn);
    free(want);

    /* no tensor at all, then metadata only */
    want = expected_file("{}", NULL, 0, 8, &wn);
    write_every_way("empty", NULL, 0, NULL, 0, NULL, want, wn);
    free(want);
    m[0] = meta("format", "pt");
    want = expected_file("{\"__metadata__\":{\"format\":\"pt\"}}", NULL, 0, 8, &wn);
    write_every_way("metadata only", NULL, 0, m, 1, NULL, want, wn);
    free(want);
    want = expected_file("{\"__metadata__\":{}}", NULL, 0, 8, &wn);
    write_every_way("empty metadata", NULL, 0, m, 0, NULL, want, wn);
    free(want);

    /* the reference's order: dtype descending in its enum (U64 F32 F16 U8 F4
     * BOOL here), then names in byte order; data back to back in that order */
    t[0] = spec("b", ST_F16, 1, s2, f16);
    t[1] = spec("a", ST_F32, 1, s2, f32b);
    t[2] = spec("c", ST_U8, 2, s23, u8);
    t[3] = spec("a2", ST_F32, 1, s2, f2);
    t[4] = spec("x", ST_BOOL, 1, s1, b1);
    t[5] = spec("y", ST_F4, 1, s4, f4);
    t[6] = spec("z", ST_U64, 1, s1, u64);
    t[7] = spec("empty", ST_F32, 2, s00, NULL);
    m[0] = meta("format", "pt");
    dn = 0;
    memcpy(data + dn, u64, 8); dn += 8;
    memcpy(data + dn, f32b, 8); dn += 8;
    memcpy(data + dn, f2, 8); dn += 8;
    /* "empty" is F32 with 0 bytes: after a2 in the F32 group, before b */
    memcpy(data + dn, f16, 4); dn += 4;
    memcpy(data + dn, u8, 6); dn += 6;
    memcpy(data + dn, f4, 2); dn += 2;
    memcpy(data + dn, b1, 1); dn += 1;
    want = expected_file("{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"z\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                         "\"a2\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
                         "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,0],\"data_offsets\":[24,24]},"
                         "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
                         "\"c\":{\"dtype\":\"U8\",\"shape\":[2,3],\"data_offsets\":[28,34]},"
                         "\"y\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[34,36]},"
                         "\"x\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[36,37]}}",
                         data, dn, 8, &wn);
    write_every_way("reference order", t, 8, m, 1, NULL, want, wn);
    free(want);

    /* the caller's order, and an alignment of 4096 */
    o.flags = ST_WRITE_KEEP_ORDER;
    o.alignment = 4096;
    t[0] = spec("b", ST_F16, 1, s2, f16);
    t[1] = spec("a", ST_F32, 1, s2, f32b);
    memcpy(data, f16, 4);
    memcpy(data + 4, f32b, 8);
    want = expected_file("{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                         data, 12, 4096, &wn);
    assert_int_equal((wn - 12) % 4096, 0);
    write_every_way("kept order, 4096", t, 2, NULL, 0, &o, want, wn);
    free(want);

    /* scalars, and escapes as serde_json writes them: only '"', '\\' and
     * control characters (short forms for \b \f \n \r \t), raw UTF-8 */
    {
        static const char nm[] = "q\"\\\x01\n\t\x1f\x7f/\xc3\xa9";
        const unsigned char one[4] = {0, 0, 0x80, 0x3f};
        t[0] = spec(nm, ST_F32, 0, NULL, one);
        m[0] = meta("k\b\f\r", "v\"\\\x10");
        want = expected_file("{\"__metadata__\":{\"k\\b\\f\\r\":\"v\\\"\\\\\\u0010\"},"
                             "\"q\\\"\\\\\\u0001\\n\\t\\u001f\x7f/\xc3\xa9\":{\"dtype\":\"F32\","
                             "\"shape\":[],\"data_offsets\":[0,4]}}", one, 4, 8, &wn);
        write_every_way("escapes", t, 1, m, 1, NULL, want, wn);
        free(want);
    }

    /* metadata keys in the order given */
    m[0] = meta("b", "1");
    m[1] = meta("a", "2");
    want = expected_file("{\"__metadata__\":{\"b\":\"1\",\"a\":\"2\"}}", NULL, 0, 8, &wn);
    write_every_way("metadata order", NULL, 0, m, 2, NULL, want, wn);
    free(want);
}

/* Every dtype sorts where the reference's enum puts it. */
static void test_dtype_order(void **state)
{
    static const int ref_enum[] = {ST_BOOL, ST_F4, ST_F6_E2M3, ST_F6_E3M2, ST_U8, ST_I8,
                                   ST_F8_E5M2, ST_F8_E4M3, ST_F8_E8M0, ST_F8_E4M3FNUZ,
                                   ST_F8_E5M2FNUZ, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32,
                                   ST_U32, ST_F32, ST_C64, ST_F64, ST_I64, ST_U64};
    static const uint64_t s4[] = {4};
    unsigned char zeros[64] = {0};
    st_tensor_spec t[22];
    char names[22][4];
    st_file *f = NULL;
    st_error e;
    uint64_t size;
    unsigned char *buf;
    size_t i;
    (void)state;
    for (i = 0; i < 22; i++) {
        /* names against the order, so only the dtype can explain it */
        snprintf(names[i], sizeof names[i], "%c", (int)('a' + i));
        t[i] = spec(names[i], ref_enum[i], 1, s4, zeros);
    }
    assert_int_equal(st_write_memory(NULL, 0, &size, t, 22, NULL, 0, NULL, &e), ST_OK);
    buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(st_write_memory(buf, size, &size, t, 22, NULL, 0, NULL, &e), ST_OK);
    assert_int_equal(st_open_memory(&f, buf, size, NULL, &e), ST_OK);
    for (i = 0; i < 22; i++) {
        /* file order: descending enum position */
        const st_tensor *x = st_tensor_at(f, i);
        assert_non_null(x);
        assert_int_equal(x->dtype, ref_enum[21 - i]);
        /* every tensor starts at a multiple of its element size */
        if (st_dtype_bits(x->dtype) >= 8)
            assert_int_equal((x->offset - st_file_data_offset(f)) % (st_dtype_bits(x->dtype) / 8), 0);
    }
    st_close(f);
    free(buf);
}

/* ---------------------------------------------------------------- refusals */

/* streaming: 0 when the refusal is about data pointers, which a streaming
 * writer does not take */
static void expect_refused_s(const char *what, const st_tensor_spec *t, uint64_t n,
                             const st_metadata_entry *m, uint64_t nm, const st_write_options *o,
                             st_status want, const char *tensor, const char *msg, int streaming)
{
    char *dir = make_dir(), path[256];
    st_error e;
    st_writer *w = (st_writer *)&e; /* must be reset to NULL */
    uint64_t size = 1;
    st_status s;
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    s = st_write_file(path, t, n, m, nm, o, &e);
    if (s != want || e.code != (int)want) {
        print_error("%s: want %s, got %s: %s\n", what, st_status_name(want), st_status_name(s),
                    e.message);
        fail();
    }
    if (tensor) {
        assert_true(e.flags & ST_ERROR_HAS_TENSOR);
        assert_string_equal(e.tensor, tensor);
    }
    if (msg && !strstr(e.message, msg)) {
        print_error("%s: message \"%s\" lacks \"%s\"\n", what, e.message, msg);
        fail();
    }
    assert_int_equal(dir_entries(dir), 0); /* nothing written, nothing left */
    assert_int_equal(st_write_memory(NULL, 0, &size, t, n, m, nm, o, &e), want);
    assert_int_equal(size, 0);
    if (streaming) {
        assert_int_equal(st_writer_begin_path(&w, path, t, n, m, nm, o, &e), want);
        assert_null(w);
        assert_int_equal(dir_entries(dir), 0);
    } else {
        assert_int_equal(st_writer_begin_path(&w, path, t, n, m, nm, o, &e), ST_OK);
        st_writer_abort(w);
        assert_int_equal(dir_entries(dir), 0);
    }
    rm_dir(dir);
}

static void expect_refused(const char *what, const st_tensor_spec *t, uint64_t n,
                           const st_metadata_entry *m, uint64_t nm, const st_write_options *o,
                           st_status want, const char *tensor, const char *msg)
{
    expect_refused_s(what, t, n, m, nm, o, want, tensor, msg, 1);
}

static void test_refusals(void **state)
{
    static const uint64_t s2[] = {2}, s3[] = {3}, big[] = {UINT64_C(1) << 32, UINT64_C(1) << 32},
                          huge[] = {UINT64_C(1) << 62};
    const unsigned char d[16] = {0};
    st_tensor_spec t[2];
    st_metadata_entry m[2];
    st_write_options o = ST_WRITE_OPTIONS_INIT;
    (void)state;

    t[0] = spec("a", ST_F32, 1, s2, d);
    t[1] = spec("a", ST_F16, 1, s2, d);
    expect_refused("duplicate", t, 2, NULL, 0, NULL, ST_E_DUPLICATE, "a", "twice");
    t[1] = spec("__metadata__", ST_F16, 1, s2, d);
    expect_refused("__metadata__", t, 2, NULL, 0, NULL, ST_E_NAME, "__metadata__", "metadata key");
    t[1] = spec("x", ST_F16, 1, s2, d);
    t[1].name = "x\0y";
    t[1].name_len = 3;
    expect_refused("NUL in a name", t, 2, NULL, 0, NULL, ST_E_NAME, NULL, "NUL");
    t[1] = spec("\xc3\x28", ST_F16, 1, s2, d);
    expect_refused("bad UTF-8 name", t, 2, NULL, 0, NULL, ST_E_UTF8, NULL, "UTF-8");
    t[1] = spec("x", 0, 1, s2, d);
    expect_refused("dtype 0", t, 2, NULL, 0, NULL, ST_E_DTYPE, "x", "dtype 0");
    t[1] = spec("x", 99, 1, s2, d);
    expect_refused("dtype 99", t, 2, NULL, 0, NULL, ST_E_DTYPE, "x", "dtype 99");
    t[1] = spec("x", ST_U8, 2, big, d);
    expect_refused("shape overflow", t, 2, NULL, 0, NULL, ST_E_OVERFLOW, "x", "overflows");
    t[1] = spec("x", ST_F64, 1, huge, d);
    expect_refused("bits overflow", t, 2, NULL, 0, NULL, ST_E_OVERFLOW, "x", "overflow");
    t[1] = spec("x", ST_F4, 1, s3, d);
    expect_refused("F4 odd", t, 2, NULL, 0, NULL, ST_E_PARTIAL_BYTE, "x", "12 bits");
    t[1] = spec("x", ST_F6_E2M3, 1, s2, d);
    expect_refused("F6 pair", t, 2, NULL, 0, NULL, ST_E_PARTIAL_BYTE, "x", "bits");
    t[1] = spec("x", ST_U8, 1, NULL, d);
    expect_refused("NULL shape", t, 2, NULL, 0, NULL, ST_E_INVALID_ARGUMENT, "x", "shape is NULL");
    t[1] = spec("x", ST_U8, 1, s2, NULL);
    expect_refused_s("NULL data", t, 2, NULL, 0, NULL, ST_E_INVALID_ARGUMENT, "x", "data is NULL", 0);
    t[1] = spec("x", ST_U8, 1, s2, d);
    t[1].name = NULL;
    expect_refused("NULL name", t, 2, NULL, 0, NULL, ST_E_INVALID_ARGUMENT, NULL, "name is NULL");
    expect_refused("NULL tensors", NULL, 2, NULL, 0, NULL, ST_E_INVALID_ARGUMENT, NULL, "tensors");

    m[0] = meta("k", "1");
    m[1] = meta("k", "2");
    expect_refused("duplicate key", t, 1, m, 2, NULL, ST_E_DUPLICATE, NULL, "\"k\" is given twice");
    m[1] = meta("\xff", "2");
    expect_refused("bad UTF-8 key", t, 1, m, 2, NULL, ST_E_UTF8, NULL, "metadata key");
    m[1] = meta("j", "\xed\xa0\x80"); /* an encoded surrogate */
    expect_refused("bad UTF-8 value", t, 1, m, 2, NULL, ST_E_UTF8, NULL, "metadata value");
    m[1].value = NULL;
    expect_refused("NULL value", t, 1, m, 2, NULL, ST_E_INVALID_ARGUMENT, NULL, "value is NULL");
    expect_refused("NULL metadata", t, 1, NULL, 2, NULL, ST_E_INVALID_ARGUMENT, NULL, "metadata");

    /* the header cap, counted with the padding */
    t[0] = spec("a", ST_F32, 1, s2, d);
    o.max_header_size = 40; /* the JSON is 54 bytes */
    expect_refused("cap", t, 1, NULL, 0, &o, ST_E_HEADER_TOO_LARGE, NULL, "above the cap of 40");
    o.max_header_size = 55; /* 54 fits, 56 with its padding does not */
    expect_refused("cap with padding", t, 1, NULL, 0, &o, ST_E_HEADER_TOO_LARGE, NULL, "padding");
    o.max_header_size = 56;
    {
        uint64_t size;
        st_error e;
        assert_int_equal(st_write_memory(NULL, 0, &size, t, 1, NULL, 0, &o, &e), ST_OK);
        assert_int_equal(size, 8 + 56 + 8);
    }
    o.max_header_size = (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1;
    expect_refused("cap limit", t, 1, NULL, 0, &o, ST_E_INVALID_ARGUMENT, NULL, "limit");
    o.max_header_size = 0;
    o.alignment = 12;
    expect_refused("alignment 12", t, 1, NULL, 0, &o, ST_E_INVALID_ARGUMENT, NULL, "power of two");
    o.alignment = 8192;
    expect_refused("alignment 8192", t, 1, NULL, 0, &o, ST_E_INVALID_ARGUMENT, NULL, "4096");
    o.alignment = 4;
    expect_refused("alignment 4", t, 1, NULL, 0, &o, ST_E_INVALID_ARGUMENT, NULL, "from 8");
    o.alignment = 0;
    o.flags = 0x80;
    expect_refused("flags", t, 1, NULL, 0, &o, ST_E_INVALID_ARGUMENT, NULL, "0x80");
    o.flags = 0;
    o.struct_size = 4;
    expect_refused("struct_size", t, 1, NULL, 0, &o, ST_E_INVALID_ARGUMENT, NULL, "struct_size");
    {
        st_error e;
        uint64_t size;
        unsigned char small[16];
        assert_int_equal(st_write_file(NULL, t, 1, NULL, 0, NULL, &e), ST_E_INVALID_ARGUMENT);
        assert_int_equal(st_write_fd(-1, t, 1, NULL, 0, NULL, &e), ST_E_INVALID_ARGUMENT);
        assert_int_equal(st_write_memory(small, sizeof small, NULL, t, 1, NULL, 0, NULL, &e),
                         ST_E_INVALID_ARGUMENT);
        assert_int_equal(st_write_memory(small, sizeof small, &size, t, 1, NULL, 0, NULL, &e),
                         ST_E_RANGE);
        assert_int_equal(size, 72);
        assert_non_null(strstr(e.message, "needs 72 bytes"));
        assert_int_equal(st_writer_begin_path(NULL, "x", t, 1, NULL, 0, NULL, &e),
                         ST_E_INVALID_ARGUMENT);
        assert_int_equal(st_writer_write(NULL, 0, 0, d, 1, &e), ST_E_INVALID_ARGUMENT);
        assert_int_equal(st_writer_finish(NULL, &e), ST_E_INVALID_ARGUMENT);
        st_writer_abort(NULL);
        assert_int_equal(st_writer_tensor_offset(NULL, 0), 0);
        assert_int_equal(st_writer_file_size(NULL), 0);
    }
}

/* ---------------------------------------------------------------- round trips */

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Generated cases: every dtype, scalars, 0-sized dimensions, odd names
 * (escapes, UTF-8, empty), large metadata; written to a file and read back
 * with no leniency: the same names, dtypes, shapes, bytes and metadata. */
static void test_round_trip(void **state)
{
    char *dir = make_dir(), path[256];
    int round;
    (void)state;
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    for (round = 0; round < 60; round++) {
        enum { MAXT = 40 };
        st_tensor_spec t[MAXT];
        uint64_t shapes[MAXT][4], nbytes[MAXT];
        char names[MAXT][24];
        unsigned char *data[MAXT];
        st_metadata_entry m[3];
        char *bigval = NULL;
        uint64_t n = rnd() % MAXT, nm = round % 4 == 0 ? 0 : 3, i;
        st_write_options o = ST_WRITE_OPTIONS_INIT;
        st_file *f = NULL;
        st_error e;
        if (round % 3 == 1) o.flags = ST_WRITE_KEEP_ORDER;
        if (round % 5 == 2) o.alignment = 64u << (round % 7);
        for (i = 0; i < n; i++) {
            int dt = 1 + (int)(rnd() % 22);
            uint32_t r = (uint32_t)(rnd() % 4), d;
            uint64_t numel = 1, bits;
            unsigned bpe = st_dtype_bits(dt);
            for (d = 0; d < r; d++) {
                shapes[i][d] = rnd() % 5 == 0 ? 0 : 1 + rnd() % 6;
                numel *= shapes[i][d];
            }
            /* sub-byte dtypes: round the last dimension up to whole bytes */
            while ((numel * bpe) % 8) {
                if (r == 0) { shapes[i][0] = 8; r = 1; numel = 8; break; }
                shapes[i][r - 1]++;
                numel = 1;
                for (d = 0; d < r; d++) numel *= shapes[i][d];
            }
            bits = numel * bpe;
            nbytes[i] = bits / 8;
            data[i] = malloc(nbytes[i] + 1);
            assert_non_null(data[i]);
            for (d = 0; d < nbytes[i]; d++) data[i][d] = (unsigned char)rnd();
            switch (i % 5) {
            case 0: snprintf(names[i], sizeof names[i], "layer.%u.w", (unsigned)i); break;
            case 1: snprintf(names[i], sizeof names[i], "t\"%u\\\t\x01", (unsigned)i); break;
            case 2: snprintf(names[i], sizeof names[i], "\xe2\x82\xac%u\xf0\x9f\x98\x80", (unsigned)i); break;
            case 3: snprintf(names[i], sizeof names[i], "%s%u", i == 3 ? "" : "z.", i == 3 ? 0u : (unsigned)i); break;
            default: snprintf(names[i], sizeof names[i], "z%u", (unsigned)i); break;
            }
            t[i] = spec(names[i], dt, r, shapes[i], data[i]);
        }
        if (nm) {
            bigval = malloc(100001);
            assert_non_null(bigval);
            for (i = 0; i < 100000; i++) bigval[i] = (char)(' ' + rnd() % 95);
            bigval[100000] = '\0';
            m[0] = meta("format", "pt");
            m[1] = meta("big", bigval);
            m[2] = meta("ctl\n", "\x1f\"\\\xc3\xa9");
        }
        assert_int_equal(st_write_file(path, t, n, nm ? m : NULL, nm, &o, &e), ST_OK);
        if (st_open_path(&f, path, NULL, &e) != ST_OK) {
            print_error("round %d: reopen: %s\n", round, e.message);
            fail();
        }
        assert_int_equal(st_tensor_count(f), n);
        if (o.alignment) assert_int_equal(st_file_data_offset(f) % o.alignment, 0);
        for (i = 0; i < n; i++) {
            const st_tensor *x = st_tensor_find_n(f, t[i].name, (size_t)t[i].name_len);
            uint32_t d;
            assert_non_null(x);
            assert_int_equal(x->dtype, t[i].dtype);
            assert_int_equal(x->rank, t[i].rank);
            for (d = 0; d < t[i].rank; d++) assert_int_equal(x->shape[d], t[i].shape[d]);
            assert_int_equal(x->nbytes, nbytes[i]);
            if (nbytes[i]) assert_memory_equal(x->data, data[i], nbytes[i]);
            if (o.flags & ST_WRITE_KEEP_ORDER) assert_ptr_equal(st_tensor_at(f, i), x);
        }
        if (nm) {
            assert_int_equal(st_metadata_count(f), 3);
            for (i = 0; i < 3; i++) {
                const st_metadata_entry *x = st_metadata_find_n(f, m[i].key, (size_t)m[i].key_len);
                assert_non_null(x);
                assert_int_equal(x->value_len, m[i].value_len);
                assert_memory_equal(x->value, m[i].value, m[i].value_len);
            }
        } else {
            assert_int_equal(st_metadata_state_of(f), ST_METADATA_ABSENT);
        }
        st_close(f);
        for (i = 0; i < n; i++) free(data[i]);
        free(bigval);
    }
    rm_dir(dir);
}

/* ---------------------------------------------------------------- streaming */

typedef struct job {
    st_writer *w;
    const unsigned char *src;
    uint64_t nbytes, chunk;
    int part, parts;
} job;

static void *stream_worker(void *arg)
{
    job *j = arg;
    uint64_t off;
    int k = 0;
    for (off = 0; off < j->nbytes; off += j->chunk, k++) {
        uint64_t n = j->nbytes - off < j->chunk ? j->nbytes - off : j->chunk;
        st_error e;
        if (k % j->parts != j->part) continue;
        if (st_writer_write(j->w, 0, off, j->src + off, n, &e) != ST_OK) return (void *)1;
    }
    return NULL;
}

static void test_streaming_threads(void **state)
{
    enum { N = 1 << 20, THREADS = 4 };
    static const uint64_t shape[] = {N / 4};
    char *dir = make_dir(), path[256];
    unsigned char *src = malloc(N), *want, *got;
    st_tensor_spec t;
    st_writer *w = NULL;
    pthread_t th[THREADS];
    job jobs[THREADS];
    uint64_t size;
    size_t gn;
    st_error e;
    int i;
    (void)state;
    assert_non_null(src);
    for (i = 0; i < N; i++) src[i] = (unsigned char)(i * 31 + 7);
    t = spec("big", ST_F32, 1, shape, src);
    assert_int_equal(st_write_memory(NULL, 0, &size, &t, 1, NULL, 0, NULL, &e), ST_OK);
    want = malloc(size);
    assert_non_null(want);
    assert_int_equal(st_write_memory(want, size, &size, &t, 1, NULL, 0, NULL, &e), ST_OK);
    snprintf(path, sizeof path, "%s/s.safetensors", dir);
    t.data = NULL; /* streaming ignores it */
    assert_int_equal(st_writer_begin_path(&w, path, &t, 1, NULL, 0, NULL, &e), ST_OK);
    for (i = 0; i < THREADS; i++) {
        jobs[i].w = w;
        jobs[i].src = src;
        jobs[i].nbytes = N;
        jobs[i].chunk = 4093; /* pieces that do not line up with anything */
        jobs[i].part = i;
        jobs[i].parts = THREADS;
        assert_int_equal(pthread_create(&th[i], NULL, stream_worker, &jobs[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        void *r;
        assert_int_equal(pthread_join(th[i], &r), 0);
        assert_null(r);
    }
    /* not there before finish: the target appears only whole */
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(dir_entries(dir), 1);
    assert_int_equal(st_writer_finish(w, &e), ST_OK);
    got = read_all(path, &gn);
    expect_bytes("threads", got, gn, want, (size_t)size);
    assert_int_equal(dir_entries(dir), 1);
    free(got);
    free(want);
    free(src);
    rm_dir(dir);
}

static void test_streaming_errors(void **state)
{
    static const uint64_t s4[] = {4}, s0[] = {0};
    const unsigned char d[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    char *dir = make_dir(), path[256];
    st_tensor_spec t[3];
    st_writer *w = NULL;
    st_error e;
    (void)state;
    t[0] = spec("a", ST_F32, 1, s4, NULL);
    t[1] = spec("b", ST_U8, 1, s4, NULL);
    t[2] = spec("none", ST_U8, 1, s0, NULL);
    snprintf(path, sizeof path, "%s/s.safetensors", dir);
    write_text(path, "old");

    /* written twice, in part or whole: refused, and from then on the writer
     * can only fail (nothing is committed), whatever comes next */
    {
        static const uint64_t twice[][2] = {{8, 12}, {2, 6}, {0, 16}, {4, 12}, {11, 12}};
        size_t k;
        for (k = 0; k < sizeof twice / sizeof twice[0]; k++) {
            assert_int_equal(st_writer_begin_path(&w, path, t, 3, NULL, 0, NULL, &e), ST_OK);
            assert_int_equal(st_writer_write(w, 0, 4, d, 8, &e), ST_OK);
            assert_int_equal(st_writer_write(w, 0, twice[k][0], d, twice[k][1] - twice[k][0], &e),
                             ST_E_WRITTEN_TWICE);
            assert_string_equal(e.tensor, "a");
            if (k == 0) assert_non_null(strstr(e.message, "bytes 8 to 12"));
            /* the rest written right: still refused */
            assert_int_equal(st_writer_write(w, 0, 0, d, 4, &e), ST_E_WRITTEN_TWICE);
            assert_int_equal(st_writer_write(w, 1, 0, d, 4, &e), ST_E_WRITTEN_TWICE);
            assert_non_null(strstr(e.message, "an earlier write of tensor 0"));
            assert_int_equal(st_writer_finish(w, &e), ST_E_WRITTEN_TWICE);
            assert_string_equal(e.tensor, "a");
            assert_non_null(strstr(e.message, "nothing was committed"));
            assert_int_equal(dir_entries(dir), 1);
        }
    }
    /* past the end; out of range */
    assert_int_equal(st_writer_begin_path(&w, path, t, 3, NULL, 0, NULL, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 0, 4, d, 8, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 0, 12, d, 8, &e), ST_E_RANGE);
    assert_string_equal(e.tensor, "a");
    assert_int_equal(st_writer_write(w, 3, 0, d, 1, &e), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_writer_write(w, 1, 0, NULL, 1, &e), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_writer_write(w, 2, 0, d, 0, &e), ST_OK); /* nothing to write */
    assert_int_equal(st_writer_write(w, 0, 0, d, 4, &e), ST_OK);   /* closes the gap */
    assert_int_equal(st_writer_write(w, 0, 12, d, 4, &e), ST_OK);  /* and the end */
    /* b never written: finish refuses, the old file stays, nothing is left */
    assert_int_equal(st_writer_finish(w, &e), ST_E_INCOMPLETE);
    assert_string_equal(e.tensor, "b");
    assert_non_null(strstr(e.message, "byte 0 of 4"));
    {
        size_t n;
        unsigned char *b = read_all(path, &n);
        assert_int_equal(n, 3);
        assert_memory_equal(b, "old", 3);
        free(b);
    }
    assert_int_equal(dir_entries(dir), 1);

    /* a hole in the middle is named by its first missing byte */
    assert_int_equal(st_writer_begin_path(&w, path, t, 3, NULL, 0, NULL, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 1, 0, d, 4, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 0, 0, d, 4, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 0, 12, d, 4, &e), ST_OK);
    assert_int_equal(st_writer_finish(w, &e), ST_E_INCOMPLETE);
    assert_string_equal(e.tensor, "a");
    assert_non_null(strstr(e.message, "byte 4 of 16"));
    assert_int_equal(dir_entries(dir), 1);

    /* abort: the temporary file goes, the target stays */
    assert_int_equal(st_writer_begin_path(&w, path, t, 3, NULL, 0, NULL, &e), ST_OK);
    assert_int_equal(dir_entries(dir), 2);
    assert_int_equal(st_writer_write(w, 1, 0, d, 4, &e), ST_OK);
    st_writer_abort(w);
    assert_int_equal(dir_entries(dir), 1);

    /* done right, the new file replaces the old one */
    assert_int_equal(st_writer_begin_path(&w, path, t, 3, NULL, 0, NULL, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 1, 0, d, 4, &e), ST_OK);
    assert_int_equal(st_writer_write(w, 0, 0, d, 16, &e), ST_OK);
    assert_int_equal(st_writer_finish(w, &e), ST_OK);
    {
        st_file *f = NULL;
        assert_int_equal(st_open_path(&f, path, NULL, &e), ST_OK);
        assert_memory_equal(st_tensor_find(f, "a")->data, d, 16);
        assert_memory_equal(st_tensor_find(f, "b")->data, d, 4);
        st_close(f);
    }
    assert_int_equal(dir_entries(dir), 1);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- failures */

typedef struct failing {
    size_t calls, fail_at, live;
} failing;

static void *f_malloc(void *ctx, size_t n)
{
    failing *c = ctx;
    void *p;
    if (c->calls++ == c->fail_at) return NULL;
    p = malloc(n ? n : 1);
    if (p) c->live++;
    return p;
}

static void *f_realloc(void *ctx, void *p, size_t old, size_t n)
{
    failing *c = ctx;
    void *q;
    (void)old;
    if (c->calls++ == c->fail_at) return NULL;
    q = realloc(p, n ? n : 1);
    if (q && !p) c->live++;
    return q;
}

static void f_free(void *ctx, void *p, size_t n)
{
    failing *c = ctx;
    (void)n;
    if (p) c->live--;
    free(p);
}

/* Every allocation of st_write_file and of a streaming write fails in turn:
 * each gives ST_E_NOMEM, leaks nothing, and leaves the old target and no
 * temporary file. */
static void test_failing_allocator(void **state)
{
    static const uint64_t s4[] = {4};
    const unsigned char d[16] = {0};
    char *dir = make_dir(), path[256];
    st_tensor_spec t[3];
    st_metadata_entry m[3];
    failing c;
    st_allocator a;
    st_write_options o = ST_WRITE_OPTIONS_INIT;
    size_t k, streamed = 0;
    int done = 0;
    (void)state;
    a.malloc_fn = f_malloc;
    a.realloc_fn = f_realloc;
    a.free_fn = f_free;
    a.ctx = &c;
    o.allocator = &a;
    t[0] = spec("a", ST_F32, 1, s4, d);
    t[1] = spec("b", ST_F32, 1, s4, d);
    t[2] = spec("c", ST_U8, 1, s4, d);
    m[0] = meta("x", "1");
    m[1] = meta("y", "2");
    m[2] = meta("z", "3");
    snprintf(path, sizeof path, "%s/f.safetensors", dir);
    write_text(path, "old");
    for (k = 0; !done; k++) {
        st_error e;
        st_status s;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        s = st_write_file(path, t, 3, m, 3, &o, &e);
        assert_int_equal(c.live, 0);
        if (s == ST_OK) {
            done = 1;
            break;
        }
        assert_int_equal(s, ST_E_NOMEM);
        assert_int_equal(dir_entries(dir), 1);
        {
            size_t n;
            unsigned char *b = read_all(path, &n);
            assert_int_equal(n, 3);
            free(b);
        }
    }
    assert_true(k >= 4);
    write_text(path, "old");
    for (k = 0;; k++) {
        st_error e;
        st_writer *w = NULL;
        st_status s;
        uint64_t i;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        s = st_writer_begin_path(&w, path, t, 3, m, 3, &o, &e);
        if (s == ST_OK) {
            /* the writes of a fragmented tensor allocate too */
            for (i = 0; i < 16 && s == ST_OK; i += 2) s = st_writer_write(w, 0, i, d, 1, &e);
            for (i = 1; i < 16 && s == ST_OK; i += 2) s = st_writer_write(w, 0, i, d, 1, &e);
            if (s == ST_OK) s = st_writer_write(w, 1, 0, d, 16, &e);
            if (s == ST_OK) s = st_writer_write(w, 2, 0, d, 4, &e);
            if (s == ST_OK) {
                s = st_writer_finish(w, &e);
                assert_int_equal(s, ST_OK);
                assert_int_equal(c.live, 0);
                break;
            }
            st_writer_abort(w);
        }
        assert_int_equal(s, ST_E_NOMEM);
        assert_int_equal(c.live, 0);
        assert_int_equal(dir_entries(dir), 1);
        streamed++;
    }
    assert_true(streamed >= 5);
    rm_dir(dir);
}

/* A write that fails part way (the file-size limit, as a full disk would):
 * at every size the file can stop at, ST_E_IO with the errno, the old target
 * intact and no temporary file. In a child process, with SIGXFSZ ignored. */
static void test_write_failures_fsize(void **state)
{
#if STT_WINDOWS
    (void)state;
    print_message("no per-process file size limit (RLIMIT_FSIZE) and no fork on Windows\n");
    skip();
#else
    static const uint64_t s64[] = {64};
    unsigned char d[256];
    char *dir = make_dir(), path[256];
    st_tensor_spec t[4];
    uint64_t size;
    st_error e;
    pid_t pid;
    int status, i;
    (void)state;
    for (i = 0; i < 256; i++) d[i] = (unsigned char)i;
    t[0] = spec("a", ST_F32, 1, s64, d);
    t[1] = spec("b", ST_U8, 1, s64, d);
    t[2] = spec("c", ST_I16, 1, s64, d);
    t[3] = spec("d", ST_U8, 1, s64, d);
    assert_int_equal(st_write_memory(NULL, 0, &size, t, 4, NULL, 0, NULL, &e), ST_OK);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    write_text(path, "old");
    /* every limit up to the file's size, each in a child of its own */
    {
        uint64_t lim;
        int checked = 0;
        for (lim = 1; lim < size; lim += lim < 64 ? 5 : 61) {
            fflush(NULL);
            pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                struct rlimit rl;
                st_status s;
                signal(SIGXFSZ, SIG_IGN);
                rl.rlim_cur = rl.rlim_max = (rlim_t)lim;
                if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(20);
                int code = 0;
                s = st_write_file(path, t, 4, NULL, 0, NULL, &e);
                if (s != ST_E_IO || e.sys_errno != EFBIG) code = 21;
                else if (dir_entries(dir) != 1) code = 22;
                if (!code) {
                    /* streaming: the header, or the size set at once, fails */
                    st_writer *w = NULL;
                    s = st_writer_begin_path(&w, path, t, 4, NULL, 0, NULL, &e);
                    if (s != ST_E_IO || w || e.sys_errno != EFBIG) code = 23;
                    else if (dir_entries(dir) != 1) code = 24;
                }
                free(dir); /* the child's copy (leak checkers look at it too) */
                _exit(code);
            }
            assert_int_equal(waitpid(pid, &status, 0), pid);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                print_error("limit %llu: child status %d\n", (unsigned long long)lim, status);
                fail();
            }
            checked++;
        }
        assert_true(checked > 5);
    }
    {
        size_t n;
        unsigned char *b = read_all(path, &n);
        assert_int_equal(n, 3);
        assert_memory_equal(b, "old", 3);
        free(b);
    }
    rm_dir(dir);
#endif
}

/* Failures of the final rename and of the temporary file's creation: the
 * directory in the way stays, no temporary file is left. */
static void test_write_failures(void **state)
{
    static const uint64_t s64[] = {64};
    unsigned char d[256];
    char *dir = make_dir(), path[256];
    st_tensor_spec t[4];
    st_error e;
    int i;
    char inner[300];
    (void)state;
    for (i = 0; i < 256; i++) d[i] = (unsigned char)i;
    t[0] = spec("a", ST_F32, 1, s64, d);
    t[1] = spec("b", ST_U8, 1, s64, d);
    t[2] = spec("c", ST_I16, 1, s64, d);
    t[3] = spec("d", ST_U8, 1, s64, d);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    write_text(path, "old");
    /* rename over a directory fails: the directory stays, no temporary file */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_text(inner, "x");
    assert_int_equal(st_write_file(path, t, 4, NULL, 0, NULL, &e), ST_E_IO);
    assert_true(e.sys_errno != 0);
    assert_non_null(strstr(e.message, "cannot rename"));
    assert_int_equal(dir_entries(dir), 2);
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/w.safetensors", dir);
    assert_int_equal(st_write_file(path, t, 4, NULL, 0, NULL, &e), ST_E_IO);
    assert_int_equal(e.sys_errno, ENOENT);
    assert_non_null(strstr(e.message, "temporary file"));
    assert_int_equal(unlink(inner), 0);
    rm_dir(dir);
}

/* Replacing a file that an open handle maps: POSIX renames over it (the
 * handle keeps the file it opened); Windows refuses to replace a mapped file:
 * ST_E_IO with EACCES, the target as it was, no temporary file. */
static void test_write_over_mapped(void **state)
{
    static const uint64_t s4[] = {4};
    unsigned char d[4] = {1, 2, 3, 4};
    char *dir = make_dir(), path[256];
    st_tensor_spec t[1];
    st_file *f = NULL, *g = NULL;
    st_status s;
    st_error e;
    (void)state;
    t[0] = spec("a", ST_U8, 1, s4, d);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    assert_int_equal(st_write_file(path, t, 1, NULL, 0, NULL, &e), ST_OK);
    assert_int_equal(st_open_path(&f, path, NULL, &e), ST_OK);
    d[0] = 9;
    t[0] = spec("b", ST_U8, 1, s4, d);
    s = st_write_file(path, t, 1, NULL, 0, NULL, &e);
    if (STT_WINDOWS) {
        assert_int_equal(s, ST_E_IO);
        assert_int_equal(e.sys_errno, EACCES);
        assert_non_null(strstr(e.message, "cannot rename"));
    } else {
        assert_int_equal(s, ST_OK);
    }
    assert_int_equal(dir_entries(dir), 1);
    /* what the path names now */
    assert_int_equal(st_open_path(&g, path, NULL, &e), ST_OK);
    assert_non_null(st_tensor_find(g, STT_WINDOWS ? "a" : "b"));
    assert_int_equal(((const unsigned char *)st_tensor_at(g, 0)->data)[0], STT_WINDOWS ? 1 : 9);
    st_close(g);
    /* the open handle reads what it opened either way */
    assert_non_null(st_tensor_find(f, "a"));
    assert_int_equal(((const unsigned char *)st_tensor_find(f, "a")->data)[0], 1);
    st_close(f);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- sharded */

static int file_exists(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void test_sharded(void **state)
{
    static const uint64_t s4[] = {4}, s8[] = {8};
    static const char odd[] = "d\xc3\xa9\xf0\x9f\x98\x80\x01\"\x7f";
    unsigned char d[32];
    char *dir = make_dir(), p[512];
    st_tensor_spec t[5];
    st_metadata_entry m = meta("format", "pt");
    st_model *mod = NULL;
    uint64_t n = 0, i;
    st_error e;
    unsigned char *idx;
    size_t in;
    /* json.dumps(index, indent=2, sort_keys=True) + "\n", as transformers writes it */
    static const char want_index[] =
        "{\n  \"metadata\": {\n    \"total_size\": 80\n  },\n  \"weight_map\": {\n"
        "    \"a\": \"model-00001-of-00003.safetensors\",\n"
        "    \"b\": \"model-00001-of-00003.safetensors\",\n"
        "    \"c\": \"model-00002-of-00003.safetensors\",\n"
        "    \"d\\u00e9\\ud83d\\ude00\\u0001\\\"\\u007f\": \"model-00002-of-00003.safetensors\",\n"
        "    \"e\": \"model-00003-of-00003.safetensors\"\n  }\n}\n";
    (void)state;
    for (i = 0; i < sizeof d; i++) d[i] = (unsigned char)(i * 5 + 1);
    /* 16 bytes each, 40 at most a shard: [b a] [c odd] [e] */
    t[0] = spec("b", ST_F32, 1, s4, d);
    t[1] = spec("a", ST_I16, 1, s8, d);
    t[2] = spec("c", ST_F32, 1, s4, d + 4);
    t[3] = spec(odd, ST_F32, 1, s4, d + 8);
    t[4] = spec("e", ST_F32, 1, s4, d + 12);
    assert_int_equal(st_write_sharded(dir, NULL, 40, t, 5, &m, 1, NULL, &n, &e), ST_OK);
    assert_int_equal(n, 3);
    assert_int_equal(dir_entries(dir), 4);
    assert_true(file_exists(dir, "model-00001-of-00003.safetensors"));
    assert_true(file_exists(dir, "model-00003-of-00003.safetensors"));
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    idx = read_all(p, &in);
    expect_bytes("index", idx, in, (const unsigned char *)want_index, sizeof want_index - 1);
    free(idx);
    /* our reader takes it back whole */
    assert_int_equal(st_model_open(&mod, dir, NULL, &e), ST_OK);
    assert_int_equal(st_model_tensor_count(mod), 5);
    assert_int_equal(st_model_shard_count(mod), 3);
    for (i = 0; i < 5; i++) {
        const st_model_entry *me = st_model_find(mod, t[i].name);
        const st_file *f = NULL;
        const st_tensor *x;
        assert_non_null(me);
        assert_int_equal(st_model_acquire(mod, me->shard, &f, &e), ST_OK);
        x = st_tensor_find(f, t[i].name);
        assert_non_null(x);
        assert_memory_equal(x->data, t[i].data, 16);
        assert_non_null(st_metadata_find(f, "format"));
        st_model_release(mod, me->shard);
    }
    st_model_close(mod);
    rm_dir(dir);

    /* everything in one shard: model.safetensors alone, no index */
    dir = make_dir();
    assert_int_equal(st_write_sharded(dir, "pytorch_model", 0, t, 5, NULL, 0, NULL, &n, &e), ST_OK);
    assert_int_equal(n, 1);
    assert_int_equal(dir_entries(dir), 1);
    assert_true(file_exists(dir, "pytorch_model.safetensors"));
    /* a tensor above the limit gets a shard of its own */
    assert_int_equal(st_write_sharded(dir, "x", 8, t, 2, NULL, 0, NULL, &n, &e), ST_OK);
    assert_int_equal(n, 2);
    assert_true(file_exists(dir, "x-00001-of-00002.safetensors"));
    assert_true(file_exists(dir, "x.safetensors.index.json"));
    rm_dir(dir);

    /* refusals leave the directory empty */
    dir = make_dir();
    assert_int_equal(st_write_sharded(dir, "a/b", 40, t, 5, NULL, 0, NULL, &n, &e), ST_E_NAME);
    assert_int_equal(st_write_sharded(dir, "..", 40, t, 5, NULL, 0, NULL, &n, &e), ST_E_NAME);
    assert_int_equal(st_write_sharded(NULL, NULL, 40, t, 5, NULL, 0, NULL, &n, &e),
                     ST_E_INVALID_ARGUMENT);
    t[4] = spec("a", ST_F32, 1, s4, d); /* "a" again, in another shard */
    assert_int_equal(st_write_sharded(dir, NULL, 40, t, 5, NULL, 0, NULL, &n, &e), ST_E_DUPLICATE);
    assert_int_equal(n, 0);
    assert_int_equal(dir_entries(dir), 0);
    t[4] = spec("e", ST_F32, 1, s4, d + 12);
    snprintf(p, sizeof p, "%s/none", dir);
    assert_int_equal(st_write_sharded(p, NULL, 40, t, 5, NULL, 0, NULL, &n, &e), ST_E_IO);
    assert_int_equal(e.sys_errno, ENOENT);
    /* a failing allocator at every step: nothing is left behind */
    {
        failing c;
        st_allocator a;
        st_write_options o = ST_WRITE_OPTIONS_INIT;
        size_t k;
        a.malloc_fn = f_malloc;
        a.realloc_fn = f_realloc;
        a.free_fn = f_free;
        a.ctx = &c;
        o.allocator = &a;
        for (k = 0;; k++) {
            st_status s;
            memset(&c, 0, sizeof c);
            c.fail_at = k;
            s = st_write_sharded(dir, NULL, 40, t, 5, &m, 1, &o, &n, &e);
            assert_int_equal(c.live, 0);
            if (s == ST_OK) break;
            assert_int_equal(s, ST_E_NOMEM);
            assert_int_equal(dir_entries(dir), 0);
        }
        assert_true(k > 8);
        assert_int_equal(dir_entries(dir), 4);
    }
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_layout),
        cmocka_unit_test(test_dtype_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_streaming_threads),
        cmocka_unit_test(test_streaming_errors),
        cmocka_unit_test(test_failing_allocator),
        cmocka_unit_test(test_write_failures_fsize),
        cmocka_unit_test(test_write_failures),
        cmocka_unit_test(test_write_over_mapped),
        cmocka_unit_test(test_sharded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
