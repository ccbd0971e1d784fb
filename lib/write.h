/* Private to the writer: write_layout.c (the specs checked, ordered, laid out
 * and turned into the header) and write.c (where the bytes go: a temporary file
 * renamed over the target, a descriptor, a buffer; streaming). Never installed. */
#ifndef ST_WRITE_H
#define ST_WRITE_H

#include "os.h"

typedef struct st__wlayout {
    const st_allocator *alloc;
    uint64_t count;
    uint32_t *order;   /* file position -> index in the caller's array */
    uint64_t *begin;   /* per caller index: offset of its data in the data section */
    uint64_t *nbytes;  /* per caller index */
    unsigned char *head; /* the 8-byte length, then the padded header: head_len bytes */
    size_t head_len;
    uint64_t data_size;
} st__wlayout;

/* Checks every spec and metadata entry, orders the tensors (flags:
 * ST_WRITE_KEEP_ORDER), lays out their offsets and builds the header padded for
 * alignment (8 to 4096). need_data: a spec with bytes but no data pointer is
 * ST_E_INVALID_ARGUMENT. Nothing to free on failure. */
st_status st__wlayout_build(st__wlayout *L, const st_allocator *a, const st_tensor_spec *t,
                            uint64_t count, const st_metadata_entry *meta, uint64_t nmeta,
                            uint32_t flags, uint32_t alignment, uint64_t cap, int need_data,
                            st_error *err);
void st__wlayout_free(st__wlayout *L);
/* Bottom-up merge sort of v[0..n) by less(ctx, x, y), with scratch tmp[0..n):
 * O(n log n) whatever the input (names come from the caller). */
void st__msort_u32(uint32_t *v, uint32_t *tmp, size_t n,
                   int (*less)(const void *ctx, uint32_t x, uint32_t y), const void *ctx);

/* write.c's pieces for write_sharded.c. st__writer_new: options, layout, the
 * file (a temporary one beside path, or a duplicate of fd; path NULL) and the
 * header; streaming 0: the specs' data is required. st__write_all: every
 * tensor's data. st__writer_seal: flush and close the temporary file;
 * st__writer_rename: rename it over the target; st__writer_sync_dir: flush
 * the target's directory. st__writer_discard closes the file and removes a
 * temporary file still there; st__writer_free frees. */
st_status st__writer_new(st_writer **out, const char *path, int fd, const st_tensor_spec *t,
                         uint64_t count, const st_metadata_entry *meta, uint64_t nmeta,
                         const st_write_options *opts, int streaming, st_error *err);
st_status st__write_all(st_writer *w, const st_tensor_spec *t, st_error *err);
st_status st__writer_seal(st_writer *w, st_error *err);
st_status st__writer_rename(st_writer *w, st_error *err);
st_status st__writer_sync_dir(const st_writer *w, st_error *err);
void st__writer_discard(st_writer *w);
void st__writer_free(st_writer *w);
/* Creates "<path>.<16 hex digits>.tmp" exclusively; its name in
 * tmp[ST__PATH_MAX]. 0 or an errno-style code. */
int st__create_temp(const char *path, st__fh *h, char *tmp);

#endif /* ST_WRITE_H */
