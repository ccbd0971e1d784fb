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

#endif /* ST_WRITE_H */
