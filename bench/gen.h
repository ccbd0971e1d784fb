/* Benchmark input writer: synthetic but valid safetensors files laid out the
 * way the reference (Rust) serializer writes them. Same naming, dtype mix,
 * shape rules and header layout as ../shared/tools/gen_safetensors.py with
 * --dtype-mix --sparse-total-bytes B --metadata K, so a header written here is
 * byte-identical to the one that tool writes for the same arguments. Also a
 * DeepSeek-V3-like sharded model (gen_sharded_build) and hostile but valid
 * headers (gen_hostile_header) for the cold benchmarks of issue #12. */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

/* The dtypes of the mix (index into gen_dtypes[]). */
enum { GEN_BF16 = 0, GEN_F16, GEN_F32, GEN_I64, GEN_U8, GEN_F8_E4M3, GEN_NDTYPES };

typedef struct gen_dtype {
    const char *name;
    unsigned bits;
    int rank;   /* position in the reference Dtype enum: the serializer sorts by it */
    int weight; /* share in the mix */
} gen_dtype;

extern const gen_dtype gen_dtypes[GEN_NDTYPES];

typedef struct gen_tensor {
    char *name;   /* NUL-terminated, points into the model's name pool */
    size_t name_len;
    int dtype;    /* GEN_* */
    unsigned rank;
    uint64_t shape[2];
    uint64_t begin, end;
} gen_tensor;

typedef struct gen_model {
    size_t n;            /* tensors */
    gen_tensor *t;       /* in file order (= header order) */
    char *names;         /* name pool */
    char *header;        /* JSON header, space-padded to a multiple of 8 */
    size_t header_len;
    uint64_t data_size;  /* bytes of the data section */
    uint64_t file_size;  /* 8 + header_len + data_size */
    uint64_t hidden, vocab;
} gen_model;

/* Builds the tensor list and header of a Llama-like checkpoint of exactly n
 * tensors whose data totals about budget bytes (realistic shapes, hidden size
 * chosen as the tool does), with nmeta __metadata__ entries. 0 on success,
 * -1 (message on stderr) on failure. */
int gen_model_build(gen_model *m, size_t n, uint64_t budget, unsigned nmeta);
void gen_model_free(gen_model *m);

/* Writes the model to path (via path.tmp and rename). fill = 0: the data
 * section is a hole (ftruncate, sparse); fill = 1: realistic data (see
 * gen_fill). 0 on success, -1 (message on stderr) on failure. */
int gen_write_file(const gen_model *m, const char *path, int fill);

/* 1 if path already holds exactly this model written with fill = 1 (size,
 * header, and sampled data bytes match), else 0. Lets big files be reused. */
int gen_file_matches(const gen_model *m, const char *path);

/* Fills buf (len bytes) with data typical of a checkpoint tensor of dtype:
 * weights ~ N(0, 0.02) for BF16/F16/F32, FP8 weights scaled to the E4M3
 * range, small integers for I64, bytes for U8. Deterministic in (dtype, seed). */
void gen_fill(int dtype, unsigned char *buf, size_t len, uint64_t seed);

/* Writes a file of the 8-byte prefix, header (len bytes) and a data section
 * that is a hole, file_size bytes in all (via path.tmp, fsync, rename). 0 on
 * success, -1 (message on stderr) on failure. */
int gen_write_sparse(const char *path, const char *header, size_t len, uint64_t file_size);

/* 1 if path has exactly that size, prefix and header (its data is not
 * looked at), else 0: lets generated files be reused between runs. */
int gen_sparse_matches(const char *path, const char *header, size_t len, uint64_t file_size);

/* ------------------------------------------------------------ sharded model */

/* A DeepSeek-V3-like checkpoint: 61 decoder layers (3 dense, 58 MoE with 256
 * routed experts and one shared expert, MLA attention) plus the multi-token
 * prediction layer 61, F8_E4M3 linear weights each with an F32
 * weight_scale_inv of one value per 128 x 128 block, BF16 norms, embeddings,
 * router weights and lm_head, F32 router biases: 91,991 tensors with the
 * real shapes (about 688 GB of data, all holes), in 163 shards
 * (model-00001-of-000163.safetensors ...) filled in model order, and the
 * index model.safetensors.index.json as transformers writes it (indent 2,
 * sorted keys, metadata total_size). */
#define GEN_DSV3_TENSORS 91991u
#define GEN_DSV3_SHARDS 163u
#define GEN_DSV3_INDEX "model.safetensors.index.json"

typedef struct gen_sharded {
    size_t n;              /* tensors */
    gen_tensor *t;         /* shard by shard, each shard's tensors in its file order */
    size_t nshards;
    size_t *first;         /* shard s holds t[first[s]] .. t[first[s + 1] - 1] */
    char *names;           /* name pool */
    char **header;         /* per shard: JSON header, space-padded to a multiple of 8 */
    size_t *header_len;
    uint64_t *file_size;
    size_t headers_total;  /* sum of header_len */
    uint64_t total_size;   /* sum of the data sections (the index's total_size) */
    char *index;           /* the index file's text */
    size_t index_len;
} gen_sharded;

int gen_sharded_build(gen_sharded *s);
void gen_sharded_free(gen_sharded *s);
/* The file name of shard s (0-based) of n: model-00001-of-000163.safetensors. */
void gen_shard_name(char *out, size_t outlen, size_t s, size_t n);
/* Writes the shards and the index under dir, skipping files that already hold
 * exactly what would be written; *written counts the files written. 0 on
 * success, -1 (message on stderr) on failure. */
int gen_sharded_write(const gen_sharded *s, const char *dir, unsigned *written);

/* ------------------------------------------------------------ hostile headers */

/* Valid headers built to cost a parser the most per byte. Each has one tensor
 * (U8, shape [8], data_offsets [0,8]; the file's data section is 8 bytes). */
enum {
    GEN_H_DEEP,    /* unknown field "x" of the tensor: an array of nests [[[...]]] of depth `depth` */
    GEN_H_FLOOD,   /* unknown field "x": an array of [[],[]], 3 tokens in 8 bytes */
    GEN_H_KEYS,    /* __metadata__ with 1,600,000 keys "k0000000":"v" */
    GEN_H_ESCAPES, /* one __metadata__ value of 4,000,000 \uXXXX escapes (a surrogate pair among them) */
    GEN_H_NAME,    /* the tensor's name is the whole header but 50 bytes */
    GEN_NHOSTILE
};

extern const char *const gen_hostile_names[GEN_NHOSTILE];

/* The header of kind GEN_H_* of exactly len bytes (padded with spaces), in
 * malloc'd memory; *count receives the number of hostile units (nests, [[],[]]
 * elements, keys, escapes, name bytes). NULL if out of memory or len is too
 * small (under 4096). */
char *gen_hostile_header(int kind, size_t len, unsigned depth, size_t *count);

#endif
