/* Reading for engines: st_tensor_read (through the descriptor), ST_OPEN_READ,
 * st_tensor_copy_elements, st_tensor_file_alignment, st_tensor_advise and
 * st_tensor_prefetch, including files truncated or rewritten after open. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <safetensors.h>
#include "internal.h" /* st__copy_swapped: the big-endian path, testable anywhere */
#include "stt.h"
#include "stt_os.h"

/* ---------------------------------------------------------------- helpers */

/* File bytes: the 8-byte prefix, json, spaces so that (8 + N) % 8 == shift % 8,
 * then data_len bytes of the stt pattern. */
static unsigned char *mkfile(const char *json, unsigned shift, size_t data_len, size_t *out_n)
{
    size_t jl = strlen(json), hn = jl, n, i;
    unsigned char *b;
    while ((8 + hn) % 8 != shift % 8) hn++;
    n = 8 + hn + data_len;
    b = malloc(n);
    if (!b) abort();
    for (i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, ' ', hn - jl);
    for (i = 0; i < data_len; i++) b[8 + hn + i] = (unsigned char)((i * 7 + 3) & 0xff);
    *out_n = n;
    return b;
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

static st_file *open_mem(const void *b, size_t n, uint32_t flags)
{
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    o.flags = flags;
    expect_status("open memory", st_open_memory(&f, b, n, &o, &e), &e, ST_OK);
    return f;
}

static st_file *open_path(const char *path, uint32_t flags)
{
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    o.flags = flags;
    expect_status("open path", st_open_path(&f, path, &o, &e), &e, ST_OK);
    return f;
}

static void garbage(st_error *e)
{
    memset(e, 0x5a, sizeof *e);
}

static void expect_cleared(const st_error *e)
{
    assert_int_equal(e->code, ST_OK);
    assert_int_equal(e->flags, 0);
    assert_int_equal(e->sys_errno, 0);
    assert_string_equal(e->message, "");
}

static void truncate_path(const char *path, off_t len)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, len), 0);
    close(fd);
}

/* A file with tensors of several sizes at odd offsets; "big" spans ~74 pages. */
#define BIG_N 300000
static const char READ_HDR[] =
    "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
    "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[16,19]},"
    "\"c\":{\"dtype\":\"I16\",\"shape\":[2,2],\"data_offsets\":[19,27]},"
    "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[27,27]},"
    "\"big\":{\"dtype\":\"U8\",\"shape\":[300000],\"data_offsets\":[27,300027]}}";
#define READ_DATA (27 + BIG_N)

static unsigned char *read_file_bytes(size_t *n)
{
    return mkfile(READ_HDR, 5, READ_DATA, n);
}

/* Compares every tensor read through st_tensor_read with the original bytes. */
static void check_reads(const char *what, const st_file *f, const unsigned char *orig)
{
    uint64_t i, cnt = st_tensor_count(f);
    assert_int_equal(cnt, 5);
    for (i = 0; i < cnt; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        unsigned char *buf = malloc((size_t)t->nbytes + 16);
        st_error e;
        assert_non_null(buf);
        memset(buf, 0xcc, (size_t)t->nbytes + 16);
        garbage(&e);
        expect_status(what, st_tensor_read(f, t, 0, buf, t->nbytes, &e), &e, ST_OK);
        expect_cleared(&e);
        if (t->nbytes) assert_memory_equal(buf, orig + t->offset, (size_t)t->nbytes);
        assert_int_equal(buf[t->nbytes], 0xcc);
        if (t->nbytes >= 3) {
            memset(buf, 0xcc, (size_t)t->nbytes + 16);
            expect_status(what, st_tensor_read(f, t, 1, buf, t->nbytes - 2, &e), &e, ST_OK);
            assert_memory_equal(buf, orig + t->offset + 1, (size_t)t->nbytes - 2);
            assert_int_equal(buf[t->nbytes - 2], 0xcc);
            /* the last byte alone */
            expect_status(what, st_tensor_read(f, t, t->nbytes - 1, buf, 1, &e), &e, ST_OK);
            assert_int_equal(buf[0], orig[t->offset + t->nbytes - 1]);
        }
        /* empty reads: dst may be NULL, at any offset up to nbytes */
        garbage(&e);
        expect_status(what, st_tensor_read(f, t, 0, NULL, 0, &e), &e, ST_OK);
        expect_cleared(&e);
        expect_status(what, st_tensor_read(f, t, t->nbytes, NULL, 0, &e), &e, ST_OK);
        free(buf);
    }
}

/* ---------------------------------------------------------------- st_tensor_read */

static void test_read_whole_and_partial(void **state)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *fm = open_mem(b, n, 0), *fp = open_path(path, 0), *fr = open_path(path, ST_OPEN_READ);
    (void)state;
    check_reads("memory", fm, b);
    check_reads("mapped path", fp, b);
    check_reads("ST_OPEN_READ path", fr, b);
    st_close(fm);
    st_close(fp);
    st_close(fr);
    stt_remove_temp(path);
    free(b);
}

