/* Private declarations shared by lib/ files. Never installed. Every function
 * here is hidden (the build uses -fvisibility=hidden); names use st__. */
#ifndef ST_INTERNAL_H
#define ST_INTERNAL_H

/* 64-bit off_t on 32-bit hosts too (a no-op on 64-bit ones): without it open,
 * fstat, mmap and pread fail with EOVERFLOW on files past 2 GiB, which must be
 * sized and then refused as ST_E_TOO_BIG or read. Must precede every system
 * header: each lib/ file includes this header (or json.h, model.h) first. */
#if !defined(_FILE_OFFSET_BITS)
#define _FILE_OFFSET_BITS 64
#endif

#include "safetensors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__MINGW32__)
#include <stdio.h> /* __MINGW_PRINTF_FORMAT */
#endif

#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
/* mingw-w64: the format the build's printf family takes (gnu_printf with
 * __USE_MINGW_ANSI_STDIO, which make windows defines for %zu and %llu; plain
 * "printf" would mean msvcrt's) */
#define ST__PRINTF(a, b) __attribute__((format(__MINGW_PRINTF_FORMAT, a, b)))
#define ST__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ST__LIKELY(x) __builtin_expect(!!(x), 1)
#elif defined(__GNUC__)
#define ST__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ST__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ST__LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define ST__PRINTF(a, b)
#define ST__UNLIKELY(x) (x)
#define ST__LIKELY(x) (x)
#endif

#define ST__NO_OFFSET UINT64_MAX

/* An open file of the platform layer (os.h): a descriptor on POSIX, a HANDLE
 * on Windows. */
typedef intptr_t st__fh;
#define ST__FH_NONE ((st__fh)-1)

/* ---------------------------------------------------------------- allocation */

/* Arena: blocks that never move, so pointers into them stay valid. */
typedef struct st__block {
    struct st__block *next;
    size_t cap;
    size_t used;
    size_t alloc_size; /* bytes requested from the allocator for this block */
} st__block;

typedef struct st__arena {
    const st_allocator *alloc;
    st__block *head;
    size_t block_size; /* default size of new blocks */
} st__arena;

void *st__malloc(const st_allocator *a, size_t size);
void *st__realloc(const st_allocator *a, void *p, size_t old_size, size_t new_size);
void st__free(const st_allocator *a, void *p, size_t size);
/* Allocates size bytes aligned to 8 from the arena; NULL on failure. */
void *st__arena_alloc(st__arena *ar, size_t size);
/* Allocates size bytes with no alignment (packed strings): only for an arena
 * that st__arena_alloc never uses. */
void *st__arena_alloc_bytes(st__arena *ar, size_t size);
/* Extends, by size bytes, the allocation of st__arena_alloc_bytes that ends at
 * end, in place: the new bytes, or NULL if end is not the end of the last
 * allocation in the current block or there is no room there. */
void *st__arena_extend(st__arena *ar, const void *end, size_t size);
void st__arena_free_all(st__arena *ar);
/* Bytes held by the arena's blocks (for measurements). */
size_t st__arena_bytes(const st__arena *ar);
extern const st_allocator st__default_allocator;

/* A cache of freed blocks in front of an allocator, for handles opened one
 * after another (the shards of a model): a block of 4 KiB to 2 MiB that a
 * handle frees is kept, at most 32 blocks and 8 MiB in all, and serves the
 * next request it fits (wasting at most about half of it). Each open of a
 * similar file then reuses the last one's memory instead of pages the C
 * library has just given back to the OS and must map and fault in again.
 * Thread-safe (a lock of its own). */
#define ST__CACHE_MIN ((size_t)4096)
#define ST__CACHE_MAX_BLOCK ((size_t)2 << 20)
#define ST__CACHE_MAX_HELD ((size_t)8 << 20)
#define ST__CACHE_BLOCKS 32u
struct st__os_lock;
typedef struct st__cache {
    st_allocator base; /* where blocks come from and finally go */
    struct st__os_lock *lock;
    void *blocks[ST__CACHE_BLOCKS]; /* kept blocks (their capacity in front) */
    unsigned n;
    size_t held; /* their capacities in all */
} st__cache;
/* 0, or an errno value (the lock could not be made). */
int st__cache_init(st__cache *c, const st_allocator *base);
/* The hook that allocates through c (ctx = c). */
void st__cache_allocator(st__cache *c, st_allocator *out);
/* Gives every kept block back to the base allocator; every block from c must
 * have been freed. */
