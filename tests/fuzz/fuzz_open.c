/* Fuzz target: open arbitrary bytes from memory, then exercise every accessor.
 * Input layout: byte 0 = option bits, bytes 1..2 = header cap selector, the
 * rest = the file. Builds with libFuzzer (clang -fsanitize=fuzzer) or with the
 * standalone driver tests/fuzz/replay.c. */
#include <safetensors.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results are folded into a sink so no access can be optimised away. */
static volatile uint64_t st_fuzz_sink;

static void touch_tensor(const st_file *f, const st_tensor *t)
{
    unsigned char buf[64];
    float fl[16];
    const void *p = NULL;
    uint64_t n, k, i;
    st_fuzz_sink += t->name_len + t->rank + t->numel + t->nbytes + t->offset + t->index;
    for (i = 0; i < t->rank; i++) st_fuzz_sink += t->shape[i];
    if (t->name[t->name_len] != '\0') abort();
    if (st_tensor_find_n(f, t->name, (size_t)t->name_len) != t) abort();
    if (st_tensor_find(f, t->name) != t) abort(); /* names never hold NUL */
    if (t->name_len && st_tensor_find_n(f, t->name, (size_t)t->name_len - 1) == t) abort();
    if (t->name_len < sizeof buf - 1) {
        /* one byte longer (the stored name is a prefix of the query), and the
         * name with a NUL appended: neither is this tensor */
        const st_tensor *o;
        memcpy(buf, t->name, (size_t)t->name_len);
        buf[t->name_len] = 'x';
        o = st_tensor_find_n(f, (const char *)buf, (size_t)t->name_len + 1);
        if (o == t || (o && (o->name_len != t->name_len + 1 ||
                             memcmp(o->name, buf, (size_t)o->name_len) != 0)))
            abort();
        buf[t->name_len] = '\0';
        if (st_tensor_find_n(f, (const char *)buf, (size_t)t->name_len + 1)) abort();
    }
    st_fuzz_sink += (uint64_t)st_tensor_as_f32(t, (const float **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_f64(t, (const double **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_f16(t, (const uint16_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_bf16(t, (const uint16_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_c64(t, (const float **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_i8(t, (const int8_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_u8(t, (const uint8_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_bool(t, (const uint8_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_i16(t, (const int16_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_u16(t, (const uint16_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_i32(t, (const int32_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_u32(t, (const uint32_t **)&p);
    st_fuzz_sink += (uint64_t)st_tensor_as_i64(t, (const int64_t **)&p);
    if (st_tensor_as_u64(t, (const uint64_t **)&p) == ST_OK && t->numel)
        st_fuzz_sink += ((const uint64_t *)p)[t->numel - 1];
    /* the last bytes of the tensor, through both copy paths */
    n = t->nbytes < sizeof buf ? t->nbytes : sizeof buf;
    if (st_tensor_copy(t, t->nbytes - n, buf, n) != ST_OK) abort();
    if (st_tensor_copy(t, t->nbytes, buf, 1) != ST_E_RANGE) abort();
    if (st_tensor_read(f, t, t->nbytes - n, buf, n, NULL) != ST_OK) abort();
    for (k = 0; k < n; k++) st_fuzz_sink += buf[k];
    k = t->numel < 16 ? t->numel : 16;
    if (st_tensor_to_f32(t, t->numel - k, k, fl) == ST_OK)
        for (i = 0; i < k; i++) st_fuzz_sink += (fl[i] == fl[i]);
    k = t->numel < 4 ? t->numel : 4;
    st_fuzz_sink += (uint64_t)st_tensor_copy_elements(t, t->numel - k, k, buf);
    st_fuzz_sink += st_tensor_file_alignment(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_error err;
    st_file *f = NULL;
    uint64_t i, n;
    if (size < 3) return 0;
    o.flags = data[0] & (ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING);
    if (data[0] & 0x80) o.max_header_size = 1 + (((uint64_t)data[1] << 8) | data[2]);
    data += 3;
    size -= 3;
    if (st_open_memory(&f, size ? data : NULL, size, &o, &err) != ST_OK) {
        if (f != NULL || err.code == ST_OK) abort();
        if (!memchr(err.message, '\0', sizeof err.message)) abort();
        st_fuzz_sink += strlen(st_status_name(err.code)) + strlen(st_status_message(err.code));
        return 0;
    }
    if (err.code != ST_OK) abort();
    n = st_tensor_count(f);
    for (i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        if (!t || t->index != i) abort();
        if (i && st_tensor_at(f, i - 1)->end > t->begin) abort();
        touch_tensor(f, t);
    }
    if (st_tensor_at(f, n) != NULL) abort();
    st_fuzz_sink += (uint64_t)(uintptr_t)st_tensor_find(f, "");
    st_fuzz_sink += (uint64_t)(uintptr_t)st_tensor_find(f, "model.layers.0.mlp.up_proj.weight");
    st_fuzz_sink += (uint64_t)(uintptr_t)st_tensor_find_n(f, "a\0b", 3);
    n = st_metadata_count(f);
    for (i = 0; i < n; i++) {
        const st_metadata_entry *e = st_metadata_at(f, i);
        if (!e || st_metadata_find_n(f, e->key, (size_t)e->key_len) != e) abort();
        st_fuzz_sink += e->value_len + (unsigned char)e->value[e->value_len];
    }
    st_fuzz_sink += (uint64_t)st_metadata_state_of(f) + st_file_header_size(f) +
                    st_file_data_size(f) + st_file_leniency_used(f) + st_file_trailing_bytes(f);
    st_close(f);
    return 0;
}
