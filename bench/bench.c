/* libsafetensors benchmark: `make bench` (see docs/performance.md).
 *
 *   bench [--reps N] [--cold-runs N] [--cpu-time] [--only PART,...] DIR
 *                                  run everything (or the parts listed: headers,
 *                                  cold, sharded, hostile, write, sparse, read,
 *                                  convert, slice), inputs generated under DIR
 *   bench --profile-open FILE [K]  open FILE K times from memory (for callgrind / perf)
 *   bench --probe-rss FILE WARM    (internal) RSS before/after one st_open_path, in a
 *                                  fresh process so earlier runs do not hide the growth
 *   bench --cold-run KIND PATH...  (internal) one operation in a fresh process: the
 *                                  cold figures (see cold_run_main)
 *
 * Two tables: cold figures, each the median over fresh processes (one open, one
 * model or one sequence of opens each), then the warm-loop figures, each the
 * median of repeated runs in one process; the tables show min..max too.
 * st_tensor_read and st_convert_to_f32 are measured only when the library
 * defines them: the Makefile passes -DBENCH_HAVE_TENSOR_READ / -DBENCH_HAVE_CONVERT
 * after looking at the static library's symbols; otherwise the figures say n/a.
 */
#include "gen.h"

#include <safetensors.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MB 1e6
#define GB 1e9

static const size_t header_sizes[] = {100, 1000, 10000, 100000};
#define NSIZES (sizeof header_sizes / sizeof header_sizes[0])
#define HEADER_BUDGET ((uint64_t)32 << 30) /* data size the header files describe (holes) */
#define HEADER_META 16                     /* __metadata__ entries */
#define SPARSE_TENSORS 300
#define SPARSE_BUDGET ((uint64_t)8 << 30)
#define REAL_BUDGET ((uint64_t)512 << 20)
#define CONV_ELEMS ((size_t)16 << 20) /* elements per conversion run: 64 MB of floats out */

static int reps = 21;
static double min_run_ns = 10e6; /* each timed run lasts at least this long */
static clockid_t bench_clock = CLOCK_MONOTONIC; /* --cpu-time: CLOCK_THREAD_CPUTIME_ID */
static volatile uint64_t sink;
static const char *self_exe = "/proc/self/exe";
extern char **environ;

/* ------------------------------------------------------------ utilities */

#if defined(__GNUC__)
#define BENCH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define BENCH_NORETURN __attribute__((noreturn))
#else
#define BENCH_PRINTF(a, b)
#define BENCH_NORETURN
#endif

static void die(const char *fmt, ...) BENCH_PRINTF(1, 2) BENCH_NORETURN;
static void note(const char *fmt, ...) BENCH_PRINTF(1, 2);

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory (%zu bytes)", n);
    return p;
}

static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void loadavg(char *out, size_t n)
{
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = 0;
    if (f) {
        if (!fgets(out, (int)n, f)) out[0] = 0;
        fclose(f);
    }
    out[strcspn(out, "\n")] = 0;
}

/* A whole file mapped read-only (the "buffer already in memory" for st_open_memory). */
typedef struct mapped {
    const unsigned char *p;
    size_t len;
} mapped;

static mapped map_file(const char *path, size_t touch)
{
    mapped m = {NULL, 0};
    struct stat st;
    void *p;
    size_t i;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st)) die("cannot open %s: %s", path, strerror(errno));
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) die("cannot map %s: %s", path, strerror(errno));
    m.p = (const unsigned char *)p;
    m.len = (size_t)st.st_size;
    for (i = 0; i < touch && i < m.len; i += 4096) sink += m.p[i]; /* fault the header in */
    return m;
}

/* ------------------------------------------------------------ statistics and figures */

typedef struct stats {
    double med, lo, hi;
    int n;
} stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static stats stats_of(double *v, int n)
{
    stats s;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    s.n = n;
    s.lo = v[0];
    s.hi = v[n - 1];
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

/* time -> rate: the median maps to the median, the ends swap */
/* bytes per ns is GB/s */
static stats rate_of(stats t, double amount)
{
    stats r;
    r.n = t.n;
    r.med = amount / t.med;
    r.lo = amount / t.hi;
    r.hi = amount / t.lo;
    return r;
}

static stats scale(stats t, double k)
{
    t.med *= k;
    t.lo *= k;
    t.hi *= k;
    return t;
}

typedef double (*run_fn)(void *ctx, uint64_t iters); /* returns the ns measured */

/* ns per iteration: calibrate the iteration count so one run lasts at least
 * min_run_ns (the calibration runs are the warm-up), then `reps` runs. */
static uint64_t calibrate(run_fn fn, void *ctx, double min_ns)
{
    uint64_t iters = 1;
    double t = fn(ctx, 1);
    while (t < min_ns && iters < ((uint64_t)1 << 32)) {
        double want = t > 0 ? min_ns / t * 1.2 : 2;
        iters = (uint64_t)((double)iters * (want < 2 ? 2 : want > 100 ? 100 : want));
        t = fn(ctx, iters);
    }
    return iters;
}

static stats measure_n(run_fn fn, void *ctx, int nreps, double min_ns)
{
    double v[64];
    uint64_t iters;
    int r;
    if (nreps > 64) nreps = 64;
    iters = calibrate(fn, ctx, min_ns);
    for (r = 0; r < nreps; r++) v[r] = fn(ctx, iters) / (double)iters;
    return stats_of(v, nreps);
}

/* Two bodies measured in alternation (A B A B ...), so that a busy spell of the
 * machine hits both; *ratio is the median of the per-pair ratios time(A)/time(B). */
static void measure_pair(run_fn fa, void *ca, run_fn fb, void *cb, double min_ns, stats *sa, stats *sb,
                         stats *ratio)
{
    double va[64], vb[64], q[64];
    uint64_t ia, ib;
    int r, nreps = reps > 64 ? 64 : reps;
    ia = calibrate(fa, ca, min_ns);
    ib = calibrate(fb, cb, min_ns);
    for (r = 0; r < nreps; r++) {
        va[r] = fa(ca, ia) / (double)ia;
        vb[r] = fb(cb, ib) / (double)ib;
        q[r] = va[r] / vb[r];
    }
    *sa = stats_of(va, nreps);
    *sb = stats_of(vb, nreps);
    *ratio = stats_of(q, nreps);
}


static stats measure(run_fn fn, void *ctx)
{
    return measure_n(fn, ctx, reps, min_run_ns);
}

enum { T_NONE, T_GE, T_LT, T_LE };

typedef struct figure {
    char name[32];
    uint64_t tensors;
    stats s;
    int avail;
    char unit[12];
    int op;
    double target;
    const char *status;
    int cold; /* 1: a cold figure (fresh processes), printed in the first table */
} figure;

static figure figs[200];
static int nfigs;
static int fig_cold; /* figures added while set go to the cold table */

static const char *op_str(int op)
{
    return op == T_GE ? ">=" : op == T_LT ? "<" : op == T_LE ? "<=" : "";
}

static void add_fig(const char *name, uint64_t tensors, stats s, const char *unit, int op, double target)
{
    figure *f;
    if (nfigs == (int)(sizeof figs / sizeof figs[0])) die("too many figures");
    f = &figs[nfigs++];
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->unit, sizeof f->unit, "%s", unit);
    f->tensors = tensors;
    f->s = s;
    f->avail = 1;
    f->op = op;
    f->target = target;
    f->cold = fig_cold;
    if (op == T_NONE) f->status = "INFO";
    else if (op == T_GE) f->status = s.med >= target ? "PASS" : "MISS";
    else if (op == T_LT) f->status = s.med < target ? "PASS" : "MISS";
    else f->status = s.med <= target ? "PASS" : "MISS";
}

#if !defined(BENCH_HAVE_TENSOR_READ) || !defined(BENCH_HAVE_CONVERT)
static void add_na(const char *name, uint64_t tensors, const char *unit, int op, double target)
{
    stats s = {0, 0, 0, 0};
    add_fig(name, tensors, s, unit, op, target);
    figs[nfigs - 1].avail = 0;
    figs[nfigs - 1].status = "NA";
}
#endif

static void fmt_num(char *out, size_t n, double v)
{
    double a = v < 0 ? -v : v;
    if (a >= 1e6) snprintf(out, n, "%.0f", v);
    else if (a >= 100) snprintf(out, n, "%.1f", v);
    else if (a >= 1) snprintf(out, n, "%.3g", v);
    else snprintf(out, n, "%.3g", v);
}

static void print_table(int cold)
{
    int i;
    printf("\n%s\n%-22s %8s %12s %-9s %-25s %-10s %s\n",
           cold ? "Cold: each figure the median over fresh processes, one operation each"
                : "Warm loop: each figure the median of runs repeated in one process",
           "figure", "tensors", "median", "unit", "min..max (runs)", "target", "status");
    for (i = 0; i < nfigs; i++) {
        const figure *f = &figs[i];
        char med[32], lo[32], hi[32], spread[96], tgt[48];
        if (f->cold != cold) continue;
        if (f->avail) {
            fmt_num(med, sizeof med, f->s.med);
            fmt_num(lo, sizeof lo, f->s.lo);
            fmt_num(hi, sizeof hi, f->s.hi);
            snprintf(spread, sizeof spread, "%s..%s (%d)", lo, hi, f->s.n);
        } else {
            snprintf(med, sizeof med, "n/a");
            snprintf(spread, sizeof spread, "-");
        }
        if (f->op != T_NONE) {
            fmt_num(lo, sizeof lo, f->target);
            snprintf(tgt, sizeof tgt, "%s%s", op_str(f->op), lo);
        } else {
            snprintf(tgt, sizeof tgt, "-");
        }
        printf("%-22s %8llu %12s %-9s %-25s %-10s %s\n", f->name, (unsigned long long)f->tensors, med,
               f->unit, spread, tgt, f->status);
    }
}

static void print_bench_lines(int cold)
{
    int i;
    for (i = 0; i < nfigs; i++) {
        const figure *f = &figs[i];
        char tgt[32];
        if (f->cold != cold) continue;
        if (f->op != T_NONE) snprintf(tgt, sizeof tgt, "%s%g", op_str(f->op), f->target);
        else snprintf(tgt, sizeof tgt, "none");
        if (f->avail)
            printf("BENCH name=%s tensors=%llu value=%.6g unit=%s target=%s status=%s min=%.6g max=%.6g "
                   "runs=%d\n",
                   f->name, (unsigned long long)f->tensors, f->s.med, f->unit, tgt, f->status, f->s.lo,
                   f->s.hi, f->s.n);
        else
            printf("BENCH name=%s tensors=%llu value=n/a unit=%s target=%s status=%s\n", f->name,
                   (unsigned long long)f->tensors, f->unit, tgt, f->status);
    }
}

/* The targets of issue #12, each with the figures that judge it (those measured). */
static void print_issue_targets(void)
{
    static const struct {
        const char *target, *name;
        uint64_t tensors; /* 0: any */
    } t[] = {
        {"2. one cold open, 100k tensors", "cold_open_vs_warm", 100000},
        {"2. one cold open, 100k tensors", "cold_proc_peak_ratio", 100000},
        {"3. DeepSeek-V3-like model", "cold_model_vs_warm", 0},
        {"3. DeepSeek-V3-like model", "cold_index_rate", 0},
        {"3. DeepSeek-V3-like model", "cold_seq_faults_ratio", 0},
        {"4. hostile 25 MB headers", "cold_h_worst_ratio", 0},
        {"4. hostile 25 MB headers", "cold_h_worst_peak", 0},
        {"4. hostile 25 MB headers", "cold_h_real_peak", 0},
    };
    size_t k;
    int i, shown = 0;
    for (k = 0; k < sizeof t / sizeof t[0]; k++)
        for (i = 0; i < nfigs; i++) {
            const figure *f = &figs[i];
            char v[32], tg[32];
            if (strcmp(f->name, t[k].name) || (t[k].tensors && f->tensors != t[k].tensors)) continue;
            if (!shown++) printf("\nIssue #12 targets\n");
            if (f->avail) fmt_num(v, sizeof v, f->s.med);
            else snprintf(v, sizeof v, "n/a");
            fmt_num(tg, sizeof tg, f->target);
            printf("  %-32s %-22s %10s %-9s %s%-8s %s\n", t[k].target, f->name, v, f->unit, op_str(f->op), tg,
                   f->status);
        }
}

