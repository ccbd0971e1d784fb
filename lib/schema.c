/* Rule 6, the schema: tensor entries, __metadata__ and the top-level object,
 * read during the same walk that checks the grammar (json.c). Rule 4 (UTF-8)
 * is checked first, over the whole header, padding included.
 *
 * Rule order: a schema error found early is only recorded; the walk goes on
 * checking the grammar, and the schema error is reported only if the whole
 * header is valid JSON. */
#include "json.h"

#include <string.h>

/* ---------------------------------------------------------------- schema */

/* Reads an array of integers (shape or data_offsets) into c->dims. Returns the
 * count through *count, or sets a schema error. The token at the cursor is
 * known to be an array. */
static int st__int_array(st__ctx *c, int depth, const char *field, const char *name,
                         size_t nlen, size_t *count)
{
    st__it it;
    int r;
    size_t n = 0;
    if (!st__open(c, &it, depth)) return 0;
    while ((r = st__arr_next(c, &it)) == 1) {
        const jsmntok_t *t = &c->tok[c->i];
        uint64_t v = 0;
        int is_int;
        if (t->type != JSMN_PRIMITIVE) {
            st__schema_fail(c, ST_E_SCHEMA, st__span_begin(t), name, nlen,
                            "tensor \"%s\": %s[%zu] must be an integer, found %s",
                            st__quote(c->qbuf, sizeof c->qbuf, name, nlen), field, n, st__type_name(t, c->js));
            if (!st__check_value(c, depth)) return 0;
            n++;
            continue;
        }
        /* fast path: a plain integer is also valid JSON unless it has a leading zero */
        is_int = st__as_u64(c, t, &v);
        if (!(is_int && (c->js[t->start] != '0' || t->end - t->start == 1)) &&
            !st__check_primitive(c, t))
            return 0;
        if (!is_int)
            st__schema_fail(c, ST_E_SCHEMA, (size_t)t->start, name, nlen,
                            "tensor \"%s\": %s[%zu] must be an integer in 0..2^64-1, found %.*s",
                            st__quote(c->qbuf, sizeof c->qbuf, name, nlen), field, n, (int)(t->end - t->start > 40 ? 40 : t->end - t->start),
                            c->js + t->start);
        c->i++;
        c->p = (size_t)t->end;
        if (!c->schema_failed) {
            if (!st__grow(c, (void **)&c->dims, &c->dims_cap, sizeof(uint64_t), n + 1)) return 0;
            c->dims[n] = v;
        }
        n++;
    }
    if (r < 0) return 0;
    *count = n;
    return 1;
}

enum { ST__F_DTYPE = 1, ST__F_SHAPE = 2, ST__F_OFFSETS = 4 };

/* k (5 or 12 bytes) equals the literal: fixed-size loads the compiler turns
 * into one or two comparisons, where memcmp was a call per field. */
static int st__eq5(const char *k, const char *lit)
{
    uint32_t a, b;
    memcpy(&a, k, 4);
    memcpy(&b, lit, 4);
    return a == b && k[4] == lit[4];
}

static int st__eq12(const char *k, const char *lit)
{
    uint64_t a, b;
    uint32_t c, d;
    memcpy(&a, k, 8);
    memcpy(&b, lit, 8);
    memcpy(&c, k + 8, 4);
    memcpy(&d, lit + 8, 4);
    return a == b && c == d;
}

/* One tensor entry: the value at the cursor, for tensor (name, nlen) whose key
 * starts at kpos. name is NUL-terminated in the arena (or NULL once the schema
 * has failed: then only the grammar is checked). */
