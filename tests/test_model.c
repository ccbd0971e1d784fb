/* Sharded models (st_model_*): a three-shard sample model generated in a temp
 * directory; listing, lookup, acquire and read; LRU eviction with one or two
 * open shards (observed through the process's open file descriptors); hostile
 * indexes and shard paths; shards that disagree with the weight map; threads
 * acquiring concurrently; options; a failing-allocator sweep. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt_os.h"

/* ---------------------------------------------------------------- files */

#define S1 "model-00001-of-00003.safetensors"
#define S2 "model-00002-of-00003.safetensors"
#define S3 "model-00003-of-00003.safetensors"
#define INDEX "model.safetensors.index.json"

/* The standard index: shards appear in the order S2, S1, S3. */
#define STD_MAP                                                                      \
    "\"b.weight\": \"" S2 "\", \"a.weight\": \"" S1 "\", \"d\": \"" S3 "\", "       \
    "\"a.bias\": \"" S1 "\", \"c\": \"" S2 "\""
#define STD_INDEX "{\"metadata\": {\"total_size\": 123, \"format\": \"pt\"}, \"weight_map\": {" STD_MAP "}}"

static char *xstrdup(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    if (!p) abort();
    strcpy(p, s);
    return p;
}

static char *path_of(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    if (!p) abort();
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static char *new_tmpdir(void)
{
    char t[] = "/tmp/stmodel.XXXXXX";
    if (!mkdtemp(t)) abort();
    return xstrdup(t);
}

static void rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        if (d) {
            while ((de = readdir(d)) != NULL) {
                char *p;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
                p = path_of(path, de->d_name);
                rm_rf(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void write_bytes(const char *dir, const char *name, const void *b, size_t n)
{
    char *p = path_of(dir, name);
    FILE *fp = stt_fopen_utf8(p, "wb"); /* fopen, but UTF-8 on Windows too */
    if (!fp) abort();
    if (n && fwrite(b, 1, n, fp) != n) abort();
    fclose(fp);
    free(p);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_bytes(dir, name, text, strlen(text));
}

/* Each tensor is U8 [len] with len and bytes derived from its name, so a read
 * proves which tensor (and which file) the bytes came from. */
static size_t tlen(const char *name)
{
    return 5 + strlen(name);
}

static unsigned char tbyte(const char *name, size_t k)
{
    size_t i;
    unsigned h = 17;
    for (i = 0; name[i]; i++) h = h * 31 + (unsigned char)name[i];
    return (unsigned char)((h + k * 7) & 0xff);
}

/* A valid safetensors file holding the named tensors (plain names). */
static void write_shard(const char *dir, const char *file, const char *const *names, size_t n)
{
    size_t cap = 256 + n * 128, hl = 0, data = 0, i, total, off;
    char *h = malloc(cap);
    unsigned char *b;
    if (!h) abort();
    h[hl++] = '{';
    for (i = 0; i < n; i++) {
        size_t len = tlen(names[i]);
        hl += (size_t)sprintf(h + hl, "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[%zu],"
                                      "\"data_offsets\":[%zu,%zu]}",
                              i ? "," : "", names[i], len, data, data + len);
        data += len;
    }
    h[hl++] = '}';
    while ((8 + hl) % 8) h[hl++] = ' ';
    total = 8 + hl + data;
    b = malloc(total);
    if (!b) abort();
    for (i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, h, hl);
    off = 8 + hl;
    for (i = 0; i < n; i++) {
        size_t k, len = tlen(names[i]);
        for (k = 0; k < len; k++) b[off + k] = tbyte(names[i], k);
        off += len;
    }
    write_bytes(dir, file, b, total);
    free(b);
    free(h);
}

static const char *const SH1[] = {"a.weight", "a.bias"};
static const char *const SH2[] = {"b.weight", "c"};
static const char *const SH3[] = {"d"};

static void write_std_shards(const char *dir)
{
    write_shard(dir, S1, SH1, 2);
    write_shard(dir, S2, SH2, 2);
    write_shard(dir, S3, SH3, 1);
}

/* A temp dir with the three shards and the given index text (NULL: none). */
static char *make_model(const char *index)
{
    char *dir = new_tmpdir();
    write_std_shards(dir);
    if (index) write_text(dir, INDEX, index);
    return dir;
}

/* ---------------------------------------------------------------- checks */

static void expect_status(const char *what, st_status got, const st_error *e, st_status want)
{
    if (got != want || (e && e->code != (int)got)) {
        print_error("%s: want %s, got %s (err.code %s): %s\n", what, st_status_name(want),
                    st_status_name(got), e ? st_status_name(e->code) : "-",
                    e ? e->message : "");
        fail();
    }
}

static void expect_in(const char *what, const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) {
        print_error("%s: \"%s\" not in \"%s\"\n", what, needle, hay);
        fail();
    }
}

static st_model *open_ok(const char *path, const st_model_options *o)
{
    st_model *m = NULL;
    st_error e;
    st_status s = st_model_open(&m, path, o, &e);
    expect_status(path, s, &e, ST_OK);
    assert_non_null(m);
    return m;
}

/* The tensor's bytes, through the mapping and through a copy. */
static void verify_tensor(const st_file *f, const char *name)
{
    const st_tensor *t = st_tensor_find(f, name);
    unsigned char buf[64];
    size_t k, len = tlen(name);
    if (!t) {
        print_error("tensor %s not in the shard\n", name);
        fail();
    }
    assert_int_equal(t->nbytes, len);
    assert_true(len <= sizeof buf);
    assert_int_equal(st_tensor_copy(t, 0, buf, len), ST_OK);
    for (k = 0; k < len; k++) {
        assert_int_equal(buf[k], tbyte(name, k));
        assert_int_equal(((const unsigned char *)t->data)[k], tbyte(name, k));
    }
}

/* Which of the model's shard files this process has open: bit i for shard
 * file i of names (through /proc/self/fd). -1 where /proc is not available. */
static long open_mask(const char *dir, const char *const *files, size_t n)
{
#if STT_WINDOWS
    /* no /proc: nothing to observe */
    (void)dir;
    (void)files;
    (void)n;
    return -1;
#else
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    char real[4096];
    long mask = 0;
    size_t dl;
    if (!d) return -1;
    if (!realpath(dir, real)) abort();
    dl = strlen(real);
    while ((de = readdir(d)) != NULL) {
        char link[300], target[4096];
        ssize_t r;
        size_t i;
        if (de->d_name[0] == '.') continue;
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        r = readlink(link, target, sizeof target - 1);
        if (r <= 0) continue;
        target[r] = '\0';
        if (strncmp(target, real, dl) != 0 || target[dl] != '/') continue;
        for (i = 0; i < n; i++)
            if (strcmp(target + dl + 1, files[i]) == 0) mask |= 1L << i;
    }
    closedir(d);
    return mask;
#endif
}

static const char *const FILES[] = {S2, S1, S3}; /* model shard order */

static void expect_mask(const char *dir, long want)
{
    long got = open_mask(dir, FILES, 3);
    if (got < 0) return; /* no /proc: nothing to observe */
    if (got != want) {
        print_error("open shards: want mask %ld, got %ld\n", want, got);
        fail();
    }
}

/* ---------------------------------------------------------------- listing */

static void check_std_listing(st_model *m)
{
    static const char *const order[] = {"b.weight", "c", "a.bias", "a.weight", "d"};
    static const uint64_t shard_of[] = {0, 0, 1, 1, 2};
    uint64_t i;
    assert_int_equal(st_model_tensor_count(m), 5);
    assert_int_equal(st_model_shard_count(m), 3);
    assert_string_equal(st_model_shard_name(m, 0), S2);
    assert_string_equal(st_model_shard_name(m, 1), S1);
    assert_string_equal(st_model_shard_name(m, 2), S3);
    assert_null(st_model_shard_name(m, 3));
    for (i = 0; i < 5; i++) {
        const st_model_entry *e = st_model_entry_at(m, i);
        assert_non_null(e);
        assert_string_equal(e->name, order[i]);
        assert_int_equal(e->name_len, strlen(order[i]));
        assert_int_equal(e->shard, shard_of[i]);
        assert_int_equal(e->index, i);
        assert_ptr_equal(st_model_find(m, order[i]), e);
        assert_ptr_equal(st_model_find_n(m, order[i], strlen(order[i])), e);
    }
    assert_null(st_model_entry_at(m, 5));
    assert_null(st_model_find(m, "nope"));
    assert_null(st_model_find(m, ""));
    assert_null(st_model_find_n(m, "a.weightX", 9));
    assert_ptr_equal(st_model_find_n(m, "a.weightX", 8), st_model_find(m, "a.weight"));
    assert_null(st_model_find_n(m, "c\0", 2));
}

static void test_index_file(void **state)
{
    char *dir = make_model(STD_INDEX), *idx = path_of(dir, INDEX);
    st_model *m = open_ok(idx, NULL);
    (void)state;
    check_std_listing(m);
    expect_mask(dir, 0); /* lazy: nothing opened yet */
    st_model_close(m);
    free(idx);
    rm_rf(dir);
    free(dir);
}

static void test_directory(void **state)
{
    char *dir = make_model(STD_INDEX), *slash = path_of(dir, "");
    st_model *m;
    st_error e;
    st_status s;
    (void)state;
    m = open_ok(dir, NULL);
    check_std_listing(m);
    st_model_close(m);
    m = open_ok(slash, NULL); /* "dir/" */
    check_std_listing(m);
    st_model_close(m);
    /* a second index: ambiguous */
    write_text(dir, "other.safetensors.index.json", STD_INDEX);
    m = (st_model *)1;
    s = st_model_open(&m, dir, NULL, &e);
    expect_status("two indexes", s, &e, ST_E_INVALID_ARGUMENT);
    assert_null(m);
    expect_in("two indexes", e.message, "\"" INDEX "\"");
    expect_in("two indexes", e.message, "\"other.safetensors.index.json\"");
    /* naming one of them still works */
    {
        char *other = path_of(dir, "other.safetensors.index.json");
        m = open_ok(other, NULL);
        check_std_listing(m);
        st_model_close(m);
        free(other);
    }
    free(slash);
    rm_rf(dir);
    free(dir);
    /* no index at all */
    dir = make_model(NULL);
    write_text(dir, "config.json", "{}");
    s = st_model_open(&m, dir, NULL, &e);
    expect_status("no index", s, &e, ST_E_NOT_FOUND);
    assert_null(m);
    rm_rf(dir);
    free(dir);
}

static void test_single_file(void **state)
{
    char *dir = make_model(NULL), *p = path_of(dir, S1);
    st_model *m;
    const st_file *f = NULL;
    st_error e;
    (void)state;
    m = open_ok(p, NULL);
    assert_int_equal(st_model_shard_count(m), 1);
    assert_string_equal(st_model_shard_name(m, 0), S1);
    assert_int_equal(st_model_tensor_count(m), 2);
    assert_string_equal(st_model_entry_at(m, 0)->name, "a.bias"); /* byte order */
    assert_string_equal(st_model_entry_at(m, 1)->name, "a.weight");
    assert_int_equal(st_model_find(m, "a.weight")->index, 1);
    expect_status("acquire", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
    verify_tensor(f, "a.weight");
    verify_tensor(f, "a.bias");
    st_model_release(m, 0);
    st_model_close(m);
    free(p);
    /* a corrupt single file: the st_open status */
    write_text(dir, "bad.safetensors", "hello");
    p = path_of(dir, "bad.safetensors");
    m = (st_model *)1;
    expect_status("corrupt single", st_model_open(&m, p, NULL, &e), &e, ST_E_HEADER_TOO_SMALL);
    assert_null(m);
    expect_in("corrupt single", e.message, "shard \"bad.safetensors\": ");
    free(p);
    rm_rf(dir);
    free(dir);
}

static void test_acquire_read(void **state)
{
    char *dir = make_model(STD_INDEX);
    st_model *m = open_ok(dir, NULL);
    const st_model_entry *c = st_model_find(m, "c");
    const st_file *f = NULL, *f2 = NULL;
    st_error e;
    uint64_t i;
    (void)state;
    assert_non_null(c);
    expect_status("acquire", st_model_acquire(m, c->shard, &f, &e), &e, ST_OK);
    assert_non_null(f);
    verify_tensor(f, "c");
    verify_tensor(f, "b.weight");
    assert_int_equal(st_tensor_count(f), 2);
    /* a second acquire of an open shard gives the same handle */
    expect_status("again", st_model_acquire(m, c->shard, &f2, &e), &e, ST_OK);
    assert_ptr_equal(f, f2);
    st_model_release(m, c->shard);
    st_model_release(m, c->shard);
    st_model_release(m, c->shard); /* one too many: ignored */
    expect_mask(dir, 1);
    /* every entry through its shard */
    for (i = 0; i < st_model_tensor_count(m); i++) {
        const st_model_entry *en = st_model_entry_at(m, i);
        expect_status("acquire each", st_model_acquire(m, en->shard, &f, &e), &e, ST_OK);
        verify_tensor(f, en->name);
        st_model_release(m, en->shard);
    }
    expect_mask(dir, 7); /* default limit 16: all three stay open */
    /* bad arguments */
    f = (const st_file *)1;
    expect_status("bad shard", st_model_acquire(m, 3, &f, &e), &e, ST_E_INVALID_ARGUMENT);
    assert_null(f);
    expect_status("NULL out", st_model_acquire(m, 0, NULL, &e), &e, ST_E_INVALID_ARGUMENT);
    expect_status("NULL model", st_model_acquire(NULL, 0, &f, &e), &e, ST_E_INVALID_ARGUMENT);
    st_model_release(m, 99);
    st_model_release(NULL, 0);
    st_model_close(m);
    expect_mask(dir, 0);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- LRU */

static void test_one_open_shard(void **state)
{
    char *dir = make_model(STD_INDEX);
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_model *m;
    const st_file *f0 = NULL, *f1 = NULL, *f2 = NULL;
    st_error e;
    int round;
    (void)state;
    o.max_open_shards = 1;
    m = open_ok(dir, &o);
    expect_status("0", st_model_acquire(m, 0, &f0, &e), &e, ST_OK);
    st_model_release(m, 0);
    expect_mask(dir, 1); /* stays open while under the limit */
    expect_status("1", st_model_acquire(m, 1, &f1, &e), &e, ST_OK);
    expect_mask(dir, 2); /* shard 0 evicted to make room */
    verify_tensor(f1, "a.weight");
    /* shard 1 pinned: opening shard 2 exceeds the limit for now */
    expect_status("2", st_model_acquire(m, 2, &f2, &e), &e, ST_OK);
    expect_mask(dir, 6);
    verify_tensor(f1, "a.bias");
    verify_tensor(f2, "d");
    st_model_release(m, 2); /* back to the limit: 2 is the only unpinned one */
    expect_mask(dir, 2);
    verify_tensor(f1, "a.weight");
    /* shard 1 stays valid while pinned, however much the others move */
    for (round = 0; round < 5; round++) {
        const st_file *g = NULL;
        uint64_t s = (uint64_t)(round % 2 ? 0 : 2);
        expect_status("cycle", st_model_acquire(m, s, &g, &e), &e, ST_OK);
        verify_tensor(g, s == 0 ? "c" : "d");
        st_model_release(m, s);
        expect_mask(dir, 2);
        verify_tensor(f1, "a.bias");
    }
    st_model_release(m, 1);
    expect_mask(dir, 2);
    expect_status("0 again", st_model_acquire(m, 0, &f0, &e), &e, ST_OK);
    expect_mask(dir, 1);
    verify_tensor(f0, "b.weight");
    st_model_release(m, 0);
    st_model_close(m);
    expect_mask(dir, 0);
    rm_rf(dir);
    free(dir);
}

static void test_lru_order(void **state)
{
    char *dir = make_model(STD_INDEX);
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_model *m;
    const st_file *f = NULL;
    st_error e;
    (void)state;
    o.max_open_shards = 2;
    m = open_ok(dir, &o);
    assert_int_equal(st_model_acquire(m, 0, &f, &e), ST_OK);
    st_model_release(m, 0);
    assert_int_equal(st_model_acquire(m, 1, &f, &e), ST_OK);
    st_model_release(m, 1);
    assert_int_equal(st_model_acquire(m, 0, &f, &e), ST_OK); /* 0 is now the newest */
    st_model_release(m, 0);
    expect_mask(dir, 3);
    assert_int_equal(st_model_acquire(m, 2, &f, &e), ST_OK); /* evicts 1, the oldest */
    verify_tensor(f, "d");
    st_model_release(m, 2);
    expect_mask(dir, 5);
    assert_int_equal(st_model_acquire(m, 1, &f, &e), ST_OK); /* evicts 0 */
    st_model_release(m, 1);
    expect_mask(dir, 6);
    st_model_close(m);
    rm_rf(dir);
    free(dir);
}

static void test_validate_all(void **state)
{
    char *dir = make_model(STD_INDEX);
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_model *m;
    st_error e;
    (void)state;
    o.flags = ST_MODEL_VALIDATE_ALL;
    m = open_ok(dir, &o);
    expect_mask(dir, 7);
    st_model_close(m);
    o.max_open_shards = 1;
    m = open_ok(dir, &o);
    expect_mask(dir, 4); /* checked all, kept only the last one open */
    st_model_close(m);
    /* a shard that disagrees fails the open */
    write_text(dir, INDEX, "{\"weight_map\": {" STD_MAP ", \"zz\": \"" S3 "\"}}");
    m = (st_model *)1;
    expect_status("validate all", st_model_open(&m, dir, &o, &e), &e, ST_E_NOT_FOUND);
    assert_null(m);
    assert_string_equal(e.tensor, "zz");
    expect_in("validate all", e.message, S3);
    expect_mask(dir, 0);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- hostile indexes */

/* Opens an index with this text (written next to the standard shards). */
static st_status open_text(const char *text, size_t len, st_error *e)
{
    char *dir = make_model(NULL), *idx = path_of(dir, INDEX);
    st_model *m = (st_model *)1;
    st_status s;
    write_bytes(dir, INDEX, text, len);
    s = st_model_open(&m, idx, NULL, e);
    if (s == ST_OK) {
        assert_non_null(m);
        st_model_close(m);
    } else {
        assert_null(m);
    }
    free(idx);
    rm_rf(dir);
    free(dir);
    return s;
}

/* want_at: offset of the first occurrence of that text in the index, or NULL
 * for no offset check. tensor: expected err.tensor or NULL. */
static void bad_index(const char *text, st_status want, const char *want_at, int nth,
                      const char *tensor, const char *msg)
{
    st_error e;
    st_status s = open_text(text, strlen(text), &e);
    expect_status(text, s, &e, want);
    if (want_at) {
        const char *p = text;
        int k;
        for (k = 0; k <= nth; k++) {
            p = strstr(k ? p + 1 : p, want_at);
            assert_non_null(p);
        }
        assert_true(e.flags & ST_ERROR_HAS_OFFSET);
        if (e.offset != (uint64_t)(p - text)) {
            print_error("%s: offset want %ld got %llu (%s)\n", text, (long)(p - text),
                        (unsigned long long)e.offset, e.message);
            fail();
        }
    }
    if (tensor) {
        assert_true(e.flags & ST_ERROR_HAS_TENSOR);
        assert_string_equal(e.tensor, tensor);
    }
    if (msg) expect_in(text, e.message, msg);
}

static void test_unsafe_paths(void **state)
{
    (void)state;
    bad_index("{\"weight_map\": {\"a.weight\": \"/etc/passwd\"}}", ST_E_NAME, "\"/etc", 0,
              "a.weight", "/etc/passwd");
    bad_index("{\"weight_map\": {\"a.weight\": \"../x.safetensors\"}}", ST_E_NAME, "\"../", 0,
              "a.weight", "..");
    bad_index("{\"weight_map\": {\"a.weight\": \"a/../../x.safetensors\"}}", ST_E_NAME,
              "\"a/", 0, "a.weight", "a/../../x.safetensors");
    bad_index("{\"weight_map\": {\"a.weight\": \"a/..\"}}", ST_E_NAME, NULL, 0, NULL, "..");
    bad_index("{\"weight_map\": {\"a.weight\": \"..\"}}", ST_E_NAME, NULL, 0, NULL, NULL);
    /* escapes are decoded before the check */
    bad_index("{\"weight_map\": {\"a.weight\": \"\\u002e\\u002e/x\"}}", ST_E_NAME, "\"\\u", 0,
              "a.weight", "\"../x\"");
    bad_index("{\"weight_map\": {\"a.weight\": \"\\/etc/x\"}}", ST_E_NAME, NULL, 0, NULL,
              "absolute");
    bad_index("{\"weight_map\": {\"a.weight\": \"\"}}", ST_E_NAME, "\"\"", 0, "a.weight", "empty");
    bad_index("{\"weight_map\": {\"a.weight\": \"x\\u0000.safetensors\"}}", ST_E_NAME, NULL, 0,
              "a.weight", "NUL");
    bad_index("{\"weight_map\": {\"a.weight\": \"sub\\\\x.safetensors\"}}", ST_E_NAME, NULL, 0,
              "a.weight", "backslash");
    bad_index("{\"weight_map\": {\"a.weight\": \"..\\\\x.safetensors\"}}", ST_E_NAME, NULL, 0,
              NULL, NULL);
    bad_index("{\"weight_map\": {\"a.weight\": \"./" S1 "\"}}", ST_E_NAME, NULL, 0, NULL,
              "\".\" component");
    bad_index("{\"weight_map\": {\"a.weight\": \"sub//x\"}}", ST_E_NAME, NULL, 0, NULL, "empty");
    bad_index("{\"weight_map\": {\"a.weight\": \"sub/\"}}", ST_E_NAME, NULL, 0, NULL, "empty");
    /* the second tensor's path is checked too */
    bad_index("{\"weight_map\": {\"a.weight\": \"" S1 "\", \"a.bias\": \"../" S1 "\"}}",
              ST_E_NAME, "\"../", 0, "a.bias", NULL);
    /* names that merely contain dots are fine (lazy: nothing opened) */
    {
        st_error e;
        const char *ok = "{\"weight_map\": {\"a\": \"..x/y..z/.w\", \"b\": \"x...y\"}}";
        expect_status("dots", open_text(ok, strlen(ok), &e), &e, ST_OK);
    }
}

/* The rules of Windows file names, refused on every host (an index means the
 * same everywhere), each with its message and the shard path's offset. */
static void test_windows_paths(void **state)
{
    static const struct {
        const char *path; /* as written in the JSON string */
        const char *msg;
    } bad[] = {
        {"C:x.safetensors", "drive letter"},
        {"C:/x.safetensors", "drive letter"},
        {"c:", "':'"},
        {"a.safetensors:stream", "alternate data stream"},
        {"sub/a:b", "':'"},
        {"\\\\\\\\server\\\\share\\\\x", "backslash"},
        {"\\\\\\\\?\\\\C:\\\\x", "backslash"},
        {"//server/share/x", "absolute"},
        {"CON", "Windows device"},
        {"con.safetensors", "Windows device"},
        {"sub/NUL.tar.gz", "Windows device"},
        {"Aux", "Windows device"},
        {"prn.x", "Windows device"},
        {"COM1.safetensors", "Windows device"},
        {"lpt9", "Windows device"},
        {"COM0", "Windows device"},
        {"LPT\xc2\xb9.safetensors", "Windows device"},
        {"com\xc2\xb3", "Windows device"},
        {"CON .safetensors", "Windows device"},
        {"x.safetensors.", "ending in a dot or a space"},
        {"x.safetensors ", "ending in a dot or a space"},
        {"sub./x", "ending in a dot or a space"},
        {"sub /x", "ending in a dot or a space"},
        {"x...", "ending in a dot or a space"},
        {"a<b", "Windows forbids"},
        {"a>b", "Windows forbids"},
        {"a\\\"b", "Windows forbids"},
        {"a|b", "Windows forbids"},
        {"a?b", "Windows forbids"},
        {"a*b", "Windows forbids"},
        {"a\\tb", "Windows forbids"},
        {"a\\u001fb", "Windows forbids"},
        {"a\\u007fb", "Windows forbids"},
    };
    static const char *const ok[] = {
        "console.safetensors", "CONx", "nul_free.safetensors", "COM10", "LPT", "com",
        "sub.d/x.safetensors", "a b/c d.safetensors", "auxiliary/x", ".hidden/x",
        "\xc3\xa9t\xc3\xa9.safetensors", "COM\xc2\xb4", "x.y.z",
    };
    size_t i;
    char text[256], at[64];
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"weight_map\": {\"a.weight\": \"%s\"}}", bad[i].path);
        snprintf(at, sizeof at, "\"%s", bad[i].path); /* the value's opening quote */
        bad_index(text, ST_E_NAME, at, 0, "a.weight", bad[i].msg);
    }
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        st_error e;
        snprintf(text, sizeof text, "{\"weight_map\": {\"a.weight\": \"%s\"}}", ok[i]);
        expect_status(text, open_text(text, strlen(text), &e), &e, ST_OK);
    }
}

static void test_bad_json(void **state)
{
    st_error e;
    (void)state;
    bad_index("{\"weight_map\": {\"a.weight\": \"" S1 "\"", ST_E_JSON, NULL, 0, NULL, "index");
    {
        const char *t = "{\"weight_map\": {\"a.weight\": \"" S1 "\"";
        expect_status("truncated", open_text(t, strlen(t), &e), &e, ST_E_JSON);
        assert_int_equal(e.offset, strlen(t));
        expect_in("names the index", e.message, INDEX);
        assert_null(strstr(e.message, "(rule")); /* FORMAT.md rules are for files */
    }
    bad_index("{\"weight_map\": {\"a.weight\": \"" S1 "\",}}", ST_E_JSON, "}}", 0, NULL,
              "trailing comma");
    bad_index("{\"weight_map\": {\"a.weight\" \"" S1 "\"}}", ST_E_JSON, NULL, 0, NULL, NULL);
    bad_index("", ST_E_JSON, NULL, 0, NULL, "empty");
    bad_index("  \n", ST_E_JSON, NULL, 0, NULL, NULL);
    bad_index("[]", ST_E_JSON, "[", 0, NULL, "object");
    bad_index("\"weight_map\"", ST_E_JSON, NULL, 0, NULL, NULL);
    bad_index("{\"weight_map\": {}} {}", ST_E_JSON, "{}", 1, NULL, NULL);
    bad_index("\xEF\xBB\xBF{\"weight_map\": {}}", ST_E_JSON, NULL, 0, NULL, "byte order mark");
    bad_index("{\"weight_map\": {}, \"metadata\": {\"total_size\": 01}}", ST_E_JSON, "01", 0,
              NULL, NULL);
    bad_index("{\"weight_map\": {}, \"x\": tru}", ST_E_JSON, NULL, 0, NULL, NULL);
    bad_index("{\"weight_map\": {\"\\ud800\": \"" S1 "\"}}", ST_E_JSON, "\\ud800", 0, NULL,
              "surrogate");
    bad_index("{\"weight_map\": {\"a\\x\": \"" S1 "\"}}", ST_E_JSON, NULL, 0, NULL, NULL);
    /* invalid UTF-8 is its own status, at the byte */
    bad_index("{\"weight_map\": {\"a\xC3\x28\": \"" S1 "\"}}", ST_E_UTF8, "\xC3", 0, NULL, NULL);
    /* NUL after the object */
    {
        static const char t[] = "{\"weight_map\": {}}\0";
        expect_status("NUL", open_text(t, sizeof t - 1, &e), &e, ST_E_JSON);
        assert_int_equal(e.offset, sizeof t - 2);
    }
    /* nesting: 128 levels in all are accepted, 129 are not */
    {
        char t[600];
        size_t n = 0;
        int k;
        n += (size_t)sprintf(t, "{\"weight_map\": {}, \"metadata\": ");
        for (k = 0; k < 127; k++) t[n++] = '[';
        for (k = 0; k < 127; k++) t[n++] = ']';
        t[n++] = '}';
        expect_status("128 levels", open_text(t, n, &e), &e, ST_OK);
        n = (size_t)sprintf(t, "{\"weight_map\": {}, \"metadata\": ");
        for (k = 0; k < 128; k++) t[n++] = '[';
        for (k = 0; k < 128; k++) t[n++] = ']';
        t[n++] = '}';
        expect_status("129 levels", open_text(t, n, &e), &e, ST_E_JSON);
    }
}

static void test_bad_schema(void **state)
{
    (void)state;
    bad_index("{\"weight_map\": [\"a\"]}", ST_E_SCHEMA, "[", 0, NULL, "weight_map");
    bad_index("{\"weight_map\": \"" S1 "\"}", ST_E_SCHEMA, "\"model", 0, NULL, NULL);
    bad_index("{\"weight_map\": null}", ST_E_SCHEMA, "null", 0, NULL, NULL);
    bad_index("{\"weight_map\": 3}", ST_E_SCHEMA, "3", 0, NULL, NULL);
    bad_index("{\"metadata\": {}}", ST_E_SCHEMA, "{", 0, NULL, "weight_map");
    bad_index("{}", ST_E_SCHEMA, NULL, 0, NULL, "weight_map");
    bad_index("{\"weight_map\": {\"a.weight\": 1}}", ST_E_SCHEMA, "1", 0, "a.weight", "string");
    bad_index("{\"weight_map\": {\"a.weight\": null}}", ST_E_SCHEMA, "null", 0, "a.weight", NULL);
    bad_index("{\"weight_map\": {\"a.weight\": {\"file\": \"" S1 "\"}}}", ST_E_SCHEMA,
              "{\"file", 0, "a.weight", NULL);
    bad_index("{\"weight_map\": {\"a.weight\": [\"" S1 "\"]}}", ST_E_SCHEMA, "[", 0, "a.weight",
              NULL);
    /* a schema error does not hide a later grammar error */
    bad_index("{\"weight_map\": 3, \"x\": [1,]}", ST_E_JSON, "]}", 0, NULL, NULL);
    /* a NUL inside a tensor name */
    bad_index("{\"weight_map\": {\"a\\u0000b\": \"" S1 "\"}}", ST_E_NAME, "\"a\\u", 0, NULL,
              "NUL");
}

static void test_duplicates(void **state)
{
    (void)state;
    bad_index("{\"weight_map\": {\"a.weight\": \"" S1 "\", \"a.weight\": \"" S1 "\"}}",
              ST_E_DUPLICATE, "\"a.weight\"", 1, "a.weight", "twice");
    /* the same name after unescaping, and in different shards */
    bad_index("{\"weight_map\": {\"c\": \"" S2 "\", \"\\u0063\": \"" S1 "\"}}", ST_E_DUPLICATE,
              "\"\\u0063\"", 0, "c", NULL);
    bad_index("{\"weight_map\": {}, \"weight_map\": {}}", ST_E_DUPLICATE, "\"weight_map\"", 1,
              NULL, "weight_map");
    /* a duplicate wins over an error in its own value and in the pairs after it */
    bad_index("{\"weight_map\": {\"a\": \"" S1 "\", \"a\": \"../x\"}}", ST_E_DUPLICATE,
              "\"a\": \"../x\"", 0, "a", "twice");
    bad_index("{\"weight_map\": {\"a\": \"" S1 "\", \"a\": 5}}", ST_E_DUPLICATE, "\"a\": 5", 0,
              "a", "twice");
    bad_index("{\"weight_map\": {\"a\": \"" S1 "\", \"a\": \"" S1 "\", \"b\": 5}}",
              ST_E_DUPLICATE, "\"a\": \"" S1 "\", \"b\"", 0, "a", "twice");
    bad_index("{\"weight_map\": {\"a\": \"" S1 "\", \"a\": \"" S1 "\", \"\\u0000\": \"" S1 "\"}}",
              ST_E_DUPLICATE, "\"a\": \"" S1 "\", \"\\u0000\"", 0, "a", "twice");
    /* ...and a JSON error after it wins over the duplicate */
    bad_index("{\"weight_map\": {\"a\": \"" S1 "\", \"a\": \"" S1 "\", }}", ST_E_JSON, NULL, 0,
              NULL, NULL);
    bad_index("{\"metadata\": 1, \"weight_map\": {}, \"metadata\": 2}", ST_E_DUPLICATE,
              "\"metadata\"", 1, NULL, NULL);
    /* inside an ignored value: offsets are offsets in the index file */
    {
        const char *t = "{\"weight_map\": {}, \"metadata\": {\"k\": 1, \"k\": 2}}";
        char want[64];
        bad_index(t, ST_E_DUPLICATE, "\"k\"", 1, NULL, NULL);
        sprintf(want, "first at offset %ld", (long)(strstr(t, "\"k\"") - t));
        bad_index(t, ST_E_DUPLICATE, NULL, 0, NULL, want);
    }
}

static void test_index_accepted(void **state)
{
    char *dir = new_tmpdir();
    st_model *m;
    (void)state;
    write_std_shards(dir);
    /* any metadata, unknown keys, escapes in names and paths */
    write_text(dir, INDEX,
               " \t\r\n{\"format\": [1, {\"x\": null}], \"metadata\": null, \"weight_map\": {"
               "\"a\\u002eweight\": \"model-0000\\u0031-of-00003.safetensors\", \"a.bias\": \""
               S1 "\"}, \"zzz\": true} \n");
    m = open_ok(dir, NULL);
    assert_int_equal(st_model_shard_count(m), 1);
    assert_string_equal(st_model_shard_name(m, 0), S1);
    assert_non_null(st_model_find(m, "a.weight"));
    {
        const st_file *f = NULL;
        st_error e;
        expect_status("acquire", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
        verify_tensor(f, "a.weight");
        st_model_release(m, 0);
    }
    st_model_close(m);
    /* an empty weight map is an empty model */
    write_text(dir, INDEX, "{\"weight_map\": {}}");
    m = open_ok(dir, NULL);
    assert_int_equal(st_model_tensor_count(m), 0);
    assert_int_equal(st_model_shard_count(m), 0);
    st_model_close(m);
    rm_rf(dir);
    free(dir);
}

static void test_index_cap(void **state)
{
    char *dir = make_model(STD_INDEX);
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_open_options fo = ST_OPEN_OPTIONS_INIT;
    st_model *m = (st_model *)1;
    st_error e;
    (void)state;
    o.file_options = &fo;
    fo.max_header_size = sizeof STD_INDEX - 2; /* one byte short */
    expect_status("cap", st_model_open(&m, dir, &o, &e), &e, ST_E_HEADER_TOO_LARGE);
    assert_null(m);
    fo.max_header_size = sizeof STD_INDEX - 1; /* inclusive */
    m = open_ok(dir, &o);
    st_model_close(m);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- shard checks */

/* Opens dir's index (must succeed: lazy) and acquires shard named file. */
static st_status acquire_named(const char *dir, const char *file, st_error *e)
{
    st_model *m = open_ok(dir, NULL);
    const st_file *f = NULL;
    uint64_t i;
    st_status s = ST_E_NOT_FOUND;
    for (i = 0; i < st_model_shard_count(m); i++) {
        if (strcmp(st_model_shard_name(m, i), file) != 0) continue;
        s = st_model_acquire(m, i, &f, e);
        if (s == ST_OK) {
            assert_non_null(f);
            st_model_release(m, i);
        } else {
            assert_null(f);
        }
    }
    st_model_close(m);
    return s;
}

static void test_shard_mismatch(void **state)
{
    char *dir = make_model(NULL);
    st_error e;
    (void)state;
    /* a tensor of the weight map missing from its shard */
    write_text(dir, INDEX, "{\"weight_map\": {" STD_MAP ", \"zzz\": \"" S1 "\"}}");
    expect_status("missing", acquire_named(dir, S1, &e), &e, ST_E_NOT_FOUND);
    assert_true(e.flags & ST_ERROR_HAS_TENSOR);
    assert_string_equal(e.tensor, "zzz");
    expect_in("missing", e.message, S1);
    expect_status("others fine", acquire_named(dir, S2, &e), &e, ST_OK);
    /* a shard tensor the weight map does not name */
    write_text(dir, INDEX, "{\"weight_map\": {\"a.weight\": \"" S1 "\"}}");
    expect_status("extra", acquire_named(dir, S1, &e), &e, ST_E_SCHEMA);
    assert_string_equal(e.tensor, "a.bias");
    expect_in("extra", e.message, S1);
    expect_in("extra", e.message, "not in the weight map");
    /* a tensor mapped to another shard than the one holding it */
    write_text(dir, INDEX, "{\"weight_map\": {\"a.weight\": \"" S1 "\", \"a.bias\": \"" S2
                           "\", \"b.weight\": \"" S2 "\", \"c\": \"" S2 "\"}}");
    expect_status("elsewhere", acquire_named(dir, S1, &e), &e, ST_E_SCHEMA);
    assert_string_equal(e.tensor, "a.bias");
    expect_in("elsewhere", e.message, S2);
    expect_status("elsewhere 2", acquire_named(dir, S2, &e), &e, ST_E_NOT_FOUND);
    assert_string_equal(e.tensor, "a.bias");
    /* a missing shard file */
    write_text(dir, INDEX, "{\"weight_map\": {\"x\": \"nothere.safetensors\"}}");
    expect_status("no file", acquire_named(dir, "nothere.safetensors", &e), &e, ST_E_IO);
    assert_int_equal(e.sys_errno, ENOENT);
    expect_in("no file", e.message, "nothere.safetensors");
    /* a corrupt shard: the st_open status, with the shard named */
    write_text(dir, "short.safetensors", "hello");
    write_text(dir, INDEX, "{\"weight_map\": {\"x\": \"short.safetensors\"}}");
    expect_status("short", acquire_named(dir, "short.safetensors", &e), &e,
                  ST_E_HEADER_TOO_SMALL);
    expect_in("short", e.message, "short.safetensors");
    {
        static const char bad[] = "\x0b\0\0\0\0\0\0\0{\"x\": [1,]}";
        write_bytes(dir, "badjson.safetensors", bad, sizeof bad - 1);
    }
    write_text(dir, INDEX, "{\"weight_map\": {\"x\": \"badjson.safetensors\"}}");
    expect_status("bad json", acquire_named(dir, "badjson.safetensors", &e), &e, ST_E_JSON);
    expect_in("bad json", e.message, "shard \"badjson.safetensors\": ");
    assert_int_equal(e.offset, 8 + 9); /* the shard's own offset: the ']' */
    write_text(dir, "lfs.safetensors", "version https://git-lfs.github.com/spec/v1\noid sha256:0\n");
    write_text(dir, INDEX, "{\"weight_map\": {\"x\": \"lfs.safetensors\"}}");
    expect_status("lfs", acquire_named(dir, "lfs.safetensors", &e), &e, ST_E_WRONG_FORMAT);
    /* a directory where a shard should be */
    {
        char *d = path_of(dir, "d.safetensors");
        assert_int_equal(mkdir(d, 0700), 0);
        free(d);
        write_text(dir, INDEX, "{\"weight_map\": {\"x\": \"d.safetensors\"}}");
        expect_status("dir", acquire_named(dir, "d.safetensors", &e), &e, ST_E_IO);
    }
    /* a failed acquire leaves nothing open and can be retried */
    expect_mask(dir, 0);
    rm_rf(dir);
    free(dir);
}

/* FIFOs where a single file, a shard or the index should be: refused without
 * blocking. */
static void test_fifos(void **state)
{
#if STT_WINDOWS
    (void)state;
    print_message("no FIFOs on Windows (its named pipes live under \\\\.\\pipe\\, in no "
                  "directory a model can name)\n");
    skip();
#else
    char *dir = make_model(NULL), *p;
    st_model *m = (st_model *)1;
    st_error e;
    (void)state;
    p = path_of(dir, "pipe.safetensors");
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_status("fifo single", st_model_open(&m, p, NULL, &e), &e, ST_E_IO);
    assert_null(m);
    free(p);
    /* a FIFO where a shard or the index should be: refused, without blocking */
    {
        char *fifo = path_of(dir, "fifo.safetensors"), *fidx = path_of(dir, "f.index.json");
        m = (st_model *)1;
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(mkfifo(fidx, 0600), 0);
        write_text(dir, INDEX, "{\"weight_map\": {\"x\": \"fifo.safetensors\"}}");
        expect_status("fifo", acquire_named(dir, "fifo.safetensors", &e), &e, ST_E_IO);
        expect_status("fifo index", st_model_open(&m, fidx, NULL, &e), &e, ST_E_IO);
        assert_null(m);
        free(fifo);
        free(fidx);
    }
    /* a failed acquire leaves nothing open */
    expect_mask(dir, 0);
    rm_rf(dir);
    free(dir);
#endif
}

static void test_symlinks(void **state)
{
    char *dir = make_model(NULL), *out = new_tmpdir();
    char *p, *target;
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_model *m = (st_model *)1;
    st_error e;
    (void)state;
#if STT_WINDOWS
    {
        /* symbolic links are not always available on Windows: say why not */
        char *probe = path_of(dir, "probe.safetensors"), *to = path_of(dir, S3);
        int r = symlink(to, probe), why = errno;
        if (r == 0) unlink(probe);
        free(probe);
        free(to);
        if (r != 0) {
            print_message("no symbolic link can be made here (%s: %s)\n",
                          why == ENOSYS ? "CreateSymbolicLinkW reports success but makes no "
                                          "link, as wine 8's stub does"
                          : why == EPERM ? "Windows allows it with Developer Mode or "
                                           "SeCreateSymbolicLinkPrivilege"
                                         : "CreateSymbolicLinkW failed",
                          strerror(why));
            rm_rf(dir);
            rm_rf(out);
            free(dir);
            free(out);
            skip();
        }
    }
#endif
    write_shard(out, "x.safetensors", SH3, 1);
    /* absolute symlink out of the directory */
    p = path_of(dir, "link.safetensors");
    target = path_of(out, "x.safetensors");
    assert_int_equal(symlink(target, p), 0);
    free(p);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"link.safetensors\"}}");
    expect_status("escape", acquire_named(dir, "link.safetensors", &e), &e, ST_E_NAME);
    expect_in("escape", e.message, "link.safetensors");
    expect_in("escape", e.message, "outside");
    o.flags = ST_MODEL_VALIDATE_ALL;
    expect_status("escape all", st_model_open(&m, dir, &o, &e), &e, ST_E_NAME);
    assert_null(m);
    /* the Hugging Face cache layout: allowed only on request */
    o.flags = ST_MODEL_VALIDATE_ALL | ST_MODEL_FOLLOW_SYMLINKS;
    expect_status("escape allowed", st_model_open(&m, dir, &o, &e), &e, ST_OK);
    {
        const st_file *f = NULL;
        expect_status("escape allowed acquire", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
        verify_tensor(f, "d");
        st_model_release(m, 0);
    }
    st_model_close(m);
    m = (st_model *)1;
    /* ".." stays refused even so */
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"../x.safetensors\"}}");
    expect_status("dotdot with follow", st_model_open(&m, dir, &o, &e), &e, ST_E_NAME);
    assert_null(m);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"link.safetensors\"}}");
    /* relative symlink out */
    p = path_of(dir, "rel.safetensors");
    {
        char rel[256];
        const char *base = strrchr(out, '/') + 1;
        snprintf(rel, sizeof rel, "../%s/x.safetensors", base);
        assert_int_equal(symlink(rel, p), 0);
    }
    free(p);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"rel.safetensors\"}}");
    expect_status("escape rel", acquire_named(dir, "rel.safetensors", &e), &e, ST_E_NAME);
    /* a directory symlink out */
    p = path_of(dir, "sub");
    assert_int_equal(symlink(out, p), 0);
    free(p);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"sub/x.safetensors\"}}");
    expect_status("escape dir", acquire_named(dir, "sub/x.safetensors", &e), &e, ST_E_NAME);
    /* symlinks that stay inside are followed */
    p = path_of(dir, "alias.safetensors");
    assert_int_equal(symlink(S3, p), 0);
    free(p);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"alias.safetensors\"}}");
    expect_status("inside", acquire_named(dir, "alias.safetensors", &e), &e, ST_OK);
    p = path_of(dir, "real");
    assert_int_equal(mkdir(p, 0700), 0);
    write_shard(p, "y.safetensors", SH3, 1);
    free(p);
    p = path_of(dir, "inner");
    assert_int_equal(symlink("real", p), 0);
    free(p);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"inner/y.safetensors\"}}");
    expect_status("inside dir", acquire_named(dir, "inner/y.safetensors", &e), &e, ST_OK);
    /* the index itself may be a symlink from elsewhere: its directory counts */
    {
        char *idx = path_of(dir, INDEX), *ln = path_of(out, INDEX);
        st_model *m2;
        assert_int_equal(symlink(idx, ln), 0);
        write_shard(out, "inner.safetensors", SH3, 1);
        write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"inner.safetensors\"}}");
        m2 = open_ok(ln, NULL);
        {
            const st_file *f = NULL;
            expect_status("index link", st_model_acquire(m2, 0, &f, &e), &e, ST_OK);
            verify_tensor(f, "d");
            st_model_release(m2, 0);
        }
        st_model_close(m2);
        free(idx);
        free(ln);
    }
    free(target);
    rm_rf(dir);
    rm_rf(out);
    free(dir);
    free(out);
}

