/* Benchmark input writer (see gen.h). Follows gen_safetensors.py step for
 * step: names, CRC32-driven dtype mix, hidden size and vocabulary search,
 * reference serializer order, compact JSON padded with spaces. */
#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const gen_dtype gen_dtypes[GEN_NDTYPES] = {
    {"BF16", 16, 14, 50}, {"F16", 16, 13, 15}, {"F32", 32, 17, 5},
    {"I64", 64, 20, 5},   {"U8", 8, 4, 10},    {"F8_E4M3", 8, 7, 15},
};

#define GEN_VOCAB 32000u
#define GEN_HEAD_DIM 128u
#define GEN_BLOCK ((size_t)1 << 20) /* data fill period, a multiple of every element size */

enum { K_NORM, K_DOWN, K_GATE_UP, K_KV, K_O, K_Q, K_EMBED, K_LM_HEAD };

static const struct {
    const char *suffix;
    int kind;
} layer_template[9] = {
    {"input_layernorm.weight", K_NORM},
    {"mlp.down_proj.weight", K_DOWN},
    {"mlp.gate_proj.weight", K_GATE_UP},
    {"mlp.up_proj.weight", K_GATE_UP},
    {"post_attention_layernorm.weight", K_NORM},
    {"self_attn.k_proj.weight", K_KV},
    {"self_attn.o_proj.weight", K_O},
    {"self_attn.q_proj.weight", K_Q},
    {"self_attn.v_proj.weight", K_KV},
};

/* ------------------------------------------------------------ crc32 (zlib's) */

static uint32_t crc_table[256];

