/*
 * safetensors.h - libsafetensors: a strict, zero-copy reader of safetensors files.
 *
 * This is the only public header. Everything it declares is prefixed st_ / ST_.
 *
 * Contract in one paragraph:
 *   st_open_*() maps (or borrows) the bytes, parses the JSON header, checks every
 *   rule of the project's FORMAT.md and builds an index. It either returns ST_OK and
 *   a fully validated handle, or a status and a filled error record with nothing
 *   left allocated, mapped or open. After open, names, shapes and metadata live in
 *   memory the handle owns; only tensor data pointers point into the file bytes.
 *   A handle is immutable: any number of threads may read it at once. Sizes and
 *   offsets are uint64_t whatever size_t is.
 *
 * Compiles as C89/C99/C11 and as C++.
 */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- version */

/* The single source of the version: the Makefile reads these three lines. */
#define ST_VERSION_MAJOR 0
#define ST_VERSION_MINOR 1
#define ST_VERSION_PATCH 0
/* Monotonic number for compile-time comparisons: MAJOR*10000 + MINOR*100 + PATCH. */
#define ST_VERSION_NUMBER \
    (ST_VERSION_MAJOR * 10000 + ST_VERSION_MINOR * 100 + ST_VERSION_PATCH)

/* ---------------------------------------------------------------- export */

/* ST_API marks the exported functions. Windows: the DLL is built with
 * ST_BUILDING_DLL defined (dllexport, so the DLL exports these and nothing
 * else); programs using the DLL or the static library include the header as
 * it is: calls reach the DLL through its import library, so there is no
 * dllimport, and a static build never sees one. Elsewhere: default visibility
 * in a library built with -fvisibility=hidden. */
#if defined(_WIN32)
#if defined(ST_BUILDING_DLL)
#define ST_API __declspec(dllexport)
#else
#define ST_API
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define ST_API __attribute__((visibility("default")))
#else
#define ST_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

/*
 * One list of status codes. The numbers are pinned: they never change meaning
 * and new codes are only appended. X(NAME, number, static message).
 * docs/errors.md explains each one and what the error offset means for it.
 */
#define ST_STATUS_LIST(X)                                                          \
    X(ST_OK,                    0, "success")                                      \
    X(ST_E_INVALID_ARGUMENT,    1, "invalid argument")                             \
    X(ST_E_NOMEM,               2, "out of memory")                                \
    X(ST_E_IO,                  3, "I/O error")                                    \
    X(ST_E_HEADER_TOO_SMALL,    4, "file shorter than the 8-byte header length")   \
    X(ST_E_HEADER_TOO_LARGE,    5, "header length above the cap")                  \
    X(ST_E_HEADER_LENGTH,       6, "header length runs past the end of the file")  \
    X(ST_E_UTF8,                7, "header is not valid UTF-8")                    \
    X(ST_E_JSON,                8, "header is not one valid JSON object")          \
    X(ST_E_SCHEMA,              9, "header entry has a wrong shape or type")       \
    X(ST_E_DTYPE,              10, "unknown dtype")                                \
    X(ST_E_DUPLICATE,          11, "duplicate key")                                \
    X(ST_E_METADATA,           12, "invalid __metadata__")                         \
    X(ST_E_NAME,               13, "invalid tensor name")                          \
    X(ST_E_OFFSETS,            14, "data_offsets leave a hole, overlap or run backwards") \
    X(ST_E_OVERFLOW,           15, "shape or size arithmetic overflows 64 bits")   \
    X(ST_E_PARTIAL_BYTE,       16, "tensor bit count is not a multiple of 8")      \
    X(ST_E_SIZE_MISMATCH,      17, "data_offsets disagree with dtype and shape")   \
    X(ST_E_COVERAGE,           18, "data section size differs from the tensors' extent") \
    X(ST_E_WRONG_FORMAT,       19, "not a safetensors file")                       \
    X(ST_E_NOT_FOUND,          20, "no such tensor or key")                        \
    X(ST_E_DTYPE_MISMATCH,     21, "tensor dtype differs from the requested type") \
    X(ST_E_MISALIGNED,         22, "tensor data is not aligned for the requested type") \
    X(ST_E_RANGE,              23, "byte range outside the tensor")                \
    X(ST_E_BYTE_ORDER,         24, "little-endian data cannot be viewed in place on this host") \
    X(ST_E_TOO_BIG,            25, "file or tensor larger than this process can address")

