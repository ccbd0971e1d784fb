/* The allocator hook and the handle's arena. */
#include "os.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The default allocator shapes its blocks for the page faults of an open. glibc
 * gives blocks of 128 KiB and more back to the OS when they are freed, so each
 * open maps its big blocks afresh, and every 4 KiB page of them costs a page
 * fault: well under a microsecond on bare metal, but 25 us or more in some
 * virtual machines, where the faults were most of a first open's time.
 * - Blocks of ST__BIG (2 MiB) or more, where the OS gives huge pages on request
 *   (Linux): aligned to 2 MiB (over-allocated; the start malloc gave is kept
 *   just before the block) and advised as huge pages over their whole length
 *   rounded up, so each 2 MiB costs one fault, taken only when first used.
 * - Blocks from ST__MID (64 KiB) up, otherwise: mapped in one call as they are
 *   allocated (arena blocks and index arrays, which the open fills at once).
 * A hook of your own gets none of this. */
#define ST__BIG ((size_t)2 << 20)
#define ST__MID ((size_t)64 << 10)

static int st__is_big(size_t size)
{
    return size >= ST__BIG && st__os_huge_ok();
}

static void *st__big_alloc(size_t size)
{
    size_t total = size + 2 * ST__BIG + sizeof(void *), span;
    unsigned char *raw, *p;
    uintptr_t a;
    if (total < size) return NULL;
    raw = (unsigned char *)malloc(total);
    if (!raw) return NULL;
    a = ((uintptr_t)raw + sizeof(void *) + ST__BIG - 1) & ~(uintptr_t)(ST__BIG - 1);
    p = raw + (a - (uintptr_t)raw);
    memcpy(p - sizeof(void *), &raw, sizeof raw);
    span = (size + ST__BIG - 1) & ~(ST__BIG - 1); /* inside raw's allocation */
    st__os_advise_huge(p, span);
    return p;
}

static void st__big_free(void *p)
{
    unsigned char *raw;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
    free(raw);
}

static void *st__std_malloc(void *ctx, size_t size)
{
    void *p;
    (void)ctx;
    if (st__is_big(size)) return st__big_alloc(size);
    p = malloc(size ? size : 1);
    if (p && size >= ST__MID) st__os_prefault(p, size);
    return p;
}

static void *st__std_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
    void *q;
    (void)ctx;
    if (!st__is_big(old_size) && !st__is_big(new_size)) {
        q = realloc(p, new_size ? new_size : 1);
        if (q && new_size > old_size && new_size >= ST__MID)
            st__os_prefault((char *)q + old_size, new_size - old_size);
        return q;
    }
    if (st__is_big(old_size) && st__is_big(new_size)) {
        /* an aligned block grows or shrinks where realloc can move its pages
         * (mremap) rather than copy them; the bytes then shift by less than
         * 2 MiB to the new alignment */
        unsigned char *raw, *nraw;
        size_t off, noff, total = new_size + 2 * ST__BIG + sizeof(void *), span;
        uintptr_t a;
        if (total < new_size) return NULL;
        memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
        off = (size_t)((unsigned char *)p - raw);
        nraw = (unsigned char *)realloc(raw, total);
        if (!nraw) return NULL;
        a = ((uintptr_t)nraw + sizeof(void *) + ST__BIG - 1) & ~(uintptr_t)(ST__BIG - 1);
        noff = (size_t)(a - (uintptr_t)nraw);
        if (noff != off) memmove(nraw + noff, nraw + off, old_size < new_size ? old_size : new_size);
        memcpy(nraw + noff - sizeof(void *), &nraw, sizeof nraw);
        span = (new_size + ST__BIG - 1) & ~(ST__BIG - 1);
        st__os_advise_huge(nraw + noff, span);
        return nraw + noff;
    }
    /* into or out of an aligned block: a new block and a copy */
    q = st__std_malloc(NULL, new_size);
    if (!q) return NULL;
    memcpy(q, p, old_size < new_size ? old_size : new_size);
    if (st__is_big(old_size)) st__big_free(p);
    else free(p);
    return q;
}

static void st__std_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (p && st__is_big(size)) st__big_free(p);
    else free(p);
}

const st_allocator st__default_allocator = {st__std_malloc, st__std_realloc, st__std_free, NULL};

void *st__malloc(const st_allocator *a, size_t size)
{
    return a->malloc_fn(a->ctx, size);
}

void *st__realloc(const st_allocator *a, void *p, size_t old_size, size_t new_size)
{
    if (!p) return a->malloc_fn(a->ctx, new_size);
    return a->realloc_fn(a->ctx, p, old_size, new_size);
}

void st__free(const st_allocator *a, void *p, size_t size)
{
    if (p) a->free_fn(a->ctx, p, size);
}

#define ST__BLOCK_HDR ((sizeof(st__block) + 7u) & ~(size_t)7u)

static void *st__arena_take(st__arena *ar, size_t need);

void *st__arena_alloc(st__arena *ar, size_t size)
{
    size_t need = (size + 7u) & ~(size_t)7u;
    if (need < size) return NULL;
    return st__arena_take(ar, need);
}

void *st__arena_alloc_bytes(st__arena *ar, size_t size)
{
    return st__arena_take(ar, size);
}

/* Takes need bytes (already rounded as the caller wants) from the head block,
 * or from a new block. */
static void *st__arena_take(st__arena *ar, size_t need)
{
    st__block *b = ar->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = ar->block_size;
        size_t total;
        if (cap < need) cap = need;
        total = ST__BLOCK_HDR + cap;
        if (total < cap) return NULL;
        if (total > ST__BIG / 2 && total < ST__BIG) {
            /* a block of about 1 MiB (a header of several MB) takes exactly one
             * huge page (see the default allocator above) */
            total = ST__BIG;
            cap = total - ST__BLOCK_HDR;
        }
        b = (st__block *)st__malloc(ar->alloc, total);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->alloc_size = total;
        if (ar->head && need > ar->block_size) {
            /* an oversized block goes behind the head so the head's free space stays usable */
            b->next = ar->head->next;
            ar->head->next = b;
        } else {
            b->next = ar->head;
            ar->head = b;
        }
    }
    {
        void *p = (char *)b + ST__BLOCK_HDR + b->used;
        b->used += need;
        return p;
    }
}

void st__arena_free_all(st__arena *ar)
{
    st__block *b = ar->head;
    while (b) {
        st__block *next = b->next;
        st__free(ar->alloc, b, b->alloc_size);
        b = next;
    }
    ar->head = NULL;
}

size_t st__arena_bytes(const st__arena *ar)
{
    size_t n = 0;
    const st__block *b;
    for (b = ar->head; b; b = b->next) n += b->alloc_size;
    return n;
}