static void crc_init(void)
{
    uint32_t i, k, c;
    if (crc_table[1]) return;
    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_of(const char *s, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < n; i++) c = crc_table[(c ^ (unsigned char)s[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ------------------------------------------------------------ shapes */

static void real_shape(int kind, uint64_t hidden, uint64_t vocab, unsigned *rank, uint64_t shape[2])
{
    /* Python: max(256, int(round(hidden * 8 / 3 / 256.0)) * 256); round() is
     * ties-to-even, as rint() in the default rounding mode. */
    uint64_t inter = (uint64_t)rint((double)(hidden * 8) / 3.0 / 256.0) * 256;
    uint64_t kv = (hidden / 4) / GEN_HEAD_DIM * GEN_HEAD_DIM;
    if (inter < 256) inter = 256;
    if (kv < GEN_HEAD_DIM) kv = GEN_HEAD_DIM;
    *rank = 2;
    switch (kind) {
    case K_NORM: *rank = 1; shape[0] = hidden; shape[1] = 0; break;
    case K_DOWN: shape[0] = hidden; shape[1] = inter; break;
    case K_GATE_UP: shape[0] = inter; shape[1] = hidden; break;
    case K_KV: shape[0] = kv; shape[1] = hidden; break;
    case K_O: case K_Q: shape[0] = hidden; shape[1] = hidden; break;
    default: shape[0] = vocab; shape[1] = hidden; break; /* embed, lm_head */
    }
}

static uint64_t nbytes_of(unsigned rank, const uint64_t shape[2], int dtype)
{
    uint64_t numel = 1;
    unsigned i;
    for (i = 0; i < rank; i++) numel *= shape[i];
    return numel * gen_dtypes[dtype].bits / 8;
}

static uint64_t total_of(const int *kinds, const int *dtypes, size_t n, uint64_t hidden, uint64_t vocab)
{
    uint64_t sum = 0, shape[2];
    unsigned rank;
    size_t i;
    for (i = 0; i < n; i++) {
        real_shape(kinds[i], hidden, vocab, &rank, shape);
        sum += nbytes_of(rank, shape, dtypes[i]);
    }
    return sum;
}

/* ------------------------------------------------------------ header text */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t more)
{
    if (b->cap - b->len < more) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;
        while (cap - b->len < more) cap *= 2;
        np = (char *)realloc(b->p, cap);
        if (!np) return -1;
        b->p = np;
        b->cap = cap;
    }
    return 0;
}

static int buf_put(buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n)) return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int buf_str(buf *b, const char *s) { return buf_put(b, s, strlen(s)); }

static int buf_u64(buf *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    char out[24];
    int i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return buf_put(b, out, (size_t)n);
}

/* ------------------------------------------------------------ model */

static int cmp_file_order(const void *a, const void *b)
{
    const gen_tensor *x = (const gen_tensor *)a, *y = (const gen_tensor *)b;
    int rx = gen_dtypes[x->dtype].rank, ry = gen_dtypes[y->dtype].rank;
    if (rx != ry) return rx > ry ? -1 : 1; /* rank descending */
    return strcmp(x->name, y->name);       /* then name, byte-wise */
}

void gen_model_free(gen_model *m)
{
    free(m->t);
    free(m->names);
    free(m->header);
    memset(m, 0, sizeof *m);
}

int gen_model_build(gen_model *m, size_t n, uint64_t budget, unsigned nmeta)
{
    size_t body = n > 3 ? n - 3 : 0, i, pool_len = 0, pos = 0;
    int *kinds = NULL, *dtypes = NULL;
    int total_w = 0, forced = 0, d;
    uint64_t lo, hi, base, row, off;
    unsigned rank;
    uint64_t shape[2];
    buf h = {NULL, 0, 0};
    char name[96];

    memset(m, 0, sizeof *m);
    crc_init();
    m->n = n;
    m->t = (gen_tensor *)calloc(n ? n : 1, sizeof *m->t);
    kinds = (int *)calloc(n ? n : 1, sizeof *kinds);
    dtypes = (int *)calloc(n ? n : 1, sizeof *dtypes);
    m->names = (char *)malloc(n * 64 + 64); /* names are at most 51 bytes with the NUL */
    if (!m->t || !kinds || !dtypes || !m->names) goto nomem;

    /* names: embed, body (layers x template, cut), norm, lm_head; cut to n */
    for (i = 0; i < n; i++) {
        size_t len;
        if (i == 0) {
            strcpy(name, "model.embed_tokens.weight");
            kinds[i] = K_EMBED;
        } else if (i - 1 < body) {
            size_t j = i - 1;
            snprintf(name, sizeof name, "model.layers.%zu.%s", j / 9, layer_template[j % 9].suffix);
            kinds[i] = layer_template[j % 9].kind;
        } else if (i - 1 == body) {
            strcpy(name, "model.norm.weight");
            kinds[i] = K_NORM;
        } else {
            strcpy(name, "lm_head.weight");
            kinds[i] = K_LM_HEAD;
        }
        len = strlen(name);
        memcpy(m->names + pool_len, name, len + 1);
        m->t[i].name_len = len;
        m->t[i].name = m->names + pool_len;
        pool_len += len + 1;
    }

    /* dtypes: norms F32; the first matrices cycle through the mix; then CRC32 */
    for (d = 0; d < GEN_NDTYPES; d++) total_w += gen_dtypes[d].weight;
    for (i = 0; i < n; i++) {
        if (kinds[i] == K_NORM) {
            dtypes[i] = GEN_F32;
        } else if (forced < GEN_NDTYPES) {
            dtypes[i] = forced++;
        } else {
            uint32_t r = crc32_of(m->t[i].name, m->t[i].name_len) % (uint32_t)total_w;
            uint32_t acc = 0;
            for (d = 0; d < GEN_NDTYPES; d++) {
                acc += (uint32_t)gen_dtypes[d].weight;
                if (r < acc) break;
            }
            dtypes[i] = d;
        }
        m->t[i].dtype = dtypes[i];
    }

    /* hidden: largest multiple of 128 whose total stays within budget */
    if (total_of(kinds, dtypes, n, 128, GEN_VOCAB) > budget) {
        fprintf(stderr, "gen: budget %llu too small for %zu tensors\n", (unsigned long long)budget, n);
        goto fail;
    }
    lo = 1;
    hi = 1;
    while (total_of(kinds, dtypes, n, hi * 128 * 2, GEN_VOCAB) <= budget && hi < ((uint64_t)1 << 20)) hi *= 2;
    hi *= 2;
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        if (total_of(kinds, dtypes, n, mid * 128, GEN_VOCAB) <= budget) lo = mid;
        else hi = mid;
    }
    m->hidden = lo * 128;
    /* vocabulary grown in steps of 64 toward the budget */
    base = total_of(kinds, dtypes, n, m->hidden, GEN_VOCAB);
    row = 0;
    for (i = 0; i < n; i++)
        if (kinds[i] == K_EMBED || kinds[i] == K_LM_HEAD) row += m->hidden * gen_dtypes[dtypes[i]].bits / 8;
    m->vocab = row ? GEN_VOCAB + (budget - base) / row / 64 * 64 : GEN_VOCAB;

    for (i = 0; i < n; i++) {
        real_shape(kinds[i], m->hidden, m->vocab, &rank, shape);
        m->t[i].rank = rank;
        m->t[i].shape[0] = shape[0];
        m->t[i].shape[1] = shape[1];
    }
    qsort(m->t, n, sizeof *m->t, cmp_file_order);
    off = 0;
    for (i = 0; i < n; i++) {
        m->t[i].begin = off;
        off += nbytes_of(m->t[i].rank, m->t[i].shape, m->t[i].dtype);
        m->t[i].end = off;
    }
    m->data_size = off;

    /* header: __metadata__ first (keys sorted), then entries in file order */
    if (buf_str(&h, "{")) goto nomem;
    if (nmeta > 0) {
        unsigned j;
        if (buf_str(&h, "\"__metadata__\":{\"format\":\"pt\"")) goto nomem;
        for (j = 1; j < nmeta; j++) {
            snprintf(name, sizeof name, ",\"key_%06u\":\"value_%06u\"", j, j);
            if (buf_str(&h, name)) goto nomem;
        }
        if (buf_str(&h, "}")) goto nomem;
        pos++;
    }
    for (i = 0; i < n; i++, pos++) {
        const gen_tensor *t = &m->t[i];
        unsigned k;
        if (pos && buf_str(&h, ",")) goto nomem;
        if (buf_str(&h, "\"") || buf_put(&h, t->name, t->name_len) || buf_str(&h, "\":{\"dtype\":\"") ||
            buf_str(&h, gen_dtypes[t->dtype].name) || buf_str(&h, "\",\"shape\":["))
            goto nomem;
        for (k = 0; k < t->rank; k++)
            if ((k && buf_str(&h, ",")) || buf_u64(&h, t->shape[k])) goto nomem;
        if (buf_str(&h, "],\"data_offsets\":[") || buf_u64(&h, t->begin) || buf_str(&h, ",") ||
            buf_u64(&h, t->end) || buf_str(&h, "]}"))
            goto nomem;
    }
    if (buf_str(&h, "}")) goto nomem;
    while (h.len % 8)
        if (buf_str(&h, " ")) goto nomem;
    m->header = h.p;
    m->header_len = h.len;
    m->file_size = 8 + m->header_len + m->data_size;
    free(kinds);
    free(dtypes);
    return 0;
nomem:
    fprintf(stderr, "gen: out of memory\n");
fail:
    free(h.p);
    free(kinds);
    free(dtypes);
    gen_model_free(m);
    return -1;
}

