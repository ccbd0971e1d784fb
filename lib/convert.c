/* Conversions: every dtype to float, float to BF16 and F16.
 *
 * The byte formats decode through 256-entry tables of float bit patterns that
 * the compiler computes from the format definitions (ST__MAG and the format
 * macros below): nothing is generated outside this file and nothing global is
 * ever written. The 16-bit formats and the integers use branch-free
 * per-element code, run in blocks of a fixed length so that gcc -O2 (whose
 * "very cheap" vectorizer wants a trip count that is a multiple of the vector
 * width) vectorizes the blocks.
 *
 * Source data is little-endian. Loads go through memcpy on little-endian hosts
 * and are assembled byte by byte elsewhere. dst is written through memcpy, so
 * neither pointer needs any alignment. */
#include "internal.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(ST_CONVERT_PORTABLE_LOADS)
#define ST__LE 1
#else
/* Big-endian or unknown: assemble every multi-byte value from its bytes
 * (correct on any host; define ST_CONVERT_PORTABLE_LOADS to test this path
 * on a little-endian one). */
#define ST__LE 0
#endif

/* ---------------------------------------------------------------- tables */

/* float32 bit pattern of a finite minifloat magnitude: exponent field e,
 * mantissa field m of M bits (M <= 3), bias B. Subnormals (e == 0) are
 * normalised: the highest set bit of m, HB, becomes the implicit one. All
 * integer constant expressions. */
#define ST__HB(m) ((m) >= 4 ? 2 : (m) >= 2 ? 1 : 0)
#define ST__MAG(e, m, M, B)                                                               \
    ((e) != 0 ? ((uint32_t)((e) - (B) + 127) << 23 | (uint32_t)(m) << (23 - (M)))        \
     : (m) == 0                                                                          \
         ? 0u                                                                            \
         : ((uint32_t)(ST__HB(m) + 1 - (B) - (M) + 127) << 23 |                          \
            ((uint32_t)(m) - (1u << ST__HB(m))) << (23 - ST__HB(m))))
/* A whole code x of a format with E exponent and M mantissa bits, sign above. */
#define ST__SGN(x, E, M) ((uint32_t)(((x) >> ((E) + (M))) & 1) << 31)
#define ST__FIN(x, E, M, B)                                                               \
    (ST__SGN(x, E, M) | ST__MAG(((x) >> (M)) & ((1 << (E)) - 1), (x) & ((1 << (M)) - 1), M, B))

#define ST__QNAN 0x7fc00000u

/* OCP E4M3 (FN): bias 7, S.1111.111 is NaN, no infinities. */
#define ST__E4M3(x) (((x) & 0x7f) == 0x7f ? ST__SGN(x, 4, 3) | ST__QNAN : ST__FIN(x, 4, 3, 7))
/* OCP E5M2: bias 15, IEEE infinities and NaNs. A NaN keeps its sign and its
 * payload, placed at the top of the float mantissa (as F16 -> float does). */
#define ST__E5M2(x)                                                                        \
    (((x) & 0x7c) == 0x7c ? ST__SGN(x, 5, 2) | 0x7f800000u | (uint32_t)((x) & 3) << 21     \
                          : ST__FIN(x, 5, 2, 15))
/* FNUZ: 0x80 is the only NaN (no sign), no infinities, no negative zero. */
#define ST__E4M3FNUZ(x) ((x) == 0x80 ? ST__QNAN : ST__FIN(x, 4, 3, 8))
#define ST__E5M2FNUZ(x) ((x) == 0x80 ? ST__QNAN : ST__FIN(x, 5, 2, 16))
/* E8M0: 2^(x-127); x = 0 is 2^-127, a float subnormal; 0xFF is NaN. */
#define ST__E8M0(x) ((x) == 0xff ? ST__QNAN : (x) == 0 ? 0x00400000u : (uint32_t)(x) << 23)
/* MX sub-byte formats: all codes finite. */
#define ST__E2M1(x) ST__FIN(x, 2, 1, 1)
#define ST__E2M3(x) ST__FIN(x, 2, 3, 1)
#define ST__E3M2(x) ST__FIN(x, 3, 2, 3)

