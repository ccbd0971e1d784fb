/* N-dimensional slices (step 1): the plan (checks, the longest contiguous
 * run, the outer indices that repeat it), then its execution, by memcpy or
 * through the handle's read path with nearby ranges merged into one read. */
#include "internal.h"

#include <string.h>

/* SSE2 is the x86-64 baseline (and -msse2 on i386): gcc and clang say so with
 * __SSE2__, MSVC with _M_X64. Other compilers copy with memcpy. */
#if (defined(__GNUC__) && defined(__SSE2__)) || defined(_M_X64) || defined(_M_AMD64)
#include <emmintrin.h>
#define ST__SLICE_SSE2 1
#endif

#if defined(__GNUC__)
#define ST__PREFETCH(a) __builtin_prefetch(a)
#elif defined(ST__SLICE_SSE2)
#define ST__PREFETCH(a) _mm_prefetch((const char *)(a), _MM_HINT_T0)
#else
#define ST__PREFETCH(a) ((void)(a))
#endif

/* Outer dimensions held on the stack; deeper slices allocate. */
#define ST__SLICE_STACK_DIMS 16

/* Walks the runs of a slice in file order. The run at outer indices idx[0..k)
 * starts off bytes into the tensor. */
typedef struct st__slice_it {
    uint64_t *idx;
    uint64_t off;
} st__slice_it;

typedef struct st__slice {
    const st_tensor *t;
    const uint64_t *start, *stop;
    uint32_t k;       /* dimensions 0..k-1 repeat the run */
    uint64_t run;     /* bytes per run */
    uint64_t nruns;
    uint64_t total;   /* bytes of the slice (nruns * run) */
    uint64_t base;    /* tensor byte offset of the first run */
    uint64_t span;    /* from the first run's first byte to the last run's end */
    uint64_t *stride; /* k byte strides (0 for a dimension of one index) */
} st__slice;

static const char *st__slice_name(char *q, size_t qn, const st_tensor *t)
{
    return st__quote(q, qn, t->name, (size_t)t->name_len);
}

/* The checks and the run; p->stride is left for st__slice_strides. */
static st_status st__slice_plan(const st_tensor *t, uint32_t rank, const uint64_t *start,
                                const uint64_t *stop, st__slice *p, const char *fn,
                                st_error *err)
{
    char q[96];
    unsigned bits = st_dtype_bits(t->dtype);
    uint64_t count = 1, inner = 1, lin = 0, el = 1;
    uint32_t d;
    memset(p, 0, sizeof *p);
    p->t = t;
    p->start = start;
    p->stop = stop;
    if (rank != t->rank)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: tensor \"%s\" has rank %u but the slice has rank %u", fn,
                        st__slice_name(q, sizeof q, t), (unsigned)t->rank, (unsigned)rank);
    if (rank > 0 && (!start || !stop))
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: %s is NULL for a slice of rank %u", fn, !start ? "start" : "stop",
                        (unsigned)rank);
    for (d = 0; d < rank; d++) {
        if (start[d] > stop[d])
            return st__fail(err, ST_E_RANGE, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                            "%s: tensor \"%s\", dimension %u: start %llu is after stop %llu", fn,
                            st__slice_name(q, sizeof q, t), (unsigned)d,
                            (unsigned long long)start[d], (unsigned long long)stop[d]);
        if (stop[d] > t->shape[d])
            return st__fail(err, ST_E_RANGE, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                            "%s: tensor \"%s\", dimension %u: stop %llu is past its size %llu",
                            fn, st__slice_name(q, sizeof q, t), (unsigned)d,
                            (unsigned long long)stop[d], (unsigned long long)t->shape[d]);
    }
    for (d = 0; d < rank; d++) count *= stop[d] - start[d]; /* <= numel: no overflow */
    if (count == 0) return ST_OK; /* nothing to move; p->total is 0 */
    /* Non-empty: every dimension is at least 1, so each product below is at
     * most numel, and numel * bits fits (rule 8). */
    d = rank ? rank - 1 : 0;
    while (d > 0 && start[d] == 0 && stop[d] == t->shape[d]) inner *= t->shape[d--];
    p->k = d;
    p->nruns = 1;
    if (rank) {
        uint32_t j;
        for (j = 0; j < d; j++) p->nruns *= stop[j] - start[j];
        inner *= stop[d] - start[d];
        for (j = rank; j-- > 0;) {
            lin += start[j] * el;
            el *= t->shape[j];
        }
    }
    /* inner elements per run; lin = element index of the first one */
    if ((inner * bits) % 8 != 0 || (lin * bits) % 8 != 0) {
        return st__fail(err, ST_E_PARTIAL_BYTE, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: tensor \"%s\" is %s (%u bits an element): the slice's contiguous "
                        "runs (from dimension %u) would %s inside a byte (bit %llu); packed "
                        "elements cannot be split",
                        fn, st__slice_name(q, sizeof q, t), st_dtype_name(t->dtype), bits,
                        (unsigned)d, (lin * bits) % 8 ? "start" : "end",
                        (unsigned long long)((lin * bits) % 8 ? lin * bits
                                                              : (lin + inner) * bits));
    }
    if (bits % 8 != 0) {
        /* every outer dimension that moves must move by whole bytes */
        uint64_t e = inner / (stop[d] - start[d]); /* elements of one index of d */
        uint32_t j;
        for (j = d; j-- > 0;) {
            e *= t->shape[j + 1];
            if (stop[j] - start[j] > 1 && (e * bits) % 8 != 0)
                return st__fail(err, ST_E_PARTIAL_BYTE, ST__NO_OFFSET, t->name,
                                (size_t)t->name_len,
                                "%s: tensor \"%s\" is %s (%u bits an element): one index of "
                                "dimension %u is %llu bits, so the slice's runs would start "
                                "inside a byte; packed elements cannot be split",
                                fn, st__slice_name(q, sizeof q, t), st_dtype_name(t->dtype),
                                bits, (unsigned)j, (unsigned long long)e * bits);
        }
    }
    p->run = inner * bits / 8;
    p->total = p->nruns * p->run;
    p->base = lin * bits / 8;
    return ST_OK;
}