static void check_bad_args(const char *what, const st_file *f, const st_file *other)
{
    const st_tensor *t = st_tensor_find(f, "c"), *ot = st_tensor_find(other, "c");
    st_tensor copy;
    unsigned char buf[64];
    st_error e;
    static const struct {
        uint64_t off, size;
    } ranges[] = {
        {9, 0}, {0, 9}, {8, 1}, {1, 8}, {7, 2}, {UINT64_MAX, 1}, {1, UINT64_MAX},
        {UINT64_MAX, UINT64_MAX}, {UINT64_MAX, 0}, {9, UINT64_MAX - 8},
    };
    size_t i;
    assert_non_null(t);
    assert_non_null(ot);
    assert_int_equal(t->nbytes, 8);

    garbage(&e);
    expect_status(what, st_tensor_read(NULL, t, 0, buf, 1, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_true(strlen(e.message) > 0);
    assert_int_equal(e.sys_errno, 0);
    expect_status(what, st_tensor_read(f, NULL, 0, buf, 1, &e), &e, ST_E_INVALID_ARGUMENT);
    expect_status(what, st_tensor_read(f, t, 0, NULL, 1, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_read(NULL, NULL, 0, NULL, 0, NULL), ST_E_INVALID_ARGUMENT);
    /* a tensor of another handle, and a copy of the view, are refused */
    expect_status(what, st_tensor_read(f, ot, 0, buf, 1, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_non_null(strstr(e.message, "does not come from this file"));
    copy = *t;
    expect_status(what, st_tensor_read(f, &copy, 0, buf, 1, &e), &e, ST_E_INVALID_ARGUMENT);

    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        memset(buf, 0xcc, sizeof buf);
        garbage(&e);
        expect_status(what, st_tensor_read(f, t, ranges[i].off, buf, ranges[i].size, &e), &e,
                      ST_E_RANGE);
        assert_true(e.flags & ST_ERROR_HAS_TENSOR);
        assert_string_equal(e.tensor, "c");
        assert_int_equal(e.sys_errno, 0);
        assert_true(strlen(e.message) > 0);
        assert_int_equal(buf[0], 0xcc); /* nothing read */
        assert_int_equal(st_tensor_read(f, t, ranges[i].off, buf, ranges[i].size, NULL),
                         ST_E_RANGE);
    }
}

static void test_read_bad_args(void **state)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *fm = open_mem(b, n, 0), *fp = open_path(path, 0), *fr = open_path(path, ST_OPEN_READ);
    (void)state;
    check_bad_args("memory", fm, fp);
    check_bad_args("mapped", fp, fr);
    check_bad_args("ST_OPEN_READ", fr, fm);
    st_close(fm);
    st_close(fp);
    st_close(fr);
    stt_remove_temp(path);
    free(b);
}

/* Many threads reading through one descriptor at once (pread has no shared
 * file position). */
typedef struct reader_arg {
    const st_file *f;
    const unsigned char *orig;
    int bad;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = (reader_arg *)p;
    const st_tensor *t = st_tensor_find(a->f, "big");
    unsigned char *buf = malloc(BIG_N);
    int round;
    uint64_t off;
    if (!buf) abort();
    for (round = 0; round < 20; round++) {
        for (off = 0; off < BIG_N; off += 4099) {
            uint64_t len = BIG_N - off < 12345 ? BIG_N - off : 12345;
            if (st_tensor_read(a->f, t, off, buf, len, NULL) != ST_OK ||
                memcmp(buf, a->orig + t->offset + off, (size_t)len) != 0)
                a->bad++;
        }
    }
    free(buf);
    return NULL;
}

static void test_read_threads(void **state)
{
    size_t n, i;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *f = open_path(path, 0);
    pthread_t th[4];
    reader_arg args[4];
    (void)state;
    for (i = 0; i < 4; i++) {
        args[i].f = f;
        args[i].orig = b;
        args[i].bad = 0;
        assert_int_equal(pthread_create(&th[i], NULL, reader, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].bad, 0);
    }
    st_close(f);
    stt_remove_temp(path);
    free(b);
}

/* ---------------------------------------------------------------- truncated after open */

#if STT_WINDOWS
/* Windows refuses to shorten a file while a view of it is mapped
 * (ERROR_USER_MAPPED_FILE): there is no SIGBUS to guard against, and the
 * mapped tensors keep their bytes. */
static void without_sigbus(const char *what, void (*body)(void))
{
    (void)what;
    body();
}

static void truncate_refused(const char *path, off_t len)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, len), -1);
    close(fd);
}

static void truncated_body(void)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *f = open_path(path, 0);
    const st_tensor *big = st_tensor_find(f, "big"), *a = st_tensor_find(f, "a");
    unsigned char *buf = malloc(BIG_N);
    st_error e;
    assert_non_null(buf);
    assert_non_null(big);
    assert_int_equal(big->nbytes, BIG_N);
    truncate_refused(path, (off_t)(big->offset + 1000));
    truncate_refused(path, 0);
    garbage(&e);
    expect_status("read after a refused cut", st_tensor_read(f, big, 0, buf, BIG_N, &e), &e,
                  ST_OK);
    expect_cleared(&e);
    assert_memory_equal(buf, b + big->offset, BIG_N);
    expect_status("read a", st_tensor_read(f, a, 0, buf, 16, &e), &e, ST_OK);
    assert_memory_equal(buf, b + a->offset, 16);
    garbage(&e);
    expect_status("prefetch big", st_tensor_prefetch(f, big, &e), &e, ST_OK);
    expect_cleared(&e);
    assert_memory_equal(big->data, b + big->offset, BIG_N);
    assert_int_equal(st_tensor_advise(f, big, ST_ADVICE_WILLNEED), ST_OK);
    assert_int_equal(st_tensor_advise(f, big, ST_ADVICE_DONTNEED), ST_OK);
    st_close(f);
    /* without the view the file can be cut */
    truncate_path(path, 0);
    free(buf);
    stt_remove_temp(path);
    free(b);
}

/* Same through a borrowed descriptor: the view holds the file, not the fd. */
static void truncated_fd_body(void)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    int fd = open(path, O_RDONLY);
    st_file *f = NULL;
    const st_tensor *big;
    unsigned char buf[64];
    st_error e;
    assert_true(fd >= 0);
    expect_status("open fd", st_open_fd(&f, fd, NULL, &e), &e, ST_OK);
    close(fd);
    big = st_tensor_find(f, "big");
    truncate_refused(path, (off_t)(big->offset + BIG_N - 10));
    expect_status("read tail", st_tensor_read(f, big, BIG_N - 20, buf, 20, &e), &e, ST_OK);
    assert_memory_equal(buf, b + big->offset + BIG_N - 20, 20);
    expect_status("prefetch", st_tensor_prefetch(f, big, &e), &e, ST_OK);
    st_close(f);
    truncate_path(path, 0);
    stt_remove_temp(path);
    free(b);
}
#else
static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
    (void)sig;
    siglongjmp(bus_jmp, 1);
}

/* Runs body with a SIGBUS handler that turns the signal into a test failure. */
static void without_sigbus(const char *what, void (*body)(void))
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
    if (sigsetjmp(bus_jmp, 1) == 0) {
        body();
        sigaction(SIGBUS, &old, NULL);
    } else {
        sigaction(SIGBUS, &old, NULL);
        fail_msg("%s: SIGBUS raised", what);
    }
}