static int st__entry(st__ctx *c, const char *name, size_t nlen, size_t kpos)
{
    st_file *f = c->f;
    const jsmntok_t *t;
    st__it it;
    st_tensor *ts;
    unsigned seen = 0;
    size_t base = c->nkeys, kn, fpos, ent_pos, shape_pos = 0, offs_pos = 0, rank = 0;
    uint64_t begin = 0, end = 0;
    st_dtype dt = ST_DTYPE_INVALID;
    const char *k;
    int r;
    (void)kpos;
    if (!st__at_token(c, "a tensor entry")) return 0;
    t = &c->tok[c->i];
    ent_pos = st__span_begin(t);
    if (c->schema_failed) return st__check_value(c, 1);
    if (t->type != JSMN_OBJECT) {
        st__schema_fail(c, ST_E_SCHEMA, ent_pos, name, nlen,
                        "tensor \"%s\": entry must be an object with dtype, shape and "
                        "data_offsets, found %s", st__quote(c->qbuf, sizeof c->qbuf, name, nlen), st__type_name(t, c->js));
        return st__check_value(c, 1);
    }
    if (!st__open(c, &it, 2)) return 0;
    c->cur_name = name;
    c->cur_nlen = nlen;
    while ((r = st__obj_next(c, &it, &k, &kn, &fpos)) == 1) {
        unsigned bit = 0;
        const jsmntok_t *v;
        if (kn == 5 && st__eq5(k, "dtype")) bit = ST__F_DTYPE;
        else if (kn == 5 && st__eq5(k, "shape")) bit = ST__F_SHAPE;
        else if (kn == 12 && st__eq12(k, "data_offsets")) bit = ST__F_OFFSETS;
        if (!bit || c->schema_failed) {
            /* unknown field: ignored, but must be valid JSON with unique keys */
            if (!bit && !st__push_key_now(c, base, k, kn, fpos)) return 0;
            if (!st__check_value(c, 2)) return 0;
            continue;
        }
        if (seen & bit) {
            st__schema_fail(c, ST_E_DUPLICATE, fpos, name, nlen,
                            "tensor \"%s\": duplicate field \"%.*s\"", st__quote(c->qbuf, sizeof c->qbuf, name, nlen), (int)kn, k);
            if (!st__check_value(c, 2)) return 0;
            continue;
        }
        seen |= bit;
        if (!st__at_token(c, "a value")) return 0;
        v = &c->tok[c->i];
        if (bit == ST__F_DTYPE) {
            const char *s;
            size_t sn;
            size_t vpos = st__span_begin(v);
            if (v->type != JSMN_STRING) {
                st__schema_fail(c, ST_E_SCHEMA, vpos, name, nlen,
                                "tensor \"%s\": dtype must be a string, found %s", st__quote(c->qbuf, sizeof c->qbuf, name, nlen),
                                st__type_name(v, c->js));
                if (!st__check_value(c, 2)) return 0;
                continue;
            }
            if (!st__take_string(c, &s, &sn)) return 0;
            dt = st_dtype_from_name_n(s, sn);
            if (dt == ST_DTYPE_INVALID) {
                char q[64];
                st__schema_fail(c, ST_E_DTYPE, vpos, name, nlen,
                                "tensor \"%s\": unknown dtype \"%s\"", st__quote(c->qbuf, sizeof c->qbuf, name, nlen),
                                st__quote(q, sizeof q, s, sn));
            }
        } else {
            size_t n = 0;
            const char *field = bit == ST__F_SHAPE ? "shape" : "data_offsets";
            size_t vpos = st__span_begin(v);
            if (v->type != JSMN_ARRAY) {
                st__schema_fail(c, ST_E_SCHEMA, vpos, name, nlen,
                                "tensor \"%s\": %s must be an array of integers, found %s",
                                st__quote(c->qbuf, sizeof c->qbuf, name, nlen), field, st__type_name(v, c->js));
                if (!st__check_value(c, 2)) return 0;
                continue;
            }
            if (!st__int_array(c, 3, field, name, nlen, &n)) return 0;
            if (c->schema_failed) continue;
            if (bit == ST__F_SHAPE) {
                shape_pos = vpos;
                rank = n;
                if (n > UINT32_MAX) {
                    st__schema_fail(c, ST_E_SCHEMA, vpos, name, nlen,
                                    "tensor \"%s\": rank %zu is too large", st__quote(c->qbuf, sizeof c->qbuf, name, nlen), n);
                    continue;
                }
                if (n) {
                    uint64_t *sh = (uint64_t *)st__arena_alloc(&f->arena, n * sizeof(uint64_t));
                    if (!sh) return st__nomem(c);
                    memcpy(sh, c->dims, n * sizeof(uint64_t));
                    f->tensors[f->ntensors].shape = sh;
                } else {
                    f->tensors[f->ntensors].shape = NULL;
                }
            } else {
                offs_pos = vpos;
                if (n != 2) {
                    st__schema_fail(c, ST_E_SCHEMA, vpos, name, nlen,
                                    "tensor \"%s\": data_offsets must hold exactly 2 integers "
                                    "[BEGIN, END], found %zu", st__quote(c->qbuf, sizeof c->qbuf, name, nlen), n);
                    continue;
                }
                begin = c->dims[0];
                end = c->dims[1];
            }
        }
    }
    c->cur_name = NULL;
    if (r < 0) return 0;
    if (!st__pop_keys(c, base, "a tensor entry", name, nlen)) return 0;
    if (c->schema_failed) return 1;
    if (seen != (ST__F_DTYPE | ST__F_SHAPE | ST__F_OFFSETS)) {
        const char *miss = !(seen & ST__F_DTYPE) ? "dtype"
                         : !(seen & ST__F_SHAPE) ? "shape" : "data_offsets";
        st__schema_fail(c, ST_E_SCHEMA, ent_pos, name, nlen,
                        "tensor \"%s\": missing field \"%s\"", st__quote(c->qbuf, sizeof c->qbuf, name, nlen), miss);
        return 1;
    }
    ts = &f->tensors[f->ntensors];
    ts->name = name;
    ts->name_len = nlen;
    ts->dtype = dt;
    ts->rank = (uint32_t)rank;
    ts->begin = begin;
    ts->end = end;
    f->tmp_pos[f->ntensors] = ((uint64_t)shape_pos << 32) | (uint64_t)offs_pos;
    f->ntensors++;
    return 1;
}

