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
    X(ST_E_TOO_BIG,            25, "file or tensor larger than this process can address") \
    X(ST_E_INCOMPLETE,         26, "a tensor's data was not written in full")     \
    X(ST_E_WRITTEN_TWICE,      27, "bytes of a tensor were written twice")         \
    X(ST_E_NO_DATA,            28, "tensor data is not in memory or not available through this handle") \
    X(ST_E_NEED_MORE,          29, "the bytes given end before the header does")   \
    X(ST_E_BUFFER_TOO_SMALL,   30, "destination buffer too small")

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

/* Largest gap, in bytes, between two byte ranges of a slice that
 * st_tensor_read_slice reads as one range through a descriptor or a reader
 * (the bytes between are read and dropped): see read_gap below. */
#define ST_DEFAULT_READ_GAP 65536u
/* read_gap value that merges only ranges that touch (a gap of 0 bytes). */
#define ST_READ_GAP_NONE UINT64_MAX

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
 *   read_gap        (since 0.1: callers compiled with a struct_size that stops
 *                   before it get the default) 0 for ST_DEFAULT_READ_GAP;
 *                   ST_READ_GAP_NONE to merge only touching ranges; else the
 *                   largest gap in bytes between two ranges of a slice that
 *                   st_tensor_read_slice reads as one range through a
 *                   descriptor or a reader, dropping the bytes between. Fewer,
 *                   larger reads suit object stores (one request per range);
 *                   a merged read is never longer than 8 MiB.
 */
typedef struct st_open_options {
    uint32_t struct_size;
    uint32_t flags;
    uint64_t max_header_size;
    const st_allocator *allocator;
    uint64_t read_gap;
} st_open_options;

/* No cast: sizeof is a constant that fits, so this is not narrowing in C++ either. */
#define ST_OPEN_OPTIONS_INIT { sizeof(st_open_options), 0u, 0u, NULL, 0u }

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

/*
 * A caller's storage: any byte source that can read a range (an HTTP client
 * doing range requests, an object-store SDK, a FUSE cache, a decrypting
 * layer). Start from ST_READER_INIT.
 *   struct_size  sizeof(st_reader) as the caller compiled it
 *   flags        ST_READER_THREAD_SAFE: read may be called from several
 *                threads at once; without it the handle serializes the calls
 *                with a lock of its own
 *   read         copies size bytes at offset (0 is the first byte of the
 *                8-byte prefix) into dst and returns 0; or returns an
 *                errno-style code (EIO, ETIMEDOUT...), or ST_READER_SHORT when
 *                the storage ended before size bytes. Anything other than 0
 *                fails the call that asked: ST_E_IO with err->sys_errno set to
 *                the code (EIO for ST_READER_SHORT), never a partial tensor.
 *                The library never asks for bytes at or past the declared size,
 *                and never for 0 bytes.
 *   ctx          passed back to read unchanged
 */
#define ST_READER_THREAD_SAFE 0x1u
#define ST_READER_SHORT (-1)

typedef struct st_reader {
    uint32_t struct_size;
    uint32_t flags;
    int (*read)(void *ctx, uint64_t offset, void *dst, size_t size);
    void *ctx;
} st_reader;

#define ST_READER_INIT { sizeof(st_reader), 0u, NULL, NULL }

/*
 * Opens a file of `size` bytes through a caller's reader. It reads the 8-byte
 * prefix and then the N header bytes (two calls of read; one when the file is
 * shorter than 8 bytes, or three when the file breaks rules 1 to 3: the third
 * reads up to 512 bytes to name a known other format), and validates them
 * exactly as st_open_path does, the header cap and coverage of `size` included.
 * No data byte is read at open. Afterwards st_tensor_read and
 * st_tensor_read_slice call read for data, and nothing else does: the handle
 * maps nothing, every st_tensor's data is NULL, st_file_bytes is NULL, and the
 * functions that return or copy from a data pointer (st_tensor_as_*,
 * st_tensor_view, st_tensor_copy, st_tensor_copy_elements, st_tensor_to_f32,
 * st_tensor_copy_slice) give ST_E_NO_DATA.
 *   reader  copied into the handle (its ctx must stay valid until st_close)
 *   opts    as for st_open_path; ST_OPEN_CLOSE_FD and ST_OPEN_READ are
 *           ST_E_INVALID_ARGUMENT
 * Statuses: those of st_open_memory; ST_E_INVALID_ARGUMENT for a NULL out or
 * reader, a reader without read, or a struct_size too small; ST_E_IO when a read
 * fails (offset = the first byte asked for, sys_errno = the reader's code).
 */
