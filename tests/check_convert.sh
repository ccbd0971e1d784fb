#!/bin/sh
# End-to-end test of st-convert: rewrite gives the reference layout (the input's
# bytes when the input already has it), to-bf16 / to-f16 give the values a
# Python model of round-to-nearest-even gives (python3 + struct, no library),
# --only picks tensors by glob, merge puts a sharded model in one file with
# the same bytes, and an invalid input or a failed write leaves OUT as it was.
# Usage: tests/check_convert.sh BUILD_DIR
# ST_TEST_WRAPPER: a command the programs run under, split on spaces.
# Ends with one line "check_convert: N passed, M failed"; exits 1 if M > 0.
set -u
B=${1:?usage: check_convert.sh BUILD_DIR}
WRAP=${ST_TEST_WRAPPER:-}
npass=0; nfail=0
EXE=""
[ -x "$B/st-convert.exe" ] && EXE=.exe
BDIR=$(cd "$B" && pwd)
CONVERT=$BDIR/st-convert$EXE
INSPECT=$BDIR/st-inspect$EXE
SAMPLE=$BDIR/make-sample$EXE
for p in "$CONVERT" "$INSPECT" "$SAMPLE"; do
    [ -x "$p" ] || { echo "check_convert: $p is not built"; echo "check_convert: 0 passed, 1 failed"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { npass=$((npass + 1)); }
bad() { nfail=$((nfail + 1)); echo "FAIL: $1"; [ -s "$tmp/err" ] && sed -n '1,5s/^/    stderr: /p' "$tmp/err"; }
# run CMD...: status in $rc, stderr in $tmp/err
run() {
    # shellcheck disable=SC2086
    $WRAP "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
}
expect_rc() { if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit $rc, want $2"; fi; }

run "$SAMPLE" "$tmp/s.st"
expect_rc "make-sample" 0

# rewrite: the sample is in the reference layout already: the same bytes
run "$CONVERT" rewrite "$tmp/s.st" "$tmp/r.st"
expect_rc "rewrite" 0
if cmp -s "$tmp/s.st" "$tmp/r.st"; then ok; else bad "rewrite: not the input's bytes"; fi

# a file in another layout (names unsorted, fields reordered, spaces): the
# reference layout, with the same tensors
python3 - "$tmp/odd.st" <<'PY'
import json, struct, sys
h = '{"z": {"data_offsets": [0, 4], "shape": [1], "dtype": "F32"}, "__metadata__": {"k": "v"}, "a": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}}'
h = h.encode() + b"  "
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + struct.pack("<f", 1.5) + b"\x07\x09")
PY
run "$CONVERT" rewrite "$tmp/odd.st" "$tmp/odd2.st"
expect_rc "rewrite odd layout" 0
if python3 - "$tmp/odd2.st" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
want = b'{"__metadata__":{"k":"v"},"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}'
want += b" " * (-len(want) % 8)
sys.exit(0 if b[8:8 + n] == want and b[8 + n:] == struct.pack("<f", 1.5) + b"\x07\x09" else 1)
PY
then ok; else bad "rewrite odd layout: not the reference layout"; fi

# to-bf16 / to-f16 against a Python model of the rounding
for target in bf16 f16; do
    run "$CONVERT" "to-$target" --only '*.weight' --only 'model.norm*' "$tmp/s.st" "$tmp/$target.st"
    expect_rc "to-$target" 0
    if python3 - "$tmp/s.st" "$tmp/$target.st" "$target" <<'PY'
import fnmatch, json, math, struct, sys
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: (v, b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
def f32_to_bf16(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    if (u & 0x7fffffff) > 0x7f800000:
        return (u >> 16) | 0x40
    return (u + 0x7fff + ((u >> 16) & 1)) >> 16
def f32_to_f16(x):
    return struct.unpack("<H", struct.pack("<e", x))[0] if math.isfinite(x) and abs(x) < 65520 else None
src, dst = load(sys.argv[1]), load(sys.argv[2])
target = sys.argv[3].upper()
assert src.keys() == dst.keys()
converted = 0
for k, (sv, sb) in src.items():
    dv, db = dst[k]
    pick = fnmatch.fnmatchcase(k, "*.weight") or fnmatch.fnmatchcase(k, "model.norm*")
    if pick and sv["dtype"] in ("F32", "F64", "F16", "BF16") and sv["dtype"] != target:
        assert dv["dtype"] == target and dv["shape"] == sv["shape"], k
        if sv["dtype"] == "F32":
            xs = struct.unpack("<%df" % (len(sb) // 4), sb)
        elif sv["dtype"] == "F64":  # to float first, as the library does
            xs = [struct.unpack("<f", struct.pack("<f", v))[0] for v in struct.unpack("<%dd" % (len(sb) // 8), sb)]
        elif sv["dtype"] == "F16":
            xs = struct.unpack("<%de" % (len(sb) // 2), sb)
        else:  # BF16
            xs = [struct.unpack("<f", struct.pack("<I", u << 16))[0] for u in struct.unpack("<%dH" % (len(sb) // 2), sb)]
        got = struct.unpack("<%dH" % (len(db) // 2), db)
        for x, g in zip(xs, got):
            w = f32_to_bf16(x) if target == "BF16" else f32_to_f16(x)
            assert w is None or g == w, (k, x, g, w)
        converted += 1
    else:
        assert dv == {**sv, "data_offsets": dv["data_offsets"]} and db == sb, k
assert converted >= 5, converted
PY
    then ok; else bad "to-$target: values or untouched tensors differ"; fi
done

# merge: a sharded model (two shards and an index) into one file
python3 - "$tmp" <<'PY'
import json, struct, sys
d = sys.argv[1]
def write(path, tensors):
    hdr, off, data = {}, 0, b""
    for n, dt, shape, b in tensors:
        hdr[n] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b); data += b
    h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
write(d + "/m-1.safetensors", [("a", "F32", [2], struct.pack("<2f", 1, 2)), ("b", "U8", [3], b"xyz")])
write(d + "/m-2.safetensors", [("c", "I16", [2], struct.pack("<2h", -1, 7))])
json.dump({"metadata": {"total_size": 17}, "weight_map": {"a": "m-1.safetensors", "b": "m-1.safetensors", "c": "m-2.safetensors"}},
          open(d + "/model.safetensors.index.json", "w"))
PY
run "$CONVERT" merge "$tmp/model.safetensors.index.json" "$tmp/merged.st"
expect_rc "merge" 0
run "$INSPECT" --json "$tmp/merged.st"
expect_rc "merge: the result is valid" 0
if python3 - "$tmp/merged.st" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); d = b[8 + n:]
get = lambda k: d[h[k]["data_offsets"][0]:h[k]["data_offsets"][1]]
assert sorted(h) == ["a", "b", "c"], h
assert get("a") == struct.pack("<2f", 1, 2) and get("b") == b"xyz" and get("c") == struct.pack("<2h", -1, 7)
PY
then ok; else bad "merge: tensors differ"; fi

# split: the merged file back into shards of at most 8 bytes, with an index
mkdir "$tmp/split"
run "$CONVERT" split --max-shard-size 8 --prefix part "$tmp/merged.st" "$tmp/split"
expect_rc "split" 0
if grep -q "3 tensors in 2 shards" "$tmp/out"; then ok; else bad "split: summary: $(cat "$tmp/out")"; fi
if [ -f "$tmp/split/part-00001-of-00002.safetensors" ] && [ -f "$tmp/split/part.safetensors.index.json" ]; then ok; else bad "split: files"; fi
run "$INSPECT" --check "$tmp/split"
expect_rc "split: the model is valid" 0
run "$CONVERT" merge "$tmp/split" "$tmp/remerged.st"
expect_rc "split then merge" 0
if cmp -s "$tmp/merged.st" "$tmp/remerged.st"; then ok; else bad "split then merge: bytes differ"; fi
for v in 0 8x -1 5TB ""; do
    run "$CONVERT" split --max-shard-size "$v" "$tmp/merged.st" "$tmp/split"
    expect_rc "split: size '$v'" 2
done
run "$CONVERT" rewrite --prefix x "$tmp/merged.st" "$tmp/x.st"
expect_rc "--prefix outside split" 2

# invalid input: exit 1, OUT untouched, nothing left beside it
printf 'old' >"$tmp/keep.st"
head -c 100 "$tmp/s.st" >"$tmp/trunc.st"
run "$CONVERT" rewrite "$tmp/trunc.st" "$tmp/keep.st"
expect_rc "invalid input" 1
if grep -q "error: .*\[ST_E_" "$tmp/err"; then ok; else bad "invalid input: no status in the message"; fi
if [ "$(cat "$tmp/keep.st")" = old ]; then ok; else bad "invalid input: OUT changed"; fi
# a bad shard is found before anything is written
printf 'bad' >"$tmp/m-2.safetensors"
run "$CONVERT" merge "$tmp" "$tmp/keep.st"
expect_rc "bad shard" 1
if [ "$(cat "$tmp/keep.st")" = old ]; then ok; else bad "bad shard: OUT changed"; fi
# an output directory that does not exist
run "$CONVERT" rewrite "$tmp/s.st" "$tmp/no/such/out.st"
expect_rc "no output directory" 1
if grep -q "ST_E_IO" "$tmp/err"; then ok; else bad "no output directory: not ST_E_IO"; fi
n=$(ls "$tmp" | grep -c '\.tmp$')
if [ "$n" -eq 0 ]; then ok; else bad "temporary files left: $n"; fi

# usage
for args in "" "bogus a b" "rewrite a" "rewrite a b c" "rewrite --only x a b" "to-bf16 --only" \
            "rewrite --align 12 a b" "rewrite --align 8192 a b" "rewrite --frob a b"; do
    # shellcheck disable=SC2086
    run "$CONVERT" $args
    expect_rc "usage: '$args'" 2
done
run "$CONVERT" --help
expect_rc "--help" 0
run "$CONVERT" --version
expect_rc "--version" 0
if grep -Eq '^st-convert \(libsafetensors\) [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out"; then ok; else bad "--version format"; fi
# --align and --keep-order reach the writer
run "$CONVERT" rewrite --align 4096 --keep-order "$tmp/odd.st" "$tmp/al.st"
expect_rc "--align 4096" 0
if python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",b[:8])[0]; sys.exit(0 if (8+n)%4096==0 and b.index(b"\"z\"")<b.index(b"\"a\"") else 1)' "$tmp/al.st"; then ok; else bad "--align/--keep-order not applied"; fi

echo "check_convert: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
