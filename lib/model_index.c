/* The index of a sharded model: reading model.safetensors.index.json (or
 * finding it in a directory) and checking it with the same strict JSON walk as
 * file headers (json.c), into the model's entries and shards. Shard paths are
 * checked here by name; model.c checks where they resolve and what they hold. */
#include "json.h"
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small helpers */

void st__model_entry_name(const void *owner, uint32_t idx, const char **name, size_t *len)
{
    const st_model *m = (const st_model *)owner;
    *name = m->entries[idx].name;
    *len = (size_t)m->entries[idx].name_len;
}

void st__model_shard_key(const void *owner, uint32_t idx, const char **name, size_t *len)
{
    const st_model *m = (const st_model *)owner;
    *name = m->shards[idx].name;
    *len = m->shards[idx].name_len;
}

char *st__model_strdup(st__arena *ar, const char *s, size_t n)
{
    char *p = (char *)st__arena_alloc(ar, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Puts "prefix" (formatted) in front of err->message, cutting the end if needed. */
void st__model_prefix(st_error *err, const char *fmt, ...)
{
    char pre[sizeof err->message], old[sizeof err->message];
    size_t np, no;
    va_list ap;
    if (!err) return;
    va_start(ap, fmt);
    (void)vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = '\0';
    np = strlen(pre);
    no = strlen(old);
    if (np > sizeof err->message - 1) np = sizeof err->message - 1;
    if (no > sizeof err->message - 1 - np) no = sizeof err->message - 1 - np;
    memcpy(err->message, pre, np);
    memcpy(err->message + np, old, no);
    err->message[np + no] = '\0';
}

st_status st__model_io_fail(st_error *err, int e, const char *what, const char *path)
{
    char q[96];
    st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "%s \"%s\": %s", what,
             st__quote(q, sizeof q, path, strlen(path)), strerror(e));
    if (err) err->sys_errno = e;
    return ST_E_IO;
}

/* a + "/" + b into out[ST__PATH_MAX]; 0 if it does not fit. */
int st__model_join(char *out, const char *a, size_t an, const char *b, size_t bn)
{
    if (an >= ST__PATH_MAX || bn >= ST__PATH_MAX - an - 1) return 0;
    memcpy(out, a, an);
    out[an] = '/';
    memcpy(out + an + 1, b, bn);
    out[an + 1 + bn] = '\0';
    return 1;
}

int st__model_ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* ---------------------------------------------------------------- shard paths */

/* 1 if the component c[0..n) names a Windows device (CON, PRN, AUX, NUL,
 * COM0-9, LPT0-9, and COM/LPT with a superscript 1, 2 or 3), with any
 * extension and any case: opening "nul.safetensors" there opens the device. */
static int st__windows_device(const char *c, size_t n)
{
    static const char *const names[] = {"con", "prn", "aux", "nul"};
    size_t stem = 0, k;
    char low[4];
    while (stem < n && c[stem] != '.') stem++;
    while (stem > 0 && c[stem - 1] == ' ') stem--; /* "CON .txt" is CON too */
    if (stem < 3 || stem > 5) return 0;
    for (k = 0; k < 3; k++) low[k] = (char)(c[k] >= 'A' && c[k] <= 'Z' ? c[k] + 32 : c[k]);
    low[3] = '\0';
    if (stem == 3) {
        for (k = 0; k < sizeof names / sizeof names[0]; k++)
            if (memcmp(low, names[k], 3) == 0) return 1;
        return 0;
    }
    if (memcmp(low, "com", 3) != 0 && memcmp(low, "lpt", 3) != 0) return 0;
    if (stem == 4) return c[3] >= '0' && c[3] <= '9';
    /* U+00B9, U+00B2, U+00B3 in UTF-8 */
    return (unsigned char)c[3] == 0xC2 &&
           ((unsigned char)c[4] == 0xB9 || (unsigned char)c[4] == 0xB2 ||
            (unsigned char)c[4] == 0xB3);
}

/*
 * Why a shard path from the index is refused, or NULL if it is acceptable. The
 * name must be a plain relative path in canonical form, so that one file has
 * one spelling and nothing leaves the index's directory by name: not empty, no
 * NUL, not absolute, no backslash (a separator on Windows, where "..\\x" would
 * escape), and no empty, "." or ".." component. The rules of Windows file
 * names apply on every host, so that an index means the same everywhere: no
 * ':' (a drive letter "C:x", or an alternate data stream "a:b"), none of
 * < > " | ? * or a control character, no component ending in a dot or a space
 * (Windows drops them, so "x." would open "x"), and no device name ("CON",
 * "nul.safetensors"). Symlinks are checked when the shard is opened.
 */
static const char *st__unsafe_path(const char *s, size_t n)
{
    size_t start = 0, i;
    if (n == 0) return "is empty";
    if (memchr(s, '\0', n)) return "contains a NUL character";
    if (memchr(s, '\\', n)) return "contains a backslash (use '/' between directories)";
    if (s[0] == '/') return "is absolute (shard paths are relative to the index's directory)";
    if (memchr(s, ':', n))
        return "contains ':' (a drive letter or an alternate data stream on Windows)";
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7F || ch == '<' || ch == '>' || ch == '"' || ch == '|' ||
            ch == '?' || ch == '*')
            return "contains a character that Windows forbids in file names "
                   "(< > \" | ? * or a control character)";
    }
    for (;;) {
        for (i = start; i < n && s[i] != '/'; i++) {}
        if (i == start) return "has an empty component (\"//\" or a trailing '/')";
        if (i - start == 2 && s[start] == '.' && s[start + 1] == '.')
            return "has a \"..\" component";
        if (i - start == 1 && s[start] == '.') return "has a \".\" component";
        if (s[i - 1] == '.' || s[i - 1] == ' ')
            return "has a component ending in a dot or a space (Windows drops them)";
        if (st__windows_device(s + start, i - start))
            return "names a Windows device (CON, PRN, AUX, NUL, COM0-9, LPT0-9)";
        if (i >= n) return NULL;
        start = i + 1;
    }
}