/* ------------------------------------------------------------ data */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* approximately N(0, 1): sum of 4 uniforms, rescaled */
static float rng_normal(uint64_t *s)
{
    double u = 0;
    int i;
    for (i = 0; i < 4; i++) u += (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)((u - 2.0) * 1.7320508075688772);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint16_t to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

static uint16_t to_f16(float f)
{
    uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000u;
    float a = fabsf(f);
    if (a >= 65520.0f) return (uint16_t)(sign | 0x7C00u);
    if (a < 6.103515625e-05f) /* subnormal: multiples of 2^-24 */
        return (uint16_t)(sign | (uint32_t)lrintf(a * 16777216.0f));
    {
        uint32_t au = u & 0x7FFFFFFFu;
        uint32_t r = au + 0xFFFu + ((au >> 13) & 1u);
        return (uint16_t)(sign | ((r >> 13) - (112u << 10)));
    }
}

static float e4m3_value(unsigned code) /* code 0..0x7E, positive */
{
    unsigned e = code >> 3, m = code & 7;
    if (e == 0) return ldexpf((float)m / 8.0f, -6);
    return ldexpf(1.0f + (float)m / 8.0f, (int)e - 7);
}

static uint8_t to_e4m3(float f)
{
    unsigned lo = 0, hi = 0x7E;
    float a = fabsf(f);
    uint8_t sign = f < 0 ? 0x80 : 0;
    if (a >= 448.0f) return (uint8_t)(sign | 0x7E);
    while (hi - lo > 1) { /* e4m3_value is increasing in code */
        unsigned mid = (lo + hi) / 2;
        if (e4m3_value(mid) <= a) lo = mid;
        else hi = mid;
    }
    if (a - e4m3_value(lo) > e4m3_value(hi) - a) lo = hi;
    return (uint8_t)(sign | lo);
}

void gen_fill(int dtype, unsigned char *b, size_t len, uint64_t seed)
{
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)dtype + 1;
    size_t i;
    switch (dtype) {
    case GEN_BF16:
        for (i = 0; i + 2 <= len; i += 2) {
            uint16_t v = to_bf16(0.02f * rng_normal(&s));
            b[i] = (unsigned char)v;
            b[i + 1] = (unsigned char)(v >> 8);
        }
        break;
    case GEN_F16:
        for (i = 0; i + 2 <= len; i += 2) {
            uint16_t v = to_f16(0.02f * rng_normal(&s));
            b[i] = (unsigned char)v;
            b[i + 1] = (unsigned char)(v >> 8);
        }
        break;
    case GEN_F32:
        for (i = 0; i + 4 <= len; i += 4) {
            uint32_t v = f32_bits(1.0f + 0.05f * rng_normal(&s)); /* norm weights sit near 1 */
            b[i] = (unsigned char)v;
            b[i + 1] = (unsigned char)(v >> 8);
            b[i + 2] = (unsigned char)(v >> 16);
            b[i + 3] = (unsigned char)(v >> 24);
        }
        break;
    case GEN_F8_E4M3:
        for (i = 0; i < len; i++) b[i] = to_e4m3(64.0f * rng_normal(&s));
        break;
    case GEN_I64:
        for (i = 0; i + 8 <= len; i += 8) {
            uint64_t v = rng_next(&s) % 65536;
            unsigned k;
            for (k = 0; k < 8; k++) b[i + k] = (unsigned char)(v >> (8 * k));
        }
        break;
    default:
        for (i = 0; i < len; i++) b[i] = (unsigned char)(rng_next(&s) >> 56);
        break;
    }
    for (; i < len; i++) b[i] = 0;
}

