#!/usr/bin/env python3
"""st_model.py - an independent, slow, obviously-correct model of FORMAT.md.

Written from the specification text (/work/shared/spec/FORMAT.md) and the
error semantics of the project brief / docs/errors.md, NOT from the library
sources. Python 3 standard library only; the JSON parser is hand-written (the
json module is lenient: NaN, duplicate keys, lone surrogates, no depth limit).

    check(data, allow_trailing=False, allow_nul_padding=False, max_header=0)

returns a Result:
    Result.verdict == "accept": .listing (dict with the fields st-inspect --json
        prints), .trailing (bytes accepted by the trailing leniency),
        .nul_padding (True if NUL padding was needed)
    Result.verdict == "reject": .status ("ST_E_JSON" ...), .offset (absolute file
        offset, or None), .rule (short text saying which check fired)

Besides .status, a rejection lists what the spec leaves open: .alt (other
statuses acceptable: ST_E_WRONG_FORMAT for files that look like HTML/XML), .rule6
(every rule-6 violation in the file, when rule 6 decided), .alt_offsets (for
ST_E_JSON, the start of the token or escape holding the bad byte).

Checks run in the spec's order, first failure decides:
  1 length < 8                 ST_E_HEADER_TOO_SMALL
  2 N > cap                    ST_E_HEADER_TOO_LARGE
  3 8 + N > file size          ST_E_HEADER_LENGTH
  4 header not UTF-8           ST_E_UTF8
  5 not one JSON object        ST_E_JSON
    (1-5 failing on a file that looks like another format: ST_E_WRONG_FORMAT)
  6 schema + section 5         ST_E_SCHEMA / DTYPE / METADATA / NAME / DUPLICATE,
                               walked in document order: a key is checked (duplicate,
                               NUL in a tensor name) before its value; a missing
                               field is found at the end of its entry
  7 offsets, sorted (BEGIN,END) ST_E_OFFSETS
  8 sizes                      ST_E_OVERFLOW / ST_E_PARTIAL_BYTE / ST_E_SIZE_MISMATCH
    (7 then 8 for each tensor in sorted order)
  9 coverage                   ST_E_COVERAGE
"""

U64_MAX = (1 << 64) - 1
DEFAULT_MAX_HEADER = 100000000
MAX_HEADER_LIMIT = 2000000000
MAX_DEPTH = 128

DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8,
    "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}
assert len(DTYPE_BITS) == 22

JSON_WS = b" \t\n\r"
FRAME_STATUSES = ("ST_E_HEADER_TOO_SMALL", "ST_E_HEADER_TOO_LARGE",
                  "ST_E_HEADER_LENGTH", "ST_E_UTF8", "ST_E_JSON")


class Reject(Exception):
    def __init__(self, status, offset, rule="", alt_offsets=()):
        Exception.__init__(self, status, offset, rule)
        self.status = status
        self.offset = offset
        self.rule = rule
        # ST_E_JSON: "the byte where the grammar broke" is read by some as the
        # start of the token (number, literal) or escape sequence holding it.
        self.alt_offsets = set(alt_offsets)


class Result(object):
    def __init__(self, verdict, status=None, offset=None, rule="", listing=None,
                 trailing=0, nul_padding=False, alt=(), rule6=(), alt_offsets=()):
        self.verdict = verdict
        self.alt_offsets = set(alt_offsets)
        self.alt = set(alt)      # other statuses the spec leaves room for
        self.rule6 = set(rule6)  # every rule-6 violation (when rule 6 decided)
        self.status = status
        self.offset = offset
        self.rule = rule
        self.listing = listing
        self.trailing = trailing
        self.nul_padding = nul_padding

    def key(self):
        return ("accept",) if self.verdict == "accept" else ("reject", self.status)

    def __repr__(self):
        if self.verdict == "accept":
            return "accept(%d tensors, trailing=%d, nul=%s)" % (
                len(self.listing["tensors"]), self.trailing, self.nul_padding)
        return "reject(%s at %s: %s)" % (self.status, self.offset, self.rule)


# ------------------------------------------------------------------ rule 4: UTF-8

