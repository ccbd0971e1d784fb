/* The host's bits and bytes: sizes and offsets stay 64-bit whatever size_t and
 * off_t are (a file or buffer larger than the address space is ST_E_TOO_BIG,
 * never a wrapped size), and byte order (typed views are ST_E_BYTE_ORDER on a
 * big-endian host while host-order copies and conversions give the values).
 * Every test runs on every host and checks the expectations of the host it
 * runs on: `make check-m32` runs it as i386, `make check-s390x` as big-endian
 * s390x under qemu-user. */
#define _FILE_OFFSET_BITS 64 /* ftruncate past 4 GiB from a 32-bit test */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt.h"
#include "stt_os.h"

typedef char off_t_is_64_bits[sizeof(off_t) == 8 ? 1 : -1];

static int host_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static int host_32(void)
{
    return (uint64_t)SIZE_MAX < UINT64_MAX;
}

static void expect_status(const char *what, st_status got, const st_error *e, st_status want)
{
    if (got != want || (e && e->code != (int)got)) {
        print_error("%s: want %s, got %s (err.code %s, errno %d): %s\n", what,
                    st_status_name(want), st_status_name(got), e ? st_status_name(e->code) : "-",
                    e ? e->sys_errno : 0, e ? e->message : "");
        fail();
    }
}

/* The decimal digits of v, for finding a size in an error message. */
static const char *u64_str(char *buf, size_t cap, uint64_t v)
{
    snprintf(buf, cap, "%llu", (unsigned long long)v);
    return buf;
}

static void expect_message_has(const st_error *e, uint64_t v)
{
    char num[32];
    if (!strstr(e->message, u64_str(num, sizeof num, v))) {
        print_error("message does not name %s: %s\n", num, e->message);
        fail();
    }
}

/* The sparse file of the running test: removed by the teardown even when an
 * assertion ends the test early (a failing run must not leave GiB-sized files). */
static char *g_path;

static int remove_sparse(void **state)
{
    (void)state;
    stt_remove_temp(g_path);
    g_path = NULL;
    return 0;
}

/* hdr (padded with spaces so 8 + N is a multiple of 8) written to a temp file
 * that is then extended, sparse, to 8 + N + data_len bytes. Returns NULL with
 * the reason printed when the filesystem refuses such a file. */
static char *sparse_file(const char *hdr, uint64_t data_len, uint64_t *total, uint64_t *data_off)
{
    char padded[512];
    size_t len = strlen(hdr), n;
    unsigned char *b;
    char *path;
    int fd, e;
    assert_true(len + 8 < sizeof padded);
    memcpy(padded, hdr, len);
    while ((8 + len) % 8) padded[len++] = ' ';
    padded[len] = '\0';
    b = stt_build_str(padded, 0, &n);
    path = stt_write_temp(b, n);
    free(b);
    *data_off = 8 + (uint64_t)len;
    *total = *data_off + data_len;
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    if (ftruncate(fd, (off_t)*total) != 0) {
        e = errno;
        close(fd);
        stt_remove_temp(path);
        print_message("cannot make a sparse file of %llu bytes here (ftruncate: %s)\n",
                      (unsigned long long)*total, strerror(e));
        return NULL;
    }
    close(fd);
    g_path = path;
    return path;
}

/* ---------------------------------------------------------------- > 4 GiB */

/* A valid file of 4 GiB + 8 bytes of data: ST_OK with exact 64-bit facts where
 * size_t is 64-bit; ST_E_TOO_BIG (offset 0, the size in the message, nothing
 * returned) by path, by fd and with ST_OPEN_READ where it is 32-bit. */