/* Exactly n elements of room (n > *cap): no doubling past the estimate. */
static int st__resize(st__ctx *c, void **arr, size_t *cap, size_t elem, size_t n)
{
    void *p;
    if (n <= *cap) return 1;
    if (n > SIZE_MAX / elem) return st__nomem(c);
    p = st__realloc(c->a, *arr, *cap * elem, n * elem);
    if (!p) return st__nomem(c);
    *arr = p;
    *cap = n;
    return 1;
}

/* Metadata keys enter the index a few keys late (ST__MQ), their slots
 * prefetched when they are read: with a million keys, the index is far bigger
 * than the caches, and the insertions would otherwise wait on memory one by
 * one. A duplicate found late still wins over any error recorded after it. */
#define ST__MQ 8
/* After this many metadata entries the array is sized for the rest at once. */
#define ST__META_EST 64

typedef struct st__mq_item {
    uint64_t hv;
    size_t kpos;
    uint32_t idx;
} st__mq_item;

static int st__meta_insert(st__ctx *c, const st__mq_item *q)
{
    st_file *f = c->f;
    const char *key;
    size_t kn;
    uint32_t dup = 0;
    int ins;
    st__meta_name(f, q->idx, &key, &kn);
    ins = st__hash_insert_hv(&f->meta_hash, c->a, &f->key, f, st__meta_name, key, kn, q->hv,
                             q->idx, &dup);
    if (ins < 0) return st__nomem(c);
    if (ins == 0) {
        char qb[64];
        if (c->schema_failed && c->serr.offset <= st__file_pos(c, q->kpos)) return 1;
        c->schema_failed = 0; /* an error after the duplicate: the duplicate comes first */
        st__schema_fail(c, ST_E_DUPLICATE, q->kpos, NULL, 0, "duplicate key \"%s\" in __metadata__",
                        st__quote(qb, sizeof qb, key, kn));
    }
    return 1;
}