/* ---------------------------------------------------------------- the index */

/* The weight map's walk: the model, and the shard of the last pair (-1 before
 * the first). Indexes list each shard's tensors in runs (a shard's tensors
 * together, or names sorted so that a layer's fall in one shard): a shard path
 * equal to the last one is that shard, checked and hashed already. */
typedef struct st__wm {
    st_model *m;
    int64_t last;
    /* The last entry's name goes into the name table one pair later, so that
     * its slot, prefetched when it was hashed, has come into the cache. Every
     * schema error puts it in first: a duplicate still wins over any error
     * that comes after it in the index. */
    int pending;
    uint64_t p_hv;
    size_t p_kpos;
} st__wm;

/* Puts the pending entry into the name table: 0 after an error (a duplicate
 * is a schema error: the walk goes on), else 1. */
static int st__wm_flush(st__ctx *c, st__wm *w)
{
    st_model *m = w->m;
    const st_model_entry *e;
    uint32_t dup = 0;
    int ins;
    char q[64];
    if (!w->pending) return 1;
    w->pending = 0;
    e = &m->entries[m->nentries - 1];
    ins = st__hash_insert_hv(&m->names, c->a, &m->key, m, st__model_entry_name, e->name,
                             (size_t)e->name_len, w->p_hv, (uint32_t)(m->nentries - 1), &dup);
    if (ins < 0) return st__nomem(c);
    if (ins == 0) {
        st__schema_fail(c, ST_E_DUPLICATE, w->p_kpos, e->name, (size_t)e->name_len,
                        "weight_map: tensor \"%s\" is listed twice",
                        st__quote(q, sizeof q, e->name, (size_t)e->name_len));
        return 0;
    }
    return 1;
}

