/*
 * st-convert - rewrite safetensors files with the library's writer.
 *
 *   st-convert rewrite IN OUT                 the reference layout
 *   st-convert to-bf16 [--only GLOB]... IN OUT floats to BF16
 *   st-convert to-f16  [--only GLOB]... IN OUT floats to F16
 *   st-convert merge MODEL OUT                a sharded model into one file
 *   st-convert split [--max-shard-size N] [--prefix P] IN DIR   shards + index
 *
 * IN and MODEL may be a file, an index (*.json) or a model directory. The
 * input is validated fully (every shard) before anything is written; OUT
 * appears atomically (a temporary file beside it, flushed and renamed).
 * Exit status: 0 done, 1 invalid input or a failed write, 2 usage error.
 * Uses the public API only.
 */
#include <safetensors.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <shellapi.h> /* after windows.h */
#endif

#define PROG "st-convert"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " PROG " rewrite [OPTIONS] IN OUT\n"
            "       " PROG " to-bf16 [OPTIONS] [--only GLOB]... IN OUT\n"
            "       " PROG " to-f16 [OPTIONS] [--only GLOB]... IN OUT\n"
            "       " PROG " merge [OPTIONS] MODEL OUT\n"
            "       " PROG " split [OPTIONS] [--max-shard-size SIZE] [--prefix P] IN DIR\n"
            "\n"
            "Rewrites safetensors files with libsafetensors %s, validating the input\n"
            "fully first and writing OUT atomically.\n"
            "\n"
            "  rewrite          the same tensors and metadata in the reference layout\n"
            "  to-bf16, to-f16  F32, F64 and F16/BF16 tensors converted (round to\n"
            "                   nearest even); other dtypes copied as they are\n"
            "  merge            every tensor of a sharded model in one file\n"
            "  split            shards of at most SIZE bytes of data (default 5GB) and\n"
            "                   an index in the existing directory DIR, named\n"
            "                   P-0000K-of-0000N.safetensors (P: --prefix, default\n"
            "                   'model'), as the Hugging Face tools write them;\n"
            "                   SIZE takes KB, MB, GB (powers of 1000) or KiB, MiB, GiB\n"
            "  --only GLOB      convert only tensors whose name matches GLOB ('*' any\n"
            "                   run, '?' one byte); may be given several times\n"
            "  --keep-order     keep the input's order instead of the reference's\n"
            "  --align N        start the data at a multiple of N (8 to 4096)\n"
            "  --help, --version\n"
            "\n"
            "IN and MODEL may be a file, an index (*.safetensors.index.json) or a\n"
            "directory with one index. Metadata is taken from the first shard.\n"
            "Exit status: 0 done, 1 invalid input or failed write, 2 usage error.\n",
            st_version_string());
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    usage(stderr);
    return 2;
}

/* '*' and '?' over bytes; no character classes. Iterative, so no input makes
 * it recurse or take more than O(len(pattern) * len(name)). */
static int glob_match(const char *p, const char *s, size_t sn)
{
    const char *star = NULL;
    size_t i = 0, mark = 0;
    while (i < sn) {
        if (*p == '*') {
            star = p++;
            mark = i;
        } else if (*p && (*p == '?' || *p == s[i])) {
            p++;
            i++;
        } else if (star) {
            p = star + 1;
            i = ++mark;
        } else {
            return 0;
        }
    }
    while (*p == '*') p++;
    return *p == '\0';
}

/* "123", "5GB", "500MB", "2GiB", ...: 1 and *out on success. */
static int parse_size(const char *s, uint64_t *out)
{
    static const struct { const char *suf; uint64_t mul; } units[] = {
        {"", 1}, {"B", 1}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
        {"KiB", 1024}, {"MiB", 1048576}, {"GiB", 1073741824},
    };
    uint64_t v = 0;
    size_t u;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return 0;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    for (u = 0; u < sizeof units / sizeof units[0]; u++)
        if (!strcmp(s, units[u].suf)) {
            if (v == 0 || v > UINT64_MAX / units[u].mul) return 0;
            *out = v * units[u].mul;
            return 1;
        }
    return 0;
}

static int is_float(int dt)
{
    return dt == ST_F32 || dt == ST_F64 || dt == ST_F16 || dt == ST_BF16;
}

typedef struct job {
    const char *cmd;
    uint64_t max_shard; /* split */
    const char *prefix; /* split */
    int target; /* ST_BF16, ST_F16 or 0 (no conversion) */
    const char **only;
    int nonly;
    st_write_options wo;
} job;

static int fail(const char *path, const st_error *e)
{
    fprintf(stderr, PROG ": %s: error: %s [%s]\n", path, e->message, st_status_name(e->code));
    return 1;
}