/* The cold table first (if any cold figure was measured), then the warm one,
 * then the targets of issue #12; BENCH lines in the same order. */
static void print_results(void)
{
    int i, ncold = 0;
    for (i = 0; i < nfigs; i++) ncold += figs[i].cold;
    if (ncold) print_table(1);
    if (ncold < nfigs) print_table(0);
    print_issue_targets();
    printf("\n");
    print_bench_lines(1);
    print_bench_lines(0);
    fflush(stdout);
}

/* ------------------------------------------------------------ counting allocator */

typedef struct counter {
    size_t live, peak, calls;
} counter;

static void *cnt_malloc(void *ctx, size_t n)
{
    counter *c = (counter *)ctx;
    void *p = malloc(n ? n : 1);
    if (p) {
        c->live += n;
        c->calls++;
        if (c->live > c->peak) c->peak = c->live;
    }
    return p;
}

static void *cnt_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
    counter *c = (counter *)ctx;
    void *q = realloc(p, new_size ? new_size : 1);
    if (q) {
        c->live = c->live - old_size + new_size;
        c->calls++;
        if (c->live > c->peak) c->peak = c->live;
    }
    return q;
}

static void cnt_free(void *ctx, void *p, size_t n)
{
    counter *c = (counter *)ctx;
    free(p);
    c->live -= n;
}

/* ------------------------------------------------------------ timed bodies */

typedef struct hctx {
    const gen_model *m;
    const char *path;
    mapped map;
    const char **present, **absent; /* lookup orders (shuffled) */
    const char **present_seq;       /* file order */
    st_file *f;
    jsmntok_t *toks;
    unsigned ntok;
} hctx;

static double run_open_mem(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    double total = 0;
    uint64_t k;
    for (k = 0; k < iters; k++) {
        st_file *f;
        st_error err;
        uint64_t t0 = now_ns();
        st_status s = st_open_memory(&f, c->map.p, c->map.len, NULL, &err);
        total += (double)(now_ns() - t0);
        if (s != ST_OK) die("st_open_memory: %s", err.message);
        st_close(f);
    }
    return total;
}

static double run_open_path(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    double total = 0;
    uint64_t k;
    for (k = 0; k < iters; k++) {
        st_file *f;
        st_error err;
        uint64_t t0 = now_ns();
        st_status s = st_open_path(&f, c->path, NULL, &err);
        total += (double)(now_ns() - t0);
        if (s != ST_OK) die("st_open_path %s: %s", c->path, err.message);
        st_close(f);
    }
    return total;
}

static double run_jsmn(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    const char *js = (const char *)c->map.p + 8;
    uint64_t t0 = now_ns(), k;
    for (k = 0; k < iters; k++) {
        jsmn_parser p;
        int r;
        jsmn_init(&p);
        r = jsmn_parse(&p, js, c->m->header_len, c->toks, c->ntok);
        if (r != (int)c->ntok) die("jsmn_parse returned %d, expected %u", r, c->ntok);
        sink += (uint64_t)c->toks[r - 1].end;
    }
    return (double)(now_ns() - t0);
}

static double run_lookup(const st_file *f, const char **names, size_t n, int want, uint64_t iters)
{
    uint64_t t0 = now_ns(), k, acc = 0;
    size_t i;
    for (k = 0; k < iters; k++) {
        for (i = 0; i < n; i++) {
            const st_tensor *t = st_tensor_find(f, names[i]);
            if ((t != NULL) != want) die("lookup of %s: %s", names[i], want ? "not found" : "found");
            acc += t ? t->index : 1;
        }
    }
    sink += acc;
    return (double)(now_ns() - t0);
}

static double run_lookup_present(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    return run_lookup(c->f, c->present, c->m->n, 1, iters);
}

static double run_lookup_present_seq(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    return run_lookup(c->f, c->present_seq, c->m->n, 1, iters);
}

static double run_lookup_absent(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    return run_lookup(c->f, c->absent, c->m->n, 0, iters);
}

static double run_iterate(void *vp, uint64_t iters)
{
    hctx *c = (hctx *)vp;
    uint64_t t0 = now_ns(), k, i, n = st_tensor_count(c->f), acc = 0;
    for (k = 0; k < iters; k++) {
        for (i = 0; i < n; i++) {
            const st_tensor *t = st_tensor_at(c->f, i);
            acc += t->nbytes + t->name_len + (unsigned char)t->name[0] + t->rank + (uint64_t)t->dtype;
        }
    }
    sink += acc;
    return (double)(now_ns() - t0);
}

/* ------------------------------------------------------------ RSS probe (child process) */

static const unsigned char tiny_file[] = {
    56, 0, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"', ':', '{', '"', 'd', 't', 'y', 'p', 'e', '"', ':', '"', 'F',
    '3', '2', '"', ',', '"', 's', 'h', 'a', 'p', 'e', '"', ':', '[', '1', ']', ',', '"', 'd', 'a', 't', 'a',
    '_', 'o', 'f', 'f', 's', 'e', 't', 's', '"', ':', '[', '0', ',', '4', ']', '}', '}', ' ', ' ', 0, 0, 0, 0,
};

static const char *warm_path; /* the tiny file, written next to the inputs */

static int probe_rss_main(const char *path, const char *warm)
{
    st_file *f;
    st_error err;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_allocator a;
    counter c = {0, 0, 0};
    uint64_t r0, r1, t0, t1;
    struct mallinfo2 m0, m1;
    /* warm the code and the C library's heap with a tiny file so they do not count */
    if (st_open_path(&f, warm, NULL, &err) != ST_OK) die("%s: %s", warm, err.message);
    st_close(f);
    a.malloc_fn = cnt_malloc;
    a.realloc_fn = cnt_realloc;
    a.free_fn = cnt_free;
    a.ctx = &c;
    o.allocator = &a;
    m0 = mallinfo2();
    r0 = rss_bytes();
    t0 = now_ns();
    if (st_open_path(&f, path, &o, &err) != ST_OK) die("st_open_path %s: %s", path, err.message);
    t1 = now_ns();
    r1 = rss_bytes();
    m1 = mallinfo2();
    printf("%llu %llu %llu %llu %llu %lld\n", (unsigned long long)r0, (unsigned long long)r1,
           (unsigned long long)(t1 - t0), (unsigned long long)st_tensor_count(f),
           (unsigned long long)c.live,
           (long long)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)));
    st_close(f);
    return 0;
}

typedef struct probe {
    double rss_delta; /* bytes */
    double heap_live; /* counted through the hook */
    double malloc_delta; /* mallinfo2: every malloc in the process */
} probe;

static probe probe_rss(const char *path)
{
    double d[5], live = 0, md = 0;
    probe pr;
    int i;
    for (i = 0; i < 5; i++) {
        int fds[2], st;
        pid_t pid;
        char out[256];
        ssize_t got = 0, r;
        unsigned long long r0, r1, ns, cnt, lv;
        long long mdelta;
        if (pipe(fds)) die("pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) die("fork: %s", strerror(errno));
        if (pid == 0) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
            execl(self_exe, "bench", "--probe-rss", path, warm_path, (char *)NULL);
            _exit(127);
        }
        close(fds[1]);
        while ((r = read(fds[0], out + got, sizeof out - 1 - (size_t)got)) > 0) got += r;
        close(fds[0]);
        out[got > 0 ? got : 0] = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            sscanf(out, "%llu %llu %llu %llu %llu %lld", &r0, &r1, &ns, &cnt, &lv, &mdelta) != 6)
            die("RSS probe of %s failed", path);
        d[i] = (double)r1 - (double)r0;
        live = (double)lv;
        md = (double)mdelta;
    }
    pr.rss_delta = stats_of(d, 5).med;
    pr.heap_live = live;
    pr.malloc_delta = md;
    return pr;
}

/* ------------------------------------------------------------ 1-5: headers */