static void test_file_over_4gib(void **state)
{
    static const char hdr[] =
        "{\"big\":{\"dtype\":\"U8\",\"shape\":[4294967296],\"data_offsets\":[0,4294967296]},"
        "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4294967296,4294967304]}}";
    const uint64_t data_len = 4294967304u;
    uint64_t total, doff;
    char *path = sparse_file(hdr, data_len, &total, &doff);
    st_open_options ro = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    const st_tensor *t;
    int fd;
    (void)state;
    if (!path) skip();
    ro.flags = ST_OPEN_READ;
    assert_true(total > UINT32_MAX);
    if (host_32()) {
        print_message("32-bit size_t: a %llu-byte file must be ST_E_TOO_BIG\n",
                      (unsigned long long)total);
        memset(&e, 0x5a, sizeof e);
        expect_status("> 4 GiB by path", st_open_path(&f, path, NULL, &e), &e, ST_E_TOO_BIG);
        assert_null(f);
        assert_true(e.flags & ST_ERROR_HAS_OFFSET);
        assert_int_equal(e.offset, 0);
        assert_int_equal(e.sys_errno, 0);
        expect_message_has(&e, total);
        expect_status("> 4 GiB, ST_OPEN_READ", st_open_path(&f, path, &ro, &e), &e, ST_E_TOO_BIG);
        assert_null(f);
        expect_message_has(&e, total);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        expect_status("> 4 GiB by fd", st_open_fd(&f, fd, NULL, &e), &e, ST_E_TOO_BIG);
        assert_null(f);
        expect_message_has(&e, total);
        /* the descriptor is the caller's: still open */
        assert_int_equal(fcntl(fd, F_GETFD) != -1, 1);
        close(fd);
    } else {
        expect_status("> 4 GiB by path", st_open_path(&f, path, NULL, &e), &e, ST_OK);
        assert_int_equal(st_file_size(f), total);
        assert_int_equal(st_file_data_offset(f), doff);
        assert_int_equal(st_file_data_size(f), data_len);
        t = st_tensor_find(f, "big");
        assert_non_null(t);
        assert_int_equal(t->nbytes, 4294967296u);
        assert_int_equal(t->numel, 4294967296u);
        t = st_tensor_find(f, "tail");
        assert_non_null(t);
        assert_int_equal(t->begin, 4294967296u);
        assert_int_equal(t->offset, doff + 4294967296u);
        assert_ptr_equal(t->data, (const unsigned char *)st_file_bytes(f) + t->offset);
        st_close(f);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        expect_status("> 4 GiB by fd", st_open_fd(&f, fd, NULL, &e), &e, ST_OK);
        assert_int_equal(st_file_size(f), total);
        st_close(f);
        close(fd);
        /* (ST_OPEN_READ would read 4 GiB here: the 32-bit branch checks it) */
    }
}

/* Between 2 and 4 GiB: fits in a 32-bit size_t but not in a 32-bit off_t, so
 * the library must size, map and pread it with 64-bit offsets. A 32-bit process
 * may lack the address space to map 3 GiB: ST_E_TOO_BIG then, never ST_E_IO (a
 * 32-bit fstat says EOVERFLOW) and never a wrapped size. */
static void test_file_between_2_and_4_gib(void **state)
{
    static const char hdr[] =
        "{\"big\":{\"dtype\":\"U8\",\"shape\":[3221225472],\"data_offsets\":[0,3221225472]},"
        "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3221225472,3221225480]}}";
    const uint64_t data_len = 3221225480u;
    uint64_t total, doff;
    char *path = sparse_file(hdr, data_len, &total, &doff);
    st_file *f = NULL;
    st_error e;
    st_status s;
    const st_tensor *t;
    unsigned char buf[8], zero[8] = {0};
    (void)state;
    if (!path) skip();
    assert_true(total > INT32_MAX && total < UINT32_MAX);
    s = st_open_path(&f, path, NULL, &e);
    if (host_32() && s == ST_E_TOO_BIG) {
        print_message("32-bit: no room to map %llu bytes here (%s): ST_E_TOO_BIG is right\n",
                      (unsigned long long)total, e.message);
        assert_null(f);
        expect_message_has(&e, total);
        return;
    }
    expect_status("3 GiB by path", s, &e, ST_OK);
    assert_int_equal(st_file_size(f), total);
    t = st_tensor_find(f, "tail");
    assert_non_null(t);
    assert_int_equal(t->offset, doff + 3221225472u);
    /* pread past 2^31, and the mapping there */
    memset(buf, 0xAA, sizeof buf);
    expect_status("read tail", st_tensor_read(f, t, 0, buf, 8, &e), &e, ST_OK);
    assert_memory_equal(buf, zero, 8);
    memset(buf, 0xAA, sizeof buf);
    assert_int_equal(st_tensor_copy(t, 0, buf, 8), ST_OK);
    assert_memory_equal(buf, zero, 8);
    expect_status("prefetch tail", st_tensor_prefetch(f, t, &e), &e, ST_OK);
    st_close(f);
}