/* Converts count elements of t from element first into dst as target. */
static st_status convert_chunk(const st_tensor *t, uint64_t first, uint64_t count, int target,
                               float *tmp, uint16_t *dst)
{
    st_status s = st_tensor_to_f32(t, first, count, tmp);
    if (s != ST_OK) return s;
    if (target == ST_BF16) st_f32_to_bf16(tmp, dst, (size_t)count);
    else st_f32_to_f16(tmp, dst, (size_t)count);
    return ST_OK;
}

static int run(const job *j, const char *in, const char *out)
{
    st_model_options mo = ST_MODEL_OPTIONS_INIT;
    st_model *m = NULL;
    st_error e;
    st_tensor_spec *specs = NULL;
    const st_tensor **src = NULL;
    const st_file *first = NULL;
    st_metadata_entry *meta = NULL;
    st_writer *w = NULL;
    uint64_t n, nshards, nmeta = 0, i, k;
    int rc = 1, *convert = NULL;
    enum { CHUNK = 1 << 16 };
    float *tmp = NULL;
    uint16_t *half = NULL;

    mo.flags = ST_MODEL_VALIDATE_ALL; /* everything checked before a byte is written */
    if (st_model_open(&m, in, &mo, &e) != ST_OK) return fail(in, &e);
    nshards = st_model_shard_count(m); /* a sharded input always gives one file */
    n = st_model_tensor_count(m);
    specs = (st_tensor_spec *)calloc(n ? (size_t)n : 1, sizeof *specs);
    src = (const st_tensor **)calloc(n ? (size_t)n : 1, sizeof *src);
    convert = (int *)calloc(n ? (size_t)n : 1, sizeof *convert);
    tmp = (float *)malloc(CHUNK * sizeof *tmp);
    half = (uint16_t *)malloc(CHUNK * sizeof *half);
    if (!specs || !src || !convert || !tmp || !half) {
        fprintf(stderr, PROG ": out of memory\n");
        goto done;
    }
    /* every shard stays acquired (mapped) until the file is written; the
     * tensors go in shard order, each shard's in its file order (what
     * --keep-order keeps) */
    i = 0;
    for (k = 0; k < nshards; k++) {
        const st_file *f = NULL;
        uint64_t t_i, nt;
        if (st_model_acquire(m, k, &f, &e) != ST_OK) {
            rc = fail(in, &e);
            while (k-- > 0) st_model_release(m, k);
            goto done;
        }
        if (k == 0) first = f;
        nt = st_tensor_count(f);
        for (t_i = 0; t_i < nt && i < n; t_i++, i++) {
            const st_tensor *t = st_tensor_at(f, t_i);
            src[i] = t;
            specs[i].name = t->name;
            specs[i].name_len = t->name_len;
            specs[i].dtype = t->dtype;
            specs[i].rank = t->rank;
            specs[i].shape = t->shape;
            specs[i].data = t->data;
            if (j->target && is_float(t->dtype) && (int)t->dtype != j->target) {
                int c, want = j->nonly == 0;
                for (c = 0; c < j->nonly && !want; c++)
                    want = glob_match(j->only[c], t->name, (size_t)t->name_len);
                if (want) {
                    convert[i] = 1;
                    specs[i].dtype = j->target;
                }
            }
        }
    }
    if (i != n) { /* the model checked every shard against the weight map */
        fprintf(stderr, PROG ": %s: the shards hold %llu tensors, the index %llu\n", in,
                (unsigned long long)i, (unsigned long long)n);
        goto done_release;
    }
    if (first) {
        nmeta = st_metadata_count(first);
        if (st_metadata_state_of(first) == ST_METADATA_OBJECT) { /* null or absent: none */
            meta = (st_metadata_entry *)calloc(nmeta ? (size_t)nmeta : 1, sizeof *meta);
            if (!meta) {
                fprintf(stderr, PROG ": out of memory\n");
                goto done_release;
            }
            for (k = 0; k < nmeta; k++) {
                const st_metadata_entry *me = st_metadata_at(first, k);
                if (!me) { /* (the handle makes entries on first use) */
                    fprintf(stderr, PROG ": out of memory\n");
                    goto done_release;
                }
                meta[k] = *me;
            }
        }
    }
    if (!strcmp(j->cmd, "split")) {
        uint64_t ns = 0;
        if (st_write_sharded(out, j->prefix, j->max_shard, specs, n, meta, nmeta, &j->wo, &ns,
                             &e) != ST_OK) {
            rc = fail(out, &e);
            goto done_release;
        }
        printf("%s: %llu tensors in %llu shard%s\n", out, (unsigned long long)n,
               (unsigned long long)ns, ns == 1 ? "" : "s");
        rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
        goto done_release;
    }
    /* streaming: converted tensors go out in chunks, the rest straight from
     * the mapping, so memory stays about the size of the header */
    if (st_writer_begin_path(&w, out, specs, n, meta, nmeta, &j->wo, &e) != ST_OK) {
        rc = fail(out, &e);
        goto done_release;
    }
    for (i = 0; i < n; i++) {
        const st_tensor *t = src[i];
        if (!convert[i]) {
            if (st_writer_write(w, i, 0, t->data, t->nbytes, &e) != ST_OK) goto write_failed;
            continue;
        }
        for (k = 0; k < t->numel; k += CHUNK) {
            uint64_t c = t->numel - k < CHUNK ? t->numel - k : CHUNK;
            st_status s = convert_chunk(t, k, c, j->target, tmp, half);
            if (s != ST_OK) {
                fprintf(stderr, PROG ": %s: tensor \"%s\": cannot convert: %s\n", in, t->name,
                        st_status_message(s));
                st_writer_abort(w);
                goto done_release;
            }
            if (st_writer_write(w, i, k * 2, half, c * 2, &e) != ST_OK) goto write_failed;
        }
    }
    if (st_writer_finish(w, &e) != ST_OK) {
        rc = fail(out, &e);
        goto done_release;
    }
    rc = 0;
    goto done_release;
write_failed:
    rc = fail(out, &e);
    st_writer_abort(w);
done_release:
    for (k = 0; k < nshards; k++) st_model_release(m, k);
done:
    st_model_close(m);
    free(specs);
    free(src);
    free(convert);
    free(meta);
    free(tmp);
    free(half);
    return rc;
}

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
    job j;
    const char *files[2];
    int nfiles = 0, i, rc;
    static const st_write_options init = ST_WRITE_OPTIONS_INIT;
    memset(&j, 0, sizeof j);
    j.wo = init;
    j.max_shard = UINT64_C(5000000000); /* the Hugging Face tools' default, 5GB */
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
    if (argc < 2) return usage_error("no command", NULL);
    if (!strcmp(argv[1], "--help")) {
        usage(stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    if (!strcmp(argv[1], "--version")) {
        printf(PROG " (libsafetensors) %s\n", st_version_string());
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    j.cmd = argv[1];
    if (!strcmp(j.cmd, "to-bf16")) j.target = ST_BF16;
    else if (!strcmp(j.cmd, "to-f16")) j.target = ST_F16;
    else if (strcmp(j.cmd, "rewrite") != 0 && strcmp(j.cmd, "merge") != 0 &&
             strcmp(j.cmd, "split") != 0)
        return usage_error("unknown command", j.cmd);
    j.only = (const char **)calloc((size_t)argc, sizeof *j.only);
    if (!j.only) return 1;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            for (i++; i < argc; i++) {
                if (nfiles == 2) { free(j.only); return usage_error("too many files", argv[i]); }
                files[nfiles++] = argv[i];
            }
            break;
        }
        if (!strcmp(a, "--only")) {
            if (!j.target) { free(j.only); return usage_error("--only is for to-bf16 and to-f16", NULL); }
            if (++i >= argc) { free(j.only); return usage_error("--only needs a pattern", NULL); }
            j.only[j.nonly++] = argv[i];
        } else if (!strcmp(a, "--max-shard-size") || !strcmp(a, "--prefix")) {
            if (strcmp(j.cmd, "split") != 0) { free(j.only); return usage_error("an option of split", a); }
            if (++i >= argc) { free(j.only); return usage_error("a value is needed", a); }
            if (a[2] == 'p') {
                j.prefix = argv[i];
            } else if (!parse_size(argv[i], &j.max_shard)) {
                free(j.only);
                return usage_error("--max-shard-size takes a size such as 5GB or 500MiB", argv[i]);
            }
        } else if (!strcmp(a, "--keep-order")) {
            j.wo.flags |= ST_WRITE_KEEP_ORDER;
        } else if (!strcmp(a, "--align")) {
            char *end;
            unsigned long v;
            if (++i >= argc) { free(j.only); return usage_error("--align needs a value", NULL); }
            v = strtoul(argv[i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || v < 8 || v > 4096 || (v & (v - 1))) {
                free(j.only);
                return usage_error("--align takes a power of two from 8 to 4096", argv[i]);
            }
            j.wo.alignment = (uint32_t)v;
        } else if (a[0] == '-' && a[1] != '\0') {
            free(j.only);
            return usage_error("unknown option", a);
        } else {
            if (nfiles == 2) { free(j.only); return usage_error("too many files", a); }
            files[nfiles++] = a;
        }
    }
    if (nfiles != 2) {
        free(j.only);
        return usage_error("needs an input and an output", NULL);
    }
    rc = run(&j, files[0], files[1]);
    free(j.only);
    return rc;
}