static void truncated_body(void)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *f = open_path(path, 0);
    const st_tensor *big = st_tensor_find(f, "big"), *a = st_tensor_find(f, "a");
    unsigned char *buf = malloc(BIG_N);
    uint64_t cut;
    st_error e;
    assert_non_null(buf);
    assert_non_null(big);
    assert_int_equal(st_file_size(f), n);

    /* cut the file 1000 bytes into "big" */
    cut = big->offset + 1000;
    truncate_path(path, (off_t)cut);

    garbage(&e);
    expect_status("read past the cut", st_tensor_read(f, big, 0, buf, BIG_N, &e), &e, ST_E_IO);
    assert_true(e.flags & ST_ERROR_HAS_OFFSET);
    assert_int_equal(e.offset, cut);
    assert_true(e.sys_errno != 0);
    assert_true(e.flags & ST_ERROR_HAS_TENSOR);
    assert_string_equal(e.tensor, "big");
    assert_non_null(strstr(e.message, "shrank"));
    assert_memory_equal(buf, b + big->offset, 1000); /* what was there was read */

    /* a read that starts past the new end reports where the data ends */
    garbage(&e);
    expect_status("read after the cut", st_tensor_read(f, big, 5000, buf, 10, &e), &e, ST_E_IO);
    assert_int_equal(e.offset, cut);
    assert_non_null(strstr(e.message, "shrank"));

    /* the part before the cut, and the other tensors, still read */
    memset(buf, 0, 1000);
    expect_status("read before the cut", st_tensor_read(f, big, 0, buf, 1000, &e), &e, ST_OK);
    assert_memory_equal(buf, b + big->offset, 1000);
    expect_status("read a", st_tensor_read(f, a, 0, buf, 16, &e), &e, ST_OK);
    assert_memory_equal(buf, b + a->offset, 16);

    /* prefetch: a status, not a signal */
    garbage(&e);
    expect_status("prefetch big", st_tensor_prefetch(f, big, &e), &e, ST_E_IO);
    assert_true(e.sys_errno != 0);
    assert_string_equal(e.tensor, "big");
    assert_true(strlen(e.message) > 0);
    garbage(&e);
    expect_status("prefetch a", st_tensor_prefetch(f, a, &e), &e, ST_OK);
    expect_cleared(&e);

    /* down to nothing */
    truncate_path(path, 0);
    garbage(&e);
    expect_status("read a, empty file", st_tensor_read(f, a, 0, buf, 16, &e), &e, ST_E_IO);
    assert_int_equal(e.offset, 0);
    expect_status("prefetch a, empty file", st_tensor_prefetch(f, a, &e), &e, ST_E_IO);
    /* a zero-size tensor has no pages to fault */
    expect_status("prefetch z", st_tensor_prefetch(f, st_tensor_find(f, "z"), &e), &e, ST_OK);
    expect_status("read z", st_tensor_read(f, st_tensor_find(f, "z"), 0, buf, 0, &e), &e, ST_OK);
    /* advice is only a hint and never touches the bytes */
    assert_int_equal(st_tensor_advise(f, big, ST_ADVICE_WILLNEED), ST_OK);
    assert_int_equal(st_tensor_advise(f, big, ST_ADVICE_DONTNEED), ST_OK);

    st_close(f);
    free(buf);
    stt_remove_temp(path);
    free(b);
}

#endif /* STT_WINDOWS */

static void test_truncated_after_open(void **state)
{
    (void)state;
    without_sigbus("truncated after open", truncated_body);
}

#if !STT_WINDOWS
/* Same through a borrowed descriptor. */
static void truncated_fd_body(void)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    int fd = open(path, O_RDONLY);
    st_file *f = NULL;
    const st_tensor *big;
    unsigned char buf[64];
    st_error e;
    assert_true(fd >= 0);
    expect_status("open fd", st_open_fd(&f, fd, NULL, &e), &e, ST_OK);
    big = st_tensor_find(f, "big");
    truncate_path(path, (off_t)(big->offset + BIG_N - 10));
    expect_status("read tail", st_tensor_read(f, big, BIG_N - 20, buf, 20, &e), &e, ST_E_IO);
    assert_int_equal(e.offset, big->offset + BIG_N - 10);
    assert_memory_equal(buf, b + big->offset + BIG_N - 20, 10);
    expect_status("prefetch", st_tensor_prefetch(f, big, &e), &e, ST_E_IO);
    st_close(f);
    close(fd);
    stt_remove_temp(path);
    free(b);
}

#endif

static void test_truncated_after_open_fd(void **state)
{
    (void)state;
    without_sigbus("truncated after open (fd)", truncated_fd_body);
}

/* ---------------------------------------------------------------- ST_OPEN_READ */

static void rewrite_body(void)
{
    size_t n, i;
    unsigned char *b = read_file_bytes(&n);
    unsigned char *other = malloc(n);
    char *path = stt_write_temp(b, n);
    st_file *f = open_path(path, ST_OPEN_READ);
    unsigned char *buf = malloc(BIG_N);
    FILE *fp;
    st_error e;
    assert_non_null(other);
    assert_non_null(buf);
    memset(other, 0xee, n);

    /* rewrite in place with other bytes, then truncate */
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fwrite(other, 1, n, fp), n);
    fclose(fp);
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        if (t->nbytes) assert_memory_equal(t->data, b + t->offset, (size_t)t->nbytes);
    }
    check_reads("rewritten", f, b);
    truncate_path(path, 0);
    check_reads("truncated", f, b);
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        garbage(&e);
        expect_status("prefetch", st_tensor_prefetch(f, t, &e), &e, ST_OK);
        expect_cleared(&e);
        assert_int_equal(st_tensor_advise(f, t, ST_ADVICE_WILLNEED), ST_OK);
        assert_int_equal(st_tensor_advise(f, t, ST_ADVICE_DONTNEED), ST_OK);
    }
    assert_memory_equal(st_file_bytes(f), b, n);
    st_close(f);
    free(buf);
    free(other);
    stt_remove_temp(path);
    free(b);
}

static void test_read_flag_keeps_old_bytes(void **state)
{
    (void)state;
    without_sigbus("ST_OPEN_READ rewritten", rewrite_body);
}

