/*
 * st-inspect - list, check or dump the header of safetensors files.
 *
 *   st-inspect [OPTIONS] FILE            table of tensors, metadata, summary
 *   st-inspect [OPTIONS] --check FILE... validate only
 *   st-inspect [OPTIONS] --json FILE     one JSON object on stdout
 *   st-inspect [OPTIONS] --dump NAME [--limit N] FILE   a tensor's values
 *   --bytes-read (with any of them): open through a counting reader and
 *   report the reads and bytes the operation took on stderr
 *
 * Exit status: 0 valid, 1 a file is invalid or unreadable (or stdout failed),
 * 2 usage error. Uses the public API only.
 */
/* 64-bit off_t and inode numbers on 32-bit hosts: readdir fails with
 * EOVERFLOW on large filesystems otherwise (seen under qemu-i386). */
#if !defined(_FILE_OFFSET_BITS)
#define _FILE_OFFSET_BITS 64
#endif
#include <safetensors.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <io.h>
#include <shellapi.h> /* after windows.h */
#include <sys/stat.h>
#ifndef S_ISREG
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#endif
#else
#include <sys/stat.h>
#include <unistd.h>
#endif

#define PROG "st-inspect"

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

enum { MODE_TABLE = 0, MODE_CHECK = 1, MODE_JSON = 2, MODE_DUMP = 3 };

/* Table layout limits, in terminal columns. */
#define NAME_COLS_MAX 64  /* longer names get a line of their own */
#define SHAPE_COLS_MAX 28 /* longer shapes push the rest of the row right */
#define META_VALUE_COLS_MAX 200

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " PROG " [OPTIONS] FILE\n"
            "       " PROG " [OPTIONS] --check FILE...\n"
            "       " PROG " [OPTIONS] --json FILE\n"
            "       " PROG " [OPTIONS] --dump NAME [--limit N] FILE\n"
            "\n"
            "Lists the tensors and metadata of a safetensors file after validating\n"
            "it fully (libsafetensors %s).\n"
            "\n"
            "  --check               validate only; exit 0 if every FILE is valid\n"
            "  --json                print the header as one JSON object\n"
            "  --dump NAME           print tensor NAME's values, one per line: floats\n"
            "                        (%%.9g) for float dtypes (F8/F6/F4/BF16/F16\n"
            "                        converted), F64 exactly (%%.17g), exact integers\n"
            "                        for integer dtypes, 're im' pairs for C64\n"
            "  --limit N             with --dump: at most N values\n"
            "  --allow-trailing      accept bytes after the last tensor (reported)\n"
            "  --allow-nul-padding   accept NUL bytes after the header's JSON (reported)\n"
            "  --max-header N        header size cap in bytes (0 = default %u,\n"
            "                        at most %u)\n"
            "  --bytes-read          read FILE through a counting reader (as a remote\n"
            "                        file would be) and report on stderr the reads and\n"
            "                        bytes the listing, check or dump took (sharded\n"
            "                        models too, except with --dump)\n"
            "  --help, --version\n"
            "\n"
            "In the table, names and metadata are shown with control characters\n"
            "escaped (\\n, \\t, \\xNN, \\uNNNN) and backslashes doubled; --json gives\n"
            "them exactly. Errors are printed as 'FILE: error: MESSAGE [STATUS]'.\n"
            "FILE may also be a sharded model: an index (*.json) or a directory with\n"
            "one *.safetensors.index.json; every shard is opened once and checked,\n"
            "then all are shown, in file-name order (model-00001-of-... first).\n"
            "Exit status: 0 valid, 1 invalid file or I/O error, 2 usage error.\n",
            st_version_string(), (unsigned)ST_DEFAULT_MAX_HEADER_SIZE,
            (unsigned)ST_MAX_HEADER_SIZE_LIMIT);
}

static int usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    usage(stderr);
    return 2;
}

/* Strict decimal: digits only, no sign, no overflow, at most limit. */
static int parse_u64(const char *s, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s) return 0;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9') return 0;
        d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* ---------------------------------------------------------------- output */

/* Set once a write to stdout failed (with the errno seen then); the program
 * then stops printing. */
static int g_out_failed;
static int g_out_errno;

/* errno after a failed write to stdout. The C runtime of Windows says EINVAL
 * for a pipe whose reader has gone (ERROR_NO_DATA; wine: ERROR_PIPE_NOT_CONNECTED):
 * that is EPIPE. */
static int out_errno(void)
{
#if defined(_WIN32)
    if (errno == EINVAL && (_doserrno == ERROR_NO_DATA || _doserrno == ERROR_BROKEN_PIPE ||
                            _doserrno == ERROR_PIPE_NOT_CONNECTED))
        return EPIPE;
#endif
    return errno;
}

static int out_ok(void)
{
    if (!g_out_failed && ferror(stdout)) {
        g_out_failed = 1;
        g_out_errno = out_errno();
    }
    return !g_out_failed;
}

/* Flushes stdout; returns 0 on success, else reports the error (a reader that
 * went away, EPIPE, is not worth a message) and returns 1. */
static int out_finish(void)
{
    int e;
    out_ok();
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    e = errno ? out_errno() : g_out_errno;
    if (g_out_failed && g_out_errno == EPIPE) e = EPIPE;
    if (e != EPIPE)
        fprintf(stderr, PROG ": error writing to stdout: %s\n", e ? strerror(e) : "write failed");
    return 1;
}

/* ---------------------------------------------------------------- text for terminals */