static void shuffle(const char **v, size_t n, uint64_t seed)
{
    uint64_t s = seed | 1;
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j;
        const char *t;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        j = (size_t)(s % i);
        t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Copies the strings into one pool in the order of v and points v at the
 * copies: the caller's names then sit in memory in query order, as names an
 * engine formats one by one would, so the lookups measure the library's
 * memory accesses rather than the benchmark's. */
static char *pool_in_order(const char **v, size_t n)
{
    size_t i, len = 0;
    char *pool, *q;
    for (i = 0; i < n; i++) len += strlen(v[i]) + 1;
    pool = q = (char *)xmalloc(len);
    for (i = 0; i < n; i++) {
        size_t k = strlen(v[i]) + 1;
        memcpy(q, v[i], k);
        v[i] = q;
        q += k;
    }
    return pool;
}

static void bench_headers(const char *dir)
{
    size_t si;
    for (si = 0; si < NSIZES; si++) {
        size_t n = header_sizes[si], i;
        int big = n >= 10000;
        gen_model m;
        hctx c;
        char path[4096];
        st_error err;
        jsmn_parser p;
        int r;
        stats t_mem, t_path, t_jsmn, s;
        double hdr;
        counter cnt = {0, 0, 0};
        st_allocator a;
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        st_file *f;
        char *absent_pool, *pool_present, *pool_absent;
        probe pr;

        if (gen_model_build(&m, n, HEADER_BUDGET, HEADER_META)) die("cannot build the %zu-tensor model", n);
        snprintf(path, sizeof path, "%s/hdr_%zu.safetensors", dir, n);
        if (gen_write_file(&m, path, 0)) die("cannot write %s", path);
        hdr = (double)m.header_len;
        note("%zu tensors: header %zu bytes, data %.1f GB (hole), hidden %llu", n, m.header_len,
             (double)m.data_size / GB, (unsigned long long)m.hidden);
        memset(&c, 0, sizeof c);
        c.m = &m;
        c.path = path;
        c.map = map_file(path, 8 + m.header_len);

        /* sanity: the library accepts it and sees what was written */
        if (st_open_memory(&f, c.map.p, c.map.len, NULL, &err) != ST_OK) die("%s: %s", path, err.message);
        if (st_tensor_count(f) != n || st_file_header_size(f) != m.header_len ||
            strcmp(st_tensor_at(f, n - 1)->name, m.t[n - 1].name) != 0 || st_metadata_count(f) != HEADER_META)
            die("%s: the library sees a different file", path);
        st_close(f);

        add_fig("header_bytes", n, scale(stats_of(&hdr, 1), 1), "bytes", T_NONE, 0);

        /* 1. open + validate + index */
        /* 1. open + validate + index, measured in alternation with 2. the floor:
         * one bare jsmn pass into a preallocated token array */
        jsmn_init(&p);
        r = jsmn_parse(&p, (const char *)c.map.p + 8, m.header_len, NULL, 0);
        if (r <= 0) die("jsmn counts %d tokens", r);
        c.ntok = (unsigned)r;
        c.toks = (jsmntok_t *)xmalloc(sizeof *c.toks * c.ntok);
        memset(c.toks, 0, sizeof *c.toks * c.ntok);
        measure_pair(run_open_mem, &c, run_jsmn, &c, min_run_ns, &t_mem, &t_jsmn, &s);
        free(c.toks);
        add_fig("open_mem", n, rate_of(t_mem, hdr / MB * 1e9), "MB/s", big ? T_GE : T_NONE, 250);
        add_fig("open_mem_ns", n, scale(t_mem, 1.0 / (double)n), "ns/tensor", T_NONE, 0);
        t_path = measure(run_open_path, &c);
        add_fig("open_path", n, rate_of(t_path, hdr / MB * 1e9), "MB/s", big ? T_GE : T_NONE, 250);
        add_fig("open_path_ns", n, scale(t_path, 1.0 / (double)n), "ns/tensor", T_NONE, 0);
        add_fig("jsmn", n, rate_of(t_jsmn, hdr / MB * 1e9), "MB/s", T_NONE, 0);
        add_fig("jsmn_ns", n, scale(t_jsmn, 1.0 / (double)n), "ns/tensor", T_NONE, 0);
        add_fig("open_vs_jsmn", n, s, "x", big ? T_LE : T_NONE, 1.5);

        /* 3. lookup (names in a shuffled order), 4. iteration in file order */
        if (st_open_memory(&c.f, c.map.p, c.map.len, NULL, &err) != ST_OK) die("%s", err.message);
        c.present = (const char **)xmalloc(n * sizeof *c.present);
        c.absent = (const char **)xmalloc(n * sizeof *c.absent);
        c.present_seq = (const char **)xmalloc(n * sizeof *c.present_seq);
        absent_pool = (char *)xmalloc(n * 64);
        for (i = 0; i < n; i++) {
            /* absent: a bias for every weight (what a loader probes for), same length class */
            char *q = absent_pool + i * 64;
            const char *w = strstr(m.t[i].name, ".weight");
            c.present[i] = c.present_seq[i] = m.t[i].name;
            if (w) snprintf(q, 64, "%.*s.bias", (int)(w - m.t[i].name), m.t[i].name);
            else snprintf(q, 64, "%s.absent", m.t[i].name);
            c.absent[i] = q;
        }
        shuffle(c.present, n, 12345);
        shuffle(c.absent, n, 54321);
        pool_present = pool_in_order(c.present, n);
        pool_absent = pool_in_order(c.absent, n);
        s = measure(run_lookup_present, &c);
        add_fig("lookup_present", n, scale(s, 1.0 / (double)n), "ns", n >= 100000 ? T_LT : T_NONE, 100);
        s = measure(run_lookup_present_seq, &c);
        add_fig("lookup_present_seq", n, scale(s, 1.0 / (double)n), "ns", n >= 100000 ? T_LT : T_NONE, 100);
        s = measure(run_lookup_absent, &c);
        add_fig("lookup_absent", n, scale(s, 1.0 / (double)n), "ns", n >= 100000 ? T_LT : T_NONE, 100);
        s = measure(run_iterate, &c);
        add_fig("iterate", n, scale(s, 1.0 / (double)n), "ns/tensor", T_NONE, 0);
        st_close(c.f);
        free(c.present);
        free(c.absent);
        free(c.present_seq);
        free(absent_pool);
        free(pool_present);
        free(pool_absent);

        /* 5. memory: exact heap through the allocator hook, RSS in a fresh process */
        a.malloc_fn = cnt_malloc;
        a.realloc_fn = cnt_realloc;
        a.free_fn = cnt_free;
        a.ctx = &cnt;
        o.allocator = &a;
        if (st_open_memory(&f, c.map.p, c.map.len, &o, &err) != ST_OK) die("%s", err.message);
        {
            double live = (double)cnt.live, peak = (double)cnt.peak;
            add_fig("heap_live", n, scale(stats_of(&live, 1), 1.0 / (double)n), "B/tensor", T_NONE, 0);
            add_fig("heap_live_ratio", n, scale(stats_of(&live, 1), 1.0 / hdr), "x_header", T_LT, 2);
            add_fig("heap_peak", n, scale(stats_of(&peak, 1), 1.0 / (double)n), "B/tensor", T_NONE, 0);
            add_fig("heap_peak_ratio", n, scale(stats_of(&peak, 1), 1.0 / hdr), "x_header", T_LT, 4);
        }
        st_close(f);
        if (cnt.live != 0) note("WARNING: %zu heap bytes still counted live after st_close", cnt.live);
        pr = probe_rss(path);
        {
            double d = pr.rss_delta;
            add_fig("rss_open", n, scale(stats_of(&d, 1), 1.0 / (double)n), "B/tensor", T_NONE, 0);
            add_fig("rss_open_ratio", n, scale(stats_of(&d, 1), 1.0 / hdr), "x_header", T_NONE, 0);
        }
        if (pr.malloc_delta > pr.heap_live * 1.25 + 65536)
            note("WARNING: malloc grew by %.0f bytes during open but the hook counted %.0f: "
                 "allocations bypass st_allocator?", pr.malloc_delta, pr.heap_live);

        munmap((void *)(uintptr_t)c.map.p, c.map.len);
        gen_model_free(&m);
    }
}

/* ------------------------------------------------------------ 5b: sparse 8 GB, and the 512 MB file */

static void bench_open_big(const char *path, uint64_t n, const char *tname, const char *rname, int targets)
{
    hctx c;
    stats t;
    probe pr;
    double d;
    memset(&c, 0, sizeof c);
    c.path = path;
    t = measure(run_open_path, &c);
    add_fig(tname, n, scale(t, 1e-3), "us", targets ? T_LT : T_NONE, 1000);
    pr = probe_rss(path);
    d = pr.rss_delta / MB;
    add_fig(rname, n, stats_of(&d, 1), "MB", targets ? T_LT : T_NONE, 4);
}

/* ------------------------------------------------------------ 6: reading tensor bytes */

typedef struct rctx {
    const char *path;
    st_file *f;
    unsigned char *dst;
    const unsigned char *src; /* in-memory copy of the data section */
    uint64_t n;
    int fd; /* the file, for the bare pread loop */
} rctx;

/* The floor for st_tensor_read: the same reads as bare pread calls on a
 * descriptor of the same file (no library involved). */
static double run_read_syscall(void *vp, uint64_t iters)
{
    rctx *c = (rctx *)vp;
    uint64_t t0 = now_ns(), k, i;
    for (k = 0; k < iters; k++)
        for (i = 0; i < c->n; i++) {
            const st_tensor *t = st_tensor_at(c->f, i);
            uint64_t got = 0;
            while (got < t->nbytes) {
                ssize_t r = pread(c->fd, c->dst + got, (size_t)(t->nbytes - got), (off_t)(t->offset + got));
                if (r <= 0) die("pread %s: %s", c->path, r ? strerror(errno) : "short file");
                got += (uint64_t)r;
            }
        }
    sink += c->dst[0];
    return (double)(now_ns() - t0);
}

static double run_read_map_cold(void *vp, uint64_t iters)
{
    rctx *c = (rctx *)vp;
    double total = 0;
    uint64_t k, i;
    for (k = 0; k < iters; k++) {
        st_file *f;
        st_error err;
        uint64_t t0;
        if (st_open_path(&f, c->path, NULL, &err) != ST_OK) die("%s", err.message);
        t0 = now_ns();
        for (i = 0; i < c->n; i++) {
            const st_tensor *t = st_tensor_at(f, i);
            memcpy(c->dst, t->data, (size_t)t->nbytes);
        }
        total += (double)(now_ns() - t0);
        sink += c->dst[0];
        st_close(f);
    }
    return total;
}

static double run_read_map_warm(void *vp, uint64_t iters)
{
    rctx *c = (rctx *)vp;
    uint64_t t0 = now_ns(), k, i;
    for (k = 0; k < iters; k++)
        for (i = 0; i < c->n; i++) {
            const st_tensor *t = st_tensor_at(c->f, i);
            memcpy(c->dst, t->data, (size_t)t->nbytes);
        }
    sink += c->dst[0];
    return (double)(now_ns() - t0);
}

#ifdef BENCH_HAVE_TENSOR_READ
static double run_read_pread(void *vp, uint64_t iters)
{
    rctx *c = (rctx *)vp;
    uint64_t t0 = now_ns(), k, i;
    for (k = 0; k < iters; k++)
        for (i = 0; i < c->n; i++) {
            const st_tensor *t = st_tensor_at(c->f, i);
            st_error err;
            if (st_tensor_read(c->f, t, 0, c->dst, t->nbytes, &err) != ST_OK)
                die("st_tensor_read %s: %s", t->name, err.message);
        }
    sink += c->dst[0];
    return (double)(now_ns() - t0);
}
#endif

static double run_read_memcpy(void *vp, uint64_t iters)
{
    rctx *c = (rctx *)vp;
    uint64_t t0 = now_ns(), k, i;
    for (k = 0; k < iters; k++)
        for (i = 0; i < c->n; i++) {
            const st_tensor *t = st_tensor_at(c->f, i);
            memcpy(c->dst, c->src + t->begin, (size_t)t->nbytes);
        }
    sink += c->dst[0];
    return (double)(now_ns() - t0);
}

static void bench_read(const char *path, const gen_model *m)
{
    rctx c;
    st_error err;
    uint64_t i, maxnb = 0, total;
    unsigned char *src;
    int fd;
    stats t_mem, t, q;
    int nreps = reps;

    memset(&c, 0, sizeof c);
    c.path = path;
    c.n = m->n;
    total = m->data_size;
    for (i = 0; i < m->n; i++)
        if (m->t[i].end - m->t[i].begin > maxnb) maxnb = m->t[i].end - m->t[i].begin;
    c.dst = (unsigned char *)xmalloc((size_t)maxnb);
    memset(c.dst, 0, (size_t)maxnb);
    /* reading the data section into memory also puts the whole file in the page cache */
    src = (unsigned char *)xmalloc((size_t)total);
    fd = open(path, O_RDONLY);
    if (fd < 0) die("%s: %s", path, strerror(errno));
    for (i = 0; i < total;) {
        ssize_t r = pread(fd, src + i, (size_t)(total - i), (off_t)(8 + m->header_len + i));
        if (r <= 0) die("read %s: %s", path, r ? strerror(errno) : "short file");
        i += (uint64_t)r;
    }
    close(fd);
    c.src = src;
    if (st_open_path(&c.f, path, NULL, &err) != ST_OK) die("%s", err.message);
    if (st_tensor_count(c.f) != m->n) die("%s: tensor count", path);

    /* each way of reading runs in alternation with the memcpy ceiling */
    measure_pair(run_read_memcpy, &c, run_read_map_cold, &c, 0, &t_mem, &t, &q);
    add_fig("read_memcpy", m->n, rate_of(t_mem, (double)total), "GB/s", T_NONE, 0);
    add_fig("read_map", m->n, rate_of(t, (double)total), "GB/s", T_NONE, 0);
    add_fig("read_map_ratio", m->n, q, "x_memcpy", T_NONE, 0);
    t = measure_n(run_read_map_warm, &c, nreps, 0);
    add_fig("read_map_warm", m->n, rate_of(t, (double)total), "GB/s", T_NONE, 0);
#ifdef BENCH_HAVE_TENSOR_READ
    measure_pair(run_read_memcpy, &c, run_read_pread, &c, 0, &t_mem, &t, &q);
    add_fig("read_pread", m->n, rate_of(t, (double)total), "GB/s", T_NONE, 0);
    add_fig("read_pread_ratio", m->n, q, "x_memcpy", T_GE, 0.8);
    /* how much of the gap is the kernel's: bare pread calls against memcpy, and
     * st_tensor_read against them */
    c.fd = open(path, O_RDONLY);
    if (c.fd < 0) die("%s: %s", path, strerror(errno));
    measure_pair(run_read_memcpy, &c, run_read_syscall, &c, 0, &t_mem, &t, &q);
    add_fig("read_syscall", m->n, rate_of(t, (double)total), "GB/s", T_NONE, 0);
    add_fig("read_syscall_ratio", m->n, q, "x_memcpy", T_NONE, 0);
    measure_pair(run_read_syscall, &c, run_read_pread, &c, 0, &t_mem, &t, &q);
    add_fig("read_pread_vs_syscall", m->n, q, "x", T_NONE, 0);
    close(c.fd);
    /* a check that it copies the right bytes */
    {
        const st_tensor *tt = st_tensor_at(c.f, m->n / 2);
        if (st_tensor_read(c.f, tt, 0, c.dst, tt->nbytes, &err) != ST_OK ||
            memcmp(c.dst, src + tt->begin, (size_t)tt->nbytes) != 0)
            die("st_tensor_read returned different bytes");
    }
#else
    add_na("read_pread", m->n, "GB/s", T_NONE, 0);
    add_na("read_pread_ratio", m->n, "x_memcpy", T_GE, 0.8);
    note("st_tensor_read is not in the library yet: read_pread is n/a");
#endif
    st_close(c.f);
    free(src);
    free(c.dst);
}

/* ------------------------------------------------------------ 7: conversion */

typedef struct cctx {
    int dtype;
    const void *src;
    float *dst;
    size_t count;
    const unsigned char *msrc; /* for the memcpy reference: count * 4 bytes */
} cctx;

static double run_memcpy_out(void *vp, uint64_t iters)
{
    cctx *c = (cctx *)vp;
    uint64_t t0 = now_ns(), k;
    for (k = 0; k < iters; k++) memcpy(c->dst, c->msrc, c->count * 4);
    sink += (uint64_t)c->dst[1];
    return (double)(now_ns() - t0);
}

#ifdef BENCH_HAVE_CONVERT
static double run_convert(void *vp, uint64_t iters)
{
    cctx *c = (cctx *)vp;
    uint64_t t0 = now_ns(), k;
    for (k = 0; k < iters; k++)
        if (st_convert_to_f32(c->dtype, c->src, 0, c->count, c->dst) != ST_OK) die("st_convert_to_f32 failed");
    sink += (uint64_t)c->dst[1];
    return (double)(now_ns() - t0);
}
#endif

static void bench_convert(void)
{
    static const struct {
        int gen;
        int st;
        const char *name, *rname;
    } conv[3] = {
        {GEN_BF16, ST_BF16, "conv_bf16", "conv_bf16_ratio"},
        {GEN_F16, ST_F16, "conv_f16", "conv_f16_ratio"},
        {GEN_F8_E4M3, ST_F8_E4M3, "conv_f8_e4m3", "conv_f8_e4m3_ratio"},
    };
    cctx c;
    size_t out = CONV_ELEMS * 4, i;
    unsigned char *msrc = (unsigned char *)xmalloc(out);
    memset(&c, 0, sizeof c);
    c.dst = (float *)xmalloc(out);
    memset(c.dst, 0, out);
    gen_fill(GEN_F32, msrc, out, 7);
    c.msrc = msrc;
    c.count = CONV_ELEMS;
    for (i = 0; i < 3; i++) {
#ifdef BENCH_HAVE_CONVERT
        size_t esz = gen_dtypes[conv[i].gen].bits / 8, in = CONV_ELEMS * esz, k;
        unsigned char *src = (unsigned char *)xmalloc(in);
        stats t_mem, t, q;
        const size_t blk = (size_t)1 << 20;
        gen_fill(conv[i].gen, src, blk, 3);
        for (k = blk; k < in; k += blk) memcpy(src + k, src, in - k < blk ? in - k : blk);
        c.dtype = conv[i].st;
        c.src = src;
        measure_pair(run_memcpy_out, &c, run_convert, &c, 0, &t_mem, &t, &q);
        if (i == 0) add_fig("memcpy_out", CONV_ELEMS, rate_of(t_mem, (double)out), "GB/s", T_NONE, 0);
        add_fig(conv[i].name, CONV_ELEMS, rate_of(t, (double)out), "GB/s", T_NONE, 0);
        add_fig(conv[i].rname, CONV_ELEMS, q, "x_memcpy", T_GE, 0.5);
        if (conv[i].gen == GEN_BF16) { /* a check: BF16 is the top half of a float */
            uint32_t u = ((uint32_t)src[3] << 24) | ((uint32_t)src[2] << 16);
            float want;
            memcpy(&want, &u, 4);
            if (memcmp(&want, &c.dst[1], 4) != 0) die("st_convert_to_f32(BF16) gave a wrong value");
        }
        free(src);
#else
        if (i == 0) {
            stats t_mem = measure_n(run_memcpy_out, &c, reps, 0);
            add_fig("memcpy_out", CONV_ELEMS, rate_of(t_mem, (double)out), "GB/s", T_NONE, 0);
        }
        add_na(conv[i].name, CONV_ELEMS, "GB/s", T_NONE, 0);
        add_na(conv[i].rname, CONV_ELEMS, "x_memcpy", T_GE, 0.5);
#endif
    }
#ifndef BENCH_HAVE_CONVERT
    note("st_convert_to_f32 is not in the library yet: conversion figures are n/a");
#endif
    free(msrc);
    free(c.dst);
}

/* ------------------------------------------------------------ slices and the reader */

#define SLICE_N 4096 /* a 4096 x 4096 BF16 matrix: 32 MiB */

typedef struct slctx {
    st_file *f;
    const st_tensor *t;
    const unsigned char *src; /* the tensor's bytes */
    unsigned char *dst;
    uint64_t start[2], stop[2], bytes;
    int reader; /* 1: st_tensor_read_slice, else st_tensor_copy_slice */
} slctx;

static double run_slice(void *vp, uint64_t iters)
{
    slctx *c = (slctx *)vp;
    uint64_t t0 = now_ns(), k;
    st_error err;
    for (k = 0; k < iters; k++) {
        st_status s = c->reader ? st_tensor_read_slice(c->f, c->t, 2, c->start, c->stop, c->dst,
                                                       c->bytes, &err)
                                : st_tensor_copy_slice(c->t, 2, c->start, c->stop, c->dst, c->bytes,
                                                       &err);
        if (s != ST_OK) die("slice: %s", err.message);
    }
    sink += c->dst[c->bytes - 1];
    return (double)(now_ns() - t0);
}

/* the plain copy of the same number of bytes, from the same matrix */
static double run_slice_memcpy(void *vp, uint64_t iters)
{
    slctx *c = (slctx *)vp;
    uint64_t t0 = now_ns(), k;
    for (k = 0; k < iters; k++) memcpy(c->dst, c->src + SLICE_N * 2 * 1024, (size_t)c->bytes);
    sink += c->dst[c->bytes - 1];
    return (double)(now_ns() - t0);
}

/* the same column runs copied by a hand-written loop: the floor of the
 * strided access itself */
static double run_cols_loop(void *vp, uint64_t iters)
{
    slctx *c = (slctx *)vp;
    uint64_t t0 = now_ns(), k, i;
    for (k = 0; k < iters; k++)
        for (i = 0; i < SLICE_N; i++)
            memcpy(c->dst + i * 4096, c->src + i * SLICE_N * 2 + 1024 * 2, 4096);
    sink += c->dst[c->bytes - 1];
    return (double)(now_ns() - t0);
}

typedef struct memrd {
    const unsigned char *b;
    uint64_t blen; /* bytes held at b; the rest of the file reads as zeros */
    uint64_t header_end, reads, bytes, data_bytes;
} memrd;

/* A reader over memory that counts calls, bytes, and bytes of the data section. */
static int memrd_read(void *ctx, uint64_t off, void *dst, size_t size)
{
    memrd *r = (memrd *)ctx;
    size_t have = off >= r->blen ? 0 : r->blen - off < size ? (size_t)(r->blen - off) : size;
    r->reads++;
    r->bytes += size;
    if (off + size > r->header_end)
        r->data_bytes += off + size - (off > r->header_end ? off : r->header_end);
    if (have) memcpy(dst, r->b + off, have);
    memset((unsigned char *)dst + have, 0, size - have);
    return 0;
}

static void bench_slice(void)
{
    char hdr[256];
    size_t hl, n;
    unsigned char *file;
    slctx c;
    stats ta, tb, q;
    st_error err;
    memrd r;
    st_reader rd = ST_READER_INIT;
    const double bytes = (double)SLICE_N * 2 * (SLICE_N / 2); /* half the matrix: 16 MiB */

    hl = (size_t)snprintf(hdr, sizeof hdr,
                          "{\"w\":{\"dtype\":\"BF16\",\"shape\":[%d,%d],\"data_offsets\":[0,%d]}}",
                          SLICE_N, SLICE_N, SLICE_N * SLICE_N * 2);
    while (hl % 8) hdr[hl++] = ' ';
    n = 8 + hl + (size_t)SLICE_N * SLICE_N * 2;
    file = (unsigned char *)xmalloc(n);
    for (size_t i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(file + 8, hdr, hl);
    gen_fill(GEN_BF16, file + 8 + hl, n - 8 - hl, 11);
    memset(&c, 0, sizeof c);
    if (st_open_memory(&c.f, file, n, NULL, &err) != ST_OK) die("slice matrix: %s", err.message);
    c.t = st_tensor_find(c.f, "w");
    c.src = (const unsigned char *)c.t->data;
    c.bytes = (uint64_t)bytes;
    c.dst = (unsigned char *)xmalloc((size_t)c.bytes);
    memset(c.dst, 0, (size_t)c.bytes);

    /* rows [1024, 3072): one copy of 16 MiB */
    c.start[0] = 1024; c.stop[0] = 3072; c.start[1] = 0; c.stop[1] = SLICE_N;
    measure_pair(run_slice_memcpy, &c, run_slice, &c, 0, &ta, &tb, &q);
    add_fig("slice_memcpy", 1, rate_of(ta, bytes), "GB/s", T_NONE, 0);
    add_fig("slice_rows", 1, rate_of(tb, bytes), "GB/s", T_NONE, 0);
    /* q = time(memcpy) / time(slice): the slice's speed as a fraction of memcpy's */
    add_fig("slice_rows_ratio", 1, q, "x_memcpy", T_GE, 0.8);
    /* columns [1024, 3072) of every row: 4096 copies of 4 KiB */
    c.start[0] = 0; c.stop[0] = SLICE_N; c.start[1] = 1024; c.stop[1] = 3072;
    measure_pair(run_slice_memcpy, &c, run_slice, &c, 0, &ta, &tb, &q);
    add_fig("slice_cols", 1, rate_of(tb, bytes), "GB/s", T_NONE, 0);
    add_fig("slice_cols_ratio", 1, q, "x_memcpy", T_GE, 0.5);
    measure_pair(run_cols_loop, &c, run_slice, &c, 0, &ta, &tb, &q);
    add_fig("slice_cols_loop", 1, rate_of(ta, bytes), "GB/s", T_NONE, 0);
    add_fig("slice_cols_vs_loop", 1, q, "x_loop", T_NONE, 0);
    /* the same column slice through a reader (memcpy behind it): merged reads
     * of up to 8 MiB into a bounce buffer, then copied out */
    memset(&r, 0, sizeof r);
    r.b = file;
    r.blen = n;
    r.header_end = 8 + hl;
    rd.read = memrd_read;
    rd.ctx = &r;
    rd.flags = ST_READER_THREAD_SAFE;
    {
        st_file *fr = NULL;
        slctx cr = c;
        if (st_open_reader(&fr, &rd, n, NULL, &err) != ST_OK) die("reader: %s", err.message);
        cr.f = fr;
        cr.t = st_tensor_find(fr, "w");
        cr.reader = 1;
        measure_pair(run_slice_memcpy, &c, run_slice, &cr, 0, &ta, &tb, &q);
        add_fig("slice_cols_reader", 1, rate_of(tb, bytes), "GB/s", T_NONE, 0);
        r.reads = r.bytes = 0;
        run_slice(&cr, 1);
        add_fig("slice_cols_reader_reads", 1, (stats){(double)r.reads, (double)r.reads,
                                                       (double)r.reads, 1}, "reads", T_NONE, 0);
        st_close(fr);
    }
    st_close(c.f);
    free(c.dst);
    free(file);

    /* listing a 1,000-tensor file through the reader: the prefix and the
     * header, no byte of the data section */
    {
        gen_model m;
        unsigned char *head;
        st_file *fl = NULL;
        if (gen_model_build(&m, 1000, (uint64_t)1 << 30, HEADER_META)) die("1000-tensor model");
        head = (unsigned char *)xmalloc(8 + m.header_len);
        for (size_t i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)m.header_len >> (8 * i));
        memcpy(head + 8, m.header, m.header_len);
        memset(&r, 0, sizeof r);
        r.b = head; /* the data section (never written) reads as zeros, counted */
        r.blen = 8 + m.header_len;
        r.header_end = 8 + m.header_len;
        rd.ctx = &r;
        if (st_open_reader(&fl, &rd, m.file_size, NULL, &err) != ST_OK)
            die("1000-tensor listing: %s", err.message);
        if (st_tensor_count(fl) != 1000) die("1000-tensor listing: %llu tensors",
                                             (unsigned long long)st_tensor_count(fl));
        note("list1000: %llu reads, %llu bytes (header %zu bytes, file %.2f GB), %llu data bytes",
             (unsigned long long)r.reads, (unsigned long long)r.bytes, m.header_len,
             (double)m.file_size / GB, (unsigned long long)r.data_bytes);
        add_fig("list1000_reads", 1000, (stats){(double)r.reads, (double)r.reads, (double)r.reads, 1},
                "reads", T_LE, 2);
        add_fig("list1000_bytes", 1000, (stats){(double)r.bytes, (double)r.bytes, (double)r.bytes, 1},
                "bytes", T_NONE, 0);
        add_fig("list1000_data_bytes", 1000,
                (stats){(double)r.data_bytes, (double)r.data_bytes, (double)r.data_bytes, 1}, "bytes",
                T_LE, 0);
        st_close(fl);
        free(head);
        gen_model_free(&m);
    }
}

/* ------------------------------------------------------------ main */

static int profile_main(const char *path, uint64_t k)
{
    mapped m = map_file(path, 0);
    uint64_t i, t0, n = 0;
    for (i = 0; i < 8 && i < m.len; i++) n |= (uint64_t)m.p[i] << (8 * i);
    for (i = 0; i < 8 + n && i < m.len; i += 4096) sink += m.p[i]; /* fault the header in */
    t0 = now_ns();
    for (i = 0; i < k; i++) {
        st_file *f;
        st_error err;
        if (st_open_memory(&f, m.p, m.len, NULL, &err) != ST_OK) die("%s: %s", path, err.message);
        sink += st_tensor_count(f);
        st_close(f);
    }
    printf("%llu opens of %s: %.3f ms each\n", (unsigned long long)k, path,
           (double)(now_ns() - t0) / 1e6 / (double)k);
    return 0;
}

/* ------------------------------------------------------------ writing */

#define WRITE_TENSORS 64
#define WRITE_TENSOR_BYTES ((size_t)4 << 20) /* 64 x 4 MiB = 256 MiB of data */
#define STREAM_TENSORS 20000
#define STREAM_TENSOR_BYTES 8192 /* data about 100x the header */

typedef struct wctx {
    const char *path;
    st_tensor_spec *specs;
    uint64_t n;
    unsigned char *head; /* the file's header bytes (prefix included), for the plain write */
    size_t head_len;
} wctx;

/* The same bytes with plain write(2) calls in order: the floor. */
static double run_write_plain(void *vp, uint64_t iters)
{
    wctx *c = (wctx *)vp;
    uint64_t t0 = now_ns(), it, i;
    for (it = 0; it < iters; it++) {
        int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, c->head, c->head_len) != (ssize_t)c->head_len) die("plain write");
        for (i = 0; i < c->n; i++)
            if (write(fd, c->specs[i].data, WRITE_TENSOR_BYTES) != (ssize_t)WRITE_TENSOR_BYTES)
                die("plain write");
        if (close(fd)) die("plain write");
    }
    return (double)(now_ns() - t0);
}

