/* Byte sources: st_open_path, st_open_fd (ownership of the descriptor),
 * st_open_memory argument rules, a sparse 8 GB file, and many threads reading
 * one handle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt.h"
#include "stt_os.h"

static const char VALID_HDR[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
    "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}} "; /* N = 144: 8 + N = 152 */

/* Multi-byte typed views: ST_OK in place on little-endian hosts,
 * ST_E_BYTE_ORDER on big-endian ones (make check-s390x). */
static st_status multi_byte_view_status(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1 ? ST_OK : ST_E_BYTE_ORDER;
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

static int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static int fd_is_closed(int fd)
{
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/* A temp file holding the valid test file; *bytes and *n receive its content. */
static char *valid_file(unsigned char **bytes, size_t *n)
{
    *bytes = stt_build_str(VALID_HDR, 24, n);
    return stt_write_temp(*bytes, *n);
}

static void check_valid_handle(st_file *f, const unsigned char *bytes, size_t n)
{
    const st_tensor *w, *b;
    const float *pf = NULL;
    const int64_t *pi = NULL;
    assert_non_null(f);
    assert_int_equal(st_file_size(f), n);
    assert_int_equal(st_file_header_size(f), sizeof VALID_HDR - 1);
    assert_int_equal(st_file_data_offset(f), 8 + sizeof VALID_HDR - 1);
    assert_int_equal(st_file_data_size(f), 24);
    assert_non_null(st_file_bytes(f));
    assert_memory_equal(st_file_bytes(f), bytes, n);
    assert_int_equal(st_tensor_count(f), 2);
    w = st_tensor_find(f, "w");
    b = st_tensor_find(f, "b");
    assert_non_null(w);
    assert_non_null(b);
    assert_int_equal(w->index, 0);
    assert_int_equal(b->index, 1);
    assert_ptr_equal(w->data, (const unsigned char *)st_file_bytes(f) + w->offset);
    assert_memory_equal(w->data, bytes + w->offset, 16);
    assert_memory_equal(b->data, bytes + b->offset, 8);
    /* 8 + N = 152: a page-aligned mapping gives aligned typed views */
    assert_int_equal(st_file_data_offset(f) % 8, 0);
    if ((uintptr_t)st_file_bytes(f) % 8 == 0) {
        const st_status want = multi_byte_view_status();
        assert_int_equal(st_tensor_as_f32(w, &pf), want);
        assert_ptr_equal(pf, want == ST_OK ? w->data : NULL);
        assert_int_equal(st_tensor_as_i64(b, &pi), want);
        assert_ptr_equal(pi, want == ST_OK ? b->data : NULL);
    }
    assert_string_equal(st_metadata_find(f, "format")->value, "pt");
}

/* ---------------------------------------------------------------- st_open_path */

static void test_path_valid(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n);
    st_file *f = NULL;
    st_error e;
    (void)state;
    memset(&e, 0x5a, sizeof e);
    expect_status("valid path", st_open_path(&f, path, NULL, &e), &e, ST_OK);
    assert_int_equal(e.sys_errno, 0);
    assert_int_equal(e.message[0], '\0');
    check_valid_handle(f, bytes, n);
    /* the handle does not depend on the path any more */
    stt_remove_temp(path);
    check_valid_handle(f, bytes, n);
    st_close(f);
    free(bytes);
}

static void test_path_missing(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n), missing[512];
    int dummy;
    st_file *f = (st_file *)(void *)&dummy;
    st_error e;
    (void)state;
    snprintf(missing, sizeof missing, "%s.missing", path);
    memset(&e, 0x5a, sizeof e);
    expect_status("missing file", st_open_path(&f, missing, NULL, &e), &e, ST_E_IO);
    assert_null(f);
    assert_int_equal(e.sys_errno, ENOENT);
    assert_true(e.message[0] != '\0');
    /* the missing directory component */
    snprintf(missing, sizeof missing, "%s/inside", path);
    expect_status("path through a file", st_open_path(&f, missing, NULL, &e), &e, ST_E_IO);
    assert_int_equal(e.sys_errno, ENOTDIR);
    stt_remove_temp(path);
    free(bytes);
}

