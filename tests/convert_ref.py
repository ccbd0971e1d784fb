#!/usr/bin/env python3
"""Reference values for tests/test_convert.c.

Usage: python3 tests/convert_ref.py OUT_FILE

Every expected value is computed from the definition of its format with exact
integer arithmetic (a value is sign * m * 2^k with integers m, k; rounding to a
binary format is done by one generic round-half-to-even routine), never from the
library's C code. Where Python's struct module implements the same conversion
(F16 <-> float, float <-> double) the script cross-checks itself against it.

Output, all little-endian:
  magic  b"STCVREF1", u32 section count, u32 0
  section: u32 kind, u32 dtype (pinned st_dtype number, 0 for kind 3), u64 count,
    kind 1 (every code of the dtype, code i is input i):
        u32 expected[count], u32 mask[count]
    kind 2 (listed inputs; each input is the element's raw little-endian bytes
            held in the low bytes of a u64):
        u64 input[count], u32 expected[count], u32 mask[count]
    kind 3 (float -> BF16 and F16):
        u32 input[count], u16 bf16[count], u16 bf16_mask[count],
        u16 f16[count], u16 f16_mask[count]
A result r matches when (r & mask) == (expected & mask) and, when expected is
a NaN, r is a NaN too. The mask leaves out what the contract does not fix (the
payload of a NaN made from a single-NaN format or written to BF16/F16, the sign
of the FNUZ and E8M0 NaN).
"""
import os
import random
import struct
import sys
from array import array

# Pinned st_dtype numbers (include/safetensors.h).
BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ = range(1, 9)
F4, F6_E2M3, F6_E3M2, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64 = range(9, 23)

FULL = 0xFFFFFFFF
# A NaN whose payload is not fixed: sign, exponent and quiet bit must match.
NAN_SIGNED = 0xFFC00000
# A NaN whose sign is not fixed either (FNUZ, E8M0: the format's NaN has none).
NAN_UNSIGNED = 0x7FC00000
F32_QNAN = 0x7FC00000

NAN = "nan"
INF = "inf"


# ---------------------------------------------------------------- rounding

def round_to_binary(sign, m, k, ebits, mbits):
    """Bits of sign * m * 2^k (m >= 0) in the IEEE-style binary format with
    ebits exponent bits and mbits stored mantissa bits, rounded to nearest,
    ties to even, overflowing to infinity."""
    bias = (1 << (ebits - 1)) - 1
    emin, emax = 1 - bias, bias
    sbit = sign << (ebits + mbits)
    if m == 0:
        return sbit
    e = m.bit_length() - 1 + k          # floor(log2(value))
    e = max(e, emin)                    # below emin: subnormal quantum
    qexp = e - mbits                    # value of one unit in the last place
    shift = qexp - k
    if shift <= 0:
        n = m << -shift                 # exact
    else:
        n = m >> shift
        rem = m - (n << shift)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and n & 1):
            n += 1
    if n >> (mbits + 1):                # rounded up to the next binade
        n >>= 1
        e += 1
    if e > emax:
        return sbit | (((1 << ebits) - 1) << mbits)
    if n >> mbits == 0:                 # subnormal (only when e == emin)
        return sbit | n
    return sbit | ((e + bias) << mbits) | (n - (1 << mbits))


def f32_bits(sign, m, k, exact=True):
    b = round_to_binary(sign, m, k, 8, 23)
    if exact:
        assert value_eq(decode_ieee(b, 8, 23), (sign, m, k)), "not exact in float"
    return b


def value_eq(a, b):
    (s1, m1, k1), (s2, m2, k2) = a, b
    if m1 == 0 or m2 == 0:
        return m1 == m2 and s1 == s2
    if k1 > k2:
        m1, k1 = m1 << (k1 - k2), k2
    elif k2 > k1:
        m2, k2 = m2 << (k2 - k1), k1
    return s1 == s2 and m1 == m2


def decode_ieee(bits, ebits, mbits):
    """(sign, m, k) of a finite IEEE-style code, or (sign, INF/NAN, payload)."""
    bias = (1 << (ebits - 1)) - 1
    sign = bits >> (ebits + mbits) & 1
    e = bits >> mbits & ((1 << ebits) - 1)
    man = bits & ((1 << mbits) - 1)
    if e == (1 << ebits) - 1:
        return (sign, NAN if man else INF, man)
    if e == 0:
        return (sign, man, 1 - bias - mbits)
    return (sign, man | (1 << mbits), e - bias - mbits)