void st__cache_close(st__cache *c);

/* Options shared by the open and write calls (open.c): a max_header_size
 * (0 keeps *cap; above ST_MAX_HEADER_SIZE_LIMIT is ST_E_INVALID_ARGUMENT) and
 * an allocator hook (NULL keeps *out; a missing function is
 * ST_E_INVALID_ARGUMENT). */
st_status st__opt_cap(uint64_t max_header_size, uint64_t *cap, st_error *err);
st_status st__opt_allocator(const st_allocator *a, st_allocator *out, st_error *err);

/* ---------------------------------------------------------------- errors */

/* Writes the record (if err is not NULL) and returns status. offset is an
 * absolute file offset or ST__NO_OFFSET; name may be NULL (no tensor). */
st_status st__fail(st_error *err, st_status status, uint64_t offset, const char *name,
                   size_t name_len, const char *fmt, ...) ST__PRINTF(6, 7);
st_status st__vfail(st_error *err, st_status status, uint64_t offset, const char *name,
                    size_t name_len, const char *fmt, va_list ap) ST__PRINTF(6, 0);
void st__clear_error(st_error *err);
/* Appends suffix to err->message if it fits whole. */
void st__append(st_error *err, const char *suffix);
/* Writes a name for a message: at most max bytes, control characters and '"'
 * escaped, "..." if cut. Returns out. */
const char *st__quote(char *out, size_t out_size, const char *s, size_t len);

/* ---------------------------------------------------------------- utf-8 */

/* 1 if s[0..n) is valid UTF-8 (RFC 3629); else 0 and *bad = index of the first
 * byte of the first invalid sequence. */
int st__utf8_valid(const unsigned char *s, size_t n, size_t *bad);
/* The same; on success also sets *plain (if plain is not NULL) to 1 when no
 * byte is below 0x20 or a backslash: then no JSON string in s needs an escape
 * or control-character check. */
int st__utf8_scan(const unsigned char *s, size_t n, size_t *bad, int *plain);

/* ---------------------------------------------------------------- hashing */

typedef struct st__key128 {
    uint64_t k0, k1;
} st__key128;

uint64_t st__siphash(const st__key128 *key, const void *data, size_t len);
/* Per-handle secret key from the OS entropy source (with a fallback). */
void st__random_key(st__key128 *key);

/* Open-addressing table of indices into an array of (name, len) records. */
typedef struct st__hash {
    uint64_t *slots;    /* cap entries: 0 = empty, else low 32 bits of the hash << 32 |
                           (index + 1); the home position is st__hash_home */
    size_t cap;         /* any size (a power of two unless sized by st__hash_size) */
    size_t count;
    size_t limit;       /* the table grows before count passes this */
    int dense;          /* sized by st__hash_size: growth keeps its load */
    int direct;         /* names are stable, NUL-terminated and hold no NUL */
    const char **names; /* direct tables: the name of each index */
    size_t names_cap;
    const char *records; /* optional: records to prefetch on a tag match */
    size_t record_size;
} st__hash;

/* The home slot of hash hv in a table of cap slots: the 32-bit tag mapped onto
 * [0, cap) by a multiply (Lemire's fast range), so cap need not be a power of
 * two; past 2^32 slots (unreachable for a header, kept correct) hv % cap. */
static inline size_t st__hash_home(size_t cap, uint64_t hv)
{
    if (ST__LIKELY(((cap - 1) >> 16 >> 16) == 0))
        return (size_t)(((uint64_t)(uint32_t)hv * (uint64_t)cap) >> 32);
    return (size_t)(hv % (uint64_t)cap);
}

/* Gets the name of record idx (callback into the owner's array). */
typedef void (*st__name_fn)(const void *owner, uint32_t idx, const char **name,
                            size_t *len);

/* direct: every inserted name stays valid as long as the table, is
 * NUL-terminated and holds no NUL; the table then keeps each name's address by
 * index and lookups compare against it instead of calling back into the owner. */
int st__hash_init(st__hash *h, const st_allocator *a, size_t expected, int direct);
void st__hash_free(st__hash *h, const st_allocator *a);
/* Resizes an (indirect) table for expected records at a load of 2/3
 * (1/2 below 4096), its capacity any size: the table of a big object whose
 * size is estimated once. Moves slots by their tag, hashing no name (unless
 * past 2^32 slots). Later growth doubles and keeps that load. 0 if out of
 * memory (the table is unchanged); 1 if done or if the table is already big
 * enough. */