static int st__add_shard(st__ctx *c, st_model *m, const char *s, size_t sn, uint64_t *out)
{
    int64_t i = st__hash_find(&m->shard_names, &m->key, m, st__model_shard_key, s, sn);
    st__shard *sh;
    uint32_t dup = 0;
    if (i >= 0) {
        *out = (uint64_t)i;
        return 1;
    }
    if (m->nshards >= UINT32_MAX - 1) return st__nomem(c);
    if (!st__grow(c, (void **)&m->shards, &m->shards_cap, sizeof *m->shards, m->nshards + 1))
        return 0;
    sh = &m->shards[m->nshards];
    memset(sh, 0, sizeof *sh);
    sh->name = st__model_strdup(&m->arena, s, sn);
    if (!sh->name) return st__nomem(c);
    sh->name_len = sn;
    if (st__hash_insert(&m->shard_names, c->a, &m->key, m, st__model_shard_key, sh->name, sn,
                        (uint32_t)m->nshards, &dup) < 0)
        return st__nomem(c);
    *out = m->nshards++;
    return 1;
}

/* One "tensor": "shard" pair of the weight map; the cursor is after the ':'. */
/* One "tensor": "shard" pair of the weight map; the cursor is after the ':'. */
static int st__wm_pair(st__ctx *c, st__wm *w, const char *k, size_t kn, size_t kpos)
{
    st_model *m = w->m;
    st_model_entry *e;
    const jsmntok_t *v;
    const char *s, *why, *name;
    size_t sn, vpos;
    uint64_t idx, shard = 0, hv;
    char q[64], q2[64];
    int in_text = k >= c->js && k < c->js + c->len;
    /* each name is hashed once: the table grows and is renumbered after the
     * sort without hashing it again */
    hv = st__siphash(&m->key, k, kn);
    st__hash_prefetch(&m->names, hv);
    if (!st__wm_flush(c, w)) return c->failed ? 0 : st__check_value(c, 2);
    /* a NUL can only come from a \u0000 escape, so only a decoded name holds one */
    if (!in_text && memchr(k, '\0', kn)) {
        st__schema_fail(c, ST_E_NAME, kpos, k, kn,
                        "weight_map: tensor name \"%s\" contains a NUL character (\\u0000)",
                        st__quote(q, sizeof q, k, kn));
        return st__check_value(c, 2);
    }
    if (m->nentries >= UINT32_MAX - 1) return st__nomem(c);
    if (!st__grow(c, (void **)&m->entries, &m->entries_cap, sizeof *m->entries, m->nentries + 1))
        return 0;
    if (in_text) {
        name = k; /* written without escapes: kept in the index's text */
    } else {
        name = st__model_strdup(&m->arena, k, kn); /* decoded in scratch space */
        if (!name) return st__nomem(c);
    }
    idx = m->nentries++;
    e = &m->entries[idx];
    e->name = name;
    e->name_len = kn;
    e->shard = 0;
    e->index = idx;
    w->pending = 1;
    w->p_hv = hv;
    w->p_kpos = kpos;
    if (!st__at_token(c, "a value")) return 0;
    v = &c->tok[c->i];
    vpos = st__span_begin(v);
    if (v->type != JSMN_STRING) {
        if (!st__wm_flush(c, w)) return c->failed ? 0 : st__check_value(c, 2);
        st__schema_fail(c, ST_E_SCHEMA, vpos, name, kn,
                        "weight_map: the value of tensor \"%s\" must be a string (a shard file "
                        "name), found %s", st__quote(q, sizeof q, name, kn),
                        st__type_name(v, c->js));
        return st__check_value(c, 2);
    }
    if (!st__take_string(c, &s, &sn)) return 0;
    if (w->last >= 0 && m->shards[w->last].name_len == sn &&
        memcmp(m->shards[w->last].name, s, sn) == 0) {
        m->entries[idx].shard = (uint64_t)w->last;
        return 1;
    }
    why = st__unsafe_path(s, sn);
    if (why) {
        if (!st__wm_flush(c, w)) return !c->failed;
        st__schema_fail(c, ST_E_NAME, vpos, name, kn,
                        "weight_map: shard path \"%s\" of tensor \"%s\" %s",
                        st__quote(q2, sizeof q2, s, sn), st__quote(q, sizeof q, name, kn), why);
        return 1;
    }
    if (!st__add_shard(c, m, s, sn, &shard)) return 0;
    m->entries[idx].shard = shard;
    w->last = (int64_t)shard;
    return 1;
}

