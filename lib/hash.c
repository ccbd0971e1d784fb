/* Keyed hashing (SipHash-1-3 with a per-handle random key, so crafted names
 * cannot force collisions) and the open-addressing index used for names. */
#include "os.h"

#include <string.h>

#define ST__ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define ST__SIPROUND                                                              \
    do {                                                                          \
        v0 += v1; v1 = ST__ROTL(v1, 13); v1 ^= v0; v0 = ST__ROTL(v0, 32);         \
        v2 += v3; v3 = ST__ROTL(v3, 16); v3 ^= v2;                                \
        v0 += v3; v3 = ST__ROTL(v3, 21); v3 ^= v0;                                \
        v2 += v1; v1 = ST__ROTL(v1, 17); v1 ^= v2; v2 = ST__ROTL(v2, 32);         \
    } while (0)

static uint64_t st__load64le(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint64_t st__siphash(const st__key128 *key, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t v0 = key->k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = key->k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = key->k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = key->k1 ^ UINT64_C(0x7465646279746573);
    uint64_t b = (uint64_t)len << 56;
    size_t left = len;
    while (left >= 8) {
        uint64_t m = st__load64le(p);
        v3 ^= m;
        ST__SIPROUND;
        v0 ^= m;
        p += 8;
        left -= 8;
    }
    switch (left) {
    case 7: b |= (uint64_t)p[6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[0];       /* fall through */
    default: break;
    }
    v3 ^= b;
    ST__SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    ST__SIPROUND;
    ST__SIPROUND;
    ST__SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void st__random_key(st__key128 *key)
{
    unsigned char buf[16];
    st__os_random(buf, sizeof buf);
    key->k0 = st__load64le(buf);
    key->k1 = st__load64le(buf + 8);
}

/* ---------------------------------------------------------------- table */

static size_t st__pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* A slot is 0 when empty, else (low 32 bits of the hash) << 32 | (index + 1):
 * one 8-byte read per probe, so the table stays small enough to stay in cache.
 * The home position is computed from that 32-bit tag alone (st__hash_home), so
 * growing moves slots without hashing a name again; a match is confirmed by
 * comparing names. Probing is linear and wraps at cap, which need not be a
 * power of two: a table sized for an estimate (st__hash_size) takes what the
 * estimate needs, not up to twice that.
 * A direct table also keeps each record's name address in a dense array by
 * index, so a lookup reads the slot, that pointer and the name bytes, never the
 * owner's (larger, colder) record. */
#define ST__SLOT(tag, idx) (((uint64_t)(tag) << 32) | ((uint64_t)(idx) + 1))
#define ST__SLOT_TAG(s) ((uint32_t)((s) >> 32))
#define ST__SLOT_IDX(s) ((uint32_t)(s) - 1)
/* Dense tables of at least this many records are filled to 2/3, not 1/2: a
 * probe for a free slot then reads about 5 slots on average, still mostly one
 * cache line, and the table of a million-key object is 25% smaller. */
#define ST__DENSE_MIN 4096u

/* The count past which a table of cap slots grows. */
static size_t st__hash_limit(size_t cap, int dense)
{
    return dense && cap / 3 * 2 >= ST__DENSE_MIN ? cap / 3 * 2 : cap / 2;
}

static int st__slots_alloc(st__hash *h, const st_allocator *a, size_t cap)
{
    if (cap > SIZE_MAX / sizeof(uint64_t)) return 0;
    h->slots = (uint64_t *)st__malloc(a, cap * sizeof(uint64_t));
    if (!h->slots) return 0;
    memset(h->slots, 0, cap * sizeof(uint64_t));
    h->cap = cap;
    h->limit = st__hash_limit(cap, h->dense);
    return 1;
}

static int st__hash_alloc(st__hash *h, const st_allocator *a, size_t expected)
{
    if (expected > (SIZE_MAX / 4) / sizeof(uint64_t)) return 0;
    return st__slots_alloc(h, a, st__pow2_at_least(expected * 2 + 1));
}

int st__hash_init(st__hash *h, const st_allocator *a, size_t expected, int direct)
{
    memset(h, 0, sizeof *h);
    h->direct = direct;
    if (!st__hash_alloc(h, a, expected)) return 0;
    if (direct && expected) {
        h->names = (const char **)st__malloc(a, expected * sizeof *h->names);
        if (!h->names) {
            st__hash_free(h, a);
            return 0;
        }
        h->names_cap = expected;
    }
    return 1;
}

void st__hash_free(st__hash *h, const st_allocator *a)
{
    st__free(a, h->slots, h->cap * sizeof(uint64_t));
    st__free(a, (void *)h->names, h->names_cap * sizeof *h->names);
    memset(h, 0, sizeof *h);
}

/* Moves every slot into a new array of cap slots (cap > count). */
static int st__hash_move(st__hash *h, const st_allocator *a, const st__key128 *key,
                         const void *owner, st__name_fn get, size_t cap, int dense)
{
    st__hash n;
    size_t i;
    memset(&n, 0, sizeof n);
    n.dense = dense;
    if (!st__slots_alloc(&n, a, cap)) return 0;
    for (i = 0; i < h->cap; i++) {
        if (h->slots[i]) {
            size_t pos;
            if (((n.cap - 1) >> 16 >> 16) == 0) { /* at most 2^32 slots */
                pos = st__hash_home(n.cap, ST__SLOT_TAG(h->slots[i]));
            } else {
                /* past 2^32 slots the position needs more bits than the tag */
                const char *nm;
                size_t len;
                get(owner, ST__SLOT_IDX(h->slots[i]), &nm, &len);
                pos = st__hash_home(n.cap, st__siphash(key, nm, len));
            }
            while (n.slots[pos]) pos = pos + 1 == n.cap ? 0 : pos + 1;
            n.slots[pos] = h->slots[i];
        }
    }
    st__free(a, h->slots, h->cap * sizeof(uint64_t));
    h->slots = n.slots;
    h->cap = n.cap;
    h->limit = n.limit;
    h->dense = dense;
    return 1;
}

static int st__hash_grow(st__hash *h, const st_allocator *a, const st__key128 *key,
                         const void *owner, st__name_fn get)
{
    if (h->cap > SIZE_MAX / 8 / sizeof(uint64_t)) return 0;
    return st__hash_move(h, a, key, owner, get, h->cap < 16 ? 32 : h->cap * 2, h->dense);
}

int st__hash_size(st__hash *h, const st_allocator *a, const st__key128 *key, const void *owner,
                  st__name_fn get, size_t expected)
{
    size_t cap;
    if (expected > (SIZE_MAX / 4) / sizeof(uint64_t)) return 0;
    /* load 2/3 at the estimate for a big table, 1/2 for a small one */
    cap = expected >= ST__DENSE_MIN ? expected / 2 * 3 + 3 : expected * 2 + 1;
    if (cap < 16) cap = 16;
    if (st__hash_limit(cap, 1) < expected) cap = expected * 2 + 1; /* (rounding) */
    if (st__hash_limit(cap, 1) <= h->limit || cap <= h->count) return 1;
    return st__hash_move(h, a, key, owner, get, cap, 1);
}

void st__hash_renumber(st__hash *h, const uint32_t *perm)
{
    size_t i;
    for (i = 0; i < h->cap; i++) {
        uint64_t s = h->slots[i];
        if (s) h->slots[i] = ST__SLOT(ST__SLOT_TAG(s), perm[ST__SLOT_IDX(s)]);
    }
}

/* Makes room for index idx in a direct table's name array. */
static int st__hash_reserve(st__hash *h, const st_allocator *a, uint32_t idx)
{
    size_t cap = h->names_cap ? h->names_cap : 16;
    const char **nn;
    if (idx < h->names_cap) return 1;
    while (cap <= idx) {
        if (cap > SIZE_MAX / 2 / sizeof *nn) return 0;
        cap *= 2;
    }
    nn = (const char **)st__realloc(a, (void *)h->names, h->names_cap * sizeof *nn, cap * sizeof *nn);
    if (!nn) return 0;
    h->names = nn;
    h->names_cap = cap;
    return 1;
}

/* Looks (name, len) up: returns its index, or -1 with *empty at the free slot
 * where it would go and *tag its hash tag. The table has a free slot. */
static int64_t st__hash_probe(const st__hash *h, uint64_t hv, const void *owner,
                              st__name_fn get, const char *name, size_t len, size_t *empty,
                              uint32_t *tag)
{
    uint64_t slot;
    size_t pos = st__hash_home(h->cap, hv);
    *tag = (uint32_t)hv;
    while ((slot = h->slots[pos]) != 0) {
        if (ST__SLOT_TAG(slot) == *tag) {
            if (h->direct) {
                /* stored names are NUL-terminated and NUL-free, and so is the
                 * query here: equal iff the first len bytes match and the
                 * stored name ends there. strncmp stops at the stored name's
                 * terminator, so it never reads past a shorter name. */
                const char *nm = h->names[ST__SLOT_IDX(slot)];
#if defined(__GNUC__)
                /* the caller reads the record next: fetch it while comparing */
                if (h->records) __builtin_prefetch(h->records + (size_t)ST__SLOT_IDX(slot) * h->record_size);
#endif
                if (strncmp(nm, name, len) == 0 && nm[len] == '\0') return (int64_t)ST__SLOT_IDX(slot);
            } else {
                const char *nm;
                size_t nl;
                get(owner, ST__SLOT_IDX(slot), &nm, &nl);
                if (nl == len && memcmp(nm, name, len) == 0) return (int64_t)ST__SLOT_IDX(slot);
            }
        }
        pos = pos + 1 == h->cap ? 0 : pos + 1;
    }
    *empty = pos;
    return -1;
}

int st__hash_insert(st__hash *h, const st_allocator *a, const st__key128 *key,
                    const void *owner, st__name_fn get, const char *name, size_t len,
                    uint32_t idx, uint32_t *dup_idx)
{
    return st__hash_insert_hv(h, a, key, owner, get, name, len, st__siphash(key, name, len), idx,
                              dup_idx);
}

int st__hash_insert_hv(st__hash *h, const st_allocator *a, const st__key128 *key,
                       const void *owner, st__name_fn get, const char *name, size_t len,
                       uint64_t hv, uint32_t idx, uint32_t *dup_idx)
{
    size_t pos = 0;
    uint32_t tag = 0;
    int64_t found;
    if (h->count >= h->limit && !st__hash_grow(h, a, key, owner, get)) return -1;
    if (h->direct && !st__hash_reserve(h, a, idx)) return -1;
    found = st__hash_probe(h, hv, owner, get, name, len, &pos, &tag);
    if (found >= 0) {
        *dup_idx = (uint32_t)found;
        return 0;
    }
    h->slots[pos] = ST__SLOT(tag, idx);
    if (h->direct) h->names[idx] = name;
    h->count++;
    return 1;
}

int64_t st__hash_find(const st__hash *h, const st__key128 *key, const void *owner,
                      st__name_fn get, const char *name, size_t len)
{
    size_t pos;
    uint32_t tag;
    if (!h->cap) return -1;
    /* a direct table's names hold no NUL, so a name with one is absent (and
     * the terminator comparison above relies on it) */
    if (h->direct && len && memchr(name, '\0', len)) return -1;
    return st__hash_probe(h, st__siphash(key, name, len), owner, get, name, len, &pos, &tag);
}

int64_t st__hash_find_str(const st__hash *h, const st__key128 *key, const void *owner,
                          st__name_fn get, const char *name, size_t len)
{
    size_t pos;
    uint32_t tag;
    if (!h->cap) return -1;
    return st__hash_probe(h, st__siphash(key, name, len), owner, get, name, len, &pos, &tag);
}