/* st_write_file without fsync, as the plain write: temporary file, pwrites, rename. */
static double run_write_lib(void *vp, uint64_t iters)
{
    wctx *c = (wctx *)vp;
    st_write_options o = ST_WRITE_OPTIONS_INIT;
    st_error err;
    uint64_t t0 = now_ns(), it;
    o.flags = ST_WRITE_NO_SYNC;
    for (it = 0; it < iters; it++)
        if (st_write_file(c->path, c->specs, c->n, NULL, 0, &o, &err) != ST_OK)
            die("st_write_file: %s", err.message);
    return (double)(now_ns() - t0);
}

static void bench_write(const char *dir)
{
    static const uint64_t shape[] = {WRITE_TENSOR_BYTES / 2};
    static const uint64_t sshape[] = {STREAM_TENSOR_BYTES / 4};
    char path[4096], (*names)[48];
    wctx c;
    stats ta, tb, q;
    st_error err;
    uint64_t size, i;
    unsigned char *data, *buf;
    counter cnt;
    st_allocator a;
    st_write_options o = ST_WRITE_OPTIONS_INIT;
    st_writer *w = NULL;
    int saved_reps = reps;

    /* throughput: 256 MiB in 64 BF16 tensors, against plain write(2) */
    memset(&c, 0, sizeof c);
    snprintf(path, sizeof path, "%s/write_256m.safetensors", dir);
    c.path = path;
    c.n = WRITE_TENSORS;
    c.specs = (st_tensor_spec *)xmalloc(WRITE_TENSORS * sizeof *c.specs);
    names = (char (*)[48])xmalloc(STREAM_TENSORS * sizeof *names);
    data = (unsigned char *)xmalloc(WRITE_TENSORS * WRITE_TENSOR_BYTES);
    gen_fill(GEN_BF16, data, WRITE_TENSORS * WRITE_TENSOR_BYTES, 5);
    for (i = 0; i < WRITE_TENSORS; i++) {
        snprintf(names[i], sizeof names[i], "model.layers.%u.mlp.up_proj.weight", (unsigned)i);
        c.specs[i].name = names[i];
        c.specs[i].name_len = strlen(names[i]);
        c.specs[i].dtype = ST_BF16;
        c.specs[i].rank = 1;
        c.specs[i].shape = shape;
        c.specs[i].data = data + i * WRITE_TENSOR_BYTES;
    }
    /* the header as the writer lays it out; keep-order so the plain write's
     * data order is the file's */
    o.flags = ST_WRITE_KEEP_ORDER;
    if (st_write_memory(NULL, 0, &size, c.specs, c.n, NULL, 0, &o, &err) != ST_OK)
        die("st_write_memory: %s", err.message);
    c.head_len = (size_t)(size - WRITE_TENSORS * WRITE_TENSOR_BYTES);
    buf = (unsigned char *)xmalloc((size_t)size);
    if (st_write_memory(buf, size, &size, c.specs, c.n, NULL, 0, &o, &err) != ST_OK)
        die("st_write_memory: %s", err.message);
    c.head = buf;
    reps = reps > 7 ? 7 : reps; /* each run writes 256 MiB */
    measure_pair(run_write_plain, &c, run_write_lib, &c, 0, &ta, &tb, &q);
    reps = saved_reps;
    add_fig("write_plain", WRITE_TENSORS, rate_of(ta, (double)size), "GB/s", T_NONE, 0);
    add_fig("write_file", WRITE_TENSORS, rate_of(tb, (double)size), "GB/s", T_NONE, 0);
    /* q = time(plain) / time(writer) */
    add_fig("write_file_ratio", WRITE_TENSORS, q, "x_plain", T_GE, 0.8);
    unlink(path);
    free(buf);
    free(data);
    free(c.specs);

    /* memory of a streaming write: 20,000 tensors, data about 100x the header,
     * every allocation counted through the hook */
    c.specs = (st_tensor_spec *)xmalloc(STREAM_TENSORS * sizeof *c.specs);
    data = (unsigned char *)xmalloc(STREAM_TENSOR_BYTES);
    gen_fill(GEN_F32, data, STREAM_TENSOR_BYTES, 9);
    for (i = 0; i < STREAM_TENSORS; i++) {
        snprintf(names[i], sizeof names[i], "model.layers.%u.self_attn.q_proj.weight", (unsigned)i);
        c.specs[i].name = names[i];
        c.specs[i].name_len = strlen(names[i]);
        c.specs[i].dtype = ST_F32;
        c.specs[i].rank = 1;
        c.specs[i].shape = sshape;
        c.specs[i].data = NULL;
    }
    memset(&cnt, 0, sizeof cnt);
    a.malloc_fn = cnt_malloc;
    a.realloc_fn = cnt_realloc;
    a.free_fn = cnt_free;
    a.ctx = &cnt;
    o.flags = ST_WRITE_NO_SYNC;
    o.allocator = &a;
    snprintf(path, sizeof path, "%s/write_stream.safetensors", dir);
    if (st_writer_begin_path(&w, path, c.specs, STREAM_TENSORS, NULL, 0, &o, &err) != ST_OK)
        die("st_writer_begin_path: %s", err.message);
    size = st_writer_file_size(w);
    c.head_len = (size_t)st_writer_tensor_offset(w, 0); /* 8 + N */
    for (i = 0; i < STREAM_TENSORS; i++) /* each tensor in two pieces, the second first */
        if (st_writer_write(w, i, STREAM_TENSOR_BYTES / 2, data, STREAM_TENSOR_BYTES / 2, &err) != ST_OK ||
            st_writer_write(w, i, 0, data, STREAM_TENSOR_BYTES / 2, &err) != ST_OK)
            die("st_writer_write: %s", err.message);
    if (st_writer_finish(w, &err) != ST_OK) die("st_writer_finish: %s", err.message);
    note("write: streaming %u tensors, header %zu bytes, file %.1f MB (%.0fx the header), "
         "peak %zu bytes allocated", (unsigned)STREAM_TENSORS, c.head_len, (double)size / MB,
         (double)size / (double)c.head_len, cnt.peak);
    {
        stats s;
        s.med = s.lo = s.hi = (double)cnt.peak / (double)c.head_len;
        s.n = 1;
        add_fig("write_stream_peak", STREAM_TENSORS, s, "x_header", T_LT, 2.0);
    }
    unlink(path);
    free(data);
    free(c.specs);
    free(names);
}