/* Shard and index names outside ASCII, in UTF-8 (Windows: converted to UTF-16
 * by the library, and final paths back to UTF-8 for the containment check). */
#define NA_SHARD "sch\xc3\xa4rd-\xce\xbb.safetensors"
#define NA_INDEX "\xc3\xadndex-\xe6\x95\xb0.json"
static void test_non_ascii_names(void **state)
{
    char *dir = new_tmpdir(), *p;
    st_model *m;
    const st_file *f = NULL;
    st_error e;
    (void)state;
    write_shard(dir, NA_SHARD, SH3, 1);
    write_text(dir, INDEX, "{\"weight_map\": {\"d\": \"" NA_SHARD "\"}}");
    m = open_ok(dir, NULL);
    assert_string_equal(st_model_shard_name(m, 0), NA_SHARD);
    expect_status("acquire", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
    verify_tensor(f, "d");
    st_model_release(m, 0);
    st_model_close(m);
    /* an index named outside ASCII, opened by its path */
    write_text(dir, NA_INDEX, "{\"weight_map\": {\"d\": \"" NA_SHARD "\"}}");
    p = path_of(dir, NA_INDEX);
    m = open_ok(p, NULL);
    f = NULL;
    expect_status("acquire by index path", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
    verify_tensor(f, "d");
    st_model_release(m, 0);
    st_model_close(m);
    assert_int_equal(stt_unlink_utf8(p), 0);
    free(p);
    p = path_of(dir, NA_SHARD);
    assert_int_equal(stt_unlink_utf8(p), 0);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void test_subdirectory_and_many(void **state)
{
    char *dir = new_tmpdir(), *sub = path_of(dir, "part");
    const char *names[300];
    char store[300][16], *idx;
    size_t i, n = 0, cap = 64 * 1024;
    st_model *m;
    const st_file *f = NULL;
    st_error e;
    (void)state;
    assert_int_equal(mkdir(sub, 0700), 0);
    for (i = 0; i < 300; i++) {
        sprintf(store[i], "t%03zu", (i * 7919) % 300);
        names[i] = store[i];
    }
    write_shard(sub, "big.safetensors", names, 300);
    idx = malloc(cap);
    assert_non_null(idx);
    n += (size_t)sprintf(idx + n, "{\"weight_map\": {");
    for (i = 0; i < 300; i++)
        n += (size_t)sprintf(idx + n, "%s\"%s\": \"part/big.safetensors\"", i ? ", " : "",
                             names[299 - i]);
    sprintf(idx + n, "}}");
    write_text(dir, INDEX, idx);
    m = open_ok(dir, NULL);
    assert_int_equal(st_model_tensor_count(m), 300);
    for (i = 0; i < 300; i++) {
        char want[16];
        sprintf(want, "t%03zu", i);
        assert_string_equal(st_model_entry_at(m, i)->name, want); /* byte order */
        assert_int_equal(st_model_find(m, want)->index, i);
    }
    expect_status("acquire", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
    verify_tensor(f, "t123");
    st_model_release(m, 0);
    st_model_close(m);
    free(idx);
    free(sub);
    rm_rf(dir);
    free(dir);
}

/* An index of many entries, names in a scrambled order over shards that come
 * in runs and alternate: the name table sized up front and grown (compact JSON
 * has more pairs than the size hint assumes), the sort by shard then name, the
 * shard paths each counted once, and every name found. */
static void check_many(size_t count, size_t nshards, int runs, const char *sep)
{
    char *dir = new_tmpdir(), *idx, name[48];
    size_t i, n = 0, cap = count * 64 + 64;
    st_model *m;
    uint64_t prev_shard = 0;
    idx = malloc(cap);
    assert_non_null(idx);
    n += (size_t)sprintf(idx + n, "{\"weight_map\":{");
    for (i = 0; i < count; i++) {
        size_t k = (i * 7919) % count; /* every k once: 7919 is prime, count is not its multiple */
        size_t sh = runs ? k * nshards / count : k % nshards;
        n += (size_t)sprintf(idx + n, "%s\"t%06zu\":%s\"s%zu.safetensors\"", i ? "," : "", k,
                             sep, sh);
    }
    sprintf(idx + n, "}}");
    write_text(dir, INDEX, idx);
    m = open_ok(dir, NULL);
    assert_int_equal(st_model_tensor_count(m), count);
    assert_int_equal(st_model_shard_count(m), nshards);
    for (i = 0; i < count; i++) {
        const st_model_entry *e = st_model_entry_at(m, i);
        size_t k = (size_t)atol(e->name + 1);
        char want[48];
        sprintf(want, "s%zu.safetensors", runs ? k * nshards / count : k % nshards);
        assert_string_equal(st_model_shard_name(m, e->shard), want);
        assert_int_equal(e->index, i);
        if (i) {
            /* model order: shards in order, names ascending within one */
            assert_true(e->shard >= prev_shard);
            if (e->shard == prev_shard)
                assert_true(strcmp(st_model_entry_at(m, i - 1)->name, e->name) < 0);
        }
        prev_shard = e->shard;
        sprintf(name, "t%06zu", i);
        e = st_model_find(m, name);
        assert_non_null(e);
        assert_string_equal(e->name, name);
        assert_ptr_equal(st_model_entry_at(m, e->index), e);
    }
    assert_null(st_model_find(m, "t"));
    st_model_close(m);
    free(idx);
    rm_rf(dir);
    free(dir);
}

static void test_many_entries(void **state)
{
    (void)state;
    check_many(20000, 7, 1, "");      /* runs, compact: more pairs than the hint */
    check_many(20000, 7, 0, " ");     /* alternating shards */
    check_many(5000, 1, 1, "\n  ");  /* one shard */
    check_many(3, 2, 0, "");
    /* names with escapes (decoded into memory of their own) beside names kept
     * in the index's text: each one a C string of its own length */
    {
        static const char *const want[] = {"a\"b", "ab", "plain", "z\\"};
        char *dir = new_tmpdir();
        st_model *m;
        size_t i;
        write_text(dir, INDEX,
                   "{\"weight_map\": {\"plain\": \"s.safetensors\", \"a\\u0062\": "
                   "\"s.safetensors\", \"a\\\"b\": \"t.safetensors\", \"z\\\\\": \"s.safetensors\"}}");
        m = open_ok(dir, NULL);
        assert_int_equal(st_model_tensor_count(m), 4);
        for (i = 0; i < 4; i++) {
            const st_model_entry *e = st_model_find(m, want[i]);
            assert_non_null(e);
            assert_string_equal(e->name, want[i]);
            assert_int_equal(strlen(e->name), e->name_len);
        }
        assert_null(st_model_find(m, "plain\""));
        st_model_close(m);
        rm_rf(dir);
        free(dir);
    }
    /* a duplicate far from the first, after the table has grown */
    {
        char *dir = new_tmpdir(), *idx = malloc(20000 * 40 + 64), *p;
        st_model *m = (st_model *)1;
        st_error e;
        size_t i, n = 0;
        assert_non_null(idx);
        n += (size_t)sprintf(idx + n, "{\"weight_map\":{");
        for (i = 0; i < 20000; i++)
            n += (size_t)sprintf(idx + n, "%s\"t%zu\":\"s.safetensors\"", i ? "," : "",
                                 i == 19999 ? (size_t)17 : i);
        sprintf(idx + n, "}}");
        write_text(dir, INDEX, idx);
        p = path_of(dir, INDEX);
        expect_status("duplicate", st_model_open(&m, p, NULL, &e), &e, ST_E_DUPLICATE);
        assert_null(m);
        expect_in("duplicate", e.message, "\"t17\" is listed twice");
        assert_int_equal(e.offset, (uint64_t)(strstr(idx, ",\"t17\":\"s.safetensors\"}") - idx) + 1);
        free(p);
        free(idx);
        rm_rf(dir);
        free(dir);
    }
}

/* ---------------------------------------------------------------- options */

static void bad_open(const char *what, const char *path, const st_model_options *o,
                     st_status want, const char *msg)
{
    st_model *m = (st_model *)1;
    st_error e;
    expect_status(what, st_model_open(&m, path, o, &e), &e, want);
    assert_null(m);
    if (msg) expect_in(what, e.message, msg);
}

static void *bad_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }

static void test_options(void **state)
{
    char *dir = make_model(STD_INDEX), *missing = path_of(dir, "nope");
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_open_options fo = ST_OPEN_OPTIONS_INIT;
    st_allocator half = {bad_malloc, NULL, NULL, NULL};
    st_model *m;
    st_error e;
    (void)state;
    assert_int_equal(st_model_open(NULL, dir, NULL, &e), ST_E_INVALID_ARGUMENT);
    bad_open("NULL path", NULL, NULL, ST_E_INVALID_ARGUMENT, NULL);
    bad_open("empty path", "", NULL, ST_E_INVALID_ARGUMENT, NULL);
    bad_open("missing", missing, NULL, ST_E_IO, NULL);
    o.struct_size = 4;
    bad_open("struct_size", dir, &o, ST_E_INVALID_ARGUMENT, "struct_size");
    o.struct_size = (uint32_t)sizeof o;
    o.flags = 0x80u;
    bad_open("flags", dir, &o, ST_E_INVALID_ARGUMENT, "flags");
    o.flags = 0;
    o.file_options = &fo;
    fo.flags = 0x40000000u;
    bad_open("file flags", dir, &o, ST_E_INVALID_ARGUMENT, "file_options");
    fo.flags = ST_OPEN_CLOSE_FD;
    bad_open("close fd", dir, &o, ST_E_INVALID_ARGUMENT, "ST_OPEN_CLOSE_FD");
    fo.flags = 0;
    fo.max_header_size = (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1;
    bad_open("cap", dir, &o, ST_E_INVALID_ARGUMENT, NULL);
    fo.max_header_size = 0;
    fo.allocator = &half;
    bad_open("allocator", dir, &o, ST_E_INVALID_ARGUMENT, NULL);
    fo.allocator = NULL;
    fo.struct_size = 4;
    bad_open("file struct_size", dir, &o, ST_E_INVALID_ARGUMENT, NULL);
    fo.struct_size = (uint32_t)sizeof fo;
    /* leniency flags reach the shards */
    fo.flags = ST_LENIENT_TRAILING_BYTES;
    m = open_ok(dir, &o);
    st_model_close(m);
    /* shards read into memory instead of mapped */
    fo.flags = ST_OPEN_READ;
    m = open_ok(dir, &o);
    {
        const st_file *f = NULL;
        expect_status("read", st_model_acquire(m, 2, &f, &e), &e, ST_OK);
        verify_tensor(f, "d");
        st_model_release(m, 2);
    }
    st_model_close(m);
    fo.flags = 0;
    /* an older, shorter options struct (without file_options) */
    o.struct_size = (uint32_t)offsetof(st_model_options, file_options);
    m = open_ok(dir, &o);
    st_model_close(m);
    /* NULL tolerance */
    assert_int_equal(st_model_tensor_count(NULL), 0);
    assert_int_equal(st_model_shard_count(NULL), 0);
    assert_null(st_model_shard_name(NULL, 0));
    assert_null(st_model_entry_at(NULL, 0));
    assert_null(st_model_find(NULL, "a"));
    assert_null(st_model_find_n(NULL, "a", 1));
    st_model_close(NULL);
    m = open_ok(dir, NULL);
    assert_null(st_model_find(m, NULL));
    assert_null(st_model_find_n(m, NULL, 1));
    assert_null(st_model_find_n(m, NULL, 0)); /* "" is not in the model */
    st_model_close(m);
    /* the error record is cleared on success */
    memset(&e, 0x5a, sizeof e);
    m = NULL;
    assert_int_equal(st_model_open(&m, dir, NULL, &e), ST_OK);
    assert_int_equal(e.code, ST_OK);
    assert_int_equal(e.flags, 0);
    assert_int_equal(e.message[0], '\0');
    st_model_close(m);
    free(missing);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- threads */

typedef struct worker {
    st_model *m;
    unsigned seed;
    int iters;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = (worker *)arg;
    int i;
    for (i = 0; i < w->iters; i++) {
        const st_file *f = NULL;
        uint64_t s, k;
        st_error e;
        w->seed = w->seed * 1103515245u + 12345u;
        s = (w->seed >> 16) % st_model_shard_count(w->m);
        if (st_model_acquire(w->m, s, &f, &e) != ST_OK || !f) {
            w->failures++;
            continue;
        }
        for (k = 0; k < st_model_tensor_count(w->m); k++) {
            const st_model_entry *en = st_model_entry_at(w->m, k);
            const st_tensor *t;
            size_t b;
            if (en->shard != s) continue;
            t = st_tensor_find_n(f, en->name, (size_t)en->name_len);
            if (!t || t->nbytes != tlen(en->name)) {
                w->failures++;
                continue;
            }
            for (b = 0; b < t->nbytes; b++)
                if (((const unsigned char *)t->data)[b] != tbyte(en->name, b)) w->failures++;
        }
        st_model_release(w->m, s);
    }
    return NULL;
}

static void run_threads(const char *dir, uint32_t max_open, int nthreads, int iters)
{
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    pthread_t th[8];
    worker w[8];
    st_model *m;
    int i;
    o.max_open_shards = max_open;
    m = open_ok(dir, &o);
    for (i = 0; i < nthreads; i++) {
        w[i].m = m;
        w[i].seed = (unsigned)(i * 7919 + 1);
        w[i].iters = iters;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < nthreads; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    {
        long mask = open_mask(dir, FILES, 3);
        if (mask >= 0) {
            int open = (int)((mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1));
            assert_true(open >= 1 && open <= (int)max_open); /* back within the limit */
        }
    }
    st_model_close(m);
    expect_mask(dir, 0);
}

static void test_threads(void **state)
{
    char *dir = make_model(STD_INDEX);
    (void)state;
    run_threads(dir, 1, 4, 300);
    run_threads(dir, 2, 4, 300);
    run_threads(dir, 3, 8, 200);
    rm_rf(dir);
    free(dir);
}

static void *work_fail(void *arg)
{
    worker *w = (worker *)arg;
    int i;
    for (i = 0; i < w->iters; i++) {
        const st_file *f = NULL;
        st_error e;
        if (st_model_acquire(w->m, 0, &f, &e) != ST_E_NOT_FOUND || f) w->failures++;
        if (strcmp(e.tensor, "zzz") != 0) w->failures++;
    }
    return NULL;
}

static void test_threads_failing_shard(void **state)
{
    char *dir = make_model("{\"weight_map\": {\"b.weight\": \"" S2 "\", \"c\": \"" S2
                           "\", \"zzz\": \"" S2 "\"}}");
    pthread_t th[4];
    worker w[4];
    st_model *m = open_ok(dir, NULL);
    int i;
    (void)state;
    for (i = 0; i < 4; i++) {
        w[i].m = m;
        w[i].iters = 50;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, work_fail, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    st_model_close(m);
    expect_mask(dir, 0);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- allocator */

typedef struct falloc {
    long fail_at; /* the call number that fails (1-based); 0 = none */
    long calls;
    long live;
    long long bytes;
    int failed;
    pthread_mutex_t mu;
} falloc;

static int fa_take(falloc *a)
{
    int ok;
    pthread_mutex_lock(&a->mu);
    a->calls++;
    ok = a->calls != a->fail_at;
    if (!ok) a->failed = 1;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

static void *fa_malloc(void *ctx, size_t n)
{
    falloc *a = (falloc *)ctx;
    void *p;
    if (!fa_take(a)) return NULL;
    p = malloc(n ? n : 1);
    if (p) {
        pthread_mutex_lock(&a->mu);
        a->live++;
        a->bytes += (long long)n;
        pthread_mutex_unlock(&a->mu);
    }
    return p;
}

static void *fa_realloc(void *ctx, void *p, size_t old, size_t n)
{
    falloc *a = (falloc *)ctx;
    void *q;
    if (!fa_take(a)) return NULL;
    q = realloc(p, n ? n : 1);
    if (q) {
        pthread_mutex_lock(&a->mu);
        a->bytes += (long long)n - (long long)old;
        pthread_mutex_unlock(&a->mu);
    }
    return q;
}

static void fa_free(void *ctx, void *p, size_t n)
{
    falloc *a = (falloc *)ctx;
    if (!p) return;
    pthread_mutex_lock(&a->mu);
    a->live--;
    a->bytes -= (long long)n;
    pthread_mutex_unlock(&a->mu);
    free(p);
}

/* Allocations of 4 KiB or more, counted (and every block given back). */
typedef struct calloc_count {
    long large;
    long live;
    long long bytes;
    pthread_mutex_t mu;
} calloc_count;

static void cc_note(calloc_count *a, size_t n, long live, long long bytes)
{
    pthread_mutex_lock(&a->mu);
    if (n >= 4096) a->large++;
    a->live += live;
    a->bytes += bytes;
    pthread_mutex_unlock(&a->mu);
}

static void *cc_malloc(void *ctx, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p) cc_note((calloc_count *)ctx, n, 1, (long long)n);
    return p;
}

static void *cc_realloc(void *ctx, void *p, size_t old, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q) cc_note((calloc_count *)ctx, n > old ? n : 0, 0, (long long)n - (long long)old);
    return q;
}

static void cc_free(void *ctx, void *p, size_t n)
{
    if (!p) return;
    cc_note((calloc_count *)ctx, 0, -1, -(long long)n);
    free(p);
}

/* Shards opened one after another reuse the blocks of the shard closed before
 * them: after the first, opening a shard of the same shape asks the caller's
 * allocator for no block of 4 KiB or more. */
static void test_scratch_reuse(void **state)
{
    enum { NSH = 4, NT = 300 };
    char *dir = new_tmpdir(), *idx = malloc(NSH * NT * 64 + 64), files[NSH][48];
    static char store[NSH][NT][16];
    const char *names[NT];
    calloc_count a;
    st_allocator al = {cc_malloc, cc_realloc, cc_free, NULL};
    st_open_options fo = ST_OPEN_OPTIONS_INIT;
    st_model_options o = ST_MODEL_OPTIONS_INIT;
    st_model *m;
    size_t i, k, n = 0;
    uint32_t max_open;
    (void)state;
    assert_non_null(idx);
    n += (size_t)sprintf(idx + n, "{\"weight_map\": {");
    for (k = 0; k < NSH; k++) {
        sprintf(files[k], "model-%05zu-of-%05d.safetensors", k + 1, NSH);
        for (i = 0; i < NT; i++) {
            sprintf(store[k][i], "s%zu.t%03zu", k, i);
            names[i] = store[k][i];
            n += (size_t)sprintf(idx + n, "%s\"%s\": \"%s\"", n > 16 ? ", " : "", names[i],
                                 files[k]);
        }
        write_shard(dir, files[k], names, NT);
    }
    sprintf(idx + n, "}}");
    write_text(dir, INDEX, idx);
    for (max_open = 1; max_open <= 2; max_open++) {
        memset(&a, 0, sizeof a);
        pthread_mutex_init(&a.mu, NULL);
        al.ctx = &a;
        fo.allocator = &al;
        o.file_options = &fo;
        o.max_open_shards = max_open;
        m = open_ok(dir, &o);
        for (k = 0; k < NSH; k++) {
            const st_file *f = NULL;
            st_error e;
            long before = a.large;
            expect_status("acquire", st_model_acquire(m, k, &f, &e), &e, ST_OK);
            verify_tensor(f, store[k][NT / 2]);
            st_model_release(m, k);
            if (k == 0) {
                assert_true(a.large > before); /* the first open allocates */
            } else if (k >= max_open) {
                /* an evicted shard's blocks serve this one */
                if (a.large != before) {
                    print_error("max_open %u, shard %zu: %ld new blocks of 4 KiB or more\n",
                                (unsigned)max_open, k, a.large - before);
                    fail();
                }
            }
        }
        st_model_close(m);
        assert_int_equal(a.live, 0);
        assert_int_equal(a.bytes, 0);
        pthread_mutex_destroy(&a.mu);
    }
    free(idx);
    rm_rf(dir);
    free(dir);
}

/* Fails allocation k for k = 1, 2, ... until an open needs no more: each
 * failure must be ST_E_NOMEM and leave nothing allocated. acquire_all: also
 * acquire every shard (and count those allocations). */
static void sweep(const char *path, uint32_t flags, uint32_t max_open, int acquire_all)
{
    long k;
    for (k = 1;; k++) {
        falloc a;
        st_allocator al = {fa_malloc, fa_realloc, fa_free, NULL};
        st_open_options fo = ST_OPEN_OPTIONS_INIT;
        st_model_options o = ST_MODEL_OPTIONS_INIT;
        st_model *m = NULL;
        st_error e;
        st_status s;
        memset(&a, 0, sizeof a);
        pthread_mutex_init(&a.mu, NULL);
        a.fail_at = k;
        al.ctx = &a;
        fo.allocator = &al;
        o.file_options = &fo;
        o.flags = flags;
        o.max_open_shards = max_open;
        s = st_model_open(&m, path, &o, &e);
        if (s == ST_OK && acquire_all) {
            uint64_t i;
            for (i = 0; i < st_model_shard_count(m) && s == ST_OK; i++) {
                const st_file *f = NULL;
                s = st_model_acquire(m, i, &f, &e);
                if (s == ST_OK) st_model_release(m, i);
            }
            if (s != ST_OK) {
                st_model_close(m);
                m = NULL;
            }
        }
        if (a.failed) {
            if (s != ST_E_NOMEM) {
                print_error("%s: allocation %ld failed: want ST_E_NOMEM, got %s: %s\n", path,
                            k, st_status_name(s), e.message);
                fail();
            }
            assert_int_equal(e.code, ST_E_NOMEM);
        } else {
            expect_status(path, s, &e, ST_OK);
        }
        st_model_close(m);
        if (a.live != 0 || a.bytes != 0) {
            print_error("%s: allocation %ld failed: %ld blocks, %lld bytes left\n", path, k,
                        a.live, a.bytes);
            fail();
        }
        pthread_mutex_destroy(&a.mu);
        if (!a.failed) break;
        assert_true(k < 100000);
    }
}

static void test_failing_allocator(void **state)
{
    char *dir = make_model(STD_INDEX), *idx = path_of(dir, INDEX), *one = path_of(dir, S1);
    (void)state;
    sweep(idx, 0, 0, 0);
    sweep(dir, 0, 0, 0);
    sweep(one, 0, 0, 0);
    sweep(dir, ST_MODEL_VALIDATE_ALL, 0, 0);
    sweep(dir, ST_MODEL_VALIDATE_ALL, 1, 0);
    sweep(dir, 0, 1, 1);
    sweep(dir, 0, 0, 1);
    free(idx);
    free(one);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_file),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_single_file),
        cmocka_unit_test(test_acquire_read),
        cmocka_unit_test(test_one_open_shard),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_validate_all),
        cmocka_unit_test(test_unsafe_paths),
        cmocka_unit_test(test_windows_paths),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_schema),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_index_accepted),
        cmocka_unit_test(test_index_cap),
        cmocka_unit_test(test_shard_mismatch),
        cmocka_unit_test(test_fifos),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_non_ascii_names),
        cmocka_unit_test(test_subdirectory_and_many),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_threads_failing_shard),
        cmocka_unit_test(test_failing_allocator),
        cmocka_unit_test(test_scratch_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
