/* Rules 7 to 9: tensors sorted by (BEGIN, END) must tile the data section from
 * byte 0 with no hole and no overlap, each tensor's byte size must match its
 * dtype and shape, and the tensors must cover the data section exactly. For
 * each tensor in that order rule 7 is checked, then rule 8, as the reference
 * reader does; rule 9 comes last. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static int st__before(const st_tensor *t, uint32_t a, uint32_t b)
{
    if (t[a].begin != t[b].begin) return t[a].begin < t[b].begin;
    if (t[a].end != t[b].end) return t[a].end < t[b].end;
    return a < b;
}

/* Stable bottom-up merge sort of indices; tmp has n entries. */
static void st__sort_by_offset(const st_tensor *t, uint32_t *idx, uint32_t *tmp, size_t n)
{
    size_t w, i;
    uint32_t *src = idx, *dst = tmp;
    for (w = 1; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t lo = i, mid = i + w < n ? i + w : n, hi = i + 2 * w < n ? i + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) dst[o++] = st__before(t, src[b], src[a]) ? src[b++] : src[a++];
            while (a < mid) dst[o++] = src[a++];
            while (b < hi) dst[o++] = src[b++];
        }
        { uint32_t *s = src; src = dst; dst = s; }
    }
    if (src != idx) memcpy(idx, src, n * sizeof *idx);
}

static const char *st__shape_str(char *buf, size_t cap, const st_tensor *t)
{
    size_t o = 0, i;
    int w;
    w = snprintf(buf, cap, "[");
    o = (size_t)w;
    for (i = 0; i < t->rank && o < cap; i++) {
        w = snprintf(buf + o, cap - o, i ? ",%llu" : "%llu", (unsigned long long)t->shape[i]);
        if (w < 0) break;
        o += (size_t)w;
        if (o + 6 >= cap && i + 1 < t->rank) {
            (void)snprintf(buf + (cap > 6 ? cap - 6 : 0), 6, ",...");
            o = cap;
            break;
        }
    }
    if (o < cap) (void)snprintf(buf + o, cap - o, "]");
    else if (cap >= 2) { buf[cap - 2] = ']'; buf[cap - 1] = '\0'; }
    return buf;
}