def f32_from_value(v):
    """(expected, mask) for an infinity or an exactly representable value."""
    sign, m, k = v
    assert m != NAN
    if m == INF:
        return (sign << 31) | 0x7F800000, FULL
    return f32_bits(sign, m, k), FULL


# ---------------------------------------------------------------- formats

def minifloat(code, ebits, mbits, bias, kind):
    """(sign, m, k) or (sign, NAN/INF, payload) of a small float code.
    kind: 'ieee' (max exponent is inf/NaN), 'fn' (only all-ones is NaN),
    'fnuz' (1 followed by zeros is the only NaN), 'finite' (no specials)."""
    width = 1 + ebits + mbits
    sign = code >> (width - 1) & 1
    e = code >> mbits & ((1 << ebits) - 1)
    man = code & ((1 << mbits) - 1)
    if kind == "ieee" and e == (1 << ebits) - 1:
        return (sign, NAN if man else INF, man)
    if kind == "fn" and code & ((1 << (width - 1)) - 1) == (1 << (width - 1)) - 1:
        return (sign, NAN, man)
    if kind == "fnuz" and code == 1 << (width - 1):
        return (0, NAN, 0)
    if e == 0:
        return (sign, man, 1 - bias - mbits)
    return (sign, man | (1 << mbits), e - bias - mbits)


def sec_minifloat(dtype, ebits, mbits, bias, kind):
    width = 1 + ebits + mbits
    exp, mask = [], []
    for code in range(1 << width):
        v = minifloat(code, ebits, mbits, bias, kind)
        if v[1] == NAN:
            if kind == "ieee":
                # Multi-NaN format: the NaN keeps sign and payload, the payload
                # at the top of the float mantissa (quiet bit to quiet bit).
                nb = (v[0] << 31) | 0x7F800000 | (v[2] << (23 - mbits))
                e, mk = nb, FULL
            elif kind == "fnuz":
                e, mk = F32_QNAN, NAN_UNSIGNED
            else:
                e, mk = (v[0] << 31) | F32_QNAN, NAN_SIGNED
        else:
            e, mk = f32_from_value(v)
        exp.append(e)
        mask.append(mk)
    return (1, dtype, exp, mask)


def sec_e8m0():
    exp, mask = [], []
    for code in range(256):
        if code == 0xFF:
            exp.append(F32_QNAN)
            mask.append(NAN_UNSIGNED)
        else:
            exp.append(f32_bits(0, 1, code - 127))
            mask.append(FULL)
    return (1, F8_E8M0, exp, mask)


def sec_ieee16(dtype, ebits, mbits):
    exp, mask = [], []
    for code in range(1 << 16):
        v = decode_ieee(code, ebits, mbits)
        if v[1] == NAN:
            nb = (v[0] << 31) | 0x7F800000 | (v[2] << (23 - mbits))
            exp.append(nb)
            mask.append(FULL)
        else:
            e, mk = f32_from_value(v)
            exp.append(e)
            mask.append(mk)
        if dtype == F16 and v[1] != NAN:
            # Cross-check against Python's own binary16 decoder.
            x = struct.unpack("<e", struct.pack("<H", code))[0]
            assert struct.unpack("<I", struct.pack("<f", x))[0] == exp[-1], hex(code)
    return (1, dtype, exp, mask)


def sec_ints_all(dtype, width, signed):
    exp, mask = [], []
    for code in range(1 << width):
        v = code - (1 << width) if signed and code >> (width - 1) else code
        exp.append(f32_bits(1 if v < 0 else 0, abs(v), 0))
        mask.append(FULL)
    return (1, dtype, exp, mask)


def sec_bool():
    return (1, BOOL, [0] + [0x3F800000] * 255, [FULL] * 256)