static void same_listing(const st_file *x, const st_file *y)
{
    uint64_t i, r;
    assert_int_equal(st_tensor_count(x), st_tensor_count(y));
    assert_int_equal(st_file_size(x), st_file_size(y));
    assert_int_equal(st_file_header_size(x), st_file_header_size(y));
    assert_int_equal(st_file_data_offset(x), st_file_data_offset(y));
    assert_int_equal(st_file_data_size(x), st_file_data_size(y));
    assert_int_equal(st_file_leniency_used(x), st_file_leniency_used(y));
    assert_memory_equal(st_file_bytes(x), st_file_bytes(y), (size_t)st_file_size(x));
    for (i = 0; i < st_tensor_count(x); i++) {
        const st_tensor *a = st_tensor_at(x, i), *b = st_tensor_at(y, i);
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->name_len, b->name_len);
        assert_int_equal(a->dtype, b->dtype);
        assert_int_equal(a->rank, b->rank);
        for (r = 0; r < a->rank; r++) assert_int_equal(a->shape[r], b->shape[r]);
        assert_int_equal(a->numel, b->numel);
        assert_int_equal(a->nbytes, b->nbytes);
        assert_int_equal(a->begin, b->begin);
        assert_int_equal(a->end, b->end);
        assert_int_equal(a->offset, b->offset);
        assert_int_equal(a->index, b->index);
        if (a->nbytes) assert_memory_equal(a->data, b->data, (size_t)a->nbytes);
        assert_ptr_equal(st_tensor_find(y, a->name), b);
        assert_int_equal(st_tensor_file_alignment(a), st_tensor_file_alignment(b));
    }
    assert_int_equal(st_metadata_state_of(x), st_metadata_state_of(y));
    assert_int_equal(st_metadata_count(x), st_metadata_count(y));
    for (i = 0; i < st_metadata_count(x); i++) {
        const st_metadata_entry *a = st_metadata_at(x, i), *b = st_metadata_at(y, i);
        assert_string_equal(a->key, b->key);
        assert_int_equal(a->value_len, b->value_len);
        assert_memory_equal(a->value, b->value, (size_t)a->value_len);
    }
}

static void test_read_flag_same_as_map(void **state)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *fmap = open_path(path, 0), *fread_path = open_path(path, ST_OPEN_READ);
    st_file *ffd = NULL, *fown = NULL;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_error e;
    int fd, fd2;
    (void)state;
    same_listing(fmap, fread_path);
    assert_true(st_file_bytes(fread_path) != st_file_bytes(fmap));

    /* borrowed fd, positioned away from 0: the position is left alone and the
     * fd may be closed right after open */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
    o.flags = ST_OPEN_READ;
    expect_status("fd, ST_OPEN_READ", st_open_fd(&ffd, fd, &o, &e), &e, ST_OK);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 7);
    assert_int_equal(close(fd), 0);
    same_listing(fmap, ffd);
    check_reads("fd, ST_OPEN_READ", ffd, b);

    /* owned fd: closed by the handle (at the latest at st_close) */
    fd2 = open(path, O_RDONLY);
    assert_true(fd2 >= 0);
    o.flags = ST_OPEN_READ | ST_OPEN_CLOSE_FD;
    expect_status("fd, ST_OPEN_READ | CLOSE_FD", st_open_fd(&fown, fd2, &o, &e), &e, ST_OK);
    same_listing(fmap, fown);
    st_close(fown);
    errno = 0;
    assert_int_equal(fcntl(fd2, F_GETFD), -1);
    assert_int_equal(errno, EBADF);

    /* on st_open_memory the flag changes nothing */
    {
        st_file *fm = open_mem(b, n, ST_OPEN_READ);
        same_listing(fmap, fm);
        assert_ptr_equal(st_file_bytes(fm), b);
        st_close(fm);
    }
    st_close(fmap);
    st_close(fread_path);
    st_close(ffd);
    stt_remove_temp(path);
    free(b);
}

/* Invalid files give the same record whether mapped or read. */
static void same_failure(const char *what, const void *bytes, size_t n, st_status want)
{
    char *path = stt_write_temp(bytes, n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = (st_file *)&o;
    st_error em, er;
    int fd;
    expect_status(what, st_open_path(&f, path, NULL, &em), &em, want);
    assert_null(f);
    o.flags = ST_OPEN_READ;
    f = (st_file *)&o;
    expect_status(what, st_open_path(&f, path, &o, &er), &er, want);
    assert_null(f);
    assert_int_equal(em.flags, er.flags);
    assert_int_equal(em.offset, er.offset);
    assert_string_equal(em.tensor, er.tensor);
    assert_string_equal(em.message, er.message);
    /* and an owned fd is closed on failure */
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    o.flags = ST_OPEN_READ | ST_OPEN_CLOSE_FD;
    expect_status(what, st_open_fd(&f, fd, &o, &er), &er, want);
    errno = 0;
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    stt_remove_temp(path);
}

static void test_read_flag_errors(void **state)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    static const char lfs[] = "version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n";
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    char dir[] = "/tmp/stt_readdir.XXXXXX";
    (void)state;
    same_failure("truncated", b, n - 1, ST_E_COVERAGE);
    same_failure("tiny", b, 5, ST_E_HEADER_TOO_SMALL);
    same_failure("empty", b, 0, ST_E_HEADER_TOO_SMALL);
    same_failure("header length", b, 100, ST_E_HEADER_LENGTH);
    same_failure("lfs pointer", lfs, sizeof lfs - 1, ST_E_WRONG_FORMAT);
    free(b);

    /* a directory, and a missing path */
    o.flags = ST_OPEN_READ;
    assert_non_null(mkdtemp(dir));
    expect_status("directory", st_open_path(&f, dir, &o, &e), &e, ST_E_IO);
    assert_int_equal(e.sys_errno, EISDIR);
    assert_int_equal(rmdir(dir), 0);
    expect_status("missing", st_open_path(&f, dir, &o, &e), &e, ST_E_IO);
    assert_int_equal(e.sys_errno, ENOENT);
    assert_null(f);
}