def utf8_first_error(b):
    """Index of the first byte of the first invalid UTF-8 sequence, or None.

    RFC 3629, section 4 (the table is spelled out, nothing clever):
      00-7F
      C2-DF 80-BF
      E0 A0-BF 80-BF | E1-EC 80-BF 80-BF | ED 80-9F 80-BF | EE-EF 80-BF 80-BF
      F0 90-BF 80-BF 80-BF | F1-F3 80-BF 80-BF 80-BF | F4 80-8F 80-BF 80-BF
    """
    i, n = 0, len(b)
    while i < n:
        c = b[i]
        if c <= 0x7F:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            ranges = [(0x80, 0xBF)]
        elif c == 0xE0:
            ranges = [(0xA0, 0xBF), (0x80, 0xBF)]
        elif 0xE1 <= c <= 0xEC or 0xEE <= c <= 0xEF:
            ranges = [(0x80, 0xBF), (0x80, 0xBF)]
        elif c == 0xED:
            ranges = [(0x80, 0x9F), (0x80, 0xBF)]
        elif c == 0xF0:
            ranges = [(0x90, 0xBF), (0x80, 0xBF), (0x80, 0xBF)]
        elif 0xF1 <= c <= 0xF3:
            ranges = [(0x80, 0xBF), (0x80, 0xBF), (0x80, 0xBF)]
        elif c == 0xF4:
            ranges = [(0x80, 0x8F), (0x80, 0xBF), (0x80, 0xBF)]
        else:
            return i  # 80-BF stray continuation, C0, C1, F5-FF
        for k, (lo, hi) in enumerate(ranges):
            j = i + 1 + k
            if j >= n or not (lo <= b[j] <= hi):
                return i
        i += 1 + len(ranges)
    return None


# ------------------------------------------------------------------ rule 5: JSON

class JValue(object):
    """kind: 'obj' (items = [(key_str, key_off, JValue)]), 'arr' (items = [JValue]),
    'str' (value = str), 'num' (value = raw text str), 'lit' ('true'/'false'/'null').
    off: absolute file offset of the value's first byte."""
    __slots__ = ("kind", "off", "value", "items")

    def __init__(self, kind, off, value=None, items=None):
        self.kind = kind
        self.off = off
        self.value = value
        self.items = items


def _is_hex(c):
    return (0x30 <= c <= 0x39) or (0x41 <= c <= 0x46) or (0x61 <= c <= 0x66)


def _is_digit(c):
    return 0x30 <= c <= 0x39


