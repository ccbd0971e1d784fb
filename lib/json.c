/* Rule 5: one strict JSON object. jsmn tokenizes; the walk here checks.
 *
 * jsmn is a tokenizer, not a validator: even in strict mode it lets through
 * missing or doubled commas and colons, trailing commas, a second top-level
 * value, raw control characters in strings, bad literals (`tru`) and numbers
 * (`01`, `1.`), and it stops silently at a NUL byte. So the walk below is the
 * real grammar check: it moves a byte cursor through the header and requires
 * every token to start exactly where the grammar expects a value, with only
 * whitespace and the right punctuation in between. jsmn's tokens supply the
 * boundaries (string and primitive ends, container ends) and nothing else: the
 * walk never trusts jsmn's size or parent fields.
 *
 * Schema errors found during the walk are recorded (st__schema_fail) and
 * reported by schema.c only if the whole header is valid JSON. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"
#include "os.h"

#include <stdlib.h>
#include <string.h>


/* ---------------------------------------------------------------- errors */

uint64_t st__file_pos(const st__ctx *c, size_t pos)
{
    return (c->no_prefix ? 0u : 8u) + (uint64_t)pos;
}

int st__json_error(st__ctx *c, size_t pos, const char *fmt, ...) ST__PRINTF(3, 4);
int st__json_error(st__ctx *c, size_t pos, const char *fmt, ...)
{
    va_list ap;
    if (c->failed) return 0;
    c->failed = 1;
    c->status = ST_E_JSON;
    c->walk_error = c->jstate >= 0; /* not jsmn's own error (st__jsmn_failed) */
    va_start(ap, fmt);
    st__vfail(c->err, ST_E_JSON, st__file_pos(c, pos), NULL, 0, fmt, ap);
    va_end(ap);
    if (!c->no_prefix) st__append(c->err, " (rule 5)"); /* an index has no such rules */
    return 0;
}