static void test_path_arguments(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n);
    st_file *f = NULL;
    st_error e;
    (void)state;
    expect_status("path NULL", st_open_path(&f, NULL, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_null(f);
    expect_status("out NULL", st_open_path(NULL, path, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    stt_remove_temp(path);
    free(bytes);
}

/* A name outside ASCII, given in UTF-8 (Windows: converted to UTF-16 by the
 * library); invalid UTF-8 is refused on Windows, where it names no file, and
 * is just a missing name elsewhere. */
static void test_path_non_ascii(void **state)
{
    unsigned char *bytes;
    size_t n;
    char dir[] = "/tmp/stt_utf8.XXXXXX", path[256], bad[256];
    st_file *f = NULL;
    st_error e;
    FILE *fp;
    (void)state;
    bytes = stt_build_str(VALID_HDR, 24, &n);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t\xc3\xabst-\xe6\x95\xb0\xe6\x8d\xae \xce\xbb.safetensors", dir);
    fp = stt_fopen_utf8(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    expect_status("non-ASCII name", st_open_path(&f, path, NULL, &e), &e, ST_OK);
    check_valid_handle(f, bytes, n);
    st_close(f);
    f = NULL;
    /* a lone continuation byte */
    snprintf(bad, sizeof bad, "%s/t\xabst.safetensors", dir);
    expect_status("invalid UTF-8 name", st_open_path(&f, bad, NULL, &e), &e, ST_E_IO);
    assert_null(f);
    assert_int_equal(e.sys_errno, STT_WINDOWS ? EINVAL : ENOENT);
    assert_int_equal(stt_unlink_utf8(path), 0);
    assert_int_equal(rmdir(dir), 0);
    free(bytes);
}

static void test_path_directory(void **state)
{
    char dir[] = "/tmp/stt_dir.XXXXXX";
    st_file *f = NULL;
    st_error e;
    (void)state;
    assert_non_null(mkdtemp(dir));
    memset(&e, 0, sizeof e);
    expect_status("a directory", st_open_path(&f, dir, NULL, &e), &e, ST_E_IO);
    assert_null(f);
    assert_true(e.message[0] != '\0');
    rmdir(dir);
}

static void test_path_short_files(void **state)
{
    static const unsigned char seven[7] = {2, 0, 0, 0, 0, 0, 0};
    static const struct {
        const char *what;
        size_t len;
    } cases[] = {{"empty file", 0}, {"1-byte file", 1}, {"7-byte file", 7}};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = stt_write_temp(seven, cases[i].len);
        st_file *f = NULL;
        st_error e;
        int fd;
        memset(&e, 0x5a, sizeof e);
        expect_status(cases[i].what, st_open_path(&f, path, NULL, &e), &e, ST_E_HEADER_TOO_SMALL);
        assert_null(f);
        assert_true(e.flags & ST_ERROR_HAS_OFFSET);
        assert_int_equal(e.offset, 0);
        assert_int_equal(e.sys_errno, 0);
        /* the same through a descriptor */
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        expect_status(cases[i].what, st_open_fd(&f, fd, NULL, &e), &e, ST_E_HEADER_TOO_SMALL);
        assert_true(fd_is_open(fd));
        close(fd);
        stt_remove_temp(path);
    }
}

static void test_path_invalid_content(void **state)
{
    size_t n;
    unsigned char *bytes = stt_build_str(VALID_HDR, 23, &n); /* one byte short */
    char *path = stt_write_temp(bytes, n);
    st_file *f = NULL;
    st_error e;
    (void)state;
    expect_status("truncated file by path", st_open_path(&f, path, NULL, &e), &e, ST_E_COVERAGE);
    assert_null(f);
    assert_int_equal(e.offset, n + 1);
    stt_remove_temp(path);
    free(bytes);
}

/* ---------------------------------------------------------------- st_open_fd */

static void test_fd_not_closed_by_default(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n);
    st_file *f = NULL;
    st_error e;
    char c;
    int fd = open(path, O_RDONLY);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 13, SEEK_SET), 13); /* positioned anywhere */
    expect_status("fd", st_open_fd(&f, fd, NULL, &e), &e, ST_OK);
    check_valid_handle(f, bytes, n);
    st_close(f);
    assert_true(fd_is_open(fd));
    /* still usable */
    assert_int_equal(pread(fd, &c, 1, 8), 1);
    assert_int_equal((unsigned char)c, bytes[8]);
    /* a failed open does not close it either */
    expect_status("fd, bad flags", st_open_fd(&f, fd, &(st_open_options){sizeof(st_open_options),
                                                                          0x4u, 0, NULL, 0},
                                              &e),
                  &e, ST_E_INVALID_ARGUMENT);
    assert_true(fd_is_open(fd));
    close(fd);
    stt_remove_temp(path);
    free(bytes);
}