class JsonParser(object):
    """Strict RFC 8259 recursive descent over the header bytes (already valid UTF-8).
    Positions are header indexes; errors carry absolute offsets (BASE + index)."""
    BASE = 8

    def __init__(self, h, allow_nul_padding):
        self.h = h
        self.n = len(h)
        self.allow_nul = allow_nul_padding
        self.nul_used = False

    def fail(self, i, why, tok=None):
        """i: the byte where the grammar broke; tok: start of the token or escape
        sequence that holds it (an accepted alternative offset)."""
        raise Reject("ST_E_JSON", self.BASE + i, "json: " + why,
                     () if tok is None else (self.BASE + tok,))

    def ws(self, i):
        while i < self.n and self.h[i] in JSON_WS:
            i += 1
        return i

    def need(self, i, what):
        if i >= self.n:
            self.fail(self.n, "unexpected end, expected " + what)

    def parse_header(self):
        i = self.ws(0)
        self.need(i, "'{'")
        if self.h[i] != 0x7B:
            self.fail(i, "top level is not an object")
        top, i = self.parse_value(i, 1)
        while i < self.n:
            c = self.h[i]
            if c in JSON_WS:
                pass
            elif c == 0 and self.allow_nul:
                self.nul_used = True
            else:
                self.fail(i, "byte 0x%02x after the top-level object" % c)
            i += 1
        return top

    def parse_value(self, i, level):
        """i: index of the value's first byte (whitespace already skipped);
        level: nesting level this value has if it is a container (top object = 1).
        Returns (JValue, index after the value)."""
        self.need(i, "a value")
        c = self.h[i]
        if c == 0x7B:  # {
            if level > MAX_DEPTH:
                self.fail(i, "nesting deeper than %d" % MAX_DEPTH)
            return self.parse_object(i, level)
        if c == 0x5B:  # [
            if level > MAX_DEPTH:
                self.fail(i, "nesting deeper than %d" % MAX_DEPTH)
            return self.parse_array(i, level)
        if c == 0x22:  # "
            s, j = self.parse_string(i)
            return JValue("str", self.BASE + i, s), j
        if c == 0x2D or _is_digit(c):
            return self.parse_number(i)
        for lit in (b"true", b"false", b"null"):
            if c == lit[0]:
                for k in range(len(lit)):
                    if i + k >= self.n:
                        self.fail(self.n, "unexpected end inside a literal", i)
                    if self.h[i + k] != lit[k]:
                        self.fail(i + k, "bad literal", i)
                self.token_end(i + len(lit), i)
                return JValue("lit", self.BASE + i, lit.decode()), i + len(lit)
        self.fail(i, "unexpected byte 0x%02x where a value was expected" % c)

    def parse_object(self, i, level):
        start = i
        items = []
        i = self.ws(i + 1)
        self.need(i, "a key or '}'")
        if self.h[i] == 0x7D:
            return JValue("obj", self.BASE + start, items=items), i + 1
        while True:
            self.need(i, "a key")
            if self.h[i] != 0x22:
                self.fail(i, "expected a string key")
            koff = self.BASE + i
            key, i = self.parse_string(i)
            i = self.ws(i)
            self.need(i, "':'")
            if self.h[i] != 0x3A:
                self.fail(i, "expected ':'")
            i = self.ws(i + 1)
            val, i = self.parse_value(i, level + 1)
            items.append((key, koff, val))
            i = self.ws(i)
            self.need(i, "',' or '}'")
            c = self.h[i]
            if c == 0x2C:
                i = self.ws(i + 1)
                continue
            if c == 0x7D:
                return JValue("obj", self.BASE + start, items=items), i + 1
            self.fail(i, "expected ',' or '}'")

    def parse_array(self, i, level):
        start = i
        items = []
        i = self.ws(i + 1)
        self.need(i, "a value or ']'")
        if self.h[i] == 0x5D:
            return JValue("arr", self.BASE + start, items=items), i + 1
        while True:
            val, i = self.parse_value(i, level + 1)
            items.append(val)
            i = self.ws(i)
            self.need(i, "',' or ']'")
            c = self.h[i]
            if c == 0x2C:
                i = self.ws(i + 1)
                continue
            if c == 0x5D:
                return JValue("arr", self.BASE + start, items=items), i + 1
            self.fail(i, "expected ',' or ']'")

    def token_end(self, i, start):
        """A number or literal must be followed by a delimiter; anything else is
        part of one bad token (RFC 8259 itself only says the next byte is wrong)."""
        if i < self.n and self.h[i] not in b" \t\n\r,]}":
            self.fail(i, "bad literal or number", start)

    def read_hex4(self, i, esc):
        """4 hex digits at i..i+3 -> int (esc: index of the escape's backslash)."""
        v = 0
        for k in range(4):
            if i + k >= self.n:
                self.fail(self.n, "unexpected end inside \\u escape", esc)
            c = self.h[i + k]
            if not _is_hex(c):
                self.fail(i + k, "bad hex digit in \\u escape", esc)
            v = v * 16 + int(chr(c), 16)
        return v

    def parse_string(self, i):
        """i at the opening quote. Returns (decoded str, index after closing quote)."""
        out = bytearray()
        j = i + 1
        while True:
            if j >= self.n:
                self.fail(self.n, "unterminated string")
            c = self.h[j]
            if c == 0x22:
                return out.decode("utf-8"), j + 1
            if c < 0x20:
                self.fail(j, "raw control character 0x%02x in a string" % c)
            if c != 0x5C:
                out.append(c)  # bytes >= 0x80 were validated as UTF-8 by rule 4
                j += 1
                continue
            if j + 1 >= self.n:
                self.fail(self.n, "unexpected end after backslash", j)
            e = self.h[j + 1]
            simple = {0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C,
                      0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09}
            if e in simple:
                out.append(simple[e])
                j += 2
                continue
            if e != 0x75:
                self.fail(j + 1, "bad escape \\%c" % e, j)
            cp = self.read_hex4(j + 2, j)
            if 0xDC00 <= cp <= 0xDFFF:
                self.fail(j, "lone low surrogate")
            if 0xD800 <= cp <= 0xDBFF:
                k = j + 6
                if not (k + 1 < self.n and self.h[k] == 0x5C and self.h[k + 1] == 0x75):
                    self.fail(j, "lone high surrogate")
                lo = self.read_hex4(k + 2, j)
                if not (0xDC00 <= lo <= 0xDFFF):
                    self.fail(j, "high surrogate followed by a non-low-surrogate escape")
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                j = k + 6
            else:
                j += 6
            out += chr(cp).encode("utf-8")

    def parse_number(self, i):
        """-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?  Stops at the first byte
        that cannot continue it; the caller judges that byte."""
        start = i
        h, n = self.h, self.n
        if h[i] == 0x2D:
            i += 1
            if i >= n:
                self.fail(n, "unexpected end after '-'", start)
            if not _is_digit(h[i]):
                self.fail(i, "no digit after '-'", start)
        if h[i] == 0x30:
            i += 1
        else:
            while i < n and _is_digit(h[i]):
                i += 1
        if i < n and h[i] == 0x2E:
            i += 1
            if i >= n:
                self.fail(n, "unexpected end after '.'", start)
            if not _is_digit(h[i]):
                self.fail(i, "no digit after '.'", start)
            while i < n and _is_digit(h[i]):
                i += 1
        if i < n and h[i] in (0x65, 0x45):
            i += 1
            if i < n and h[i] in (0x2B, 0x2D):
                i += 1
            if i >= n:
                self.fail(n, "unexpected end in an exponent", start)
            if not _is_digit(h[i]):
                self.fail(i, "no digit in the exponent", start)
            while i < n and _is_digit(h[i]):
                i += 1
        self.token_end(i, start)
        return JValue("num", self.BASE + start, h[start:i].decode("ascii")), i


