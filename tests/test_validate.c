/* Rules 7, 8 and 9 of FORMAT.md section 4, each broken on purpose:
 * offsets (cursor, holes, overlaps, END < BEGIN, zero-size tensors), element
 * and bit counts (overflow, partial bytes, size mismatch), coverage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <safetensors.h>
#include "stt.h"

/* Where the expected error offset points. */
enum where {
    W_NONE = 0,   /* success: nothing to check */
    W_DOFF,       /* '[' of the tensor's "data_offsets" value */
    W_SHAPE,      /* '[' of the tensor's "shape" value */
    W_COVERAGE,   /* 8 + N + cursor */
    W_UNCHECKED   /* the offset is not representable; only the status is checked */
};

typedef struct vcase {
    const char *name;
    const char *hdr;
    uint64_t data_len;
    uint32_t flags;
    st_status want;
    enum where where;
    const char *key;    /* the tensor's key as written in hdr (locates the field) */
    const char *tensor; /* expected err.tensor (unescaped); NULL: not checked */
    uint64_t cursor;    /* for W_COVERAGE */
} vcase;

/* Absolute offset of the '[' of `field` inside the entry whose key is written
 * as `key` in hdr. */
static uint64_t field_offset(const char *hdr, const char *key, const char *field)
{
    char pat[512];
    const char *p = hdr, *q;
    size_t kl;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    kl = strlen(pat);
    /* the key: the quoted text followed by optional whitespace and ':' */
    for (;;) {
        p = strstr(p, pat);
        if (!p) {
            print_error("test bug: key %s not found in %s\n", pat, hdr);
            fail();
        }
        q = p + kl;
        while (*q == ' ') q++;
        if (*q == ':') break;
        p++;
    }
    snprintf(pat, sizeof pat, "\"%s\"", field);
    q = strstr(p + kl, pat);
    if (!q) {
        print_error("test bug: field %s not found after key %s\n", pat, key);
        fail();
    }
    q = strchr(q, '[');
    assert_non_null(q);
    return 8u + (uint64_t)(q - hdr);
}

static uint64_t want_offset(const vcase *c)
{
    switch (c->where) {
    case W_DOFF: return field_offset(c->hdr, c->key, "data_offsets");
    case W_SHAPE: return field_offset(c->hdr, c->key, "shape");
    case W_COVERAGE: return 8u + (uint64_t)strlen(c->hdr) + c->cursor;
    default: return 0;
    }
}

static void report(const vcase *c, st_status got, const st_error *e, uint64_t woff,
                   const char *why)
{
    print_error("case %s: %s\n  want %s offset %llu tensor %s\n"
                "  got  %s (err.code %s) flags %u offset %llu tensor \"%s\"\n"
                "  message: %s\n",
                c->name, why, st_status_name(c->want), (unsigned long long)woff,
                c->tensor ? c->tensor : "(any)", st_status_name(got),
                st_status_name(e->code), e->flags, (unsigned long long)e->offset, e->tensor,
                e->message);
}