/* A growable byte string. Allocation failure is sticky and checked once. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int nomem;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->nomem) return;
    if (n + 1 > b->cap - b->len || !b->p) {
        size_t cap = b->cap ? b->cap : 64;
        char *np;
        while (cap - b->len < n + 1) {
            if (cap > (size_t)-1 / 2) { b->nomem = 1; return; }
            cap *= 2;
        }
        np = (char *)realloc(b->p, cap);
        if (!np) { b->nomem = 1; return; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[64];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) { b->nomem = 1; return; }
    sb_putn(b, tmp, (size_t)n);
}

static void sb_reset(sbuf *b)
{
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

/* Where the table and JSON views write: stdout, or (a sharded model, whose
 * shards are each opened once and must all pass before anything is printed)
 * a buffer printed at the end. */
static sbuf *g_buf;

static void out_write(const char *s, size_t n)
{
    if (g_buf) sb_putn(g_buf, s, n);
    else fwrite(s, 1, n, stdout);
}

static void out_puts(const char *s) { out_write(s, strlen(s)); }

static void out_putc(int c)
{
    char ch = (char)c;
    if (g_buf) sb_putn(g_buf, &ch, 1);
    else putchar(c);
}

static void out_printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void out_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!g_buf) {
        vprintf(fmt, ap);
    } else {
        char tmp[512];
        va_list ap2;
        int n;
        va_copy(ap2, ap);
        n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
        va_end(ap2);
        if (n < 0) {
            g_buf->nomem = 1;
        } else if ((size_t)n < sizeof tmp) {
            sb_putn(g_buf, tmp, (size_t)n);
        } else {
            char *big = (char *)malloc((size_t)n + 1);
            if (!big) {
                g_buf->nomem = 1;
            } else {
                vsnprintf(big, (size_t)n + 1, fmt, ap);
                sb_putn(g_buf, big, (size_t)n);
                free(big);
            }
        }
    }
    va_end(ap);
}

/* Length of the UTF-8 sequence starting with lead byte c (1 for anything odd:
 * the library hands out valid UTF-8, this only keeps us in bounds). */
static size_t utf8_len(unsigned char c)
{
    if (c >= 0xF0 && c <= 0xF4) return 4;
    if (c >= 0xE0) return c <= 0xEF ? 3 : 1;
    if (c >= 0xC2) return 2;
    return 1;
}

/* Terminal columns of a printable code point: 2 for the common wide ranges
 * (CJK, Hangul, fullwidth forms, emoji), else 1. An approximation of wcwidth()
 * that does not depend on the locale. */