/* Stores the value (s, sn) of entry idx right after its key (the kpart bytes of
 * its blob so far): in place when the arena's block has room, else the key
 * part is copied along into a new allocation (the old copy is left unused). */
static int st__meta_value(st__ctx *c, uint32_t idx, size_t kpart, const char *s, size_t sn)
{
    st_file *f = c->f;
    unsigned char *blob = f->meta[idx], *p;
    size_t need = st__uleb_len(sn) + sn + 1;
    if (need < sn) return st__nomem(c);
    p = (unsigned char *)st__arena_extend(&f->name_arena, blob + kpart, need);
    if (!p) {
        if (kpart + need < need) return st__nomem(c);
        blob = (unsigned char *)st__arena_alloc_bytes(&f->name_arena, kpart + need);
        if (!blob) return st__nomem(c);
        memcpy(blob, f->meta[idx], kpart);
        f->meta[idx] = blob;
        p = blob + kpart;
    }
    p = st__uleb_put(p, sn);
    memcpy(p, s, sn);
    p[sn] = 0;
    return 1;
}

static int st__metadata(st__ctx *c, size_t kpos)
{
    st_file *f = c->f;
    const jsmntok_t *t;
    st__it it;
    const char *k;
    size_t kn, ekpos;
    int r;
    st__mq_item mq[ST__MQ];
    unsigned mq_head = 0, mq_n = 0;
    size_t p0;
    if (!st__at_token(c, "a value")) return 0;
    t = &c->tok[c->i];
    if (t->type == JSMN_PRIMITIVE && t->end - t->start == 4 && memcmp(c->js + t->start, "null", 4) == 0) {
        if (!c->schema_failed) f->meta_state = ST_METADATA_NULL;
        c->i++;
        c->p = (size_t)t->end;
        return 1;
    }
    if (t->type != JSMN_OBJECT || c->schema_failed) {
        st__schema_fail(c, ST_E_METADATA, st__span_begin(t), NULL, 0,
                        "__metadata__ must be an object of strings or null, found %s",
                        st__type_name(t, c->js));
        return st__check_value(c, 1);
    }
    (void)kpos;
    f->meta_state = ST_METADATA_OBJECT;
    p0 = c->p;
    if (!st__open(c, &it, 2)) return 0;
    while ((r = st__obj_next(c, &it, &k, &kn, &ekpos)) == 1) {
        if (f->nmeta == ST__META_EST && !c->schema_failed) {
            /* a big object: room for as many entries as the rest of the header
             * could hold at this size each, so neither the array nor the index
             * is copied (the array's untouched end costs address space, not
             * memory; the index is sized for the estimate alone) */
            size_t used = ekpos - p0, est;
            est = used ? (c->len - p0) / used * ST__META_EST + ST__META_EST : 0;
            if (est > (c->len - p0) / 6 + ST__META_EST) est = (c->len - p0) / 6 + ST__META_EST;
            if (!st__resize(c, (void **)&f->meta, &f->meta_cap, sizeof *f->meta, est)) return 0;
            if (!st__hash_size(&f->meta_hash, c->a, &f->key, f, st__meta_name, est))
                return st__nomem(c);
        }
        const jsmntok_t *v;
        const char *key = NULL;
        size_t kpart = 0;
        uint32_t idx = 0;
        int have = 0;
        if (!c->schema_failed) {
            st__mq_item *q;
            unsigned char *blob, *p;
            kpart = st__uleb_len(kn) + kn + 1;
            if (kpart < kn) return st__nomem(c);
            blob = (unsigned char *)st__arena_alloc_bytes(&f->name_arena, kpart);
            if (!blob) return st__nomem(c);
            p = st__uleb_put(blob, kn);
            memcpy(p, k, kn);
            p[kn] = '\0';
            key = (const char *)p;
            if (!st__grow(c, (void **)&f->meta, &f->meta_cap, sizeof *f->meta, f->nmeta + 1))
                return 0;
            if (f->nmeta >= UINT32_MAX - 1) return st__nomem(c);
            f->meta[f->nmeta] = blob;
            if (mq_n == ST__MQ) {
                if (!st__meta_insert(c, &mq[mq_head])) return 0;
                mq_head = (mq_head + 1) % ST__MQ;
                mq_n--;
            }
            idx = (uint32_t)f->nmeta++; /* its value is stored below */
            have = 1;
            q = &mq[(mq_head + mq_n) % ST__MQ];
            q->hv = st__siphash(&f->key, key, kn);
            q->kpos = ekpos;
            q->idx = idx;
            mq_n++;
            st__hash_prefetch(&f->meta_hash, q->hv);
        }
        if (!st__at_token(c, "a value")) return 0;
        v = &c->tok[c->i];
        if (v->type != JSMN_STRING || c->schema_failed) {
            char q[64];
            if (!c->schema_failed)
                st__schema_fail(c, ST_E_METADATA, st__span_begin(v), NULL, 0,
                                "__metadata__ value of \"%s\" must be a string, found %s",
                                st__quote(q, sizeof q, key, kn), st__type_name(v, c->js));
            if (!st__check_value(c, 2)) return 0;
            continue;
        }
        {
            const char *s;
            size_t sn;
            if (!st__take_string(c, &s, &sn)) return 0;
            /* (have is 0 only once the schema has failed) */
            if (have && !st__meta_value(c, idx, kpart, s, sn)) return 0;
        }
    }
    if (r < 0) return 0;
    for (; mq_n; mq_n--, mq_head = (mq_head + 1) % ST__MQ)
        if (!st__meta_insert(c, &mq[mq_head])) return 0;
    return r == 0;
}

