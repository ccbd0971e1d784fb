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

#define ST__MAX_DEPTH 128

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
    jsmntok_t *tok;
    size_t tok_cap;
    unsigned ntok;
    unsigned i; /* next token */
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
} st__ctx;

typedef struct st__it {
    size_t end; /* one past the closing bracket */
    int first;
} st__it;

/* The file offset of header position pos (see no_prefix). */
uint64_t st__file_pos(const st__ctx *c, size_t pos);
int st__json_error(st__ctx *c, size_t pos, const char *fmt, ...) ST__PRINTF(3, 4);
int st__nomem(st__ctx *c);
void st__schema_fail(st__ctx *c, st_status s, size_t pos, const char *name, size_t nlen,
                            const char *fmt, ...) ST__PRINTF(6, 7);
const char *st__type_name(const jsmntok_t *t, const char *js);
size_t st__span_begin(const jsmntok_t *t);
int st__at_token(st__ctx *c, const char *expected);
int st__take_string(st__ctx *c, const char **s, size_t *n);
int st__check_primitive(st__ctx *c, const jsmntok_t *t);
int st__as_u64(const st__ctx *c, const jsmntok_t *t, uint64_t *v);
int st__open(st__ctx *c, st__it *it, int depth);
int st__arr_next(st__ctx *c, st__it *it);
int st__obj_next(st__ctx *c, st__it *it, const char **k, size_t *kn, size_t *kpos);
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
int st__tokenize(st__ctx *c);
void st__ctx_free(st__ctx *c);
void st__skip_ws(st__ctx *c);

const char *st__what(const st__ctx *c, size_t pos, char *buf);
/* Error path: 1 and the first error's position and message if s[0..n) is not
 * one valid JSON object within the depth limit; 0 if it is. */
int st__json_locate(const char *s, size_t n, size_t *pos, char *msg, size_t msg_cap);

#endif /* ST_JSON_H */