static int st__weight_map(st__ctx *c, st_model *m)
{
    const jsmntok_t *t;
    st__wm w;
    st__it it;
    const char *k;
    size_t kn, kpos;
    int r;
    if (!st__at_token(c, "a value")) return 0;
    t = &c->tok[c->i];
    if (c->schema_failed) return st__check_value(c, 1);
    if (t->type != JSMN_OBJECT) {
        st__schema_fail(c, ST_E_SCHEMA, st__span_begin(t), NULL, 0,
                        "\"weight_map\" must be an object of \"tensor\": \"shard file\" pairs, "
                        "found %s", st__type_name(t, c->js));
        return st__check_value(c, 1);
    }
    if (!st__open(c, &it, 2)) return 0;
    memset(&w, 0, sizeof w);
    w.m = m;
    w.last = -1;
    while ((r = st__obj_next(c, &it, &k, &kn, &kpos)) == 1) {
        if (c->schema_failed) {
            if (!st__check_value(c, 2)) return 0;
            continue;
        }
        if (!st__wm_pair(c, &w, k, kn, kpos)) return 0;
    }
    if (r != 0) return 0;
    return st__wm_flush(c, &w) || !c->failed;
}

/* "metadata": an object's entries are kept (string values decoded, any other
 * value as its JSON text, as real indexes write "total_size": 123); null or
 * any other value is checked as JSON and gives no entries. Keys must be
 * unique, as everywhere. */
static int st__index_metadata(st__ctx *c, st_model *m)
{
    const jsmntok_t *t;
    st__it it;
    const char *k, *v;
    size_t kn, kpos, vn, base = c->nkeys;
    int r;
    if (!st__at_token(c, "a value")) return 0;
    t = &c->tok[c->i];
    if (c->schema_failed || t->type != JSMN_OBJECT) return st__check_value(c, 1);
    if (!st__open(c, &it, 2)) return 0;
    while ((r = st__obj_next(c, &it, &k, &kn, &kpos)) == 1) {
        st_metadata_entry *e;
        char *key;
        size_t p0;
        if (!st__push_key_now(c, base, k, kn, kpos)) return 0;
        key = st__model_strdup(&m->arena, k, kn); /* k lives until the next string */
        if (!key) return st__nomem(c);
        if (!st__at_token(c, "a value")) return 0;
        p0 = c->p;
        if (c->tok[c->i].type == JSMN_STRING) {
            if (!st__take_string(c, &v, &vn)) return 0;
        } else {
            if (!st__check_value(c, 2)) return 0;
            v = c->js + p0; /* the value's JSON text */
            vn = c->p - p0;
        }
        if (c->schema_failed) continue;
        if (!st__grow(c, (void **)&m->meta, &m->meta_cap, sizeof *m->meta, (size_t)m->nmeta + 1))
            return 0;
        e = &m->meta[m->nmeta];
        e->key = key;
        e->key_len = kn;
        e->value = st__model_strdup(&m->arena, v, vn);
        if (!e->value) return st__nomem(c);
        e->value_len = vn;
        m->nmeta++;
    }
    if (r < 0) return 0;
    return st__pop_keys(c, base, "the index's \"metadata\"", NULL, 0);
}

/* The top-level object. "weight_map" is read, "metadata" kept; other keys are
 * checked as JSON and ignored; every key must be unique. */