# ------------------------------------------------------------------ rule 6 + section 5

KIND_NAMES = {"obj": "an object", "arr": "an array", "str": "a string",
              "num": "a number", "lit": "a literal"}


def _u64(v):
    """A JSON number token that is an integer in 0..2^64-1 -> int, else None."""
    if v.kind != "num":
        return None
    t = v.value
    if not t or not all("0" <= ch <= "9" for ch in t):
        return None  # '-', '.', 'e' make it not a plain non-negative integer
    if len(t) > 1 and t[0] == "0":
        return None  # cannot happen after the grammar, kept for clarity
    x = int(t)
    return x if x <= U64_MAX else None


def _raise(status, off, why):
    raise Reject(status, off, why)


def _check_no_dup_keys(v, err):
    """Any object anywhere inside v: a key twice (after unescaping) is DUPLICATE."""
    if v.kind == "obj":
        seen = set()
        for key, koff, val in v.items:
            if key in seen:
                err("ST_E_DUPLICATE", koff, "duplicate key in a nested object")
            seen.add(key)
            _check_no_dup_keys(val, err)
    elif v.kind == "arr":
        for val in v.items:
            _check_no_dup_keys(val, err)


def _tensor_entry(name, v, err):
    """Checks one tensor entry (document order); returns the tensor record.
    err(status, offset, why) raises (first-failure mode) or records and returns
    (collect-all mode, used only to list every rule-6 violation of a file)."""
    if v.kind != "obj":
        err("ST_E_SCHEMA", v.off, "entry of %r is %s" % (name, KIND_NAMES[v.kind]))
        return None
    seen = set()
    rec = {"name": name}
    for key, koff, val in v.items:
        if key in seen:
            err("ST_E_DUPLICATE", koff, "field %r twice in %r" % (key, name))
        seen.add(key)
        if key == "dtype":
            if val.kind != "str":
                err("ST_E_SCHEMA", val.off, "dtype is %s" % KIND_NAMES[val.kind])
            elif val.value not in DTYPE_BITS:
                err("ST_E_DTYPE", val.off, "unknown dtype %r" % val.value)
            else:
                rec["dtype"] = val.value
        elif key == "shape":
            if val.kind != "arr":
                err("ST_E_SCHEMA", val.off, "shape is %s" % KIND_NAMES[val.kind])
                continue
            dims = []
            for d in val.items:
                x = _u64(d)
                if x is None:
                    err("ST_E_SCHEMA", d.off, "bad shape element")
                dims.append(x)
            rec["shape"] = dims
            rec["shape_off"] = val.off
        elif key == "data_offsets":
            if val.kind != "arr":
                err("ST_E_SCHEMA", val.off, "data_offsets is %s" % KIND_NAMES[val.kind])
                continue
            # Element types first, in document order, then the count.
            offs = []
            for d in val.items:
                x = _u64(d)
                if x is None:
                    err("ST_E_SCHEMA", d.off, "bad data_offsets element")
                offs.append(x)
            if len(offs) != 2:
                err("ST_E_SCHEMA", val.off, "data_offsets has %d elements" % len(offs))
                continue
            rec["begin"], rec["end"] = offs
            rec["offs_off"] = val.off
        else:
            _check_no_dup_keys(val, err)  # unknown field: ignored, but no duplicate keys
    for f in ("dtype", "shape", "data_offsets"):
        if f not in seen:
            err("ST_E_SCHEMA", v.off, "%r misses %s" % (name, f))
    return rec