#define ST__R4(F, x) F((x) + 0), F((x) + 1), F((x) + 2), F((x) + 3)
#define ST__R16(F, x) ST__R4(F, (x) + 0), ST__R4(F, (x) + 4), ST__R4(F, (x) + 8), ST__R4(F, (x) + 12)
#define ST__R64(F, x) \
    ST__R16(F, (x) + 0), ST__R16(F, (x) + 16), ST__R16(F, (x) + 32), ST__R16(F, (x) + 48)
#define ST__R256(F) ST__R64(F, 0), ST__R64(F, 64), ST__R64(F, 128), ST__R64(F, 192)

static const uint32_t st__lut_e4m3[256] = {ST__R256(ST__E4M3)};
static const uint32_t st__lut_e5m2[256] = {ST__R256(ST__E5M2)};
static const uint32_t st__lut_e4m3fnuz[256] = {ST__R256(ST__E4M3FNUZ)};
static const uint32_t st__lut_e5m2fnuz[256] = {ST__R256(ST__E5M2FNUZ)};
static const uint32_t st__lut_e8m0[256] = {ST__R256(ST__E8M0)};
static const uint32_t st__lut_e2m1[16] = {ST__R16(ST__E2M1, 0)};
static const uint32_t st__lut_e2m3[64] = {ST__R64(ST__E2M3, 0)};
static const uint32_t st__lut_e3m2[64] = {ST__R64(ST__E3M2, 0)};

/* ---------------------------------------------------------------- loads, stores */