typedef enum st_status {
#define ST_STATUS_ENUM_(name, num, msg) name = num, /* NOLINT(bugprone-macro-parentheses): an enumerator name */
    ST_STATUS_LIST(ST_STATUS_ENUM_)
#undef ST_STATUS_ENUM_
    ST_STATUS_COUNT_ /* not a status: one past the last pinned number */
} st_status;

/* "ST_E_JSON" for ST_E_JSON; "ST_UNKNOWN_STATUS" for any value not in the list.
 * Static string, never NULL. */
ST_API const char *st_status_name(int status);
/* One-line static description; "unknown status" for any value not in the list. */
ST_API const char *st_status_message(int status);

/* ---------------------------------------------------------------- error record */

#define ST_ERROR_HAS_OFFSET 1u /* offset is meaningful */
#define ST_ERROR_HAS_TENSOR 2u /* tensor holds (a prefix of) the tensor's name */
#define ST_ERROR_TENSOR_TRUNCATED 4u /* tensor[] holds only a prefix of the name (it
                                        did not fit, or it contains a NUL) */

/*
 * Optional out-parameter of every call that can fail. When a non-NULL pointer is
 * passed it is always written: on success code = ST_OK and the rest is cleared.
 *   code     the returned status
 *   flags    ST_ERROR_* bits
 *   offset   absolute byte offset in the file where the rule broke (byte 0 is the
 *            first byte of the 8-byte length prefix); see docs/errors.md
 *   sys_errno errno of a failed system call for ST_E_IO, else 0
 *   tensor   NUL-terminated name of the tensor concerned (may be cut, see flags)
 *   message  NUL-terminated message naming the rule broken, with the numbers
 * The layout is fixed for the life of major version 0.
 */
typedef struct st_error {
    int code;
    unsigned flags;
    uint64_t offset;
    int sys_errno;
    char tensor[128];
    char message[256];
    char reserved_[4]; /* zero; makes the size 408 bytes on every ABI */
} st_error;

/* ---------------------------------------------------------------- dtypes */

/* The 22 dtypes of the format. Numbers are pinned. */
typedef enum st_dtype {
    ST_DTYPE_INVALID = 0,
    ST_BOOL = 1,
    ST_U8 = 2,
    ST_I8 = 3,
    ST_F8_E5M2 = 4,
    ST_F8_E4M3 = 5,
    ST_F8_E8M0 = 6,
    ST_F8_E4M3FNUZ = 7,
    ST_F8_E5M2FNUZ = 8,
    ST_F4 = 9,
    ST_F6_E2M3 = 10,
    ST_F6_E3M2 = 11,
    ST_I16 = 12,
    ST_U16 = 13,
    ST_F16 = 14,
    ST_BF16 = 15,
    ST_I32 = 16,
    ST_U32 = 17,
    ST_F32 = 18,
    ST_C64 = 19,
    ST_F64 = 20,
    ST_I64 = 21,
    ST_U64 = 22,
    ST_DTYPE_COUNT_ /* not a dtype */
} st_dtype;

/* "F32" for ST_F32; NULL for anything that is not one of the 22 dtypes. */
ST_API const char *st_dtype_name(int dtype);
/* Case-sensitive name ("BF16") to dtype; ST_DTYPE_INVALID if unknown or NULL.
 * The _n variant takes a length and does not need a NUL terminator. */
ST_API st_dtype st_dtype_from_name(const char *name);
ST_API st_dtype st_dtype_from_name_n(const char *name, size_t len);
/* Bits per element (4 for F4, 6 for F6_*, 8..64 otherwise); 0 if invalid. */
ST_API unsigned st_dtype_bits(int dtype);

/* ---------------------------------------------------------------- options */

/* Leniency switches: off by default; each one used is reported by
 * st_file_leniency_used(). See docs/strictness.md. */
#define ST_LENIENT_TRAILING_BYTES 0x1u /* accept bytes after the last tensor */
#define ST_LENIENT_NUL_PADDING    0x2u /* accept NUL bytes after the header's JSON */
/* Open behaviour. */
#define ST_OPEN_CLOSE_FD          0x100u /* st_open_fd only: the handle owns fd (closed
                                            at st_close, and on failure too);
                                            refused by st_open_path / _memory */