static int st__index_top(st__ctx *c, st_model *m)
{
    st__it it;
    const char *k;
    size_t kn, kpos, base = c->nkeys, top;
    int r, seen_wm = 0;
    char b[12];
    st__skip_ws(c);
    if (c->p >= c->len) return st__json_error(c, c->p, "empty index: expected a JSON object");
    if ((unsigned char)c->js[c->p] == 0xEF)
        return st__json_error(c, c->p, "the index starts with a UTF-8 byte order mark");
    if (c->js[c->p] != '{')
        return st__json_error(c, c->p, "the index must be a JSON object, found %s",
                              st__what(c, c->p, b));
    if (!st__at_token(c, "'{'")) return 0;
    top = c->p;
    if (!st__open(c, &it, 1)) return 0;
    while ((r = st__obj_next(c, &it, &k, &kn, &kpos)) == 1) {
        int is_wm = kn == 10 && memcmp(k, "weight_map", 10) == 0;
        int is_meta = kn == 8 && memcmp(k, "metadata", 8) == 0;
        if (is_wm && seen_wm) {
            st__schema_fail(c, ST_E_DUPLICATE, kpos, NULL, 0, "duplicate key \"weight_map\"");
            is_wm = 0;
        }
        if (!st__push_key_now(c, base, k, kn, kpos)) return 0;
        if (is_wm) {
            seen_wm = 1;
            if (!st__weight_map(c, m)) return 0;
        } else if (is_meta && m->nmeta == 0) { /* a second one is a duplicate key */
            if (!st__index_metadata(c, m)) return 0;
        } else if (!st__check_value(c, 1)) {
            return 0;
        }
    }
    if (r < 0) return 0;
    if (!st__pop_keys(c, base, "the index's top-level object", NULL, 0)) return 0;
    st__skip_ws(c);
    if (c->p < c->len)
        return st__json_error(c, c->p, "unexpected %s after the index's JSON object",
                              st__what(c, c->p, b));
    if (!seen_wm)
        st__schema_fail(c, ST_E_SCHEMA, top, NULL, 0,
                        "the index has no \"weight_map\" (an object of \"tensor\": \"shard "
                        "file\" pairs)");
    return 1;
}

static int st__name_cmp(const st_model_entry *a, const st_model_entry *b)
{
    size_t n = (size_t)(a->name_len < b->name_len ? a->name_len : b->name_len);
    int r = n ? memcmp(a->name, b->name, n) : 0;
    if (r) return r;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int st__entry_cmp(const void *pa, const void *pb)
{
    return st__name_cmp((const st_model_entry *)pa, (const st_model_entry *)pb);
}

/* Puts the entries in model order (by shard, stably, then by name within each
 * shard), in place, and sets each shard's range; perm[n] is scratch. Indexes
 * usually list names sorted, so a shard's run is most often sorted already and
 * only checked. Each entry's index field still holds its position before. */
static void st__model_sort(st_model *m, uint32_t *perm)
{
    size_t n = (size_t)m->nentries, i, ns = (size_t)m->nshards;
    uint64_t next = 0;
    for (i = 0; i < ns; i++) m->shards[i].count = 0;
    for (i = 0; i < n; i++) m->shards[m->entries[i].shard].count++;
    for (i = 0; i < ns; i++) {
        m->shards[i].first = next;
        next += m->shards[i].count;
    }
    /* where each entry goes (first is each shard's fill cursor here) */
    for (i = 0; i < n; i++) perm[i] = (uint32_t)m->shards[m->entries[i].shard].first++;
    for (i = 0; i < ns; i++) m->shards[i].first -= m->shards[i].count;
    /* follow the cycles of the permutation: each swap puts one entry home */
    for (i = 0; i < n; i++) {
        while (perm[i] != i) {
            uint32_t j = perm[i];
            st_model_entry t = m->entries[j];
            m->entries[j] = m->entries[i];
            m->entries[i] = t;
            perm[i] = perm[j];
            perm[j] = j;
        }
    }
    for (i = 0; i < ns; i++) {
        st_model_entry *run = m->entries + m->shards[i].first;
        uint64_t j, cnt = m->shards[i].count;
        for (j = 1; j < cnt; j++)
            if (st__name_cmp(&run[j - 1], &run[j]) > 0) break;
        if (j < cnt) qsort(run, (size_t)cnt, sizeof *run, st__entry_cmp);
    }
}

/* Model order, the name index over it, and each shard's range of entries.
 * The name index is either built during the parse over the entries as they
 * came (renumbered here, names not hashed again), or empty (st__open_single:
 * built here). */
st_status st__model_finish_entries(st_model *m, st_error *err)
{
    size_t n = (size_t)m->nentries, i;
    uint32_t dup = 0, *perm;
    if (n > SIZE_MAX / sizeof *perm) goto nomem;
    perm = (uint32_t *)st__malloc(&m->alloc, (n ? n : 1) * sizeof *perm);
    if (!perm) goto nomem;
    st__model_sort(m, perm);
    if (m->names.count == 0) {
        st__free(&m->alloc, perm, (n ? n : 1) * sizeof *perm);
        st__hash_free(&m->names, &m->alloc);
        if (!st__hash_init(&m->names, &m->alloc, n, 1)) goto nomem;
        for (i = 0; i < n; i++) {
            st_model_entry *e = &m->entries[i];
            e->index = i;
            if (st__hash_insert(&m->names, &m->alloc, &m->key, m, st__model_entry_name, e->name,
                                (size_t)e->name_len, (uint32_t)i, &dup) < 0)
                goto nomem;
        }
        return ST_OK;
    }
    /* every name is NUL-terminated now: the table becomes direct */
    m->names.names = (const char **)st__malloc(&m->alloc, n * sizeof *m->names.names);
    if (!m->names.names) {
        st__free(&m->alloc, perm, n * sizeof *perm);
        goto nomem;
    }
    m->names.names_cap = n;
    for (i = 0; i < n; i++) {
        st_model_entry *e = &m->entries[i];
        perm[e->index] = (uint32_t)i;
        e->index = i;
        m->names.names[i] = e->name;
    }
    st__hash_renumber(&m->names, perm);
    m->names.direct = 1;
    st__free(&m->alloc, perm, n * sizeof *perm);
    return ST_OK;
nomem:
    return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory indexing the model");
}

/* An upper bound on the pairs of the index (every pair has its ':'), at most
 * one per 32 bytes: the entry array and the name index are sized from it up
 * front, and grow past it only for an index of very short names. */
static size_t st__pairs_hint(const char *js, size_t n)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), low7 = UINT64_C(0x7F7F7F7F7F7F7F7F);
    size_t i = 0, colons = 0;
    /* 8 bytes at a time: the high bit of each byte of y is set exactly where
     * the byte is ':' (no carry crosses bytes), then summed by a multiply */
    for (; n - i >= 8; i += 8) {
        uint64_t w, x, y;
        memcpy(&w, js + i, 8);
        x = w ^ (ones * ':');
        y = ~(((x & low7) + low7) | x | low7);
        colons += (size_t)((((y >> 7) * ones) >> 56) & 0xFF);
    }
    for (; i < n; i++) colons += js[i] == ':';
    return colons < n / 32 ? colons : n / 32;
}