/* Byte strides of the outer dimensions, and the span of the runs. */
static void st__slice_strides(st__slice *p)
{
    const st_tensor *t = p->t;
    unsigned bits = st_dtype_bits(t->dtype);
    uint64_t e = 1, last = 0;
    uint32_t j;
    for (j = t->rank; j-- > p->k;) e *= t->shape[j];
    /* e: elements of one index of dimension k - 1 */
    for (j = p->k; j-- > 0;) {
        uint64_t n = p->stop[j] - p->start[j];
        p->stride[j] = n > 1 ? e * bits / 8 : 0;
        last += (n - 1) * p->stride[j];
        e *= t->shape[j];
    }
    p->span = last + p->run;
}

static void st__slice_begin(const st__slice *p, st__slice_it *it)
{
    uint32_t j;
    for (j = 0; j < p->k; j++) it->idx[j] = p->start[j];
    it->off = p->base;
}

/* Moves to the next run; only called while one is left. */
static void st__slice_next(const st__slice *p, st__slice_it *it)
{
    uint32_t j = p->k;
    while (j-- > 0) {
        it->off += p->stride[j];
        if (++it->idx[j] < p->stop[j]) return;
        it->off -= (p->stop[j] - p->start[j]) * p->stride[j];
        it->idx[j] = p->start[j];
    }
}

/* dst checks, shared by the two public functions. */
static st_status st__slice_dst(const st__slice *p, const void *dst, uint64_t dst_size,
                               const char *fn, st_error *err)
{
    char q[96];
    const st_tensor *t = p->t;
    if (!dst && p->total)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: dst is NULL for a slice of %llu bytes", fn,
                        (unsigned long long)p->total);
    if (dst_size < p->total)
        return st__fail(err, ST_E_BUFFER_TOO_SMALL, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: the slice of tensor \"%s\" is %llu bytes but dst has %llu", fn,
                        st__slice_name(q, sizeof q, t), (unsigned long long)p->total,
                        (unsigned long long)dst_size);
    return ST_OK;
}

/* Index arrays for k outer dimensions: stride, then `its` iterators. */
static uint64_t *st__slice_arrays(const st_allocator *a, uint64_t *stack, uint32_t k, int its)
{
    size_t n = (size_t)k * (size_t)(1 + its);
    if (k <= ST__SLICE_STACK_DIMS) return stack;
    return (uint64_t *)st__malloc(a, n * sizeof(uint64_t));
}

static void st__slice_arrays_free(const st_allocator *a, uint64_t *arr, const uint64_t *stack,
                                  uint32_t k, int its)
{
    if (arr != stack) st__free(a, arr, (size_t)k * (size_t)(1 + its) * sizeof(uint64_t));
}

