/* The error path of rule 5: when jsmn rejects the header, its stopping point is
 * not always where the grammar first broke (it reports `{} 1` at the end, and
 * rewinds to a string's quote on a bad escape). This small recursive-descent
 * validator runs only then, to report the exact first offending byte and a
 * message naming what was expected. Depth is limited like the main walk. */
#include "json.h"

#include <stdio.h>
#include <string.h>

typedef struct st__loc {
    const char *s;
    size_t n;
    size_t p;
    char *msg;
    size_t msg_cap;
} st__loc;

static int st__loc_fail(st__loc *L, const char *what)
{
    char b[12];
    unsigned char ch = L->p < L->n ? (unsigned char)L->s[L->p] : 0;
    if (L->p >= L->n)
        (void)snprintf(L->msg, L->msg_cap, "unexpected end of the header (expected %s)", what);
    else if (ch >= 0x21 && ch < 0x7f)
        (void)snprintf(L->msg, L->msg_cap, "unexpected '%c' (expected %s)", ch, what);
    else {
        (void)snprintf(b, sizeof b, "0x%02X", ch);
        (void)snprintf(L->msg, L->msg_cap, "unexpected byte %s (expected %s)", b, what);
    }
    return 0;
}

static int st__loc_say(st__loc *L, const char *msg)
{
    (void)snprintf(L->msg, L->msg_cap, "%s", msg);
    return 0;
}

static void st__loc_ws(st__loc *L)
{
    while (L->p < L->n && (L->s[L->p] == ' ' || L->s[L->p] == '\t' || L->s[L->p] == '\n' ||
                           L->s[L->p] == '\r'))
        L->p++;
}

static int st__loc_hex4(const st__loc *L, size_t at, unsigned *u)
{
    size_t k;
    unsigned v = 0;
    if (L->n - at < 4 || at > L->n) return 0;
    for (k = 0; k < 4; k++) {
        char ch = L->s[at + k];
        unsigned d;
        if (ch >= '0' && ch <= '9') d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') d = (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') d = (unsigned)(ch - 'A' + 10);
        else return 0;
        v = v << 4 | d;
    }
    *u = v;
    return 1;
}

static int st__loc_string(st__loc *L)
{
    L->p++; /* the opening quote */
    while (L->p < L->n) {
        unsigned char ch = (unsigned char)L->s[L->p];
        if (ch == '"') {
            L->p++;
            return 1;
        }
        if (ch < 0x20) return st__loc_say(L, "raw control character inside a string (must be escaped)");
        if (ch != '\\') {
            L->p++;
            continue;
        }
        if (L->p + 1 >= L->n) {
            L->p = L->n;
            return st__loc_say(L, "unexpected end of the header (unclosed string)");
        }
        switch (L->s[L->p + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            L->p += 2;
            break;
        case 'u': {
            unsigned u, u2;
            if (!st__loc_hex4(L, L->p + 2, &u)) return st__loc_say(L, "invalid \\u escape in a string");
            if (u >= 0xDC00 && u <= 0xDFFF) return st__loc_say(L, "lone low surrogate in a string");
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (L->n - L->p < 12 || L->s[L->p + 6] != '\\' || L->s[L->p + 7] != 'u' ||
                    !st__loc_hex4(L, L->p + 8, &u2) || u2 < 0xDC00 || u2 > 0xDFFF)
                    return st__loc_say(L, "lone high surrogate in a string");
                L->p += 12;
            } else {
                L->p += 6;
            }
            break;
        }
        default:
            return st__loc_say(L, "invalid escape in a string");
        }
    }
    return st__loc_say(L, "unexpected end of the header (unclosed string)");
}

static int st__loc_digits(st__loc *L)
{
    if (L->p >= L->n || L->s[L->p] < '0' || L->s[L->p] > '9') return st__loc_fail(L, "a digit");
    while (L->p < L->n && L->s[L->p] >= '0' && L->s[L->p] <= '9') L->p++;
    return 1;
}

