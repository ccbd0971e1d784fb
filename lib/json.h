/* Private to header.c's two halves: json.c (jsmn and the strict grammar walk)
 * and schema.c (entries, metadata, the top object). Never installed. */
#ifndef ST_JSON_H
#define ST_JSON_H

/* Only the token type is needed here: jsmn itself is compiled in json.c alone. */
#ifndef JSMN_H
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>
#endif

#include "internal.h"

#include <string.h>

#define ST__MAX_DEPTH 128

/* The token window (json.c): jsmn makes at most ST__TOK_NEW tokens per call, into
 * an array that also keeps the open containers and pending keys of the values
 * being read (at most 2 per nesting level; deeper nesting is refused between
 * calls). So the tokens of any header take this fixed room, inside the ctx. */
#ifndef ST__TOK_NEW /* (a test build sets tiny windows: make check-windows-tiny) */
#define ST__TOK_NEW 256
#endif
#define ST__TOK_CAP (2 * (ST__MAX_DEPTH + 2) + 2 * ST__TOK_NEW)

typedef struct st__keyrec {
    size_t off; /* into kbuf */
    size_t len;
    size_t pos; /* header position of the key's opening quote */
} st__keyrec;

typedef struct st__ctx {
    st_file *f;
    const st_allocator *a;
    const char *js;
    size_t len; /* bytes given to jsmn (up to the first NUL) */
    jsmntok_t *tok; /* = tokw: the window */
    unsigned ntok;  /* tokens in the window */
    unsigned i;     /* next token */
    size_t p;   /* byte cursor */
    st_error *err;
    int failed;        /* a JSON error (or NOMEM) was reported: stop */
    st_status status;  /* status of that error */
    int schema_failed; /* first schema error is in serr */
    st_error serr;
    /* keys of the objects being walked, for duplicate checks (a stack) */
    st__keyrec *keys;
    size_t nkeys, kcap;
    char *kbuf;
    size_t kbuf_len, kbuf_cap;
    /* scratch for decoding one string */
    char *sbuf;
    size_t sbuf_cap;
    /* the tensor whose entry is being walked (for error records), or NULL */
    const char *cur_name;
    char qbuf[80]; /* a quoted name for a message */
    size_t cur_nlen;
    /* shape dims being read */
    uint64_t *dims;
    size_t dims_cap;
    /* 0 (the default): js is a file header, so file offsets are 8 + position;
     * 1: js starts at byte 0 of its file (a model index): offsets = positions,
     * and messages cite no FORMAT.md rule */
    int no_prefix;
    /* 1: the header holds no byte below 0x20 and no backslash (seen by the
     * UTF-8 pass), so no string token needs its content checked */
    int plain;
    /* the tokenizer's state between windows (json.c) */
    jsmn_parser ps;
    size_t jend;    /* jsmn reads the header up to here in the current window */
    size_t jmin;    /* the next window's least length */
    int jstate;     /* 0: more to come; 1: jsmn reached the end; -1: jsmn failed */
    int walk_error; /* the walk reported a JSON error (jsmn may still fail later) */
    unsigned chain; /* tokens kept at the window's start */
    /* a header read through the library's own file mapping (NULL otherwise):
     * its pages behind the walk are given back as it goes (json.c) */
    unsigned char *drop_map; /* the header's first byte in the mapping */
    size_t dropped;          /* header bytes before this are given back */
    jsmntok_t tokw[ST__TOK_CAP];
} st__ctx;

typedef struct st__it {
    int first;
} st__it;

/* The file offset of header position pos (see no_prefix). */
uint64_t st__file_pos(const st__ctx *c, size_t pos);
int st__json_error(st__ctx *c, size_t pos, const char *fmt, ...) ST__PRINTF(3, 4);
int st__nomem(st__ctx *c);
void st__schema_fail(st__ctx *c, st_status s, size_t pos, const char *name, size_t nlen,
                            const char *fmt, ...) ST__PRINTF(6, 7);
