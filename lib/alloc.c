/* The allocator hook and the handle's arena. */
#include "os.h"

#include <stdint.h>
#include <stdlib.h>

/* Large blocks (the token array and the tensor records of a large header) ask
 * for huge pages where the OS offers them on request: st__os_advise_huge. */
static void *st__std_malloc(void *ctx, size_t size)
{
    void *p;
    (void)ctx;
    p = malloc(size ? size : 1);
    st__os_advise_huge(p, size);
    return p;
}

static void *st__std_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
    void *q;
    (void)ctx;
    q = realloc(p, new_size ? new_size : 1);
    if (new_size > old_size) st__os_advise_huge(q, new_size);
    return q;
}

static void st__std_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
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