int st__nomem(st__ctx *c)
{
    if (c->failed) return 0;
    c->failed = 1;
    c->status = ST_E_NOMEM;
    st__fail(c->err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory while parsing the header");
    return 0;
}

void st__schema_fail(st__ctx *c, st_status s, size_t pos, const char *name, size_t nlen,
                            const char *fmt, ...) ST__PRINTF(6, 7);
void st__schema_fail(st__ctx *c, st_status s, size_t pos, const char *name, size_t nlen,
                            const char *fmt, ...)
{
    va_list ap;
    if (c->schema_failed) return;
    c->schema_failed = 1;
    va_start(ap, fmt);
    st__vfail(&c->serr, s, st__file_pos(c, pos), name, nlen, fmt, ap);
    va_end(ap);
    if (!c->no_prefix)
        st__append(&c->serr, s == ST_E_DUPLICATE || s == ST_E_NAME
                                 ? " (rule 6; stricter than the reference, FORMAT.md section 5)"
                                 : " (rule 6)");
}

/* A short printable form of the byte at pos, for messages. */
const char *st__what(const st__ctx *c, size_t pos, char *buf)
{
    unsigned char ch;
    if (pos >= c->len) return "the end of the header";
    ch = (unsigned char)c->js[pos];
    if (ch >= 0x21 && ch < 0x7f) {
        buf[0] = '\'';
        buf[1] = (char)ch;
        buf[2] = '\'';
        buf[3] = '\0';
        return buf;
    }
    {
        static const char hex[] = "0123456789ABCDEF";
        memcpy(buf, "byte 0x", 7);
        buf[7] = hex[ch >> 4];
        buf[8] = hex[ch & 15];
        buf[9] = '\0';
    }
    return buf;
}

const char *st__type_name(const jsmntok_t *t, const char *js)
{
    switch (t->type) {
    case JSMN_OBJECT: return "an object";
    case JSMN_ARRAY: return "an array";
    case JSMN_STRING: return "a string";
    default:
        if (js[t->start] == 't' || js[t->start] == 'f') return "a boolean";
        if (js[t->start] == 'n') return "null";
        return "a number";
    }
}

/* ---------------------------------------------------------------- tokens */

int st__at_token_fail(st__ctx *c, const char *expected)
{
    char b[12];
    if (c->i >= c->ntok && c->p < c->len && !c->failed) {
        /* the window is used up: the next one */
        while (st__more_tokens(c) && c->i >= c->ntok) {
        }
        if (c->failed) return 0;
        if (c->i < c->ntok && st__span_begin(&c->tok[c->i]) == c->p) return 1;
    }
    if (c->p >= c->len)
        return st__json_error(c, c->p, "unexpected end of the header (expected %s)", expected);
    return st__json_error(c, c->p, "unexpected %s (expected %s)", st__what(c, c->p, b), expected);
}

/* ---------------------------------------------------------------- strings */

static int st__hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int st__hex4(const char *s, unsigned *out)
{
    int k;
    unsigned v = 0;
    for (k = 0; k < 4; k++) {
        int h = st__hexval(s[k]);
        if (h < 0) return 0;
        v = (v << 4) | (unsigned)h;
    }
    *out = v;
    return 1;
}

#define ST__ONES UINT64_C(0x0101010101010101)
#define ST__HIGHS UINT64_C(0x8080808080808080)

/* Checks the string token's content: no raw control characters, valid escapes,
 * surrogates paired. Sets *has_esc. The content is already valid UTF-8. */
static int st__check_string(st__ctx *c, const jsmntok_t *t, int *has_esc)
{
    const char *js = c->js;
    size_t p = (size_t)t->start, end = (size_t)t->end;
    *has_esc = 0;
    while (p < end) {
        /* fast path: 8 bytes with no control character and no backslash */
        while (p + 8 <= end) {
            uint64_t w, bs;
            memcpy(&w, js + p, 8);
            bs = w ^ (ST__ONES * '\\');
            if (((w - ST__ONES * 0x20) & ~w & ST__HIGHS) || ((bs - ST__ONES) & ~bs & ST__HIGHS))
                break;
            p += 8;
        }
        if (p >= end) break;
        {
            unsigned char ch = (unsigned char)js[p];
            if (ch < 0x20)
                return st__json_error(c, p, "raw control character 0x%02X inside a string "
                                            "(must be escaped)", ch);
            if (ch != '\\') {
                p++;
                continue;
            }
            *has_esc = 1;
            if (p + 1 >= end) return st__json_error(c, p, "unfinished escape in a string");
            switch (js[p + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u': {
                unsigned u, u2;
                if (end - p < 6 || !st__hex4(js + p + 2, &u))
                    return st__json_error(c, p, "invalid \\u escape in a string");
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return st__json_error(c, p, "lone low surrogate \\u%04X in a string", u);
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (end - p < 12 || js[p + 6] != '\\' || js[p + 7] != 'u' ||
                        !st__hex4(js + p + 8, &u2) || u2 < 0xDC00 || u2 > 0xDFFF)
                        return st__json_error(c, p, "lone high surrogate \\u%04X in a string "
                                                    "(not followed by a low surrogate)", u);
                    p += 12;
                } else {
                    p += 6;
                }
                break;
            }
            default:
                return st__json_error(c, p, "invalid escape '\\%c' in a string",
                                      (js[p + 1] >= 0x20 && js[p + 1] < 0x7f) ? js[p + 1] : '?');
            }
        }
    }
    return 1;
}

static size_t st__put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes an already checked string body into out (room for len bytes is
 * enough: decoding never grows). Returns the decoded length. */
static size_t st__unescape(const char *s, size_t len, char *out)
{
    size_t p = 0, o = 0;
    while (p < len) {
        const char *bs = (const char *)memchr(s + p, '\\', len - p);
        size_t run = bs ? (size_t)(bs - (s + p)) : len - p;
        memcpy(out + o, s + p, run);
        o += run;
        p += run;
        if (p >= len) break;
        switch (s[p + 1]) {
        case 'b': out[o++] = '\b'; p += 2; break;
        case 'f': out[o++] = '\f'; p += 2; break;
        case 'n': out[o++] = '\n'; p += 2; break;
        case 'r': out[o++] = '\r'; p += 2; break;
        case 't': out[o++] = '\t'; p += 2; break;
        case 'u': {
            unsigned u = 0, u2 = 0;
            st__hex4(s + p + 2, &u);
            if (u >= 0xD800 && u <= 0xDBFF) {
                st__hex4(s + p + 8, &u2);
                u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
                p += 12;
            } else {
                p += 6;
            }
            o += st__put_utf8(out + o, u);
            break;
        }
        default: out[o++] = s[p + 1]; p += 2; break; /* " \ / */
        }
    }
    return o;
}

