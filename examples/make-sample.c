/*
 * make-sample - writes a small, deterministic safetensors file shaped like a
 * one-layer Llama-style model, for the demo and the tests.
 *
 *   make-sample OUT
 *
 * Written the way the reference writer does it: __metadata__ first, tensors
 * laid out by decreasing dtype size then name, header padded with spaces so
 * that the data section starts at a multiple of 8 (every tensor is then aligned
 * for its type). The result is opened again with libsafetensors as a check.
 */
#include <safetensors.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the values of a tensor are made. */
enum { FILL_RANDOM = 0, FILL_ONES, FILL_ROPE, FILL_POSITIONS, FILL_BYTES, FILL_STEP };

typedef struct spec {
    const char *name; /* UTF-8, JSON-safe as written (no quotes or backslashes) */
    st_dtype dtype;
    uint32_t rank;
    uint64_t shape[2];
    int fill;
} spec;

/* hidden 16, intermediate 32, vocab 64, 2 key/value heads of 4. */
static const spec g_specs[] = {
    {"model.embed_tokens.weight", ST_BF16, 2, {64, 16}, FILL_RANDOM},
    {"model.layers.0.input_layernorm.weight", ST_F32, 1, {16, 0}, FILL_ONES},
    {"model.layers.0.self_attn.q_proj.weight", ST_F16, 2, {16, 16}, FILL_RANDOM},
    {"model.layers.0.self_attn.k_proj.weight", ST_F16, 2, {8, 16}, FILL_RANDOM},
    {"model.layers.0.self_attn.v_proj.weight", ST_F16, 2, {8, 16}, FILL_RANDOM},
    {"model.layers.0.self_attn.o_proj.weight", ST_F16, 2, {16, 16}, FILL_RANDOM},
    {"model.layers.0.self_attn.rotary_emb.inv_freq", ST_F32, 1, {4, 0}, FILL_ROPE},
    {"model.layers.0.post_attention_layernorm.weight", ST_F32, 1, {16, 0}, FILL_ONES},
    {"model.layers.0.mlp.gate_proj.weight", ST_BF16, 2, {32, 16}, FILL_RANDOM},
    {"model.layers.0.mlp.up_proj.weight", ST_BF16, 2, {32, 16}, FILL_RANDOM},
    {"model.layers.0.mlp.down_proj.weight", ST_BF16, 2, {16, 32}, FILL_RANDOM},
    {"model.norm.weight", ST_F32, 1, {16, 0}, FILL_ONES},
    {"lm_head.weight", ST_BF16, 2, {64, 16}, FILL_RANDOM},
    {"model.position_ids", ST_I64, 2, {1, 32}, FILL_POSITIONS},
    {"model.layers.0.mlp.down_proj.qmap", ST_U8, 1, {256, 0}, FILL_BYTES},
    {"training.global_step", ST_I64, 0, {0, 0}, FILL_STEP},
    {"model.layers.0.self_attn.pruned_heads", ST_I64, 1, {0, 0}, FILL_POSITIONS},
    /* A non-ASCII name (Greek small letter lambda, U+03BB). */
    {"model.layers.0.self_attn.\xce\xbb", ST_F32, 1, {1, 0}, FILL_ONES},
};
#define NSPECS (sizeof g_specs / sizeof g_specs[0])

static const char *const g_metadata[][2] = {
    {"format", "pt"},
    {"model_type", "llama"},
    {"hidden_size", "16"},
    {"num_hidden_layers", "1"},
    {"generator", "libsafetensors make-sample"},
};
#define NMETA (sizeof g_metadata / sizeof g_metadata[0])

/* ---------------------------------------------------------------- values */

static uint32_t g_rng = 0x9E3779B9u; /* fixed seed: same bytes every run */