const char *st__type_name(const jsmntok_t *t, const char *js);
int st__check_primitive(st__ctx *c, const jsmntok_t *t);
int st__push_key(st__ctx *c, const char *k, size_t kn, size_t kpos);
/* The same, checking the new key at once against the object's keys since base
 * (while the object has at most ST__DUP_NOW keys). */
#define ST__DUP_NOW 32
int st__push_key_now(st__ctx *c, size_t base, const char *k, size_t kn, size_t kpos);
int st__pop_keys(st__ctx *c, size_t base, const char *where, const char *name,
                        size_t nlen);
int st__check_value(st__ctx *c, int depth);
int st__grow_slow(st__ctx *c, void **arr, size_t *cap, size_t elem, size_t need);
/* Makes room for need elements in *arr (capacity *cap); 0 after reporting NOMEM. */
#define st__grow(c, arr, cap, elem, need) \
    ((need) <= *(cap) ? 1 : st__grow_slow((c), (arr), (cap), (elem), (need)))
/* Starts the tokenizer over c->js[0..c->len) (0 after reporting an error). Tokens
 * then arrive window by window as st__at_token asks for them; st__tokens_done
 * checks, once the walk is done, that jsmn agrees with it to the end. */
int st__tokenize(st__ctx *c);
int st__more_tokens(st__ctx *c);
int st__tokens_done(st__ctx *c, int walked);
void st__ctx_free(st__ctx *c);

const char *st__what(const st__ctx *c, size_t pos, char *buf);
/* Error path: 1 and the first error's position and message if s[0..n) is not
 * one valid JSON object within the depth limit; 0 if it is. */
int st__json_locate(const char *s, size_t n, size_t *pos, char *msg, size_t msg_cap);

/* Hot helpers of the walk, inline in both json.c and schema.c. */

/* Where a token's text begins (a string's opening quote). */
static inline size_t st__span_begin(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? (size_t)t->start - 1 : (size_t)t->start;
}

static inline void st__skip_ws(st__ctx *c)
{
    const char *js = c->js;
    size_t p = c->p, n = c->len;
    while (p < n && (js[p] == ' ' || js[p] == '\n' || js[p] == '\r' || js[p] == '\t')) p++;
    c->p = p;
}

int st__at_token_fail(st__ctx *c, const char *expected);

/* After whitespace, the next token must start exactly at the cursor. */
static inline int st__at_token(st__ctx *c, const char *expected)
{
    st__skip_ws(c);
    if (ST__UNLIKELY(c->p >= c->len || c->i >= c->ntok ||
                     st__span_begin(&c->tok[c->i]) != c->p))
        return st__at_token_fail(c, expected); /* fetches the next window first */
    return 1;
}

int st__take_string_slow(st__ctx *c, const char **s, size_t *n);

/* Consumes the string token at the cursor and returns its decoded bytes in
 * *s / *n: a pointer into the header when it holds no escape (the common case,
 * checked here inline, or known from the UTF-8 pass), else into a scratch
 * buffer valid until the next call. */
static inline int st__take_string(st__ctx *c, const char **s, size_t *n)
{
    const jsmntok_t *t = &c->tok[c->i];
    const unsigned char *b = (const unsigned char *)c->js + t->start;
    const unsigned char *e = (const unsigned char *)c->js + t->end, *q = b;
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    if (c->plain) q = e; /* nothing to find */
    while (e - q >= 8) {
        uint64_t w, bs;
        memcpy(&w, q, 8);
        bs = w ^ (ones * '\\');
        if (((w - ones * 0x20) & ~w & highs) || ((bs - ones) & ~bs & highs)) break;
        q += 8;
    }
    while (q < e && *q >= 0x20 && *q != '\\') q++;
    if (ST__UNLIKELY(q != e)) return st__take_string_slow(c, s, n);
    c->i++;
    c->p = (size_t)t->end + 1;
    *s = (const char *)b;
    *n = (size_t)(e - b);
    return 1;
}