/* ------------------------------------------------------------ cold: one operation per fresh process */

/* The cold figures: the bench runs itself again (self_exe) with --cold-run,
 * and that fresh process does one operation (as a CLI, an engine's start or a
 * scanner does) and reports what it cost. Nothing runs in it before the
 * operation that could warm the allocator: /proc is read with open/read into
 * the stack, no stdio, no malloc. */

static int cold_runs = 11; /* --cold-runs: fresh processes per cold figure */

/* The value of a "Key:   123 kB" line of /proc/self/status, in bytes; -1 if absent. */
static long long status_bytes(const char *key)
{
    char b[8192];
    ssize_t n, got = 0;
    size_t klen = strlen(key);
    const char *p;
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return -1;
    while (got < (ssize_t)sizeof b - 1 && (n = read(fd, b + got, sizeof b - 1 - (size_t)got)) > 0) got += n;
    close(fd);
    b[got > 0 ? got : 0] = 0;
    for (p = b; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (!strncmp(p, key, klen)) return strtoll(p + klen, NULL, 10) * 1024;
    return -1;
}

/* Resets VmHWM to the current resident set (Linux 4.0+), so that VmHWM after the
 * operation is the peak during it. 0 if done. */
static int reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY), ok;
    if (fd < 0) return -1;
    ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static uint64_t proc_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* bench --cold-run KIND PATH...: one operation, then one line
 * "COLD wall_ns cpu_ns minflt majflt base hwm peak x0 x1 x2 x3" (bytes for
 * base, hwm and peak), or "ERR message" and exit status 3. peak is the
 * process's own high-water mark (VmHWM), not ru_maxrss: Linux carries
 * ru_maxrss over execve, so after a vfork-style spawn it would report the
 * parent's resident set.
 *   open PATH     st_open_path                      x0 = tensors
 *   index PATH    st_model_open, the index only     x0 = tensors, x1 = shards
 *   model PATH    st_model_open, ST_MODEL_VALIDATE_ALL (x0, x1 as index)
 *   seq PATH...   st_open_path + st_close of each file in turn: x0 = the first
 *                 file's minor faults, x1 = the mean of the others', x2 = their
 *                 largest, x3 = the first file's ns */
