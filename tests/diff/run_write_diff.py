#!/usr/bin/env python3
"""run_write_diff.py - the writer against an independent model of FORMAT.md section 7.

Every case of run_diff.py's generator (same seeds, so any case can be rebuilt
alone) that tests/diff/st_model.py accepts with no leniency switch is rewritten
by `st-convert rewrite` (the library's reader, then its writer), and the result
must be, byte for byte, what this script computes as the reference layout from
the model's listing: tensors sorted by dtype (descending in the reference's enum
order), then name bytes; data back to back; compact JSON (json.dumps with
ensure_ascii=False: only '"', '\\' and control characters escaped, the short
forms for \\b \\f \\n \\r \\t), "__metadata__" first when the input had a
metadata object, fields dtype, shape, data_offsets; spaces to a multiple of 8.
The output must also pass the model again. Cases the model rejects are skipped
(they are run_diff.py's business) and counted.

Usage: python3 tests/diff/run_write_diff.py --convert build/X/st-convert
       [--cases 4000] [--seed 1] [--jobs N]
The last line is `write-diff: N passed, M failed`; exit status 1 if M > 0.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_diff  # noqa: E402
import st_model  # noqa: E402

# FORMAT.md section 7: the reference's dtype enum, in increasing order
REF_ENUM = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
            "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
            "C64", "F64", "I64", "U64"]
RANK = {d: i for i, d in enumerate(REF_ENUM)}


def reference_layout(data, listing, meta):
    n = listing["header_size"]
    body = data[8 + n:]
    ts = sorted(listing["tensors"], key=lambda t: (-RANK[t["dtype"]], t["name"].encode("utf-8")))
    hdr, out, off = {}, [], 0
    if meta is not None:
        hdr["__metadata__"] = dict(meta)
    for t in ts:
        b, e = t["data_offsets"]
        hdr[t["name"]] = {"dtype": t["dtype"], "shape": t["shape"],
                          "data_offsets": [off, off + (e - b)]}
        out.append(body[b:e])
        off += e - b
    h = json.dumps(hdr, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + b"".join(out)


def one(convert, tmp, seed, i):
    c = run_diff.gen_case(seed, i)
    res = st_model.check(c.file)
    if res.verdict != "accept":
        return "skip", None
    # the model keeps metadata pairs in document order; duplicates were refused
    meta = None
    try:
        top = run_diff.st_model.JsonParser(c.file[8:8 + res.listing["header_size"]], False).parse_header()
        kind, pairs = st_model._schema(top)[0]
        meta = pairs if kind == "object" else None
        want = reference_layout(c.file, res.listing, meta)
    except UnicodeEncodeError:
        # a name the JSON spells with a lone surrogate escape: not UTF-8, so the
        # writer must refuse it; checked below
        want = None
    src = os.path.join(tmp, "in-%d.st" % i)
    dst = os.path.join(tmp, "out-%d.st" % i)
    with open(src, "wb") as fp:
        fp.write(c.file)
    p = subprocess.run([convert, "rewrite", src, dst], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    os.unlink(src)
    if want is None:
        ok = p.returncode == 1 and b"ST_E_UTF8" in p.stderr and not os.path.exists(dst)
        return ("pass" if ok else "fail"), (None if ok else "case %d/%d: a non-UTF-8 name: exit %d %s"
                                             % (seed, i, p.returncode, p.stderr[-200:]))
    if p.returncode != 0:
        return "fail", "case %d/%d: st-convert exit %d: %s" % (seed, i, p.returncode,
                                                               p.stderr.decode("utf-8", "replace")[-300:])
    with open(dst, "rb") as fp:
        got = fp.read()
    os.unlink(dst)
    if got != want:
        k = next((j for j in range(min(len(got), len(want))) if got[j] != want[j]), min(len(got), len(want)))
        return "fail", "case %d/%d: %d bytes, want %d; first difference at %d:\n  got  %r\n  want %r" % (
            seed, i, len(got), len(want), k, got[max(0, k - 40):k + 40], want[max(0, k - 40):k + 40])
    again = st_model.check(got)
    if again.verdict != "accept":
        return "fail", "case %d/%d: the model rejects the output: %r" % (seed, i, again)
    return "pass", None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--convert", required=True)
    ap.add_argument("--cases", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    args = ap.parse_args()
    if not os.access(args.convert, os.X_OK):
        print("run_write_diff: %s is not built" % args.convert, file=sys.stderr)
        print("write-diff: 0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="write-diff-")
    counts = {"pass": 0, "fail": 0, "skip": 0}
    fails = []
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for verdict, msg in pool.map(lambda i: one(args.convert, tmp, args.seed, i),
                                         range(args.cases)):
                counts[verdict] += 1
                if msg:
                    fails.append(msg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for m in fails[:20]:
        print(m)
    print("write-diff: %d of %d cases valid without leniency were rewritten (%d others skipped)"
          % (counts["pass"] + counts["fail"], args.cases, counts["skip"]))
    if counts["pass"] + counts["fail"] == 0:
        counts["fail"] += 1  # a harness that compared nothing has failed
    print("write-diff: %d passed, %d failed" % (counts["pass"], counts["fail"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