/* A checked number token as an integer in 0..2^64-1; 0 if it is not one. */
static inline int st__as_u64(const st__ctx *c, const jsmntok_t *t, uint64_t *v)
{
    const char *s = c->js + t->start;
    size_t n = (size_t)(t->end - t->start), k;
    uint64_t x = 0;
    /* up to 19 digits cannot overflow; 20 digits are compared with 2^64-1 */
    if (n == 0 || n > 20) return 0;
    if (n == 20 && memcmp(s, "18446744073709551615", 20) > 0) return 0;
    k = 0;
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* 8 digits at a time (little-endian: the first digit is the low byte) */
    while (n - k >= 8) {
        uint64_t w, d;
        memcpy(&w, s + k, 8);
        /* every byte in '0'..'9': high nibble 3, and still 3 after adding 6 */
        if (((w & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
             (((w + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) !=
            UINT64_C(0x3333333333333333))
            return 0; /* sign, fraction or exponent */
        d = w - UINT64_C(0x3030303030303030);
        d = d * 10 + (d >> 8); /* pairs of digits in every other byte */
        d = (((d & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
             (((d >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >>
            32;
        x = x * 100000000u + d;
        k += 8;
    }
#endif
    for (; k < n; k++) {
        unsigned d = (unsigned)(unsigned char)s[k] - '0';
        if (d > 9) return 0; /* sign, fraction or exponent */
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

int st__open_too_deep(st__ctx *c);

/* Enters the container token at the cursor (depth counts the top object as 1). */
static inline int st__open(st__ctx *c, st__it *it, int depth)
{
    const jsmntok_t *t = &c->tok[c->i];
    it->first = 1;
    if (ST__UNLIKELY(depth > ST__MAX_DEPTH)) return st__open_too_deep(c);
    c->p = (size_t)t->start + 1;
    c->i++;
    return 1;
}

int st__arr_next_slow(st__ctx *c, st__it *it);
int st__obj_next_slow(st__ctx *c, st__it *it, const char **k, size_t *kn, size_t *kpos);
int st__colon_slow(st__ctx *c);

/* Array: 1 = an element starts at the cursor, 0 = closed, -1 = error. The
 * inline part takes the compact case (no whitespace, not the end); everything
 * else, errors included, is left to st__arr_next_slow with the state intact. */
static inline int st__arr_next(st__ctx *c, st__it *it)
{
    size_t p = c->p;
    if (p < c->len && c->js[p] == ']') { /* the walk matches brackets itself */
        c->p = p + 1;
        return 0;
    }
    if (!it->first) {
        if (p < c->len && c->js[p] == ',') p++;
        else return st__arr_next_slow(c, it);
    }
    if (p < c->len && c->i < c->ntok && st__span_begin(&c->tok[c->i]) == p) {
        c->p = p;
        it->first = 0;
        return 1;
    }
    return st__arr_next_slow(c, it);
}

/* Object: 1 = a key was read (decoded in *k, *kn; its quote at *kpos) and the
 * cursor is after its ':', 0 = closed, -1 = error. Same split as above. */
static inline int st__obj_next(st__ctx *c, st__it *it, const char **k, size_t *kn,
                               size_t *kpos)
{
    size_t p = c->p;
    if (p < c->len && c->js[p] == '}') {
        c->p = p + 1;
        return 0;
    }
    if (!it->first) {
        if (p < c->len && c->js[p] == ',') p++;
        else return st__obj_next_slow(c, it, k, kn, kpos);
    }
    if (p < c->len && c->js[p] == '"' && c->i < c->ntok && c->tok[c->i].type == JSMN_STRING &&
        (size_t)c->tok[c->i].start == p + 1) {
        c->p = p;
        it->first = 0;
        *kpos = p;
        if (!st__take_string(c, k, kn)) return -1;
        if (c->p < c->len && c->js[c->p] == ':') {
            c->p++;
            return 1;
        }
        return st__colon_slow(c);
    }
    return st__obj_next_slow(c, it, k, kn, kpos);
}

#endif /* ST_JSON_H */