static uint16_t st__ld16(const unsigned char *p)
{
    uint16_t v;
    if (ST__LE) {
        memcpy(&v, p, 2);
        return v;
    }
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t st__ld32(const unsigned char *p)
{
    uint32_t v;
    if (ST__LE) {
        memcpy(&v, p, 4);
        return v;
    }
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t st__ld64(const unsigned char *p)
{
    uint64_t v;
    if (ST__LE) {
        memcpy(&v, p, 8);
        return v;
    }
    return (uint64_t)st__ld32(p) | (uint64_t)st__ld32(p + 4) << 32;
}

static void st__st32(unsigned char *d, uint32_t u)
{
    memcpy(d, &u, 4);
}

static void st__stf(unsigned char *d, float f)
{
    memcpy(d, &f, 4);
}

static uint32_t st__fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---------------------------------------------------------------- kernels */

/* Block length: a multiple of every vector width, small enough to stay in L1. */
#define ST__BLK 256

/* Runs kernel K over n elements of ssz source bytes each, in blocks of the
 * constant length ST__BLK and one shorter tail block. */
#define ST__BLOCKED(K, s, ssz, d, n)                                                       \
    do {                                                                                   \
        size_t i_ = 0;                                                                     \
        for (; (n) - i_ >= ST__BLK; i_ += ST__BLK)                                         \
            K((s) + (ssz) * i_, (d) + 4 * i_, ST__BLK);                                    \
        if (i_ < (n)) K((s) + (ssz) * i_, (d) + 4 * i_, (n) - i_);                         \
    } while (0)

static void st__k_lut8(const uint32_t *restrict lut, const unsigned char *restrict s,
                       unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__st32(d + 4 * i, lut[s[i]]);
}

static void st__k_bf16(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__st32(d + 4 * i, (uint32_t)st__ld16(s + 2 * i) << 16);
}

/* F16: normals rebias the exponent; infinities and NaNs keep sign and payload
 * (the float mantissa gets the F16 one at its top, so the quiet bit stays the
 * quiet bit); subnormals are em * 2^-24, exact as float arithmetic. */
static uint32_t st__f16_bits(uint32_t h)
{
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    uint32_t norm = (em << 13) + ((uint32_t)(127 - 15) << 23);
    uint32_t special = (em << 13) | 0x7f800000u;
    uint32_t sub = st__fbits((float)(int32_t)em * 0x1p-24f);
    /* Selects by masks: gcc -O2 does not if-convert the ternary form. */
    uint32_t is_special = 0u - (uint32_t)(em >= 0x7c00u);
    uint32_t is_sub = 0u - (uint32_t)(em < 0x0400u);
    uint32_t r = (special & is_special) | (norm & ~is_special);
    r = (sub & is_sub) | (r & ~is_sub);
    return sign | r;
}

static void st__k_f16(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__st32(d + 4 * i, st__f16_bits(st__ld16(s + 2 * i)));
}

/* memmove: converting F32 "in place" (src == dst) is a natural call to make. */
static void st__k_f32(const unsigned char *s, unsigned char *d, size_t n)
{
    size_t i;
    if (ST__LE) {
        memmove(d, s, 4 * n);
        return;
    }
    for (i = 0; i < n; i++) st__st32(d + 4 * i, st__ld32(s + 4 * i));
}

/* The cast rounds to nearest even. A NaN is rewritten (sign, top of the
 * payload, quiet bit) because what a cast gives for NaN varies by architecture
 * (RISC-V returns the canonical NaN without its sign); NaNs are rare, so that
 * is a second pass over blocks that hold one. */
static void st__k_f64(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    unsigned nan = 0;
    for (i = 0; i < n; i++) {
        uint64_t u = st__ld64(s + 8 * i);
        double x;
        float f;
        memcpy(&x, &u, 8);
        f = (float)x;
        nan |= f != f;
        st__stf(d + 4 * i, f);
    }
    if (!nan) return;
    for (i = 0; i < n; i++) {
        uint64_t u = st__ld64(s + 8 * i);
        if ((u & 0x7fffffffffffffffu) > 0x7ff0000000000000u)
            st__st32(d + 4 * i, ((uint32_t)(u >> 32) & 0x80000000u) | ST__QNAN |
                                    ((uint32_t)(u >> 29) & 0x3fffffu));
    }
}

static void st__k_bool(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__st32(d + 4 * i, s[i] ? 0x3f800000u : 0u);
}

static void st__k_u8(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__stf(d + 4 * i, (float)s[i]);
}

static void st__k_i8(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__stf(d + 4 * i, (float)((int32_t)s[i] - ((int32_t)(s[i] & 0x80) << 1)));
}

static void st__k_u16(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__stf(d + 4 * i, (float)st__ld16(s + 2 * i));
}

static void st__k_i16(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t v = st__ld16(s + 2 * i);
        st__stf(d + 4 * i, (float)((int32_t)v - (int32_t)((v & 0x8000u) << 1)));
    }
}

/* Two's complement reinterpretation without implementation-defined casts. */
static int32_t st__s32(uint32_t v)
{
    return v < 0x80000000u ? (int32_t)v : (int32_t)(v - 0x80000000u) - INT32_MAX - 1;
}

/* Number of significant bits of v (0 for 0). */
static unsigned st__bitlen64(uint64_t v)
{
#if defined(__GNUC__)
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
#else
    unsigned n = 0;
    if (v >> 32) { v >>= 32; n += 32; }
    if (v >> 16) { v >>= 16; n += 16; }
    if (v >> 8) { v >>= 8; n += 8; }
    if (v >> 4) { v >>= 4; n += 4; }
    if (v >> 2) { v >>= 2; n += 2; }
    if (v >> 1) { v >>= 1; n += 1; }
    return n + (unsigned)v;
#endif
}

/* Float bits of a 64-bit magnitude, rounded to nearest even. Not a plain
 * cast: valgrind emulates the 64-bit integer -> float instruction through
 * double, rounding twice; here values of 53 bits or more round in integer
 * arithmetic. */
static uint32_t st__u64_f32bits(uint64_t m)
{
    unsigned e, sh;
    uint64_t q, rem, half;
    /* below 2^53 the double is exact, so the float cast is the one rounding */
    if (m < ((uint64_t)1 << 53)) return st__fbits((float)(double)m);
    e = st__bitlen64(m) - 1; /* 53..63 */
    sh = e - 23;
    q = m >> sh;
    rem = m & (((uint64_t)1 << sh) - 1);
    half = (uint64_t)1 << (sh - 1);
    q += rem > half || (rem == half && (q & 1));
    /* q == 2^24 after a carry: the mantissa overflows into the exponent */
    return ((uint32_t)(e + 127) << 23) + (uint32_t)(q - 0x800000u);
}

static void st__k_u32(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__stf(d + 4 * i, (float)st__ld32(s + 4 * i));
}

static void st__k_i32(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__stf(d + 4 * i, (float)st__s32(st__ld32(s + 4 * i)));
}

static void st__k_u64(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) st__st32(d + 4 * i, st__u64_f32bits(st__ld64(s + 8 * i)));
}