/* Copying the runs of a slice that has more than one (docs/performance.md,
 * "Slices", has the figures).
 *
 * Prefetch: the hardware prefetchers start afresh at every run and stop at
 * each 4 KiB page, so strided runs of a few KiB are read well below the speed
 * of one long copy (a 4096 x 4096 BF16 column half: 0.43-0.49x of a memcpy of
 * the same 16 MiB). Before a run is copied, the first ST__SLICE_PREFETCH
 * bytes of the next one are prefetched, so that its misses overlap the
 * current copy; past that the hardware has caught on. Only for runs of at
 * least ST__SLICE_PREFETCH_MIN bytes (one run ahead of a shorter one is too
 * close to hide a miss) and slices of at least ST__SLICE_PREFETCH_TOTAL bytes
 * (source and destination then exceed a 1-2 MiB L2; below that the source is
 * often cached, and the instructions cost some 10% of a copy from L1 or L2).
 *
 * Non-temporal stores (SSE2): a slice of at least ST__SLICE_NT_MIN bytes is
 * written around the caches. That saves reading each destination line before
 * writing it and leaves the cache to the source; on top of the prefetch it
 * took the column half above from 0.72x to 0.84x of memcpy (alone it did
 * nothing: 0.47x). The cost: the caller then finds its slice in memory rather
 * than in the cache. For an output this large most of it would have left a
 * 1-2 MiB L2 and a share of the L3 anyway; 8 MiB is a quarter of a 32 MiB L3
 * and 4 to 8 times an L2. glibc's memcpy makes the same choice for long
 * copies at its own threshold (3/4 of the L3 share of a thread in glibc 2.36,
 * 24 MiB on the 32 MiB L3 measured; later releases use about a quarter of the
 * L3), so a single run is left to memcpy. The figure is fixed, as lib/ asks
 * the system nothing about its caches. Runs under ST__SLICE_NT_RUN_MIN bytes
 * (a cache line) are copied the ordinary way: each run's unaligned head and
 * tail are ordinary stores, which would then be most of the line. */
#define ST__SLICE_PREFETCH 4096u
#define ST__SLICE_PREFETCH_MIN 256u
#define ST__SLICE_PREFETCH_TOTAL ((uint64_t)1 << 20)
#define ST__SLICE_NT_MIN ((uint64_t)8 << 20)
#define ST__SLICE_NT_RUN_MIN 64u

#if defined(ST__SLICE_SSE2)
/* memcpy with non-temporal stores for the 16-byte-aligned part of dst; the
 * unaligned head and the tail under 16 bytes are stored the ordinary way.
 * The caller ends with _mm_sfence. */
static void st__copy_nt(unsigned char *dst, const unsigned char *src, size_t n)
{
    size_t head = (size_t)(0u - (uintptr_t)dst) & 15u;
    if (n < head + 16) {
        memcpy(dst, src, n);
        return;
    }
    memcpy(dst, src, head);
    dst += head;
    src += head;
    n -= head;
    for (; n >= 64; n -= 64, dst += 64, src += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)src);
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + 48));
        _mm_stream_si128((__m128i *)(void *)dst, a);
        _mm_stream_si128((__m128i *)(void *)(dst + 16), b);
        _mm_stream_si128((__m128i *)(void *)(dst + 32), c);
        _mm_stream_si128((__m128i *)(void *)(dst + 48), d);
    }
    for (; n >= 16; n -= 16, dst += 16, src += 16)
        _mm_stream_si128((__m128i *)(void *)dst,
                         _mm_loadu_si128((const __m128i *)(const void *)src));
    memcpy(dst, src, n);
}
#endif

/* Whether st__slice_copy streams its stores (see above). */
static int st__slice_nt(const st__slice *p)
{
#if defined(ST__SLICE_SSE2)
    return p->nruns > 1 && p->total >= ST__SLICE_NT_MIN && p->run >= ST__SLICE_NT_RUN_MIN;
#else
    (void)p;
    return 0;
#endif
}

/* Copies n runs, the first at it (left at the last), from src + (it->off -
 * base) to dst, dst + run, ... With nt, the caller ends with st__slice_fence. */
