#!/usr/bin/env python3
"""run_diff.py - differential harness: st-inspect (the library) against st_model.py.

Generates safetensors files from a deterministic PRNG seeded per case
("SEED/INDEX", so any case can be regenerated alone): valid files of many shapes
(random names with escapes and Unicode, all 22 dtypes, zero-size tensors,
scalars, metadata, unknown fields, whitespace, padding, sometimes hundreds of
tensors or metadata keys), then mutations of them (tree level: duplicate keys,
bad numbers, bad escapes, bad dtypes, missing/renamed fields, wrong shapes and
offsets, zero-size tensors inside others, sizes near 2^64, deep nesting; header
bytes: flips, insertions, deletions, invalid UTF-8, BOM, NUL padding, comments,
syntax breaks; file: truncation, trailing bytes, odd N values, other formats'
signatures), with random leniency flags (--allow-trailing, --allow-nul-padding)
and sometimes --max-header. Each file goes through `st-inspect --json` (one run
per file) and `st-inspect --check` (batched), and through the model
(tests/diff/st_model.py). They must agree:
  - accept/reject;
  - on accept: the --json output byte for byte (the model renders what st-inspect
    prints), and the --check line (tensor count, leniency used);
  - on reject: the status name ([ST_E_...] on stderr), and with --offsets the
    error offset (for ST_E_JSON the model also allows the start of the token or
    escape holding the bad byte).
Tolerated without --offsets or any option: a file that looks like an HTML/XML
page (the library's detection is broader than the brief's two strings) may be
ST_E_WRONG_FORMAT or the rule 1-5 status. With --rule6-any, a different rule-6
status is tolerated when the file breaks rule 6 that way too (FORMAT.md does not
say in which order rule-6 checks run; the model uses document order).
Each disagreement is printed with its seed/case, minimized (JSON-structural cuts,
then byte deletions; the first case of each kind), and saved under build/diff/
as SEED-CASE.orig.st, .min.st and .txt.

Usage:
  python3 tests/diff/run_diff.py [--cases 3000] [--seed 1] [--inspect PATH]
        [--jobs N] [--offsets] [--rule6-any] [--no-check] [--no-minimize]
        [--out build/diff] [--max-report 30] [--verbose]
The last line is always `diff: N passed, M failed`; exit status 1 if M > 0.
st-inspect is --inspect, else $ST_INSPECT, else build/st-inspect (make lib
examples; with B=build/X it is build/X/st-inspect). A default run (3000 cases)
takes about 10 s on 2 cores.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import st_model  # noqa: E402

U64_MAX = (1 << 64) - 1
DTYPES = sorted(st_model.DTYPE_BITS)

# ===================================================================== JSON tree

class Node(object):
    """kind 'obj': val = list of [key_token_bytes, Node]; 'arr': list of Node;
    'raw': bytes (a complete token, or anything). role tags what it stands for."""
    __slots__ = ("kind", "val", "role")

    def __init__(self, kind, val, role=None):
        self.kind = kind
        self.val = val
        self.role = role


def raw(b, role=None):
    return Node("raw", b if isinstance(b, bytes) else b.encode("utf-8"), role)


class Ws(object):
    def __init__(self, rng, mode):
        self.rng = rng
        self.mode = mode

    def __call__(self):
        if self.mode == "none":
            return b""
        if self.mode == "space":
            return b" " if self.rng.random() < 0.5 else b""
        if self.mode == "bad":  # mostly fine, rarely a byte that is not JSON whitespace
            if self.rng.random() < 0.97:
                return b"" if self.rng.random() < 0.8 else b" "
            return self.rng.choice([b"\x0b", b"\x0c", b"\xc2\xa0", b"\x00", b"\xe3\x80\x80",
                                    b"\xef\xbb\xbf", b"\x1c", b"\x85"])
        if self.rng.random() < 0.7:
            return b""
        return bytes(self.rng.choice(b" \t\n\r") for _ in range(self.rng.randint(1, 3)))


def serialize(node, ws, out):
    if node.kind == "raw":
        out += node.val
    elif node.kind == "obj":
        out += b"{"
        for i, (k, v) in enumerate(node.val):
            if i:
                out += b","
            out += ws() + k + ws() + b":" + ws()
            serialize(v, ws, out)
            out += ws()
        if not node.val:
            out += ws()
        out += b"}"
    else:
        out += b"["
        for i, v in enumerate(node.val):
            if i:
                out += b","
            out += ws()
            serialize(v, ws, out)
            out += ws()
        if not node.val:
            out += ws()
        out += b"]"


# ===================================================================== strings

SHORT_ESC = {0x22: b'\\"', 0x5C: b"\\\\", 0x2F: b"\\/", 0x08: b"\\b", 0x0C: b"\\f",
             0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t"}


def u_esc(rng, cp):
    s = "\\u%04x" % cp
    return (s.upper().replace("\\U", "\\u") if rng.random() < 0.5 else s).encode()


def enc_char(rng, ch, p_esc):
    cp = ord(ch)
    must = cp < 0x20 or ch in '"\\'
    if not must and rng.random() >= p_esc:
        return ch.encode("utf-8")
    if cp in SHORT_ESC and rng.random() < 0.6:
        return SHORT_ESC[cp]
    if cp >= 0x10000:
        v = cp - 0x10000
        return u_esc(rng, 0xD800 + (v >> 10)) + u_esc(rng, 0xDC00 + (v & 0x3FF))
    return u_esc(rng, cp)


def enc_str(rng, s, p_esc=None):
    """A JSON string token (bytes) for s, with random escaping choices."""
    if p_esc is None:
        p_esc = rng.choice((0.0, 0.0, 0.05, 0.3, 1.0))
    return b'"' + b"".join(enc_char(rng, ch, p_esc) for ch in s) + b'"'


def other_enc(rng, s):
    """A different spelling of the same string (when there is one)."""
    for _ in range(6):
        t = enc_str(rng, s, rng.choice((0.5, 1.0)))
        if t != enc_str(random.Random(0), s, 0.0):
            return t
    return enc_str(rng, s, 1.0)


NAME_CHARS = ("abcdefghijklmnopqrstuvwxyz" * 3 + "ABCXYZ0123456789._-/ :" +
              '"\\\n\t\x01\x1f\x7f' + "éß中文😀\u2028\ufeff\u0301\U0010FFFF\uFFFF\u00a0")


def rand_text(rng, maxlen=10):
    r = rng.random()
    if r < 0.06:
        return ""
    if r < 0.10:
        return rng.choice(["__metadata_", "__metadata__ ", "_metadata__", "__METADATA__",
                           "dtype", "shape", "data_offsets", "F32", "a\u0000"[:1]])
    return "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, maxlen)))


# ===================================================================== valid files

def rand_shape(rng, dtype):
    bits = st_model.DTYPE_BITS[dtype]
    for _ in range(50):
        r = rng.random()
        if r < 0.12:
            shape = []
        elif r < 0.2:
            # zero-size with big other dims (count 0, never overflows left to right)
            shape = [0] + [rng.choice((1, 7, 1 << 32, U64_MAX)) for _ in range(rng.randint(0, 3))]
        elif r < 0.25:
            shape = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))] + [0]
        else:
            shape = [rng.choice((1, 1, 2, 2, 3, 4, 5, 8)) for _ in range(rng.randint(1, 4))]
        count = 1
        for d in shape:
            count *= d
        if (count * bits) % 8 == 0 and count * bits <= 8 * 4096:
            return shape, count * bits // 8
    return [8], bits


def rand_json_value(rng, depth=0):
    """Random valid JSON for unknown fields (objects without duplicate keys)."""
    r = rng.random()
    if depth > 3 or r < 0.5:
        return raw(rng.choice([
            "0", "-0", "1.5", "-2.5e-3", "1E+10", "123456789012345678901234567890",
            "true", "false", "null", '""', '"x"', "-1", "0.0", "1e400"]) if rng.random() < 0.6
            else enc_str(rng, rand_text(rng)))
    if r < 0.75:
        return Node("arr", [rand_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))])
    keys = []
    for _ in range(rng.randint(0, 3)):
        k = rand_text(rng, 5)
        if k not in keys:
            keys.append(k)
    return Node("obj", [[enc_str(rng, k), rand_json_value(rng, depth + 1)] for k in keys],
                "unknown")


class Case(object):
    def __init__(self):
        self.top = None        # Node obj
        self.data = b""        # data section
        self.ws_mode = "none"
        self.lead_ws = b""
        self.pad = True
        self.flags = []        # st-inspect options
        self.muts = []         # names of the mutations applied
        self.file = None       # final bytes


def gen_valid(rng):
    c = Case()
    ntens = rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12))
    if rng.random() < 0.02:
        ntens = rng.randint(50, 300)
    names = []
    while len(names) < ntens:
        n = rand_text(rng) if rng.random() < 0.97 else rand_text(rng, 200)
        if ntens > 20 and rng.random() < 0.5:
            n = "layer.%d.%s" % (len(names), n)
        if n not in names and n != "__metadata__" and "\x00" not in n:
            names.append(n)
    tensors = []
    for n in names:
        dt = rng.choice(DTYPES)
        shape, nbytes = rand_shape(rng, dt)
        tensors.append({"name": n, "dtype": dt, "shape": shape, "nbytes": nbytes})
    # data layout: a random permutation, contiguous from 0
    order = list(range(ntens))
    rng.shuffle(order)
    cur = 0
    data = bytearray()
    for i in order:
        t = tensors[i]
        t["begin"], t["end"] = cur, cur + t["nbytes"]
        cur += t["nbytes"]
        if rng.random() < 0.5:
            data += bytes(t["nbytes"])
        else:
            data += bytes(rng.getrandbits(8) for _ in range(t["nbytes"]))
    c.data = bytes(data)
    items = []
    for t in tensors:
        fields = [[enc_str(rng, "dtype", rng.choice((0, 0, 0, 0.5))), raw(enc_str(rng, t["dtype"], rng.choice((0, 0, 0, 0.3))), "dtype")],
                  [enc_str(rng, "shape", rng.choice((0, 0, 0, 0.5))),
                   Node("arr", [raw(str(d), "dim") for d in t["shape"]], "shape")],
                  [enc_str(rng, "data_offsets", rng.choice((0, 0, 0, 0.5))),
                   Node("arr", [raw(str(t["begin"]), "off"), raw(str(t["end"]), "off")],
                        "offsets")]]
        if rng.random() < 0.2:
            for _ in range(rng.randint(1, 2)):
                k = rand_text(rng, 6)
                if k not in ("dtype", "shape", "data_offsets") and \
                        all(k != st_model.JsonParser(f[0], False).parse_string(0)[0] for f in fields):
                    fields.append([enc_str(rng, k), rand_json_value(rng)])
        rng.shuffle(fields)
        items.append([enc_str(rng, t["name"]), Node("obj", fields, "entry")])
    r = rng.random()
    if r < 0.45:
        meta = None
    elif r < 0.55:
        meta = raw("null", "metanull")
    else:
        keys = []
        for _ in range(rng.choice((0, 1, 1, 2, 3, 5)) if rng.random() < 0.97
                       else rng.randint(50, 300)):
            k = rand_text(rng, 8)
            if rng.random() < 0.05:
                k += "\x00"
            if k not in keys:
                keys.append(k)
        meta = Node("obj", [[enc_str(rng, k), raw(enc_str(rng, rand_text(rng, 20)), "metaval")]
                            for k in keys], "meta")
    if meta is not None:
        items.insert(rng.randint(0, len(items)), [enc_str(rng, "__metadata__", rng.choice((0, 0, 0, 0.3))), meta])
    c.top = Node("obj", items, "top")
    c.ws_mode = rng.choice(("none", "none", "space", "random", "none", "none", "space",
                            "random", "bad"))
    c.lead_ws = b"" if rng.random() < 0.85 else bytes(rng.choice(b" \t\n\r") for _ in range(rng.randint(1, 9)))
    c.pad = rng.random() < 0.6
    return c


def build_header(rng, c):
    out = bytearray(c.lead_ws)
    serialize(c.top, Ws(rng, c.ws_mode), out)
    if c.pad:
        while (8 + len(out)) % 8:
            out += b" "
    return bytes(out)


# ===================================================================== mutations

def entries(c):
    return [it for it in c.top.val if it[1].kind == "obj" and it[1].role == "entry"]


def walk(node, acc):
    acc.append(node)
    if node.kind == "obj":
        for _, v in node.val:
            walk(v, acc)
    elif node.kind == "arr":
        for v in node.val:
            walk(v, acc)
    return acc


def nodes_with(c, pred):
    return [n for n in walk(c.top, []) if pred(n)]


def decode_key(tok):
    try:
        return st_model.JsonParser(tok, False).parse_string(0)[0]
    except Exception:
        return None


def replace_node(c, old, new):
    for n in walk(c.top, []):
        if n.kind == "obj":
            for it in n.val:
                if it[1] is old:
                    it[1] = new
                    return True
        elif n.kind == "arr":
            for i, v in enumerate(n.val):
                if v is old:
                    n.val[i] = new
                    return True
    return False


BAD_NUM_GRAMMAR = ["01", "00", "+1", "1.", ".5", "-", "1e", "1e+", "0x10", "1.e5", "--1",
                   "1..2", "Infinity", "NaN", "-Infinity", "0b1", "- 1", "1 2", "07", "-01",
                   "1f", "\xd9\xa1", "1,", "1]"]
BAD_NUM_SCHEMA = ["1.0", "1e0", "1E2", "-0", "-1", "18446744073709551616",
                  "99999999999999999999999", "0.0", "1e-1", "-0.0", "2e19", '"2"', "null",
                  "true", "[2]", "{}", "[]", "1e19", "18446744073709551617"]
EDGE_INTS = ["0", "1", "18446744073709551615", "18446744073709551614", "4294967296",
             "4294967295", "9223372036854775808", "9223372036854775807", "2305843009213693952",
             "2305843009213693951", "4611686018427387904", "36893488147419103232",
             "000", "00000000000000000001"]

BAD_STRINGS = [b'"\\x41"', b'"\\u12"', b'"\\u12G4"', b'"\\U0041"', b"\"\\'\"", b'"\\ud800"',
               b'"\\udc00"', b'"\\ud800\\u0041"', b'"\\ud800x"', b'"\\udbff\\udfff"',
               b'"\x01"', b'"\x7f"', b'"\x00"', b'"\x1f"', b'"a\x0a"', b"'a'",
               b'"\\uD83D\\uDE00"', b'"\\uDE00\\uD83D"', b'"\\u0000"', b'"\\/"', b'"\\ "',
               b'"\\\n"', b'"\\ud800\\ud800"', b'"\\uDFFF"', b'"\\uDbFf\\uDc00"', b'"\\u"',
               b'"\\ud800\\"', b'"\\ud800\\u"', b'"\\ud800\\udc0"', b'"\xc3\xa9"',
               b'"\\u00e9"', b'"\\u00E9"', b'"\\ud800\\n"', b'"abc', b'"\\']

BAD_LITERALS = ["tru", "nul", "True", "NULL", "fals", "truee", "nulll", "t", "n", "f",
                "undefined", "None", "falsey", "true1", "'x'"]

SIGNATURES = [b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 123\n",
              b"PK\x03\x04\x14\x00\x00\x00\x08\x00", b"\x80\x02}q\x00.", b"\x80\x05\x95",
              b"\x80\x04\x95\x00", b"\x80\x03", b"\x80\x06\x95", b"\x80\x01",
              b"GGUF\x03\x00\x00\x00", b"<!DOCTYPE html><html></html>", b"<html><body>",
              b"\n  <!DOCTYPE html>\n<html>", b"\t<html>", b"PK\x05\x06", b"GGU",
              b"<htm", b"version https://git-lf"]


def m_dup_tensor(rng, c):
    es = [it for it in c.top.val]
    if not es:
        return False
    it = rng.choice(es)
    name = decode_key(it[0])
    key = it[0] if name is None or rng.random() < 0.4 else other_enc(rng, name)
    val = it[1] if rng.random() < 0.5 else rng.choice(es)[1]
    c.top.val.insert(rng.randint(0, len(c.top.val)), [key, val])
    return True


def m_dup_field(rng, c):
    es = entries(c)
    if not es:
        return False
    e = rng.choice(es)[1]
    if not e.val:
        return False
    it = rng.choice(e.val)
    name = decode_key(it[0])
    key = it[0] if name is None or rng.random() < 0.4 else other_enc(rng, name)
    e.val.insert(rng.randint(0, len(e.val)), [key, it[1]])
    return True


def m_dup_meta(rng, c):
    metas = [it for it in c.top.val if decode_key(it[0]) == "__metadata__"]
    r = rng.random()
    if metas and metas[0][1].kind == "obj" and metas[0][1].val and r < 0.5:
        m = metas[0][1]
        it = rng.choice(m.val)
        name = decode_key(it[0])
        key = it[0] if name is None or rng.random() < 0.4 else other_enc(rng, name)
        m.val.insert(rng.randint(0, len(m.val)), [key, raw(enc_str(rng, rand_text(rng)), "metaval")])
        return True
    key = rng.choice([b'"__metadata__"', b'"\\u005f_metadata__"', b'"__metadata\\u005f_"',
                      b'"\\u005F\\u005Fmetadata__"'])
    val = rng.choice([raw("null", "metanull"), Node("obj", [], "meta"),
                      Node("obj", [[b'"k"', raw(b'"v"', "metaval")]], "meta")])
    c.top.val.insert(rng.randint(0, len(c.top.val)), [key, val])
    return True


def nested_dup_value(rng):
    k = rand_text(rng, 4)
    k2 = other_enc(rng, k) if rng.random() < 0.5 else enc_str(rng, k)
    inner = Node("obj", [[enc_str(rng, k), rand_json_value(rng, 2)],
                         [enc_str(rng, "zz"), raw("1")],
                         [k2, rand_json_value(rng, 2)]], "unknown")
    for _ in range(rng.randint(0, 3)):
        inner = Node("arr", [inner]) if rng.random() < 0.5 else \
            Node("obj", [[b'"n"', inner]], "unknown")
    return inner


def m_nested_dup(rng, c):
    es = entries(c)
    target = rng.random()
    if es and target < 0.7:
        e = rng.choice(es)[1]
        e.val.insert(rng.randint(0, len(e.val)), [enc_str(rng, "extra_" + rand_text(rng, 3)), nested_dup_value(rng)])
        return True
    metas = [it for it in c.top.val if decode_key(it[0]) == "__metadata__" and it[1].kind == "obj"]
    if metas:
        m = metas[0][1]
        m.val.insert(rng.randint(0, len(m.val)), [enc_str(rng, "mk"), nested_dup_value(rng)])
        return True
    return False


def m_remove_field(rng, c):
    es = entries(c)
    if not es:
        return False
    e = rng.choice(es)[1]
    if not e.val:
        return False
    e.val.pop(rng.randrange(len(e.val)))
    return True


def m_rename_field(rng, c):
    es = entries(c)
    if not es:
        return False
    e = rng.choice(es)[1]
    if not e.val:
        return False
    it = rng.choice(e.val)
    it[0] = rng.choice([b'"Dtype"', b'"dtype "', b'"data_offset"', b'"shapes"', b'"DTYPE"',
                        b'"data-offsets"', b'"dtype\\u0000"', b'"sh\\u0061pe"',
                        b'"\\u0064ata_offsets"', b'"\\u0073hape"', b'""', b'"offsets"'])
    return True


def m_bad_number(rng, c):
    ns = nodes_with(c, lambda n: n.role in ("dim", "off"))
    if not ns:
        return False
    n = rng.choice(ns)
    pool = rng.choice((BAD_NUM_GRAMMAR, BAD_NUM_SCHEMA, EDGE_INTS))
    n.val = rng.choice(pool).encode("utf-8")
    return True


def m_dtype(rng, c):
    ns = nodes_with(c, lambda n: n.role == "dtype")
    if not ns:
        return False
    n = rng.choice(ns)
    cur = rng.choice(DTYPES)
    choices = [enc_str(rng, cur.lower()), enc_str(rng, cur + " "), b'"F33"', b'""',
               b'{"' + cur.encode() + b'":null}', b"32", b"null", b'["F32"]', b"true",
               enc_str(rng, cur, 1.0), b'"f4"', b'"F8_E4M3FN"', b'"BF16\\u0000"', b'"FLOAT"',
               b'"F32"', b'"F8_E5M2FNUZ"', b'"F6_E2M3"', b'"C64"', b'"I4"', b'"Q4_0"']
    n.val = rng.choice(choices)
    return True


def m_entry_form(rng, c):
    es = entries(c)
    if not es:
        return False
    it = rng.choice(es)
    r = rng.random()
    if r < 0.5:
        d = {decode_key(k): v for k, v in it[1].val}
        arr = [d.get("dtype", raw(b'"F32"')), d.get("shape", Node("arr", [])),
               d.get("data_offsets", Node("arr", [raw("0"), raw("0")]))]
        it[1] = Node("arr", arr)
    else:
        it[1] = raw(rng.choice([b"1", b"null", b'"F32"', b"true", b"[]", b"{}", b"-1"]))
    return True


def m_meta_value(rng, c):
    metas = [it for it in c.top.val if decode_key(it[0]) == "__metadata__"]
    bad = [b"1", b'"x"', b"[]", b'["a"]', b"true", b"false", b"0", b'{"a":{}}', b"{}", b"null"]
    if metas and metas[0][1].kind == "obj" and metas[0][1].val and rng.random() < 0.6:
        it = rng.choice(metas[0][1].val)
        it[1] = raw(rng.choice(bad + [b'{"a":"b"}', b"null", b"1.5", b'""']))
        return True
    if metas:
        metas[0][1] = raw(rng.choice(bad))
        return True
    # a tensor called __metadata__
    es = entries(c)
    if es:
        rng.choice(es)[0] = b'"__metadata__"'
        return True
    return False


def m_shape_change(rng, c):
    ns = nodes_with(c, lambda n: n.role == "shape")
    if not ns:
        return False
    n = rng.choice(ns)
    r = rng.random()
    if r < 0.3 and n.val:
        d = rng.choice(n.val)
        try:
            v = int(d.val)
        except ValueError:
            return False
        d.val = str(max(0, v + rng.choice((-1, 1, 2)))).encode()
    elif r < 0.5:
        n.val.insert(rng.randint(0, len(n.val)), raw(rng.choice(["1", "2", "0", "3"]), "dim"))
    elif r < 0.6 and n.val:
        n.val.pop(rng.randrange(len(n.val)))
    elif r < 0.85:
        big = rng.choice(["4294967296", "4294967297", "9223372036854775808",
                          "18446744073709551615", "2305843009213693952", "2305843009213693951",
                          "4611686018427387904", "3074457345618258603", "6148914691236517206",
                          "1152921504606846976"])
        n.val.insert(rng.randint(0, len(n.val)), raw(big, "dim"))
        if rng.random() < 0.5:
            n.val.insert(rng.randint(0, len(n.val)), raw(rng.choice(["2", "4294967296", "0", "8"]), "dim"))
    else:
        n.val = [raw(rng.choice(["1", "3", "5", "7", "2", "6"]), "dim")]
    return True


def m_offsets(rng, c):
    ns = nodes_with(c, lambda n: n.role == "offsets")
    if not ns:
        return False
    n = rng.choice(ns)
    r = rng.random()
    if r < 0.2 and len(n.val) == 2:
        n.val.reverse()
    elif r < 0.4 and len(ns) >= 2:
        m = rng.choice(ns)
        n.val, m.val = m.val, n.val
    elif r < 0.7 and n.val:
        d = rng.choice(n.val)
        try:
            v = int(d.val)
        except ValueError:
            return False
        d.val = str(max(0, v + rng.choice((-8, -1, 1, 2, 8)))).encode()
    elif r < 0.85 and n.val:
        rng.choice(n.val).val = rng.choice(EDGE_INTS).encode()
    else:
        k = rng.choice((0, 1, 3))
        n.val = [raw(str(rng.randint(0, 4)), "off") for _ in range(k)]
    return True


def deep_value(rng, depth):
    """A chain of `depth` nested containers (the innermost is a container too)."""
    kind = rng.choice(("arr", "obj", "mix"))
    opens, closes = [], []
    for i in range(depth):
        k = kind if kind != "mix" else rng.choice(("arr", "obj"))
        if k == "arr":
            opens.append(b"[")
            closes.append(b"]")
        else:
            opens.append(b'{"k":' if i < depth - 1 else b"{")
            closes.append(b"}")
    return raw(b"".join(opens) + b"".join(reversed(closes)))


def m_deep(rng, c):
    # The entry object is level 2, an unknown field's value level 3: a chain of d
    # containers reaches level 2 + d.
    target = rng.choice((127, 128, 128, 129, 129, 130, 200, 1000))
    es = entries(c)
    r = rng.random()
    if es and r < 0.6:
        e = rng.choice(es)[1]
        e.val.insert(rng.randint(0, len(e.val)), [b'"deep"', deep_value(rng, target - 2)])
        return True
    if r < 0.8:
        metas = [it for it in c.top.val if decode_key(it[0]) == "__metadata__"]
        if metas and metas[0][1].kind == "obj":
            metas[0][1].val.append([b'"deep"', deep_value(rng, target - 2)])
            return True
    # a top-level "tensor" whose entry is the deep value (levels 2..)
    c.top.val.insert(rng.randint(0, len(c.top.val)), [b'"deep"', deep_value(rng, target - 1)])
    return True


def m_bad_string(rng, c):
    r = rng.random()
    if r < 0.4:
        # a key
        objs = nodes_with(c, lambda n: n.kind == "obj" and n.val)
        if not objs:
            return False
        it = rng.choice(rng.choice(objs).val)
        it[0] = rng.choice(BAD_STRINGS)
        return True
    ns = nodes_with(c, lambda n: n.kind == "raw" and n.val[:1] == b'"')
    if not ns:
        return False
    rng.choice(ns).val = rng.choice(BAD_STRINGS)
    return True


def m_name_nul(rng, c):
    es = entries(c)
    if not es:
        return False
    it = rng.choice(es)
    name = decode_key(it[0]) or "x"
    pos = rng.randint(0, len(name))
    it[0] = enc_str(rng, name[:pos]).rstrip(b'"') + rng.choice([b"\\u0000", b"\\u0000\\u0000"]) + \
        enc_str(rng, name[pos:])[1:]
    return True


def m_literal(rng, c):
    es = entries(c)
    lit = rng.choice(BAD_LITERALS).encode()
    if es:
        e = rng.choice(es)[1]
        e.val.insert(rng.randint(0, len(e.val)), [b'"x"', raw(lit)])
        return True
    c.top.val.append([b'"x"', raw(lit)])
    return True


def m_unknown(rng, c):
    es = entries(c)
    if not es:
        return False
    e = rng.choice(es)[1]
    k = rand_text(rng, 6)
    if any(decode_key(kk) == k for kk, _ in e.val):
        return False
    e.val.insert(rng.randint(0, len(e.val)), [enc_str(rng, k), rand_json_value(rng)])
    return True


def int_of(node):
    try:
        return int(node.val) if node.kind == "raw" else None
    except ValueError:
        return None


def layout(c):
    """[(begin, end)] of the entries whose data_offsets are two plain integers."""
    out = []
    for n in nodes_with(c, lambda n: n.role == "offsets"):
        if len(n.val) == 2 and int_of(n.val[0]) is not None and int_of(n.val[1]) is not None:
            out.append((int_of(n.val[0]), int_of(n.val[1])))
    return out


def new_entry(rng, dtype, shape, begin, end):
    fields = [[b'"dtype"', raw(enc_str(rng, dtype, 0), "dtype")],
              [b'"shape"', Node("arr", [raw(str(d), "dim") for d in shape], "shape")],
              [b'"data_offsets"', Node("arr", [raw(str(begin), "off"), raw(str(end), "off")],
                                       "offsets")]]
    rng.shuffle(fields)
    return Node("obj", fields, "entry")


def fresh_name(rng, c):
    names = set(decode_key(k) for k, _ in c.top.val)
    for _ in range(20):
        n = rand_text(rng, 6)
        if n not in names and n != "__metadata__" and "\x00" not in n:
            return n
    return None


def m_subbyte(rng, c):
    es = entries(c)
    if not es:
        return False
    e = rng.choice(es)[1]
    dt = rng.choice(("F4", "F4", "F6_E2M3", "F6_E3M2"))
    shape = rng.choice(([], [1], [3], [2, 3], [5, 1], [2], [4], [6], [8], [2, 2], [0], [1, 7]))
    for it in e.val:
        k = decode_key(it[0])
        if k == "dtype":
            it[1] = raw(enc_str(rng, dt, 0), "dtype")
        elif k == "shape" and rng.random() < 0.9:
            it[1] = Node("arr", [raw(str(d), "dim") for d in shape], "shape")
    return True


def m_zero_insert(rng, c):
    """A zero-size (or small) tensor at a boundary, strictly inside a tensor, at or
    past the end."""
    name = fresh_name(rng, c)
    if name is None:
        return False
    lay = layout(c)
    ends = sorted(set([0] + [b for b, _ in lay] + [e for _, e in lay]))
    end = max(ends)
    r = rng.random()
    if r < 0.5:
        at = rng.choice(ends)
    elif r < 0.75:
        inside = [x for b, e in lay if e - b >= 2 for x in (rng.randint(b + 1, e - 1),)]
        at = rng.choice(inside) if inside else end + 1
    else:
        at = end + rng.choice((0, 1, 2, 8))
    if rng.random() < 0.8:
        dt, shape, size = rng.choice(DTYPES), rng.choice(([0], [2, 0], [0, 18446744073709551615])), 0
    else:
        dt, shape, size = "U8", [1], 1
    c.top.val.insert(rng.randint(0, len(c.top.val)),
                     [enc_str(rng, name), new_entry(rng, dt, shape, at, at + size)])
    return True


def m_huge(rng, c):
    """A tensor ending at or near 2^64-1 (rule 8 overflow or rule 9 overflow)."""
    name = fresh_name(rng, c)
    if name is None:
        return False
    lay = layout(c)
    cur = max([0] + [e for _, e in lay])
    dt = rng.choice(("U8", "U8", "U16", "BOOL", "F4", "F64"))
    end = rng.choice((U64_MAX, U64_MAX - 1, 1 << 63, (1 << 63) - 1))
    if end < cur:
        return False
    bits = st_model.DTYPE_BITS[dt]
    cnt = (end - cur) * 8 // bits
    shape = rng.choice(([cnt], [1, cnt], [cnt, 1], [end - cur], [2, (end - cur) // 2 + 1]))
    c.top.val.insert(rng.randint(0, len(c.top.val)),
                     [enc_str(rng, name), new_entry(rng, dt, shape, cur, end)])
    return True


def m_rule6_pair(rng, c):
    """Two rule-6 violations close together, so the first one in the document
    decides: a repeated unknown field then a bad known field; a repeated metadata
    key whose second value is not a string; and similar pairs."""
    es = entries(c)
    r = rng.random()
    if es and r < 0.6:
        e = rng.choice(es)[1]
        k = rand_text(rng, 4)
        if k in ("dtype", "shape", "data_offsets"):
            k = "x"
        bad = rng.choice([[b'"dtype"', raw(b'"Q8"')], [b'"dtype"', raw(b"8")],
                          [b'"shape"', raw(b"1")], [b'"shape"', Node("arr", [raw(b"1.5")])],
                          [b'"data_offsets"', Node("arr", [raw(b"0")])],
                          [b'"dtype"', raw(b'"F32"')], [b'"u"', nested_dup_value(rng)]])
        e.val = [it for it in e.val if decode_key(it[0]) != decode_key(bad[0])]
        pos = rng.randint(0, len(e.val))
        e.val[pos:pos] = [[enc_str(rng, k), raw(b"1")], [other_enc(rng, k), raw(b"2")], bad]
        return True
    val = rng.choice([raw(b"5"), raw(b"null"), raw(b"[]"), nested_dup_value(rng),
                      raw(b'"s"')])
    key = rand_text(rng, 4)
    meta = Node("obj", [[enc_str(rng, key), raw(b'"v"', "metaval")],
                        [other_enc(rng, key), val]], "meta")
    c.top.val = [it for it in c.top.val if decode_key(it[0]) != "__metadata__"]
    c.top.val.insert(rng.randint(0, len(c.top.val)), [b'"__metadata__"', meta])
    return True


MUTATIONS = [
    (m_rule6_pair, 1),
    (m_rename_field, 2),
    (m_subbyte, 3), (m_zero_insert, 4), (m_huge, 2),
    (m_dup_tensor, 4), (m_dup_field, 3), (m_dup_meta, 3), (m_nested_dup, 3),
    (m_remove_field, 2), (m_bad_number, 5), (m_dtype, 4), (m_entry_form, 2),
    (m_meta_value, 3), (m_shape_change, 5), (m_offsets, 6), (m_deep, 3),
    (m_bad_string, 5), (m_name_nul, 2), (m_literal, 2), (m_unknown, 2),
]

# ----------------------------------------------------------------- header-text mutations

SYNTAX_BYTES = b'"\\{}[],:0-.eE+ \x00\t\n\r/*tfn' + b"\x80\xc0\xff\xed\xf4\xc3"
BAD_UTF8 = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
            b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xfe", b"\xc3", b"\xe2\x82",
            b"\xf0\x9f\x98", b"\xc3\x28", b"\xe2\x28\xa1", b"\xf8\x88\x80\x80\x80",
            b"\xc2\x80", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xef\xbf\xbf"]


UTF8_ALPHABET = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
                 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5,
                 0xF8, 0xFE, 0xFF]


def string_interior_positions(h):
    """Indexes strictly inside string tokens (best effort)."""
    pos, ins, esc = [], False, False
    for i, ch in enumerate(h):
        if ins:
            if esc:
                esc = False
            elif ch == 0x5C:
                esc = True
            elif ch == 0x22:
                ins = False
                continue
            pos.append(i)
        elif ch == 0x22:
            ins = True
    return pos


def h_mutate(rng, h, muts):
    """One mutation of the header text; returns the new header."""
    h = bytearray(h)
    kind = rng.choice(["flip", "flip", "insert", "delete", "utf8", "utf8", "bom", "nul_pad",
                       "nul_pad", "nul_in", "trailing_json", "comment", "trailing_comma",
                       "missing_comma", "missing_colon", "ctrl", "top_level", "empty",
                       "ws_pad", "cut_json", "nul_then", "utf8_rand", "bracket_bomb"])
    muts.append("h:" + kind)
    n = len(h)
    if kind == "flip" and n:
        i = rng.randrange(n)
        h[i] = rng.choice(SYNTAX_BYTES) if rng.random() < 0.7 else rng.getrandbits(8)
    elif kind == "insert":
        i = rng.randint(0, n)
        h[i:i] = bytes(rng.choice(SYNTAX_BYTES) for _ in range(rng.randint(1, 3)))
    elif kind == "delete" and n:
        i = rng.randrange(n)
        del h[i:i + rng.randint(1, 4)]
    elif kind == "utf8":
        ins = string_interior_positions(h)
        if ins and rng.random() < 0.6:
            i = rng.choice(ins)
        else:
            i = rng.randint(0, n)
        h[i:i] = rng.choice(BAD_UTF8)
    elif kind == "bom":
        h[0:0] = b"\xef\xbb\xbf"
    elif kind == "nul_pad":
        end = h.rfind(b"}") + 1
        pad = bytes(rng.choice(b"\x00\x00\x00 \n\t") for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.5:
            h[end:] = pad  # replace the space padding
        else:
            h += pad
    elif kind == "nul_in":
        i = rng.randint(0, n)
        h[i:i] = b"\x00"
    elif kind == "trailing_json":
        h += rng.choice([b"{}", b" {}", b"x", b"]", b"}", b",", b"null", b"0", b'""', b"\x1f"])
    elif kind == "comment":
        i = rng.randint(0, n)
        h[i:i] = rng.choice([b"/* c */", b"// c\n", b"#"])
    elif kind == "trailing_comma":
        closes = [i for i, ch in enumerate(h) if ch in b"]}"]
        if closes:
            i = rng.choice(closes)
            h[i:i] = b","
    elif kind == "missing_comma":
        commas = [i for i, ch in enumerate(h) if ch == 0x2C]
        if commas:
            del h[rng.choice(commas)]
    elif kind == "missing_colon":
        cs = [i for i, ch in enumerate(h) if ch == 0x3A]
        if cs:
            i = rng.choice(cs)
            h[i:i + 1] = rng.choice([b"", b"=", b" "])
    elif kind == "ctrl":
        ins = string_interior_positions(h)
        if ins:
            i = rng.choice(ins)
            h[i:i] = bytes([rng.choice((0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1B, 0x1F, 0x7F))])
    elif kind == "top_level":
        h = bytearray(rng.choice([b"[]", b"null", b'"x"', b"1", b"[{}]", b" ", b"{", b"}",
                                  b"{\"a\":}", b"{,}", b"{\"a\"}", b"{:1}", b"{1:2}",
                                  b"\x00{}", b"{}\x00", b"\n{}\n", b"{ }", b"[", b"{\"\":{}}"]))
    elif kind == "empty":
        h = bytearray()
    elif kind == "ws_pad":
        h += bytes(rng.choice(b" \t\n\r\x0b\x0c") for _ in range(rng.randint(1, 6)))
    elif kind == "cut_json" and n:
        h = h[:rng.randrange(n)]
    elif kind == "nul_then":
        end = h.rfind(b"}") + 1
        if rng.random() < 0.3 and end > 0:
            end -= 1  # NUL before the closing brace
        h[end:] = bytes(rng.choice(b"\x00\x00 ") for _ in range(rng.randint(1, 5))) + \
            rng.choice([b"x", b"{}", b"}", b"0", b'"', b"\x01", b"\x00", b" ", b"\xc3\xa9",
                        b"\x00\x00"])
    elif kind == "utf8_rand":
        ins = string_interior_positions(h)
        i = rng.choice(ins) if ins and rng.random() < 0.7 else rng.randint(0, n)
        h[i:i] = bytes(rng.choice(UTF8_ALPHABET) for _ in range(rng.randint(1, 5)))
    elif kind == "bracket_bomb":
        k = rng.choice((130, 1000, 20000, 200000))
        unit = rng.choice((b"[", b"{\"a\":", b"[{\"\":"))
        h = bytearray(b'{"a":' + unit * k + (b"" if rng.random() < 0.7 else b"]" * k))
    return bytes(h)


# ----------------------------------------------------------------- file-level mutations

def f_mutate(rng, f, hlen, muts):
    f = bytearray(f)
    kind = rng.choice(["truncate", "truncate", "trailing", "trailing", "n_value", "n_value",
                       "prefix_flip", "signature", "data_flip", "short", "sig_overwrite"])
    muts.append("f:" + kind)
    if kind == "truncate" and len(f):
        r = rng.random()
        if r < 0.4 and len(f) > 8 + hlen:
            cut = rng.randint(8 + hlen, len(f) - 1)
        else:
            cut = rng.randrange(len(f))
        del f[cut:]
    elif kind == "trailing":
        f += bytes(rng.choice((0, 0x20, 0xFF, rng.getrandbits(8))) for _ in range(rng.choice((1, 1, 2, 4, 8, 100))))
    elif kind == "n_value":
        size = len(f)
        v = rng.choice([0, 1, 2, hlen - 1, hlen + 1, size - 8, size - 7, size - 9,
                        100000000, 100000001, 99999999, U64_MAX, U64_MAX - 7, U64_MAX - 6,
                        1 << 63, 1 << 32, 2000000000, 2000000001, hlen + 8, max(0, hlen - 8)])
        f[0:8] = (v & U64_MAX).to_bytes(8, "little")
    elif kind == "prefix_flip":
        i = rng.randrange(8)
        f[i] ^= 1 << rng.randrange(8)
    elif kind == "signature":
        f = bytearray(rng.choice(SIGNATURES) + (bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))) if rng.random() < 0.5 else b""))
    elif kind == "sig_overwrite":
        s = rng.choice(SIGNATURES)
        f[0:len(s)] = s
    elif kind == "data_flip" and len(f) > 8 + hlen:
        i = rng.randint(8 + hlen, len(f) - 1)
        f[i] ^= 0xFF
    elif kind == "short":
        f = f[:rng.randint(0, 7)]
    return bytes(f)


# ===================================================================== case generation

def gen_case(seed, idx):
    rng = random.Random("%d/%d" % (seed, idx))
    c = gen_valid(rng)
    r = rng.random()
    n_tree = 0 if r < 0.35 else (1 if r < 0.8 else rng.randint(2, 3))
    for _ in range(n_tree):
        for _attempt in range(5):
            fn = rng.choices([m for m, _ in MUTATIONS], [w for _, w in MUTATIONS])[0]
            if fn(rng, c):
                c.muts.append(fn.__name__)
                break
    h = build_header(rng, c)
    r = rng.random()
    if r < 0.30:
        for _ in range(rng.choice((1, 1, 1, 2))):
            h = h_mutate(rng, h, c.muts)
    f = len(h).to_bytes(8, "little") + h + c.data
    if rng.random() < 0.22:
        f = f_mutate(rng, f, len(h), c.muts)
    # options
    if rng.random() < (0.6 if "f:trailing" in c.muts else 0.25):
        c.flags.append("--allow-trailing")
    if rng.random() < 0.25 or any(m == "h:nul_pad" for m in c.muts) and rng.random() < 0.5:
        c.flags.append("--allow-nul-padding")
    if rng.random() < 0.04:
        c.flags.append("--max-header=%d" % rng.choice([len(h), len(h) + 1, max(0, len(h) - 1), 0, 1]))
    c.file = f
    return c


def model_of(data, flags):
    try:
        return _model_of(data, flags)
    except Exception as e:  # a bug in the model is a failure too, not a crash
        import traceback
        return st_model.Result("reject", "MODEL_CRASH", None,
                               "%r\n%s" % (e, traceback.format_exc()))


def _model_of(data, flags):
    cap = 0
    for fl in flags:
        if fl.startswith("--max-header="):
            cap = int(fl.split("=", 1)[1])
    return st_model.check(data, allow_trailing="--allow-trailing" in flags,
                          allow_nul_padding="--allow-nul-padding" in flags, max_header=cap)


# ===================================================================== running st-inspect

STATUS_RE = re.compile(r"\[(ST_[A-Z0-9_]+)(?: at offset (\d+))?\]$")


class LibResult(object):
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out
        self.err = err
        self.status = None
        self.offset = None
        self.parse_error = None
        lines = err.decode("utf-8", "replace").splitlines()
        if rc == 1:
            if len(lines) != 1:
                self.parse_error = "expected one stderr line, got %d" % len(lines)
            m = STATUS_RE.search(lines[-1]) if lines else None
            if m:
                self.status = m.group(1)
                self.offset = int(m.group(2)) if m.group(2) else None
            else:
                self.parse_error = "no [STATUS] on stderr"
        elif rc != 0:
            self.parse_error = "exit status %d" % rc

    def key(self):
        return ("accept",) if self.rc == 0 else ("reject", self.status)

    def __repr__(self):
        if self.rc == 0:
            return "accept"
        if self.status:
            return "reject(%s at %s)" % (self.status, self.offset)
        return "rc=%d stderr=%r" % (self.rc, self.err[:200])


def run_json(inspect, path, flags):
    p = subprocess.run([inspect, "--json"] + flags + ["--", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return LibResult(p.returncode, p.stdout, p.stderr)


def run_check_batch(inspect, paths, flags):
    """{path: ("ok", line) | ("error", status, offset)} from one --check run."""
    p = subprocess.run([inspect, "--check"] + flags + ["--"] + paths,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    res = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        path = line.split(": ok", 1)[0]
        res[path] = ("ok", line)
    for line in p.stderr.decode("utf-8", "replace").splitlines():
        path = line.split(": error: ", 1)[0]
        m = STATUS_RE.search(line)
        res[path] = ("error", m.group(1) if m else None, int(m.group(2)) if m and m.group(2) else None)
    return res, p.returncode


def expected_check_line(path, mres):
    n = len(mres.listing["tensors"])
    s = "%s: ok (%d %s)" % (path, n, "tensor" if n == 1 else "tensors")
    if mres.trailing:
        s += ", leniency used: %d trailing %s" % (mres.trailing,
                                                  "byte" if mres.trailing == 1 else "bytes")
    if mres.nul_padding:
        s += ", leniency used: NUL padding"
    return s


RULE6 = ("ST_E_SCHEMA", "ST_E_DTYPE", "ST_E_DUPLICATE", "ST_E_METADATA", "ST_E_NAME")


def tolerated(mres, lstatus, rule6_any):
    """A rejection whose status differs from the model's but that the spec leaves
    room for: 'markup' (an HTML/XML-looking file named ST_E_WRONG_FORMAT or not),
    'rule6-order' (with --rule6-any: another rule-6 violation present in the file)."""
    if mres.verdict != "reject" or lstatus is None or lstatus == mres.status:
        return None
    if lstatus in mres.alt:
        return "markup"
    if rule6_any and mres.status in RULE6 and lstatus in mres.rule6:
        return "rule6-order"
    return None


def compare(mres, lres, offsets, rule6_any=False):
    """None if they agree, else a short signature of the disagreement."""
    if lres.parse_error:
        return "lib-output:" + lres.parse_error
    if lres.rc == 1 and tolerated(mres, lres.status, rule6_any):
        return None
    if mres.key() != lres.key():
        return "verdict:%s/%s" % ("/".join(mres.key()), "/".join(lres.key()))
    if mres.verdict == "accept":
        want = st_model.render_json(mres.listing)
        if lres.out != want:
            return "listing"
        if lres.err:
            return "lib-output:stderr on success"
    elif offsets and mres.offset != lres.offset and lres.offset not in mres.alt_offsets:
        return "offset:%s" % mres.status
    return None


# ===================================================================== minimization

class SpanParser(st_model.JsonParser):
    """The model's parser, also recording where each value ends (for minimizing)."""
    def __init__(self, h):
        st_model.JsonParser.__init__(self, h, True)
        self.ends = {}

    def parse_value(self, i, level):
        v, j = st_model.JsonParser.parse_value(self, i, level)
        self.ends[id(v)] = j
        return v, j