/* A trailing-bytes file still needs the leniency flag when read. */
static void test_read_flag_with_leniency(void **state)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n), *b2 = malloc(n + 4);
    char *path;
    st_file *f;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_error e;
    (void)state;
    assert_non_null(b2);
    memcpy(b2, b, n);
    memset(b2 + n, 0, 4);
    path = stt_write_temp(b2, n + 4);
    o.flags = ST_OPEN_READ;
    expect_status("trailing, strict", st_open_path(&f, path, &o, &e), &e, ST_E_COVERAGE);
    f = open_path(path, ST_OPEN_READ | ST_LENIENT_TRAILING_BYTES);
    assert_int_equal(st_file_leniency_used(f), ST_LENIENT_TRAILING_BYTES);
    assert_int_equal(st_file_trailing_bytes(f), 4);
    check_reads("trailing", f, b2);
    st_close(f);
    stt_remove_temp(path);
    free(b);
    free(b2);
}

/* Counting and failing allocator: the read buffer comes from the hook and is
 * returned with the size it was asked for. */
typedef struct cnt {
    size_t calls, fail_at; /* fail the fail_at-th malloc/realloc (1-based); 0 never */
    size_t live_blocks, live_bytes, largest;
} cnt;

static void *cnt_malloc(void *ctx, size_t size)
{
    cnt *c = ctx;
    void *p;
    if (++c->calls == c->fail_at) return NULL;
    p = malloc(size ? size : 1);
    if (p) {
        c->live_blocks++;
        c->live_bytes += size;
        if (size > c->largest) c->largest = size;
    }
    return p;
}

static void *cnt_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    cnt *c = ctx;
    void *p;
    if (++c->calls == c->fail_at) return NULL;
    p = realloc(ptr, new_size ? new_size : 1);
    if (p) {
        c->live_bytes = c->live_bytes - old_size + new_size;
        if (new_size > c->largest) c->largest = new_size;
    }
    return p;
}

static void cnt_free(void *ctx, void *ptr, size_t size)
{
    cnt *c = ctx;
    c->live_blocks--;
    c->live_bytes -= size;
    free(ptr);
}

static void test_read_flag_allocator(void **state)
{
    size_t n, k;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_allocator a;
    cnt c;
    st_file *f = NULL;
    st_error e;
    st_status s;
    (void)state;
    a.malloc_fn = cnt_malloc;
    a.realloc_fn = cnt_realloc;
    a.free_fn = cnt_free;
    a.ctx = &c;
    o.allocator = &a;
    o.flags = ST_OPEN_READ;
    memset(&c, 0, sizeof c);
    expect_status("counting", st_open_path(&f, path, &o, &e), &e, ST_OK);
    assert_true(c.largest >= n);
    check_reads("counting", f, b);
    st_close(f);
    assert_int_equal(c.live_blocks, 0);
    assert_int_equal(c.live_bytes, 0);
    /* every allocation failing in turn: ST_E_NOMEM, nothing left behind */
    for (k = 1;; k++) {
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        f = NULL;
        s = st_open_path(&f, path, &o, &e);
        if (s == ST_OK) {
            assert_true(k > 1);
            st_close(f);
            assert_int_equal(c.live_blocks, 0);
            break;
        }
        expect_status("failing allocator", s, &e, ST_E_NOMEM);
        assert_null(f);
        assert_int_equal(c.live_blocks, 0);
        assert_int_equal(c.live_bytes, 0);
        assert_true(k < 10000);
    }
    stt_remove_temp(path);
    free(b);
}

/* ---------------------------------------------------------------- advise / prefetch */

static void check_advise(const char *what, const st_file *f, const unsigned char *orig,
                         const st_file *other)
{
    static const st_advice all[] = {ST_ADVICE_WILLNEED, ST_ADVICE_DONTNEED, ST_ADVICE_SEQUENTIAL,
                                    ST_ADVICE_RANDOM};
    static const int bad[] = {0, 5, -1, 1000};
    uint64_t i;
    size_t k;
    st_tensor copy;
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        for (k = 0; k < sizeof all / sizeof all[0]; k++) {
            if (st_tensor_advise(f, t, all[k]) != ST_OK) {
                print_error("%s: advice %d on %s\n", what, (int)all[k], t->name);
                fail();
            }
        }
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
            assert_int_equal(st_tensor_advise(f, t, (st_advice)bad[k]), ST_E_INVALID_ARGUMENT);
        /* still the same bytes after the pages were dropped */
        if (t->nbytes) assert_memory_equal(t->data, orig + t->offset, (size_t)t->nbytes);
    }
    assert_int_equal(st_tensor_advise(NULL, st_tensor_at(f, 0), ST_ADVICE_RANDOM),
                     ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_advise(f, NULL, ST_ADVICE_RANDOM), ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_advise(f, st_tensor_at(other, 0), ST_ADVICE_RANDOM),
                     ST_E_INVALID_ARGUMENT);
    copy = *st_tensor_at(f, 0);
    assert_int_equal(st_tensor_advise(f, &copy, ST_ADVICE_RANDOM), ST_E_INVALID_ARGUMENT);
}