/* The header's tensor count is not known before its end (tokens come in
 * windows), so the tables start small; after ST__EST_AFTER entries, the bytes
 * they took give an estimate for the rest, and the tables are sized for it once
 * (the name index rebuilt from the entries so far). Where the estimate falls
 * short, the tables grow by doubling as before. */
#define ST__EST_AFTER 32

static int st__reserve(st__ctx *c, size_t first_pos)
{
    st_file *f = c->f;
    size_t used = c->p - first_pos, rest = c->len - first_pos, est, room, k;
    st__hash h;
    if (!used || f->ntensors == 0) return 1;
    /* entries of the same size as these fill the rest; a valid entry takes at
     * least 48 bytes, which bounds any estimate. The records get some room to
     * spare (given back at the end); the index, which cannot be, gets little. */
    est = rest <= SIZE_MAX / f->ntensors ? rest * f->ntensors / used : rest / used * f->ntensors;
    if (est > c->len / 48 + 16) est = c->len / 48 + 16;
    room = est + est / 8 + 16;
    est += est / 32;
    if (est <= f->names.cap / 2) return 1;
    if (!st__resize(c, (void **)&f->tensors, &f->tensors_cap, sizeof *f->tensors, room) ||
        !st__resize(c, (void **)&f->tmp_pos, &f->tmp_pos_cap, sizeof *f->tmp_pos, room))
        return 0;
    if (!st__hash_init(&h, c->a, est, 1)) return st__nomem(c);
    for (k = 0; k < f->ntensors; k++) {
        const st_tensor *t = &f->tensors[k];
        uint32_t dup = 0;
        if (st__hash_insert(&h, c->a, &f->key, f, st__tensor_name, t->name, (size_t)t->name_len,
                            (uint32_t)k, &dup) != 1) {
            st__hash_free(&h, c->a);
            return st__nomem(c); /* (names were unique: only allocation fails) */
        }
    }
    st__hash_free(&f->names, c->a);
    f->names = h;
    return 1;
}

