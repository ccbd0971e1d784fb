/* Benchmark input writer: synthetic but valid safetensors files laid out the
 * way the reference (Rust) serializer writes them. Same naming, dtype mix,
 * shape rules and header layout as ../shared/tools/gen_safetensors.py with
 * --dtype-mix --sparse-total-bytes B --metadata K, so a header written here is
 * byte-identical to the one that tool writes for the same arguments. */
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

#endif