static uint32_t rng_next(void)
{
    /* xorshift32 */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* Uniform in [-0.125, 0.125). */
static float rng_weight(void)
{
    return ((float)(rng_next() >> 8) / 16777216.0f - 0.5f) * 0.25f;
}

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static uint16_t f32_to_bf16(float x)
{
    uint32_t u = f32_bits(x);
    /* round to nearest even; the sample holds no NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static uint16_t f32_to_f16(float x)
{
    uint32_t u = f32_bits(x);
    uint32_t sign = (u >> 16) & 0x8000u;
    int exp = (int)((u >> 23) & 0xFFu) - 127 + 15;
    uint32_t mant = u & 0x7FFFFFu, h;
    if (exp <= 0) return (uint16_t)sign; /* tiny: flush to signed zero */
    if (exp >= 31) return (uint16_t)(sign | 0x7C00u);
    h = ((uint32_t)exp << 10) | (mant >> 13);
    if ((mant & 0x1FFFu) > 0x1000u || ((mant & 0x1FFFu) == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

static void put_le(unsigned char *p, uint64_t v, unsigned nbytes)
{
    unsigned i;
    for (i = 0; i < nbytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t spec_numel(const spec *s)
{
    uint64_t n = 1;
    uint32_t d;
    for (d = 0; d < s->rank; d++) n *= s->shape[d];
    return n;
}

static uint64_t spec_nbytes(const spec *s)
{
    return spec_numel(s) * st_dtype_bits(s->dtype) / 8;
}

static void fill(const spec *s, unsigned char *p)
{
    uint64_t n = spec_numel(s), i;
    unsigned w = st_dtype_bits(s->dtype) / 8;
    double rope = 1.0;
    for (i = 0; i < n; i++, p += w) {
        float x;
        switch (s->fill) {
        case FILL_ONES: x = 1.0f; break;
        case FILL_ROPE: /* 1 / 10000^(2i/d) for head size d = 8: 0.1^i */
            x = (float)rope;
            rope /= 10.0;
            break;
        case FILL_POSITIONS: put_le(p, i, w); continue;
        case FILL_BYTES: put_le(p, (i * 37u + 11u) & 0xFFu, w); continue;
        case FILL_STEP: put_le(p, 1000, w); continue;
        default: x = rng_weight(); break;
        }
        if (s->dtype == ST_F32) put_le(p, f32_bits(x), 4);
        else if (s->dtype == ST_BF16) put_le(p, f32_to_bf16(x), 2);
        else put_le(p, f32_to_f16(x), 2);
    }
}

/* ---------------------------------------------------------------- header */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->cap - b->len < n + 1) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        char *np = (char *)realloc(b->p, cap);
        if (!np) return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
    return 0;
}

/* Layout order: larger dtypes first, then by name (byte order), as the
 * reference writer does so that every tensor stays aligned. */
static int by_layout(const void *a, const void *b)
{
    const spec *x = *(const spec *const *)a, *y = *(const spec *const *)b;
    unsigned bx = st_dtype_bits(x->dtype), by = st_dtype_bits(y->dtype);
    if (bx != by) return bx > by ? -1 : 1;
    return strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    const spec *order[NSPECS];
    uint64_t offsets[NSPECS + 1];
    buf h = {NULL, 0, 0};
    char tmp[512];
    unsigned char *data = NULL, prefix[8];
    size_t i, data_size;
    int ok = 1;
    FILE *fp;
    st_file *f = NULL;
    st_error err;

    if (argc != 2 || argv[1][0] == '\0') {
        fprintf(stderr, "usage: make-sample OUT\n");
        return 2;
    }

    for (i = 0; i < NSPECS; i++) order[i] = &g_specs[i];
    qsort(order, NSPECS, sizeof order[0], by_layout);
    offsets[0] = 0;
    for (i = 0; i < NSPECS; i++) offsets[i + 1] = offsets[i] + spec_nbytes(order[i]);
    data_size = (size_t)offsets[NSPECS];

    /* Header: names and values here need no JSON escaping. */
    ok &= buf_add(&h, "{\"__metadata__\":{") == 0;
    for (i = 0; i < NMETA; i++) {
        sprintf(tmp, "%s\"%s\":\"%s\"", i ? "," : "", g_metadata[i][0], g_metadata[i][1]);
        ok &= buf_add(&h, tmp) == 0;
    }
    ok &= buf_add(&h, "}") == 0;
    for (i = 0; i < NSPECS; i++) {
        const spec *s = order[i];
        uint32_t d;
        sprintf(tmp, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", s->name,
                st_dtype_name(s->dtype));
        ok &= buf_add(&h, tmp) == 0;
        for (d = 0; d < s->rank; d++) {
            sprintf(tmp, d ? ",%llu" : "%llu", (unsigned long long)s->shape[d]);
            ok &= buf_add(&h, tmp) == 0;
        }
        sprintf(tmp, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offsets[i],
                (unsigned long long)offsets[i + 1]);
        ok &= buf_add(&h, tmp) == 0;
    }
    ok &= buf_add(&h, "}") == 0;
    while (ok && (8 + h.len) % 8 != 0) ok &= buf_add(&h, " ") == 0;

    data = (unsigned char *)calloc(data_size ? data_size : 1, 1);
    if (!ok || !data) {
        fprintf(stderr, "make-sample: out of memory\n");
        free(h.p);
        free(data);
        return 1;
    }
    for (i = 0; i < NSPECS; i++) fill(order[i], data + offsets[i]);
    put_le(prefix, h.len, 8);

    fp = fopen(argv[1], "wb");
    if (!fp) {
        fprintf(stderr, "make-sample: %s: %s\n", argv[1], strerror(errno));
        free(h.p);
        free(data);
        return 1;
    }
    ok = fwrite(prefix, 1, 8, fp) == 8 && fwrite(h.p, 1, h.len, fp) == h.len &&
         (data_size == 0 || fwrite(data, 1, data_size, fp) == data_size);
    if (fclose(fp) != 0) ok = 0;
    free(h.p);
    free(data);
    if (!ok) {
        fprintf(stderr, "make-sample: %s: write failed: %s\n", argv[1], strerror(errno));
        remove(argv[1]);
        return 1;
    }

    /* Check what was written with the library itself. */
    if (st_open_path(&f, argv[1], NULL, &err) != ST_OK) {
        fprintf(stderr, "make-sample: %s: the written file does not validate: %s\n",
                argv[1], err.message);
        return 1;
    }
    printf("make-sample: wrote %s: %llu tensors, %llu bytes\n", argv[1],
           (unsigned long long)st_tensor_count(f), (unsigned long long)st_file_size(f));
    st_close(f);
    return 0;
}