def _schema(top, err=_raise):
    """Rule 6 and section 5, one pass in document order. Returns (meta, tensors)."""
    seen = set()
    meta = ("absent", None)
    tensors = []
    for key, koff, val in top.items:
        if key in seen:
            err("ST_E_DUPLICATE", koff, "top-level key %r twice" % key)
        seen.add(key)
        if key == "__metadata__":
            if val.kind == "lit" and val.value == "null":
                meta = ("null", None)
            elif val.kind == "obj":
                mseen = set()
                pairs = []
                for mk, mkoff, mv in val.items:
                    if mk in mseen:
                        err("ST_E_DUPLICATE", mkoff, "metadata key %r twice" % mk)
                    mseen.add(mk)
                    if mv.kind != "str":
                        err("ST_E_METADATA", mv.off,
                            "metadata value is %s" % KIND_NAMES[mv.kind])
                    pairs.append((mk, mv.value))
                meta = ("object", pairs)
            else:
                err("ST_E_METADATA", val.off, "__metadata__ is %s" % KIND_NAMES[val.kind])
            continue
        if "\x00" in key:
            err("ST_E_NAME", koff, "NUL in tensor name")
        rec = _tensor_entry(key, val, err)
        if rec is not None:
            rec["index"] = len(tensors)
            tensors.append(rec)
    return meta, tensors


def rule6_violations(top):
    """Every rule-6 / section-5 violation in the header, as a set of statuses
    (FORMAT.md does not order the checks inside rule 6; see run_diff --rule6-any)."""
    found = set()

    def rec(status, off, why):
        found.add(status)
    _schema(top, rec)
    return found


# ------------------------------------------------------------------ other formats

def looks_like_other_format(data):
    """Name of the format a non-safetensors file looks like, or None.

    Applied to every failure of rules 1 to 5, rule 1 included, as the brief and
    docs/errors.md say ("Files that fail a rule of 1-5 and look like another
    format"; "The file failed one of rules 1 to 5"): a 4-byte "GGUF" file is
    ST_E_WRONG_FORMAT here."""
    if data.startswith(b"version https://git-lfs"):
        return "git-lfs"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return "pickle"
    if data.startswith(b"GGUF"):
        return "gguf"
    i = 0
    while i < len(data) and data[i] in JSON_WS:
        i += 1
    rest = data[i:]
    if rest.startswith(b"<!DOCTYPE html") or rest.startswith(b"<html"):
        return "html"
    return None


def may_look_like_markup(data):
    """True for files a reader may reasonably also call an HTML/XML page (the
    brief names "<!DOCTYPE html" and "<html"; docs/errors.md says "an HTML or XML
    page"): after optional whitespace and a UTF-8 BOM, '<' then a letter, '!' or '?'.
    For these ST_E_WRONG_FORMAT is an accepted alternative to the rule 1-5 status."""
    i = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while i < len(data) and data[i] in b" \t\n\r\x0b\x0c":
        i += 1
    return i + 1 < len(data) and data[i] == 0x3C and (
        0x41 <= (data[i + 1] | 0x20) - 0x20 <= 0x5A or data[i + 1] in b"!?")