static void st__slice_copy(const st__slice *p, st__slice_it *it, uint64_t n,
                           const unsigned char *src, uint64_t base, unsigned char *dst, int nt)
{
    size_t run = (size_t)p->run;
    size_t ahead = run < ST__SLICE_PREFETCH_MIN || p->total < ST__SLICE_PREFETCH_TOTAL ? 0
                   : run < ST__SLICE_PREFETCH ? run : ST__SLICE_PREFETCH;
    uint64_t m;
    if (!ahead && !nt) {
        /* the plain loop: the other one costs some 10% on slices in L1 or L2 */
        for (m = 0; m < n; m++) {
            if (m) st__slice_next(p, it);
            memcpy(dst + (size_t)(m * run), src + (size_t)(it->off - base), run);
        }
        return;
    }
    for (m = 0; m < n; m++, dst += run) {
        const unsigned char *s = src + (size_t)(it->off - base);
        if (m + 1 < n) {
            st__slice_next(p, it);
            if (ahead) {
                const unsigned char *q = src + (size_t)(it->off - base);
                size_t o;
                for (o = 0; o < ahead; o += 64) ST__PREFETCH(q + o);
                ST__PREFETCH(q + ahead - 1);
            }
        }
#if defined(ST__SLICE_SSE2)
        if (nt) {
            st__copy_nt(dst, s, run);
            continue;
        }
#endif
        memcpy(dst, s, run);
    }
    (void)nt;
}

static void st__slice_fence(int nt)
{
#if defined(ST__SLICE_SSE2)
    /* streamed stores are weakly ordered: make them visible before returning */
    if (nt) _mm_sfence();
#endif
    (void)nt;
}

static void st__slice_memcpy(const st__slice *p, st__slice_it *it, const unsigned char *src,
                             unsigned char *dst)
{
    int nt = st__slice_nt(p);
    st__slice_begin(p, it);
    if (p->nruns == 1) {
        /* one run: memcpy knows best (and streams by itself when long) */
        memcpy(dst, src + (size_t)it->off, (size_t)p->run);
        return;
    }
    st__slice_copy(p, it, p->nruns, src, 0, dst, nt);
    st__slice_fence(nt);
}

st_status st_tensor_slice_size(const st_tensor *t, uint32_t rank, const uint64_t *start,
                               const uint64_t *stop, uint64_t *nbytes, st_error *err)
{
    st__slice p;
    st_status s;
    if (nbytes) *nbytes = 0;
    if (!t || !nbytes)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0,
                        "st_tensor_slice_size: %s is NULL", !t ? "tensor" : "nbytes");
    s = st__slice_plan(t, rank, start, stop, &p, "st_tensor_slice_size", err);
    if (s != ST_OK) return s;
    *nbytes = p.total;
    st__clear_error(err);
    return ST_OK;
}

st_status st_tensor_copy_slice(const st_tensor *t, uint32_t rank, const uint64_t *start,
                               const uint64_t *stop, void *dst, uint64_t dst_size,
                               st_error *err)
{
    static const char fn[] = "st_tensor_copy_slice";
    uint64_t stack[2 * ST__SLICE_STACK_DIMS], *arr;
    st__slice p;
    st__slice_it it;
    st_status s;
    char q[96];
    if (!t)
        return st__fail(err, ST_E_INVALID_ARGUMENT, ST__NO_OFFSET, NULL, 0, "%s: tensor is NULL",
                        fn);
    s = st__slice_plan(t, rank, start, stop, &p, fn, err);
    if (s == ST_OK) s = st__slice_dst(&p, dst, dst_size, fn, err);
    if (s != ST_OK) return s;
    if (!t->data)
        return st__fail(err, ST_E_NO_DATA, ST__NO_OFFSET, t->name, (size_t)t->name_len,
                        "%s: tensor \"%s\" has no data in memory (a handle of st_open_reader or "
                        "st_open_header): use st_tensor_read_slice",
                        fn, st__slice_name(q, sizeof q, t));
    if (p.total == 0) {
        st__clear_error(err);
        return ST_OK;
    }
    /* no allocator without a file: deep slices use the default one */
    arr = st__slice_arrays(&st__default_allocator, stack, p.k, 1);
    if (!arr) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    p.stride = arr;
    it.idx = arr + p.k;
    st__slice_strides(&p);
    st__slice_memcpy(&p, &it, (const unsigned char *)t->data, (unsigned char *)dst);
    st__slice_arrays_free(&st__default_allocator, arr, stack, p.k, 1);
    st__clear_error(err);
    return ST_OK;
}

/* Through a descriptor or a reader: groups of runs whose gaps are at most
 * file->read_gap and whose span is at most ST__READ_SPAN_MAX are one read,
 * into dst directly when the group has no gap, else into a bounce buffer. */