static int cp_cols(unsigned long cp)
{
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
        (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

/* Appends s[0..n) made safe for a terminal: C0/C1 controls, DEL, the bidi
 * controls, line/paragraph separators and BOM escaped, backslash doubled (unless
 * keep_backslash). Stops before max_cols columns would be exceeded (0 = no
 * limit); returns the columns used and sets *cut when something was left out. */
static size_t sb_put_text_x(sbuf *b, const char *s, uint64_t n, size_t max_cols, int *cut,
                            int keep_backslash)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t i = 0;
    size_t cols = 0;
    if (cut) *cut = 0;
    while (i < n) {
        char esc[16];
        const char *unit = esc;
        size_t ulen, ucols;
        size_t seq = utf8_len(u[i]);
        unsigned long cp = u[i];
        if (seq > n - i) seq = 1;
        if (seq == 2) cp = ((u[i] & 0x1Ful) << 6) | (u[i + 1] & 0x3Ful);
        else if (seq == 3)
            cp = ((u[i] & 0x0Ful) << 12) | ((u[i + 1] & 0x3Ful) << 6) | (u[i + 2] & 0x3Ful);
        else if (seq == 4)
            cp = ((u[i] & 0x07ul) << 18) | ((u[i + 1] & 0x3Ful) << 12) |
                 ((u[i + 2] & 0x3Ful) << 6) | (u[i + 3] & 0x3Ful);
        if (cp == '\\' && !keep_backslash) strcpy(esc, "\\\\");
        else if (cp == '\n') strcpy(esc, "\\n");
        else if (cp == '\t') strcpy(esc, "\\t");
        else if (cp == '\r') strcpy(esc, "\\r");
        else if (seq == 1 && (cp < 0x20 || cp >= 0x7F))
            sprintf(esc, "\\x%02X", (unsigned)cp);
        else if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
                 (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F ||
                 cp == 0x061C || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
            sprintf(esc, "\\u%04lX", cp);
        else
            unit = s + i;
        ulen = unit == esc ? strlen(esc) : seq;
        ucols = unit == esc ? ulen : (size_t)cp_cols(cp);
        if (max_cols && cols + ucols > max_cols) {
            if (cut) *cut = 1;
            break;
        }
        sb_putn(b, unit, ulen);
        cols += ucols;
        i += seq;
    }
    return cols;
}

static size_t sb_put_text(sbuf *b, const char *s, uint64_t n, size_t max_cols, int *cut)
{
    return sb_put_text_x(b, s, n, max_cols, cut, 0);
}

static void put_spaces(size_t n)
{
    while (n--) out_putc(' ');
}

/* Reports a file that failed to open or validate. The library already quotes
 * names in messages; control characters are escaped again here in case. */
static void report_error(const char *path, const st_error *err)
{
    sbuf b = {NULL, 0, 0, 0};
    size_t n = strnlen(err->message, sizeof err->message);
    sb_put_text_x(&b, err->message, n, 0, NULL, 1);
    if (err->flags & ST_ERROR_HAS_OFFSET)
        fprintf(stderr, "%s: error: %s [%s at offset %llu]\n", path,
                b.p && !b.nomem ? b.p : err->message, st_status_name(err->code),
                (unsigned long long)err->offset);
    else
        fprintf(stderr, "%s: error: %s [%s]\n", path, b.p && !b.nomem ? b.p : err->message,
                st_status_name(err->code));
    free(b.p);
}

static void sb_shape(sbuf *b, const st_tensor *t)
{
    uint32_t d;
    sb_puts(b, "[");
    for (d = 0; d < t->rank; d++)
        sb_printf(b, d ? ", %llu" : "%llu", (unsigned long long)t->shape[d]);
    sb_puts(b, "]");
}

static void sb_offsets(sbuf *b, const st_tensor *t)
{
    sb_printf(b, "[%llu, %llu)", (unsigned long long)t->begin, (unsigned long long)t->end);
}

static size_t udigits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) { v /= 10; n++; }
    return n;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---------------------------------------------------------------- table mode */

static int print_table(const char *path, const st_file *f)
{
    uint64_t n = st_tensor_count(f), i, nmeta;
    size_t w_idx = udigits(n ? n - 1 : 0), w_name = 4, w_dtype = 5, w_shape = 5,
           w_off = 12, w_bytes = 5;
    sbuf b = {NULL, 0, 0, 0};
    uint32_t len;
    int rc = 0;
    st_metadata_state ms;

    if (w_idx < 1) w_idx = 1;
    /* Pass 1: column widths. */
    for (i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        size_t c;
        const char *dn;
        if (!t) continue;
        sb_reset(&b);
        c = sb_put_text(&b, t->name, t->name_len, 0, NULL);
        if (t->name_len == 0) c = 2; /* shown as "" */
        if (c > w_name) w_name = c < NAME_COLS_MAX ? c : NAME_COLS_MAX;
        dn = st_dtype_name(t->dtype);
        if (dn && strlen(dn) > w_dtype) w_dtype = strlen(dn);
        sb_reset(&b);
        sb_shape(&b, t);
        if (b.len > w_shape) w_shape = b.len < SHAPE_COLS_MAX ? b.len : SHAPE_COLS_MAX;
        sb_reset(&b);
        sb_offsets(&b, t);
        if (b.len > w_off) w_off = b.len;
        if (udigits(t->nbytes) > w_bytes) w_bytes = udigits(t->nbytes);
    }
    if (b.nomem) goto nomem;

    sb_reset(&b);
    sb_put_text(&b, path, strlen(path), 0, NULL);
    out_printf("file: %s (%llu bytes)\n", b.p ? b.p : "", (unsigned long long)st_file_size(f));
    out_printf("%*s  %-*s  %-*s  %-*s  %-*s  %*s\n", (int)w_idx, "#", (int)w_name, "name",
           (int)w_dtype, "dtype", (int)w_shape, "shape", (int)w_off, "data_offsets",
           (int)w_bytes, "bytes");

    /* Pass 2: rows. */
    for (i = 0; i < n && out_ok(); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        const char *dn;
        size_t c;
        if (!t) continue;
        dn = st_dtype_name(t->dtype);
        out_printf("%*llu  ", (int)w_idx, (unsigned long long)t->index);
        sb_reset(&b);
        if (t->name_len == 0) {
            sb_puts(&b, "\"\"");
            c = 2;
        } else {
            c = sb_put_text(&b, t->name, t->name_len, 0, NULL);
        }
        if (b.nomem) goto nomem;
        out_puts(b.p);
        if (c > w_name) {
            /* Long name: alone on its line, the row continues below it. */
            out_putc('\n');
            put_spaces(w_idx + 2 + w_name);
        } else {
            put_spaces(w_name - c);
        }
        out_printf("  %-*s  ", (int)w_dtype, dn ? dn : "?");
        sb_reset(&b);
        sb_shape(&b, t);
        if (b.nomem) goto nomem;
        out_printf("%-*s  ", (int)w_shape, b.p);
        sb_reset(&b);
        sb_offsets(&b, t);
        out_printf("%-*s  %*llu\n", (int)w_off, b.p ? b.p : "", (int)w_bytes,
               (unsigned long long)t->nbytes);
    }
    if (!out_ok()) goto done;

    /* Metadata. */
    ms = st_metadata_state_of(f);
    nmeta = st_metadata_count(f);
    if (ms == ST_METADATA_ABSENT) {
        out_printf("metadata: none\n");
    } else if (ms == ST_METADATA_NULL) {
        out_printf("metadata: none (null in the file)\n");
    } else if (nmeta == 0) {
        out_printf("metadata: {} (empty)\n");
    } else {
        out_printf("metadata (%llu %s):\n", (unsigned long long)nmeta,
               plural(nmeta, "entry", "entries"));
        for (i = 0; i < nmeta && out_ok(); i++) {
            const st_metadata_entry *m = st_metadata_at(f, i);
            int cut;
            if (!m) goto nomem; /* (the handle makes entries on first use) */
            sb_reset(&b);
            sb_puts(&b, "  ");
            if (m->key_len == 0) sb_puts(&b, "\"\"");
            sb_put_text(&b, m->key, m->key_len, 0, NULL);
            sb_puts(&b, ": ");
            if (m->value_len == 0) sb_puts(&b, "\"\"");
            sb_put_text(&b, m->value, m->value_len, META_VALUE_COLS_MAX, &cut);
            if (cut)
                sb_printf(&b, "... (%llu bytes, see --json)",
                          (unsigned long long)m->value_len);
            if (b.nomem) goto nomem;
            out_printf("%s\n", b.p);
        }
    }

    /* Summary. */
    out_printf("summary: %llu %s, header %llu bytes, data %llu bytes (from byte %llu)",
           (unsigned long long)n, plural(n, "tensor", "tensors"),
           (unsigned long long)st_file_header_size(f),
           (unsigned long long)st_file_data_size(f),
           (unsigned long long)st_file_data_offset(f));
    len = st_file_leniency_used(f);
    if (len) {
        const char *sep = "";
        out_printf(", leniency used:");
        if (len & ST_LENIENT_TRAILING_BYTES) {
            out_printf(" trailing bytes (%llu %s after the last tensor)",
                   (unsigned long long)st_file_trailing_bytes(f),
                   plural(st_file_trailing_bytes(f), "byte", "bytes"));
            sep = ",";
        }
        if (len & ST_LENIENT_NUL_PADDING) out_printf("%s NUL padding in the header", sep);
    }
    out_printf("\n");
    goto done;

nomem:
    fprintf(stderr, PROG ": out of memory\n");
    rc = 1;
done:
    free(b.p);
    return rc;
}

/* ---------------------------------------------------------------- JSON mode */

/* Writes s[0..n) as a JSON string. Input is UTF-8 (checked by the library):
 * bytes >= 0x80 pass through; '"', '\\' and every control character (NUL
 * included) and DEL are escaped as \uXXXX or their short forms. */
static void json_string(const char *s, uint64_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t i, run = 0;
    out_putc('"');
    for (i = 0; i < n; i++) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\t') esc = "\\t";
        else if (c == '\r') esc = "\\r";
        else if (c < 0x20 || c == 0x7F) {
            sprintf(tmp, "\\u%04x", (unsigned)c);
            esc = tmp;
        }
        if (esc) {
            if (i > run) out_write(s + run, (size_t)(i - run));
            out_puts(esc);
            run = i + 1;
        }
    }
    if (n > run) out_write(s + run, (size_t)(n - run));
    out_putc('"');
}