def json_cuts(h):
    """Candidate reductions of a parseable header: each object member or array
    element removed with its comma, each container emptied, deepest last."""
    try:
        p = SpanParser(h)
        top = p.parse_header()
    except Exception:
        return []
    B = st_model.JsonParser.BASE
    cuts = []

    def visit(v):
        if v.kind not in ("obj", "arr") or not v.items:
            return
        starts = [it[1] - B for it in v.items] if v.kind == "obj" else [x.off - B for x in v.items]
        vals = [it[2] for it in v.items] if v.kind == "obj" else v.items
        ends = [p.ends[id(x)] for x in vals]
        o, e = v.off - B, p.ends[id(v)]
        cuts.append((o + 1, e - 1, b""))  # empty the container
        for k in range(len(vals)):
            if k + 1 < len(vals):
                cuts.append((starts[k], starts[k + 1], b""))
            elif k > 0:
                cuts.append((ends[k - 1], ends[k], b""))
        for x in vals:
            if x.kind in ("obj", "arr"):
                cuts.append((x.off - B, p.ends[id(x)], b"0"))
            visit(x)
    visit(top)
    return cuts


def minimize(inspect, data, flags, sig, offsets, rule6_any, tmpdir, budget=4000):
    """Greedy chunk deletion keeping the same disagreement signature. First at the
    header level (N recomputed) when the frame holds, then on raw bytes."""
    path = os.path.join(tmpdir, "min.st")
    calls = [0]

    def same(b):
        if calls[0] >= budget:
            return False
        calls[0] += 1
        with open(path, "wb") as fp:
            fp.write(b)
        return compare(model_of(b, flags), run_json(inspect, path, flags), offsets,
                       rule6_any) == sig

    def shrink(seq, rebuild):
        seq = bytes(seq)
        chunk = max(1, len(seq) // 2)
        while chunk >= 1:
            i = 0
            changed = False
            while i < len(seq):
                cand = seq[:i] + seq[i + chunk:]
                if same(rebuild(cand)):
                    seq = cand
                    changed = True
                else:
                    i += chunk
            if not changed:
                chunk //= 2
        return seq

    best = data
    if len(best) >= 8:
        n = int.from_bytes(best[:8], "little")
        if 8 + n <= len(best):
            h, rest = best[8:8 + n], best[8 + n:]
            rest = shrink(rest, lambda x: len(h).to_bytes(8, "little") + h + x)
            progress = True
            while progress:  # structural cuts while the header stays parseable
                progress = False
                for lo, hi, rep in json_cuts(h):
                    cand = h[:lo] + rep + h[hi:]
                    if same(len(cand).to_bytes(8, "little") + cand + rest):
                        h = cand
                        progress = True
                        break
            h = shrink(h, lambda x: len(x).to_bytes(8, "little") + x + rest)
            rest = shrink(rest, lambda x: len(h).to_bytes(8, "little") + h + x)
            best = len(h).to_bytes(8, "little") + h + rest
    if len(best) <= 4096:
        best = shrink(best, lambda x: x)
    return best


# ===================================================================== main

def find_inspect(arg):
    cands = [arg] if arg else [os.environ.get("ST_INSPECT"),
                               os.path.join(ROOT, "build", "st-inspect")]
    for cand in cands:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return os.path.abspath(cand)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--inspect", default=None, help="st-inspect binary")
    ap.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "diff"))
    ap.add_argument("--offsets", action="store_true", help="also compare error offsets")
    ap.add_argument("--no-check", action="store_true", help="skip the --check batches")
    ap.add_argument("--rule6-any", action="store_true",
                    help="tolerate a different rule-6 status when the file also breaks "
                         "rule 6 that way (FORMAT.md does not order checks inside rule 6)")
    ap.add_argument("--no-minimize", action="store_true")
    ap.add_argument("--max-report", type=int, default=30,
                    help="print at most this many disagreements in full")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    inspect = find_inspect(args.inspect)
    if not inspect:
        print("run_diff: st-inspect not found (make lib examples, or --inspect PATH)",
              file=sys.stderr)
        print("diff: 0 passed, 1 failed")
        return 1
    os.makedirs(args.out, exist_ok=True)
    tmpdir = os.path.join(args.out, "tmp-%d-%d" % (args.seed, os.getpid()))
    os.makedirs(tmpdir, exist_ok=True)
    t0 = time.time()
    passed = failed = 0
    stats = {}
    tols = {}
    failures = []
    chunk = 400
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        for base in range(0, args.cases, chunk):
            idxs = range(base, min(args.cases, base + chunk))
            cases = {}
            for i in idxs:
                c = gen_case(args.seed, i)
                p = os.path.join(tmpdir, "c%06d.st" % i)
                with open(p, "wb") as fp:
                    fp.write(c.file)
                cases[i] = (c, p)
            futs = {i: pool.submit(run_json, inspect, cases[i][1], cases[i][0].flags)
                    for i in idxs}
            # --check in batches grouped by option set
            check_futs = []
            if not args.no_check:
                groups = {}
                for i in idxs:
                    groups.setdefault(tuple(cases[i][0].flags), []).append(i)
                for fl, members in groups.items():
                    for k in range(0, len(members), 200):
                        sub = members[k:k + 200]
                        check_futs.append((sub, pool.submit(
                            run_check_batch, inspect, [cases[i][1] for i in sub], list(fl))))
            models = {}
            for i in idxs:
                c, p = cases[i]
                models[i] = model_of(c.file, c.flags)
            checks = {}
            for sub, fut in check_futs:
                res, _rc = fut.result()
                for i in sub:
                    checks[i] = res.get(cases[i][1])
            for i in idxs:
                c, p = cases[i]
                m = models[i]
                lres = futs[i].result()
                sig = compare(m, lres, args.offsets, args.rule6_any)
                tol = tolerated(m, lres.status, args.rule6_any) if lres.rc == 1 else None
                if tol:
                    tols[tol] = tols.get(tol, 0) + 1
                if sig is None and not args.no_check:
                    ck = checks.get(i)
                    if ck is None:
                        sig = "check:no output"
                    elif m.verdict == "accept":
                        if ck[0] != "ok":
                            sig = "check:accept/%s" % ck[1]
                        elif ck[1] != expected_check_line(p, m):
                            sig = "check:ok-line"
                    elif not (ck[0] == "error" and tol and ck[1] == lres.status):
                        if ck[0] != "error" or ck[1] != m.status or \
                                (args.offsets and ck[2] != m.offset and
                                 ck[2] not in m.alt_offsets):
                            sig = "check:%s/%s" % (m.status, ck[1] if ck[0] == "error" else "ok")
                key = m.status if m.verdict == "reject" else "ST_OK"
                stats[key] = stats.get(key, 0) + 1
                if sig is None:
                    passed += 1
                    continue
                failed += 1
                failures.append((i, c, m, lres, sig, checks.get(i)))
            for i in idxs:
                if all(f[0] != i for f in failures):
                    os.unlink(cases[i][1])
    finally:
        pool.shutdown()

    # Report, minimize, save.
    seen_sigs = {}
    first_case = {}
    for n_rep, (i, c, m, lres, sig, ck) in enumerate(failures):
        tag = "seed%d-case%d" % (args.seed, i)
        first_of_kind = sig not in seen_sigs
        seen_sigs[sig] = seen_sigs.get(sig, 0) + 1
        mini = c.file
        first_case.setdefault(sig, tag)
        if not args.no_minimize and first_of_kind and not sig.startswith("check:"):
            mini = minimize(inspect, c.file, c.flags, sig, args.offsets, args.rule6_any,
                            tmpdir)
            what = "minimized (%d bytes)" % len(mini)
        elif first_of_kind:
            what = "input, not minimized (%d bytes)" % len(mini)
        else:
            what = "input, not minimized: same kind as %s (%d bytes)" % (first_case[sig],
                                                                         len(mini))
        with open(os.path.join(args.out, tag + ".orig.st"), "wb") as fp:
            fp.write(c.file)
        with open(os.path.join(args.out, tag + ".min.st"), "wb") as fp:
            fp.write(mini)
        mm = model_of(mini, c.flags)
        desc = ["case %s  flags %s  mutations %s" % (tag, " ".join(c.flags) or "-",
                                                     ",".join(c.muts) or "none"),
                "  disagreement: %s" % sig,
                "  model: %r" % m, "  lib:   %r" % lres,
                "  model's violations of rule 6: %s" % (" ".join(sorted(m.rule6)) or "-"),
                "  %s: %r" % (what, mini),
                "  model on that input: %r" % mm]
        if lres.err:
            desc.append("  lib stderr: %s" % lres.err.decode("utf-8", "replace").strip())
        if sig.startswith("check:"):
            desc.append("  --check gave: %r" % (ck,))
            if m.verdict == "accept":
                desc.append("  --check expected: %r" % expected_check_line("FILE", m))
        with open(os.path.join(args.out, tag + ".txt"), "w") as fp:
            fp.write("\n".join(desc) + "\n")
        if n_rep < args.max_report or args.verbose:
            print("\n".join(desc))
    shutil.rmtree(tmpdir, ignore_errors=True)
    if failures:
        print("disagreement kinds: " + ", ".join("%s x%d" % kv for kv in sorted(seen_sigs.items())))
    dt = time.time() - t0
    if tols:
        print("tolerated (spec leaves room): " + ", ".join("%s %d" % kv for kv in sorted(tols.items())))
    print("statuses (model): " + ", ".join("%s %d" % kv for kv in sorted(stats.items())),
          )
    print("seed %d: %d cases in %.1f s" % (args.seed, args.cases, dt))
    print("diff: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