/* Consumes the string token at the cursor and returns its decoded bytes in
 * *s / *n: a pointer into the header when it has no escapes, else into the
 * scratch buffer (valid until the next call). */
int st__take_string_slow(st__ctx *c, const char **s, size_t *n)
{
    const jsmntok_t *t = &c->tok[c->i];
    size_t len = (size_t)(t->end - t->start);
    int esc;
    if (!st__check_string(c, t, &esc)) return 0;
    c->i++;
    c->p = (size_t)t->end + 1;
    if (!esc) {
        *s = c->js + t->start;
        *n = len;
        return 1;
    }
    if (len + 1 > c->sbuf_cap) {
        size_t cap = len + 64;
        char *nb = (char *)st__realloc(c->a, c->sbuf, c->sbuf_cap, cap);
        if (!nb) return st__nomem(c);
        c->sbuf = nb;
        c->sbuf_cap = cap;
    }
    *n = st__unescape(c->js + t->start, len, c->sbuf);
    *s = c->sbuf;
    return 1;
}

/* ---------------------------------------------------------------- primitives */

int st__check_primitive(st__ctx *c, const jsmntok_t *t)
{
    const char *s = c->js + t->start;
    size_t n = (size_t)(t->end - t->start), p = 0;
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0) ||
        (n == 4 && memcmp(s, "null", 4) == 0))
        return 1;
    /* JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    if (p < n && s[p] == '-') p++;
    if (p < n && s[p] == '0') p++;
    else if (p < n && s[p] >= '1' && s[p] <= '9')
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    else goto bad;
    if (p < n && s[p] == '.') {
        p++;
        if (!(p < n && s[p] >= '0' && s[p] <= '9')) goto bad;
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    }
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < n && (s[p] == '+' || s[p] == '-')) p++;
        if (!(p < n && s[p] >= '0' && s[p] <= '9')) goto bad;
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    }
    if (p == n) return 1;
bad:
    return st__json_error(c, (size_t)t->start, "invalid literal or number '%.*s'",
                          (int)(n > 40 ? 40 : n), s);
}

/* A checked number token as an integer in 0..2^64-1. 0 if it is not one. */

/* ---------------------------------------------------------------- containers */

int st__open_too_deep(st__ctx *c)
{
    return st__json_error(c, (size_t)c->tok[c->i].start, "nesting deeper than %d levels",
                          ST__MAX_DEPTH);
}

/* The walk itself matches brackets: it reads a ']' only inside an array and a
 * '}' only inside an object. */
static int st__close_at(st__ctx *c, st__it *it)
{
    (void)it;
    c->p++;
    return 0;
}

/* Array: 1 = an element starts at the cursor, 0 = closed, -1 = error. */
int st__arr_next_slow(st__ctx *c, st__it *it)
{
    char b[12];
    st__skip_ws(c);
    if (c->p >= c->len)
        return st__json_error(c, c->p, "unexpected end of the header (unclosed array)") - 1;
    if (c->js[c->p] == ']') return c->failed ? -1 : (st__close_at(c, it), c->failed ? -1 : 0);
    if (!it->first) {
        if (c->js[c->p] != ',')
            return st__json_error(c, c->p, "unexpected %s (expected ',' or ']')",
                                  st__what(c, c->p, b)) - 1;
        c->p++;
        st__skip_ws(c);
        if (c->p < c->len && c->js[c->p] == ']')
            return st__json_error(c, c->p, "trailing comma before ']'") - 1;
    }
    it->first = 0;
    return st__at_token(c, "a value") ? 1 : -1;
}

/* Object: 1 = a key was read (returned decoded in *k, *kn, position *kpos) and
 * the cursor is after its ':', 0 = closed, -1 = error. */
