/* Test support: the table-driven case runner (see cases.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cases.h"
#include "stt.h"

const char T_NONE[] = "(no tensor)";

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void stt_say(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    if (used + 1 >= cap) return;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

static char *conv(const char *s, size_t n, unsigned opt)
{
    char *h = malloc(n + 1);
    size_t i;
    assert_non_null(h);
    if (n) memcpy(h, s, n);
    h[n] = '\0';
    if (!(opt & RAW))
        for (i = 0; i < n; i++)
            if (h[i] == '\'') h[i] = '"';
    return h;
}

static long find_mark(const char *h, size_t hl, const char *m, size_t ml, int nth)
{
    size_t i;
    int k = 0;
    if (ml == 0 || ml > hl) return -1;
    for (i = 0; i + ml <= hl; i++)
        if (memcmp(h + i, m, ml) == 0 && ++k == (nth ? nth : 1)) return (long)i;
    return -1;
}

/* Statuses that can never concern a single tensor. */
static int never_tensor(st_status s)
{
    return s == ST_E_HEADER_TOO_SMALL || s == ST_E_HEADER_TOO_LARGE ||
           s == ST_E_HEADER_LENGTH || s == ST_E_UTF8 || s == ST_E_JSON ||
           s == ST_E_WRONG_FORMAT || s == ST_E_METADATA;
}

/* A generated header handed to check_case, freed once copied (so a failing
 * case that longjmps out does not leak it). */
char *stt_owned_hdr;

void stt_check_case(const tcase *c)
{
    static char dummy;
    size_t hl = c->hlen ? c->hlen : strlen(c->hdr), n;
    char *h = conv(c->hdr, hl, c->opt);
    char why[2048] = "";
    int have_off = 0;
    uint64_t lo = 0, hi = 0;
    unsigned char *b;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = (st_file *)(void *)&dummy;
    st_error err;
    st_status s;
    const char *tn = c->tensor;

    free(stt_owned_hdr);
    stt_owned_hdr = NULL;

    if (c->at) {
        size_t ml = strlen(c->at);
        char *m = conv(c->at, ml, c->opt);
        long p = find_mark(h, hl, m, ml, c->nth);
        free(m);
        if (p < 0) {
            free(h);
            fail_msg("case %s: TEST BUG: marker not found", c->name);
            return; /* fail_msg does not return; this tells the analyzers so */
        }
        lo = 8 + (uint64_t)p + (uint64_t)(long long)c->adj;
        hi = (c->opt & WITHIN) ? 8 + (uint64_t)p + ml - 1 : lo;
        have_off = 1;
    } else if (c->off == OFF_END) {
        lo = hi = 8 + (uint64_t)hl;
        have_off = 1;
    } else if (c->off >= 0) {
        lo = hi = (uint64_t)c->off;
        have_off = 1;
    }
    if (!tn && never_tensor(c->want)) tn = T_NONE;

    b = stt_build(h, hl, c->data, &n);
    o.flags = c->flags;
    memset(&err, 0x5a, sizeof err);
    s = st_open_memory(&f, b, n, &o, &err);

    if (s != c->want)
        stt_say(why, sizeof why, " status: want %s got %s;", st_status_name(c->want),
            st_status_name(s));
    if (err.code != (int)s) stt_say(why, sizeof why, " err.code %d != returned %d;", err.code, (int)s);
    if (s == ST_OK) {
        if (!f) stt_say(why, sizeof why, " ST_OK but no handle;");
        if (err.flags != 0 || err.offset != 0 || err.tensor[0] || err.message[0])
            stt_say(why, sizeof why, " ST_OK but error record not cleared;");
    } else if (f) {
        stt_say(why, sizeof why, " failure but *out not NULL;");
    }
    if (s == c->want && s != ST_OK) {
        if (!err.message[0]) stt_say(why, sizeof why, " empty message;");
        if (have_off) {
            if (!(err.flags & ST_ERROR_HAS_OFFSET))
                stt_say(why, sizeof why, " ST_ERROR_HAS_OFFSET not set;");
            else if (err.offset < lo || err.offset > hi)
                stt_say(why, sizeof why, " offset: want %llu..%llu got %llu;",
                    (unsigned long long)lo, (unsigned long long)hi,
                    (unsigned long long)err.offset);
        }
        if (tn == T_NONE) {
            if (err.flags & ST_ERROR_HAS_TENSOR)
                stt_say(why, sizeof why, " ST_ERROR_HAS_TENSOR set (tensor '%s');", err.tensor);
        } else if (tn) {
            if (!(err.flags & ST_ERROR_HAS_TENSOR))
                stt_say(why, sizeof why, " ST_ERROR_HAS_TENSOR not set (want '%s');", tn);
            else if (strcmp(err.tensor, tn) != 0)
                stt_say(why, sizeof why, " tensor: want '%s' got '%s';", tn, err.tensor);
        }
    }
    if (s == ST_OK && f) {
        if (c->find) {
            const st_tensor *t = st_tensor_find_n(f, c->find, c->find_len);
            if (!t)
                stt_say(why, sizeof why, " decoded name not found;");
            else if (t->name_len != c->find_len || memcmp(t->name, c->find, c->find_len) ||
                     t->name[c->find_len] != '\0')
                stt_say(why, sizeof why, " found tensor has a different name;");
            else if (memchr(c->find, 0, c->find_len) == NULL && st_tensor_find(f, c->find) != t)
                stt_say(why, sizeof why, " st_tensor_find disagrees with st_tensor_find_n;");
        }
        if (st_file_leniency_used(f) != c->lenient)
            stt_say(why, sizeof why, " leniency_used: want 0x%x got 0x%x;", (unsigned)c->lenient,
                (unsigned)st_file_leniency_used(f));
    }
    if (s == ST_OK) st_close(f);
    free(b);
    free(h);
    if (why[0])
        fail_msg("case %s:%s\n    message: %s", c->name, why,
                 s == ST_OK ? "(none)" : err.message);
}

static void run_case(void **state)
{
    stt_check_case((const tcase *)*state);
}

int stt_run_table(const char *group, tcase *cases, size_t n)
{
    struct CMUnitTest *t = calloc(n, sizeof *t);
    size_t i;
    int r;
    if (!t) return 1;
    for (i = 0; i < n; i++) {
        t[i].name = cases[i].name;
        t[i].test_func = run_case;
        t[i].initial_state = &cases[i];
    }
    r = _cmocka_run_group_tests(group, t, n, NULL, NULL);
    free(t);
    return r;
}


/* Opens bytes that must be accepted; prints the error record otherwise. */
st_file *stt_open_ok(const unsigned char *b, size_t n, uint32_t flags, const char *what)
{
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error err;
    st_status s;
    o.flags = flags;
    s = st_open_memory(&f, b, n, &o, &err);
    if (s != ST_OK || !f)
        fail_msg("%s: want ST_OK got %s: %s", what, st_status_name(s), err.message);
    return f;
}

int stt_run_cases(const char *group, void *cases, size_t n, size_t size,
                  void (*fn)(void **state))
{
    struct CMUnitTest *t = calloc(n ? n : 1, sizeof *t);
    size_t i;
    int r;
    if (!t) return 1;
    for (i = 0; i < n; i++) {
        char *c = (char *)cases + i * size;
        /* every case struct starts with its `const char *name` */
        memcpy(&t[i].name, c, sizeof t[i].name);
        t[i].test_func = fn;
        t[i].initial_state = c;
    }
    r = _cmocka_run_group_tests(group, t, n, NULL, NULL);
    free(t);
    return r;
}