static int st__top(st__ctx *c)
{
    st_file *f = c->f;
    st__it it;
    const char *k;
    size_t kn, kpos, hint, first_pos = SIZE_MAX;
    int r, seen_meta = 0;
    char b[12];
    st__skip_ws(c);
    if (c->p >= c->len)
        return st__json_error(c, c->p, "empty header: expected a JSON object");
    if ((unsigned char)c->js[c->p] == 0xEF)
        return st__json_error(c, c->p, "the header starts with a UTF-8 byte order mark");
    if (c->js[c->p] != '{')
        return st__json_error(c, c->p, "the header must be a JSON object, found %s",
                              st__what(c, c->p, b));
    if (!st__at_token(c, "'{'")) return 0;
    hint = ST__EST_AFTER;
    if (!st__grow(c, (void **)&f->tensors, &f->tensors_cap, sizeof *f->tensors, hint + 1)) return 0;
    if (!st__grow(c, (void **)&f->tmp_pos, &c->f->tmp_pos_cap, sizeof *f->tmp_pos, hint + 1)) return 0;
    if (!st__hash_init(&f->names, c->a, hint, 1)) return st__nomem(c);
    if (!st__hash_init(&f->meta_hash, c->a, 8, 0)) return st__nomem(c);
    if (!st__open(c, &it, 1)) return 0;
    while ((r = st__obj_next(c, &it, &k, &kn, &kpos)) == 1) {
        char *name;
        uint32_t dup = 0, idx;
        uint64_t hv;
        int ins;
        if (kn == 12 && st__eq12(k, "__metadata__")) {
            if (seen_meta)
                st__schema_fail(c, ST_E_DUPLICATE, kpos, NULL, 0, "duplicate key \"__metadata__\"");
            seen_meta = 1;
            if (!st__metadata(c, kpos)) return 0;
            continue;
        }
        if (c->schema_failed) {
            if (!st__check_value(c, 1)) return 0;
            continue;
        }
        if (first_pos == SIZE_MAX) first_pos = kpos;
        if (f->ntensors == ST__EST_AFTER && !st__reserve(c, first_pos)) return 0;
        /* a NUL can only come from a \u0000 escape, so only a decoded name
         * (in the scratch buffer) can hold one */
        if (k == c->sbuf && memchr(k, '\0', kn)) {
            char q[64];
            st__schema_fail(c, ST_E_NAME, kpos, k, kn,
                            "tensor name \"%s\" contains a NUL character (\\u0000)",
                            st__quote(q, sizeof q, k, kn));
            if (!st__check_value(c, 1)) return 0;
            continue;
        }
        if (!st__grow(c, (void **)&f->tensors, &f->tensors_cap, sizeof *f->tensors, f->ntensors + 1) ||
            !st__grow(c, (void **)&f->tmp_pos, &c->f->tmp_pos_cap, sizeof *f->tmp_pos, f->ntensors + 1))
            return 0;
        name = (char *)st__arena_alloc_bytes(&f->name_arena, kn + 1);
        if (!name) return st__nomem(c);
        memcpy(name, k, kn);
        name[kn] = '\0';
        memset(&f->tensors[f->ntensors], 0, sizeof f->tensors[0]);
        f->tensors[f->ntensors].name = name;
        f->tensors[f->ntensors].name_len = kn;
        if (f->ntensors >= UINT32_MAX - 1) return st__nomem(c);
        /* The name goes into the index after its entry is read: the slot's
         * cache miss, prefetched now, overlaps the entry's parsing. A
         * duplicate name still wins over any error inside its entry, which
         * comes later in the header. */
        idx = (uint32_t)f->ntensors;
        hv = st__siphash(&f->key, name, kn);
        st__hash_prefetch(&f->names, hv);
        if (!st__entry(c, name, kn, kpos)) return 0;
        ins = st__hash_insert_hv(&f->names, c->a, &f->key, f, st__tensor_name, name, kn, hv, idx,
                                 &dup);
        if (ins < 0) return st__nomem(c);
        if (ins == 0) {
            char q[64];
            if (f->ntensors > idx) f->ntensors = idx; /* drop the entry just read */
            c->schema_failed = 0; /* replaces an error inside the entry */
            st__schema_fail(c, ST_E_DUPLICATE, kpos, name, kn,
                            "duplicate tensor name \"%s\"", st__quote(q, sizeof q, name, kn));
        }
    }
    if (r < 0) return 0;
    if (!c->schema_failed && f->ntensors + f->ntensors / 32 + 8 < f->tensors_cap &&
        f->tensors_cap * sizeof *f->tensors < ((size_t)1 << 20)) {
        /* the records live as long as the handle: a small block gives back what
         * the estimate overshot (in a big one, the untouched end is address
         * space, not memory, and moving it would cost a copy) */
        void *p = st__realloc(c->a, f->tensors, f->tensors_cap * sizeof *f->tensors,
                              (f->ntensors ? f->ntensors : 1) * sizeof *f->tensors);
        if (!p) return st__nomem(c);
        f->tensors = (st_tensor *)p;
        f->tensors_cap = f->ntensors ? f->ntensors : 1;
    }
    st__skip_ws(c);
    if (c->p < c->len)
        return st__json_error(c, c->p, "unexpected %s after the header's JSON object",
                              st__what(c, c->p, b));
    return 1;
}