static void check_prefetch(const char *what, const st_file *f, const st_file *other)
{
    uint64_t i;
    st_error e;
    st_tensor copy;
    for (i = 0; i < st_tensor_count(f); i++) {
        garbage(&e);
        expect_status(what, st_tensor_prefetch(f, st_tensor_at(f, i), &e), &e, ST_OK);
        expect_cleared(&e);
        assert_int_equal(st_tensor_prefetch(f, st_tensor_at(f, i), NULL), ST_OK);
    }
    garbage(&e);
    expect_status(what, st_tensor_prefetch(NULL, st_tensor_at(f, 0), &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_true(strlen(e.message) > 0);
    expect_status(what, st_tensor_prefetch(f, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    expect_status(what, st_tensor_prefetch(f, st_tensor_at(other, 0), &e), &e,
                  ST_E_INVALID_ARGUMENT);
    copy = *st_tensor_at(f, 0);
    expect_status(what, st_tensor_prefetch(f, &copy, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_int_equal(st_tensor_prefetch(NULL, NULL, NULL), ST_E_INVALID_ARGUMENT);
}

static void test_advise_and_prefetch(void **state)
{
    size_t n;
    unsigned char *b = read_file_bytes(&n);
    char *path = stt_write_temp(b, n);
    st_file *fm = open_mem(b, n, 0), *fp = open_path(path, 0), *fr = open_path(path, ST_OPEN_READ);
    (void)state;
    check_advise("mapped", fp, b, fm);
    check_advise("memory", fm, b, fr);
    check_advise("ST_OPEN_READ", fr, b, fp);
    check_prefetch("mapped", fp, fm);
    check_prefetch("memory", fm, fr);
    check_prefetch("ST_OPEN_READ", fr, fp);
    check_reads("after advice", fp, b);
    st_close(fm);
    st_close(fp);
    st_close(fr);
    stt_remove_temp(path);
    free(b);
}

/* A tensor on a page boundary of a page-aligned file, and a 1-byte tensor
 * alone on the last page. */
static void test_advise_page_edges(void **state)
{
    long page = sysconf(_SC_PAGESIZE);
    char json[512];
    size_t n, hn;
    unsigned char *b;
    char *path;
    st_file *f;
    uint64_t first, i;
    (void)state;
    assert_true(page >= 4096);
    /* data section at byte `page`: 8 + N == page */
    first = (uint64_t)page * 2 - 1;
    snprintf(json, sizeof json,
             "{\"p\":{\"dtype\":\"U8\",\"shape\":[%llu],\"data_offsets\":[0,%llu]},"
             "\"q\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%llu,%llu]}}",
             (unsigned long long)first, (unsigned long long)first, (unsigned long long)first,
             (unsigned long long)first + 1);
    hn = (size_t)page - 8;
    {
        char *padded = malloc(hn + 1);
        assert_non_null(padded);
        memset(padded, ' ', hn);
        memcpy(padded, json, strlen(json));
        padded[hn] = '\0';
        b = mkfile(padded, 0, (size_t)first + 1, &n);
        free(padded);
    }
    path = stt_write_temp(b, n);
    f = open_path(path, 0);
    assert_int_equal(st_file_data_offset(f), (uint64_t)page);
    assert_int_equal(st_tensor_file_alignment(st_tensor_find(f, "p")), page > 4096 ? 4096 : page);
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        st_error e;
        assert_int_equal(st_tensor_advise(f, t, ST_ADVICE_DONTNEED), ST_OK);
        assert_int_equal(st_tensor_advise(f, t, ST_ADVICE_WILLNEED), ST_OK);
        expect_status("prefetch", st_tensor_prefetch(f, t, &e), &e, ST_OK);
    }
    {
        const st_tensor *q = st_tensor_find(f, "q");
        unsigned char c = 0;
        st_error e;
        expect_status("read q", st_tensor_read(f, q, 0, &c, 1, &e), &e, ST_OK);
        assert_int_equal(c, b[n - 1]);
    }
    st_close(f);
    stt_remove_temp(path);
    free(b);
}

/* ---------------------------------------------------------------- file alignment */

static void test_file_alignment(void **state)
{
    /* absolute offsets to put tensors at, and the alignment expected */
    static const struct {
        uint64_t offset, align;
    } want[] = {
        {13, 1}, {16, 16}, {24, 8}, {32, 32}, {48, 16}, {64, 64}, {66, 2}, {68, 4},
        {4096, 4096}, {6144, 2048}, {8192, 4096}, {8192, 4096}, {8193, 1}, {12288, 4096},
    };
    const size_t nw = sizeof want / sizeof want[0];
    char json[4096], *p = json;
    size_t i, n;
    uint64_t data_off, data_len;
    unsigned char *b;
    st_file *f;
    st_tensor local;
    (void)state;
    /* The header cannot be 5 bytes long, so the offsets above are shifted by
     * a multiple of 4096 (which keeps every alignment): N = 4096 * k + 5. */
    {
        size_t hn = 4096 + 5;
        char *padded;
        data_off = 8 + hn;
        p += sprintf(p, "{");
        for (i = 0; i < nw; i++) {
            uint64_t abs_off = want[i].offset + (data_off - 13);
            uint64_t next = i + 1 < nw ? want[i + 1].offset + (data_off - 13) : abs_off + 1;
            p += sprintf(p,
                         "%s\"t%02u\":{\"dtype\":\"U8\",\"shape\":[%llu],\"data_offsets\":[%llu,%llu]}",
                         i ? "," : "", (unsigned)i, (unsigned long long)(next - abs_off),
                         (unsigned long long)(abs_off - data_off),
                         (unsigned long long)(next - data_off));
        }
        p += sprintf(p, "}");
        assert_true(strlen(json) <= hn);
        padded = malloc(hn + 1);
        assert_non_null(padded);
        memset(padded, ' ', hn);
        memcpy(padded, json, strlen(json));
        padded[hn] = '\0';
        data_len = want[nw - 1].offset + 1 - 13;
        b = mkfile(padded, (unsigned)(data_off % 8), (size_t)data_len, &n);
        free(padded);
    }
    f = open_mem(b, n, 0);
    /* the shift (data_off - 13) is a multiple of 4096: alignments are unchanged */
    assert_int_equal((data_off - 13) % 4096, 0);
    for (i = 0; i < nw; i++) {
        char name[8];
        const st_tensor *t;
        snprintf(name, sizeof name, "t%02u", (unsigned)i);
        t = st_tensor_find(f, name);
        assert_non_null(t);
        assert_int_equal(t->offset, want[i].offset + (data_off - 13));
        if (st_tensor_file_alignment(t) != want[i].align) {
            print_error("%s at %llu: alignment %llu, want %llu\n", name,
                        (unsigned long long)t->offset,
                        (unsigned long long)st_tensor_file_alignment(t),
                        (unsigned long long)want[i].align);
            fail();
        }
    }
    st_close(f);
    free(b);

    /* the arithmetic on its own, with offsets no file of this size has */
    assert_int_equal(st_tensor_file_alignment(NULL), 0);
    memset(&local, 0, sizeof local);
    local.offset = 0;
    assert_int_equal(st_tensor_file_alignment(&local), 4096);
    local.offset = 1;
    assert_int_equal(st_tensor_file_alignment(&local), 1);
    local.offset = 2;
    assert_int_equal(st_tensor_file_alignment(&local), 2);
    local.offset = 2048 + 1024;
    assert_int_equal(st_tensor_file_alignment(&local), 1024);
    local.offset = (uint64_t)1 << 63;
    assert_int_equal(st_tensor_file_alignment(&local), 4096);
    local.offset = UINT64_MAX;
    assert_int_equal(st_tensor_file_alignment(&local), 1);
    local.offset = UINT64_MAX - 4095;
    assert_int_equal(st_tensor_file_alignment(&local), 4096);
}

/* Padded files (8 + N a multiple of 8, as writers make them) give at least 8
 * for every tensor whose size is a multiple of 8. */
static void test_file_alignment_padded(void **state)
{
    static const char hdr[] = "{\"a\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
    size_t n;
    unsigned char *b = mkfile(hdr, 0, 32, &n);
    st_file *f = open_mem(b, n, 0);
    uint64_t i;
    (void)state;
    for (i = 0; i < st_tensor_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        assert_true(st_tensor_file_alignment(t) >= 8);
        assert_int_equal(t->offset % st_tensor_file_alignment(t), 0);
    }
    st_close(f);
    free(b);
}

/* ---------------------------------------------------------------- copy_elements */

typedef struct dt_case {
    st_dtype dtype;
    const char *name;
    size_t esize, unit; /* element size; unit of byte order (4 for C64) */
} dt_case;

static const dt_case DTS[] = {
    {ST_BOOL, "BOOL", 1, 1},          {ST_U8, "U8", 1, 1},
    {ST_I8, "I8", 1, 1},              {ST_F8_E5M2, "F8_E5M2", 1, 1},
    {ST_F8_E4M3, "F8_E4M3", 1, 1},    {ST_F8_E8M0, "F8_E8M0", 1, 1},
    {ST_F8_E4M3FNUZ, "F8_E4M3FNUZ", 1, 1}, {ST_F8_E5M2FNUZ, "F8_E5M2FNUZ", 1, 1},
    {ST_I16, "I16", 2, 2},            {ST_U16, "U16", 2, 2},
    {ST_F16, "F16", 2, 2},            {ST_BF16, "BF16", 2, 2},
    {ST_I32, "I32", 4, 4},            {ST_U32, "U32", 4, 4},
    {ST_F32, "F32", 4, 4},            {ST_C64, "C64", 8, 4},
    {ST_F64, "F64", 8, 8},            {ST_I64, "I64", 8, 8},
    {ST_U64, "U64", 8, 8},
};
#define NDTS (sizeof DTS / sizeof DTS[0])
#define NEL 5

/* The little-endian decode of count units into host integers of unit bytes. */
static void le_decode(const unsigned char *src, size_t count, size_t unit, unsigned char *out)
{
    size_t i, j;
    for (i = 0; i < count; i++) {
        uint64_t v = 0;
        for (j = 0; j < unit; j++) v |= (uint64_t)src[i * unit + j] << (8 * j);
        switch (unit) {
        case 1: { uint8_t x = (uint8_t)v; memcpy(out + i, &x, 1); break; }
        case 2: { uint16_t x = (uint16_t)v; memcpy(out + i * 2, &x, 2); break; }
        case 4: { uint32_t x = (uint32_t)v; memcpy(out + i * 4, &x, 4); break; }
        default: memcpy(out + i * 8, &v, 8); break;
        }
    }
}

static void test_copy_elements_dtypes(void **state)
{
    static const struct {
        uint64_t first, count;
    } rg[] = {{0, NEL}, {1, 3}, {NEL - 1, 1}, {0, 1}, {2, 0}, {NEL, 0}};
    char json[4096], *p = json;
    size_t i, k, n, off = 0;
    unsigned char *b;
    st_file *f;
    unsigned shift;
    (void)state;
    p += sprintf(p, "{");
    for (i = 0; i < NDTS; i++) {
        p += sprintf(p, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                     i ? "," : "", DTS[i].name, DTS[i].name, NEL, off, off + NEL * DTS[i].esize);
        off += NEL * DTS[i].esize;
    }
    p += sprintf(p, "}");
    for (shift = 0; shift < 8; shift += 3) { /* aligned and unaligned layouts */
        b = mkfile(json, shift, off, &n);
        f = open_mem(b, n, 0);
        for (i = 0; i < NDTS; i++) {
            const st_tensor *t = st_tensor_find(f, DTS[i].name);
            unsigned char got[NEL * 8 + 8], exp[NEL * 8 + 8];
            assert_non_null(t);
            assert_int_equal(t->dtype, DTS[i].dtype);
            for (k = 0; k < sizeof rg / sizeof rg[0]; k++) {
                size_t len = (size_t)rg[k].count * DTS[i].esize;
                memset(got, 0xcc, sizeof got);
                memset(exp, 0xcc, sizeof exp);
                le_decode(b + t->offset + rg[k].first * DTS[i].esize, len / DTS[i].unit,
                          DTS[i].unit, exp);
                if (st_tensor_copy_elements(t, rg[k].first, rg[k].count, got) != ST_OK) {
                    print_error("%s [%llu, +%llu) failed\n", DTS[i].name,
                                (unsigned long long)rg[k].first, (unsigned long long)rg[k].count);
                    fail();
                }
                assert_memory_equal(got, exp, sizeof got); /* sentinel bytes included */
            }
            /* into an odd address */
            memset(got, 0, sizeof got);
            le_decode(b + t->offset, NEL * DTS[i].esize / DTS[i].unit, DTS[i].unit, exp);
            assert_int_equal(st_tensor_copy_elements(t, 0, NEL, got + 1), ST_OK);
            assert_memory_equal(got + 1, exp, NEL * DTS[i].esize);
            /* range errors leave dst alone */
            memset(got, 0xcc, sizeof got);
            assert_int_equal(st_tensor_copy_elements(t, 0, NEL + 1, got), ST_E_RANGE);
            assert_int_equal(st_tensor_copy_elements(t, NEL, 1, got), ST_E_RANGE);
            assert_int_equal(st_tensor_copy_elements(t, NEL + 1, 0, got), ST_E_RANGE);
            assert_int_equal(st_tensor_copy_elements(t, 1, UINT64_MAX, got), ST_E_RANGE);
            assert_int_equal(st_tensor_copy_elements(t, UINT64_MAX, 1, got), ST_E_RANGE);
            assert_int_equal(st_tensor_copy_elements(t, UINT64_MAX, UINT64_MAX, got), ST_E_RANGE);
            assert_int_equal(got[0], 0xcc);
            /* NULL destination */
            assert_int_equal(st_tensor_copy_elements(t, 0, 1, NULL), ST_E_INVALID_ARGUMENT);
            assert_int_equal(st_tensor_copy_elements(t, 0, 0, NULL), ST_OK);
        }
        st_close(f);
        free(b);
    }
    assert_int_equal(st_tensor_copy_elements(NULL, 0, 0, NULL), ST_E_INVALID_ARGUMENT);
    {
        unsigned char d[8];
        assert_int_equal(st_tensor_copy_elements(NULL, 0, 1, d), ST_E_INVALID_ARGUMENT);
    }
}

/* Known values, not only the decode written above. */
static void test_copy_elements_values(void **state)
{
    static const char hdr[] =
        "{\"h\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]},"
        "\"w\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[4,8]},"
        "\"c\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[8,16]},"
        "\"q\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]}}";
    static const unsigned char data[24] = {
        0xfe, 0xff, 0x34, 0x12,             /* -2, 0x1234 */
        0x78, 0x56, 0x34, 0x12,             /* 0x12345678 */
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, /* 1.0f, -2.0f */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, /* INT64_MIN + 0xff..ff */
    };
    size_t n;
    unsigned char *b = mkfile(hdr, 1, 24, &n);
    st_file *f;
    int16_t h[2];
    uint32_t w;
    float c[2];
    int64_t q;
    (void)state;
    memcpy(b + n - 24, data, 24);
    f = open_mem(b, n, 0);
    assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "h"), 0, 2, h), ST_OK);
    assert_int_equal(h[0], -2);
    assert_int_equal(h[1], 0x1234);
    assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "w"), 0, 1, &w), ST_OK);
    assert_int_equal(w, 0x12345678u);
    assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "c"), 0, 1, c), ST_OK);
    assert_true(c[0] == 1.0f && c[1] == -2.0f);
    assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "q"), 0, 1, &q), ST_OK);
    assert_true(q == (int64_t)(INT64_MIN + INT64_C(0x00ffffffffffffff)));
    assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "q"), 1, 0, &q), ST_OK);
    assert_int_equal(st_tensor_copy_elements(st_tensor_find(f, "q"), 1, 1, &q), ST_E_RANGE);
    st_close(f);
    free(b);
}