#define ST_OPEN_READ              0x200u /* st_open_path / st_open_fd: read the whole
                                            file into memory the handle owns instead
                                            of mapping it (network filesystems, hosts
                                            without mmap, files that may change);
                                            ignored by st_open_memory */

/* Default and largest accepted header caps. The largest is bounded by the
 * tokenizer's 32-bit positions. */
#define ST_DEFAULT_MAX_HEADER_SIZE 100000000u
#define ST_MAX_HEADER_SIZE_LIMIT   2000000000u

/*
 * Allocator hook with a context pointer. All three functions must be set.
 * free_fn receives the size that was requested for the block.
 */
typedef struct st_allocator {
    void *(*malloc_fn)(void *ctx, size_t size);
    void *(*realloc_fn)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*free_fn)(void *ctx, void *ptr, size_t size);
    void *ctx;
} st_allocator;

/*
 * Options that can grow: always start from ST_OPEN_OPTIONS_INIT, then set fields.
 *   struct_size     sizeof(st_open_options) as the caller compiled it
 *   flags           ST_LENIENT_* and ST_OPEN_* bits; unknown bits are
 *                   ST_E_INVALID_ARGUMENT (and ST_OPEN_CLOSE_FD outside st_open_fd)
 *   max_header_size 0 for ST_DEFAULT_MAX_HEADER_SIZE; else the cap (inclusive),
 *                   at most ST_MAX_HEADER_SIZE_LIMIT
 *   allocator       NULL for malloc/realloc/free (on Linux, blocks of 2 MiB or
 *                   more are also advised as transparent huge pages); else
 *                   copied into the handle
 */
typedef struct st_open_options {
    uint32_t struct_size;
    uint32_t flags;
    uint64_t max_header_size;
    const st_allocator *allocator;
} st_open_options;

/* No cast: sizeof is a constant that fits, so this is not narrowing in C++ either. */
#define ST_OPEN_OPTIONS_INIT { sizeof(st_open_options), 0u, 0u, NULL }

/* ---------------------------------------------------------------- open / close */

typedef struct st_file st_file; /* opaque handle */

/*
 * Opens a file by path: maps it read-only (zero copy), validates it fully.
 *   out   receives the handle on success, NULL on failure (must not be NULL)
 *   path  NUL-terminated path
 *   opts  NULL for defaults
 *   err   NULL, or a record that is always written
 * Returns ST_OK or the status of the first rule broken. Thread-safe (no globals).
 */
ST_API st_status st_open_path(st_file **out, const char *path,
                              const st_open_options *opts, st_error *err);

/*
 * Same, from an open file descriptor positioned anywhere (the whole file is read
 * from offset 0; the descriptor's position is not moved). The descriptor is not
 * closed unless opts->flags has ST_OPEN_CLOSE_FD, in which case it is closed at
 * st_close() or on failure (with ST_OPEN_READ: as soon as the file is read).
 * Without that flag the caller may close it right after this call: a mapped
 * handle keeps a private duplicate (F_DUPFD_CLOEXEC) for st_tensor_read.
 */
ST_API st_status st_open_fd(st_file **out, int fd, const st_open_options *opts,
                            st_error *err);

/*
 * Same, over a caller's buffer, borrowed without a copy: the caller keeps the
 * buffer alive and unchanged until st_close(). data may be NULL only if size is 0.
 */
ST_API st_status st_open_memory(st_file **out, const void *data, uint64_t size,
                                const st_open_options *opts, st_error *err);

/* Releases everything the handle holds. NULL is a no-op. Views obtained from the
 * handle are invalid afterwards. Not to be called while other threads read. */
ST_API void st_close(st_file *file);

/* ---------------------------------------------------------------- file facts */

/* Each getter returns 0 for a NULL handle. */
ST_API uint64_t st_file_size(const st_file *file);        /* total bytes */
ST_API uint64_t st_file_header_size(const st_file *file); /* N, the JSON length */
ST_API uint64_t st_file_data_offset(const st_file *file); /* 8 + N */
ST_API uint64_t st_file_data_size(const st_file *file);   /* bytes after 8 + N */
/* Pointer to byte 0 of the file (mapping or borrowed buffer); NULL if NULL. */
ST_API const void *st_file_bytes(const st_file *file);
/* ST_LENIENT_* bits that were needed to accept this file (0 if none). */
ST_API uint32_t st_file_leniency_used(const st_file *file);
/* Number of trailing bytes accepted by ST_LENIENT_TRAILING_BYTES (else 0). */
ST_API uint64_t st_file_trailing_bytes(const st_file *file);