static int st__loc_number(st__loc *L)
{
    if (L->s[L->p] == '-') L->p++;
    if (L->p < L->n && L->s[L->p] == '0') {
        L->p++;
        if (L->p < L->n && L->s[L->p] >= '0' && L->s[L->p] <= '9')
            return st__loc_say(L, "invalid number: leading zero");
    } else if (!st__loc_digits(L)) {
        return 0;
    }
    if (L->p < L->n && L->s[L->p] == '.') {
        L->p++;
        if (!st__loc_digits(L)) return 0;
    }
    if (L->p < L->n && (L->s[L->p] == 'e' || L->s[L->p] == 'E')) {
        L->p++;
        if (L->p < L->n && (L->s[L->p] == '+' || L->s[L->p] == '-')) L->p++;
        if (!st__loc_digits(L)) return 0;
    }
    return 1;
}

static int st__loc_value(st__loc *L, int depth);

/* NOLINTNEXTLINE(misc-no-recursion): nesting is bounded by ST__MAX_DEPTH */
static int st__loc_container(st__loc *L, int depth, char close)
{
    int first = 1;
    if (depth > ST__MAX_DEPTH) return st__loc_say(L, "nesting deeper than 128 levels");
    L->p++;
    for (;;) {
        st__loc_ws(L);
        if (L->p < L->n && L->s[L->p] == close) {
            if (!first) return st__loc_say(L, close == '}' ? "trailing comma before '}'"
                                                           : "trailing comma before ']'");
            L->p++;
            return 1;
        }
        if (close == '}') {
            if (L->p >= L->n || L->s[L->p] != '"') return st__loc_fail(L, "a string key");
            if (!st__loc_string(L)) return 0;
            st__loc_ws(L);
            if (L->p >= L->n || L->s[L->p] != ':') return st__loc_fail(L, "':' after a key");
            L->p++;
            st__loc_ws(L);
        }
        if (!st__loc_value(L, depth)) return 0;
        st__loc_ws(L);
        if (L->p < L->n && L->s[L->p] == close) {
            L->p++;
            return 1;
        }
        if (L->p >= L->n || L->s[L->p] != ',')
            return st__loc_fail(L, close == '}' ? "',' or '}'" : "',' or ']'");
        L->p++;
        first = 0;
    }
}

static int st__loc_literal(st__loc *L, const char *lit)
{
    size_t k = strlen(lit);
    if (L->n - L->p < k || memcmp(L->s + L->p, lit, k) != 0) return st__loc_fail(L, "a value");
    L->p += k;
    return 1;
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is bounded by ST__MAX_DEPTH */
static int st__loc_value(st__loc *L, int depth)
{
    if (L->p >= L->n) return st__loc_fail(L, "a value");
    switch (L->s[L->p]) {
    case '{': return st__loc_container(L, depth + 1, '}');
    case '[': return st__loc_container(L, depth + 1, ']');
    case '"': return st__loc_string(L);
    case 't': return st__loc_literal(L, "true");
    case 'f': return st__loc_literal(L, "false");
    case 'n': return st__loc_literal(L, "null");
    default:
        if (L->s[L->p] == '-' || (L->s[L->p] >= '0' && L->s[L->p] <= '9')) return st__loc_number(L);
        return st__loc_fail(L, "a value");
    }
}

int st__json_locate(const char *s, size_t n, size_t *pos, char *msg, size_t msg_cap)
{
    st__loc L;
    L.s = s;
    L.n = n;
    L.p = 0;
    L.msg = msg;
    L.msg_cap = msg_cap;
    st__loc_ws(&L);
    if (L.p >= n) {
        st__loc_say(&L, "empty header: expected a JSON object");
    } else if ((unsigned char)s[L.p] == 0xEF) {
        st__loc_say(&L, "the header starts with a UTF-8 byte order mark");
    } else if (s[L.p] != '{') {
        st__loc_fail(&L, "'{': the header must be a JSON object");
    } else if (st__loc_container(&L, 1, '}')) {
        st__loc_ws(&L);
        if (L.p >= n) return 0; /* valid */
        st__loc_fail(&L, "nothing after the header's JSON object");
    }
    *pos = L.p;
    return 1;
}