/* ------------------------------------------------------------ files */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = (const char *)p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static unsigned char *fill_blocks[GEN_NDTYPES];

static const unsigned char *block_of(int dtype)
{
    if (!fill_blocks[dtype]) {
        fill_blocks[dtype] = (unsigned char *)malloc(GEN_BLOCK);
        if (fill_blocks[dtype]) gen_fill(dtype, fill_blocks[dtype], GEN_BLOCK, 1);
    }
    return fill_blocks[dtype];
}

static void prefix_of(const gen_model *m, unsigned char p[8])
{
    int k;
    for (k = 0; k < 8; k++) p[k] = (unsigned char)((uint64_t)m->header_len >> (8 * k));
}

int gen_write_file(const gen_model *m, const char *path, int fill)
{
    char tmp[4096];
    unsigned char prefix[8];
    int fd;
    size_t i;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "gen: cannot create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    prefix_of(m, prefix);
    if (write_all(fd, prefix, 8) || write_all(fd, m->header, m->header_len)) goto io;
    if (fill) {
        for (i = 0; i < m->n; i++) {
            const unsigned char *blk = block_of(m->t[i].dtype);
            uint64_t left = m->t[i].end - m->t[i].begin;
            if (!blk) goto io;
            while (left) {
                size_t c = left < GEN_BLOCK ? (size_t)left : GEN_BLOCK;
                if (write_all(fd, blk, c)) goto io;
                left -= c;
            }
        }
    } else if (ftruncate(fd, (off_t)m->file_size)) {
        goto io;
    }
    if (close(fd)) {
        fd = -1;
        goto io;
    }
    if (rename(tmp, path)) {
        fprintf(stderr, "gen: cannot rename %s: %s\n", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
io:
    fprintf(stderr, "gen: cannot write %s: %s\n", tmp, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    return -1;
}

int gen_file_matches(const gen_model *m, const char *path)
{
    unsigned char prefix[8], got[8], sample[4096];
    char *hdr = NULL;
    int fd, ok = 0;
    off_t end;
    size_t i;
    fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    end = lseek(fd, 0, SEEK_END);
    if (end < 0 || (uint64_t)end != m->file_size) goto out;
    prefix_of(m, prefix);
    hdr = (char *)malloc(m->header_len ? m->header_len : 1);
    if (!hdr || pread(fd, got, 8, 0) != 8 || memcmp(got, prefix, 8)) goto out;
    if (pread(fd, hdr, m->header_len, 8) != (ssize_t)m->header_len || memcmp(hdr, m->header, m->header_len))
        goto out;
    /* the first and last bytes of every tensor (data = the dtype's block repeated) */
    for (i = 0; i < m->n; i++) {
        const unsigned char *blk = block_of(m->t[i].dtype);
        uint64_t nb = m->t[i].end - m->t[i].begin, at;
        size_t c = nb < sizeof sample ? (size_t)nb : sizeof sample;
        if (!blk) goto out;
        at = 8 + m->header_len + m->t[i].begin;
        if (c && (pread(fd, sample, c, (off_t)at) != (ssize_t)c || memcmp(sample, blk, c))) goto out;
        if (nb > c) {
            uint64_t k = nb - c; /* offset in the tensor of the last sample */
            size_t bo = (size_t)(k % GEN_BLOCK);
            if (bo + c > GEN_BLOCK) continue; /* sample straddles a block period: skip */
            if (pread(fd, sample, c, (off_t)(at + k)) != (ssize_t)c || memcmp(sample, blk + bo, c)) goto out;
        }
    }
    ok = 1;
out:
    free(hdr);
    close(fd);
    return ok;
}

/* ------------------------------------------------------------ sparse files */

int gen_write_sparse(const char *path, const char *header, size_t len, uint64_t file_size)
{
    char tmp[4096];
    unsigned char prefix[8];
    int fd, k;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "gen: cannot create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    for (k = 0; k < 8; k++) prefix[k] = (unsigned char)((uint64_t)len >> (8 * k));
    /* fsync: so that no write-back of these pages runs under the measurements */
    if (write_all(fd, prefix, 8) || write_all(fd, header, len) || ftruncate(fd, (off_t)file_size) ||
        fsync(fd)) {
        fprintf(stderr, "gen: cannot write %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) || rename(tmp, path)) {
        fprintf(stderr, "gen: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int gen_sparse_matches(const char *path, const char *header, size_t len, uint64_t file_size)
{
    unsigned char prefix[8], got[8];
    char *hdr;
    int fd, ok = 0, k;
    off_t end;
    fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    end = lseek(fd, 0, SEEK_END);
    hdr = (char *)malloc(len ? len : 1);
    for (k = 0; k < 8; k++) prefix[k] = (unsigned char)((uint64_t)len >> (8 * k));
    if (hdr && end >= 0 && (uint64_t)end == file_size && pread(fd, got, 8, 0) == 8 && !memcmp(got, prefix, 8) &&
        pread(fd, hdr, len, 8) == (ssize_t)len && !memcmp(hdr, header, len))
        ok = 1;
    free(hdr);
    close(fd);
    return ok;
}

/* ------------------------------------------------------------ sharded model (DeepSeek-V3) */

#define DS_HIDDEN 7168u
#define DS_VOCAB 129280u
#define DS_INTER 18432u     /* dense MLP */
#define DS_MOE_INTER 2048u  /* one expert */
#define DS_EXPERTS 256u
#define DS_LAYERS 61u       /* decoder layers 0..60; layer 61 is the MTP layer */
#define DS_DENSE 3u         /* first_k_dense_replace */
#define DS_Q_LORA 1536u
#define DS_KV_LORA 512u
#define DS_ROPE 64u
#define DS_NOPE 128u
#define DS_V 128u
#define DS_HEADS 128u
#define DS_BLOCK 128u       /* weight_scale_inv: one F32 per 128 x 128 block */

typedef struct ds_list {
    gen_tensor *t;
    size_t n, cap;
    buf pool; /* names; until the pool is final, gen_tensor.begin holds the name's offset */
} ds_list;

static int ds_add(ds_list *l, const char *name, int dtype, unsigned rank, uint64_t d0, uint64_t d1)
{
    gen_tensor *t;
    size_t len = strlen(name);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        gen_tensor *nt = (gen_tensor *)realloc(l->t, cap * sizeof *nt);
        if (!nt) return -1;
        l->t = nt;
        l->cap = cap;
    }
    t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    t->begin = l->pool.len;
    t->name_len = len;
    t->dtype = dtype;
    t->rank = rank;
    t->shape[0] = d0;
    t->shape[1] = d1;
    return buf_put(&l->pool, name, len + 1);
}

/* A quantized linear layer: the F8_E4M3 weight and its F32 block scales. */
static int ds_linear(ds_list *l, const char *prefix, uint64_t out, uint64_t in)
{
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (ds_add(l, name, GEN_F8_E4M3, 2, out, in)) return -1;
    snprintf(name, sizeof name, "%s.weight_scale_inv", prefix);
    return ds_add(l, name, GEN_F32, 2, (out + DS_BLOCK - 1) / DS_BLOCK, (in + DS_BLOCK - 1) / DS_BLOCK);
}

static int ds_layer(ds_list *l, unsigned li)
{
    char p[64], q[128];
    unsigned e;
    int r = 0;
    static const char *const proj[3] = {"gate_proj", "up_proj", "down_proj"};
    snprintf(p, sizeof p, "model.layers.%u.self_attn.", li);
#define DS_NAME(suffix) (snprintf(q, sizeof q, "%s%s", p, suffix), q)
    r |= ds_linear(l, DS_NAME("q_a_proj"), DS_Q_LORA, DS_HIDDEN);
    r |= ds_add(l, DS_NAME("q_a_layernorm.weight"), GEN_BF16, 1, DS_Q_LORA, 0);
    r |= ds_linear(l, DS_NAME("q_b_proj"), DS_HEADS * (DS_NOPE + DS_ROPE), DS_Q_LORA);
    r |= ds_linear(l, DS_NAME("kv_a_proj_with_mqa"), DS_KV_LORA + DS_ROPE, DS_HIDDEN);
    r |= ds_add(l, DS_NAME("kv_a_layernorm.weight"), GEN_BF16, 1, DS_KV_LORA, 0);
    r |= ds_linear(l, DS_NAME("kv_b_proj"), DS_HEADS * (DS_NOPE + DS_V), DS_KV_LORA);
    r |= ds_linear(l, DS_NAME("o_proj"), DS_HIDDEN, DS_HEADS * DS_V);
    snprintf(p, sizeof p, "model.layers.%u.mlp.", li);
    if (li < DS_DENSE) {
        for (e = 0; e < 3; e++)
            r |= ds_linear(l, DS_NAME(proj[e]), e == 2 ? DS_HIDDEN : DS_INTER, e == 2 ? DS_INTER : DS_HIDDEN);
    } else {
        unsigned k;
        r |= ds_add(l, DS_NAME("gate.weight"), GEN_BF16, 2, DS_EXPERTS, DS_HIDDEN);
        r |= ds_add(l, DS_NAME("gate.e_score_correction_bias"), GEN_F32, 1, DS_EXPERTS, 0);
        for (e = 0; e <= DS_EXPERTS; e++) /* the routed experts, then the shared one */
            for (k = 0; k < 3; k++) {
                if (e < DS_EXPERTS) snprintf(q, sizeof q, "%sexperts.%u.%s", p, e, proj[k]);
                else snprintf(q, sizeof q, "%sshared_experts.%s", p, proj[k]);
                r |= ds_linear(l, q, k == 2 ? DS_HIDDEN : DS_MOE_INTER, k == 2 ? DS_MOE_INTER : DS_HIDDEN);
            }
    }
    snprintf(p, sizeof p, "model.layers.%u.", li);
    r |= ds_add(l, DS_NAME("input_layernorm.weight"), GEN_BF16, 1, DS_HIDDEN, 0);
    r |= ds_add(l, DS_NAME("post_attention_layernorm.weight"), GEN_BF16, 1, DS_HIDDEN, 0);
    if (li == DS_LAYERS) { /* the multi-token prediction layer's own modules */
        r |= ds_add(l, DS_NAME("embed_tokens.weight"), GEN_BF16, 2, DS_VOCAB, DS_HIDDEN);
        r |= ds_add(l, DS_NAME("enorm.weight"), GEN_BF16, 1, DS_HIDDEN, 0);
        r |= ds_add(l, DS_NAME("hnorm.weight"), GEN_BF16, 1, DS_HIDDEN, 0);
        r |= ds_add(l, DS_NAME("eh_proj.weight"), GEN_BF16, 2, DS_HIDDEN, 2 * DS_HIDDEN);
        r |= ds_add(l, DS_NAME("shared_head.head.weight"), GEN_BF16, 2, DS_VOCAB, DS_HIDDEN);
        r |= ds_add(l, DS_NAME("shared_head.norm.weight"), GEN_BF16, 1, DS_HIDDEN, 0);
    }
#undef DS_NAME
    return r ? -1 : 0;
}

void gen_shard_name(char *out, size_t outlen, size_t s, size_t n)
{
    snprintf(out, outlen, "model-%05zu-of-%06zu.safetensors", s + 1, n);
}

void gen_sharded_free(gen_sharded *s)
{
    size_t i;
    if (s->header)
        for (i = 0; i < s->nshards; i++) free(s->header[i]);
    free(s->header);
    free(s->header_len);
    free(s->file_size);
    free(s->first);
    free(s->t);
    free(s->names);
    free(s->index);
    memset(s, 0, sizeof *s);
}

static int cmp_tensor_ptr_name(const void *a, const void *b)
{
    const gen_tensor *x = *(const gen_tensor *const *)a, *y = *(const gen_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int put_entry(buf *h, const gen_tensor *t)
{
    unsigned k;
    if (buf_str(h, "\"") || buf_put(h, t->name, t->name_len) || buf_str(h, "\":{\"dtype\":\"") ||
        buf_str(h, gen_dtypes[t->dtype].name) || buf_str(h, "\",\"shape\":["))
        return -1;
    for (k = 0; k < t->rank; k++)
        if ((k && buf_str(h, ",")) || buf_u64(h, t->shape[k])) return -1;
    if (buf_str(h, "],\"data_offsets\":[") || buf_u64(h, t->begin) || buf_str(h, ",") || buf_u64(h, t->end) ||
        buf_str(h, "]}"))
        return -1;
    return 0;
}

int gen_sharded_build(gen_sharded *s)
{
    ds_list l;
    size_t i, sh, *shard_of = NULL;
    uint64_t total = 0, at = 0;
    unsigned li;
    const gen_tensor **byname = NULL;
    buf h = {NULL, 0, 0};
    char fname[64];
    int r = 0;

    memset(s, 0, sizeof *s);
    memset(&l, 0, sizeof l);
    /* model order, as the checkpoint's shards are filled */
    r |= ds_add(&l, "model.embed_tokens.weight", GEN_BF16, 2, DS_VOCAB, DS_HIDDEN);
    for (li = 0; li < DS_LAYERS && !r; li++) r |= ds_layer(&l, li);
    r |= ds_add(&l, "model.norm.weight", GEN_BF16, 1, DS_HIDDEN, 0);
    r |= ds_add(&l, "lm_head.weight", GEN_BF16, 2, DS_VOCAB, DS_HIDDEN);
    if (!r) r |= ds_layer(&l, DS_LAYERS);
    if (r) goto nomem;
    s->n = l.n;
    s->t = l.t;
    s->names = l.pool.p;
    for (i = 0; i < s->n; i++) s->t[i].name = s->names + s->t[i].begin;
    for (i = 0; i < s->n; i++) total += nbytes_of(s->t[i].rank, s->t[i].shape, s->t[i].dtype);
    s->total_size = total;

    /* shard of a tensor: where its first byte falls when the data is cut in
     * GEN_DSV3_SHARDS equal parts (no tensor is larger than a part, so none is empty) */
    s->nshards = GEN_DSV3_SHARDS;
    s->first = (size_t *)calloc(s->nshards + 1, sizeof *s->first);
    s->header = (char **)calloc(s->nshards, sizeof *s->header);
    s->header_len = (size_t *)calloc(s->nshards, sizeof *s->header_len);
    s->file_size = (uint64_t *)calloc(s->nshards, sizeof *s->file_size);
    shard_of = (size_t *)malloc(s->n * sizeof *shard_of);
    byname = (const gen_tensor **)malloc(s->n * sizeof *byname);
    if (!s->first || !s->header || !s->header_len || !s->file_size || !shard_of || !byname) goto nomem;
    sh = 0;
    for (i = 0; i < s->n; i++) {
        size_t want = (size_t)(at * s->nshards / total);
        while (sh < want) s->first[++sh] = i;
        at += nbytes_of(s->t[i].rank, s->t[i].shape, s->t[i].dtype);
    }
    while (sh < s->nshards) s->first[++sh] = s->n;

    for (sh = 0; sh < s->nshards; sh++) {
        gen_tensor *t = s->t + s->first[sh];
        size_t cnt = s->first[sh + 1] - s->first[sh];
        uint64_t off = 0;
        if (!cnt) {
            fprintf(stderr, "gen: shard %zu is empty\n", sh + 1);
            goto fail;
        }
        qsort(t, cnt, sizeof *t, cmp_file_order);
        for (i = 0; i < cnt; i++) {
            t[i].begin = off;
            off += nbytes_of(t[i].rank, t[i].shape, t[i].dtype);
            t[i].end = off;
            shard_of[s->first[sh] + i] = sh;
        }
        h.len = 0;
        if (buf_str(&h, "{\"__metadata__\":{\"format\":\"pt\"}")) goto nomem;
        for (i = 0; i < cnt; i++)
            if (buf_str(&h, ",") || put_entry(&h, &t[i])) goto nomem;
        if (buf_str(&h, "}")) goto nomem;
        while (h.len % 8)
            if (buf_str(&h, " ")) goto nomem;
        s->header[sh] = (char *)malloc(h.len);
        if (!s->header[sh]) goto nomem;
        memcpy(s->header[sh], h.p, h.len);
        s->header_len[sh] = h.len;
        s->headers_total += h.len;
        s->file_size[sh] = 8 + h.len + off;
    }

    /* the index: json.dumps(index, indent=2, sort_keys=True) + "\n" */
    for (i = 0; i < s->n; i++) byname[i] = &s->t[i];
    qsort(byname, s->n, sizeof *byname, cmp_tensor_ptr_name);
    h.len = 0;
    if (buf_str(&h, "{\n  \"metadata\": {\n    \"total_size\": ") || buf_u64(&h, total) ||
        buf_str(&h, "\n  },\n  \"weight_map\": {\n"))
        goto nomem;
    for (i = 0; i < s->n; i++) {
        gen_shard_name(fname, sizeof fname, shard_of[byname[i] - s->t], s->nshards);
        if (buf_str(&h, "    \"") || buf_put(&h, byname[i]->name, byname[i]->name_len) || buf_str(&h, "\": \"") ||
            buf_str(&h, fname) || buf_str(&h, i + 1 < s->n ? "\",\n" : "\"\n"))
            goto nomem;
    }
    if (buf_str(&h, "  }\n}\n")) goto nomem;
    s->index = h.p;
    s->index_len = h.len;
    free(shard_of);
    free(byname);
    return 0;
nomem:
    fprintf(stderr, "gen: out of memory\n");
fail:
    if (!s->t) {
        free(l.t);
        free(l.pool.p);
    }
    free(h.p);
    free(shard_of);
    free(byname);
    gen_sharded_free(s);
    return -1;
}

static int file_equals(const char *path, const char *text, size_t len)
{
    char *got;
    int fd = open(path, O_RDONLY), ok = 0;
    off_t end;
    if (fd < 0) return 0;
    end = lseek(fd, 0, SEEK_END);
    got = (char *)malloc(len ? len : 1);
    if (got && end >= 0 && (uint64_t)end == len && pread(fd, got, len, 0) == (ssize_t)len &&
        !memcmp(got, text, len))
        ok = 1;
    free(got);
    close(fd);
    return ok;
}

int gen_sharded_write(const gen_sharded *s, const char *dir, unsigned *written)
{
    char path[4096], fname[64], tmp[4200];
    size_t sh;
    int fd;
    *written = 0;
    if (mkdir(dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "gen: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (sh = 0; sh < s->nshards; sh++) {
        gen_shard_name(fname, sizeof fname, sh, s->nshards);
        snprintf(path, sizeof path, "%s/%s", dir, fname);
        if (gen_sparse_matches(path, s->header[sh], s->header_len[sh], s->file_size[sh])) continue;
        if (gen_write_sparse(path, s->header[sh], s->header_len[sh], s->file_size[sh])) return -1;
        ++*written;
    }
    snprintf(path, sizeof path, "%s/%s", dir, GEN_DSV3_INDEX);
    if (file_equals(path, s->index, s->index_len)) return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write_all(fd, s->index, s->index_len) || fsync(fd) || close(fd) || rename(tmp, path)) {
        fprintf(stderr, "gen: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0) unlink(tmp);
        return -1;
    }
    ++*written;
    return 0;
}

/* ------------------------------------------------------------ hostile headers */

const char *const gen_hostile_names[GEN_NHOSTILE] = {"deep", "flood", "keys", "escapes", "name"};

#define H_TENSOR "\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]"
#define H_KEYS 1600000u
#define H_ESCAPES 4000000u

char *gen_hostile_header(int kind, size_t len, unsigned depth, size_t *count)
{
    buf h = {NULL, 0, 0};
    size_t i, n = 0, room;
    char tmp[32];
    static const char esc[4][7] = {"\\u00e9", "\\u4e2d", "\\ud83d", "\\ude00"}; /* é, 中, then a pair */
    if (len < 4096 || buf_reserve(&h, len + 64)) return NULL;
    switch (kind) {
    case GEN_H_DEEP:
    case GEN_H_FLOOD: {
        size_t unit = kind == GEN_H_DEEP ? 2 * (size_t)depth : 7;
        buf_str(&h, "{" H_TENSOR ",\"x\":[");
        room = len - h.len - 3; /* "]}}" */
        for (n = 0; (n ? 1 : 0) + unit <= room; n++) {
            if (n) buf_str(&h, ",");
            if (kind == GEN_H_FLOOD) {
                buf_str(&h, "[[],[]]");
            } else {
                memset(h.p + h.len, '[', depth);
                memset(h.p + h.len + depth, ']', depth);
                h.len += unit;
            }
            room -= (n ? 1 : 0) + unit;
        }
        buf_str(&h, "]}}");
        break;
    }
    case GEN_H_KEYS:
        buf_str(&h, "{\"__metadata__\":{");
        room = len - h.len - sizeof "\"pad\":\"\"}," H_TENSOR "}}" + 1;
        for (n = 0; n < H_KEYS && room >= 15; n++, room -= 15) { /* "k0000000":"v", */
            snprintf(tmp, sizeof tmp, "\"k%07zu\":\"v\",", n);
            buf_str(&h, tmp);
        }
        buf_str(&h, "\"pad\":\"");
        memset(h.p + h.len, 'p', room);
        h.len += room;
        buf_str(&h, "\"}," H_TENSOR "}}");
        break;
    case GEN_H_ESCAPES:
        buf_str(&h, "{\"__metadata__\":{\"e\":\"");
        room = len - h.len - sizeof "\"}," H_TENSOR "}}" + 1;
        for (n = 0; n < H_ESCAPES && room >= 24; n += 4, room -= 24)
            for (i = 0; i < 4; i++) buf_put(&h, esc[i], 6);
        memset(h.p + h.len, 'a', room);
        h.len += room;
        buf_str(&h, "\"}," H_TENSOR "}}");
        break;
    case GEN_H_NAME:
        buf_str(&h, "{\"");
        n = len - h.len - sizeof "\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}" + 1;
        for (i = 0; i < n; i++) h.p[h.len + i] = (char)('a' + i % 26);
        h.len += n;
        buf_str(&h, "\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}");
        break;
    default:
        free(h.p);
        return NULL;
    }
    if (h.len > len) {
        free(h.p);
        return NULL;
    }
    memset(h.p + h.len, ' ', len - h.len);
    *count = n;
    return h.p;
}
