/* Sharded models on a caller's storage (st_model_open_storage): the index and
 * every shard read through readers the caller opens by name; listing reads
 * the index only; shards open lazily through st_open_reader and are checked
 * against the weight map; every reader the storage gives is closed exactly
 * once (eviction, failures, close); failures of open_file and of reads; the
 * index's rules (cap, JSON, unsafe shard paths) hold as for st_model_open; the
 * index's "metadata" (st_model_metadata_*). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <safetensors.h>
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

/* ---------------------------------------------------------------- a storage in memory */

typedef struct sfile {
    const char *name;
    unsigned char *bytes;
    size_t len;
} sfile;

typedef struct store store;
typedef struct sreader {
    store *s;
    const sfile *f;
} sreader;

struct store {
    sfile files[4];
    sreader rds[4]; /* one reader per file: the model never opens a file twice at once */
    int nfiles;
    int opens, closes, reads;
    int fail_open;  /* open_file of this name fails with ENOENT */
    const char *fail_open_name;
    int fail_reads; /* every read fails with EIO */
};

static int s_read(void *ctx, uint64_t off, void *dst, size_t size)
{
    sreader *r = (sreader *)ctx;
    r->s->reads++;
    if (r->s->fail_reads) return EIO;
    if (off > r->f->len || size > r->f->len - off) return ST_READER_SHORT;
    memcpy(dst, r->f->bytes + off, size);
    return 0;
}

static int s_open(void *ctx, const char *name, st_reader *rd, uint64_t *size)
{
    store *s = (store *)ctx;
    int i;
    if (s->fail_open_name && strcmp(name, s->fail_open_name) == 0) return ENOENT;
    for (i = 0; i < s->nfiles; i++) {
        if (strcmp(s->files[i].name, name) == 0) {
            sreader *r = &s->rds[i];
            r->s = s;
            r->f = &s->files[i];
            rd->read = s_read;
            rd->ctx = r;
            *size = s->files[i].len;
            s->opens++;
            return 0;
        }
    }
    return ENOENT;
}

static void s_close(void *ctx, const st_reader *rd)
{
    store *s = (store *)ctx;
    s->closes++;
    ((sreader *)rd->ctx)->f = NULL; /* a read after close would crash */
}

static void add_file(store *s, const char *name, const char *text, uint64_t data)
{
    sfile *f = &s->files[s->nfiles++];
    f->name = name;
    if (data == UINT64_MAX) { /* the index: raw text */
        f->len = strlen(text);
        f->bytes = malloc(f->len + 1);
        if (!f->bytes) abort();
        memcpy(f->bytes, text, f->len);
    } else {
        f->bytes = stt_build_str(text, data, &f->len);
    }
}

static void store_free(store *s)
{
    int i;
    for (i = 0; i < s->nfiles; i++) free(s->files[i].bytes);
}

#define INDEX "model.safetensors.index.json"
static const char INDEX_TEXT[] =
    "{\"metadata\":{\"total_size\":40},\"weight_map\":{\"a\":\"s1.safetensors\","
    "\"b\":\"s1.safetensors\",\"c\":\"sub/s2.safetensors\"}}";
static const char S1[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[24,28]}}";
static const char S2[] = "{\"c\":{\"dtype\":\"BF16\",\"shape\":[4,2],\"data_offsets\":[0,16]}}";

static void make_store(store *s, const char *index, const char *s2)
{
    memset(s, 0, sizeof *s);
    add_file(s, INDEX, index, UINT64_MAX);
    add_file(s, "s1.safetensors", S1, 28);
    add_file(s, "sub/s2.safetensors", s2, 16);
}

static st_model_storage storage_of(store *s)
{
    st_model_storage st = ST_MODEL_STORAGE_INIT;
    st.open_file = s_open;
    st.close_file = s_close;
    st.ctx = s;
    return st;
}

/* ---------------------------------------------------------------- tests */