/* ---------------------------------------------------------------- tensors */

/*
 * A tensor view. Lives inside the handle: valid until st_close(). Fields may be
 * appended in later minor versions; never allocate or copy this struct yourself.
 *   name, name_len  unescaped UTF-8 name, NUL-terminated (never contains NUL)
 *   dtype, rank     ST_* dtype; number of dimensions (0 for a scalar)
 *   shape           rank entries (NULL when rank is 0)
 *   numel           product of shape (1 for a scalar)
 *   nbytes          size in bytes (END - BEGIN)
 *   begin, end      data_offsets as written (relative to the data section)
 *   offset          absolute offset of the first byte in the file (8 + N + begin)
 *   data            pointer to the bytes (in the mapping or borrowed buffer)
 *   index           position in file order (by offset), 0-based
 */
typedef struct st_tensor {
    const char *name;
    uint64_t name_len;
    st_dtype dtype;
    uint32_t rank;
    const uint64_t *shape;
    uint64_t numel;
    uint64_t nbytes;
    uint64_t begin;
    uint64_t end;
    uint64_t offset;
    const void *data;
    uint64_t index;
} st_tensor;

/* Number of tensors (0 for NULL). */
ST_API uint64_t st_tensor_count(const st_file *file);
/* Tensor by position in file order (sorted by data_offsets); NULL if out of range
 * or file is NULL. Zero-size tensors at one offset keep header order. */
ST_API const st_tensor *st_tensor_at(const st_file *file, uint64_t index);
/* Lookup by exact (unescaped) name in O(1) expected time; NULL if absent or if an
 * argument is NULL (also for st_tensor_find_n(f, NULL, 0): use "" for the empty
 * name). The _n variant takes a length and needs no terminator; a name holding
 * NUL is never found (no tensor name contains NUL). */
ST_API const st_tensor *st_tensor_find(const st_file *file, const char *name);
ST_API const st_tensor *st_tensor_find_n(const st_file *file, const char *name,
                                         size_t name_len);

/*
 * Typed zero-copy access. Each returns ST_OK and sets *out to the tensor's data
 * when the dtype matches and the address is aligned to the element size; otherwise
 * *out is set to NULL and the status says why:
 *   ST_E_INVALID_ARGUMENT  t or out is NULL
 *   ST_E_DTYPE_MISMATCH    the dtype is not the one the function is for
 *   ST_E_MISALIGNED        the data address is not aligned for the type (common
 *                          in unpadded files: use st_tensor_copy())
 *   ST_E_BYTE_ORDER        multi-byte type on a big-endian host
 * Checks run in this order: NULL arguments, dtype, byte order (every multi-byte
 * view is ST_E_BYTE_ORDER on a big-endian host, empty or not), alignment to the
 * element size (4 for C64). A tensor with no elements passes the alignment
 * check whatever its address; its pointer must not be read.
 * BOOL is returned as bytes (any value, not only 0 and 1). F16 and BF16 are
 * returned as raw uint16_t bit patterns, C64 as float pairs (real, imaginary).
 */
ST_API st_status st_tensor_as_f32(const st_tensor *t, const float **out);
ST_API st_status st_tensor_as_f64(const st_tensor *t, const double **out);
ST_API st_status st_tensor_as_f16(const st_tensor *t, const uint16_t **out);
ST_API st_status st_tensor_as_bf16(const st_tensor *t, const uint16_t **out);
ST_API st_status st_tensor_as_c64(const st_tensor *t, const float **out);
ST_API st_status st_tensor_as_i8(const st_tensor *t, const int8_t **out);
ST_API st_status st_tensor_as_u8(const st_tensor *t, const uint8_t **out);
ST_API st_status st_tensor_as_bool(const st_tensor *t, const uint8_t **out);
ST_API st_status st_tensor_as_i16(const st_tensor *t, const int16_t **out);
ST_API st_status st_tensor_as_u16(const st_tensor *t, const uint16_t **out);
ST_API st_status st_tensor_as_i32(const st_tensor *t, const int32_t **out);
ST_API st_status st_tensor_as_u32(const st_tensor *t, const uint32_t **out);
ST_API st_status st_tensor_as_i64(const st_tensor *t, const int64_t **out);
ST_API st_status st_tensor_as_u64(const st_tensor *t, const uint64_t **out);