/* ---------------------------------------------------------------- 64-bit sizes in memory */

/* A buffer size above SIZE_MAX cannot be a real buffer: ST_E_TOO_BIG, checked
 * before a byte is read. On a 64-bit host no uint64_t exceeds SIZE_MAX. */
static void test_memory_size_above_size_max(void **state)
{
    static const unsigned char buf[16] = {0};
    static const uint64_t sizes[] = {(uint64_t)SIZE_MAX + 1, 0x100000008ull, UINT64_MAX};
    size_t i;
    (void)state;
    if (!host_32()) {
        print_message("64-bit size_t: every uint64_t size fits, nothing to refuse\n");
        assert_true((uint64_t)SIZE_MAX == UINT64_MAX);
        return;
    }
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        static int dummy;
        st_file *f = (st_file *)(void *)&dummy;
        st_error e;
        memset(&e, 0x5a, sizeof e);
        expect_status("memory > SIZE_MAX", st_open_memory(&f, buf, sizes[i], NULL, &e), &e,
                      ST_E_TOO_BIG);
        assert_null(f);
        assert_int_equal(e.sys_errno, 0);
        expect_message_has(&e, sizes[i]);
    }
}

/* Shapes and offsets past 2^32 are computed in 64 bits everywhere: a 32-bit
 * wrap would make each of these files valid. */
static void test_no_32bit_wrap(void **state)
{
    static const struct {
        const char *hdr;
        uint64_t data_len;
        st_status want;
    } cases[] = {
        /* 2^32 + 1 elements of U8 would wrap to 1 byte */
        {"{\"x\":{\"dtype\":\"U8\",\"shape\":[4294967297],\"data_offsets\":[0,1]}}", 1,
         ST_E_SIZE_MISMATCH},
        /* 2^30 F32 elements are 2^32 bytes, which would wrap to 0 */
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1073741824],\"data_offsets\":[0,0]}}", 0,
         ST_E_SIZE_MISMATCH},
        /* 65536 x 65536 U8 = 2^32, wrapping to 0 */
        {"{\"x\":{\"dtype\":\"U8\",\"shape\":[65536,65536],\"data_offsets\":[0,0]}}", 0,
         ST_E_SIZE_MISMATCH},
        /* an END of 2^32 + 4 over a 4-byte data section: would wrap to 4 */
        {"{\"x\":{\"dtype\":\"U8\",\"shape\":[4294967300],\"data_offsets\":[0,4294967300]}}", 4,
         ST_E_COVERAGE},
        /* BEGIN 2^32 would wrap to 0 = the cursor */
        {"{\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4294967296,4294967296]}}", 0,
         ST_E_OFFSETS},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_error e;
        st_status s = stt_check(cases[i].hdr, cases[i].data_len, 0, &e);
        if (s != cases[i].want) {
            print_error("case %zu %s: want %s, got %s: %s\n", i, cases[i].hdr,
                        st_status_name(cases[i].want), st_status_name(s), e.message);
            fail();
        }
    }
    /* the coverage offset is the 64-bit end of the data, not a wrapped one */
    {
        st_error e;
        const char *h = cases[3].hdr;
        assert_int_equal(stt_check(h, 4, 0, &e), ST_E_COVERAGE);
        assert_int_equal(e.offset, 8 + strlen(h) + 4294967300u);
    }
}

/* ---------------------------------------------------------------- byte order */

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

/* One file, every element width, aligned (8 + N and every BEGIN multiples of
 * 8). Little-endian host: views in place. Big-endian host: every multi-byte
 * view is ST_E_BYTE_ORDER with a NULL pointer, the 1-byte ones still work. On
 * both: st_tensor_copy gives the stored little-endian bytes,
 * st_tensor_copy_elements the host values, st_tensor_to_f32 the numbers. */
