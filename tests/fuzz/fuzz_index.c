/* Fuzz target for sharded-model indexes: the input is the text of a
 * model.safetensors.index.json, written into a private directory next to two
 * small valid shards (s1.safetensors: a, b; s2.safetensors: c), then opened with
 * st_model_open and exercised (listing, lookups, acquiring every shard).
 * Builds with libFuzzer (make fuzz-index) or with tests/fuzz/replay.c. */
#include <safetensors.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t st_fuzz_sink;
static char dir[64];

static void write_file(const char *name, const void *b, size_t n)
{
    char path[128];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "wb");
    if (!fp) abort();
    if (n && fwrite(b, 1, n, fp) != n) abort();
    if (fclose(fp) != 0) abort();
}

static void write_shard(const char *name, const char *hdr, size_t data)
{
    unsigned char buf[512];
    size_t n = strlen(hdr), i;
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, hdr, n);
    memset(buf + 8 + n, 0x3c, data);
    write_file(name, buf, 8 + n + data);
}

static void cleanup(void)
{
    static const char *const names[] = {"s1.safetensors", "s2.safetensors",
                                        "model.safetensors.index.json"};
    char path[128];
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

/* The directory and the shards, made once per process (removed at exit). */
static void setup(void)
{
    if (dir[0]) return;
    snprintf(dir, sizeof dir, "/tmp/st-fuzz-index.%ld", (long)getpid());
    if (mkdir(dir, 0700) != 0) abort();
    write_shard("s1.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                  "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}", 6);
    write_shard("s2.safetensors", "{\"c\":{\"dtype\":\"I16\",\"shape\":[],\"data_offsets\":[0,2]}}", 2);
    if (atexit(cleanup) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_model_options mo = ST_MODEL_OPTIONS_INIT;
    st_model *m = NULL;
    st_error err;
    char path[128];
    uint64_t i, n;
    setup();
    write_file("model.safetensors.index.json", data, size);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    mo.max_open_shards = 1;
    if (st_model_open(&m, path, &mo, &err) != ST_OK) {
        if (m != NULL || err.code == ST_OK) abort();
        if (!memchr(err.message, '\0', sizeof err.message)) abort();
        return 0;
    }
    n = st_model_tensor_count(m);
    for (i = 0; i < n; i++) {
        const st_model_entry *e = st_model_entry_at(m, i);
        if (!e || e->index != i) abort();
        if (st_model_find_n(m, e->name, (size_t)e->name_len) != e) abort();
        st_fuzz_sink += e->shard + e->name_len;
    }
    if (st_model_entry_at(m, n) != NULL) abort();
    n = st_model_metadata_count(m);
    for (i = 0; i < n; i++) {
        const st_metadata_entry *e = st_model_metadata_at(m, i);
        const st_metadata_entry *f2;
        if (!e || e->key[e->key_len] != '\0' || e->value[e->value_len] != '\0') abort();
        /* keys are unique: a lookup finds this entry */
        f2 = st_model_metadata_find_n(m, e->key, (size_t)e->key_len);
        if (f2 != e) abort();
        st_fuzz_sink += e->value_len;
    }
    if (st_model_metadata_at(m, n) != NULL) abort();
    n = st_model_shard_count(m);
    for (i = 0; i < n; i++) {
        const st_file *f = NULL;
        st_fuzz_sink += strlen(st_model_shard_name(m, i));
        if (st_model_acquire(m, i, &f, &err) == ST_OK) {
            st_fuzz_sink += st_tensor_count(f);
            st_model_release(m, i);
        } else if (f != NULL || err.code == ST_OK) {
            abort();
        }
    }
    st_model_close(m);
    return 0;
}