st_status st__validate(st_file *f, uint32_t flags, st_error *err)
{
    st_tensor *ts = f->tensors;
    size_t n = (size_t)f->ntensors, i;
    uint64_t cursor = 0, data_size = f->size - f->data_offset;
    int sorted = 1;

    for (i = 1; i < n; i++)
        if (!st__before(ts, (uint32_t)(i - 1), (uint32_t)i)) { sorted = 0; break; }
    if (!sorted) {
        uint32_t *tmp;
        f->order = (uint32_t *)st__malloc(&f->alloc, n * sizeof(uint32_t));
        tmp = (uint32_t *)st__malloc(&f->alloc, n * sizeof(uint32_t));
        if (!f->order || !tmp) {
            st__free(&f->alloc, tmp, n * sizeof(uint32_t));
            return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0,
                            "out of memory while sorting %llu tensors", (unsigned long long)n);
        }
        for (i = 0; i < n; i++) f->order[i] = (uint32_t)i;
        st__sort_by_offset(ts, f->order, tmp, n);
        st__free(&f->alloc, tmp, n * sizeof(uint32_t));
    }

    for (i = 0; i < n; i++) {
        size_t h = f->order ? f->order[i] : i;
        st_tensor *t = &ts[h];
        uint64_t shape_pos = 8 + (f->tmp_pos[h] >> 32);
        uint64_t offs_pos = 8 + (f->tmp_pos[h] & 0xffffffffu);
        uint64_t numel = 1, bits, d;
        unsigned dbits = st_dtype_bits(t->dtype);
        char sh[96], qn[80];
        uint32_t r;

        /* rule 7 */
        if (t->end < t->begin)
            return st__fail(err, ST_E_OFFSETS, offs_pos, t->name, t->name_len,
                            "tensor \"%s\": data_offsets [%llu,%llu] end before they begin (rule 7)",
                            st__quote(qn, sizeof qn, t->name, t->name_len), (unsigned long long)t->begin, (unsigned long long)t->end);
        if (t->begin != cursor) {
            if (i == 0)
                return st__fail(err, ST_E_OFFSETS, offs_pos, t->name, t->name_len,
                                "tensor \"%s\": data_offsets [%llu,%llu] but the first tensor "
                                "must start at 0: bytes [0,%llu) belong to no tensor (rule 7)",
                                st__quote(qn, sizeof qn, t->name, t->name_len), (unsigned long long)t->begin,
                                (unsigned long long)t->end, (unsigned long long)t->begin);
            if (t->begin > cursor)
                return st__fail(err, ST_E_OFFSETS, offs_pos, t->name, t->name_len,
                                "tensor \"%s\": data_offsets [%llu,%llu] leave a hole: bytes "
                                "[%llu,%llu) belong to no tensor (rule 7)",
                                st__quote(qn, sizeof qn, t->name, t->name_len), (unsigned long long)t->begin, (unsigned long long)t->end,
                                (unsigned long long)cursor, (unsigned long long)t->begin);
            return st__fail(err, ST_E_OFFSETS, offs_pos, t->name, t->name_len,
                            "tensor \"%s\": data_offsets [%llu,%llu] overlap the previous tensor, "
                            "which ends at %llu (rule 7)",
                            st__quote(qn, sizeof qn, t->name, t->name_len), (unsigned long long)t->begin, (unsigned long long)t->end,
                            (unsigned long long)cursor);
        }
        /* rule 8 */
        for (r = 0; r < t->rank; r++) {
            d = t->shape[r];
            if (d != 0 && numel > UINT64_MAX / d)
                return st__fail(err, ST_E_OVERFLOW, shape_pos, t->name, t->name_len,
                                "tensor \"%s\": shape %s: element count overflows 64 bits (rule 8)",
                                st__quote(qn, sizeof qn, t->name, t->name_len), st__shape_str(sh, sizeof sh, t));
            numel *= d;
        }
        if (numel > UINT64_MAX / dbits)
            return st__fail(err, ST_E_OVERFLOW, shape_pos, t->name, t->name_len,
                            "tensor \"%s\": %s %s: bit count overflows 64 bits (rule 8)", st__quote(qn, sizeof qn, t->name, t->name_len),
                            st_dtype_name(t->dtype), st__shape_str(sh, sizeof sh, t));
        bits = numel * dbits;
        if (bits % 8)
            return st__fail(err, ST_E_PARTIAL_BYTE, offs_pos, t->name, t->name_len,
                            "tensor \"%s\": %s %s is %llu elements of %u bits, not a whole number "
                            "of bytes (rule 8)", st__quote(qn, sizeof qn, t->name, t->name_len), st_dtype_name(t->dtype),
                            st__shape_str(sh, sizeof sh, t), (unsigned long long)numel, dbits);
        if (t->end - t->begin != bits / 8)
            return st__fail(err, ST_E_SIZE_MISMATCH, offs_pos, t->name, t->name_len,
                            "tensor \"%s\": data_offsets [%llu,%llu] but %s %s needs %llu bytes "
                            "(rule 8)", st__quote(qn, sizeof qn, t->name, t->name_len), (unsigned long long)t->begin,
                            (unsigned long long)t->end, st_dtype_name(t->dtype),
                            st__shape_str(sh, sizeof sh, t), (unsigned long long)(bits / 8));
        t->numel = numel;
        t->nbytes = bits / 8;
        t->index = i;
        cursor = t->end;
    }

    /* rule 9 (the offset saturates: END may be near 2^64) */
    if (cursor > data_size)
        return st__fail(err, ST_E_COVERAGE,
                        cursor > UINT64_MAX - f->data_offset ? UINT64_MAX : f->data_offset + cursor,
                        NULL, 0,
                        "file is truncated: the tensors need %llu data bytes but the file has "
                        "%llu after the header (%llu missing; truncated download?) (rule 9)",
                        (unsigned long long)cursor, (unsigned long long)data_size,
                        (unsigned long long)(cursor - data_size));
    if (cursor < data_size) {
        if (!(flags & ST_LENIENT_TRAILING_BYTES))
            return st__fail(err, ST_E_COVERAGE, f->data_offset + cursor, NULL, 0,
                            "%llu bytes after the last tensor's data (the tensors end at data "
                            "offset %llu, the file at %llu) (rule 9; ST_LENIENT_TRAILING_BYTES "
                            "accepts them)", (unsigned long long)(data_size - cursor),
                            (unsigned long long)cursor, (unsigned long long)data_size);
        f->leniency_used |= ST_LENIENT_TRAILING_BYTES;
        f->trailing = data_size - cursor;
    }
    for (i = 0; i < n; i++) {
        st_tensor *t = &ts[i];
        t->offset = f->data_offset + t->begin;
        /* no data in memory behind a reader or a header-only open */
        t->data = ST__SRC_HAS_DATA(f->src_kind) ? f->bytes + (size_t)t->offset : NULL;
    }
    return ST_OK;
}