/*
 * The same checks for any dtype, for callers (bindings) that pick the element type
 * themselves: ST_OK and *out = t->data when the data can be read in place as
 * elements of the dtype: aligned to the element size (1 for BOOL, the 8-bit types
 * and the packed F4/F6; 4 for C64), and little-endian host for multi-byte types.
 * Otherwise *out = NULL and ST_E_MISALIGNED or ST_E_BYTE_ORDER (ST_E_INVALID_ARGUMENT
 * for NULL).
 */
ST_API st_status st_tensor_view(const st_tensor *t, const void **out);

/*
 * Copies size bytes of the tensor, starting byte_offset bytes into it, to dst.
 * Works for any alignment and dtype; bytes are copied as stored (little-endian).
 *   ST_E_INVALID_ARGUMENT  t NULL, or dst NULL with size > 0
 *   ST_E_RANGE             byte_offset + size exceeds t->nbytes (nothing copied)
 */
ST_API st_status st_tensor_copy(const st_tensor *t, uint64_t byte_offset,
                                void *dst, uint64_t size);

/*
 * Copies count elements starting at element first into dst in HOST byte order
 * (a plain copy on little-endian hosts; byte-swapped per element on big-endian
 * ones; C64 swaps each float). dst needs count * element-size bytes, any
 * alignment.
 *   ST_E_INVALID_ARGUMENT  t NULL, or dst NULL with count > 0
 *   ST_E_DTYPE_MISMATCH    sub-byte dtype (F4, F6_*): use st_tensor_copy()
 *   ST_E_RANGE             first + count exceeds t->numel (nothing copied)
 */
ST_API st_status st_tensor_copy_elements(const st_tensor *t, uint64_t first, uint64_t count,
                                         void *dst);

/* ---------------------------------------------------------------- reading for engines */

/*
 * Alignment of the tensor's first byte in the FILE: the largest power of two
 * that divides t->offset, capped at 4096 (4096 when the offset is 0). Engines
 * planning O_DIRECT or GPU-direct reads use it with t->offset and t->nbytes.
 * 0 for NULL.
 */
ST_API uint64_t st_tensor_file_alignment(const st_tensor *t);

/*
 * Copies size bytes of the tensor, starting byte_offset bytes into it, into dst
 * through the file descriptor (pread in large chunks, retried on EINTR and short
 * reads) instead of through the mapping: no page faults on the mapping, and a
 * file truncated or changed after open gives ST_E_IO instead of SIGBUS. For a
 * handle made by st_open_memory or ST_OPEN_READ it is a memcpy.
 *   ST_E_INVALID_ARGUMENT  file or t NULL, or dst NULL with size > 0
 *   ST_E_RANGE             byte_offset + size exceeds t->nbytes (nothing read)
 *   ST_E_IO                read error or end of file (sys_errno set; a short read
 *                          means the file shrank since open)
 * t must come from file. Thread-safe (pread does not move the file position).
 */
ST_API st_status st_tensor_read(const st_file *file, const st_tensor *t, uint64_t byte_offset,
                                void *dst, uint64_t size, st_error *err);

typedef enum st_advice {
    ST_ADVICE_WILLNEED = 1,   /* will be read soon: start reading ahead */
    ST_ADVICE_DONTNEED = 2,   /* done with it: the pages may be dropped */
    ST_ADVICE_SEQUENTIAL = 3, /* will be read in order */
    ST_ADVICE_RANDOM = 4      /* will be read out of order */
} st_advice;

/*
 * A hint about the tensor's pages in the mapping (madvise on the page-aligned
 * range that covers it). ST_OK also when the handle has no mapping (nothing to
 * do). ST_E_INVALID_ARGUMENT for NULL or an unknown advice; ST_E_IO if the
 * kernel refuses.
 */
ST_API st_status st_tensor_advise(const st_file *file, const st_tensor *t, st_advice advice);

/*
 * Faults the tensor's pages in now and reports failure as a status instead of
 * a SIGBUS later: MADV_POPULATE_READ where the kernel has it (Linux 5.14+);
 * elsewhere it checks the file is still long enough (fstat) and then touches
 * one byte per page, which can still fault if the file shrinks in between (see
 * docs/security.md). ST_E_IO when the file no longer holds all of this
 * tensor's bytes. ST_OK with nothing to do for handles without a mapping.
 */