static void test_list_and_read(void **state)
{
    store s;
    st_model_storage st;
    st_model *m = NULL;
    st_error e;
    const st_file *f = NULL;
    const st_tensor *t;
    unsigned char buf[32];
    uint64_t start[2] = {1, 0}, stop[2] = {3, 2};
    (void)state;
    make_store(&s, INDEX_TEXT, S2);
    st = storage_of(&s);
    expect_status("open", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_OK);
    /* listing: the index only, read once and closed */
    assert_int_equal(s.opens, 1);
    assert_int_equal(s.closes, 1);
    assert_int_equal(s.reads, 1);
    assert_int_equal(st_model_tensor_count(m), 3);
    assert_int_equal(st_model_metadata_count(m), 1);
    assert_string_equal(st_model_metadata_find(m, "total_size")->value, "40");
    assert_int_equal(st_model_shard_count(m), 2);
    assert_string_equal(st_model_shard_name(m, 1), "sub/s2.safetensors");
    assert_int_equal(st_model_find(m, "c")->shard, 1);
    /* a shard: opened through its reader (prefix and header), no data read */
    expect_status("acquire", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
    assert_int_equal(s.opens, 2);
    assert_int_equal(s.reads, 3);
    t = st_tensor_find(f, "a");
    assert_null(t->data);
    expect_status("read", st_tensor_read(f, t, 0, buf, 24, &e), &e, ST_OK);
    assert_memory_equal(buf, s.files[1].bytes + s.files[1].len - 28, 24);
    assert_int_equal(s.reads, 4);
    st_model_release(m, 0);
    /* a slice of the second shard's tensor */
    expect_status("acquire 1", st_model_acquire(m, 1, &f, &e), &e, ST_OK);
    t = st_tensor_find(f, "c");
    expect_status("slice", st_tensor_read_slice(f, t, 2, start, stop, buf, sizeof buf, &e), &e,
                  ST_OK);
    assert_memory_equal(buf, s.files[2].bytes + s.files[2].len - 16 + 4, 8);
    st_model_release(m, 1);
    st_model_close(m);
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
}

static void test_eviction_closes_readers(void **state)
{
    store s;
    st_model_storage st;
    st_model_options mo = ST_MODEL_OPTIONS_INIT;
    st_model *m = NULL;
    st_error e;
    const st_file *f = NULL;
    int i;
    (void)state;
    make_store(&s, INDEX_TEXT, S2);
    st = storage_of(&s);
    mo.max_open_shards = 1;
    expect_status("open", st_model_open_storage(&m, &st, INDEX, &mo, &e), &e, ST_OK);
    for (i = 0; i < 6; i++) {
        expect_status("acquire", st_model_acquire(m, (uint64_t)(i % 2), &f, &e), &e, ST_OK);
        st_model_release(m, (uint64_t)(i % 2));
        /* at most the one open shard's reader is still open */
        assert_true(s.opens - s.closes <= 1);
    }
    assert_int_equal(s.opens, 1 + 6);
    st_model_close(m);
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
}

static void test_validate_all_and_weight_map(void **state)
{
    store s;
    st_model_storage st;
    st_model_options mo = ST_MODEL_OPTIONS_INIT;
    st_model *m = NULL;
    st_error e;
    (void)state;
    make_store(&s, INDEX_TEXT, S2);
    st = storage_of(&s);
    mo.flags = ST_MODEL_VALIDATE_ALL;
    expect_status("validate all", st_model_open_storage(&m, &st, INDEX, &mo, &e), &e, ST_OK);
    assert_int_equal(s.opens, 3);
    st_model_close(m);
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
    /* the second shard holds "d", not "c" */
    make_store(&s, INDEX_TEXT, "{\"d\":{\"dtype\":\"BF16\",\"shape\":[4,2],\"data_offsets\":[0,16]}}");
    st = storage_of(&s);
    expect_status("weight map", st_model_open_storage(&m, &st, INDEX, &mo, &e), &e,
                  ST_E_NOT_FOUND);
    assert_null(m);
    assert_non_null(strstr(e.message, "sub/s2.safetensors"));
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
    /* a broken shard: its error, prefixed with its name */
    make_store(&s, INDEX_TEXT, "{\"c\":{\"dtype\":\"BF16\",\"shape\":[4,2],\"data_offsets\":[0,15]}}");
    st = storage_of(&s);
    expect_status("broken shard", st_model_open_storage(&m, &st, INDEX, &mo, &e), &e,
                  ST_E_SIZE_MISMATCH);
    assert_non_null(strstr(e.message, "shard \"sub/s2.safetensors\": "));
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
}

static void test_storage_failures(void **state)
{
    store s;
    st_model_storage st;
    st_model *m = NULL;
    st_error e;
    const st_file *f = (const st_file *)&s;
    (void)state;
    /* a shard the storage cannot open */
    make_store(&s, INDEX_TEXT, S2);
    s.fail_open_name = "sub/s2.safetensors";
    st = storage_of(&s);
    expect_status("open", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_OK);
    expect_status("shard missing", st_model_acquire(m, 1, &f, &e), &e, ST_E_IO);
    assert_null(f);
    assert_int_equal(e.sys_errno, ENOENT);
    assert_non_null(strstr(e.message, "shard \"sub/s2.safetensors\": the storage cannot open it"));
    /* the other shard still works, and a failed read is ST_E_IO */
    expect_status("shard 0", st_model_acquire(m, 0, &f, &e), &e, ST_OK);
    s.fail_reads = 1;
    {
        unsigned char b[4];
        expect_status("read", st_tensor_read(f, st_tensor_find(f, "b"), 0, b, 4, &e), &e,
                      ST_E_IO);
        assert_int_equal(e.sys_errno, EIO);
    }
    st_model_release(m, 0);
    st_model_close(m);
    assert_int_equal(s.opens, s.closes);
    /* the index cannot be opened, or read */
    s.fail_reads = 0;
    s.fail_open_name = INDEX;
    expect_status("no index", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_E_IO);
    assert_int_equal(e.sys_errno, ENOENT);
    s.fail_open_name = NULL;
    s.fail_reads = 1;
    expect_status("index read", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_E_IO);
    assert_int_equal(e.sys_errno, EIO);
    assert_non_null(strstr(e.message, "cannot read the index"));
    assert_null(m);
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
}

static void test_index_rules(void **state)
{
    store s;
    st_model_storage st;
    st_model_options mo = ST_MODEL_OPTIONS_INIT;
    st_open_options fo = ST_OPEN_OPTIONS_INIT;
    st_model *m = NULL;
    st_error e;
    (void)state;
    make_store(&s, INDEX_TEXT, S2);
    st = storage_of(&s);
    fo.max_header_size = 20;
    mo.file_options = &fo;
    expect_status("cap", st_model_open_storage(&m, &st, INDEX, &mo, &e), &e,
                  ST_E_HEADER_TOO_LARGE);
    assert_int_equal(s.reads, 0); /* refused on its size, before reading */
    store_free(&s);
    make_store(&s, "{\"weight_map\":{\"a\":}}", S2);
    st = storage_of(&s);
    expect_status("json", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_E_JSON);
    store_free(&s);
    make_store(&s, "{\"weight_map\":{\"a\":\"../s1.safetensors\"}}", S2);
    st = storage_of(&s);
    expect_status("unsafe path", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_E_NAME);
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
    /* ST_OPEN_READ in file_options is ignored (a reader has no descriptor) */
    make_store(&s, INDEX_TEXT, S2);
    st = storage_of(&s);
    fo.max_header_size = 0;
    fo.flags = ST_OPEN_READ;
    mo.flags = ST_MODEL_VALIDATE_ALL;
    expect_status("ST_OPEN_READ", st_model_open_storage(&m, &st, INDEX, &mo, &e), &e, ST_OK);
    st_model_close(m);
    assert_int_equal(s.opens, s.closes);
    store_free(&s);
}

static void test_arguments(void **state)
{
    store s;
    st_model_storage st, bad;
    st_model *m = (st_model *)&s;
    st_error e;
    (void)state;
    make_store(&s, INDEX_TEXT, S2);
    st = storage_of(&s);
    expect_status("out", st_model_open_storage(NULL, &st, INDEX, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    expect_status("storage", st_model_open_storage(&m, NULL, INDEX, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_null(m);
    expect_status("name", st_model_open_storage(&m, &st, NULL, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    expect_status("empty name", st_model_open_storage(&m, &st, "", NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    bad = st;
    bad.open_file = NULL;
    expect_status("no open_file", st_model_open_storage(&m, &bad, INDEX, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    bad = st;
    bad.struct_size = 8;
    expect_status("struct_size", st_model_open_storage(&m, &bad, INDEX, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    bad = st;
    bad.flags = 1;
    expect_status("flags", st_model_open_storage(&m, &bad, INDEX, NULL, &e), &e,
                  ST_E_INVALID_ARGUMENT);
    assert_int_equal(s.opens, 0);
    /* close_file may be NULL: the caller frees its readers some other way */
    st.close_file = NULL;
    expect_status("no close_file", st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, ST_OK);
    st_model_close(m);
    store_free(&s);
}

/* The index's "metadata": kept in order, strings decoded, other values as
 * their JSON text; absent, null, empty or non-object metadata has none;
 * duplicate keys are refused as everywhere. */
static void test_index_metadata(void **state)
{
    static const struct {
        const char *meta; /* the value of "metadata", or NULL for none */
        st_status want;
        uint64_t count;
        const char *k0, *v0, *k1, *v1;
    } cases[] = {
        {NULL, ST_OK, 0, NULL, NULL, NULL, NULL},
        {"null", ST_OK, 0, NULL, NULL, NULL, NULL},
        {"{}", ST_OK, 0, NULL, NULL, NULL, NULL},
        {"[1, 2]", ST_OK, 0, NULL, NULL, NULL, NULL},
        {"\"text\"", ST_OK, 0, NULL, NULL, NULL, NULL},
        {"{\"total_size\": 16060522496}", ST_OK, 1, "total_size", "16060522496", NULL, NULL},
        {"{\"total_parameters\":8030261248, \"format\" : \"pt\"}", ST_OK, 2,
         "total_parameters", "8030261248", "format", "pt"},
        {"{\"a\\u0062\": \"x\\ny\", \"nested\": {\"k\": [true, null]}}", ST_OK, 2, "ab",
         "x\ny", "nested", "{\"k\": [true, null]}"},
        {"{\"k\": 1, \"k\": 2}", ST_E_DUPLICATE, 0, NULL, NULL, NULL, NULL},
        {"{\"k\": 01}", ST_E_JSON, 0, NULL, NULL, NULL, NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char index[512];
        store s;
        st_model_storage st;
        st_model *m = NULL;
        st_error e;
        if (cases[i].meta)
            snprintf(index, sizeof index,
                     "{\"metadata\": %s, \"weight_map\": {\"a\": \"s1.safetensors\", "
                     "\"b\": \"s1.safetensors\"}}", cases[i].meta);
        else
            snprintf(index, sizeof index,
                     "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}}");
        make_store(&s, index, S2);
        st = storage_of(&s);
        expect_status(index, st_model_open_storage(&m, &st, INDEX, NULL, &e), &e, cases[i].want);
        if (m) {
            assert_int_equal(st_model_metadata_count(m), cases[i].count);
            if (cases[i].count > 0) {
                const st_metadata_entry *x = st_model_metadata_at(m, 0);
                assert_string_equal(x->key, cases[i].k0);
                assert_string_equal(x->value, cases[i].v0);
                assert_int_equal(x->value_len, strlen(cases[i].v0));
                assert_ptr_equal(st_model_metadata_find(m, cases[i].k0), x);
            }
            if (cases[i].count > 1) {
                const st_metadata_entry *x = st_model_metadata_at(m, 1);
                assert_string_equal(x->key, cases[i].k1);
                assert_string_equal(x->value, cases[i].v1);
                assert_ptr_equal(st_model_metadata_find_n(m, cases[i].k1, strlen(cases[i].k1)),
                                 x);
            }
            assert_null(st_model_metadata_at(m, cases[i].count));
            assert_null(st_model_metadata_find(m, "absent"));
            assert_null(st_model_metadata_find(m, NULL));
            st_model_close(m);
        }
        store_free(&s);
    }
    assert_int_equal(st_model_metadata_count(NULL), 0);
    assert_null(st_model_metadata_at(NULL, 0));
    assert_null(st_model_metadata_find(NULL, "k"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_read),
        cmocka_unit_test(test_eviction_closes_readers),
        cmocka_unit_test(test_validate_all_and_weight_map),
        cmocka_unit_test(test_storage_failures),
        cmocka_unit_test(test_index_rules),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_index_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