int st__obj_next_slow(st__ctx *c, st__it *it, const char **k, size_t *kn, size_t *kpos)
{
    char b[12];
    st__skip_ws(c);
    if (c->p >= c->len)
        return st__json_error(c, c->p, "unexpected end of the header (unclosed object)") - 1;
    if (c->js[c->p] == '}') return (st__close_at(c, it), c->failed ? -1 : 0);
    if (!it->first) {
        if (c->js[c->p] != ',')
            return st__json_error(c, c->p, "unexpected %s (expected ',' or '}')",
                                  st__what(c, c->p, b)) - 1;
        c->p++;
        st__skip_ws(c);
        if (c->p < c->len && c->js[c->p] == '}')
            return st__json_error(c, c->p, "trailing comma before '}'") - 1;
    }
    it->first = 0;
    if (c->p >= c->len || c->js[c->p] != '"') {
        if (c->p >= c->len)
            return st__json_error(c, c->p, "unexpected end of the header (expected a key)") - 1;
        return st__json_error(c, c->p, "unexpected %s (expected a string key)",
                              st__what(c, c->p, b)) - 1;
    }
    if (!st__at_token(c, "a string key")) return -1;
    *kpos = c->p;
    if (!st__take_string(c, k, kn)) return -1;
    st__skip_ws(c);
    if (c->p >= c->len || c->js[c->p] != ':')
        return st__json_error(c, c->p, "unexpected %s (expected ':' after a key)",
                              st__what(c, c->p, b)) - 1;
    c->p++;
    return 1;
}

int st__colon_slow(st__ctx *c)
{
    char b[12];
    st__skip_ws(c);
    if (c->p >= c->len || c->js[c->p] != ':')
        return st__json_error(c, c->p, "unexpected %s (expected ':' after a key)",
                              st__what(c, c->p, b)) - 1;
    c->p++;
    return 1;
}

/* ---------------------------------------------------------------- duplicates */

int st__push_key(st__ctx *c, const char *k, size_t kn, size_t kpos)
{
    if (c->nkeys == c->kcap) {
        size_t cap = c->kcap ? c->kcap * 2 : 32;
        st__keyrec *nk = (st__keyrec *)st__realloc(c->a, c->keys, c->kcap * sizeof *nk,
                                                   cap * sizeof *nk);
        if (!nk) return st__nomem(c);
        c->keys = nk;
        c->kcap = cap;
    }
    if (c->kbuf_cap - c->kbuf_len < kn || !c->kbuf) { /* never NULL once a key is pushed */
        size_t cap = c->kbuf_cap ? c->kbuf_cap : 256;
        char *nb;
        while (cap - c->kbuf_len < kn) {
            if (cap > SIZE_MAX / 2) return st__nomem(c);
            cap *= 2;
        }
        nb = (char *)st__realloc(c->a, c->kbuf, c->kbuf_cap, cap);
        if (!nb) return st__nomem(c);
        c->kbuf = nb;
        c->kbuf_cap = cap;
    }
    if (kn) memcpy(c->kbuf + c->kbuf_len, k, kn);
    c->keys[c->nkeys].off = c->kbuf_len;
    c->keys[c->nkeys].len = kn;
    c->keys[c->nkeys].pos = kpos;
    c->kbuf_len += kn;
    c->nkeys++;
    return 1;
}

int st__push_key_now(st__ctx *c, size_t base, const char *k, size_t kn, size_t kpos)
{
    /* Objects of up to ST__DUP_NOW keys are checked as each key arrives, so a
     * duplicate is reported in document order (before errors in later values);
     * bigger ones are checked when they close (st__pop_keys). */
    size_t i, n = c->nkeys - base;
    if (n && n <= ST__DUP_NOW && !c->schema_failed) {
        for (i = base; i < c->nkeys; i++) {
            const st__keyrec *a = &c->keys[i];
            if (a->len == kn && (kn == 0 || memcmp(c->kbuf + a->off, k, kn) == 0)) {
                st__schema_fail(c, ST_E_DUPLICATE, kpos, c->cur_name, c->cur_nlen,
                                "duplicate key in %s (first at offset %llu)",
                                c->cur_name ? "a tensor entry" : "an object",
                                (unsigned long long)st__file_pos(c, a->pos));
                break;
            }
        }
    }
    return st__push_key(c, k, kn, kpos);
}