ST_API st_status st_open_reader(st_file **out, const st_reader *reader, uint64_t size,
                                const st_open_options *opts, st_error *err);

/*
 * Header-only open: lists a file from its first bytes, e.g. after one or two
 * range requests. prefix holds the first prefix_size bytes of a file of
 * file_size bytes; it needs at least 8 + N of them (N from the first 8), and
 * any further bytes are ignored. Every rule is checked, including that the
 * tensors exactly fill file_size - 8 - N bytes. Names, shapes, dtypes, offsets
 * and metadata are copied into the handle: prefix may be freed when this
 * returns. Data access gives ST_E_NO_DATA (st_tensor_read and
 * st_tensor_read_slice included); st_file_bytes is NULL.
 *   ST_E_NEED_MORE         the prefix ends before the header does: err->offset
 *                          is the number of bytes needed (8, or 8 + N); fetch
 *                          that many and call again
 *   ST_E_INVALID_ARGUMENT  out NULL, prefix NULL with prefix_size > 0,
 *                          prefix_size > file_size, ST_OPEN_CLOSE_FD or
 *                          ST_OPEN_READ in opts
 * and the statuses of st_open_memory.
 */
ST_API st_status st_open_header(st_file **out, const void *prefix, uint64_t prefix_size,
                                uint64_t file_size, const st_open_options *opts,
                                st_error *err);

/* Releases everything the handle holds. NULL is a no-op. Views obtained from the
 * handle are invalid afterwards. Not to be called while other threads read. */
ST_API void st_close(st_file *file);

/*
 * A cache of memory blocks in front of an allocator, for a program that opens
 * many files one after another in one process (a checker of many files, a
 * loader of shards): a block of 4 KiB to 2 MiB that a closed handle frees is
 * kept (at most 32 blocks, 8 MiB in all) and serves the next open, instead of
 * memory the C library gives back to the OS and must map and fault in again
 * for the next file. The library keeps no state between calls of its own; this
 * is the state, held in the allocator hook's context. (A sharded model does
 * the same for its shards without being asked.)
 *   st_alloc_cache_new        base: where blocks come from and finally go
 *                             (NULL for malloc/realloc/free). Statuses:
 *                             ST_E_INVALID_ARGUMENT (out NULL, base missing a
 *                             function), ST_E_NOMEM.
 *   st_alloc_cache_allocator  the hook to give as st_open_options.allocator
 *                             (or as the file options of a model); valid
 *                             until the cache is closed. NULL for NULL.
 *   st_alloc_cache_close      gives every kept block back to base; every
 *                             handle opened through the cache must be closed
 *                             first. NULL is a no-op.
 * Thread-safe: handles on several threads may allocate through one cache.
 */
typedef struct st_alloc_cache st_alloc_cache;
ST_API st_status st_alloc_cache_new(st_alloc_cache **out, const st_allocator *base,
                                    st_error *err);
ST_API const st_allocator *st_alloc_cache_allocator(const st_alloc_cache *cache);
ST_API void st_alloc_cache_close(st_alloc_cache *cache);

/* ---------------------------------------------------------------- file facts */