static int print_json(const st_file *f)
{
    uint64_t n = st_tensor_count(f), i;
    st_metadata_state ms = st_metadata_state_of(f);

    out_printf("{\"header_size\": %llu, \"data_size\": %llu, \"metadata\": ",
           (unsigned long long)st_file_header_size(f),
           (unsigned long long)st_file_data_size(f));
    if (ms != ST_METADATA_OBJECT) {
        out_printf("null");
    } else {
        uint64_t k, nm = st_metadata_count(f);
        out_putc('{');
        for (k = 0; k < nm && out_ok(); k++) {
            const st_metadata_entry *m = st_metadata_at(f, k);
            if (!m) { /* (the handle makes entries on first use) */
                fprintf(stderr, PROG ": out of memory\n");
                return 1;
            }
            if (k) out_puts(", ");
            json_string(m->key, m->key_len);
            out_puts(": ");
            json_string(m->value, m->value_len);
        }
        out_putc('}');
    }
    out_printf(", \"tensors\": [");
    for (i = 0; i < n && out_ok(); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        const char *dn;
        uint32_t d;
        if (!t) continue;
        dn = st_dtype_name(t->dtype);
        out_puts(i ? ",\n  {\"name\": " : "\n  {\"name\": ");
        json_string(t->name, t->name_len);
        out_printf(", \"dtype\": \"%s\", \"shape\": [", dn ? dn : "?");
        for (d = 0; d < t->rank; d++)
            out_printf(d ? ", %llu" : "%llu", (unsigned long long)t->shape[d]);
        out_printf("], \"data_offsets\": [%llu, %llu]}", (unsigned long long)t->begin,
               (unsigned long long)t->end);
    }
    out_printf(n ? "\n]}\n" : "]}\n");
    return 0;
}

/* ---------------------------------------------------------------- open */

/* Opens path without blocking: open(2) of a FIFO with no writer would wait
 * forever, so the descriptor is opened with O_NONBLOCK (no effect on regular
 * files) and handed to st_open_fd(), which refuses anything it cannot map. If
 * the path cannot be opened at all, st_open_path() reports why in its own
 * words. */
static st_status open_file(st_file **f, const char *path, const st_open_options *base,
                           st_error *err)
{
#if defined(_WIN32)
    /* no FIFO to block on; and _open would take path in the ANSI code page,
     * while the library takes UTF-8 */
    return st_open_path(f, path, base, err);
#else
    st_open_options o = *base;
    int fd;
    do {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return st_open_path(f, path, base, err);
    o.flags |= ST_OPEN_CLOSE_FD; /* closed by st_close(), or on failure */
    return st_open_fd(f, fd, &o, err);
#endif
}

/* ---------------------------------------------------------------- --bytes-read */

/* A reader over a descriptor that counts what the library asks for: what a
 * loader would fetch from remote storage (one range request per read). */
typedef struct counting {
    int fd;
    uint64_t size, reads, bytes;
} counting;

#if defined(_WIN32)
/* pread for the counting reader: ReadFile at an offset (the descriptor's
 * position, which nothing else uses, moves) */
static long long win_pread(int fd, void *dst, size_t size, uint64_t off)
{
    OVERLAPPED ov;
    DWORD got = 0;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)off;
    ov.OffsetHigh = (DWORD)(off >> 32);
    if (!ReadFile((HANDLE)_get_osfhandle(fd), dst, (DWORD)size, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF) return 0;
        errno = EIO;
        return -1;
    }
    return (long long)got;
}
#define pread(fd, dst, size, off) win_pread((fd), (dst), (size), (uint64_t)(off))
#endif

static int counting_read(void *ctx, uint64_t off, void *dst, size_t size)
{
    counting *c = (counting *)ctx;
    unsigned char *d = (unsigned char *)dst;
    c->reads++;
    c->bytes += size;
    while (size > 0) {
        size_t want = size > ((size_t)1 << 30) ? (size_t)1 << 30 : size;
        ssize_t r = pread(c->fd, d, want, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return ST_READER_SHORT;
        d += r;
        off += (uint64_t)r;
        size -= (size_t)r;
    }
    return 0;
}

/* A malloc'd copy of s (strdup is not in C99, and is _strdup on Windows). */
static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = (char *)malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* A read-only descriptor for path (UTF-8), never blocking on a FIFO; -1 and
 * errno on failure. */
static int open_read_fd(const char *path)
{
    int fd;
#if defined(_WIN32)
    /* paths are UTF-8 (see utf8_args) */
    wchar_t w[4096];
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, 4096)) {
        errno = EINVAL;
        return -1;
    }
    fd = _wopen(w, _O_RDONLY | _O_BINARY);