/* ---------------------------------------------------------------- entry point */

st_status st__parse_header(st_file *f, uint32_t flags, st_error *err)
{
    st__ctx c;
    const unsigned char *h = f->bytes + 8;
    size_t n = (size_t)f->header_size, bad = 0;
    const void *nul;
    st_status s;
    int plain = 0;

    if (!st__utf8_scan(h, n, &bad, &plain))
        return st__fail(err, ST_E_UTF8, 8 + (uint64_t)bad, NULL, 0,
                        "header byte 0x%02X at offset %llu is not valid UTF-8 (rule 4)", h[bad],
                        8 + (unsigned long long)bad);

    memset(&c, 0, sizeof c);
    c.f = f;
    c.a = &f->alloc;
    c.js = (const char *)h;
    c.err = err;
    c.plain = plain;
    if (f->src_kind == ST__SRC_MAP && f->map_addr == (const void *)f->bytes)
        c.drop_map = (unsigned char *)f->map_addr + 8;
    nul = n ? memchr(h, 0, n) : NULL;
    c.len = nul ? (size_t)((const unsigned char *)nul - h) : n;
    f->arena.block_size = n / 4 < 4096 ? 4096 : (n / 4 > (1u << 20) ? (1u << 20) : n / 4);
    /* names and metadata strings: about half of a small header */
    f->name_arena.block_size = n / 2 < 4096 ? 4096 : (n / 2 > (1u << 20) ? (1u << 20) : n / 2);

    if (st__tokens_done(&c, st__tokenize(&c) && st__top(&c)) && c.len < n) {
        /* NUL bytes: only NUL and whitespace may follow, and only with the switch */
        size_t q;
        for (q = c.len; q < n; q++)
            if (h[q] != 0 && h[q] != ' ' && h[q] != '\t' && h[q] != '\n' && h[q] != '\r') break;
        if (q < n && (flags & ST_LENIENT_NUL_PADDING))
            st__json_error(&c, q, "unexpected byte after the NUL padding (only NUL and JSON "
                                  "whitespace may follow the header's JSON object)");
        else if (q < n)
            st__json_error(&c, c.len, "NUL byte after the header's JSON object");
        else if (!(flags & ST_LENIENT_NUL_PADDING))
            st__json_error(&c, c.len, "NUL padding after the header's JSON object (NUL is not "
                                      "JSON whitespace; ST_LENIENT_NUL_PADDING accepts it)");
        else
            f->leniency_used |= ST_LENIENT_NUL_PADDING;
    }
    if (c.failed) {
        s = c.status;
    } else if (c.schema_failed) {
        s = (st_status)c.serr.code;
        if (err) *err = c.serr;
    } else {
        s = ST_OK;
    }
    st__ctx_free(&c);
    return s;
}