static st_status st__slice_read_merged(const st_file *f, st__slice *p, st__slice_it *lead,
                                       st__slice_it *follow, unsigned char *dst,
                                       const char *fn, st_error *err)
{
    const st_tensor *t = p->t;
    unsigned char *bounce = NULL;
    size_t bounce_len = 0;
    uint64_t i = 0, gap = f->read_gap, run = p->run;
    int nt = st__slice_nt(p);
    st_status s = ST_OK;
    st__slice_begin(p, lead);
    st__slice_begin(p, follow);
    while (i < p->nruns && s == ST_OK) {
        uint64_t g0 = lead->off, g1 = g0 + run, n = 1;
        int touching = 1;
        if (i + 1 < p->nruns) st__slice_next(p, lead);
        while (i + n < p->nruns) {
            uint64_t o = lead->off;
            if (o - g1 > gap || o + run - g0 > ST__READ_SPAN_MAX) break;
            if (o != g1) touching = 0;
            g1 = o + run;
            n++;
            if (i + n < p->nruns) st__slice_next(p, lead);
        }
        if (touching) {
            s = st__read_at(f, t, t->offset + g0, dst + (size_t)(i * run), g1 - g0, fn, err);
        } else {
            if (!bounce) {
                bounce_len = (size_t)(p->span < ST__READ_SPAN_MAX ? p->span : ST__READ_SPAN_MAX);
                bounce = (unsigned char *)st__malloc(&f->alloc, bounce_len);
                if (!bounce)
                    return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, t->name,
                                    (size_t)t->name_len,
                                    "%s: cannot allocate the %llu-byte buffer for merged reads",
                                    fn, (unsigned long long)bounce_len);
            }
            s = st__read_at(f, t, t->offset + g0, bounce, g1 - g0, fn, err);
            if (s == ST_OK) st__slice_copy(p, follow, n, bounce, g0, dst + (size_t)(i * run), nt);
        }
        i += n;
        /* the follower catches up with the leader (now at run i) */
        follow->off = lead->off;
        memcpy(follow->idx, lead->idx, (size_t)p->k * sizeof(uint64_t));
    }
    st__slice_fence(nt);
    st__free(&f->alloc, bounce, bounce_len);
    return s;
}

st_status st_tensor_read_slice(const st_file *file, const st_tensor *t, uint32_t rank,
                               const uint64_t *start, const uint64_t *stop, void *dst,
                               uint64_t dst_size, st_error *err)
{
    static const char fn[] = "st_tensor_read_slice";
    uint64_t stack[3 * ST__SLICE_STACK_DIMS], *arr;
    st__slice p;
    st__slice_it lead, follow;
    st_status s = st__check_tensor(file, t, fn, err);
    if (s != ST_OK) return s;
    s = st__slice_plan(t, rank, start, stop, &p, fn, err);
    if (s == ST_OK) s = st__slice_dst(&p, dst, dst_size, fn, err);
    if (s != ST_OK) return s;
    if (file->src_kind == ST__SRC_HEADER) /* even for an empty slice: say there is no data */
        return st__read_at(file, t, t->offset, dst, 1, fn, err);
    if (p.total == 0) {
        st__clear_error(err);
        return ST_OK;
    }
    arr = st__slice_arrays(&file->alloc, stack, p.k, 2);
    if (!arr) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    p.stride = arr;
    lead.idx = arr + p.k;
    follow.idx = arr + 2 * (size_t)p.k;
    st__slice_strides(&p);
    if (file->src_kind == ST__SRC_MEMORY || file->src_kind == ST__SRC_READ ||
        (file->src_kind == ST__SRC_MAP && file->fh == ST__FH_NONE)) {
        /* the bytes are in memory and cannot change under us (st_tensor_read) */
        st__slice_memcpy(&p, &lead, file->bytes + (size_t)t->offset, (unsigned char *)dst);
    } else {
        s = st__slice_read_merged(file, &p, &lead, &follow, (unsigned char *)dst, fn, err);
    }
    st__slice_arrays_free(&file->alloc, arr, stack, p.k, 2);
    if (s == ST_OK) st__clear_error(err);
    return s;
}

st_status st_split_even(uint64_t size, uint32_t n, uint32_t r, uint64_t *start, uint64_t *stop)
{
    uint64_t q, rem, b;
    if (n == 0 || r >= n || !start || !stop) return ST_E_INVALID_ARGUMENT;
    q = size / n;
    rem = size % n;
    b = r * q + (r < rem ? r : rem);
    *start = b;
    *stop = b + q + (r < rem ? 1 : 0);
    return ST_OK;
}
