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

/* The start malloc gave, kept in the bytes just before the aligned block. */
static void st__keep_raw(unsigned char *block, void *raw)
{
    memcpy(block - sizeof raw, &raw, sizeof raw);
}

static void *st__big_alloc(size_t size)
{
    size_t total, span;
    unsigned char *raw, *p;
    uintptr_t a;
    if (size > SIZE_MAX - 2 * ST__BIG - sizeof(void *)) return NULL;
    total = size + 2 * ST__BIG + sizeof(void *);
    raw = (unsigned char *)malloc(total);
    if (!raw) return NULL;
    a = ((uintptr_t)raw + sizeof(void *) + ST__BIG - 1) & ~(uintptr_t)(ST__BIG - 1);
    p = raw + (a - (uintptr_t)raw);
    st__keep_raw(p, raw);
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
        size_t off, noff, total, span;
        uintptr_t a;
        if (new_size > SIZE_MAX - 2 * ST__BIG - sizeof(void *)) return NULL;
        total = new_size + 2 * ST__BIG + sizeof(void *);
        memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
        off = (size_t)((unsigned char *)p - raw);
        nraw = (unsigned char *)realloc(raw, total);
        if (!nraw) return NULL;
        a = ((uintptr_t)nraw + sizeof(void *) + ST__BIG - 1) & ~(uintptr_t)(ST__BIG - 1);
        noff = (size_t)(a - (uintptr_t)nraw);
        if (noff != off) memmove(nraw + noff, nraw + off, old_size < new_size ? old_size : new_size);
        st__keep_raw(nraw + noff, nraw);
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

/* An allocator from the options: NULL keeps the default; a hook must have all
 * three functions. */
st_status st__opt_allocator(const st_allocator *a, st_allocator *out, st_error *err)
{
    if (!a) return ST_OK;
    if (!a->malloc_fn || !a->realloc_fn || !a->free_fn)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "allocator needs malloc_fn, realloc_fn and free_fn");
    *out = *a;
    return ST_OK;
}

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

void *st__arena_extend(st__arena *ar, const void *end, size_t size)
{
    st__block *b = ar->head;
    char *top;
    if (!b) return NULL;
    top = (char *)b + ST__BLOCK_HDR + b->used;
    if ((const char *)end != top || b->cap - b->used < size) return NULL;
    b->used += size;
    return top;
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

/* ---------------------------------------------------------------- block cache */

/* Every block carries its capacity in front (16 bytes keep the base
 * allocator's alignment), so a kept block can serve any request it fits and
 * its capacity is known when it comes back. */
#define ST__CACHE_HDR 16u

static void *st__cache_base_block(st__cache *c, size_t cap)
{
    unsigned char *b;
    if (cap > SIZE_MAX - ST__CACHE_HDR) return NULL;
    b = (unsigned char *)st__malloc(&c->base, ST__CACHE_HDR + cap);
    if (!b) return NULL;
    memcpy(b, &cap, sizeof cap);
    return b + ST__CACHE_HDR;
}

static size_t st__cache_cap(const void *p)
{
    size_t cap;
    memcpy(&cap, (const unsigned char *)p - ST__CACHE_HDR, sizeof cap);
    return cap;
}

static void *st__cache_malloc(void *ctx, size_t size)
{
    st__cache *c = (st__cache *)ctx;
    size_t cap = size, best = 0;
    unsigned i, found = 0;
    if (size >= ST__CACHE_MIN) {
        /* best fit among the kept blocks, wasting at most about half */
        st__os_lock_acquire(c->lock);
        for (i = 0; i < c->n; i++) {
            size_t k = st__cache_cap(c->blocks[i]);
            if (k >= size && k - size <= size + ST__CACHE_MIN &&
                (!found || k < st__cache_cap(c->blocks[best]))) {
                best = i;
                found = 1;
            }
        }
        if (found) {
            void *p = c->blocks[best];
            c->held -= st__cache_cap(p);
            c->blocks[best] = c->blocks[--c->n];
            st__os_lock_release(c->lock);
            return p;
        }
        st__os_lock_release(c->lock);
        /* whole pages: a block fits more of the requests that follow */
        if (size <= SIZE_MAX - (ST__CACHE_MIN - 1))
            cap = (size + ST__CACHE_MIN - 1) & ~(size_t)(ST__CACHE_MIN - 1);
    }
    return st__cache_base_block(c, cap);
}

static void st__cache_free(void *ctx, void *p, size_t size)
{
    st__cache *c = (st__cache *)ctx;
    size_t cap = st__cache_cap(p);
    (void)size;
    if (cap >= ST__CACHE_MIN && cap <= ST__CACHE_MAX_BLOCK) {
        st__os_lock_acquire(c->lock);
        if (c->n < ST__CACHE_BLOCKS && c->held + cap <= ST__CACHE_MAX_HELD) {
            c->blocks[c->n++] = p;
            c->held += cap;
            st__os_lock_release(c->lock);
            return;
        }
        st__os_lock_release(c->lock);
    }
    st__free(&c->base, (unsigned char *)p - ST__CACHE_HDR, ST__CACHE_HDR + cap);
}

static void *st__cache_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
    st__cache *c = (st__cache *)ctx;
    size_t cap = st__cache_cap(p);
    void *q;
    if (new_size <= cap && (new_size >= cap / 4 || cap < 4 * ST__CACHE_MIN))
        return p; /* fits, and not so much smaller that the rest is worth giving back */
    if (new_size > cap) {
        q = st__cache_malloc(ctx, new_size);
        if (!q) return NULL;
    } else {
        q = st__cache_base_block(c, new_size);
        if (!q) return NULL;
    }
    memcpy(q, p, old_size < cap ? (old_size < new_size ? old_size : new_size)
                                : (cap < new_size ? cap : new_size));
    st__cache_free(ctx, p, old_size);
    return q;
}