static void test_fd_close_fd_flag(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    int fd = open(path, O_RDONLY);
    (void)state;
    assert_true(fd >= 0);
    o.flags = ST_OPEN_CLOSE_FD;
    expect_status("fd owned", st_open_fd(&f, fd, &o, &e), &e, ST_OK);
    check_valid_handle(f, bytes, n);
    st_close(f);
    assert_true(fd_is_closed(fd));
    stt_remove_temp(path);
    free(bytes);
}

static void test_fd_close_fd_on_failure(void **state)
{
    static const unsigned char seven[7] = {0};
    size_t n;
    unsigned char *bad = stt_build_str(VALID_HDR, 25, &n); /* one trailing byte */
    char *p1 = stt_write_temp(seven, sizeof seven), *p2 = stt_write_temp(bad, n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    int fd;
    (void)state;
    o.flags = ST_OPEN_CLOSE_FD;
    fd = open(p1, O_RDONLY);
    assert_true(fd >= 0);
    expect_status("owned fd, 7 bytes", st_open_fd(&f, fd, &o, &e), &e, ST_E_HEADER_TOO_SMALL);
    assert_null(f);
    assert_true(fd_is_closed(fd));
    fd = open(p2, O_RDONLY);
    assert_true(fd >= 0);
    expect_status("owned fd, trailing byte", st_open_fd(&f, fd, &o, &e), &e, ST_E_COVERAGE);
    assert_null(f);
    assert_true(fd_is_closed(fd));
    /* an argument error is a failure too: the descriptor is still closed */
    fd = open(p2, O_RDONLY);
    assert_true(fd >= 0);
    o.max_header_size = (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1;
    expect_status("owned fd, cap above the limit", st_open_fd(&f, fd, &o, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_null(f);
    assert_true(fd_is_closed(fd));
    o.max_header_size = 0;
    /* the leniency flag together with ownership */
    fd = open(p2, O_RDONLY);
    assert_true(fd >= 0);
    o.flags = ST_OPEN_CLOSE_FD | ST_LENIENT_TRAILING_BYTES;
    expect_status("owned fd, lenient", st_open_fd(&f, fd, &o, &e), &e, ST_OK);
    assert_int_equal(st_file_trailing_bytes(f), 1);
    /* Windows: the handle keeps a duplicate of the descriptor's OS handle, and
     * the owned descriptor is closed at once */
    if (STT_WINDOWS) assert_true(fd_is_closed(fd));
    else assert_true(fd_is_open(fd));
    st_close(f);
    assert_true(fd_is_closed(fd));
    stt_remove_temp(p1);
    stt_remove_temp(p2);
    free(bad);
}

static void test_fd_invalid(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n);
    st_file *f = NULL;
    st_error e;
    st_status s;
    int fd;
    (void)state;
    memset(&e, 0x5a, sizeof e);
    s = st_open_fd(&f, -1, NULL, &e);
    if (s != ST_E_INVALID_ARGUMENT && s != ST_E_IO) {
        print_error("fd -1: want ST_E_INVALID_ARGUMENT or ST_E_IO, got %s\n", st_status_name(s));
        fail();
    }
    assert_int_equal(e.code, s);
    assert_null(f);
    /* a descriptor number that is not open */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    close(fd);
    s = st_open_fd(&f, fd, NULL, &e);
    if (s != ST_E_INVALID_ARGUMENT && s != ST_E_IO) {
        print_error("closed fd: want ST_E_INVALID_ARGUMENT or ST_E_IO, got %s\n",
                    st_status_name(s));
        fail();
    }
    assert_int_equal(e.code, s);
    if (s == ST_E_IO) assert_int_equal(e.sys_errno, EBADF);
    /* write-only: the bytes cannot be read */
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    expect_status("write-only fd", st_open_fd(&f, fd, NULL, &e), &e, ST_E_IO);
    assert_true(e.sys_errno != 0);
    assert_null(f);
    close(fd);
    /* out NULL */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    expect_status("fd, out NULL", st_open_fd(NULL, fd, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    close(fd);
    stt_remove_temp(path);
    free(bytes);
}

/* ---------------------------------------------------------------- ST_OPEN_READ */

static void test_open_read_flag(void **state)
{
    unsigned char *bytes;
    size_t n;
    char *path = valid_file(&bytes, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    FILE *fp;
    int fd;
    (void)state;
    o.flags = ST_OPEN_READ;
    expect_status("path, read", st_open_path(&f, path, &o, &e), &e, ST_OK);
    check_valid_handle(f, bytes, n);
    /* a copy: overwriting the file after open does not change the handle */
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)(n - 8), SEEK_SET), 0);
    assert_int_equal(fwrite("XXXXXXXX", 1, 8, fp), 8);
    fclose(fp);
    check_valid_handle(f, bytes, n);
    st_close(f);
    /* through a descriptor, owned */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    o.flags = ST_OPEN_READ | ST_OPEN_CLOSE_FD;
    expect_status("fd, read", st_open_fd(&f, fd, &o, &e), &e, ST_OK);
    assert_int_equal(st_tensor_count(f), 2);
    st_close(f);
    assert_true(fd_is_closed(fd));
    stt_remove_temp(path);
    /* short and invalid files give the same statuses as mapped ones */
    path = stt_write_temp(bytes, 7);
    o.flags = ST_OPEN_READ;
    expect_status("read, 7 bytes", st_open_path(&f, path, &o, &e), &e, ST_E_HEADER_TOO_SMALL);
    assert_null(f);
    stt_remove_temp(path);
    path = stt_write_temp(bytes, 0);
    expect_status("read, empty", st_open_path(&f, path, &o, &e), &e, ST_E_HEADER_TOO_SMALL);
    stt_remove_temp(path);
    path = stt_write_temp(bytes, n - 1);
    expect_status("read, truncated", st_open_path(&f, path, &o, &e), &e, ST_E_COVERAGE);
    assert_int_equal(e.offset, n);
    stt_remove_temp(path);
    free(bytes);
}

/* ---------------------------------------------------------------- st_open_memory */

static void test_memory_arguments(void **state)
{
    static const unsigned char one[1] = {0};
    st_file *f = NULL;
    st_error e;
    unsigned char *bytes;
    size_t n;
    (void)state;
    expect_status("NULL, size 0", st_open_memory(&f, NULL, 0, NULL, &e), &e,
                  ST_E_HEADER_TOO_SMALL);
    assert_null(f);
    assert_int_equal(e.offset, 0);
    expect_status("NULL, size 1", st_open_memory(&f, NULL, 1, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_null(f);
    expect_status("NULL, size 10", st_open_memory(&f, NULL, 10, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    expect_status("NULL, size 2^64-1", st_open_memory(&f, NULL, UINT64_MAX, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    expect_status("buffer, size 0", st_open_memory(&f, one, 0, NULL, &e), &e,
                  ST_E_HEADER_TOO_SMALL);
    /* borrowed without a copy */
    bytes = stt_build_str(VALID_HDR, 24, &n);
    expect_status("memory", st_open_memory(&f, bytes, n, NULL, &e), &e, ST_OK);
    assert_ptr_equal(st_file_bytes(f), bytes);
    check_valid_handle(f, bytes, n);
    st_close(f);
    free(bytes);
}

/* ---------------------------------------------------------------- a sparse 8 GB file */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_sparse_8gb(void **state)
{
    static const char hdr[] =
        "{\"big\":{\"dtype\":\"U8\",\"shape\":[8000000000],\"data_offsets\":[0,8000000000]},"
        "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8000000000,8000000008]}}";
    const uint64_t N = sizeof hdr - 1, total = 8 + N + 8000000008u;
    size_t n;
    unsigned char *prefix = stt_build_str(hdr, 0, &n);
    char *path = stt_write_temp(prefix, n);
    st_file *f = NULL;
    st_error e;
    const st_tensor *t;
    double t0, dt;
    int fd;
    (void)state;
    free(prefix);
    if (sizeof(size_t) < 8) {
        print_message("32-bit size_t: an 8 GB file is ST_E_TOO_BIG here (test_bits checks it)\n");
        stt_remove_temp(path);
        skip();
    }
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    if (ftruncate(fd, (off_t)total) != 0) {
        print_message("ftruncate to %llu failed (errno %d): skipped\n", (unsigned long long)total,
                      errno);
        close(fd);
        stt_remove_temp(path);
        skip();
    }
    close(fd);
    t0 = now_s();
    expect_status("sparse 8 GB", st_open_path(&f, path, NULL, &e), &e, ST_OK);
    assert_int_equal(st_file_size(f), total);
    assert_int_equal(st_tensor_count(f), 2);
    t = st_tensor_at(f, 0);
    assert_string_equal(t->name, "big");
    assert_int_equal(t->nbytes, 8000000000u);
    assert_int_equal(t->numel, 8000000000u);
    assert_int_equal(t->offset, 8 + N);
    t = st_tensor_at(f, 1);
    assert_string_equal(t->name, "tail");
    assert_int_equal(t->begin, 8000000000u);
    assert_int_equal(t->offset, 8 + N + 8000000000u);
    st_close(f);
    /* through a descriptor as well */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    expect_status("sparse 8 GB, fd", st_open_fd(&f, fd, NULL, &e), &e, ST_OK);
    assert_int_equal(st_tensor_count(f), 2);
    st_close(f);
    close(fd);
    dt = now_s() - t0;
    if (dt > 2.0) {
        print_error("opening a sparse 8 GB file twice took %.3f s: is the data being read?\n", dt);
        fail();
    }
    /* one byte short: coverage, as quickly */
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(total - 1)), 0);
    close(fd);
    expect_status("sparse 8 GB, 1 byte short", st_open_path(&f, path, NULL, &e), &e,
                  ST_E_COVERAGE);
    assert_int_equal(e.offset, total);
    assert_null(f);
    stt_remove_temp(path);
}

/* ---------------------------------------------------------------- threads */

enum { NTHREADS = 8, ITERS = 2000, NT = 16 };

typedef struct shared {
    const st_file *f;
    const unsigned char *bytes;
    const char *path;
    st_status view_status; /* of st_tensor_as_f32 on this host */
} shared;

typedef struct worker {
    const shared *sh;
    int id;
    long errors;
    pthread_t th;
} worker;

static void *reader(void *arg)
{
    worker *w = arg;
    const st_file *f = w->sh->f;
    char name[16];
    unsigned char buf[64];
    int it, k;
    for (it = 0; it < ITERS; it++) {
        for (k = 0; k < NT; k++) {
            const st_tensor *t;
            const float *pf = NULL;
            int idx = (k + w->id + it) % NT;
            snprintf(name, sizeof name, "t%d", idx);
            t = st_tensor_find(f, name);
            if (!t || t->index != (uint64_t)idx || st_tensor_at(f, (uint64_t)idx) == NULL ||
                strcmp(st_tensor_at(f, (uint64_t)idx)->name, name) != 0) {
                w->errors++;
                continue;
            }
            if (st_tensor_as_f32(t, &pf) != w->sh->view_status ||
                (w->sh->view_status == ST_OK ? pf == NULL || memcmp(pf, w->sh->bytes + t->offset,
                                                                    16) != 0
                                             : pf != NULL))
                w->errors++;
            if (memcmp(t->data, w->sh->bytes + t->offset, 16) != 0) w->errors++;
            if (st_tensor_copy(t, 4, buf, 12) != ST_OK ||
                memcmp(buf, w->sh->bytes + t->offset + 4, 12) != 0)
                w->errors++;
        }
        if (st_metadata_find(f, "m") == NULL || strcmp(st_metadata_find(f, "m")->value, "v") != 0)
            w->errors++;
        if (st_tensor_find(f, "absent") != NULL) w->errors++;
        if (st_tensor_count(f) != NT) w->errors++;
    }
    return NULL;
}

/* Independent handles opened and closed concurrently: no shared state. */
static void *opener(void *arg)
{
    worker *w = arg;
    int it;
    for (it = 0; it < 50; it++) {
        st_file *f = NULL;
        st_error e;
        if (st_open_path(&f, w->sh->path, NULL, &e) != ST_OK || st_tensor_count(f) != NT ||
            e.code != ST_OK)
            w->errors++;
        st_close(f);
        if (st_open_memory(&f, w->sh->bytes, 7, NULL, &e) != ST_E_HEADER_TOO_SMALL ||
            e.code != ST_E_HEADER_TOO_SMALL)
            w->errors++;
    }
    return NULL;
}

static void test_threads_one_handle(void **state)
{
    char hdr[2048];
    size_t len = 0, n;
    unsigned char *bytes;
    char *path;
    st_file *f = NULL;
    st_error e;
    shared sh;
    worker w[NTHREADS];
    int k;
    long errors = 0;
    (void)state;
    len += (size_t)snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"m\":\"v\"}");
    for (k = 0; k < NT; k++)
        len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                ",\"t%d\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[%d,%d]}",
                                k, 16 * k, 16 * k + 16);
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "}");
    while ((8 + len) % 8) hdr[len++] = ' ';
    hdr[len] = '\0';
    bytes = stt_build_str(hdr, 16 * NT, &n);
    path = stt_write_temp(bytes, n);
    expect_status("threads: open", st_open_path(&f, path, NULL, &e), &e, ST_OK);
    sh.f = f;
    sh.bytes = bytes;
    sh.path = path;
    sh.view_status = multi_byte_view_status();
    for (k = 0; k < NTHREADS; k++) {
        w[k].sh = &sh;
        w[k].id = k;
        w[k].errors = 0;
        assert_int_equal(pthread_create(&w[k].th, NULL, k % 4 == 3 ? opener : reader, &w[k]), 0);
    }
    for (k = 0; k < NTHREADS; k++) {
        assert_int_equal(pthread_join(w[k].th, NULL), 0);
        errors += w[k].errors;
    }
    st_close(f);
    if (errors) {
        print_error("threads: %ld wrong results\n", errors);
        fail();
    }
    stt_remove_temp(path);
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_valid),
        cmocka_unit_test(test_path_missing),
        cmocka_unit_test(test_path_non_ascii),
        cmocka_unit_test(test_path_arguments),
        cmocka_unit_test(test_path_directory),
        cmocka_unit_test(test_path_short_files),
        cmocka_unit_test(test_path_invalid_content),
        cmocka_unit_test(test_fd_not_closed_by_default),
        cmocka_unit_test(test_fd_close_fd_flag),
        cmocka_unit_test(test_fd_close_fd_on_failure),
        cmocka_unit_test(test_fd_invalid),
        cmocka_unit_test(test_open_read_flag),
        cmocka_unit_test(test_memory_arguments),
        cmocka_unit_test(test_sparse_8gb),
        cmocka_unit_test(test_threads_one_handle),
    };
    return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