static void st__k_i64(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t u = st__ld64(s + 8 * i);
        uint64_t neg = u >> 63;
        uint64_t mag = (u ^ (0u - neg)) + neg; /* |v|, 2^63 for the minimum */
        st__st32(d + 4 * i, (uint32_t)neg << 31 | st__u64_f32bits(mag));
    }
}

/* ---------------------------------------------------------------- sub-byte formats */

/* F4: element i is the low nibble of byte i/2 when i is even, the high one
 * when odd. */
static void st__f4(const unsigned char *restrict s, uint64_t first, size_t n,
                   unsigned char *restrict d)
{
    const uint32_t *lut = st__lut_e2m1;
    const unsigned char *p = s + first / 2;
    size_t i, pairs;
    if (n && (first & 1)) {
        st__st32(d, lut[*p++ >> 4]);
        d += 4;
        n--;
    }
    pairs = n / 2;
    for (i = 0; i < pairs; i++) {
        st__st32(d + 8 * i, lut[p[i] & 15]);
        st__st32(d + 8 * i + 4, lut[p[i] >> 4]);
    }
    if (n & 1) st__st32(d + 8 * pairs, lut[p[pairs] & 15]);
}

/* F6 element i: group i/4 is the 24-bit little-endian word of bytes
 * 3(i/4)..3(i/4)+2, and element j of a group is its bits 6j..6j+5. Reads only
 * the one or two bytes the element occupies. */
static unsigned st__f6_code(const unsigned char *s, uint64_t i)
{
    const unsigned char *p = s + (size_t)(i / 4) * 3;
    switch ((unsigned)(i & 3)) {
    case 0: return p[0] & 63u;
    case 1: return (unsigned)(p[0] >> 6 | (p[1] & 15) << 2);
    case 2: return (unsigned)(p[1] >> 4 | (p[2] & 3) << 4);
    default: return (unsigned)(p[2] >> 2);
    }
}

static void st__f6(const uint32_t *restrict lut, const unsigned char *restrict s, uint64_t first,
                   size_t n, unsigned char *restrict d)
{
    const unsigned char *p;
    size_t g, groups;
    for (; n && (first & 3); first++, n--, d += 4) st__st32(d, lut[st__f6_code(s, first)]);
    p = s + (size_t)(first / 4) * 3;
    groups = n / 4;
    for (g = 0; g < groups; g++) {
        uint32_t w = (uint32_t)p[3 * g] | (uint32_t)p[3 * g + 1] << 8 | (uint32_t)p[3 * g + 2] << 16;
        st__st32(d + 16 * g, lut[w & 63]);
        st__st32(d + 16 * g + 4, lut[w >> 6 & 63]);
        st__st32(d + 16 * g + 8, lut[w >> 12 & 63]);
        st__st32(d + 16 * g + 12, lut[w >> 18]);
    }
    first += (uint64_t)groups * 4;
    d += 16 * groups;
    for (n -= groups * 4; n; first++, n--, d += 4) st__st32(d, lut[st__f6_code(s, first)]);
}

/* ---------------------------------------------------------------- to float */