int st__cache_init(st__cache *c, const st_allocator *base)
{
    memset(c, 0, sizeof *c);
    c->base = *base;
    return st__os_lock_new(base, &c->lock);
}

void st__cache_allocator(st__cache *c, st_allocator *out)
{
    out->malloc_fn = st__cache_malloc;
    out->realloc_fn = st__cache_realloc;
    out->free_fn = st__cache_free;
    out->ctx = c;
}

void st__cache_close(st__cache *c)
{
    unsigned i;
    for (i = 0; i < c->n; i++)
        st__free(&c->base, (unsigned char *)c->blocks[i] - ST__CACHE_HDR,
                 ST__CACHE_HDR + st__cache_cap(c->blocks[i]));
    c->n = 0;
    c->held = 0;
    if (c->lock) st__os_lock_free(&c->base, c->lock);
    c->lock = NULL;
}

/* ---------------------------------------------------------------- public cache */

struct st_alloc_cache {
    st__cache cache;
    st_allocator hook;
};

st_status st_alloc_cache_new(st_alloc_cache **out, const st_allocator *base, st_error *err)
{
    st_allocator a = st__default_allocator;
    st_alloc_cache *c;
    st_status s;
    if (out) *out = NULL;
    if (!out)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "out is NULL");
    s = st__opt_allocator(base, &a, err);
    if (s != ST_OK) return s;
    c = (st_alloc_cache *)st__malloc(&a, sizeof *c);
    if (!c) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    if (st__cache_init(&c->cache, &a) != 0) {
        st__free(&a, c, sizeof *c);
        return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "cannot create a lock");
    }
    st__cache_allocator(&c->cache, &c->hook);
    *out = c;
    st__clear_error(err);
    return ST_OK;
}

const st_allocator *st_alloc_cache_allocator(const st_alloc_cache *cache)
{
    return cache ? &cache->hook : NULL;
}

void st_alloc_cache_close(st_alloc_cache *cache)
{
    st_allocator a;
    if (!cache) return;
    a = cache->cache.base;
    st__cache_close(&cache->cache);
    st__free(&a, cache, sizeof *cache);
}