#else
    do {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
#endif
    return fd;
}

/* Opens path through a counting reader. c->fd is -1 when there is nothing to
 * close; on an error from open(2), st_open_path says why in its own words. */
static st_status open_counted(st_file **f, const char *path, const st_open_options *opts,
                              counting *c, st_error *err)
{
    st_reader rd = ST_READER_INIT;
    struct stat sb;
    memset(c, 0, sizeof *c);
    c->fd = open_read_fd(path);
    if (c->fd < 0) return st_open_path(f, path, opts, err);
    if (fstat(c->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(c->fd);
        c->fd = -1;
        return st_open_path(f, path, opts, err); /* says what it is */
    }
    c->size = (uint64_t)sb.st_size;
    rd.read = counting_read;
    rd.ctx = c;
    return st_open_reader(f, &rd, c->size, opts, err);
}

/* --bytes-read on a sharded model: a storage over the index's directory whose
 * readers count into one total. */
typedef struct counting_dir {
    char dir[4096];
    counting total; /* reads and bytes of every file; size: sum of the sizes */
} counting_dir;

typedef struct counting_file {
    counting c;
    counting_dir *d;
} counting_file;

static int counting_file_read(void *ctx, uint64_t off, void *dst, size_t size)
{
    counting_file *cf = (counting_file *)ctx;
    int e = counting_read(&cf->c, off, dst, size);
    cf->d->total.reads++;
    cf->d->total.bytes += size;
    return e;
}

static int counting_open_file(void *ctx, const char *name, st_reader *rd, uint64_t *size)
{
    counting_dir *d = (counting_dir *)ctx;
    char path[8192];
    struct stat sb;
    counting_file *cf;
    int fd, e;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", d->dir, name) >= sizeof path)
        return ENAMETOOLONG;
    fd = open_read_fd(path);
    if (fd < 0) return errno;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        e = S_ISREG(sb.st_mode) ? errno : EINVAL;
        close(fd);
        return e;
    }
    cf = (counting_file *)calloc(1, sizeof *cf);
    if (!cf) {
        close(fd);
        return ENOMEM;
    }
    cf->c.fd = fd;
    cf->c.size = (uint64_t)sb.st_size;
    cf->d = d;
    d->total.size += cf->c.size;
    rd->read = counting_file_read;
    rd->ctx = cf;
    *size = cf->c.size;
    return 0;
}

static void counting_close_file(void *ctx, const st_reader *rd)
{
    counting_file *cf = (counting_file *)rd->ctx;
    (void)ctx;
    close(cf->c.fd);
    free(cf);
}

/* The index of a model path: the path itself (*.json), or the only
 * *.safetensors.index.json in a directory. Splits it into d->dir and *name
 * (malloc'd). 0, or 1 after reporting an error. */
static int model_index_name(const char *path, counting_dir *d, char **name)
{
    static const char suffix[] = ".safetensors.index.json";
    struct stat sb;
    const char *slash;
    *name = NULL;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *de;
        int found = 0;
        if (!dir) {
            fprintf(stderr, "%s: error: cannot list the directory: %s [ST_E_IO]\n", path,
                    strerror(errno));
            return 1;
        }
        /* cppcheck-suppress readdirCalled ; a stream of our own, one thread, and
         * readdir_r is deprecated */
        while ((de = readdir(dir)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n > sizeof suffix - 1 && strcmp(de->d_name + n - (sizeof suffix - 1), suffix) == 0) {
                found++;
                free(*name);
                *name = copy_str(de->d_name);
            }
        }
        closedir(dir);
        if (found != 1 || !*name) {
            fprintf(stderr, "%s: error: %s *%s in the directory [%s]\n", path,
                    found ? "more than one" : "no", suffix,
                    found ? "ST_E_INVALID_ARGUMENT" : "ST_E_NOT_FOUND");
            free(*name);
            *name = NULL;
            return 1;
        }
        snprintf(d->dir, sizeof d->dir, "%s", path);
        return 0;
    }
    slash = strrchr(path, '/');
    if (slash) {
        snprintf(d->dir, sizeof d->dir, "%.*s", (int)(slash - path), path);
        if (slash == path) snprintf(d->dir, sizeof d->dir, "/");
    } else {
        snprintf(d->dir, sizeof d->dir, ".");
    }
    *name = copy_str(slash ? slash + 1 : path);
    if (!*name) {
        fprintf(stderr, "%s: error: out of memory [ST_E_NOMEM]\n", path);
        return 1;
    }
    return 0;
}

static void report_counted(const char *path, const counting *c, const char *what)
{
    fprintf(stderr, "%s: bytes read: %llu %s, %llu bytes of %llu to %s\n", path,
            (unsigned long long)c->reads, c->reads == 1 ? "read" : "reads",
            (unsigned long long)c->bytes, (unsigned long long)c->size, what);
}

/* ---------------------------------------------------------------- sharded models */

/* A *.json file (an index) or a directory is a sharded model. */
static int is_model_path(const char *path)
{
#if defined(_WIN32)
    wchar_t w[4096];
    DWORD a;
#else
    struct stat sb;
#endif
    size_t n = strlen(path);
    if (n >= 5 && strcmp(path + n - 5, ".json") == 0) return 1;
#if defined(_WIN32)
    /* paths are UTF-8 (see utf8_args) */
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, 4096)) return 0;
    a = GetFileAttributesW(w);
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
#else
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
#endif
}

/* Shard indices in the byte order of their file names (model-00001-of-... first). */
static const st_model *g_sort_model;