st_status st_convert_to_f32(int dtype, const void *src, uint64_t first, uint64_t count,
                            float *dst)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *d = (unsigned char *)dst;
    unsigned bits = st_dtype_bits(dtype);
    uint64_t end = first + count;
    size_t n, esz = bits >= 8 ? bits / 8 : 1;

    if (bits == 0) return ST_E_INVALID_ARGUMENT;
    if (count > 0 && (!src || !dst)) return ST_E_INVALID_ARGUMENT;
    if (dtype == ST_C64) return ST_E_DTYPE_MISMATCH;
    if (count == 0) return ST_OK;
    /* The source bytes up to element end and the count floats of dst must be
     * addressable; a range past that cannot describe real buffers. */
    if (end < first || end > (uint64_t)(SIZE_MAX / (esz > 4 ? esz : 4)))
        return ST_E_INVALID_ARGUMENT;
    n = (size_t)count;
    if (bits >= 8) s += (size_t)first * esz;

    switch (dtype) {
    case ST_BOOL: ST__BLOCKED(st__k_bool, s, 1, d, n); break;
    case ST_U8: ST__BLOCKED(st__k_u8, s, 1, d, n); break;
    case ST_I8: ST__BLOCKED(st__k_i8, s, 1, d, n); break;
    case ST_F8_E5M2: st__k_lut8(st__lut_e5m2, s, d, n); break;
    case ST_F8_E4M3: st__k_lut8(st__lut_e4m3, s, d, n); break;
    case ST_F8_E8M0: st__k_lut8(st__lut_e8m0, s, d, n); break;
    case ST_F8_E4M3FNUZ: st__k_lut8(st__lut_e4m3fnuz, s, d, n); break;
    case ST_F8_E5M2FNUZ: st__k_lut8(st__lut_e5m2fnuz, s, d, n); break;
    case ST_F4: st__f4(s, first, n, d); break;
    case ST_F6_E2M3: st__f6(st__lut_e2m3, s, first, n, d); break;
    case ST_F6_E3M2: st__f6(st__lut_e3m2, s, first, n, d); break;
    case ST_I16: ST__BLOCKED(st__k_i16, s, 2, d, n); break;
    case ST_U16: ST__BLOCKED(st__k_u16, s, 2, d, n); break;
    case ST_F16: ST__BLOCKED(st__k_f16, s, 2, d, n); break;
    case ST_BF16: ST__BLOCKED(st__k_bf16, s, 2, d, n); break;
    case ST_I32: ST__BLOCKED(st__k_i32, s, 4, d, n); break;
    case ST_U32: ST__BLOCKED(st__k_u32, s, 4, d, n); break;
    case ST_F32: st__k_f32(s, d, n); break;
    case ST_F64: ST__BLOCKED(st__k_f64, s, 8, d, n); break;
    case ST_I64: ST__BLOCKED(st__k_i64, s, 8, d, n); break;
    case ST_U64: ST__BLOCKED(st__k_u64, s, 8, d, n); break;
    default: return ST_E_INVALID_ARGUMENT;
    }
    return ST_OK;
}

st_status st_tensor_to_f32(const st_tensor *t, uint64_t first, uint64_t count, float *dst)
{
    if (!t || (count > 0 && !dst)) return ST_E_INVALID_ARGUMENT;
    if (t->dtype == ST_C64) return ST_E_DTYPE_MISMATCH;
    if (!t->data) return ST_E_NO_DATA; /* st_open_reader / st_open_header */
    if (first > t->numel || count > t->numel - first) return ST_E_RANGE;
    return st_convert_to_f32((int)t->dtype, t->data, first, count, dst);
}

/* ---------------------------------------------------------------- from float */

/* Round to nearest even on the top 16 bits; NaN: sign and top payload bits
 * kept, quiet bit set (so a payload cut to zero still reads as NaN). */
static uint16_t st__to_bf16(uint32_t u)
{
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t q = (u >> 16) | 0x0040u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? q : r);
}

/* Integer only, so the result does not depend on the FP rounding mode or on
 * flush-to-zero settings. */