static int cold_run_main(int argc, char **argv)
{
    const char *kind = argv[0];
    struct rusage u0, u1;
    uint64_t w0, w1, c0, c1;
    long long base, hwm, hwm0;
    double x[4] = {0, 0, 0, 0};
    st_error err;
    st_status s = ST_OK;
    st_file *f = NULL;
    st_model *mdl = NULL;
    int k, hwm_reset;

    if (argc < 2) die("--cold-run KIND PATH...");
    hwm0 = status_bytes("VmHWM:"); /* the peak since exec, before the reset */
    hwm_reset = reset_hwm() == 0;
    base = status_bytes(hwm_reset ? "VmRSS:" : "VmHWM:");
    getrusage(RUSAGE_SELF, &u0);
    c0 = proc_cpu_ns();
    w0 = wall_ns();
    if (!strcmp(kind, "open")) {
        s = st_open_path(&f, argv[1], NULL, &err);
    } else if (!strcmp(kind, "index") || !strcmp(kind, "model")) {
        st_model_options mo = ST_MODEL_OPTIONS_INIT;
        if (kind[0] == 'm') mo.flags = ST_MODEL_VALIDATE_ALL;
        s = st_model_open(&mdl, argv[1], &mo, &err);
    } else if (!strcmp(kind, "seq")) {
        double sum = 0, mx = 0;
        for (k = 1; k < argc && s == ST_OK; k++) {
            struct rusage a, b;
            uint64_t t0 = wall_ns();
            double flt;
            getrusage(RUSAGE_SELF, &a);
            s = st_open_path(&f, argv[k], NULL, &err);
            st_close(f);
            f = NULL;
            getrusage(RUSAGE_SELF, &b);
            flt = (double)(b.ru_minflt - a.ru_minflt);
            if (k == 1) {
                x[0] = flt;
                x[3] = (double)(wall_ns() - t0);
            } else {
                sum += flt;
                if (flt > mx) mx = flt;
            }
        }
        x[1] = argc > 2 ? sum / (argc - 2) : 0;
        x[2] = mx;
    } else {
        die("--cold-run: unknown kind %s", kind);
    }
    w1 = wall_ns();
    c1 = proc_cpu_ns();
    getrusage(RUSAGE_SELF, &u1);
    hwm = status_bytes("VmHWM:");
    if (s != ST_OK) {
        printf("ERR %s\n", err.message);
        return 3;
    }
    if (f) x[0] = (double)st_tensor_count(f);
    if (mdl) {
        x[0] = (double)st_model_tensor_count(mdl);
        x[1] = (double)st_model_shard_count(mdl);
    }
    printf("COLD %llu %llu %ld %ld %lld %lld %lld %.17g %.17g %.17g %.17g\n", (unsigned long long)(w1 - w0),
           (unsigned long long)(c1 - c0), u1.ru_minflt - u0.ru_minflt, u1.ru_majflt - u0.ru_majflt, base, hwm,
           hwm0 > hwm ? hwm0 : hwm, x[0], x[1], x[2], x[3]);
    st_close(f);
    st_model_close(mdl);
    return 0;
}

typedef struct cold_res {
    double ns;        /* the operation: wall-clock, or CPU time with --cpu-time */
    double minflt, majflt;
    double peak;      /* bytes: the resident set's peak during the operation, above where it started */
    double proc_peak; /* bytes: the process's peak resident set (VmHWM), mapped header pages included */
    double proc_ns;   /* the whole process, spawn to exit (wall-clock) */
    double x[4];
    int ok;
    char err[256];
} cold_res;

/* One fresh process: bench --cold-run KIND PATHS... Started with posix_spawn
 * (glibc: clone with CLONE_VM | CLONE_VFORK), not fork: after a fork the
 * parent's pages stay write-protected for copy-on-write, and the warm run that
 * follows would pay a fault on every page it writes. */
static cold_res cold_exec(char *kind, char **paths, int npaths)
{
    cold_res cr;
    char **args = (char **)xmalloc((size_t)(npaths + 5) * sizeof *args);
    char out[1024];
    int fds[2], st, i, e, a = 0;
    ssize_t got = 0, r;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    uint64_t t0;
    unsigned long long wall, cpu;
    long long base, hwm, maxrss;
    long minflt, majflt;

    memset(&cr, 0, sizeof cr);
    args[a++] = "bench";
    if (bench_clock != CLOCK_MONOTONIC) args[a++] = "--cpu-time";
    args[a++] = "--cold-run";
    args[a++] = kind;
    for (i = 0; i < npaths; i++) args[a++] = paths[i];
    args[a] = NULL;
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds)) die("pipe: %s", strerror(errno));
    if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_adddup2(&fa, fds[1], 1) ||
        posix_spawn_file_actions_addclose(&fa, fds[0]) || posix_spawn_file_actions_addclose(&fa, fds[1]))
        die("posix_spawn_file_actions failed");
    t0 = wall_ns();
    e = posix_spawn(&pid, self_exe, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) die("posix_spawn %s: %s", self_exe, strerror(e));
    free(args);
    close(fds[1]);
    while ((r = read(fds[0], out + got, sizeof out - 1 - (size_t)got)) > 0) got += r;
    close(fds[0]);
    out[got > 0 ? got : 0] = 0;
    waitpid(pid, &st, 0);
    cr.proc_ns = (double)(wall_ns() - t0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3 && !strncmp(out, "ERR ", 4)) {
        out[strcspn(out, "\n")] = 0;
        snprintf(cr.err, sizeof cr.err, "%.200s", out + 4);
        return cr;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        sscanf(out, "COLD %llu %llu %ld %ld %lld %lld %lld %lg %lg %lg %lg", &wall, &cpu, &minflt, &majflt, &base,
               &hwm, &maxrss, &cr.x[0], &cr.x[1], &cr.x[2], &cr.x[3]) != 11)
        die("cold run (%s %s) failed: %s", kind, npaths ? paths[0] : "", out);
    cr.ns = (double)(bench_clock == CLOCK_MONOTONIC ? wall : cpu);
    cr.minflt = (double)minflt;
    cr.majflt = (double)majflt;
    cr.peak = (double)(hwm - base);
    cr.proc_peak = (double)maxrss;
    cr.ok = 1;
    return cr;
}

static void add_missing(const char *name, uint64_t tensors, const char *unit, int op, double target)
{
    stats s = {0, 0, 0, 0};
    add_fig(name, tensors, s, unit, op, target);
    figs[nfigs - 1].avail = 0;
    figs[nfigs - 1].status = op == T_NONE ? "NA" : "MISS";
}

/* a file generated once and kept while it still holds what would be written */
static void ensure_sparse(const char *path, const char *header, size_t len, uint64_t file_size)
{
    if (gen_sparse_matches(path, header, len, file_size)) return;
    if (gen_write_sparse(path, header, len, file_size)) die("cannot write %s", path);
}

/* ------------------------------------------------------------ cold 1: one open of 1k, 10k, 100k tensors */

static void bench_cold(const char *dir)
{
    static const size_t sizes[] = {1000, 10000, 100000};
    size_t si;
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        gen_model m;
        char path[4096], *pp = path;
        double cold[64], warm[64], q[64], peak[64], proc[64], flt[64], whole[64], hdr;
        int r, nr = cold_runs;
        if (gen_model_build(&m, n, HEADER_BUDGET, HEADER_META)) die("cannot build the %zu-tensor model", n);
        snprintf(path, sizeof path, "%s/hdr_%zu.safetensors", dir, n);
        ensure_sparse(path, m.header, m.header_len, m.file_size);
        hdr = (double)m.header_len;
        /* each cold process paired with a warm loop of the same open, in a fresh
         * process too (see warm_run_main) */
        for (r = 0; r < nr; r++) {
            cold_res cr = cold_exec("open", &pp, 1), wr;
            if (!cr.ok) die("%s: %s", path, cr.err);
            if ((size_t)cr.x[0] != n) die("%s: %g tensors", path, cr.x[0]);
            wr = cold_exec("warm-open", &pp, 1);
            if (!wr.ok) die("%s: %s", path, wr.err);
            cold[r] = cr.ns;
            warm[r] = wr.ns;
            q[r] = cold[r] / warm[r];
            peak[r] = cr.peak;
            proc[r] = cr.proc_peak;
            flt[r] = cr.minflt;
            whole[r] = cr.proc_ns;
        }
        fig_cold = 1;
        add_fig("cold_open", n, scale(stats_of(cold, nr), 1e-6), "ms", T_NONE, 0);
        add_fig("cold_open_process", n, scale(stats_of(whole, nr), 1e-6), "ms", T_NONE, 0);
        add_fig("cold_open_vs_warm", n, stats_of(q, nr), "x_warm", n >= 100000 ? T_LE : T_NONE, 1.5);
        add_fig("cold_open_faults", n, stats_of(flt, nr), "faults", T_NONE, 0);
        add_fig("cold_open_peak", n, scale(stats_of(peak, nr), 1.0 / MB), "MB", T_NONE, 0);
        add_fig("cold_proc_peak", n, scale(stats_of(proc, nr), 1.0 / MB), "MB", T_NONE, 0);
        add_fig("cold_proc_peak_ratio", n, scale(stats_of(proc, nr), 1.0 / hdr), "x_header",
                n >= 100000 ? T_LE : T_NONE, 2.5);
        fig_cold = 0;
        add_fig("warm_open", n, scale(stats_of(warm, nr), 1e-6), "ms", T_NONE, 0);
        gen_model_free(&m);
    }
}

/* ------------------------------------------------------------ cold 2: a DeepSeek-V3-like sharded model */

typedef struct mctx {
    char *index;   /* the index file */
    char **shards; /* the shard files */
    size_t nshards;
} mctx;

/* st_model_open of the index alone (st_model_close not timed) */
static double run_model_index(void *vp, uint64_t iters)
{
    mctx *c = (mctx *)vp;
    double total = 0;
    uint64_t k;
    for (k = 0; k < iters; k++) {
        st_model *mdl;
        st_error err;
        uint64_t t0 = now_ns();
        st_status s = st_model_open(&mdl, c->index, NULL, &err);
        total += (double)(now_ns() - t0);
        if (s != ST_OK) die("st_model_open %s: %s", c->index, err.message);
        st_model_close(mdl);
    }
    return total;
}