static int shard_name_cmp(const void *a, const void *b)
{
    return strcmp(st_model_shard_name(g_sort_model, *(const uint64_t *)a),
                  st_model_shard_name(g_sort_model, *(const uint64_t *)b));
}

/* --check opens the model with every shard checked and prints one line. The
 * table and JSON views open each shard once, in file-name order, check it and
 * render it into a buffer that is printed once every shard has passed (so
 * nothing is printed for a broken model): the table shows each shard in turn;
 * --json prints {"tensor_count": N, "shards": [{"name": SHARD, "file": <the
 * shard's --json object>}, ...]}. Returns 0 or 1. */
static int inspect_model(const char *path, int mode, const st_open_options *opts,
                         int bytes_read)
{
    st_model_options mo = ST_MODEL_OPTIONS_INIT;
    st_model *m = NULL;
    st_error err;
    uint64_t s, ns, n, *order = NULL;
    int rc = 0;
    counting_dir *cd = NULL;
    sbuf out = {NULL, 0, 0, 0};
    st_status st;
    mo.flags = mode == MODE_CHECK ? ST_MODEL_VALIDATE_ALL : 0;
    mo.max_open_shards = 1; /* each shard is opened once, then closed */
    mo.file_options = opts;
    if (bytes_read) {
        st_model_storage sto = ST_MODEL_STORAGE_INIT;
        char *index_name = NULL;
        cd = (counting_dir *)calloc(1, sizeof *cd);
        if (!cd) {
            fprintf(stderr, "%s: error: out of memory [ST_E_NOMEM]\n", path);
            return 1;
        }
        if (model_index_name(path, cd, &index_name) != 0) {
            free(cd);
            return 1;
        }
        sto.open_file = counting_open_file;
        sto.close_file = counting_close_file;
        sto.ctx = cd;
        st = st_model_open_storage(&m, &sto, index_name, &mo, &err);
        free(index_name);
    } else {
        st = st_model_open(&m, path, &mo, &err);
    }
    if (st != ST_OK) {
        report_error(path, &err);
        if (cd) report_counted(path, &cd->total, "find the error");
        free(cd);
        return 1;
    }
    ns = st_model_shard_count(m);
    n = st_model_tensor_count(m);
    if (mode == MODE_CHECK) {
        if (out_ok())
            printf("%s: ok (%llu %s in %llu %s)\n", path, (unsigned long long)n,
                   plural(n, "tensor", "tensors"), (unsigned long long)ns,
                   plural(ns, "shard", "shards"));
        st_model_close(m);
        if (cd) report_counted(path, &cd->total, "check the index and every shard");
        free(cd);
        return 0;
    }
    order = (uint64_t *)malloc((size_t)(ns ? ns : 1) * sizeof *order);
    if (!order) {
        fprintf(stderr, "%s: error: out of memory [ST_E_NOMEM]\n", path);
        st_model_close(m);
        free(cd);
        return 1;
    }
    for (s = 0; s < ns; s++) order[s] = s;
    g_sort_model = m;
    qsort(order, (size_t)ns, sizeof *order, shard_name_cmp);
    g_buf = &out;
    if (mode == MODE_JSON) {
        out_printf("{\"tensor_count\": %llu, \"shards\": [", (unsigned long long)n);
    } else {
        sbuf b = {NULL, 0, 0, 0};
        sb_put_text(&b, path, strlen(path), 0, NULL);
        out_printf("model: %s (%llu %s in %llu %s)\n", b.p && !b.nomem ? b.p : path,
                   (unsigned long long)n, plural(n, "tensor", "tensors"), (unsigned long long)ns,
                   plural(ns, "shard", "shards"));
        free(b.p);
    }
    for (s = 0; s < ns && !out.nomem; s++) {
        const st_file *f = NULL;
        const char *name = st_model_shard_name(m, order[s]);
        if (st_model_acquire(m, order[s], &f, &err) != ST_OK) {
            report_error(path, &err);
            rc = 1;
            break;
        }
        if (mode == MODE_JSON) {
            out_puts(s ? ",\n {\"name\": " : "\n {\"name\": ");
            json_string(name, strlen(name));
            out_puts(", \"file\": ");
            if (print_json(f) != 0) rc = 1;
            out_putc('}');
        } else {
            out_putc('\n');
            if (print_table(name, f) != 0) rc = 1;
        }
        st_model_release(m, order[s]);
        if (rc) break;
    }
    if (mode == MODE_JSON && rc == 0) out_printf(ns ? "\n]}\n" : "]}\n");
    g_buf = NULL;
    if (out.nomem && rc == 0) {
        fprintf(stderr, PROG ": out of memory\n");
        rc = 1;
    }
    if (rc == 0 && out.len) fwrite(out.p, 1, out.len, stdout);
    free(out.p);
    free(order);
    st_model_close(m);
    if (cd) report_counted(path, &cd->total, "list the index and every shard");
    free(cd);
    return rc;
}

/* ---------------------------------------------------------------- dump mode */

/* Little-endian bytes to an integer. */
static uint64_t le_u(const unsigned char *p, unsigned n)
{
    uint64_t u = 0;
    while (n--) u = (u << 8) | p[n];
    return u;
}

/* Prints the values of t, one per line, at most limit of them. The bytes come
 * through st_tensor_read, chunk by chunk, so this works for every handle
 * (mapped, or read through a reader) and reads only what it prints. Returns
 * 0, or 1 after reporting an error. */