int st__hash_size(st__hash *h, const st_allocator *a, const st__key128 *key, const void *owner,
                  st__name_fn get, size_t expected);
/* Inserts idx under (name, len). Returns 1 inserted, 0 duplicate (*dup_idx set),
 * -1 out of memory. */
int st__hash_insert(st__hash *h, const st_allocator *a, const st__key128 *key,
                    const void *owner, st__name_fn get, const char *name, size_t len,
                    uint32_t idx, uint32_t *dup_idx);
/* The same with hv = st__siphash(key, name, len) computed by the caller, who
 * may have called st__hash_prefetch(h, hv) earlier to overlap the slot's cache
 * miss with other work. */
int st__hash_insert_hv(st__hash *h, const st_allocator *a, const st__key128 *key,
                       const void *owner, st__name_fn get, const char *name, size_t len,
                       uint64_t hv, uint32_t idx, uint32_t *dup_idx);
static inline void st__hash_prefetch(const st__hash *h, uint64_t hv)
{
#if defined(__GNUC__)
    /* the fast range alone: GCC 12 drops a prefetch whose address comes
     * through st__hash_home's second branch. Past 2^32 slots this is another
     * slot of the table (the product wraps below 2^64, the slot below 2^32):
     * a wasted prefetch, never one outside the table. */
    if (h->cap) __builtin_prefetch(&h->slots[(size_t)(((uint64_t)(uint32_t)hv * (uint64_t)h->cap) >> 32)], 1);
#else
    (void)h;
    (void)hv;
#endif
}
/* The records were reordered: the one at index i is now at perm[i]. Moves no
 * slot and hashes nothing; a direct table's names (h->names) are the caller's
 * to reorder. */
void st__hash_renumber(st__hash *h, const uint32_t *perm);
/* Index of the record named (name, len), or -1. */
int64_t st__hash_find(const st__hash *h, const st__key128 *key, const void *owner,
                      st__name_fn get, const char *name, size_t len);
/* The same for a name known to hold no NUL (len = strlen(name)). */
int64_t st__hash_find_str(const st__hash *h, const st__key128 *key, const void *owner,
                          st__name_fn get, const char *name, size_t len);

/* ---------------------------------------------------------------- the handle */

/* READER: st_open_reader (data through the caller's reader); HEADER:
 * st_open_header (no data at all). Neither has data in memory: their
 * tensors' data pointers are NULL and f->bytes is NULL after open. */
enum { ST__SRC_MEMORY = 0, ST__SRC_MAP = 1, ST__SRC_READ = 2, ST__SRC_READER = 3,
       ST__SRC_HEADER = 4 };
#define ST__SRC_HAS_DATA(kind) ((kind) < ST__SRC_READER)

/* Merged slice reads are never longer than this (the bounce buffer). */
#define ST__READ_SPAN_MAX ((uint64_t)8 << 20)

struct st__os_lock;

struct st_file {
    st_allocator alloc;
    /* source */
    const unsigned char *bytes;
    uint64_t size;
    int src_kind;
    void *map_addr;
    size_t map_len;
    st__fh fh;   /* the handle's own file (closed at st_close); ST__FH_NONE if none */
    void *owned;      /* ST__SRC_READ: the file's bytes, from alloc; READER:
                         the prefix and header during open */
    size_t owned_len; /* its size */
    uint64_t avail;   /* bytes at `bytes` during open (sniffing stays inside) */
    st_reader reader; /* ST__SRC_READER */
    struct st__os_lock *reader_lock; /* NULL when the reader is thread-safe */
    uint64_t read_gap; /* st_open_options.read_gap, resolved */
    /* frame */
    uint64_t header_size;
    uint64_t data_offset;
    uint32_t leniency_used;
    uint64_t trailing;
    /* tensors, header order; order[i] is the header index of file position i
     * (NULL when header order is file order) */
    st_tensor *tensors;
    uint64_t ntensors;
    size_t tensors_cap;
    uint32_t *order;
    st__hash names;
    /* metadata: per entry (header order), its blob in name_arena (layout:
     * above st__uleb_len); the public entries are made from the blobs on
     * demand, ST__META_CHUNK at a time, under meta_lock (index.c) */
    st_metadata_state meta_state;
    unsigned char **meta;
    uint64_t nmeta;
    size_t meta_cap;
    st__hash meta_hash;
    st_metadata_entry **meta_chunks; /* nchunks pointers, NULL until made */
    size_t meta_nchunks;
    struct st__os_lock *meta_lock;   /* NULL when there is no entry */
    st__key128 key;
    st__arena arena;
    st__arena name_arena; /* tensor names and metadata strings, packed in header order */
    /* during open only: per tensor (header order), header positions of the
     * shape and data_offsets arrays, for error offsets of rules 7 and 8 */
    uint64_t *tmp_pos;
    size_t tmp_pos_cap;
};