/* Parses the index text js[0..n) into the model's entries and shards. Error
 * offsets are offsets in the index file. */
st_status st__model_parse_index(st_model *m, size_t n, const char *label, st_error *err)
{
    const char *js = m->text;
    st__ctx c;
    st_file dummy; /* json.c reads header_size from the handle (to tell a NUL) */
    st_error e;
    size_t bad = 0, hint;
    int plain = 0;
    const void *nul;
    st_status s;
    char q[96];

    st__quote(q, sizeof q, label, strlen(label));
    if (!st__utf8_scan((const unsigned char *)js, n, &bad, &plain))
        return st__fail(err, ST_E_UTF8, (uint64_t)bad, NULL, 0,
                        "index \"%s\": byte 0x%02X at offset %llu is not valid UTF-8", q,
                        (unsigned)(unsigned char)js[bad], (unsigned long long)bad);
    memset(&dummy, 0, sizeof dummy);
    dummy.header_size = n;
    memset(&c, 0, sizeof c);
    st__clear_error(&e);
    c.f = &dummy;
    c.a = &m->alloc;
    c.js = js;
    c.err = &e;
    c.no_prefix = 1;
    c.plain = plain;
    nul = n ? memchr(js, 0, n) : NULL;
    c.len = nul ? (size_t)((const char *)nul - js) : n;
    hint = st__pairs_hint(js, c.len);

    /* names are compared through the entries while they are not yet ended
     * by a NUL; the table becomes direct once they are (finish_entries) */
    if (!st__hash_init(&m->names, c.a, hint, 0) || !st__hash_init(&m->shard_names, c.a, 16, 0) ||
        (hint && !st__grow(&c, (void **)&m->entries, &m->entries_cap, sizeof *m->entries, hint)))
        st__nomem(&c);
    else if (st__tokens_done(&c, st__tokenize(&c) && st__index_top(&c, m)) && c.len < n)
        st__json_error(&c, c.len, "NUL byte in the index");
    if (c.failed) {
        s = c.status;
    } else if (c.schema_failed) {
        s = (st_status)c.serr.code;
        e = c.serr;
    } else {
        s = ST_OK;
    }
    st__ctx_free(&c);
    if (s != ST_OK) {
        st__model_prefix(&e, "index \"%s\": ", q);
        if (err) *err = e;
        return s;
    }
    {
        uint64_t i;
        for (i = 0; i < m->nentries; i++) {
            const st_model_entry *en = &m->entries[i];
            if (en->name >= js && en->name < js + n)
                m->text[(size_t)(en->name - js) + (size_t)en->name_len] = '\0'; /* its quote */
        }
    }
    return st__model_finish_entries(m, err);
}