static void test_byte_order(void **state)
{
    static const float fv[2] = {1.5f, -2.25f};
    static const double dv[1] = {-1e-300};
    static const int16_t sv[4] = {-2, 0x1234, 32767, -32768};
    static const uint16_t bv[4] = {0x3fc0, 0xc010, 0x0001, 0x8000}; /* BF16 1.5, -2.25 */
    static const int32_t iv[2] = {-123456789, 0x01020304};
    static const uint64_t uv[1] = {0x0102030405060708ull};
    static const int8_t cv[8] = {-128, -1, 0, 1, 2, 3, 126, 127};
    const char *hdr =
        "{\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
        "\"s\":{\"dtype\":\"I16\",\"shape\":[4],\"data_offsets\":[16,24]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[32,40]},"
        "\"u\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[40,48]},"
        "\"c\":{\"dtype\":\"I8\",\"shape\":[8],\"data_offsets\":[48,56]},"
        "\"z\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[56,64]},"
        "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[64,64]}}";
    unsigned char data[64], padded[1024], *file;
    size_t len = strlen(hdr), i, n;
    const st_status multi = host_le() ? ST_OK : ST_E_BYTE_ORDER;
    st_file *f = NULL;
    st_error e;
    void *area;
    (void)state;
    print_message("host: %s-endian, %u-bit size_t\n", host_le() ? "little" : "big",
                  (unsigned)(sizeof(size_t) * 8));
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__)
    assert_int_equal(host_le(), __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__);