# ------------------------------------------------------------------ the whole check

def check(data, allow_trailing=False, allow_nul_padding=False, max_header=0):
    data = bytes(data)
    cap = DEFAULT_MAX_HEADER if max_header == 0 else max_header
    if cap > MAX_HEADER_LIMIT:
        return Result("reject", "ST_E_INVALID_ARGUMENT", None, "cap above the limit")
    size = len(data)
    alt, rule6 = set(), set()
    try:
        try:
            # Rules 1-5.
            if size < 8:
                raise Reject("ST_E_HEADER_TOO_SMALL", 0, "rule 1")
            n = int.from_bytes(data[:8], "little")
            if n > cap:
                raise Reject("ST_E_HEADER_TOO_LARGE", 0, "rule 2")
            if 8 + n > U64_MAX or 8 + n > size:
                raise Reject("ST_E_HEADER_LENGTH", 0, "rule 3")
            h = data[8:8 + n]
            bad = utf8_first_error(h)
            if bad is not None:
                raise Reject("ST_E_UTF8", 8 + bad, "rule 4")
            parser = JsonParser(h, allow_nul_padding)
            top = parser.parse_header()
        except Reject as r:
            if r.status in FRAME_STATUSES and looks_like_other_format(data):
                raise Reject("ST_E_WRONG_FORMAT", 0, "looks like " +
                             looks_like_other_format(data) + " (" + r.rule + ")")
            if r.status in FRAME_STATUSES and may_look_like_markup(data):
                alt.add("ST_E_WRONG_FORMAT")
            raise
        # Rule 6 and section 5.
        try:
            meta, tensors = _schema(top)
        except Reject:
            rule6 = rule6_violations(top)
            raise
        # Rules 7 and 8, per tensor in (BEGIN, END) order (stable: ties keep
        # header order).
        order = sorted(tensors, key=lambda t: (t["begin"], t["end"]))
        cursor = 0
        for t in order:
            if t["begin"] != cursor:
                raise Reject("ST_E_OFFSETS", t["offs_off"], "rule 7: BEGIN != cursor")
            if t["end"] < t["begin"]:
                raise Reject("ST_E_OFFSETS", t["offs_off"], "rule 7: END < BEGIN")
            count = 1
            for d in t["shape"]:
                count *= d
                if count > U64_MAX:
                    raise Reject("ST_E_OVERFLOW", t["shape_off"], "rule 8: count")
            bits = count * DTYPE_BITS[t["dtype"]]
            if bits > U64_MAX:
                raise Reject("ST_E_OVERFLOW", t["shape_off"], "rule 8: bits")
            if bits % 8 != 0:
                raise Reject("ST_E_PARTIAL_BYTE", t["offs_off"], "rule 8: partial byte")
            if t["end"] - t["begin"] != bits // 8:
                raise Reject("ST_E_SIZE_MISMATCH", t["offs_off"], "rule 8: size")
            cursor = t["end"]
        # Rule 9.
        end = 8 + n + cursor
        trailing = 0
        if end > U64_MAX:
            raise Reject("ST_E_COVERAGE", U64_MAX, "rule 9: overflow")
        if end > size:
            raise Reject("ST_E_COVERAGE", end, "rule 9: truncated")
        if end < size:
            if not allow_trailing:
                raise Reject("ST_E_COVERAGE", end, "rule 9: trailing bytes")
            trailing = size - end
    except Reject as r:
        return Result("reject", r.status, r.offset, r.rule, alt=alt, rule6=rule6,
                      alt_offsets=r.alt_offsets)
    listing = {
        "header_size": n,
        "data_size": size - 8 - n,
        "metadata": meta[1] if meta[0] == "object" else None,
        "tensors": [{"name": t["name"], "dtype": t["dtype"], "shape": list(t["shape"]),
                     "data_offsets": [t["begin"], t["end"]]} for t in order],
    }
    return Result("accept", listing=listing, trailing=trailing,
                  nul_padding=parser.nul_used)