typedef struct st__keyref {
    const char *s;
    size_t len;
    size_t pos;
} st__keyref;

static int st__keyref_cmp(const void *pa, const void *pb)
{
    const st__keyref *a = (const st__keyref *)pa, *b = (const st__keyref *)pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int r = n ? memcmp(a->s, b->s, n) : 0;
    if (r) return r;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

/* Checks keys base..nkeys-1 for duplicates (recorded as a schema error at the
 * earliest second occurrence), then pops them. */
int st__pop_keys(st__ctx *c, size_t base, const char *where, const char *name,
                        size_t nlen)
{
    size_t n = c->nkeys - base, i, best = SIZE_MAX, first = 0;
    /* Up to ST__DUP_NOW + 1 keys, st__push_key_now compared every pair. */
    if (n > ST__DUP_NOW + 1 && !c->schema_failed) {
        st__keyref *r = (st__keyref *)st__malloc(c->a, n * sizeof *r);
        if (!r) return st__nomem(c);
        for (i = 0; i < n; i++) {
            r[i].s = c->kbuf + c->keys[base + i].off;
            r[i].len = c->keys[base + i].len;
            r[i].pos = c->keys[base + i].pos;
        }
        qsort(r, n, sizeof *r, st__keyref_cmp);
        for (i = 1; i < n; i++)
            if (r[i].len == r[i - 1].len && memcmp(r[i].s, r[i - 1].s, r[i].len) == 0 &&
                (i < 2 || r[i - 1].len != r[i - 2].len ||
                 memcmp(r[i - 1].s, r[i - 2].s, r[i].len) != 0) &&
                r[i].pos < best) {
                best = r[i].pos;
                first = r[i - 1].pos;
            }
        st__free(c->a, r, n * sizeof *r);
        if (best != SIZE_MAX)
            st__schema_fail(c, ST_E_DUPLICATE, best, name, nlen,
                            "duplicate key in %s (first at offset %llu)", where,
                            (unsigned long long)st__file_pos(c, first));
    }
    if (n) c->kbuf_len = c->keys[base].off;
    c->nkeys = base;
    return 1;
}

/* ---------------------------------------------------------------- generic value */

/* Any JSON value at the cursor, checked to the grammar, duplicate keys
 * included, as a recursive walk would (the same calls in the same order, so the
 * same first error), but with its own stack of open containers: a value nested
 * 128 deep costs no call per level. depth is the level of the value's parent
 * (the top object is 1). */
int st__check_value(st__ctx *c, int depth)
{
    struct {
        st__it it;
        int obj;     /* an object (else an array) */
        size_t base; /* an object's first key in c->keys */
    } st[ST__MAX_DEPTH + 1];
    int top = 0, r, ready = 0; /* ready: the next token is known to start at the cursor */
    for (;;) {
        const jsmntok_t *t;
        if (!ready && !st__at_token(c, "a value")) return 0;
        t = &c->tok[c->i];
        if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
            /* (depth + top + 1 > ST__MAX_DEPTH: refused before st may overflow) */
            if (!st__open(c, &st[top].it, depth + top + 1)) return 0;
            st[top].obj = t->type == JSMN_OBJECT;
            st[top].base = c->nkeys;
            top++;
        } else if (t->type == JSMN_STRING) {
            const char *s;
            size_t n;
            if (!st__take_string(c, &s, &n)) return 0;
        } else {
            if (!st__check_primitive(c, t)) return 0;
            c->i++;
            c->p = (size_t)t->end;
        }
        /* the next value of the innermost open container, closing those that end */
        for (;;) {
            if (!top) return 1;
            if (st[top - 1].obj) {
                const char *k;
                size_t kn, kpos;
                r = st__obj_next(c, &st[top - 1].it, &k, &kn, &kpos);
                /* r == 1 sets k; the analyzer does not inline the variadic
                 * st__json_error (always 0). NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
                if (r == 1 && !st__push_key_now(c, st[top - 1].base, k, kn, kpos)) return 0;
                if (r == 0 && !st__pop_keys(c, st[top - 1].base, "an object", c->cur_name, c->cur_nlen))
                    return 0;
                ready = 0;
            } else {
                r = st__arr_next(c, &st[top - 1].it); /* 1: at the element's token */
                ready = 1;
            }
            if (r < 0) return 0;
            if (r == 1) break;
            top--;
        }
    }
}