#endif
    for (i = 0; i < 2; i++) put_le(data + 4 * i, f32_bits(fv[i]), 4);
    put_le(data + 8, f64_bits(dv[0]), 8);
    for (i = 0; i < 4; i++) put_le(data + 16 + 2 * i, (uint16_t)sv[i], 2);
    for (i = 0; i < 4; i++) put_le(data + 24 + 2 * i, bv[i], 2);
    for (i = 0; i < 2; i++) put_le(data + 32 + 4 * i, (uint32_t)iv[i], 4);
    put_le(data + 40, uv[0], 8);
    for (i = 0; i < 8; i++) data[48 + i] = (unsigned char)cv[i];
    for (i = 0; i < 2; i++) put_le(data + 56 + 4 * i, f32_bits(fv[i]), 4);
    memcpy(padded, hdr, len);
    while ((8 + len) % 8) padded[len++] = ' ';
    /* an 8-aligned buffer: malloc's */
    n = 8 + len + sizeof data;
    area = malloc(n);
    assert_non_null(area);
    file = area;
    put_le(file, len, 8);
    memcpy(file + 8, padded, len);
    memcpy(file + 8 + len, data, sizeof data);
    expect_status("open", st_open_memory(&f, file, n, NULL, &e), &e, ST_OK);

    /* views: in place on little-endian hosts, refused for multi-byte types on
     * big-endian ones (also when empty: the answer depends on the host only) */
    {
        const float *pf = (const float *)1, *pz = (const float *)1, *pe = (const float *)1;
        const double *pd = (const double *)1;
        const int16_t *ps = (const int16_t *)1;
        const uint16_t *pb = (const uint16_t *)1;
        const int32_t *pi = (const int32_t *)1;
        const uint64_t *pu = (const uint64_t *)1;
        const int8_t *pc = NULL;
        const void *pv = (const void *)1;
        assert_int_equal(st_tensor_as_f32(st_tensor_find(f, "f"), &pf), multi);
        assert_int_equal(st_tensor_as_f64(st_tensor_find(f, "d"), &pd), multi);
        assert_int_equal(st_tensor_as_i16(st_tensor_find(f, "s"), &ps), multi);
        assert_int_equal(st_tensor_as_bf16(st_tensor_find(f, "b"), &pb), multi);
        assert_int_equal(st_tensor_as_i32(st_tensor_find(f, "i"), &pi), multi);
        assert_int_equal(st_tensor_as_u64(st_tensor_find(f, "u"), &pu), multi);
        assert_int_equal(st_tensor_as_c64(st_tensor_find(f, "z"), &pz), multi);
        assert_int_equal(st_tensor_as_f32(st_tensor_find(f, "e"), &pe), multi);
        assert_int_equal(st_tensor_view(st_tensor_find(f, "d"), &pv), multi);
        assert_int_equal(st_tensor_as_i8(st_tensor_find(f, "c"), &pc), ST_OK);
        assert_ptr_equal(pc, st_tensor_find(f, "c")->data);
        for (i = 0; i < 8; i++) assert_int_equal(pc[i], cv[i]);
        if (multi == ST_OK) {
            for (i = 0; i < 2; i++) assert_int_equal(f32_bits(pf[i]), f32_bits(fv[i]));
            assert_int_equal(f64_bits(pd[0]), f64_bits(dv[0]));
            for (i = 0; i < 4; i++) assert_int_equal(ps[i], sv[i]);
            for (i = 0; i < 4; i++) assert_int_equal(pb[i], bv[i]);
            for (i = 0; i < 2; i++) assert_int_equal(pi[i], iv[i]);
            assert_true(pu[0] == uv[0]);
            for (i = 0; i < 2; i++) assert_int_equal(f32_bits(pz[i]), f32_bits(fv[i]));
            assert_ptr_equal(pv, st_tensor_find(f, "d")->data);
        } else {
            assert_null(pf);
            assert_null(pd);
            assert_null(ps);
            assert_null(pb);
            assert_null(pi);
            assert_null(pu);
            assert_null(pz);
            assert_null(pe);
            assert_null(pv);
        }
    }

    /* st_tensor_copy: the stored (little-endian) bytes on every host */
    {
        unsigned char raw[64];
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "f"), 0, raw, 8), ST_OK);
        assert_memory_equal(raw, data, 8);
        assert_int_equal(st_tensor_copy(st_tensor_find(f, "u"), 0, raw, 8), ST_OK);
        assert_memory_equal(raw, data + 40, 8);
    }

    /* st_tensor_copy_elements: host values on every host, any destination
     * alignment */
    {
        float fo[2], zo[2];
        double dout;
        int16_t so[4];
        uint16_t bo[4];
        int32_t io[2];
        uint64_t uo;
        unsigned char odd[1 + 8];
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "f"), 0, 2, fo), ST_OK);
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "d"), 0, 1, &dout), ST_OK);
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "s"), 0, 4, so), ST_OK);
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "b"), 0, 4, bo), ST_OK);
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "i"), 0, 2, io), ST_OK);
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "u"), 0, 1, &uo), ST_OK);
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "z"), 0, 1, zo), ST_OK);
        for (i = 0; i < 2; i++) assert_int_equal(f32_bits(fo[i]), f32_bits(fv[i]));
        assert_int_equal(f64_bits(dout), f64_bits(dv[0]));
        for (i = 0; i < 4; i++) assert_int_equal(so[i], sv[i]);
        for (i = 0; i < 4; i++) assert_int_equal(bo[i], bv[i]);
        for (i = 0; i < 2; i++) assert_int_equal(io[i], iv[i]);
        assert_true(uo == uv[0]);
        for (i = 0; i < 2; i++) assert_int_equal(f32_bits(zo[i]), f32_bits(fv[i]));
        /* the second I32 alone, to an odd address */
        assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "i"), 1, 1, odd + 1), ST_OK);
        memcpy(&io[0], odd + 1, 4);
        assert_int_equal(io[0], iv[1]);
    }

    /* st_tensor_to_f32: the numbers on every host */
    {
        float out[4];
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "f"), 0, 2, out), ST_OK);
        assert_true(out[0] == 1.5f && out[1] == -2.25f);
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "b"), 0, 2, out), ST_OK);
        assert_true(out[0] == 1.5f && out[1] == -2.25f);
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "s"), 0, 4, out), ST_OK);
        assert_true(out[0] == -2.0f && out[1] == 4660.0f && out[2] == 32767.0f &&
                    out[3] == -32768.0f);
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "i"), 1, 1, out), ST_OK);
        assert_true(out[0] == 16909060.0f);
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "d"), 0, 1, out), ST_OK);
        assert_true(out[0] == -0.0f); /* -1e-300 rounds to -0 */
        assert_int_equal(f32_bits(out[0]), 0x80000000u);
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "u"), 0, 1, out), ST_OK);
        assert_true(out[0] == (float)uv[0]);
        assert_int_equal(st_tensor_to_f32(st_tensor_find(f, "c"), 0, 2, out), ST_OK);
        assert_true(out[0] == -128.0f && out[1] == -1.0f);
    }
    st_close(f);
    free(area);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_file_over_4gib, remove_sparse),
        cmocka_unit_test_teardown(test_file_between_2_and_4_gib, remove_sparse),
        cmocka_unit_test(test_memory_size_above_size_max),
        cmocka_unit_test(test_no_32bit_wrap),
        cmocka_unit_test(test_byte_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
