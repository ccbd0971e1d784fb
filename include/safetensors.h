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

#if defined(_WIN32) && defined(ST_BUILDING_DLL)
#define ST_API __declspec(dllexport)
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
#define ST_STATUS_ENUM_(name, num, msg) name = num,
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
#define ST_ERROR_TENSOR_TRUNCATED 4u /* the name did not fit in tensor[] */

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
#define ST_OPEN_CLOSE_FD          0x100u /* st_open_fd: the handle owns fd (closed at
                                            st_close, and on failure too) */

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
 *   flags           ST_LENIENT_* and ST_OPEN_* bits; unknown bits are an error
 *   max_header_size 0 for ST_DEFAULT_MAX_HEADER_SIZE; else the cap (inclusive),
 *                   at most ST_MAX_HEADER_SIZE_LIMIT
 *   allocator       NULL for malloc/realloc/free; else copied into the handle
 */
typedef struct st_open_options {
    uint32_t struct_size;
    uint32_t flags;
    uint64_t max_header_size;
    const st_allocator *allocator;
} st_open_options;

#define ST_OPEN_OPTIONS_INIT { (uint32_t)sizeof(st_open_options), 0u, 0u, NULL }

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
 * from offset 0). The descriptor is not closed unless opts->flags has
 * ST_OPEN_CLOSE_FD, in which case it is closed at st_close() or on failure.
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
 * argument is NULL. The _n variant takes a length (the name may then hold any
 * bytes; a name with NUL is never found). */
ST_API const st_tensor *st_tensor_find(const st_file *file, const char *name);
ST_API const st_tensor *st_tensor_find_n(const st_file *file, const char *name,
                                         size_t name_len);

/*
 * Typed zero-copy access. Each returns ST_OK and sets *out to the tensor's data
 * when the dtype matches and the address is aligned for the C type; otherwise
 * *out is set to NULL and the status says why:
 *   ST_E_INVALID_ARGUMENT  t or out is NULL
 *   ST_E_DTYPE_MISMATCH    the dtype is not the one the function is for
 *   ST_E_MISALIGNED        the data address is not aligned for the type (common
 *                          in unpadded files: use st_tensor_copy())
 *   ST_E_BYTE_ORDER        multi-byte type on a big-endian host
 * A tensor with no elements gives ST_OK and a pointer that must not be read.
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
 * Copies size bytes of the tensor, starting byte_offset bytes into it, to dst.
 * Works for any alignment and dtype; bytes are copied as stored (little-endian).
 *   ST_E_INVALID_ARGUMENT  t NULL, or dst NULL with size > 0
 *   ST_E_RANGE             byte_offset + size exceeds t->nbytes (nothing copied)
 */
ST_API st_status st_tensor_copy(const st_tensor *t, uint64_t byte_offset,
                                void *dst, uint64_t size);

/* ---------------------------------------------------------------- metadata */

typedef enum st_metadata_state {
    ST_METADATA_ABSENT = 0, /* no __metadata__ key */
    ST_METADATA_NULL = 1,   /* "__metadata__": null */
    ST_METADATA_OBJECT = 2  /* an object, possibly empty */
} st_metadata_state;

/* A metadata entry: unescaped, NUL-terminated key and value with lengths (a value
 * may contain NUL; use value_len). Lives inside the handle. */
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
/* Entry by key, O(1) expected; NULL if absent. */
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