int st__grow_slow(st__ctx *c, void **arr, size_t *cap, size_t elem, size_t need)
{
    size_t ncap;
    void *n;
    /* the first allocation is exact (callers size it from a count they know) */
    ncap = *cap ? *cap : need;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return st__nomem(c);
        ncap *= 2;
    }
    n = st__realloc(c->a, *arr, *cap * elem, ncap * elem);
    if (!n) return st__nomem(c);
    *arr = n;
    *cap = ncap;
    return 1;
}

/* ---------------------------------------------------------------- token windows
 *
 * jsmn keeps every token it has made, and the whole token array of a big header
 * is several times its size. So jsmn works here in windows, one step ahead of
 * the walk: each call makes at most ST__TOK_NEW tokens, and before the next one
 * the tokens the walk has used are dropped. What jsmn still needs stays: the
 * chain from its current parent (toksuper) up through the open containers and
 * pending keys, moved to the front of the array with its parent links renumbered.
 * jsmn never looks at any other token: a closing bracket climbs the parent links
 * from the last token, a ',' climbs one link from toksuper, and a value checks
 * only toksuper. Keeping the chain also gives the nesting depth for free, and
 * nesting past the limit is refused between calls.
 *
 * jsmn's closing bracket climbs from the last token made through every container
 * closed since, so a run of k closing brackets costs k*k/2 steps: a valid
 * header of nests 128 deep would cost far more than a realistic one. The byte
 * window therefore ends after at most ST__CLOSE_RUN closing brackets in a row,
 * and the chain is rebuilt (the closed ones dropped) before the next call; the
 * rest of a longer run is closed between the calls, one step per bracket, the
 * way jsmn closes one (st__close_run), so a nest costs one call, not one per
 * ST__CLOSE_RUN brackets. A
 * window also ends after at most about ST__BYTE_WIN bytes, always just after a
 * ',', ']' or '}', never between a key and its ':' (jsmn makes the key
 * toksuper only when it reads the ':'). A window that ends inside a string or
 * number makes jsmn back up to its start; the next window is then longer. */
#ifndef ST__BYTE_WIN
#define ST__BYTE_WIN 65536
#endif
#define ST__CLOSE_RUN 4

#define ST__ONES UINT64_C(0x0101010101010101)
#define ST__HAS_ZERO(x) (((x) - ST__ONES) & ~(x) & (ST__ONES * 0x80))

/* The end of the next byte window starting at from (see above). run counts
 * the closing brackets since the last byte that is neither one of them nor
 * whitespace nor a ','. Words of 8 bytes with no bracket are skipped whole,
 * unless a run is open (one of them may be only whitespace and commas). */
static size_t st__cut(const st__ctx *c, size_t from)
{
    const unsigned char *s = (const unsigned char *)c->js;
    size_t n = c->len, p, far;
    unsigned run = 0;
    if (c->jmin >= n - from) return n;
    p = from + c->jmin;
    far = n - p > ST__BYTE_WIN ? p + ST__BYTE_WIN : n;
    for (;;) {
        size_t e;
        while (!run && n - p >= 8) {
            uint64_t w, x, y;
            memcpy(&w, s + p, 8);
            x = (w | ST__ONES * 0x20) ^ (ST__ONES * 0x7D); /* 0 at ']' and '}' */
            if (ST__HAS_ZERO(x)) break;
            if (p >= far) {
                y = w ^ (ST__ONES * ',');
                if (ST__HAS_ZERO(y)) break;
            }
            p += 8;
        }
        if (p >= n) return n;
        e = n - p > 8 ? p + 8 : n;
        for (; p < e; p++) {
            unsigned ch = s[p];
            if ((ch | 0x20) == 0x7D) {
                if (++run >= ST__CLOSE_RUN || p >= far) return p + 1;
            } else if (ch == ',') {
                if (p >= far) return p + 1;
            } else if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
                run = 0;
            }
        }
        if (p >= n) return n;
    }
}