# ------------------------------------------------------------------ st-inspect rendering

def json_string(s):
    """The bytes st-inspect --json writes for a (UTF-8) string: '"', '\\', every
    control character and DEL escaped, \\n \\t \\r in short form, others \\u00xx."""
    out = bytearray(b'"')
    for c in s.encode("utf-8"):
        if c == 0x22:
            out += b'\\"'
        elif c == 0x5C:
            out += b"\\\\"
        elif c == 0x0A:
            out += b"\\n"
        elif c == 0x09:
            out += b"\\t"
        elif c == 0x0D:
            out += b"\\r"
        elif c < 0x20 or c == 0x7F:
            out += b"\\u%04x" % c
        else:
            out.append(c)
    out += b'"'
    return bytes(out)


def render_json(listing):
    """Exactly what `st-inspect --json` prints for an accepted file."""
    out = bytearray()
    out += b'{"header_size": %d, "data_size": %d, "metadata": ' % (
        listing["header_size"], listing["data_size"])
    if listing["metadata"] is None:
        out += b"null"
    else:
        out += b"{" + b", ".join(json_string(k) + b": " + json_string(v)
                                 for k, v in listing["metadata"]) + b"}"
    out += b', "tensors": ['
    for i, t in enumerate(listing["tensors"]):
        out += b",\n  {\"name\": " if i else b"\n  {\"name\": "
        out += json_string(t["name"])
        out += b', "dtype": "%s", "shape": [' % t["dtype"].encode()
        out += b", ".join(b"%d" % d for d in t["shape"])
        out += b'], "data_offsets": [%d, %d]}' % tuple(t["data_offsets"])
    out += b"\n]}\n" if listing["tensors"] else b"]}\n"
    return bytes(out)


# ------------------------------------------------------------------ self-test