/* st_open_path of every shard in turn (st_close not timed): one pass per iteration */
static double run_shards_pass(void *vp, uint64_t iters)
{
    mctx *c = (mctx *)vp;
    double total = 0;
    uint64_t k;
    size_t i;
    for (k = 0; k < iters; k++)
        for (i = 0; i < c->nshards; i++) {
            st_file *f;
            st_error err;
            uint64_t t0 = now_ns();
            st_status s = st_open_path(&f, c->shards[i], NULL, &err);
            total += (double)(now_ns() - t0);
            if (s != ST_OK) die("st_open_path %s: %s", c->shards[i], err.message);
            st_close(f);
        }
    return total;
}

/* the sum of the warm opens of the index and of every shard */
static double run_model_sum(void *vp, uint64_t iters)
{
    return run_model_index(vp, iters) + run_shards_pass(vp, iters);
}

static void bench_sharded(const char *dir)
{
    gen_sharded g;
    mctx c;
    char mdir[4096], index[4200], name[64], **wargs;
    unsigned written;
    uint64_t t0 = wall_ns();
    size_t i, nt;
    double cold[64], warm[64], q[64], peak[64], flt[64], first[64], rest[64], ratio[64], total[64], whole[64],
        rmax[64], widx[64], wsh[64];
    double idx_len, hdr_total;
    stats t;
    int r, nr = cold_runs;
    char *ip = index;

    if (gen_sharded_build(&g)) die("cannot build the sharded model");
    snprintf(mdir, sizeof mdir, "%s/dsv3", dir);
    if (gen_sharded_write(&g, mdir, &written)) die("cannot write the sharded model");
    nt = g.n;
    idx_len = (double)g.index_len;
    hdr_total = (double)g.headers_total;
    note("sharded: %zu tensors in %zu shards, %.2f MB of shard headers, index %.2f MB, total_size %.1f GB "
         "(holes); %s %u files in %.1f s",
         g.n, g.nshards, hdr_total / MB, idx_len / MB, (double)g.total_size / GB,
         written ? "wrote" : "reused all, wrote", written, (double)(wall_ns() - t0) / 1e9);
    snprintf(index, sizeof index, "%s/%s", mdir, GEN_DSV3_INDEX);
    c.index = index;
    c.nshards = g.nshards;
    c.shards = (char **)xmalloc(g.nshards * sizeof *c.shards);
    for (i = 0; i < g.nshards; i++) {
        gen_shard_name(name, sizeof name, i, g.nshards);
        c.shards[i] = (char *)xmalloc(strlen(mdir) + strlen(name) + 2);
        sprintf(c.shards[i], "%s/%s", mdir, name);
    }
    /* the library sees what was written */
    {
        st_model *mdl;
        st_error err;
        st_model_options mo = ST_MODEL_OPTIONS_INIT;
        const st_metadata_entry *ts;
        char want[32];
        mo.flags = ST_MODEL_VALIDATE_ALL;
        if (st_model_open(&mdl, index, &mo, &err) != ST_OK) die("%s: %s", index, err.message);
        ts = st_model_metadata_find(mdl, "total_size");
        snprintf(want, sizeof want, "%llu", (unsigned long long)g.total_size);
        if (st_model_tensor_count(mdl) != nt || st_model_shard_count(mdl) != g.nshards || !ts ||
            strcmp(ts->value, want))
            die("%s: the library sees a different model", index);
        st_model_close(mdl);
    }
    gen_sharded_free(&g);

    /* (a) the whole model validated in a fresh process, paired with the warm sum
     * (the index alone, then one pass over the shards, in a warm loop in a fresh
     * process: see warm_run_main) */
    wargs = (char **)xmalloc((c.nshards + 1) * sizeof *wargs);
    wargs[0] = index;
    for (i = 0; i < c.nshards; i++) wargs[1 + i] = c.shards[i];
    for (r = 0; r < nr; r++) {
        cold_res cr = cold_exec("model", &ip, 1), wr;
        if (!cr.ok) die("%s: %s", index, cr.err);
        if ((size_t)cr.x[0] != nt) die("%s: %g tensors", index, cr.x[0]);
        wr = cold_exec("warm-model", wargs, (int)c.nshards + 1);
        if (!wr.ok) die("%s: %s", index, wr.err);
        cold[r] = cr.ns;
        warm[r] = wr.ns;
        widx[r] = wr.x[0];
        wsh[r] = wr.x[1];
        q[r] = cold[r] / warm[r];
        peak[r] = cr.proc_peak;
        flt[r] = cr.minflt;
        whole[r] = cr.proc_ns;
    }
    free(wargs);
    add_fig("warm_model_sum", nt, scale(stats_of(warm, nr), 1e-6), "ms", T_NONE, 0);
    t = stats_of(widx, nr);
    add_fig("warm_index", nt, scale(t, 1e-6), "ms", T_NONE, 0);
    add_fig("warm_index_rate", nt, rate_of(t, idx_len / MB * 1e9), "MB/s", T_NONE, 0);
    add_fig("warm_shards_sum", nt, scale(stats_of(wsh, nr), 1e-6), "ms", T_NONE, 0);
    fig_cold = 1;
    add_fig("cold_model_validate", nt, scale(stats_of(cold, nr), 1e-6), "ms", T_NONE, 0);
    add_fig("cold_model_process", nt, scale(stats_of(whole, nr), 1e-6), "ms", T_NONE, 0);
    add_fig("cold_model_vs_warm", nt, stats_of(q, nr), "x_warm", T_LE, 1.5);
    add_fig("cold_model_faults", nt, stats_of(flt, nr), "faults", T_NONE, 0);
    add_fig("cold_model_proc_peak", nt, scale(stats_of(peak, nr), 1.0 / MB), "MB", T_NONE, 0);

    /* (b) the index alone in a fresh process */
    for (r = 0; r < nr; r++) {
        cold_res cr = cold_exec("index", &ip, 1);
        if (!cr.ok) die("%s: %s", index, cr.err);
        cold[r] = cr.ns;
        peak[r] = cr.proc_peak;
    }
    t = stats_of(cold, nr);
    add_fig("cold_index", nt, scale(t, 1e-6), "ms", T_NONE, 0);
    add_fig("cold_index_rate", nt, rate_of(t, idx_len / MB * 1e9), "MB/s", T_GE, 250);
    add_fig("cold_index_proc_peak", nt, scale(stats_of(peak, nr), 1.0 / MB), "MB", T_NONE, 0);

    /* (c) the shard files opened one after another in one fresh process */
    for (r = 0; r < nr; r++) {
        cold_res cr = cold_exec("seq", c.shards, (int)c.nshards);
        if (!cr.ok) die("%s", cr.err);
        first[r] = cr.x[0];
        rest[r] = cr.x[1];
        rmax[r] = cr.x[2];
        ratio[r] = cr.x[0] > 0 ? cr.x[1] / cr.x[0] : 0;
        total[r] = cr.ns;
    }
    add_fig("cold_seq_total", c.nshards, scale(stats_of(total, nr), 1e-6), "ms", T_NONE, 0);
    add_fig("cold_seq_first_faults", c.nshards, stats_of(first, nr), "faults", T_NONE, 0);
    add_fig("cold_seq_rest_faults", c.nshards, stats_of(rest, nr), "faults", T_NONE, 0);
    add_fig("cold_seq_max_faults", c.nshards, stats_of(rmax, nr), "faults", T_NONE, 0);
    add_fig("cold_seq_faults_ratio", c.nshards, stats_of(ratio, nr), "x_first", T_LE, 1);
    fig_cold = 0;

    for (i = 0; i < c.nshards; i++) free(c.shards[i]);
    free(c.shards);
}

/* bench --cold-run warm-open PATH | warm-model INDEX SHARD...: the warm loop
 * that a cold figure is compared with, in a fresh process of its own, so that
 * it does not depend on what the bench did before (glibc raises its mmap and
 * trim thresholds as it sees large blocks freed: after the 100,000-tensor
 * benchmark, the blocks of a 1,000-tensor open never leave the heap). The
 * calibration runs (the iteration count that lasts min_run_ns) and
 * WARM_WARMUP more runs are the warm-up (glibc keeps a block in the heap only
 * from about the third time it is allocated); then WARM_RUNS timed runs, of
 * which the median is reported. Prints a COLD line whose time is ns per
 * iteration; warm-model: x0 = the index's ns, x1 = the shards' pass's ns. */
#define WARM_WARMUP 2
#define WARM_RUNS 5
static int warm_run_main(int argc, char **argv)
{
    uint64_t iters;
    double t, ti = 0, ts = 0, v[WARM_RUNS], vi[WARM_RUNS], vs[WARM_RUNS];
    int r;
    if (!strcmp(argv[0], "warm-open")) {
        hctx c;
        memset(&c, 0, sizeof c);
        c.path = argv[1];
        iters = calibrate(run_open_path, &c, min_run_ns);
        for (r = 0; r < WARM_WARMUP; r++) run_open_path(&c, iters);
        for (r = 0; r < WARM_RUNS; r++) v[r] = run_open_path(&c, iters) / (double)iters;
        t = stats_of(v, WARM_RUNS).med;
    } else if (!strcmp(argv[0], "warm-model") && argc > 2) {
        mctx c;
        c.index = argv[1];
        c.shards = argv + 2;
        c.nshards = (size_t)(argc - 2);
        iters = calibrate(run_model_sum, &c, min_run_ns);
        for (r = 0; r < WARM_WARMUP; r++) run_model_sum(&c, iters);
        for (r = 0; r < WARM_RUNS; r++) {
            vi[r] = run_model_index(&c, iters) / (double)iters;
            vs[r] = run_shards_pass(&c, iters) / (double)iters;
            v[r] = vi[r] + vs[r];
        }
        t = stats_of(v, WARM_RUNS).med;
        ti = stats_of(vi, WARM_RUNS).med;
        ts = stats_of(vs, WARM_RUNS).med;
    } else {
        die("--cold-run: unknown kind %s", argv[0]);
    }
    printf("COLD %llu %llu 0 0 0 0 0 %.17g %.17g %llu 0\n", (unsigned long long)t, (unsigned long long)t, ti, ts,
           (unsigned long long)iters);
    return 0;
}

/* ------------------------------------------------------------ cold 3: hostile but valid 25 MB headers */

#define HOSTILE_TENSORS 212000 /* a realistic header of about 25 MB */
#define HOSTILE_MAX_DEPTH 130  /* the depth probe starts here (FORMAT.md: 128 at most) */

/* The deepest nest inside the unknown field that the library accepts (the
 * nesting limit counts the top object, the entry and the field's array too). */
static unsigned probe_depth(void)
{
    unsigned d;
    for (d = HOSTILE_MAX_DEPTH; d > 0; d--) {
        size_t cnt, len = 4096;
        char *h = gen_hostile_header(GEN_H_DEEP, len, d, &cnt);
        unsigned char *file = (unsigned char *)xmalloc(8 + len + 8);
        st_file *f = NULL;
        st_error err;
        st_status s;
        int k;
        if (!h) die("out of memory");
        for (k = 0; k < 8; k++) file[k] = (unsigned char)((uint64_t)len >> (8 * k));
        memcpy(file + 8, h, len);
        memset(file + 8 + len, 0, 8);
        s = st_open_memory(&f, file, 8 + len + 8, NULL, &err);
        st_close(f);
        free(file);
        free(h);
        if (s == ST_OK) return d;
    }
    die("the library accepts no nest inside an unknown field");
}