/* Reads the whole index file (open/read, not mmap) into memory from the
 * model's allocator (*alloc_len bytes, to free), at most cap bytes of text. */
st_status st__model_read_index(st_model *m, const char *path, uint64_t cap, char **out,
                               size_t *text_len, size_t *alloc_len, st_error *err)
{
    st__os_stat sb;
    st__fh h;
    char *buf, q[96];
    size_t size;
    uint64_t got = 0;
    int e;
    *out = NULL;
    *text_len = *alloc_len = 0;
    e = st__os_open(path, 0, &h); /* a FIFO does not block the open */
    if (e != 0) return st__model_io_fail(err, e, "cannot open the index", path);
    e = st__os_fstat(h, &sb);
    if (e != 0) {
        st__os_close(h);
        return st__model_io_fail(err, e, "cannot stat the index", path);
    }
    if (sb.kind != ST__OS_REG) {
        st__os_close(h);
        st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "index \"%s\" is not a regular file",
                 st__quote(q, sizeof q, path, strlen(path)));
        if (err) err->sys_errno = EINVAL;
        return ST_E_IO;
    }
    if (sb.size > cap) {
        st__os_close(h);
        return st__fail(err, ST_E_HEADER_TOO_LARGE, 0, NULL, 0,
                        "index \"%s\" has %llu bytes, above the cap of %llu (max_header_size)",
                        st__quote(q, sizeof q, path, strlen(path)), (unsigned long long)sb.size,
                        (unsigned long long)cap);
    }
    size = (size_t)sb.size; /* <= cap <= ST_MAX_HEADER_SIZE_LIMIT */
    buf = (char *)st__malloc(&m->alloc, size + 1);
    if (!buf) {
        st__os_close(h);
        return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0,
                        "out of memory reading the index (%zu bytes)", size);
    }
    /* fewer bytes than fstat said: it shrank since; parse what is there */
    e = st__os_pread(h, buf, size, 0, &got);
    st__os_close(h);
    if (e != 0) {
        st__free(&m->alloc, buf, size + 1);
        return st__model_io_fail(err, e, "cannot read the index", path);
    }
    buf[got] = '\0';
    *out = buf;
    *text_len = (size_t)got;
    *alloc_len = size + 1;
    return ST_OK;
}

static st_status st__storage_fail(st_error *err, int e, const char *what, const char *name)
{
    char q[96];
    st__fail(err, ST_E_IO, ST__NO_OFFSET, NULL, 0, "%s \"%s\" through the storage: code %d (%s)",
             what, st__quote(q, sizeof q, name, strlen(name)), e,
             e == ST_READER_SHORT ? "short read" : e > 0 ? strerror(e) : "not an errno value");
    if (err) err->sys_errno = e == ST_READER_SHORT ? EIO : e;
    return ST_E_IO;
}