static uint16_t st__to_f16(uint32_t u)
{
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    uint32_t r;
    if (a >= 0x38800000u && a < 0x477ff000u) {
        /* 2^-14 <= |x| < 65520: rebias, round on the 13 dropped bits (a carry
         * into the exponent is the right answer, up to 0x7bff). */
        r = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
    } else if (a > 0x7f800000u) {
        r = 0x7e00u | ((a >> 13) & 0x3ffu);
    } else if (a >= 0x477ff000u) {
        /* 65520 is the midpoint between 65504 (odd mantissa) and 2^16. */
        r = 0x7c00u;
    } else {
        /* F16 subnormal range: round |x| / 2^-24 to an integer; 1024 is the
         * smallest normal, which the encoding gives for free. */
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x7fffffu) | (e ? 0x800000u : 0u);
        uint32_t sh = 126u - (e ? e : 1u); /* >= 14 */
        if (sh > 24) {
            r = 0; /* m < 2^24, so |x| / 2^-24 < 1/2 */
        } else {
            uint32_t q = m >> sh, rem = m & ((1u << sh) - 1u), half = 1u << (sh - 1u);
            r = q + (rem > half || (rem == half && (q & 1u)));
        }
    }
    return (uint16_t)(sign | r);
}

static void st__k_to_bf16(const unsigned char *restrict s, unsigned char *restrict d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t u;
        uint16_t h;
        memcpy(&u, s + 4 * i, 4);
        h = st__to_bf16(u);
        memcpy(d + 2 * i, &h, 2);
    }
}

void st_f32_to_bf16(const float *src, uint16_t *dst, size_t count)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *d = (unsigned char *)dst;
    size_t i = 0;
    if (!src || !dst) return;
    for (; count - i >= ST__BLK; i += ST__BLK) st__k_to_bf16(s + 4 * i, d + 2 * i, ST__BLK);
    if (i < count) st__k_to_bf16(s + 4 * i, d + 2 * i, count - i);
}

/* One block of ST__BLK elements. The main pass is branch-free so that it
 * vectorizes: NaN, overflow, normal results, and zero for |x| <= 2^-25.
 * Results in the F16 subnormal range need a per-element shift, so a block
 * holding one gets a second, scalar pass. The trip count is a constant here
 * (not a parameter): gcc -O2 vectorizes only loops it need not peel. */
static void st__k_to_f16(const unsigned char *restrict s, unsigned char *restrict d)
{
    size_t i;
    uint32_t sub = 0;
    for (i = 0; i < ST__BLK; i++) {
        uint32_t u, a, r, m;
        uint16_t h;
        memcpy(&u, s + 4 * i, 4);
        a = u & 0x7fffffffu;
        r = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
        m = 0u - (uint32_t)(a >= 0x477ff000u);
        r = (0x7c00u & m) | (r & ~m);
        m = 0u - (uint32_t)(a > 0x7f800000u);
        r = ((0x7e00u | ((a >> 13) & 0x3ffu)) & m) | (r & ~m);
        m = 0u - (uint32_t)(a <= 0x33000000u);
        r &= ~m;
        sub |= 0u - (uint32_t)(a - 0x33000001u < 0x38800000u - 0x33000001u);
        h = (uint16_t)(((u >> 16) & 0x8000u) | r);
        memcpy(d + 2 * i, &h, 2);
    }
    if (!sub) return;
    for (i = 0; i < ST__BLK; i++) {
        uint32_t u;
        memcpy(&u, s + 4 * i, 4);
        if ((u & 0x7fffffffu) < 0x38800000u) {
            uint16_t h = st__to_f16(u);
            memcpy(d + 2 * i, &h, 2);
        }
    }
}

void st_f32_to_f16(const float *src, uint16_t *dst, size_t count)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *d = (unsigned char *)dst;
    size_t i = 0;
    if (!src || !dst) return;
    for (; count - i >= ST__BLK; i += ST__BLK) st__k_to_f16(s + 4 * i, d + 2 * i);
    for (; i < count; i++) {
        uint32_t u;
        uint16_t h;
        memcpy(&u, s + 4 * i, 4);
        h = st__to_f16(u);
        memcpy(d + 2 * i, &h, 2);
    }
}