def sec_ints_list(dtype, width, signed, rng):
    vals = set()
    lo = -(1 << (width - 1)) if signed else 0
    hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    for p in range(width + 1):
        for d in range(-3, 4):
            for s in ((1, -1) if signed else (1,)):
                vals.add(s * ((1 << p) + d))
    # Around every rounding step of float: x = q * 2^j with 24-bit q, ties
    # between neighbours, and one either side.
    for j in range(0, width - 23):
        for q in ((1 << 23), (1 << 23) + 1, (1 << 24) - 1, (1 << 23) + 12345, (1 << 24) - 2):
            base = q << j
            for off in (0, 1 << j >> 1, (1 << j >> 1) - 1, (1 << j >> 1) + 1, (1 << j) - 1):
                for s in ((1, -1) if signed else (1,)):
                    vals.add(s * (base + off))
    while len(vals) < 150000:
        bits = rng.randrange(1, width + 1)
        v = rng.getrandbits(bits)
        vals.add(-v if signed and rng.random() < 0.5 else v)
    vals = sorted(v for v in vals if lo <= v <= hi)
    inp, exp, mask = [], [], []
    for v in vals:
        inp.append(v & ((1 << width) - 1))
        exp.append(f32_bits(1 if v < 0 else 0, abs(v), 0, exact=False))
        mask.append(FULL)
    return (2, dtype, inp, exp, mask)


def f64_expected(b):
    v = decode_ieee(b, 11, 52)
    if v[1] == NAN:
        return (v[0] << 31) | F32_QNAN, NAN_SIGNED
    if v[1] == INF:
        return (v[0] << 31) | 0x7F800000, FULL
    r = round_to_binary(v[0], v[1], v[2], 8, 23)
    # Cross-check with Python's double -> float (one correct rounding).
    x = struct.unpack("<d", struct.pack("<Q", b))[0]
    try:
        assert struct.unpack("<I", struct.pack("<f", x))[0] == r, hex(b)
    except OverflowError:
        assert r & 0x7FFFFFFF == 0x7F800000, hex(b)
    return r, FULL


def dbits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def sec_f64(rng):
    vals = set()
    for b in (0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
              0xFFF8000000000000, 0x7FF0000000000001, 0xFFF0000000000001,
              0x7FF4000000000000, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
              0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 1, (1 << 63) | 1, 0x000FFFFFFFFFFFFF):
        vals.add(b)
    # Exact midpoints between neighbouring floats (and one double ulp either
    # side) across every float exponent, the subnormals and the overflow edge.
    for fb in list(range(0, 64)) + [0x7F7FFFFF, 0x7F7FFFFE, 0x00800000, 0x007FFFFF,
                                    0x00800001, 0x3F800000, 0x3F7FFFFF] + \
            [rng.getrandbits(31) % 0x7F800000 for _ in range(20000)]:
        s, m, k = decode_ieee(fb, 8, 23)
        # midpoint of fb and fb + 1: (2m + 1) * 2^(k-1); same k for fb + 1
        # except at a binade edge, where the step is still 2^k.
        mid_m, mid_k = 2 * m + 1, k - 1
        mid = mid_m * 2.0 ** mid_k
        for x in (mid, -mid):
            b = dbits(x)
            for d in (-1, 0, 1):
                nb = b + d
                if 0 <= nb < (1 << 64):
                    vals.add(nb)
        vals.add(dbits(m * 2.0 ** k))
    # Double values far outside float range, and random doubles of every kind.
    for _ in range(60000):
        vals.add(rng.getrandbits(64))
    for _ in range(60000):
        e = rng.randrange(1023 - 160, 1023 + 140)
        vals.add(rng.getrandbits(1) << 63 | e << 52 | rng.getrandbits(52))
    vals = sorted(vals)
    inp, exp, mask = [], [], []
    for b in vals:
        e, mk = f64_expected(b)
        inp.append(b)
        exp.append(e)
        mask.append(mk)
    return (2, F64, inp, exp, mask)


def sec_f32(rng):
    vals = {0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
            0xFF800001, 0x7FBFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x7F7FFFFF}
    while len(vals) < 100000:
        vals.add(rng.getrandbits(32))
    vals = sorted(vals)
    return (2, F32, vals, list(vals), [FULL] * len(vals))