static void test_copy_elements_refused(void **state)
{
    static const char hdr[] =
        "{\"f4\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]},"
        "\"e23\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[2,5]},"
        "\"e32\":{\"dtype\":\"F6_E3M2\",\"shape\":[8],\"data_offsets\":[5,11]},"
        "\"empty\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[11,11]}}";
    static const char *const sub[] = {"f4", "e23", "e32"};
    size_t n, i;
    unsigned char *b = mkfile(hdr, 3, 11, &n);
    st_file *f = open_mem(b, n, 0);
    unsigned char d[16];
    const st_tensor *t;
    (void)state;
    for (i = 0; i < 3; i++) {
        t = st_tensor_find(f, sub[i]);
        assert_non_null(t);
        memset(d, 0xcc, sizeof d);
        assert_int_equal(st_tensor_copy_elements(t, 0, 1, d), ST_E_DTYPE_MISMATCH);
        assert_int_equal(st_tensor_copy_elements(t, 0, 0, d), ST_E_DTYPE_MISMATCH);
        assert_int_equal(d[0], 0xcc);
        /* their bytes are still available as stored */
        assert_int_equal(st_tensor_copy(t, 0, d, t->nbytes), ST_OK);
        assert_memory_equal(d, b + t->offset, (size_t)t->nbytes);
    }
    t = st_tensor_find(f, "empty");
    assert_int_equal(t->numel, 0);
    assert_int_equal(st_tensor_copy_elements(t, 0, 0, d), ST_OK);
    assert_int_equal(st_tensor_copy_elements(t, 0, 0, NULL), ST_OK);
    assert_int_equal(st_tensor_copy_elements(t, 0, 1, d), ST_E_RANGE);
    assert_int_equal(st_tensor_copy_elements(t, 1, 0, d), ST_E_RANGE);
    st_close(f);
    free(b);
}