static int dump_values(const char *path, const st_file *f, const st_tensor *t, uint64_t limit)
{
    enum { CHUNK = 4096 };
    static float fbuf[CHUNK];
    static unsigned char ibuf[CHUNK * 8];
    uint64_t n = t->numel < limit ? t->numel : limit, i = 0;
    unsigned bits = st_dtype_bits(t->dtype);
    /* packed types come in groups of whole bytes: F4 2 a byte, F6 4 in 3 */
    unsigned group = bits == 4 ? 2 : bits == 6 ? 4 : 1;
    sbuf b = {0};
    sb_put_text(&b, t->name, t->name_len, 0, NULL);
    if (out_ok()) {
        printf("# %s %s ", b.p && !b.nomem ? b.p : "?", st_dtype_name(t->dtype));
        sb_reset(&b);
        sb_shape(&b, t);
        printf("%s, %llu of %llu values\n", b.p && !b.nomem ? b.p : "?",
               (unsigned long long)n, (unsigned long long)t->numel);
    }
    free(b.p);
    while (i < n && out_ok()) {
        uint64_t k = n - i < CHUNK ? n - i : CHUNK, j;
        uint64_t whole = (k + group - 1) / group * group; /* <= numel - i */
        st_status s = ST_OK;
        st_error err;
        if (st_tensor_read(f, t, i * bits / 8, ibuf, whole * bits / 8, &err) != ST_OK) {
            report_error(path, &err);
            return 1;
        }
        switch (t->dtype) {
        case ST_I8: case ST_U8: case ST_I16: case ST_U16: case ST_I32: case ST_U32:
        case ST_I64: case ST_U64: case ST_BOOL: {
            unsigned sz = bits / 8;
            int sgn = t->dtype == ST_I8 || t->dtype == ST_I16 || t->dtype == ST_I32 ||
                      t->dtype == ST_I64;
            for (j = 0; j < k; j++) {
                uint64_t u = le_u(ibuf + j * sz, sz);
                if (sgn) {
                    int64_t v = sz == 1 ? (int8_t)(uint8_t)u : sz == 2 ? (int16_t)(uint16_t)u
                              : sz == 4 ? (int32_t)(uint32_t)u : (int64_t)u;
                    printf("%lld\n", (long long)v);
                } else {
                    printf("%llu\n", (unsigned long long)u);
                }
            }
            break;
        }
        case ST_F64:
            /* 17 significant digits: every double prints back to itself */
            for (j = 0; j < k; j++) {
                uint64_t u = le_u(ibuf + j * 8, 8);
                double d;
                memcpy(&d, &u, sizeof d);
                printf("%.17g\n", d);
            }
            break;
        case ST_C64:
            for (j = 0; j < k; j++) {
                uint32_t re = (uint32_t)le_u(ibuf + j * 8, 4), im = (uint32_t)le_u(ibuf + j * 8 + 4, 4);
                float fr, fi;
                memcpy(&fr, &re, sizeof fr);
                memcpy(&fi, &im, sizeof fi);
                printf("%.9g %.9g\n", fr, fi);
            }
            break;
        default:
            s = st_convert_to_f32((int)t->dtype, ibuf, 0, k, fbuf);
            if (s != ST_OK) break;
            for (j = 0; j < k; j++) printf("%.9g\n", fbuf[j]);
            break;
        }
        if (s != ST_OK) {
            fprintf(stderr, "%s: error: cannot read tensor values: %s [%s]\n", path,
                    st_status_message(s), st_status_name(s));
            return 1;
        }
        i += k;
    }
    return 0;
}

static int dump_named(const char *path, const char *name, uint64_t limit,
                      const st_open_options *opts, int bytes_read)
{
    st_error err;
    int rc;
    counting c;
    c.fd = -1;
    if (bytes_read && is_model_path(path)) {
        fprintf(stderr, "%s: error: --bytes-read takes single .safetensors files, not "
                        "sharded models\n", path);
        return 1;
    }
    if (is_model_path(path)) {
        st_model_options mo = ST_MODEL_OPTIONS_INIT;
        st_model *m = NULL;
        const st_model_entry *e;
        const st_file *f = NULL;
        mo.file_options = opts;
        if (st_model_open(&m, path, &mo, &err) != ST_OK) {
            report_error(path, &err);
            return 1;
        }
        e = st_model_find(m, name);
        if (!e) {
            fprintf(stderr, "%s: error: no tensor named \"%s\" [ST_E_NOT_FOUND]\n", path, name);
            st_model_close(m);
            return 1;
        }
        if (st_model_acquire(m, e->shard, &f, &err) != ST_OK) {
            report_error(path, &err);
            st_model_close(m);
            return 1;
        }
        rc = dump_values(path, f, st_tensor_find(f, name), limit);
        st_model_release(m, e->shard);
        st_model_close(m);
        return rc;
    } else {
        st_file *f = NULL;
        const st_tensor *t;
        st_status s = bytes_read ? open_counted(&f, path, opts, &c, &err)
                                 : open_file(&f, path, opts, &err);
        if (s != ST_OK) {
            report_error(path, &err);
            if (c.fd >= 0) close(c.fd);
            return 1;
        }
        t = st_tensor_find(f, name);
        if (!t) {
            fprintf(stderr, "%s: error: no tensor named \"%s\" [ST_E_NOT_FOUND]\n", path, name);
            rc = 1;
        } else {
            rc = dump_values(path, f, t, limit);
        }
        st_close(f);
        if (c.fd >= 0) {
            report_counted(path, &c, "open and dump");
            close(c.fd);
        }
        return rc;
    }
}

/* ---------------------------------------------------------------- main */

#if defined(_WIN32)
/* The arguments in UTF-8, the encoding of the library's paths (argv is in
 * the ANSI code page, which cannot spell most names). Kept until exit. */
static char **utf8_args(int *argc)
{
    int n, i;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    char **v;
    if (!w) return NULL;
    v = (char **)calloc((size_t)n + 1, sizeof *v);
    for (i = 0; v && i < n; i++) {
        int len = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w[i], -1, NULL, 0, NULL, NULL);
        v[i] = len > 0 ? (char *)malloc((size_t)len) : NULL;
        if (!v[i] || !WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w[i], -1, v[i], len,
                                          NULL, NULL)) {
            v = NULL; /* the rest leaks: the program stops */
            break;
        }
    }
    LocalFree(w);
    if (v) *argc = n;
    return v;
}
#endif