def _self_test():
    import random
    rng = random.Random(1)
    # The hand-written UTF-8 validator agrees with Python's strict decoder
    # (which follows RFC 3629: no surrogates, no overlongs, nothing above U+10FFFF).
    alphabet = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
                0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5,
                0xF8, 0xFE, 0xFF]
    for _ in range(200000):
        b = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        mine = utf8_first_error(b)
        try:
            b.decode("utf-8")
            theirs = None
        except UnicodeDecodeError as e:
            theirs = e.start
        assert mine == theirs, (b, mine, theirs)
    for cp in list(range(0, 0x3000)) + list(range(0xD000, 0xE100)) + \
            list(range(0xFFF0, 0x10100)) + list(range(0x10FF00, 0x110000)):
        try:
            enc = chr(cp).encode("utf-8")
        except UnicodeEncodeError:
            assert 0xD800 <= cp <= 0xDFFF
            # CESU-style encoded surrogate must be refused
            enc = bytes([0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)])
            assert utf8_first_error(enc) == 0, hex(cp)
            continue
        assert utf8_first_error(enc) is None, hex(cp)

    def hdr(s, data=b"", **kw):
        h = s.encode("utf-8") if isinstance(s, str) else s
        return check(len(h).to_bytes(8, "little") + h + data, **kw)

    def st(s, data=b"", **kw):
        r = hdr(s, data, **kw)
        return r.status if r.verdict == "reject" else "OK"

    assert st("{}") == "OK"
    assert st(" \t\r\n{} \n") == "OK"
    assert st("") == "ST_E_JSON"
    assert st("{}{}") == "ST_E_JSON"
    assert st("[]") == "ST_E_JSON"
    assert st("\ufeff{}") == "ST_E_JSON"
    assert st("{} \x00") == "ST_E_JSON"
    assert st("{} \x00 ", allow_nul_padding=True) == "OK"
    assert st("\x00{}", allow_nul_padding=True) == "ST_E_JSON"
    assert st('{"a":1,}') == "ST_E_JSON"
    assert st('{"a" 1}') == "ST_E_JSON"
    assert st('{"a":1 "b":2}') == "ST_E_JSON"
    assert st('{"__metadata__":{"a":"\\ud800"}}') == "ST_E_JSON"
    assert st('{"__metadata__":{"a":"\\udc00"}}') == "ST_E_JSON"
    assert st('{"__metadata__":{"a":"\\ud800\\u0041"}}') == "ST_E_JSON"
    assert st('{"__metadata__":{"a":"\\ud83d\\ude00"}}') == "OK"
    assert st('{"__metadata__":{"a":"\x7f"}}') == "OK"
    assert st('{"__metadata__":{"a":"\x1f"}}') == "ST_E_JSON"
    assert st('{"__metadata__":{"a":"\\x"}}') == "ST_E_JSON"
    # depth: top object is level 1; x's value is level 2
    for lvl, exp in ((128, "OK"), (129, "ST_E_JSON")):
        inner = "[" * (lvl - 2) + "]" * (lvl - 2)
        s = '{"x":{"dtype":"U8","shape":[],"data_offsets":[0,1],"u":%s}}' % inner
        assert st(s, b"\x00") == exp, (lvl, st(s, b"\x00"))
    base = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    assert st(base, b"\0" * 8) == "OK"
    assert st(base, b"\0" * 9) == "ST_E_COVERAGE"
    assert st(base, b"\0" * 9, allow_trailing=True) == "OK"
    assert hdr(base, b"\0" * 9, allow_trailing=True).trailing == 1
    assert st(base, b"\0" * 7, allow_trailing=True) == "ST_E_COVERAGE"
    for num, exp in (("01", "ST_E_JSON"), ("+1", "ST_E_JSON"), ("1.", "ST_E_JSON"),
                     (".5", "ST_E_JSON"), ("-", "ST_E_JSON"), ("1e", "ST_E_JSON"),
                     ("1.0", "ST_E_SCHEMA"), ("1e0", "ST_E_SCHEMA"), ("-0", "ST_E_SCHEMA"),
                     ("-1", "ST_E_SCHEMA"), ("18446744073709551616", "ST_E_SCHEMA"),
                     ("2", "OK")):
        s = '{"w":{"dtype":"F32","shape":[%s],"data_offsets":[0,8]}}' % num
        assert st(s, b"\0" * 8) == exp, (num, st(s, b"\0" * 8))
    assert st('{"w":["F32",[2],[0,8]]}', b"\0" * 8) == "ST_E_SCHEMA"
    assert st('{"w":{"dtype":{"F32":null},"shape":[2],"data_offsets":[0,8]}}',
              b"\0" * 8) == "ST_E_SCHEMA"
    assert st('{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}', b"\0" * 8) == "ST_E_DTYPE"
    assert st('{"a\\u0000":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
              b"\0" * 8) == "ST_E_NAME"
    assert st('{"\\u005f_metadata__":null,"__metadata__":{}}') == "ST_E_DUPLICATE"
    assert st('{"__metadata__":{"a\\u0000":"\\u0000"}}') == "OK"
    assert st('{"__metadata__":"x"}') == "ST_E_METADATA"
    assert st('{"__metadata__":{"a":1}}') == "ST_E_METADATA"
    assert st('{"w":{"dtype":"F4","shape":[],"data_offsets":[0,0]}}') == "ST_E_PARTIAL_BYTE"
    assert st('{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', b"\0\0") == \
        "ST_E_PARTIAL_BYTE"
    assert st('{"w":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}', b"\0" * 3) == "OK"
    assert st('{"w":{"dtype":"U8","shape":[9223372036854775808,2,0],"data_offsets":[0,0]}}') \
        == "ST_E_OVERFLOW"
    assert st('{"w":{"dtype":"U8","shape":[0,9223372036854775808,2],"data_offsets":[0,0]}}') \
        == "OK"
    assert st('{"w":{"dtype":"U16","shape":[9223372036854775808],"data_offsets":[0,0]}}') \
        == "ST_E_OVERFLOW"
    assert st('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
              '"z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}', b"xx") == "ST_E_OFFSETS"
    assert st('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
              '"z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}}', b"xx") == "OK"
    assert check(b"GGUF\3\0\0\0\0\0\0\0").status == "ST_E_WRONG_FORMAT"
    assert check(b"<html").status == "ST_E_WRONG_FORMAT"
    assert check(b"abc").status == "ST_E_HEADER_TOO_SMALL"
    print("st_model self-test: ok")


if __name__ == "__main__":
    _self_test()