/* Runs one case; returns 1 if it behaved as expected (and prints why not). */
static int run_case(const vcase *c)
{
    size_t n;
    unsigned char *b = stt_build_str(c->hdr, c->data_len, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error e;
    st_status s;
    uint64_t woff = want_offset(c);
    int ok = 1;

    memset(&e, 0x5a, sizeof e);
    o.flags = c->flags;
    s = st_open_memory(&f, b, n, &o, &e);
    if (s != c->want) {
        report(c, s, &e, woff, "wrong status");
        ok = 0;
    } else if (e.code != (int)s) {
        report(c, s, &e, woff, "err.code differs from the returned status");
        ok = 0;
    } else if (s == ST_OK) {
        if (f == NULL || e.flags != 0 || e.message[0] != '\0' || e.tensor[0] != '\0') {
            report(c, s, &e, woff, "success without a handle or with a dirty error record");
            ok = 0;
        }
    } else {
        if (f != NULL) {
            report(c, s, &e, woff, "failure left *out non-NULL");
            ok = 0;
        }
        if (e.message[0] == '\0') {
            report(c, s, &e, woff, "empty message");
            ok = 0;
        }
        if (c->where != W_UNCHECKED &&
            (!(e.flags & ST_ERROR_HAS_OFFSET) || e.offset != woff)) {
            report(c, s, &e, woff, "wrong offset");
            ok = 0;
        }
        if (c->tensor != NULL &&
            (!(e.flags & ST_ERROR_HAS_TENSOR) || strcmp(e.tensor, c->tensor) != 0)) {
            report(c, s, &e, woff, "wrong tensor");
            ok = 0;
        }
    }
    st_close(f);
    free(b);
    return ok;
}

static void run_table(const vcase *cases, size_t count)
{
    size_t i, bad = 0;
    for (i = 0; i < count; i++) bad += !run_case(&cases[i]);
    if (bad) {
        print_error("%zu of %zu cases failed\n", bad, count);
        fail();
    }
}

#define T(name, dt, shape, doff) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" doff "}"

/* 2^32, 2^58, 2^59, 2^61, 2^61-1, 2^62, 2^62-2, 2^63, 2^64-2, 2^64-1 */
#define P32 "4294967296"
#define P58 "288230376151711744"
#define P59 "576460752303423488"
#define P61 "2305843009213693952"
#define P61M1 "2305843009213693951"
#define P62 "4611686018427387904"
#define P62M2 "4611686018427387902"
#define P63 "9223372036854775808"
#define P64M2 "18446744073709551614"
#define P64M1 "18446744073709551615"

/* ---------------------------------------------------------------- rule 7 */

static const vcase RULE7[] = {
    {"first tensor not at 0", "{" T("a", "U8", "[4]", "[1,5]") "}", 5, 0, ST_E_OFFSETS, W_DOFF,
     "a", "a", 0},
    {"first tensor not at 0, empty data", "{" T("a", "U8", "[1]", "[1,2]") "}", 2, 0,
     ST_E_OFFSETS, W_DOFF, "a", "a", 0},
    {"hole between tensors", "{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[4]", "[5,9]") "}",
     9, 0, ST_E_OFFSETS, W_DOFF, "b", "b", 0},
    {"hole, header order reversed",
     "{" T("b", "U8", "[4]", "[5,9]") "," T("a", "U8", "[4]", "[0,4]") "}", 9, 0, ST_E_OFFSETS,
     W_DOFF, "b", "b", 0},
    {"overlap", "{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[4]", "[2,6]") "}", 6, 0,
     ST_E_OFFSETS, W_DOFF, "b", "b", 0},
    {"overlap, same begin, shorter sorts first",
     "{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[2]", "[0,2]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "a", "a", 0},
    {"identical ranges: the second in header order fails",
     "{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[4]", "[0,4]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "b", "b", 0},
    {"identical ranges, header order reversed",
     "{" T("b", "U8", "[4]", "[0,4]") "," T("a", "U8", "[4]", "[0,4]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "a", "a", 0},
    {"END < BEGIN at the cursor",
     "{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[0]", "[4,2]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "b", "b", 0},
    {"END < BEGIN, first tensor", "{" T("a", "U8", "[0]", "[2,1]") "}", 2, 0, ST_E_OFFSETS,
     W_DOFF, "a", "a", 0},
    {"rule 7 before rule 8 on one tensor", "{" T("a", "U8", "[3]", "[1,5]") "}", 5, 0,
     ST_E_OFFSETS, W_DOFF, "a", "a", 0},
    {"rule 8 on an earlier tensor before rule 7 on a later one",
     "{" T("a", "U8", "[3]", "[0,4]") "," T("b", "U8", "[4]", "[5,9]") "}", 9, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "a", "a", 0},
    {"file order, not header order, decides the first failure",
     "{" T("b", "U8", "[4]", "[6,10]") "," T("a", "U8", "[3]", "[0,4]") "}", 10, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "a", "a", 0},
    {"good tensor then hole and mismatch on the next",
     "{" T("a", "U8", "[4]", "[0,4]") "," T("b", "U8", "[3]", "[5,8]") "}", 8, 0, ST_E_OFFSETS,
     W_DOFF, "b", "b", 0},
    {"rule 7 before coverage", "{" T("a", "U8", "[4]", "[1,5]") "}", 2, 0, ST_E_OFFSETS, W_DOFF,
     "a", "a", 0},
    {"three tensors, gap before the third",
     "{" T("a", "F32", "[1]", "[0,4]") "," T("b", "F32", "[1]", "[4,8]") "," T("c", "F32", "[1]",
                                                                               "[12,16]") "}",
     16, 0, ST_E_OFFSETS, W_DOFF, "c", "c", 0},
    {"escaped name in the error record",
     "{" T("\\u00e9\\u0061", "U8", "[4]", "[2,6]") "}", 6, 0, ST_E_OFFSETS, W_DOFF,
     "\\u00e9\\u0061", "\xc3\xa9" "a", 0},
    {"data_offsets with whitespace",
     "{\"a\" : { \"dtype\" : \"U8\" , \"shape\" : [ 4 ] , \"data_offsets\" :  [ 1 , 5 ] } }", 5, 0,
     ST_E_OFFSETS, W_DOFF, "a", "a", 0},
    {"data_offsets before shape and dtype",
     "{\"a\":{\"data_offsets\":[3,7],\"shape\":[4],\"dtype\":\"U8\"}}", 7, 0, ST_E_OFFSETS, W_DOFF,
     "a", "a", 0},
    {"metadata does not shift the cursor",
     "{\"__metadata__\":{\"k\":\"v\"}," T("a", "U8", "[2]", "[2,4]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "a", "a", 0},
    /* zero-size tensors */
    {"zero-size at the start", "{" T("z", "U8", "[0]", "[0,0]") "," T("a", "U8", "[4]", "[0,4]") "}",
     4, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"zero-size at the end", "{" T("a", "U8", "[4]", "[0,4]") "," T("z", "U8", "[0]", "[4,4]") "}",
     4, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"zero-size between two tensors",
     "{" T("b", "U8", "[4]", "[4,8]") "," T("z", "F32", "[0,3]", "[4,4]") "," T("a", "U8", "[4]",
                                                                                 "[0,4]") "}",
     8, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"several zero-size at one spot",
     "{" T("z3", "U8", "[0]", "[4,4]") "," T("a", "U8", "[4]", "[0,4]") "," T("z1", "F64", "[0]",
                                                                               "[4,4]") ","
     T("z2", "BF16", "[2,0]", "[4,4]") "," T("b", "U8", "[1]", "[4,5]") "}",
     5, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"only a zero-size tensor, no data", "{" T("z", "F32", "[0]", "[0,0]") "}", 0, 0, ST_OK,
     W_NONE, NULL, NULL, 0},
    {"zero-size strictly inside another",
     "{" T("a", "U8", "[4]", "[0,4]") "," T("z", "U8", "[0]", "[2,2]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "z", "z", 0},
    {"zero-size inside, one byte in",
     "{" T("z", "U8", "[0]", "[1,1]") "," T("a", "U8", "[4]", "[0,4]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "z", "z", 0},
    {"zero-size inside, one byte before the end",
     "{" T("a", "U8", "[4]", "[0,4]") "," T("z", "U8", "[0]", "[3,3]") "}", 4, 0, ST_E_OFFSETS,
     W_DOFF, "z", "z", 0},
    {"zero-size past the end", "{" T("a", "U8", "[4]", "[0,4]") "," T("z", "U8", "[0]", "[5,5]") "}",
     4, 0, ST_E_OFFSETS, W_DOFF, "z", "z", 0},
    {"zero-size far past the end of an empty data section", "{" T("z", "U8", "[0]", "[100,100]") "}",
     0, 0, ST_E_OFFSETS, W_DOFF, "z", "z", 0},
    {"zero-size at 2^64-1", "{" T("z", "U8", "[0]", "[" P64M1 "," P64M1 "]") "}", 0, 0,
     ST_E_OFFSETS, W_DOFF, "z", "z", 0},
    {"zero elements but one byte claimed", "{" T("z", "U8", "[0]", "[0,1]") "}", 1, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "z", "z", 0},
};

static void test_rule7_table(void **state)
{
    (void)state;
    run_table(RULE7, sizeof RULE7 / sizeof RULE7[0]);
}

/* ---------------------------------------------------------------- rule 8 */

static const vcase RULE8[] = {
    {"numel overflow 2^32 x 2^32", "{" T("a", "U8", "[" P32 "," P32 "]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"numel overflow left to right [2^63,2^63,0]",
     "{" T("a", "U8", "[" P63 "," P63 ",0]", "[0,0]") "}", 0, 0, ST_E_OVERFLOW, W_SHAPE, "a", "a",
     0},
    {"numel [0,2^63,2^63] is 0, no overflow", "{" T("a", "U8", "[0," P63 "," P63 "]", "[0,0]") "}",
     0, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"numel [2^63,0,2^63] is 0, no overflow", "{" T("a", "F32", "[" P63 ",0," P63 "]", "[0,0]") "}",
     0, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"numel overflow on a later dim [1,2^63,2]", "{" T("a", "U8", "[1," P63 ",2]", "[0,0]") "}", 0,
     0, ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"bits overflow U8 numel 2^64-1", "{" T("a", "U8", "[" P64M1 "]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"bits overflow U64 numel 2^61", "{" T("a", "U64", "[" P61 "]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"bits overflow F32 numel 2^59", "{" T("a", "F32", "[" P59 "]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"bits overflow F32 numel 2^58 x 2", "{" T("a", "F32", "[" P58 ",2]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"bits overflow F4 numel 2^62", "{" T("a", "F4", "[" P62 "]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"bits overflow U8 numel 2^61", "{" T("a", "U8", "[" P61 "]", "[0,0]") "}", 0, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"no overflow F32 numel 2^58 (bits 2^63): size decides",
     "{" T("a", "F32", "[" P58 "]", "[0,0]") "}", 0, 0, ST_E_SIZE_MISMATCH, W_DOFF, "a", "a", 0},
    {"no overflow F4 numel 2^62-2: only coverage fails",
     "{" T("a", "F4", "[" P62M2 "]", "[0," P61M1 "]") "}", 0, 0, ST_E_COVERAGE, W_COVERAGE, NULL,
     NULL, 2305843009213693951u},
    {"overflow before size mismatch", "{" T("a", "U8", "[" P32 "," P32 "]", "[0,7]") "}", 7, 0,
     ST_E_OVERFLOW, W_SHAPE, "a", "a", 0},
    {"rule 7 before overflow", "{" T("a", "U8", "[" P32 "," P32 "]", "[1,1]") "}", 1, 0,
     ST_E_OFFSETS, W_DOFF, "a", "a", 0},
    {"overflow on the second tensor",
     "{" T("a", "U8", "[2]", "[0,2]") "," T("b", "I64", "[" P61 "]", "[2,2]") "}", 2, 0,
     ST_E_OVERFLOW, W_SHAPE, "b", "b", 0},
    {"F4 odd count", "{" T("a", "F4", "[3]", "[0,2]") "}", 2, 0, ST_E_PARTIAL_BYTE, W_DOFF, "a",
     "a", 0},
    {"F4 count 1", "{" T("a", "F4", "[1]", "[0,1]") "}", 1, 0, ST_E_PARTIAL_BYTE, W_DOFF, "a", "a",
     0},
    {"F4 odd count 3x5", "{" T("a", "F4", "[3,5]", "[0,8]") "}", 8, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F4 scalar", "{" T("a", "F4", "[]", "[0,1]") "}", 1, 0, ST_E_PARTIAL_BYTE, W_DOFF, "a", "a",
     0},
    {"F4 scalar, no bytes", "{" T("a", "F4", "[]", "[0,0]") "}", 0, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F4 even count", "{" T("a", "F4", "[4]", "[0,2]") "}", 2, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"F4 even count 2x3", "{" T("a", "F4", "[2,3]", "[0,3]") "}", 3, 0, ST_OK, W_NONE, NULL, NULL,
     0},
    {"F4 zero count", "{" T("a", "F4", "[0]", "[0,0]") "}", 0, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"F4 even count, wrong size", "{" T("a", "F4", "[4]", "[0,4]") "}", 4, 0, ST_E_SIZE_MISMATCH,
     W_DOFF, "a", "a", 0},
    {"F6_E2M3 count 1", "{" T("a", "F6_E2M3", "[1]", "[0,1]") "}", 1, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F6_E2M3 count 2", "{" T("a", "F6_E2M3", "[2]", "[0,2]") "}", 2, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F6_E2M3 count 3", "{" T("a", "F6_E2M3", "[3]", "[0,3]") "}", 3, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F6_E2M3 count 6", "{" T("a", "F6_E2M3", "[6]", "[0,5]") "}", 5, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F6_E2M3 count 4", "{" T("a", "F6_E2M3", "[4]", "[0,3]") "}", 3, 0, ST_OK, W_NONE, NULL, NULL,
     0},
    {"F6_E3M2 count 5", "{" T("a", "F6_E3M2", "[5]", "[0,4]") "}", 4, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F6_E3M2 scalar", "{" T("a", "F6_E3M2", "[]", "[0,1]") "}", 1, 0, ST_E_PARTIAL_BYTE, W_DOFF,
     "a", "a", 0},
    {"F6_E3M2 count 8", "{" T("a", "F6_E3M2", "[8]", "[0,6]") "}", 6, 0, ST_OK, W_NONE, NULL, NULL,
     0},
    {"F6_E3M2 count 2x2", "{" T("a", "F6_E3M2", "[2,2]", "[0,3]") "}", 3, 0, ST_OK, W_NONE, NULL,
     NULL, 0},
    {"F6_E3M2 count 4, wrong size", "{" T("a", "F6_E3M2", "[4]", "[0,4]") "}", 4, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "a", "a", 0},
    {"partial byte on the second tensor",
     "{" T("a", "U8", "[2]", "[0,2]") "," T("b", "F4", "[3]", "[2,4]") "}", 4, 0,
     ST_E_PARTIAL_BYTE, W_DOFF, "b", "b", 0},
    {"size too small", "{" T("a", "F32", "[2]", "[0,7]") "}", 7, 0, ST_E_SIZE_MISMATCH, W_DOFF,
     "a", "a", 0},
    {"size too big", "{" T("a", "F32", "[2]", "[0,9]") "}", 9, 0, ST_E_SIZE_MISMATCH, W_DOFF, "a",
     "a", 0},
    {"size mismatch on the second tensor",
     "{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F16", "[3]", "[8,12]") "}", 12, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "b", "b", 0},
    {"scalar is one element", "{" T("a", "F32", "[]", "[0,4]") "}", 4, 0, ST_OK, W_NONE, NULL,
     NULL, 0},
    {"scalar with no bytes", "{" T("a", "F32", "[]", "[0,0]") "}", 0, 0, ST_E_SIZE_MISMATCH,
     W_DOFF, "a", "a", 0},
    {"scalar with two elements' bytes", "{" T("a", "F64", "[]", "[0,16]") "}", 16, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "a", "a", 0},
    {"shape with 0 is 0 bytes", "{" T("a", "F32", "[3,0,5]", "[0,0]") "}", 0, 0, ST_OK, W_NONE,
     NULL, NULL, 0},
    {"shape with 0 but bytes claimed", "{" T("a", "F32", "[3,0]", "[0,4]") "}", 4, 0,
     ST_E_SIZE_MISMATCH, W_DOFF, "a", "a", 0},
    {"C64 is 8 bytes per element", "{" T("a", "C64", "[2]", "[0,16]") "}", 16, 0, ST_OK, W_NONE,
     NULL, NULL, 0},
    {"C64 sized as F32", "{" T("a", "C64", "[2]", "[0,8]") "}", 8, 0, ST_E_SIZE_MISMATCH, W_DOFF,
     "a", "a", 0},
    {"END near 2^64-1", "{" T("a", "U8", "[2]", "[0," P64M1 "]") "}", 0, 0, ST_E_SIZE_MISMATCH,
     W_DOFF, "a", "a", 0},
    {"BEGIN and END near 2^64-1", "{" T("a", "U8", "[1]", "[" P64M2 "," P64M1 "]") "}", 0, 0,
     ST_E_OFFSETS, W_DOFF, "a", "a", 0},
};

static void test_rule8_table(void **state)
{
    (void)state;
    run_table(RULE8, sizeof RULE8 / sizeof RULE8[0]);
}

/* Every dtype: 8 elements take exactly `bits` bytes; one byte more or less fails. */
static const struct {
    const char *name;
    unsigned bits;
} DT[] = {
    {"BOOL", 8},     {"U8", 8},       {"I8", 8},          {"F8_E5M2", 8},     {"F8_E4M3", 8},
    {"F8_E8M0", 8},  {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"F4", 4},       {"F6_E2M3", 6},
    {"F6_E3M2", 6},  {"I16", 16},     {"U16", 16},        {"F16", 16},        {"BF16", 16},
    {"I32", 32},     {"U32", 32},     {"F32", 32},        {"C64", 64},        {"F64", 64},
    {"I64", 64},     {"U64", 64},
};

static void test_rule8_every_dtype(void **state)
{
    char hdr[3][256];
    size_t i, k, bad = 0;
    (void)state;
    for (i = 0; i < sizeof DT / sizeof DT[0]; i++) {
        unsigned nb = DT[i].bits; /* 8 elements x bits / 8 */
        vcase c[3];
        snprintf(hdr[0], sizeof hdr[0], "{" T("t", "%s", "[2,4]", "[0,%u]") "}", DT[i].name, nb);
        snprintf(hdr[1], sizeof hdr[1], "{" T("t", "%s", "[8]", "[0,%u]") "}", DT[i].name, nb - 1);
        snprintf(hdr[2], sizeof hdr[2], "{" T("t", "%s", "[8]", "[0,%u]") "}", DT[i].name, nb + 1);
        memset(c, 0, sizeof c);
        c[0].name = DT[i].name; c[0].hdr = hdr[0]; c[0].data_len = nb; c[0].want = ST_OK;
        c[1].name = DT[i].name; c[1].hdr = hdr[1]; c[1].data_len = nb - 1;
        c[1].want = ST_E_SIZE_MISMATCH; c[1].where = W_DOFF; c[1].key = "t"; c[1].tensor = "t";
        c[2] = c[1]; c[2].hdr = hdr[2]; c[2].data_len = nb + 1;
        for (k = 0; k < 3; k++) bad += !run_case(&c[k]);
    }
    assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- rule 9 */

static const vcase RULE9[] = {
    {"smallest valid file", "{}", 0, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"empty header with one trailing byte", "{}", 1, 0, ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 0},
    {"truncated by 1 byte", "{" T("a", "F32", "[2]", "[0,8]") "}", 7, 0, ST_E_COVERAGE,
     W_COVERAGE, NULL, NULL, 8},
    {"truncated by 1 byte, lenient trailing does not help", "{" T("a", "F32", "[2]", "[0,8]") "}",
     7, ST_LENIENT_TRAILING_BYTES, ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 8},
    {"truncated to no data at all", "{" T("a", "F32", "[2]", "[0,8]") "}", 0, 0, ST_E_COVERAGE,
     W_COVERAGE, NULL, NULL, 8},
    {"one trailing byte", "{" T("a", "F32", "[2]", "[0,8]") "}", 9, 0, ST_E_COVERAGE, W_COVERAGE,
     NULL, NULL, 8},
    {"four trailing bytes", "{" T("a", "F32", "[2]", "[0,8]") "}", 12, 0, ST_E_COVERAGE,
     W_COVERAGE, NULL, NULL, 8},
    {"trailing byte, NUL-padding leniency does not help", "{" T("a", "F32", "[2]", "[0,8]") "}", 9,
     ST_LENIENT_NUL_PADDING, ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 8},
    {"exact fit", "{" T("a", "F32", "[2]", "[0,8]") "}", 8, 0, ST_OK, W_NONE, NULL, NULL, 0},
    {"padded header, exact fit", "{" T("a", "F32", "[2]", "[0,8]") "}       ", 8, 0, ST_OK,
     W_NONE, NULL, NULL, 0},
    {"padded header, truncated", "{" T("a", "F32", "[2]", "[0,8]") "}       ", 5, 0,
     ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 8},
    {"no tensors but metadata", "{\"__metadata__\":{\"k\":\"v\"}}", 0, 0, ST_OK, W_NONE, NULL,
     NULL, 0},
    {"no tensors but metadata, one trailing byte", "{\"__metadata__\":{\"k\":\"v\"}}", 1, 0,
     ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 0},
    {"only zero-size tensors, trailing bytes", "{" T("z", "U8", "[0]", "[0,0]") "}", 3, 0,
     ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 0},
    {"cursor is the end of the last tensor",
     "{" T("a", "U8", "[3]", "[0,3]") "," T("b", "U8", "[0]", "[3,3]") "}", 4, 0, ST_E_COVERAGE,
     W_COVERAGE, NULL, NULL, 3},
    {"claim of 2^61-1 bytes over 4", "{" T("a", "U8", "[" P61M1 "]", "[0," P61M1 "]") "}", 4, 0,
     ST_E_COVERAGE, W_COVERAGE, NULL, NULL, 2305843009213693951u},
};

static void test_rule9_table(void **state)
{
    (void)state;
    run_table(RULE9, sizeof RULE9 / sizeof RULE9[0]);
}

/* 8 tensors of 2^61-1 bytes and one of 7 end at 2^64-1: 8 + N + cursor
 * overflows, which must be ST_E_COVERAGE, not a wrap-around acceptance. */
static void test_rule9_cursor_near_2_64(void **state)
{
    char hdr[2048];
    size_t len = 0, k;
    uint64_t cur = 0;
    vcase c;
    const uint64_t big = 2305843009213693951u;
    (void)state;
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "{");
    for (k = 0; k < 9; k++) {
        uint64_t sz = k < 8 ? big : 7;
        len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                "%s\"t%zu\":{\"dtype\":\"U8\",\"shape\":[%llu],"
                                "\"data_offsets\":[%llu,%llu]}",
                                k ? "," : "", k, (unsigned long long)sz,
                                (unsigned long long)cur, (unsigned long long)(cur + sz));
        cur += sz;
    }
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "}");
    assert_true(len < sizeof hdr);
    assert_int_equal(cur, UINT64_MAX);
    memset(&c, 0, sizeof c);
    c.name = "cursor 2^64-1: 8 + N + cursor overflows";
    c.hdr = hdr;
    c.data_len = 16;
    c.want = ST_E_COVERAGE;
    c.where = W_UNCHECKED;
    assert_true(run_case(&c));
    /* the same with 8 tensors: cursor 2^64-8, still past any file */
    hdr[0] = '\0';
    len = 0;
    cur = 0;
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "{");
    for (k = 0; k < 8; k++) {
        len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                "%s\"t%zu\":{\"dtype\":\"BOOL\",\"shape\":[%llu],"
                                "\"data_offsets\":[%llu,%llu]}",
                                k ? "," : "", k, (unsigned long long)big,
                                (unsigned long long)cur, (unsigned long long)(cur + big));
        cur += big;
    }
    snprintf(hdr + len, sizeof hdr - len, "}");
    c.name = "cursor 2^64-8";
    assert_true(run_case(&c));
}

/* Trailing bytes accepted with ST_LENIENT_TRAILING_BYTES, and reported. */
static void test_rule9_lenient_trailing(void **state)
{
    static const struct {
        const char *hdr;
        uint64_t data_len; /* bytes after 8 + N */
        uint64_t extent;   /* cursor */
        uint32_t flags;
    } cases[] = {
        {"{" T("a", "F32", "[2]", "[0,8]") "}", 9, 8, ST_LENIENT_TRAILING_BYTES},
        {"{" T("a", "F32", "[2]", "[0,8]") "}", 12, 8, ST_LENIENT_TRAILING_BYTES},
        {"{" T("a", "F32", "[2]", "[0,8]") "}", 12, 8,
         ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING},
        {"{}", 1, 0, ST_LENIENT_TRAILING_BYTES},
        {"{\"__metadata__\":{\"k\":\"v\"}}", 5, 0, ST_LENIENT_TRAILING_BYTES},
        /* the switch on, but not needed: not reported */
        {"{" T("a", "F32", "[2]", "[0,8]") "}", 8, 8, ST_LENIENT_TRAILING_BYTES},
        {"{}", 0, 0, ST_LENIENT_TRAILING_BYTES},
        /* the switch off */
        {"{" T("a", "F32", "[2]", "[0,8]") "}", 8, 8, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        unsigned char *b = stt_build_str(cases[i].hdr, cases[i].data_len, &n);
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        st_file *f = NULL;
        st_error e;
        st_status s;
        uint64_t trailing = cases[i].data_len - cases[i].extent;
        o.flags = cases[i].flags;
        s = st_open_memory(&f, b, n, &o, &e);
        if (s != ST_OK) {
            print_error("lenient case %zu: %s: %s\n", i, st_status_name(s), e.message);
            fail();
        }
        assert_int_equal(e.code, ST_OK);
        assert_int_equal(st_file_size(f), n);
        assert_int_equal(st_file_header_size(f), strlen(cases[i].hdr));
        assert_int_equal(st_file_data_offset(f), 8 + strlen(cases[i].hdr));
        assert_int_equal(st_file_data_size(f), cases[i].data_len);
        assert_int_equal(st_file_trailing_bytes(f), trailing);
        if (trailing)
            assert_int_equal(st_file_leniency_used(f), ST_LENIENT_TRAILING_BYTES);
        else
            assert_int_equal(st_file_leniency_used(f), 0);
        st_close(f);
        free(b);
    }
}

/* ---------------------------------------------------------------- order */

/* Opens hdr (with data_len bytes) and checks the file order by name. */
static void expect_order(const char *what, const char *hdr, uint64_t data_len,
                         const char *const *names, size_t count)
{
    size_t n, i;
    unsigned char *b = stt_build_str(hdr, data_len, &n);
    st_file *f = NULL;
    st_error e;
    st_status s = st_open_memory(&f, b, n, NULL, &e);
    if (s != ST_OK) {
        print_error("%s: open: %s: %s\n", what, st_status_name(s), e.message);
        fail();
    }
    assert_int_equal(st_tensor_count(f), count);
    for (i = 0; i < count; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        assert_non_null(t);
        if (strcmp(t->name, names[i]) != 0 || t->index != i) {
            print_error("%s: position %zu: want %s, got %s (index %llu)\n", what, i, names[i],
                        t->name, (unsigned long long)t->index);
            fail();
        }
        if (i > 0) {
            const st_tensor *p = st_tensor_at(f, i - 1);
            assert_true(p->begin < t->begin || (p->begin == t->begin && p->end <= t->end));
        }
        /* lookup by name gives the same tensor */
        assert_non_null(st_tensor_find(f, names[i]));
        assert_int_equal(st_tensor_find(f, names[i])->index, i);
    }
    assert_null(st_tensor_at(f, count));
    st_close(f);
    free(b);
}

static void test_order_independent_of_header(void **state)
{
    static const char *const want[] = {"a", "b", "c", "d", "e"};
    static const char *const hdrs[] = {
        "{" T("a", "U8", "[1]", "[0,1]") "," T("b", "U8", "[2]", "[1,3]") "," T("c", "U8", "[3]",
                                                                                "[3,6]") ","
        T("d", "U8", "[4]", "[6,10]") "," T("e", "U8", "[5]", "[10,15]") "}",
        "{" T("e", "U8", "[5]", "[10,15]") "," T("d", "U8", "[4]", "[6,10]") "," T("c", "U8", "[3]",
                                                                                   "[3,6]") ","
        T("b", "U8", "[2]", "[1,3]") "," T("a", "U8", "[1]", "[0,1]") "}",
        "{" T("c", "U8", "[3]", "[3,6]") "," T("a", "U8", "[1]", "[0,1]") "," T("e", "U8", "[5]",
                                                                                "[10,15]") ","
        T("b", "U8", "[2]", "[1,3]") "," T("d", "U8", "[4]", "[6,10]") "}",
        "{\"__metadata__\":{\"x\":\"y\"}," T("d", "U8", "[4]", "[6,10]") "," T("b", "U8", "[2]",
                                                                               "[1,3]") ","
        T("e", "U8", "[5]", "[10,15]") "," T("a", "U8", "[1]", "[0,1]") "," T("c", "U8", "[3]",
                                                                              "[3,6]") "}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "permutation %zu", i);
        expect_order(what, hdrs[i], 15, want, 5);
    }
}

static void test_order_zero_size_ties(void **state)
{
    static const char *const want1[] = {"z0", "a", "z3", "z1", "z2", "b", "ze"};
    static const char *const want2[] = {"z0", "a", "z2", "z1", "z3", "b", "ze"};
    (void)state;
    /* ties (BEGIN, END) keep header order; a zero-size tensor sorts before the
     * non-empty tensor that begins at the same offset */
    expect_order("ties in header order",
                 "{" T("z3", "U8", "[0]", "[4,4]") "," T("b", "U8", "[1]", "[4,5]") ","
                 T("a", "U8", "[4]", "[0,4]") "," T("ze", "I32", "[0]", "[5,5]") ","
                 T("z1", "F64", "[0]", "[4,4]") "," T("z0", "U8", "[0]", "[0,0]") ","
                 T("z2", "BF16", "[2,0]", "[4,4]") "}",
                 5, want1, 7);
    expect_order("ties in another header order",
                 "{" T("ze", "I32", "[0]", "[5,5]") "," T("z2", "BF16", "[2,0]", "[4,4]") ","
                 T("z0", "U8", "[0]", "[0,0]") "," T("z1", "F64", "[0]", "[4,4]") ","
                 T("b", "U8", "[1]", "[4,5]") "," T("z3", "U8", "[0]", "[4,4]") ","
                 T("a", "U8", "[4]", "[0,4]") "}",
                 5, want2, 7);
}

/* Many tensors in reverse header order: the sort must handle more than a few. */
static void test_order_many_reversed(void **state)
{
    enum { K = 300 };
    char *hdr = malloc(K * 96 + 16);
    char names[K][8];
    const char *want[K];
    size_t len = 0;
    int k;
    (void)state;
    assert_non_null(hdr);
    len += (size_t)sprintf(hdr, "{");
    for (k = K - 1; k >= 0; k--)
        len += (size_t)sprintf(hdr + len, "%s\"n%d\":{\"dtype\":\"F16\",\"shape\":[1],"
                                          "\"data_offsets\":[%d,%d]}",
                               k == K - 1 ? "" : ",", k, 2 * k, 2 * k + 2);
    sprintf(hdr + len, "}");
    for (k = 0; k < K; k++) {
        sprintf(names[k], "n%d", k);
        want[k] = names[k];
    }
    expect_order("300 reversed", hdr, 2 * K, want, K);
    free(hdr);
}

/* ---------------------------------------------------------------- error record details */

static void test_error_tensor_truncated(void **state)
{
    char name[201], hdr[512];
    size_t n;
    unsigned char *b;
    st_file *f = NULL;
    st_error e;
    st_status s;
    (void)state;
    memset(name, 'x', 200);
    name[200] = '\0';
    name[0] = 'A';
    snprintf(hdr, sizeof hdr, "{" T("%s", "U8", "[2]", "[1,3]") "}", name);
    b = stt_build_str(hdr, 3, &n);
    s = st_open_memory(&f, b, n, NULL, &e);
    assert_int_equal(s, ST_E_OFFSETS);
    assert_int_equal(e.code, ST_E_OFFSETS);
    assert_null(f);
    assert_true(e.flags & ST_ERROR_HAS_TENSOR);
    assert_true(e.flags & ST_ERROR_TENSOR_TRUNCATED);
    assert_true(e.flags & ST_ERROR_HAS_OFFSET);
    assert_int_equal(e.offset, 8 + (uint64_t)(strstr(hdr, "[1,3]") - hdr));
    assert_int_equal(strlen(e.tensor), sizeof e.tensor - 1);
    assert_memory_equal(e.tensor, name, sizeof e.tensor - 1);
    free(b);

    /* a name of exactly 127 bytes fits: no truncation flag */
    name[127] = '\0';
    snprintf(hdr, sizeof hdr, "{" T("%s", "U8", "[2]", "[1,3]") "}", name);
    b = stt_build_str(hdr, 3, &n);
    s = st_open_memory(&f, b, n, NULL, &e);
    assert_int_equal(s, ST_E_OFFSETS);
    assert_true(e.flags & ST_ERROR_HAS_TENSOR);
    assert_false(e.flags & ST_ERROR_TENSOR_TRUNCATED);
    assert_string_equal(e.tensor, name);
    free(b);
}

static void test_error_empty_name(void **state)
{
    const vcase c = {"empty tensor name in the record", "{" T("", "U8", "[2]", "[1,3]") "}", 3, 0,
                     ST_E_OFFSETS, W_DOFF, "", "", 0};
    (void)state;
    assert_true(run_case(&c));
}

/* ---------------------------------------------------------------- valid files: facts */

static void test_smallest_file_facts(void **state)
{
    static const unsigned char bytes[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    st_file *f = NULL;
    st_error e;
    (void)state;
    assert_int_equal(st_open_memory(&f, bytes, sizeof bytes, NULL, &e), ST_OK);
    assert_int_equal(e.code, ST_OK);
    assert_non_null(f);
    assert_int_equal(st_file_size(f), 10);
    assert_int_equal(st_file_header_size(f), 2);
    assert_int_equal(st_file_data_offset(f), 10);
    assert_int_equal(st_file_data_size(f), 0);
    assert_ptr_equal(st_file_bytes(f), bytes);
    assert_int_equal(st_tensor_count(f), 0);
    assert_null(st_tensor_at(f, 0));
    assert_int_equal(st_metadata_state_of(f), ST_METADATA_ABSENT);
    assert_int_equal(st_file_leniency_used(f), 0);
    assert_int_equal(st_file_trailing_bytes(f), 0);
    st_close(f);
    /* 9 bytes: the same with the closing brace missing is no longer valid */
    assert_int_not_equal(st_open_memory(&f, bytes, 9, NULL, &e), ST_OK);
    assert_null(f);
}

static void test_metadata_only_facts(void **state)
{
    size_t n;
    const char *hdr = "{\"__metadata__\":{\"k\":\"v\"}}";
    unsigned char *b = stt_build_str(hdr, 0, &n);
    st_file *f = NULL;
    st_error e;
    (void)state;
    assert_int_equal(st_open_memory(&f, b, n, NULL, &e), ST_OK);
    assert_int_equal(st_tensor_count(f), 0);
    assert_int_equal(st_metadata_count(f), 1);
    assert_int_equal(st_file_data_size(f), 0);
    assert_int_equal(st_file_data_offset(f), n);
    st_close(f);
    free(b);
}

static void test_zero_size_views(void **state)
{
    size_t n;
    const char *hdr = "{" T("a", "U8", "[4]", "[0,4]") "," T("z", "F32", "[3,0,5]", "[4,4]") ","
                      T("s", "F32", "[]", "[4,8]") "}";
    unsigned char *b = stt_build_str(hdr, 8, &n);
    st_file *f = NULL;
    st_error e;
    const st_tensor *z, *s;
    (void)state;
    assert_int_equal(st_open_memory(&f, b, n, NULL, &e), ST_OK);
    z = st_tensor_find(f, "z");
    assert_non_null(z);
    assert_int_equal(z->rank, 3);
    assert_int_equal(z->shape[0], 3);
    assert_int_equal(z->shape[1], 0);
    assert_int_equal(z->shape[2], 5);
    assert_int_equal(z->numel, 0);
    assert_int_equal(z->nbytes, 0);
    assert_int_equal(z->begin, 4);
    assert_int_equal(z->end, 4);
    assert_int_equal(z->index, 1);
    assert_int_equal(z->offset, 8 + strlen(hdr) + 4);
    s = st_tensor_find(f, "s");
    assert_non_null(s);
    assert_int_equal(s->rank, 0);
    assert_null(s->shape);
    assert_int_equal(s->numel, 1);
    assert_int_equal(s->nbytes, 4);
    assert_int_equal(s->index, 2);
    st_close(f);
    free(b);
}

static void test_numel_zero_with_huge_dims(void **state)
{
    size_t n;
    const char *hdr = "{" T("a", "U8", "[0," P63 "," P63 "]", "[0,0]") "}";
    unsigned char *b = stt_build_str(hdr, 0, &n);
    st_file *f = NULL;
    st_error e;
    const st_tensor *t;
    (void)state;
    assert_int_equal(st_open_memory(&f, b, n, NULL, &e), ST_OK);
    t = st_tensor_find(f, "a");
    assert_non_null(t);
    assert_int_equal(t->rank, 3);
    assert_int_equal(t->shape[1], 9223372036854775808u);
    assert_int_equal(t->numel, 0);
    assert_int_equal(t->nbytes, 0);
    st_close(f);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule7_table),
        cmocka_unit_test(test_rule8_table),
        cmocka_unit_test(test_rule8_every_dtype),
        cmocka_unit_test(test_rule9_table),
        cmocka_unit_test(test_rule9_cursor_near_2_64),
        cmocka_unit_test(test_rule9_lenient_trailing),
        cmocka_unit_test(test_order_independent_of_header),
        cmocka_unit_test(test_order_zero_size_ties),
        cmocka_unit_test(test_order_many_reversed),
        cmocka_unit_test(test_error_tensor_truncated),
        cmocka_unit_test(test_error_empty_name),
        cmocka_unit_test(test_smallest_file_facts),
        cmocka_unit_test(test_metadata_only_facts),
        cmocka_unit_test(test_zero_size_views),
        cmocka_unit_test(test_numel_zero_with_huge_dims),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