/* jsmn stopped on an error: find the exact first error (and its reason). */
static int st__jsmn_failed(st__ctx *c, int r)
{
    char msg[160];
    size_t pos = 0;
    c->jstate = -1;
    if (st__json_locate(c->js, c->len, &pos, msg, sizeof msg)) {
        if (pos >= c->len && c->len < c->f->header_size)
            return st__json_error(c, c->len, "NUL byte inside the header's JSON");
        return st__json_error(c, pos, "%s", msg);
    }
    return st__json_error(c, c->ps.pos, r == JSMN_ERROR_NOMEM
                                           ? "too many JSON values for the header's size"
                                           : "invalid JSON");
}

/* Drops the tokens before the window's end but jsmn's chain (see above). */
static void st__keep_chain(st__ctx *c)
{
    jsmn_parser *ps = &c->ps;
    int q = ps->toksuper, k, inplace = 1;
    unsigned top = 0, n;
    int fresh[ST__TOK_NEW + 2];
    /* the chain's members made in the last window, innermost first (a nest's
     * parent is most often the token just before: that guess, taken as a
     * branch, lets the loads of a long chain overlap) */
    while (q >= (int)c->chain) {
        int up = c->tok[q].parent;
        fresh[top++] = q;
        if (ST__LIKELY(up == q - 1)) {
            q--;
        } else {
            q = up;
            inplace = 0;
        }
    }
    /* the old chain's first q + 1 members are still in it; the new ones follow
     * them, moved down unless they already do (each then the parent of the next) */
    n = (unsigned)(q + 1);
    if (inplace) {
        n += top;
    } else {
        for (k = (int)top - 1; k >= 0; k--) {
            jsmntok_t *t = &c->tok[n];
            if ((unsigned)fresh[k] != n) *t = c->tok[fresh[k]];
            t->parent = (int)n - 1;
            n++;
        }
    }
    ps->toknext = n;
    ps->toksuper = (int)n - 1;
    c->chain = n;
    c->i = n;
    c->ntok = n;
}

/* Whether the chain nests deeper than the limit (it holds the open containers
 * and at most one pending key above each: checked only when it is long). */
static int st__chain_too_deep(const st__ctx *c)
{
    unsigned k, d = 0;
    if (c->chain <= ST__MAX_DEPTH) return 0;
    for (k = 0; k < c->chain; k++) d += c->tok[k].type == JSMN_OBJECT || c->tok[k].type == JSMN_ARRAY;
    return d > ST__MAX_DEPTH;
}

/* A run of closing brackets longer than the window allows (see above) is closed
 * here, between calls, as jsmn itself would close each bracket: the innermost
 * open container (past a pending key) must be of the bracket's type, its end is
 * set and it leaves the chain. Each costs one step, not a climb. Whitespace
 * between them is skipped; anything else, a bracket of the wrong type or one
 * with no container open stops the run and is left to jsmn (which reports the
 * error). Called right after st__keep_chain: tok[0..chain) is the chain, each
 * member's parent the one before it. */
static void st__close_run(st__ctx *c)
{
    jsmn_parser *ps = &c->ps;
    const char *js = c->js;
    size_t p = ps->pos, n = c->len;
    unsigned m = c->chain;
    while (p < n) {
        char ch = js[p];
        jsmntype_t type;
        unsigned k;
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            p++;
            continue;
        }
        if (ch != ']' && ch != '}') break;
        type = ch == '}' ? JSMN_OBJECT : JSMN_ARRAY;
        if (!m) break;
        k = m - 1;
        if (c->tok[k].end != -1) { /* a key whose value is done: its object is next */
            if (!k) break;
            k--;
        }
        if (c->tok[k].type != type || c->tok[k].end != -1) break;
        c->tok[k].end = (int)(p + 1);
        m = k;
        p++;
    }
    if (p == ps->pos) return;
    ps->pos = (unsigned)p;
    ps->toknext = m;
    ps->toksuper = (int)m - 1;
    c->chain = m;
    c->i = m;
    c->ntok = m;
}