def encode_expected(u):
    """(bf16, bf16 mask, f16, f16 mask) for the float with bits u."""
    sign = u >> 31
    v = decode_ieee(u, 8, 23)
    if v[1] == NAN:
        return (sign << 15) | 0x7FC0, 0xFFC0, (sign << 15) | 0x7E00, 0xFE00
    if v[1] == INF:
        return (sign << 15) | 0x7F80, 0xFFFF, (sign << 15) | 0x7C00, 0xFFFF
    return (round_to_binary(sign, v[1], v[2], 8, 7), 0xFFFF,
            round_to_binary(sign, v[1], v[2], 5, 10), 0xFFFF)


def sec_encode(rng):
    inputs = []
    lows = (0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF)
    for hi in range(1 << 16):
        for lo in lows:
            inputs.append(hi << 16 | lo)
        for _ in range(10):
            inputs.append(hi << 16 | rng.getrandbits(16))
    # Every F16 rounding boundary: the midpoint between each pair of
    # neighbouring F16 values (exact in float) and one float ulp either side,
    # both signs; the last pair is 65504 and the would-be 65536.
    for h in range(0x7C00):
        s, m, k = decode_ieee(h, 5, 10)
        mid = round_to_binary(0, 2 * m + 1, k - 1, 8, 23)   # exact: 12 bits
        for d in (-1, 0, 1):
            for sg in (0, 0x80000000):
                inputs.append(sg | (mid + d))
    bf, bfm, hf, hfm = array("H"), array("H"), array("H"), array("H")
    for u in inputs:
        a, am, b, bm = encode_expected(u)
        bf.append(a)
        bfm.append(am)
        hf.append(b)
        hfm.append(bm)
        if bm == 0xFFFF and u & 0x7F800000 != 0x7F800000 and (u & 0xFFF) in (0, 0xFFF, 1, 0x1000):
            # Cross-check against Python's binary16 packer on a subset.
            x = struct.unpack("<f", struct.pack("<I", u))[0]
            try:
                assert struct.unpack("<H", struct.pack("<e", x))[0] == b, hex(u)
            except OverflowError:
                assert b & 0x7FFF == 0x7C00, hex(u)
    return (3, 0, array("I", inputs), bf, bfm, hf, hfm)


# ---------------------------------------------------------------- output

def le(arr):
    if sys.byteorder == "big":
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def u32s(xs):
    a = array("I", xs)
    assert a.itemsize == 4
    return le(a)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: convert_ref.py OUT_FILE\n")
        return 2
    rng = random.Random(20240611)
    sections = [
        sec_bool(),
        sec_ints_all(U8, 8, False),
        sec_ints_all(I8, 8, True),
        sec_minifloat(F8_E5M2, 5, 2, 15, "ieee"),
        sec_minifloat(F8_E4M3, 4, 3, 7, "fn"),
        sec_e8m0(),
        sec_minifloat(F8_E4M3FNUZ, 4, 3, 8, "fnuz"),
        sec_minifloat(F8_E5M2FNUZ, 5, 2, 16, "fnuz"),
        sec_minifloat(F4, 2, 1, 1, "finite"),
        sec_minifloat(F6_E2M3, 2, 3, 1, "finite"),
        sec_minifloat(F6_E3M2, 3, 2, 3, "finite"),
        sec_ints_all(I16, 16, True),
        sec_ints_all(U16, 16, False),
        sec_ieee16(F16, 5, 10),
        sec_ieee16(BF16, 8, 7),
        sec_ints_list(I32, 32, True, rng),
        sec_ints_list(U32, 32, False, rng),
        sec_f32(rng),
        sec_f64(rng),
        sec_ints_list(I64, 64, True, rng),
        sec_ints_list(U64, 64, False, rng),
        sec_encode(rng),
    ]
    out = [b"STCVREF1", struct.pack("<II", len(sections), 0)]
    for sec in sections:
        kind, dtype = sec[0], sec[1]
        count = len(sec[2])
        out.append(struct.pack("<IIQ", kind, dtype, count))
        if kind == 1:
            out += [u32s(sec[2]), u32s(sec[3])]
        elif kind == 2:
            q = array("Q", sec[2])
            assert q.itemsize == 8
            out += [le(q), u32s(sec[3]), u32s(sec[4])]
        else:
            out += [le(sec[2])] + [le(a) for a in sec[3:]]
    tmp = sys.argv[1] + ".tmp"
    if os.path.dirname(tmp):
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(b"".join(out))
    os.replace(tmp, sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