st_status st__model_read_index_storage(st_model *m, const char *name, uint64_t cap, char **out,
                                       size_t *text_len, size_t *alloc_len, st_error *err)
{
    st_reader rd;
    uint64_t size = 0, off = 0;
    char *buf, q[96];
    int e;
    *out = NULL;
    *text_len = *alloc_len = 0;
    memset(&rd, 0, sizeof rd);
    rd.struct_size = (uint32_t)sizeof rd;
    e = m->storage.open_file(m->storage.ctx, name, &rd, &size);
    if (e != 0) return st__storage_fail(err, e, "cannot open the index", name);
    if (!rd.read) {
        if (m->storage.close_file) m->storage.close_file(m->storage.ctx, &rd);
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "the storage gave the index \"%s\" a reader without read",
                        st__quote(q, sizeof q, name, strlen(name)));
    }
    if (size > cap) {
        if (m->storage.close_file) m->storage.close_file(m->storage.ctx, &rd);
        return st__fail(err, ST_E_HEADER_TOO_LARGE, 0, NULL, 0,
                        "index \"%s\" has %llu bytes, above the cap of %llu (max_header_size)",
                        st__quote(q, sizeof q, name, strlen(name)), (unsigned long long)size,
                        (unsigned long long)cap);
    }
    /* size <= cap <= ST_MAX_HEADER_SIZE_LIMIT: fits size_t */
    buf = (char *)st__malloc(&m->alloc, (size_t)size + 1);
    if (!buf) {
        if (m->storage.close_file) m->storage.close_file(m->storage.ctx, &rd);
        return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0,
                        "out of memory reading the index (%llu bytes)", (unsigned long long)size);
    }
    e = size ? rd.read(rd.ctx, off, buf, (size_t)size) : 0;
    if (m->storage.close_file) m->storage.close_file(m->storage.ctx, &rd);
    if (e != 0) {
        st__free(&m->alloc, buf, (size_t)size + 1);
        return st__storage_fail(err, e, "cannot read the index", name);
    }
    buf[size] = '\0';
    *out = buf;
    *text_len = (size_t)size;
    *alloc_len = (size_t)size + 1;
    return ST_OK;
}

/* st__model_find_index's walk over the directory */
typedef struct st__find_ctx {
    const char *dir;
    size_t dn;
    char *out;
    unsigned found;
    char list[200];
    size_t ll;
} st__find_ctx;

static int st__find_entry(void *ctx, const char *name)
{
    st__find_ctx *c = (st__find_ctx *)ctx;
    size_t n = strlen(name);
    if (!st__model_ends_with(name, n, ST__INDEX_SUFFIX)) return 0;
    if (c->found == 0 && !st__model_join(c->out, c->dir, c->dn, name, n)) return 1;
    c->found++;
    if (c->ll + n + 5 < sizeof c->list) {
        if (c->ll) { memcpy(c->list + c->ll, ", ", 2); c->ll += 2; }
        c->list[c->ll++] = '"';
        memcpy(c->list + c->ll, name, n);
        c->ll += n;
        c->list[c->ll++] = '"';
        c->list[c->ll] = '\0';
    } else if (c->ll + 5 < sizeof c->list &&
               (c->ll < 4 || memcmp(c->list + c->ll - 3, "...", 3) != 0)) {
        memcpy(c->list + c->ll, ", ...", 6);
        c->ll += 5;
    }
    return 0;
}

/* The only *.safetensors.index.json in directory dir, joined to dir in out. */
st_status st__model_find_index(const char *dir, char *out, st_error *err)
{
    st__find_ctx c;
    char q[96];
    int r;
    memset(&c, 0, sizeof c);
    c.dir = dir;
    c.dn = strlen(dir);
    c.out = out;
    r = st__os_list_dir(dir, st__find_entry, &c);
    if (r < 0) return st__model_io_fail(err, -r, "cannot list the directory", dir);
    if (r > 0)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "path of the index in \"%s\" is too long",
                        st__quote(q, sizeof q, dir, c.dn));
    if (c.found == 0)
        return st__fail(err, ST_E_NOT_FOUND, ST__NO_OFFSET, NULL, 0,
                        "no *" ST__INDEX_SUFFIX " file in the directory \"%s\"",
                        st__quote(q, sizeof q, dir, c.dn));
    if (c.found > 1)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "%u index files in \"%s\" (name one of them): %s", c.found,
                        st__quote(q, sizeof q, dir, c.dn), c.list);
    return ST_OK;
}