/* The big-endian path of copy_elements: each unit reversed, in order. */
static void test_copy_swapped(void **state)
{
    unsigned char src[24], dst[24 + 1], exp[24];
    size_t i, u;
    static const size_t units[] = {1, 2, 4, 8};
    (void)state;
    for (i = 0; i < sizeof src; i++) src[i] = (unsigned char)(i + 1);
    for (u = 0; u < 4; u++) {
        size_t unit = units[u], count = sizeof src / unit, j;
        for (i = 0; i < count; i++)
            for (j = 0; j < unit; j++) exp[i * unit + j] = src[i * unit + unit - 1 - j];
        memset(dst, 0xcc, sizeof dst);
        st__copy_swapped(dst + 1, src, count, unit); /* odd address */
        assert_memory_equal(dst + 1, exp, sizeof src);
        assert_int_equal(dst[0], 0xcc);
    }
    /* a 0x1234 stored little-endian, swapped, reads back as a big-endian 0x1234 */
    {
        unsigned char le[2] = {0x34, 0x12}, be[2];
        st__copy_swapped(be, le, 1, 2);
        assert_int_equal(be[0], 0x12);
        assert_int_equal(be[1], 0x34);
    }
    st__copy_swapped(dst, src, 0, 4); /* nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_whole_and_partial),
        cmocka_unit_test(test_read_bad_args),
        cmocka_unit_test(test_read_threads),
        cmocka_unit_test(test_truncated_after_open),
        cmocka_unit_test(test_truncated_after_open_fd),
        cmocka_unit_test(test_read_flag_keeps_old_bytes),
        cmocka_unit_test(test_read_flag_same_as_map),
        cmocka_unit_test(test_read_flag_errors),
        cmocka_unit_test(test_read_flag_with_leniency),
        cmocka_unit_test(test_read_flag_allocator),
        cmocka_unit_test(test_advise_and_prefetch),
        cmocka_unit_test(test_advise_page_edges),
        cmocka_unit_test(test_file_alignment),
        cmocka_unit_test(test_file_alignment_padded),
        cmocka_unit_test(test_copy_elements_dtypes),
        cmocka_unit_test(test_copy_elements_values),
        cmocka_unit_test(test_copy_elements_refused),
        cmocka_unit_test(test_copy_swapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