static void bench_hostile(const char *dir)
{
    gen_model m;
    char path[GEN_NHOSTILE + 1][4096], *pp[GEN_NHOSTILE + 1], name[32];
    double t[GEN_NHOSTILE + 1][64], pk[GEN_NHOSTILE + 1][64], q[GEN_NHOSTILE][64], hdr;
    int ok[GEN_NHOSTILE + 1], k, r, nr = cold_runs / 2 | 1;
    unsigned depth;
    size_t len, cnt;
    double worst_q = 0, worst_pk = 0;
    uint64_t t0 = wall_ns();

    if (nr < 3) nr = 3;
    if (gen_model_build(&m, HOSTILE_TENSORS, HEADER_BUDGET, HEADER_META)) die("cannot build the 25 MB model");
    len = m.header_len;
    hdr = (double)len;
    snprintf(path[GEN_NHOSTILE], sizeof path[0], "%s/hostile_real.safetensors", dir);
    ensure_sparse(path[GEN_NHOSTILE], m.header, len, m.file_size);
    gen_model_free(&m);
    depth = probe_depth();
    for (k = 0; k < GEN_NHOSTILE; k++) {
        char *h = gen_hostile_header(k, len, depth, &cnt);
        if (!h) die("cannot build the hostile header %s", gen_hostile_names[k]);
        snprintf(path[k], sizeof path[k], "%s/hostile_%s.safetensors", dir, gen_hostile_names[k]);
        ensure_sparse(path[k], h, len, 8 + len + 8);
        free(h);
        note("hostile %s: %zu %s", gen_hostile_names[k], cnt,
             k == GEN_H_DEEP ? "nests in the unknown field" : k == GEN_H_FLOOD ? "[[],[]] in the unknown field"
             : k == GEN_H_KEYS ? "metadata keys" : k == GEN_H_ESCAPES ? "escapes in one value" : "bytes of name");
    }
    note("hostile: headers of %zu bytes (realistic: %d tensors); nests of depth %u (total %u); ready in %.1f s",
         len, HOSTILE_TENSORS, depth, depth + 3, (double)(wall_ns() - t0) / 1e9);
    for (k = 0; k <= GEN_NHOSTILE; k++) {
        pp[k] = path[k];
        ok[k] = 1;
    }
    /* rounds: the realistic header, then each hostile one; ratios within a round */
    for (r = 0; r < nr; r++)
        for (k = GEN_NHOSTILE; k >= 0; k--) {
            cold_res cr;
            if (!ok[k]) continue;
            cr = cold_exec("open", &pp[k], 1);
            if (!cr.ok) {
                if (k == GEN_NHOSTILE) die("%s: %s", path[k], cr.err);
                note("MISS: the library refuses the valid hostile header %s: %s", gen_hostile_names[k], cr.err);
                ok[k] = 0;
                continue;
            }
            t[k][r] = cr.ns;
            pk[k][r] = cr.proc_peak;
            if (k < GEN_NHOSTILE) q[k][r] = cr.ns / t[GEN_NHOSTILE][r];
        }
    fig_cold = 1;
    add_fig("cold_h_real", HOSTILE_TENSORS, scale(stats_of(t[GEN_NHOSTILE], nr), 1e-6), "ms", T_NONE, 0);
    add_fig("cold_h_real_peak", HOSTILE_TENSORS, scale(stats_of(pk[GEN_NHOSTILE], nr), 1.0 / hdr), "x_header",
            T_LE, 3);
    for (k = 0; k < GEN_NHOSTILE; k++) {
        stats sq, sp;
        snprintf(name, sizeof name, "cold_h_%s", gen_hostile_names[k]);
        if (!ok[k]) {
            add_missing(name, 1, "ms", T_NONE, 0);
            snprintf(name, sizeof name, "cold_h_%s_ratio", gen_hostile_names[k]);
            add_missing(name, 1, "x_real", T_LE, 2);
            snprintf(name, sizeof name, "cold_h_%s_peak", gen_hostile_names[k]);
            add_missing(name, 1, "x_header", T_LE, 3);
            worst_q = worst_pk = 1e300;
            continue;
        }
        add_fig(name, 1, scale(stats_of(t[k], nr), 1e-6), "ms", T_NONE, 0);
        sq = stats_of(q[k], nr);
        sp = scale(stats_of(pk[k], nr), 1.0 / hdr);
        snprintf(name, sizeof name, "cold_h_%s_ratio", gen_hostile_names[k]);
        add_fig(name, 1, sq, "x_real", T_LE, 2);
        snprintf(name, sizeof name, "cold_h_%s_peak", gen_hostile_names[k]);
        add_fig(name, 1, sp, "x_header", T_LE, 3);
        if (sq.med > worst_q) worst_q = sq.med;
        if (sp.med > worst_pk) worst_pk = sp.med;
    }
    {
        stats w = {worst_q, worst_q, worst_q, 1}, p = {worst_pk, worst_pk, worst_pk, 1};
        if (worst_q < 1e300) add_fig("cold_h_worst_ratio", 1, w, "x_real", T_LE, 2);
        else add_missing("cold_h_worst_ratio", 1, "x_real", T_LE, 2);
        if (worst_pk < 1e300) add_fig("cold_h_worst_peak", 1, p, "x_header", T_LE, 3);
        else add_missing("cold_h_worst_peak", 1, "x_header", T_LE, 3);
    }
    fig_cold = 0;
}

#define BENCH_PARTS "headers, cold, sharded, hostile, write, sparse, read, convert, slice"

/* 1 if name is one of the comma-separated parts of list (NULL: every part) */
static int part_on(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    if (!list) return 1;
    while (*p) {
        size_t k = strcspn(p, ",");
        if (k == n && !strncmp(p, name, n)) return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

static int parts_valid(const char *list)
{
    static const char *const known[] = {"headers", "cold", "sharded", "hostile", "write",
                                        "sparse",  "read", "convert", "slice"};
    const char *p = list;
    while (*p) {
        size_t k = strcspn(p, ","), j, hit = 0;
        for (j = 0; j < sizeof known / sizeof known[0]; j++)
            hit |= strlen(known[j]) == k && !strncmp(p, known[j], k);
        if (!hit) return 0;
        p += k + (p[k] == ',');
    }
    return *list != 0;
}

static void timed_part(const char *name, void (*part)(const char *), const char *dir)
{
    uint64_t t0 = wall_ns();
    part(dir);
    note("%s: %.1f s", name, (double)(wall_ns() - t0) / 1e9);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench [--reps N] [--cold-runs N] [--cpu-time] [--only PART[,PART...]] DIR\n"
                    "       bench --profile-open FILE [K]\n"
                    "PART: " BENCH_PARTS "\n");
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    char path[4096], la0[128], la1[128];
    gen_model m;
    uint64_t t_start = wall_ns();
    int i;
    const char *only = NULL; /* NULL: every part */

    if (argc > 3 && !strcmp(argv[1], "--cpu-time") && !strcmp(argv[2], "--cold-run")) {
        bench_clock = CLOCK_THREAD_CPUTIME_ID;
        argc--;
        argv++;
    }
    if (argc > 2 && !strcmp(argv[1], "--cold-run"))
        return !strncmp(argv[2], "warm-", 5) ? warm_run_main(argc - 2, argv + 2) : cold_run_main(argc - 2, argv + 2);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--probe-rss") && i + 2 < argc) return probe_rss_main(argv[i + 1], argv[i + 2]);
        if (!strcmp(argv[i], "--profile-open") && i + 1 < argc)
            return profile_main(argv[i + 1], i + 2 < argc ? strtoull(argv[i + 2], NULL, 10) : 1);
        if (!strcmp(argv[i], "--cpu-time")) {
            bench_clock = CLOCK_THREAD_CPUTIME_ID;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
            if (!parts_valid(only)) {
                fprintf(stderr, "bench: --only takes a comma-separated list of %s\n", BENCH_PARTS);
                return 2;
            }
        } else if (!strcmp(argv[i], "--cold-runs") && i + 1 < argc) {
            cold_runs = atoi(argv[++i]);
            if (cold_runs < 3) cold_runs = 3;
            if (cold_runs > 64) cold_runs = 64;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 3) reps = 3;
            if (reps > 64) reps = 64;
        } else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        usage();
        return 2;
    }
    if (mkdir(dir, 0755) && errno != EEXIST) die("cannot create %s: %s", dir, strerror(errno));
    loadavg(la0, sizeof la0);
    note("libsafetensors %s, %ld CPUs online, load average at start: %s", st_version_string(),
         sysconf(_SC_NPROCESSORS_ONLN), la0);

    {
        static char warm[4096];
        int fd;
        snprintf(warm, sizeof warm, "%s/tiny.safetensors", dir);
        fd = open(warm, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, tiny_file, sizeof tiny_file) != (ssize_t)sizeof tiny_file || close(fd))
            die("cannot write %s", warm);
        warm_path = warm;
    }

#define ST_BENCH_PART(name) part_on(only, name)
    if (ST_BENCH_PART("headers")) bench_headers(dir);
    if (ST_BENCH_PART("cold")) timed_part("cold", bench_cold, dir);
    if (ST_BENCH_PART("sharded")) timed_part("sharded", bench_sharded, dir);
    if (ST_BENCH_PART("hostile")) timed_part("hostile", bench_hostile, dir);
    if (ST_BENCH_PART("write")) bench_write(dir);

    /* the sparse 8 GB file: open time and RSS must not grow with the data */
    if (ST_BENCH_PART("sparse")) {
        if (gen_model_build(&m, SPARSE_TENSORS, SPARSE_BUDGET, HEADER_META)) die("sparse model");
        snprintf(path, sizeof path, "%s/sparse_8g.safetensors", dir);
        if (gen_write_file(&m, path, 0)) die("cannot write %s", path);
        note("sparse: %zu tensors, %.2f GB, header %zu bytes", m.n, (double)m.file_size / GB, m.header_len);
        bench_open_big(path, m.n, "sparse8g_open", "sparse8g_rss", 1);
        gen_model_free(&m);
    }

    /* the 512 MB file with data: reused when it is already the right file */
    if (ST_BENCH_PART("read")) {
        if (gen_model_build(&m, SPARSE_TENSORS, REAL_BUDGET, HEADER_META)) die("real model");
        snprintf(path, sizeof path, "%s/real_512m.safetensors", dir);
        if (gen_file_matches(&m, path)) {
            note("real: reusing %s", path);
        } else {
            uint64_t t0 = wall_ns();
            if (gen_write_file(&m, path, 1)) die("cannot write %s", path);
            note("real: wrote %s (%.0f MB) in %.1f s", path, (double)m.file_size / MB,
                 (double)(wall_ns() - t0) / 1e9);
        }
        bench_read(path, &m); /* first, as it loads the file into the page cache */
        bench_open_big(path, m.n, "real512m_open", "real512m_rss", 0);
        gen_model_free(&m);
    }

    if (ST_BENCH_PART("convert")) bench_convert();
    if (ST_BENCH_PART("slice")) bench_slice();

    loadavg(la1, sizeof la1);
    print_results();
    printf("machine: %ld CPUs online; load average at start %s, at end %s; %d runs per warm figure, "
           "%d fresh processes per cold one; %s clock; total %.1f s\n",
           sysconf(_SC_NPROCESSORS_ONLN), la0, la1, reps, cold_runs,
           bench_clock == CLOCK_MONOTONIC ? "wall" : "thread CPU-time",
           (double)(wall_ns() - t_start) / 1e9);
    {
        int miss = 0, pass = 0, na = 0;
        for (i = 0; i < nfigs; i++) {
            miss += !strcmp(figs[i].status, "MISS");
            pass += !strcmp(figs[i].status, "PASS");
            na += !strcmp(figs[i].status, "NA");
        }
        printf("targets: %d PASS, %d MISS, %d n/a\n", pass, miss, na);
    }
    return 0;
}