/* Runs jsmn until it makes tokens (1), reaches the end (0) or fails (0, reported). */
static int st__jsmn_step(st__ctx *c)
{
    jsmn_parser *ps = &c->ps;
    if (c->jstate) return 0;
    for (;;) {
        unsigned before;
        size_t pos0 = ps->pos;
        int r;
        st__keep_chain(c);
        if (st__chain_too_deep(c))
            return st__jsmn_failed(c, JSMN_ERROR_INVAL); /* the locator reports it */
        if (ps->pos >= c->jend) st__close_run(c);
        if (ps->pos >= c->jend) {
            c->jend = st__cut(c, ps->pos);
            c->jmin = 0;
        }
        before = ps->toknext;
        r = jsmn_parse(ps, c->js, c->jend, c->tok, c->chain + ST__TOK_NEW);
        c->ntok = ps->toknext;
        if (r == JSMN_ERROR_INVAL || (r == JSMN_ERROR_PART && c->jend >= c->len))
            return st__jsmn_failed(c, r); /* at the end, PART means unclosed */
        if (r >= 0 && c->jend >= c->len) c->jstate = 1;
        if (ps->toknext > before) return 1;
        if (c->jstate) return 0;
        if (ps->pos < c->jend && ps->pos == pos0 && r != JSMN_ERROR_NOMEM) {
            /* a string or number runs past the window: a longer one, from here */
            size_t have = c->jend - ps->pos;
            c->jmin = have > SIZE_MAX / 2 ? SIZE_MAX : have * 2 + 64;
            c->jend = ps->pos;
        }
    }
}

/* The header's pages behind the walk are not read again (names, keys and
 * values are copied as they are read), so in a file mapping they are given back
 * as the walk goes, in steps of ST__DROP_STEP: the process never holds the whole
 * header and the whole handle at once. The pages stay in the OS's file cache; a
 * later read of them (the locator after a JSON error) maps them again. */
#define ST__DROP_STEP ((size_t)1 << 20)

static void st__drop_behind(st__ctx *c)
{
    size_t pg = st__os_page_size(), a, b;
    uintptr_t base = (uintptr_t)c->drop_map;
    a = (size_t)(((base + c->dropped + pg - 1) & ~(uintptr_t)(pg - 1)) - base);
    b = (size_t)(((base + c->p) & ~(uintptr_t)(pg - 1)) - base);
    if (b > a) (void)st__os_advise(c->drop_map + a, b - a, ST_ADVICE_DONTNEED);
    c->dropped = c->p;
}

int st__more_tokens(st__ctx *c)
{
    if (c->failed) return 0;
    if (c->drop_map && c->p - c->dropped >= ST__DROP_STEP) st__drop_behind(c);
    return st__jsmn_step(c);
}

int st__tokenize(st__ctx *c)
{
    c->tok = c->tokw;
    c->ntok = 0;
    c->i = 0;
    c->chain = 0;
    c->jend = 0;
    c->jmin = 0;
    c->jstate = 0;
    jsmn_init(&c->ps);
    return 1;
}

/* After the walk (walked: it accepted the whole header): jsmn must reach the end
 * too. An error found by the walk stands only if jsmn finds none anywhere: where
 * jsmn fails, the locator names the first error, as it always has. */
int st__tokens_done(st__ctx *c, int walked)
{
    if (c->failed && (!c->walk_error || c->status != ST_E_JSON)) return 0;
    while (!c->jstate) {
        c->i = c->ntok; /* nothing more is walked */
        if (!st__jsmn_step(c) && c->jstate < 0) break;
    }
    if (c->jstate < 0) {
        if (c->walk_error) {
            /* replace the walk's message by the locator's */
            c->failed = 0;
            c->walk_error = 0;
            return st__jsmn_failed(c, JSMN_ERROR_INVAL);
        }
        return 0;
    }
    if (c->failed) return 0;
    if (walked && c->i < c->ntok)
        return st__json_error(c, st__span_begin(&c->tok[c->i]),
                              "unexpected value after the header's JSON object");
    return walked;
}

void st__ctx_free(st__ctx *c)
{
    st__free(c->a, c->keys, c->kcap * sizeof(st__keyrec));
    st__free(c->a, c->kbuf, c->kbuf_cap);
    st__free(c->a, c->sbuf, c->sbuf_cap);
    st__free(c->a, c->dims, c->dims_cap * sizeof(uint64_t));
}

