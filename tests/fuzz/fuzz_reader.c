/* Fuzz target: open arbitrary bytes through a caller's reader that fails at a
 * chosen call (st_open_reader), and from the header only (st_open_header),
 * and check both against st_open_memory: the same status and error record
 * while the reader has not failed, ST_E_IO once it has; the same listing; the
 * same bytes from st_tensor_read and st_tensor_read_slice as from the memory
 * handle. Input layout (that of fuzz_open.c, so its corpus serves here too):
 * byte 0 = option bits (0x1, 0x2 leniency; 0x80 header cap from bytes 1..2;
 * bits 2-4: the reader fails at that call, 0 = never; bits 5-6: how it fails:
 * EIO, a short read, a negative code, ETIMEDOUT), then the file. The file's
 * size picks the rest: odd sizes merge no gaps (ST_READ_GAP_NONE), sizes
 * with bit 1 set say the reader is thread-safe. Builds with
 * libFuzzer or with tests/fuzz/replay.c. */
#include <safetensors.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t st_fuzz_sink;

typedef struct frd {
    const uint8_t *b;
    uint64_t n;
    unsigned calls, fail_at;
    int code;
    int failed;
} frd;

static int frd_read(void *ctx, uint64_t off, void *dst, size_t size)
{
    frd *r = (frd *)ctx;
    /* the library never asks for nothing, nor past the declared size */
    if (size == 0 || off > r->n || size > r->n - off) abort();
    if (++r->calls == r->fail_at) {
        r->failed = 1;
        if (r->code == ST_READER_SHORT) memcpy(dst, r->b + off, size / 2);
        return r->code;
    }
    memcpy(dst, r->b + off, size);
    return 0;
}

static void same_record(const st_error *a, const st_error *b)
{
    if (a->code != b->code || a->offset != b->offset || a->flags != b->flags ||
        strcmp(a->message, b->message) != 0 || strcmp(a->tensor, b->tensor) != 0)
        abort();
}

/* A slice of t chosen from its shape: the last two thirds of dimension 0 and
 * the middle of the last dimension. */
static void pick_slice(const st_tensor *t, uint64_t *start, uint64_t *stop)
{
    uint32_t d;
    for (d = 0; d < t->rank; d++) {
        start[d] = 0;
        stop[d] = t->shape[d];
    }
    if (t->rank) {
        start[0] = t->shape[0] / 3;
        start[t->rank - 1] = t->shape[t->rank - 1] / 4;
        stop[t->rank - 1] = t->shape[t->rank - 1] - t->shape[t->rank - 1] / 4;
        if (stop[t->rank - 1] < start[t->rank - 1]) stop[t->rank - 1] = start[t->rank - 1];
    }
}

static void compare_data(const st_file *m, const st_file *f, frd *r)
{
    uint64_t i, n = st_tensor_count(f);
    for (i = 0; i < n; i++) {
        const st_tensor *tm = st_tensor_at(m, i), *t = st_tensor_at(f, i);
        uint64_t start[8], stop[8], nb = 0;
        unsigned char *a, *b;
        st_error e;
        st_status s, sm;
        if (t->data != NULL || strcmp(tm->name, t->name) != 0 || tm->offset != t->offset) abort();
        a = (unsigned char *)malloc((size_t)t->nbytes + 1);
        if (!a) abort();
        s = st_tensor_read(f, t, 0, a, t->nbytes, &e);
        if (s == ST_OK) {
            if (t->nbytes && memcmp(a, tm->data, (size_t)t->nbytes) != 0) abort();
        } else if (s != ST_E_IO || !r->failed || e.sys_errno == 0) {
            abort();
        }
        if (t->rank <= 8) {
            pick_slice(t, start, stop);
            sm = st_tensor_slice_size(tm, t->rank, start, stop, &nb, NULL);
            b = (unsigned char *)malloc((size_t)nb + 1);
            if (!b) abort();
            sm = st_tensor_copy_slice(tm, t->rank, start, stop, a, t->nbytes, NULL);
            s = st_tensor_read_slice(f, t, t->rank, start, stop, b, nb, &e);
            if (s != sm && !(s == ST_E_IO && r->failed)) abort();
            if (s == ST_OK && nb && memcmp(a, b, (size_t)nb) != 0) abort();
            free(b);
        }
        free(a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int codes[4] = {EIO, ST_READER_SHORT, -5, ETIMEDOUT};
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_reader rd = ST_READER_INIT;
    st_error em, er, eh;
    st_file *m = NULL, *f = NULL, *h = NULL;
    st_status sm, sr, sh;
    frd r;
    if (size < 3) return 0;
    o.flags = data[0] & (ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING);
    if (data[0] & 0x80) o.max_header_size = 1 + (((uint64_t)data[1] << 8) | data[2]);
    memset(&r, 0, sizeof r);
    r.fail_at = (data[0] >> 2) & 7u;
    r.code = codes[(data[0] >> 5) & 3u];
    data += 3;
    size -= 3;
    r.b = data;
    r.n = size;
    rd.read = frd_read;
    rd.ctx = &r;
    rd.flags = (size & 2) ? ST_READER_THREAD_SAFE : 0u;
    o.read_gap = (size & 1) ? ST_READ_GAP_NONE : 0;
    sm = st_open_memory(&m, size ? data : NULL, size, &o, &em);
    sr = st_open_reader(&f, &rd, size, &o, &er);
    if (r.failed) {
        /* a failed prefix or header read is ST_E_IO; a failed second read
         * of a file that breaks rule 2 or 3 (the format sniff) only loses
         * the name of the other format */
        if (f || sr == ST_OK) abort();
        if (sr != ST_E_IO &&
            !(r.calls == 2 && (sr == sm || ((sr == ST_E_HEADER_TOO_LARGE ||
                                             sr == ST_E_HEADER_LENGTH) &&
                                            sm == ST_E_WRONG_FORMAT))))
            abort();
        if (sr == ST_E_IO && er.sys_errno != (r.code == ST_READER_SHORT ? EIO : r.code)) abort();
    } else {
        if (sr != sm) abort();
        same_record(&em, &er);
    }
    /* no data byte at open: two reads at most after a good frame */
    if (sr == ST_OK && r.calls > 2) abort();
    if (sr == ST_OK && sm == ST_OK) compare_data(m, f, &r);
    /* header only: every prefix from 8 bytes to the whole file agrees */
    sh = st_open_header(&h, size ? data : NULL, size, size, &o, &eh);
    if (sh != sm) abort();
    same_record(&em, &eh);
    if (h) {
        uint64_t i;
        if (st_file_bytes(h) != NULL) abort();
        for (i = 0; i < st_tensor_count(h); i++) {
            unsigned char c;
            const st_tensor *t = st_tensor_at(h, i);
            if (t->data || st_tensor_read(h, t, 0, &c, t->nbytes ? 1 : 0, NULL) != ST_E_NO_DATA)
                abort();
        }
        st_close(h);
        h = NULL;
        if (size > 8) {
            sh = st_open_header(&h, data, 8 + st_file_header_size(m) - 1, size, &o, &eh);
            if (sh != ST_E_NEED_MORE || eh.offset != 8 + st_file_header_size(m)) abort();
        }
    }
    st_fuzz_sink += r.calls;
    st_close(f);
    st_close(m);
    return 0;
}