ST_API st_status st_tensor_prefetch(const st_file *file, const st_tensor *t, st_error *err);

/* ---------------------------------------------------------------- conversion */

/*
 * Converts count elements starting at element first of a buffer of dtype
 * elements (src points at element 0) to float. Exact for every 8- and 16-bit
 * float format (all are subsets of float); NaN stays NaN, infinities and signed
 * zeros are kept; F64 and 32/64-bit integers round to nearest-even float.
 *   F8_E4M3 / F8_E5M2     OCP 8-bit formats (E4M3: no infinities, S.1111.111 NaN;
 *                         E5M2: IEEE-like with infinities)
 *   F8_E4M3FNUZ / F8_E5M2FNUZ  no infinities, no negative zero, 0x80 is the NaN
 *   F8_E8M0               OCP MX scale: 2^(e-127), 0xFF is NaN
 *   F4 (E2M1)             two per byte; element 2k is the LOW nibble of byte k
 *                         (PyTorch float4_e2m1fn_x2 order); no NaN or infinity
 *   F6_E2M3 / F6_E3M2     four per 3 bytes, packed little-endian: element 4k+j
 *                         occupies bits 6j..6j+5 of the 24-bit little-endian
 *                         word made of bytes 3k..3k+2; no NaN or infinity
 *   BOOL                  0 -> 0.0, anything else -> 1.0
 * NaN: F16, BF16 and F8_E5M2 NaNs keep sign and payload (moved to the top of the
 * float mantissa); the other formats' NaN becomes a quiet float NaN (with its
 * sign where the format has one). F64 and integers that need rounding use the
 * current rounding mode (round-to-nearest-even by default), except 64-bit
 * integers of 2^53 and above, which always round to nearest-even.
 * Statuses, in this order: ST_E_INVALID_ARGUMENT (unknown dtype; NULL with
 * count > 0; a range no buffer can have), ST_E_DTYPE_MISMATCH (C64); count 0 is
 * ST_OK without touching the pointers. Any alignment of src and dst; they must
 * not overlap (except for F32, which is a memmove).
 */
ST_API st_status st_convert_to_f32(int dtype, const void *src, uint64_t first, uint64_t count,
                                   float *dst);

/* Same for a tensor, with the range checked against t->numel (ST_E_RANGE). */
ST_API st_status st_tensor_to_f32(const st_tensor *t, uint64_t first, uint64_t count,
                                  float *dst);

/* float -> BF16 / F16 bit patterns, round to nearest, ties to even (done in
 * integers: independent of the rounding mode). NaN stays a quiet NaN with its
 * sign and top payload bits; F16 overflows to infinity; F16 subnormals are
 * rounded correctly. NULL src or dst: nothing is done. No overlap. */
ST_API void st_f32_to_bf16(const float *src, uint16_t *dst, size_t count);
ST_API void st_f32_to_f16(const float *src, uint16_t *dst, size_t count);

/* ---------------------------------------------------------------- sharded models */

/*
 * A model split into shards with a model.safetensors.index.json
 * ({"metadata": {...}, "weight_map": {"tensor": "shard file", ...}}), seen as
 * one logical model. Shards open lazily, at most max_open_shards at once (the
 * least recently used unpinned shard is closed to make room).
 *
 * Checks: shard paths must be relative, without "..", without a NUL, and must
 * not resolve (symlinks followed) outside the index's directory; every tensor
 * named in the weight map must be in its shard and every tensor in a shard must
 * be named in the weight map for that shard (checked when the shard is opened,
 * or for all shards at st_model_open with ST_MODEL_VALIDATE_ALL); a name listed
 * twice in the weight map is ST_E_DUPLICATE. Errors name the shard in the message
 * and the tensor in err->tensor.
 */
typedef struct st_model st_model;

#define ST_MODEL_VALIDATE_ALL 0x1u /* open and check every shard during st_model_open */
/* Let a shard's path, written as above (relative, no ".."), be a SYMLINK that
 * resolves outside the index's directory. The Hugging Face cache lays models out
 * so (snapshots/REV/x.safetensors -> ../../blobs/HASH). Off by default: a model
 * directory from a stranger could otherwise make the reader open any file the
 * process can read (it would still have to pass every check of a shard). */
#define ST_MODEL_FOLLOW_SYMLINKS 0x2u