int main(int argc, char **argv)
{
    st_open_options opts = ST_OPEN_OPTIONS_INIT;
    st_alloc_cache *cache = NULL;
    int mode = MODE_TABLE, nfiles = 0, i, rc = 0, end_of_opts = 0;
    int saw_check = 0, saw_json = 0, saw_limit = 0, bytes_read = 0;
    const char *dump_name = NULL;
    uint64_t limit = UINT64_MAX;
    /* File names are collected in place at the front of argv (a slot is only
     * rewritten after it has been read). */
    char **files;

#if defined(_WIN32)
    /* the same bytes as elsewhere: no CR before each LF */
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    argv = utf8_args(&argc);
    if (!argv) {
        fprintf(stderr, PROG ": the command line cannot be converted to UTF-8\n");
        return 2;
    }
#endif
    files = argv + 1;

    /* Options may come before or after the files; "--" ends them. */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (end_of_opts || a[0] != '-' || a[1] == '\0') {
            files[nfiles++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            end_of_opts = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return out_finish() ? 1 : 0;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf(PROG " (libsafetensors) %s\n", st_version_string());
            return out_finish() ? 1 : 0;
        } else if (strcmp(a, "--check") == 0) {
            saw_check = 1;
        } else if (strcmp(a, "--json") == 0) {
            saw_json = 1;
        } else if (strcmp(a, "--dump") == 0 || strncmp(a, "--dump=", 7) == 0) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return usage_error("--dump needs a tensor name");
            dump_name = v;
        } else if (strcmp(a, "--limit") == 0 || strncmp(a, "--limit=", 8) == 0) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return usage_error("--limit needs a value");
            if (!parse_u64(v, UINT64_MAX, &limit))
                return usage_error("--limit: '%s' is not a number", v);
            saw_limit = 1;
        } else if (strcmp(a, "--bytes-read") == 0) {
            bytes_read = 1;
        } else if (strcmp(a, "--allow-trailing") == 0) {
            opts.flags |= ST_LENIENT_TRAILING_BYTES;
        } else if (strcmp(a, "--allow-nul-padding") == 0) {
            opts.flags |= ST_LENIENT_NUL_PADDING;
        } else if (strcmp(a, "--max-header") == 0 || strncmp(a, "--max-header=", 13) == 0) {
            const char *v = a[12] == '=' ? a + 13 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return usage_error("--max-header needs a value");
            if (!parse_u64(v, ST_MAX_HEADER_SIZE_LIMIT, &opts.max_header_size))
                return usage_error("--max-header: '%s' is not a number from 0 to %u", v,
                                   (unsigned)ST_MAX_HEADER_SIZE_LIMIT);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (saw_check + saw_json + (dump_name != NULL) > 1)
        return usage_error("--check, --json and --dump exclude each other");
    if (saw_limit && !dump_name) return usage_error("--limit goes with --dump");
    if (dump_name) {
        if (nfiles != 1) return usage_error("--dump takes one file");
        rc = dump_named(files[0], dump_name, limit, &opts, bytes_read);
        if (out_finish() != 0) rc = 1;
        return rc;
    }
    if (saw_check) mode = MODE_CHECK;
    if (saw_json) mode = MODE_JSON;
    if (nfiles == 0) return usage_error("no file given");
    if (mode != MODE_CHECK && nfiles > 1)
        return usage_error("%s takes one file (use --check for several)",
                           mode == MODE_JSON ? "--json" : "the table view");

    /* several files in a row: each open reuses the memory the last one freed */
    if (nfiles > 1) {
        st_error err;
        if (st_alloc_cache_new(&cache, NULL, &err) == ST_OK)
            opts.allocator = st_alloc_cache_allocator(cache);
    }
    for (i = 0; i < nfiles; i++) {
        const char *a = files[i];
        st_file *f = NULL;
        st_error err;
        counting c;
        st_status s;
        c.fd = -1;
        if (is_model_path(a)) {
            if (inspect_model(a, mode, &opts, bytes_read) != 0) rc = 1;
            continue;
        }
        s = bytes_read ? open_counted(&f, a, &opts, &c, &err) : open_file(&f, a, &opts, &err);
        if (s != ST_OK) {
            report_error(a, &err);
            if (c.fd >= 0) {
                report_counted(a, &c, "find the error");
                close(c.fd);
            }
            rc = 1;
            continue;
        }
        if (mode == MODE_CHECK) {
            uint32_t len = st_file_leniency_used(f);
            if (out_ok()) {
                printf("%s: ok (%llu %s)", a, (unsigned long long)st_tensor_count(f),
                       plural(st_tensor_count(f), "tensor", "tensors"));
                if (len & ST_LENIENT_TRAILING_BYTES)
                    printf(", leniency used: %llu trailing %s",
                           (unsigned long long)st_file_trailing_bytes(f),
                           plural(st_file_trailing_bytes(f), "byte", "bytes"));
                if (len & ST_LENIENT_NUL_PADDING)
                    printf(", leniency used: NUL padding");
                printf("\n");
            }
        } else if (mode == MODE_JSON) {
            if (print_json(f) != 0) rc = 1;
        } else {
            if (print_table(a, f) != 0) rc = 1;
        }
        st_close(f);
        if (c.fd >= 0) {
            report_counted(a, &c, mode == MODE_CHECK ? "check" : "list");
            close(c.fd);
        }
    }
    st_alloc_cache_close(cache);
    if (out_finish() != 0) rc = 1;
    return rc;
}