/* ---------------------------------------------------------------- steps */

/* Source: maps f->fh and fills bytes/size. Frees nothing on failure. */
st_status st__source_map(st_file *f, st_error *err);
/* ST_OPEN_READ: reads the whole file into owned memory instead, and closes
 * f->fh once read (the handle no longer needs it). */
st_status st__source_read(st_file *f, st_error *err);
void st__source_release(st_file *f);

/* Opens a file the library owns (st_open_path, shards of a model): h is
 * closed on failure too. opts must have been checked (st_open_options). */
st_status st__open_handle(st_file **out, st__fh h, const st_open_options *opts,
                          st_error *err);
/* ST__SRC_READER: reads [off, off + size) of the file through the caller's
 * reader (locked unless it is thread-safe), in calls of at most SIZE_MAX
 * bytes. 0, or the reader's code (ST_READER_SHORT as it came). */
int st__reader_read(const st_file *f, uint64_t off, void *dst, uint64_t size);
/* Reads the prefix and header through the reader into owned memory. */
st_status st__source_reader(st_file *f, uint64_t cap, st_error *err);
/* Reads size bytes at absolute file offset off (inside t) through the
 * handle's read path (pread, reader, or memcpy); errors name t and fn. */
st_status st__read_at(const st_file *f, const st_tensor *t, uint64_t off, void *dst,
                      uint64_t size, const char *fn, st_error *err);
/* The argument checks of the tensor functions that take a file: non-NULL,
 * and t is one of file's own views. */
st_status st__check_tensor(const st_file *file, const st_tensor *t, const char *fn,
                           st_error *err);

/* Copies count units of unit bytes, reversing the bytes of each. */
void st__copy_swapped(void *dst, const void *src, uint64_t count, size_t unit);

/* Frame: rules 1-3. Sets header_size and data_offset. */
st_status st__frame(st_file *f, uint64_t cap, st_error *err);
/* Recognises common non-safetensors files; returns a static description or
 * NULL. Called only once the file has failed a rule of 1 to 5. */
const char *st__sniff(const unsigned char *b, uint64_t size);

/* Header: rules 4-6 (UTF-8, JSON, schema). Fills tensors and metadata. */
st_status st__parse_header(st_file *f, uint32_t flags, st_error *err);

/* Validate: rules 7-9 and the file order. */
st_status st__validate(st_file *f, uint32_t flags, st_error *err);

/* Index lookups need the names of tensors in header order. */
void st__tensor_name(const void *owner, uint32_t idx, const char **name, size_t *len);
void st__meta_name(const void *owner, uint32_t idx, const char **name, size_t *len);

/* A metadata entry as open stores it, contiguous in the name arena: the key's
 * length (LEB128), the key, NUL, the value's length (LEB128), the value, NUL.
 * Lengths, because keys and values may hold NUL (\u0000); the value's comes
 * after the key because the key is stored before the value is read. */
#define ST__META_CHUNK 1024u /* public entries made at once (32 KiB on 64-bit) */
static inline size_t st__uleb_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
static inline unsigned char *st__uleb_put(unsigned char *p, size_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}
static inline const unsigned char *st__uleb_get(const unsigned char *p, size_t *v)
{
    size_t r = 0;
    unsigned shift = 0;
    unsigned char b;
    do {
        b = *p++;
        r |= (size_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    *v = r;
    return p;
}
/* Creates the chunk table and the lock of the public metadata entries (open,
 * once the header is valid). */
st_status st__meta_publish(st_file *f, st_error *err);
/* Frees them (st_close). */
void st__meta_release(st_file *f);

/* 1 on a big-endian host. */
int st__host_big_endian(void);

#endif /* ST_INTERNAL_H */