typedef struct st_model_options {
    uint32_t struct_size;                /* sizeof(st_model_options) */
    uint32_t flags;                      /* ST_MODEL_* */
    uint32_t max_open_shards;            /* 0 for the default of 16; at least 1 */
    const st_open_options *file_options; /* for each shard; NULL for defaults */
} st_model_options;

#define ST_MODEL_OPTIONS_INIT { sizeof(st_model_options), 0u, 0u, NULL }

/* One tensor of the model: its name, its shard, and its position in the
 * model's order (shards in weight-map order of first appearance, then names in
 * byte order within a shard). Lives in the model. */
typedef struct st_model_entry {
    const char *name;
    uint64_t name_len;
    uint64_t shard;
    uint64_t index;
} st_model_entry;

/*
 * Opens an index file (*.index.json), a directory holding exactly one
 * *.safetensors.index.json, or a single .safetensors file (a model of one
 * shard). Reads only the index (and with ST_MODEL_VALIDATE_ALL every shard's
 * header). Statuses: those of st_open_*, plus ST_E_JSON / ST_E_SCHEMA for a bad
 * index, ST_E_NAME for an unsafe shard path, ST_E_DUPLICATE, ST_E_NOT_FOUND.
 */
ST_API st_status st_model_open(st_model **out, const char *path, const st_model_options *opts,
                               st_error *err);
/* Closes every shard. NULL is a no-op. No shard may still be acquired. */
ST_API void st_model_close(st_model *model);

ST_API uint64_t st_model_tensor_count(const st_model *model);
ST_API uint64_t st_model_shard_count(const st_model *model);
/* The shard's path as written in the index (relative to its directory). */
ST_API const char *st_model_shard_name(const st_model *model, uint64_t shard);
ST_API const st_model_entry *st_model_entry_at(const st_model *model, uint64_t index);
ST_API const st_model_entry *st_model_find(const st_model *model, const char *name);
ST_API const st_model_entry *st_model_find_n(const st_model *model, const char *name,
                                             size_t name_len);

/*
 * Opens the shard if needed (validating it against the weight map) and pins it:
 * *out stays valid until the matching st_model_release(). Thread-safe: any
 * number of threads may acquire and release concurrently. Statuses are those
 * of st_open_path plus ST_E_NOT_FOUND (a weight-map tensor missing from the
 * shard) and ST_E_SCHEMA (a shard tensor the weight map does not name), and
 * ST_E_INVALID_ARGUMENT for a bad shard number. When every open slot is pinned,
 * the limit is exceeded temporarily rather than failing.
 */
ST_API st_status st_model_acquire(st_model *model, uint64_t shard, const st_file **out,
                                  st_error *err);
ST_API void st_model_release(st_model *model, uint64_t shard);

/* ---------------------------------------------------------------- metadata */

typedef enum st_metadata_state {
    ST_METADATA_ABSENT = 0, /* no __metadata__ key */
    ST_METADATA_NULL = 1,   /* "__metadata__": null */
    ST_METADATA_OBJECT = 2  /* an object, possibly empty */
} st_metadata_state;

/* A metadata entry: unescaped, NUL-terminated key and value with lengths (keys and
 * values may contain NUL written as \u0000: use key_len / value_len; such a key is
 * found only by st_metadata_find_n). Lives inside the handle. */
typedef struct st_metadata_entry {
    const char *key;
    uint64_t key_len;
    const char *value;
    uint64_t value_len;
} st_metadata_entry;

/* ST_METADATA_ABSENT for NULL. */
ST_API st_metadata_state st_metadata_state_of(const st_file *file);
/* Number of entries (0 if absent, null, empty or file is NULL). */
ST_API uint64_t st_metadata_count(const st_file *file);
/* Entry by position in header order; NULL if out of range. */
ST_API const st_metadata_entry *st_metadata_at(const st_file *file, uint64_t index);
/* Entry by key, O(1) expected; NULL if absent or if an argument is NULL. */
ST_API const st_metadata_entry *st_metadata_find(const st_file *file, const char *key);
ST_API const st_metadata_entry *st_metadata_find_n(const st_file *file,
                                                   const char *key, size_t key_len);

/* ---------------------------------------------------------------- version */

/* Runtime version: ST_VERSION_NUMBER of the library actually linked. */
ST_API unsigned st_version_number(void);
/* "0.1.0" */
ST_API const char *st_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* SAFETENSORS_H */