/* Each getter returns 0 for a NULL handle. */
ST_API uint64_t st_file_size(const st_file *file);        /* total bytes */
ST_API uint64_t st_file_header_size(const st_file *file); /* N, the JSON length */
ST_API uint64_t st_file_data_offset(const st_file *file); /* 8 + N */
ST_API uint64_t st_file_data_size(const st_file *file);   /* bytes after 8 + N */
/* Pointer to byte 0 of the file (mapping or borrowed buffer); NULL if NULL,
 * and for handles of st_open_reader and st_open_header (no bytes in memory). */
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
 *   data            pointer to the bytes (in the mapping or borrowed buffer);
 *                   NULL for handles of st_open_reader and st_open_header
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
 *   ST_E_NO_DATA           the handle has no data in memory (st_open_reader,
 *                          st_open_header): read it with st_tensor_read
 * Checks run in this order: NULL arguments, dtype, data in memory, byte order (every multi-byte
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
 * Otherwise *out = NULL and ST_E_NO_DATA, ST_E_MISALIGNED or ST_E_BYTE_ORDER
 * (ST_E_INVALID_ARGUMENT for NULL).
 */
ST_API st_status st_tensor_view(const st_tensor *t, const void **out);

/*
 * Copies size bytes of the tensor, starting byte_offset bytes into it, to dst.
 * Works for any alignment and dtype; bytes are copied as stored (little-endian).
 *   ST_E_INVALID_ARGUMENT  t NULL, or dst NULL with size > 0
 *   ST_E_NO_DATA           no data in memory (st_open_reader, st_open_header)
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
 *   ST_E_NO_DATA           no data in memory (st_open_reader, st_open_header)
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
 * handle made by st_open_memory or ST_OPEN_READ it is a memcpy; for one made
 * by st_open_reader it calls the reader (one call for the range).
 *   ST_E_INVALID_ARGUMENT  file or t NULL, or dst NULL with size > 0
 *   ST_E_RANGE             byte_offset + size exceeds t->nbytes (nothing read)
 *   ST_E_IO                read error or end of file (sys_errno set; a short read
 *                          means the file shrank since open), or the reader failed
 *   ST_E_NO_DATA           a handle of st_open_header (nothing to read from)
 * t must come from file. Thread-safe (pread does not move the file position).
 */
ST_API st_status st_tensor_read(const st_file *file, const st_tensor *t, uint64_t byte_offset,
                                void *dst, uint64_t size, st_error *err);

/*
 * N-dimensional slices (step 1), packed row-major (C order) into dst, as the
 * reference's get_slice returns them. Dimension d keeps indices
 * [start[d], stop[d]). Bytes that are consecutive in the file are moved
 * together: a slice of whole rows is one copy or read, a column slice one per
 * row, never one per element.
 *   rank        must equal t->rank (0 for a scalar: start and stop may be NULL)
 *   start/stop  rank entries each
 *   dst_size    bytes available at dst; the slice needs (product of
 *               stop[d] - start[d]) * bits / 8 (st_tensor_slice_size)
 * Checks, in this order, each with a message naming the tensor and the
 * dimension; nothing is written to dst when one fails:
 *   ST_E_INVALID_ARGUMENT  NULL file/t, t not from file, start or stop NULL
 *                          with rank > 0, rank differs from t->rank
 *   ST_E_RANGE             start[d] > stop[d], or stop[d] > t->shape[d]
 *   ST_E_PARTIAL_BYTE      F4 / F6_*: a contiguous run of the slice would start
 *                          or end inside a byte (packed elements cannot be
 *                          split); e.g. F4 [4, 6] rows [0,4) cols [1,3) runs
 *                          start at bit 4. Whole-byte slices of them work.
 *   ST_E_INVALID_ARGUMENT  dst NULL with a non-empty slice
 *   ST_E_BUFFER_TOO_SMALL  dst_size below the slice's size
 * A slice with no elements is ST_OK and writes nothing.
 */
ST_API st_status st_tensor_slice_size(const st_tensor *t, uint32_t rank, const uint64_t *start,
                                      const uint64_t *stop, uint64_t *nbytes, st_error *err);

/*
 * Reads a slice through the file's read path, as st_tensor_read does: pread on
 * the descriptor for st_open_path / st_open_fd (a truncated file gives ST_E_IO,
 * never SIGBUS), the reader for st_open_reader, a memcpy for st_open_memory and
 * ST_OPEN_READ; ST_E_NO_DATA for st_open_header. Through a descriptor or a
 * reader, ranges at most read_gap bytes apart (st_open_options; 64 KiB by
 * default) are read as one range, up to 8 MiB, into a buffer from the handle's
 * allocator and the wanted bytes are copied out; no byte is read twice. The
 * statuses above, plus ST_E_IO (offset = the first byte of the failed read,
 * sys_errno set) and ST_E_NOMEM (the merge buffer). Thread-safe.
 */
ST_API st_status st_tensor_read_slice(const st_file *file, const st_tensor *t, uint32_t rank,
                                      const uint64_t *start, const uint64_t *stop, void *dst,
                                      uint64_t dst_size, st_error *err);

/*
 * The same through the tensor's data pointer (memcpy from the mapping or the
 * borrowed buffer; a file truncated behind a mapping can raise SIGBUS, as for
 * st_tensor_copy). ST_E_NO_DATA for handles of st_open_reader and
 * st_open_header. Thread-safe.
 */
ST_API st_status st_tensor_copy_slice(const st_tensor *t, uint32_t rank, const uint64_t *start,
                                      const uint64_t *stop, void *dst, uint64_t dst_size,
                                      st_error *err);

/*
 * The even split of a dimension of `size` among n ranks, for rank r (0-based):
 * the first size % n ranks get size / n + 1 indices, the others size / n, in
 * rank order, so that N programs agree on who reads what without talking to
 * each other. Writes [*start, *stop). ST_E_INVALID_ARGUMENT when n is 0, r >= n,
 * or start or stop is NULL (then nothing is written).
 */
ST_API st_status st_split_even(uint64_t size, uint32_t n, uint32_t r, uint64_t *start,
                               uint64_t *stop);

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

/* Same for a tensor, with the range checked against t->numel (ST_E_RANGE);
 * ST_E_NO_DATA (after the dtype check) for a handle without data in memory. */
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
/*
 * A sharded model on a caller's storage (an object store, HTTP, a cache): the
 * index and every shard are read through readers the caller opens by name.
 * Start from ST_MODEL_STORAGE_INIT.
 *   open_file   gives a reader (st_reader, filled from ST_READER_INIT) and the
 *               total size of the file `name`: the index's name as passed to
 *               st_model_open_storage, or a shard's path exactly as the index
 *               writes it (relative to the index; already checked: no absolute
 *               path, no "..", no NUL). Returns 0, or an errno-style code
 *               (ST_E_IO, the code in sys_errno).
 *   close_file  may be NULL; else called once for every reader open_file gave,
 *               after the library's last read through it (the index right
 *               after it is read, a shard when it is closed or evicted)
 *   ctx         passed back unchanged; must stay valid until st_model_close
 */
typedef struct st_model_storage {
    uint32_t struct_size;
    uint32_t flags; /* none yet: 0 */
    int (*open_file)(void *ctx, const char *name, st_reader *reader, uint64_t *size);
    void (*close_file)(void *ctx, const st_reader *reader);
    void *ctx;
} st_model_storage;

#define ST_MODEL_STORAGE_INIT { sizeof(st_model_storage), 0u, NULL, NULL, NULL }

/*
 * Opens a sharded model whose index is the file index_name of storage. The
 * index is read whole through its reader (at most max_header_size bytes) and
 * checked as st_model_open checks it; shards open lazily through
 * st_open_reader (so their handles hold no data in memory: read with
 * st_tensor_read and st_tensor_read_slice) and are checked against the weight
 * map. ST_MODEL_FOLLOW_SYMLINKS has no meaning here and is ignored, as is
 * ST_OPEN_READ in file_options. Statuses: those of st_model_open and
 * st_open_reader; ST_E_INVALID_ARGUMENT for a NULL storage or index_name, an
 * empty index_name, a storage without open_file, struct_size too small or
 * unknown flags.
 */
ST_API st_status st_model_open_storage(st_model **out, const st_model_storage *storage,
                                       const char *index_name, const st_model_options *opts,
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
 * found only by st_metadata_find_n). Lives inside the handle: the handle stores
 * the keys and values compactly at open and makes these records on first use
 * (st_metadata_at / st_metadata_find*, 1024 at a time, allocated through the
 * handle's allocator); a record, once returned, stays at the same address until
 * st_close. */
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
/* Entry by position in header order; NULL if out of range, or if the entry's
 * memory cannot be allocated (a later call tries again). Thread-safe on one
 * handle (the first use of an entry takes a lock of the handle's). */
ST_API const st_metadata_entry *st_metadata_at(const st_file *file, uint64_t index);
/* Entry by key, O(1) expected; NULL if absent, if an argument is NULL, or if the
 * entry's memory cannot be allocated (a later call tries again). Thread-safe as
 * st_metadata_at. */
ST_API const st_metadata_entry *st_metadata_find(const st_file *file, const char *key);
ST_API const st_metadata_entry *st_metadata_find_n(const st_file *file,
                                                   const char *key, size_t key_len);

/*
 * The index's "metadata" object, in index order ("total_size", "total_parameters"
 * and whatever else the writer put there). Keys are decoded; a string value is
 * decoded, any other value (a number, true, an object...) is given as its JSON
 * text exactly as written ("total_size": 16060522496 gives "16060522496"). An
 * absent, null, empty or non-object "metadata", and a model opened from a single
 * .safetensors file, have no entries. Entries live in the model. find is
 * linear in the number of entries (indexes hold a handful); NULL if absent or
 * an argument is NULL.
 */
ST_API uint64_t st_model_metadata_count(const st_model *model);
ST_API const st_metadata_entry *st_model_metadata_at(const st_model *model, uint64_t index);
ST_API const st_metadata_entry *st_model_metadata_find(const st_model *model, const char *key);
ST_API const st_metadata_entry *st_model_metadata_find_n(const st_model *model,
                                                         const char *key, size_t key_len);

/* ---------------------------------------------------------------- writing */

/*
 * One tensor to write.
 *   name, name_len  UTF-8, no NUL inside; not "__metadata__"; unique
 *   dtype           an st_dtype
 *   rank, shape     rank dimensions (shape may be NULL when rank is 0: a scalar)
 *   data            st_write_*: the tensor's bytes as they go in the file
 *                   (little-endian, packed), numel * bits / 8 of them; may be
 *                   NULL for 0 bytes. Ignored by st_writer_begin_* (streaming).
 */
typedef struct st_tensor_spec {
    const char *name;
    uint64_t name_len;
    int dtype;
    uint32_t rank;
    const uint64_t *shape;
    const void *data;
} st_tensor_spec;

/* Writer flags. */
#define ST_WRITE_KEEP_ORDER 0x1u /* tensors in the caller's order instead of the
                                    reference's (dtype descending, then name) */
#define ST_WRITE_NO_SYNC    0x2u /* paths: skip the fsync of the file and of its
                                    directory (scratch files; no durability) */

/*
 * Writer options that can grow: start from ST_WRITE_OPTIONS_INIT.
 *   flags            ST_WRITE_* bits; unknown bits are ST_E_INVALID_ARGUMENT
 *   alignment        0 or 8: the data section starts at a multiple of 8, as the
 *                    reference writes it; else a power of two up to 4096 (for
 *                    O_DIRECT and GPU-direct readers): the header is padded with
 *                    more spaces, still a valid file
 *   max_header_size  0 for ST_DEFAULT_MAX_HEADER_SIZE: a padded header above it is
 *                    ST_E_HEADER_TOO_LARGE, as the reader would refuse it
 *   allocator        NULL for malloc/realloc/free
 */
typedef struct st_write_options {
    uint32_t struct_size;
    uint32_t flags;
    uint32_t alignment;
    uint32_t reserved_; /* 0 */
    uint64_t max_header_size;
    const st_allocator *allocator;
} st_write_options;

#define ST_WRITE_OPTIONS_INIT { sizeof(st_write_options), 0u, 0u, 0u, 0u, NULL }

/*
 * Writes a safetensors file of count tensors and nmeta metadata entries
 * (metadata NULL and nmeta 0 for none: no "__metadata__" is written; nmeta 0
 * with metadata non-NULL writes an empty object). With the default layout the
 * bytes are those the reference serializer writes for the same tensors and
 * metadata (metadata keys in the order given). Every rule a writer can break is
 * checked before anything is written: ST_E_NAME (NUL in a name, "__metadata__"),
 * ST_E_UTF8, ST_E_DUPLICATE (tensor names, metadata keys), ST_E_DTYPE,
 * ST_E_OVERFLOW, ST_E_PARTIAL_BYTE, ST_E_HEADER_TOO_LARGE, ST_E_INVALID_ARGUMENT;
 * err.tensor names the tensor.
 * The file appears atomically: a temporary file in the same directory is
 * written, flushed (fsync), renamed over path, and the directory is flushed. On
 * any failure path is untouched and the temporary file removed. ST_E_IO (with
 * sys_errno) for a failed system call. Thread-safe (no globals).
 */
ST_API st_status st_write_file(const char *path, const st_tensor_spec *tensors, uint64_t count,
                               const st_metadata_entry *metadata, uint64_t nmeta,
                               const st_write_options *opts, st_error *err);
/* The same into a caller's descriptor, from its offset 0 (positional writes; the
 * file position is not moved; nothing is truncated): no atomicity. */
ST_API st_status st_write_fd(int fd, const st_tensor_spec *tensors, uint64_t count,
                             const st_metadata_entry *metadata, uint64_t nmeta,
                             const st_write_options *opts, st_error *err);
/* The same into dst[0..dst_size). *size (must not be NULL) receives the file's
 * size, also when dst is NULL (a size query, ST_OK) or too small (ST_E_RANGE,
 * nothing written). */
ST_API st_status st_write_memory(void *dst, uint64_t dst_size, uint64_t *size,
                                 const st_tensor_spec *tensors, uint64_t count,
                                 const st_metadata_entry *metadata, uint64_t nmeta,
                                 const st_write_options *opts, st_error *err);

/*
 * Streaming: the tensors and metadata are declared first, which fixes the header
 * and every offset; the header is written at once. Data then comes through
 * st_writer_write(), in any order, in pieces, from any number of threads.
 * Memory stays about the size of the header whatever the data size.
 * st_writer_finish() checks that every byte of every tensor was written once
 * (ST_E_INCOMPLETE names the first tensor that was not), then (path) flushes
 * the temporary file and renames it over the target, and frees the writer in
 * every case. st_writer_abort() frees it and removes the temporary file.
 */
typedef struct st_writer st_writer; /* opaque */

ST_API st_status st_writer_begin_path(st_writer **out, const char *path,
                                      const st_tensor_spec *tensors, uint64_t count,
                                      const st_metadata_entry *metadata, uint64_t nmeta,
                                      const st_write_options *opts, st_error *err);
/* The same into a caller's descriptor (not closed; no atomicity). */
ST_API st_status st_writer_begin_fd(st_writer **out, int fd,
                                    const st_tensor_spec *tensors, uint64_t count,
                                    const st_metadata_entry *metadata, uint64_t nmeta,
                                    const st_write_options *opts, st_error *err);
/* Writes size bytes of tensor index (the position in the caller's array) at
 * byte_offset of its data. Thread-safe. ST_E_RANGE past the tensor's end,
 * ST_E_WRITTEN_TWICE if any of the bytes were already written (nothing is
 * written, and the writer fails from then on: later writes and
 * st_writer_finish give ST_E_WRITTEN_TWICE and nothing is committed),
 * ST_E_IO for a failed write (the writer then fails at finish). */
ST_API st_status st_writer_write(st_writer *w, uint64_t index, uint64_t byte_offset,
                                 const void *src, uint64_t size, st_error *err);
/* Absolute file offset of tensor index's data, and the file's final size; 0 for
 * a NULL writer or an index out of range. */
ST_API uint64_t st_writer_tensor_offset(const st_writer *w, uint64_t index);
ST_API uint64_t st_writer_file_size(const st_writer *w);
ST_API st_status st_writer_finish(st_writer *w, st_error *err);
ST_API void st_writer_abort(st_writer *w);

/*
 * Writes a sharded model into the existing directory dir, laid out as the
 * Hugging Face tools lay it out. Tensors go, in the order given, into shards
 * of at most max_shard_bytes of data each (a tensor larger than that gets a
 * shard of its own; 0 means no limit): PREFIX-0000K-of-0000N.safetensors,
 * each with the metadata given and in the layout opts asks for. Then
 * PREFIX.safetensors.index.json maps every tensor to its shard
 * ({"metadata": {"total_size": N}, "weight_map": {...}}, keys sorted, two-space
 * indents, ASCII with \u escapes, as transformers writes it). When everything
 * fits in one shard, PREFIX.safetensors alone is written, without an index, as
 * transformers does. prefix NULL means "model"; it must be a plain file name.
 * *nshards (may be NULL) receives the number of shard files.
 * Every shard is written and flushed under a temporary name first, so any
 * failure up to then leaves dir as it was; the shards are then renamed into
 * place and the index last (see docs/security.md for what a crash in between
 * leaves). Statuses as st_write_file(); ST_E_NAME for a bad prefix.
 */
ST_API st_status st_write_sharded(const char *dir, const char *prefix, uint64_t max_shard_bytes,
                                  const st_tensor_spec *tensors, uint64_t count,
                                  const st_metadata_entry *metadata, uint64_t nmeta,
                                  const st_write_options *opts, uint64_t *nshards,
                                  st_error *err);

/* ---------------------------------------------------------------- version */

/* Runtime version: ST_VERSION_NUMBER of the library actually linked. */
ST_API unsigned st_version_number(void);
/* "0.1.0" */
ST_API const char *st_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* SAFETENSORS_H */
