#!/bin/sh
# shellcheck disable=SC2317  # helpers are called indirectly, through expect
# End-to-end test of the st-inspect CLI (and make-sample): table output,
# --check on valid and hostile files, --json compared field by field with the
# file (python3), exit codes 0/1/2, the exact "FILE: error: " prefix, leniency
# switches, --max-header, a closed pipe.
# Usage: tests/check_inspect.sh BUILD_DIR
# ST_TEST_WRAPPER: a command the programs run under, split on spaces (as for
# tests/run.sh: "qemu-i386 -L /" in make check-m32 on a host whose kernel
# cannot run i386 programs).
# Windows builds (make check-windows, ST_TEST_WRAPPER=wine): the programs are
# st-inspect.exe and make-sample.exe, used when the plain names are absent;
# unix absolute paths reach them through wine's Z: drive.
# Ends with one line "check_inspect: N passed, M failed"; exits 1 if M > 0.
set -u
B=${1:?usage: check_inspect.sh BUILD_DIR}
npass=0
nfail=0

finish() {
    echo "check_inspect: $npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
    exit $?
}

EXE=""
[ ! -e "$B/st-inspect" ] && [ -e "$B/st-inspect.exe" ] && EXE=.exe
for prog in st-inspect make-sample; do
    if [ ! -x "$B/$prog$EXE" ]; then
        echo "check_inspect: $B/$prog is not built (make B=$B examples)"
        nfail=1; finish
    fi
done
if ! command -v python3 >/dev/null 2>&1; then
    echo "check_inspect: python3 is required (apt-get install -y python3)"
    nfail=1; finish
fi

BDIR=$(cd "$B" && pwd)
INSPECT=$BDIR/st-inspect$EXE
MAKE_SAMPLE=$BDIR/make-sample$EXE
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
TO=""
WRAP=${ST_TEST_WRAPPER:-}
command -v timeout >/dev/null 2>&1 && TO="timeout 30"

# ---------------------------------------------------------------- helpers

# run CMD...: stdout to $tmp/out, stderr to $tmp/err, status in $rc.
run() {
    # shellcheck disable=SC2086
    $TO $WRAP "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

ok() { npass=$((npass + 1)); }

bad() {
    nfail=$((nfail + 1))
    echo "FAIL: $1"
    if [ -s "$tmp/err" ]; then sed -n '1,5s/^/    stderr: /p' "$tmp/err"; fi
}

# expect NAME CMD...: CMD must succeed.
expect() {
    name=$1; shift
    if "$@"; then ok; else bad "$name"; fi
}

# expect_rc NAME WANT: the last run exited with WANT.
expect_rc() {
    if [ "$rc" -eq "$2" ]; then ok; else bad "$1: exit status $rc, want $2"; fi
}

has() { grep -F -q -e "$2" "$1"; }          # has FILE TEXT
lacks() { ! grep -F -q -e "$2" "$1"; }      # lacks FILE TEXT
empty() { [ ! -s "$1" ]; }                  # empty FILE
lines() { [ "$(wc -l <"$1")" -eq "$2" ]; }  # lines FILE N

# expect_error NAME FILE STATUS: the last run failed with exit 1, printed
# nothing on stdout and exactly one line "FILE: error: ... [STATUS..." on stderr.
expect_error() {
    expect_rc "$1" 1
    expect "$1: stdout empty" empty "$tmp/out"
    expect "$1: one line on stderr" lines "$tmp/err" 1
    first=$(sed -n 1p "$tmp/err")
    case "$first" in
    "$2: error: "*) ok ;;
    *) bad "$1: stderr does not start with '$2: error: ': $first" ;;
    esac
    expect "$1: status $3 named" has "$tmp/err" "[$3"
}

# ---------------------------------------------------------------- files

run "$MAKE_SAMPLE" "$tmp/sample.safetensors"
expect_rc "make-sample" 0
expect "make-sample wrote a file" test -s "$tmp/sample.safetensors"
run "$MAKE_SAMPLE"
expect_rc "make-sample without OUT" 2
if [ ! -s "$tmp/sample.safetensors" ]; then finish; fi

# Hostile and unusual files, built byte by byte.
python3 - "$tmp" <<'PY' || { echo "check_inspect: could not craft the test files"; nfail=$((nfail + 1)); finish; }
import json, struct, sys
d = sys.argv[1]
def put(name, data):
    with open(d + "/" + name, "wb") as f:
        f.write(data)
def st(header, data=b""):
    if isinstance(header, str):
        header = header.encode("utf-8")
    return struct.pack("<Q", len(header)) + header + data
sample = open(d + "/sample.safetensors", "rb").read()
put("truncated.st", sample[:-1])
put("trailing.st", sample + b"\0\0\0\0")
put("badjson.st", st('{"a" {"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4))
put("lfs.st", b"version https://git-lfs.github.com/spec/v1\n"
              b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
              b"size 548105171\n")
put("html.st", b"<!DOCTYPE html>\n<html><body>Not Found</body></html>\n")
put("empty.st", b"")
put("nulpad.st", st(b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}' + b"\0" * 6, b"\1\2"))
put("minimal.st", st("{}"))
put("meta_null.st", st('{"__metadata__":null,"x":{"dtype":"I8","shape":[3],"data_offsets":[0,3]}}', b"abc"))
put("meta_empty.st", st('{"x":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]},"__metadata__":{}}', b"\1"))
# Names with quotes, backslashes, control characters, non-BMP characters (raw
# and as a surrogate-pair escape), the empty name, bidi and C1 controls;
# metadata with a NUL. Header order differs from file order on purpose.
names = ['quote"d', 'back\\slash', 'ctl\n\t\r\x01\x1f\x7f', 'emoji \U0001F600 raw',
         'pair \U0001F9D0', '', 'na\u00efve', 'bidi\u202eevil', 'c1\u0085x', 'sep\u2028x',
         'long.' + 'x' * 90 + '.weight']
entries = []
for i, n in enumerate(names):
    key = json.dumps(n, ensure_ascii=(i % 2 == 1))
    begin = 4 * (len(names) - 1 - i)
    entries.append('%s:{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}' % (key, begin, begin + 4))
meta = '"__metadata__":{"nul":"a\\u0000b","quote":"\\"q\\"","uni":"\\ud83d\\ude00 \u00e9","ctl":"\\u0001\\n\\u007f","":"empty key","back":"\\\\","k\\u0000ey":"nul in key"}'
put("tricky.st", st("{" + ",".join(entries[:5] + [meta] + entries[5:]) + "}", bytes(range(4 * len(names)))))
# Many tensors: output far larger than a pipe buffer.
many = ",".join('"t%05d":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}' % (i, i, i + 1) for i in range(6000))
put("many.st", st("{" + many + "}", b"\0" * 6000))
PY

# The comparer: st-inspect --json output against the file's own header.
cat >"$tmp/cmp.py" <<'PY'
import json, struct, sys
path, out = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
text = raw[8:8 + n].decode("utf-8").rstrip(" \t\r\n\0")
pairs = lambda kv: kv  # keep order and duplicates: objects as lists of pairs
hdr = json.loads(text, object_pairs_hook=pairs)
want_meta, want_t = None, []
for k, v in hdr:
    if k == "__metadata__":
        want_meta = v
    else:
        e = dict(v)
        want_t.append([("name", k), ("dtype", e["dtype"]), ("shape", e["shape"]),
                       ("data_offsets", e["data_offsets"])])
want_t.sort(key=lambda t: tuple(t[3][1]))  # stable: ties keep header order
want = [("header_size", n), ("data_size", len(raw) - 8 - n),
        ("metadata", want_meta), ("tensors", want_t)]
with open(out, "rb") as f:
    body = f.read()
errors = []
try:
    got = json.loads(body.decode("utf-8"), object_pairs_hook=pairs)
except Exception as e:
    sys.exit("not one JSON object: %s" % e)
if [k for k, _ in got] != [k for k, _ in want]:
    errors.append("top-level keys %r" % [k for k, _ in got])
g, w = dict(got), dict(want)
for k in ("header_size", "data_size", "metadata"):
    if g.get(k) != w[k]:
        errors.append("%s: got %r, want %r" % (k, g.get(k), w[k]))
gt = g.get("tensors")
if not isinstance(gt, list) or len(gt) != len(want_t):
    errors.append("tensors: got %r entries, want %d" % (len(gt) if isinstance(gt, list) else gt, len(want_t)))
else:
    for i, (a, b) in enumerate(zip(gt, want_t)):
        if a != b:
            errors.append("tensor %d: got %r, want %r" % (i, a, b))
for e in errors[:10]:
    print("    " + e)
sys.exit(1 if errors else 0)
PY

# The table checker: every tensor appears in file order with its dtype, shape,
# offsets and size; names shown with st-inspect's escapes.
cat >"$tmp/table.py" <<'PY'
import json, struct, sys
path, out = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n].decode("utf-8").rstrip(" \t\r\n\0"))
body = open(out, "rb").read()
bad = [c for c in body if c < 0x20 and c != 0x0A]
if bad:
    sys.exit("raw control bytes in the table: %r" % bad[:5])
text = body.decode("utf-8")
if any(ch in text for ch in "\u202e\u0085\u2028"):
    sys.exit("raw bidi or C1 control in the table")
def esc(s):
    r = []
    for ch in s:
        c = ord(ch)
        if ch == "\\": r.append("\\\\")
        elif ch == "\n": r.append("\\n")
        elif ch == "\t": r.append("\\t")
        elif ch == "\r": r.append("\\r")
        elif c < 0x20 or c == 0x7F: r.append("\\x%02X" % c)
        elif 0x80 <= c <= 0x9F or 0x202A <= c <= 0x202E or 0x2066 <= c <= 0x2069 or c in (0x200E, 0x200F, 0x061C, 0x2028, 0x2029, 0xFEFF):
            r.append("\\u%04X" % c)
        else: r.append(ch)
    return "".join(r) if s else '""'
ts = [(k, v) for k, v in hdr.items() if k != "__metadata__"]
ts.sort(key=lambda kv: tuple(kv[1]["data_offsets"]))
pos = 0
for i, (k, v) in enumerate(ts):
    b, e = v["data_offsets"]
    for piece in ("%d  " % i, esc(k), v["dtype"], "[" + ", ".join(map(str, v["shape"])) + "]",
                  "[%d, %d)" % (b, e), str(e - b)):
        j = text.find(piece, pos)
        if j < 0:
            sys.exit("tensor %d %r: %r not found after offset %d" % (i, k, piece, pos))
        pos = j + len(piece)
meta = hdr.get("__metadata__")
if meta:
    for k, v in meta.items():
        line = "  %s: %s\n" % (esc(k), esc(v))
        if line not in text:
            sys.exit("metadata line %r missing" % line)
summary = "summary: %d tensor%s, header %d bytes" % (len(ts), "" if len(ts) == 1 else "s", n)
if summary not in text:
    sys.exit("summary %r missing" % summary)
PY

S=$tmp/sample.safetensors
size=$(wc -c <"$S" | tr -d ' ')

# The sample is what make-sample promises: a padded header, aligned tensors,
# mixed dtypes, a scalar, a zero-size tensor, a non-ASCII name, format pt.
expect "make-sample: the sample has the promised features" python3 - "$S" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
text = raw[8:8 + n].decode("utf-8")
hdr = json.loads(text)
bits = {"F32": 32, "BF16": 16, "F16": 16, "I64": 64, "U8": 8}
ts = {k: v for k, v in hdr.items() if k != "__metadata__"}
problems = []
if (8 + n) % 8 or text[text.rindex("}") + 1:].strip(" "):
    problems.append("header not padded with spaces to a multiple of 8")
if not 12 <= len(ts) <= 20:
    problems.append("%d tensors" % len(ts))
if not set(bits) <= {v["dtype"] for v in ts.values()}:
    problems.append("dtypes %r" % sorted({v["dtype"] for v in ts.values()}))
for k, v in ts.items():
    b, e = v["data_offsets"]
    if (8 + n + b) % (bits.get(v["dtype"], 8) // 8):
        problems.append("%s misaligned" % k)
if not any(v["shape"] == [] for v in ts.values()):
    problems.append("no scalar")
if not any(v["data_offsets"][0] == v["data_offsets"][1] for v in ts.values()):
    problems.append("no zero-size tensor")
if not any(any(ord(c) > 127 for c in k) for k in ts):
    problems.append("no non-ASCII name")
if hdr.get("__metadata__", {}).get("format") != "pt":
    problems.append("no format pt")
if text.index('"__metadata__"') > 2:
    problems.append("__metadata__ not first")
for p in problems:
    print("    " + p)
sys.exit(1 if problems else 0)
PY
run "$MAKE_SAMPLE" "$tmp/sample2.safetensors"
expect "make-sample: deterministic output" cmp -s "$S" "$tmp/sample2.safetensors"
run "$MAKE_SAMPLE" "$tmp/no-such-dir/x.safetensors"
expect_rc "make-sample: unwritable path" 1

# ---------------------------------------------------------------- valid files

run "$INSPECT" "$S"
expect_rc "table: sample" 0
expect "table: sample: stderr empty" empty "$tmp/err"
expect "table: sample: rows, metadata, summary" python3 "$tmp/table.py" "$S" "$tmp/out"
expect "table: sample: metadata format pt" has "$tmp/out" "  format: pt"
expect "table: sample: non-ASCII name shown" has "$tmp/out" "self_attn.λ"
expect "table: sample: no leniency reported" lacks "$tmp/out" "leniency"

run "$INSPECT" --check "$S"
expect_rc "check: sample" 0
expect "check: sample: stderr empty" empty "$tmp/err"
expect "check: sample: ok line" has "$tmp/out" "$S: ok"

# a file name outside ASCII (UTF-8; Windows: converted to UTF-16 by the library)
U="$tmp/tëst-数据 λ.safetensors"
cp "$S" "$U"
run "$INSPECT" --check "$U"
expect_rc "check: non-ASCII file name" 0
expect "check: non-ASCII file name: the name as given" has "$tmp/out" "$U: ok ("
rm -f "$U"
run "$INSPECT" --check "$U"
expect_error "check: non-ASCII missing file" "$U" "ST_E_IO"

run "$INSPECT" --json "$S"
expect_rc "json: sample" 0
expect "json: sample: stderr empty" empty "$tmp/err"
expect "json: sample matches the file" python3 "$tmp/cmp.py" "$S" "$tmp/out"

run "$INSPECT" "$tmp/tricky.st"
expect_rc "table: tricky names" 0
expect "table: tricky names escaped, long name kept" python3 "$tmp/table.py" "$tmp/tricky.st" "$tmp/out"
run "$INSPECT" --json "$tmp/tricky.st"
expect_rc "json: tricky names" 0
expect "json: tricky names and metadata with NUL match" python3 "$tmp/cmp.py" "$tmp/tricky.st" "$tmp/out"
expect "json: NUL in metadata escaped as \\u0000" has "$tmp/out" 'a\u0000b'

for f in minimal meta_null meta_empty; do
    run "$INSPECT" --json "$tmp/$f.st"
    expect_rc "json: $f" 0
    expect "json: $f matches" python3 "$tmp/cmp.py" "$tmp/$f.st" "$tmp/out"
    run "$INSPECT" "$tmp/$f.st"
    expect_rc "table: $f" 0
    expect "table: $f rows" python3 "$tmp/table.py" "$tmp/$f.st" "$tmp/out"
done
run "$INSPECT" --json "$tmp/minimal.st"
expect "json: absent metadata is null" has "$tmp/out" '"metadata": null'
run "$INSPECT" --json "$tmp/meta_null.st"
expect "json: null metadata is null" has "$tmp/out" '"metadata": null'
run "$INSPECT" --json "$tmp/meta_empty.st"
expect "json: empty metadata is {}" has "$tmp/out" '"metadata": {}'
run "$INSPECT" "$tmp/minimal.st"
expect "table: absent metadata" has "$tmp/out" "metadata: none"
expect "table: no tensors" has "$tmp/out" "summary: 0 tensors"
run "$INSPECT" "$tmp/meta_null.st"
expect "table: null metadata" has "$tmp/out" "metadata: none"
run "$INSPECT" "$tmp/meta_empty.st"
expect "table: empty metadata" has "$tmp/out" "metadata: {} (empty)"
expect "table: one tensor" has "$tmp/out" "summary: 1 tensor,"

# ---------------------------------------------------------------- invalid files

run "$INSPECT" --check "$tmp/truncated.st"
expect_error "check: truncated" "$tmp/truncated.st" "ST_E_COVERAGE at offset $size]"
run "$INSPECT" --check "$tmp/trailing.st"
expect_error "check: trailing bytes" "$tmp/trailing.st" "ST_E_COVERAGE at offset $size]"
run "$INSPECT" --check "$tmp/badjson.st"
expect_error "check: bad JSON" "$tmp/badjson.st" "ST_E_JSON at offset 13]"
run "$INSPECT" --check "$tmp/lfs.st"
expect_error "check: LFS pointer" "$tmp/lfs.st" "ST_E_WRONG_FORMAT at offset 0]"
expect "check: LFS pointer named" grep -q -i "lfs" "$tmp/err"
run "$INSPECT" --check "$tmp/html.st"
expect_error "check: HTML page" "$tmp/html.st" "ST_E_WRONG_FORMAT"
run "$INSPECT" --check "$tmp/empty.st"
expect_error "check: empty file" "$tmp/empty.st" "ST_E_HEADER_TOO_SMALL at offset 0]"
run "$INSPECT" --check "$tmp/missing.st"
expect_error "check: missing file" "$tmp/missing.st" "ST_E_IO"
run "$INSPECT" --check "$tmp"
expect_error "check: a directory" "$tmp" "ST_E_"
if mkfifo "$tmp/fifo" 2>/dev/null; then
    run "$INSPECT" --check "$tmp/fifo"
    expect_error "check: a FIFO with no writer (no hang)" "$tmp/fifo" "ST_E_IO"
fi
run "$INSPECT" --check /dev/null
expect_error "check: /dev/null" /dev/null "ST_E_"
run "$INSPECT" --check "$tmp/nulpad.st"
expect_error "check: NUL padding" "$tmp/nulpad.st" "ST_E_JSON"

# Several files: one line per bad file, in order; the good one is reported ok.
run "$INSPECT" --check "$S" "$tmp/truncated.st" "$tmp/lfs.st" "$tmp/missing.st" "$S"
expect_rc "check: several files" 1
expect "check: several files: three error lines" lines "$tmp/err" 3
expect "check: several files: two ok lines" lines "$tmp/out" 2
i=1
for f in "$tmp/truncated.st" "$tmp/lfs.st" "$tmp/missing.st"; do
    line=$(sed -n "${i}p" "$tmp/err")
    case "$line" in
    "$f: error: "*) ok ;;
    *) bad "check: several files: line $i is not for $f: $line" ;;
    esac
    i=$((i + 1))
done

# Table and --json modes on an invalid file.
run "$INSPECT" "$tmp/truncated.st"
expect_error "table: truncated" "$tmp/truncated.st" "ST_E_COVERAGE"
run "$INSPECT" --json "$tmp/lfs.st"
expect_error "json: LFS pointer" "$tmp/lfs.st" "ST_E_WRONG_FORMAT"

# ---------------------------------------------------------------- leniency

run "$INSPECT" --check --allow-trailing "$tmp/trailing.st"
expect_rc "check: --allow-trailing" 0
expect "check: --allow-trailing reports 4 bytes" has "$tmp/out" "4 trailing bytes"
run "$INSPECT" --allow-trailing "$tmp/trailing.st"
expect_rc "table: --allow-trailing" 0
expect "table: --allow-trailing in the summary" has "$tmp/out" "leniency used: trailing bytes (4 bytes"
run "$INSPECT" --json --allow-trailing "$tmp/trailing.st"
expect_rc "json: --allow-trailing" 0
expect "json: --allow-trailing data_size counts them" python3 "$tmp/cmp.py" "$tmp/trailing.st" "$tmp/out"
run "$INSPECT" --check --allow-trailing "$tmp/truncated.st"
expect_error "check: --allow-trailing still refuses truncation" "$tmp/truncated.st" "ST_E_COVERAGE"
run "$INSPECT" --check --allow-nul-padding "$tmp/nulpad.st"
expect_rc "check: --allow-nul-padding" 0
expect "check: --allow-nul-padding reported" has "$tmp/out" "NUL padding"
run "$INSPECT" --allow-nul-padding "$tmp/nulpad.st"
expect_rc "table: --allow-nul-padding" 0
expect "table: --allow-nul-padding in the summary" has "$tmp/out" "NUL padding in the header"
run "$INSPECT" --json --allow-nul-padding "$tmp/nulpad.st"
expect "json: --allow-nul-padding matches" python3 "$tmp/cmp.py" "$tmp/nulpad.st" "$tmp/out"
run "$INSPECT" --check --allow-nul-padding "$tmp/trailing.st"
expect_error "check: one switch does not enable the other" "$tmp/trailing.st" "ST_E_COVERAGE"

# ---------------------------------------------------------------- --max-header

hsize=$(python3 -c 'import struct,sys; print(struct.unpack("<Q", open(sys.argv[1],"rb").read(8))[0])' "$S")
run "$INSPECT" --check --max-header "$hsize" "$S"
expect_rc "max-header: equal to the header size" 0
run "$INSPECT" --check --max-header=$((hsize - 1)) "$S"
expect_error "max-header: one below" "$S" "ST_E_HEADER_TOO_LARGE at offset 0]"
run "$INSPECT" --check --max-header 0 "$S"
expect_rc "max-header: 0 is the default" 0
run "$INSPECT" --check --max-header 2000000000 "$S"
expect_rc "max-header: the limit" 0
for v in 2000000001 abc -1 1x "" 99999999999999999999999; do
    run "$INSPECT" --check --max-header "$v" "$S"
    expect_rc "max-header: '$v' is a usage error" 2
done
run "$INSPECT" --check "$S" --max-header
expect_rc "max-header: missing value" 2

# ---------------------------------------------------------------- usage

run "$INSPECT"
expect_rc "usage: no argument" 2
expect "usage: no argument prints usage" has "$tmp/err" "usage:"
run "$INSPECT" --json
expect_rc "usage: --json without a file" 2
run "$INSPECT" --bogus "$S"
expect_rc "usage: unknown option" 2
expect "usage: unknown option named" has "$tmp/err" "--bogus"
run "$INSPECT" "$S" -x
expect_rc "usage: unknown option after the file" 2
run "$INSPECT" --json "$S" "$S"
expect_rc "usage: --json with two files" 2
expect "usage: --json with two files prints nothing on stdout" empty "$tmp/out"
run "$INSPECT" "$S" "$S"
expect_rc "usage: table with two files" 2
run "$INSPECT" --check --json "$S"
expect_rc "usage: --check with --json" 2
run "$INSPECT" --help
expect_rc "usage: --help" 0
expect "usage: --help on stdout" has "$tmp/out" "usage:"
expect "usage: --help stderr empty" empty "$tmp/err"
run "$INSPECT" --version
expect_rc "usage: --version" 0
expect "usage: --version format" grep -E -q '^st-inspect \(libsafetensors\) [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"
cp "$S" "$tmp/-dash.st"
(cd "$tmp" && $TO $WRAP "$INSPECT" --check -- -dash.st >out 2>err); rc=$?
expect_rc "usage: -- ends the options" 0
(cd "$tmp" && $TO $WRAP "$INSPECT" --check -dash.st >out 2>err); rc=$?
expect_rc "usage: a dash name without -- is an option" 2
run "$INSPECT" --check "$S" -- "$tmp/missing.st"
expect_rc "usage: files after --" 1
expect "usage: files after --: the first file checked" has "$tmp/out" "$S: ok"
expect "usage: files after --: the second one too" has "$tmp/err" "$tmp/missing.st: error: "

# ---------------------------------------------------------------- output

# A reader that goes away: no hang, no crash, no error message for EPIPE
# (SIGPIPE ignored so that the write error is seen by the program).
(
    trap '' PIPE
    { $TO $WRAP "$INSPECT" --json "$tmp/many.st" 2>"$tmp/err"; echo $? >"$tmp/rc"; } | head -c 100 >/dev/null
)
rc=$(cat "$tmp/rc")
expect_rc "closed pipe: exit status 1" 1
expect "closed pipe: no message for EPIPE" empty "$tmp/err"
{ $TO $WRAP "$INSPECT" "$tmp/many.st" 2>"$tmp/err"; echo $? >"$tmp/rc"; } | head -n 3 >/dev/null
rc=$(cat "$tmp/rc")
if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || [ "$rc" -eq 141 ]; then ok; else bad "closed pipe (SIGPIPE default): exit status $rc"; fi
run "$INSPECT" --json "$tmp/many.st"
expect_rc "json: 6000 tensors" 0
expect "json: 6000 tensors match" python3 "$tmp/cmp.py" "$tmp/many.st" "$tmp/out"
if [ -w /dev/full ]; then
    $TO $WRAP "$INSPECT" "$S" >/dev/full 2>"$tmp/err"; rc=$?
    expect_rc "stdout full: exit status 1" 1
    expect "stdout full: reported" has "$tmp/err" "error writing to stdout"
fi

# ---------------------------------------------------------------- sharded models

# A directory with an index whose one shard is the sample; then shards that are
# symbolic links: inside the directory (followed), out of it (refused: the
# final path of what was opened is checked; on Windows under wine the host's
# symbolic links resolve the same way).
mkdir -p "$tmp/model" "$tmp/outside"
cp "$S" "$tmp/model/a.safetensors"
cp "$S" "$tmp/outside/x.safetensors"
python3 - "$S" "$tmp" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
names = [k for k in json.loads(raw[8:8 + n].decode("utf-8")) if k != "__metadata__"]
for d, shard in (("model", "a.safetensors"), ("link_in", "b.safetensors"), ("link_out", "x.safetensors")):
    idx = {"weight_map": {k: shard for k in names}}
    if d != "model":
        import os; os.makedirs(sys.argv[2] + "/" + d, exist_ok=True)
    open(sys.argv[2] + "/" + d + "/model.safetensors.index.json", "w").write(json.dumps(idx))
PY
ntensors=$(python3 -c "import json,struct,sys; r=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',r[:8])[0]; print(len([k for k in json.loads(r[8:8+n]) if k!='__metadata__']))" "$S")
run "$INSPECT" --check "$tmp/model"
expect_rc "model: a directory with an index" 0
expect "model: ok line" has "$tmp/out" "$tmp/model: ok ($ntensors tensors in 1 shard)"
mkdir -p "$tmp/link_in/real"
cp "$S" "$tmp/link_in/real/a.safetensors"
if ln -s real/a.safetensors "$tmp/link_in/b.safetensors" 2>/dev/null &&
   ln -s "$tmp/outside/x.safetensors" "$tmp/link_out/x.safetensors" 2>/dev/null; then
    run "$INSPECT" --check "$tmp/link_in"
    expect_rc "model: a shard linked to a file inside the index's directory" 0
    expect "model: linked inside: ok line" has "$tmp/out" "$tmp/link_in: ok ($ntensors tensors in 1 shard)"
    run "$INSPECT" --check "$tmp/link_out"
    expect_error "model: a shard linked out of the directory" "$tmp/link_out" "ST_E_NAME"
    expect "model: the escape named" has "$tmp/err" "outside the index's directory"
else
    echo "check_inspect: no symbolic links here: shard links not checked"
fi

# Three shards whose first appearance in the weight map (lm_head's shard
# first, as sorted names put it) is not their file-name order: the table and
# the JSON list them model-00001 first; a 64-character name stays on its row;
# a broken shard prints nothing on stdout.
mkdir -p "$tmp/order"
python3 - "$tmp/order" <<'PY'
import json, os, struct, sys
d = sys.argv[1]
long64 = "model.layers.10.self_attn.kv_a_proj_with_mqa.weight_scale_inv.xy"
assert len(long64) == 64
shards = {"model-00003-of-00003.safetensors": ["lm_head.weight"],
          "model-00001-of-00003.safetensors": ["model.embed_tokens.weight", long64],
          "model-00002-of-00003.safetensors": ["model.norm.weight"]}
wm = {}
for f, names in shards.items():
    hdr, off = {}, 0
    for n in names:
        hdr[n] = {"dtype": "F32", "shape": [2], "data_offsets": [off, off + 8]}
        off += 8
        wm[n] = f
    h = json.dumps(hdr).encode()
    open(os.path.join(d, f), "wb").write(struct.pack("<Q", len(h)) + h + bytes(off))
open(os.path.join(d, "model.safetensors.index.json"), "w").write(
    json.dumps({"weight_map": dict(sorted(wm.items()))}))
PY
run "$INSPECT" "$tmp/order"
expect_rc "model table: three shards" 0
expect "model table: shards in file-name order" python3 -c '
import re, sys
files = re.findall(r"^file: (\S+)", open(sys.argv[1]).read(), re.M)
sys.exit(files != ["model-0000%d-of-00003.safetensors" % i for i in (1, 2, 3)])' "$tmp/out"
expect "model table: a 64-character name on its row" grep -q -E \
    "^ *[0-9]+  model\.layers\.10\.self_attn\.kv_a_proj_with_mqa\.weight_scale_inv\.xy +F32 " "$tmp/out"
run "$INSPECT" --json "$tmp/order"
expect_rc "model json: three shards" 0
expect "model json: shards in file-name order" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit([s["name"] for s in d["shards"]] != ["model-0000%d-of-00003.safetensors" % i for i in (1, 2, 3)])' "$tmp/out"
run "$INSPECT" --bytes-read --json "$tmp/order"
expect "model json: the index and each shard's header read once" python3 -c '
import re, sys
m = re.search(r"bytes read: (\d+) reads", open(sys.argv[1]).read())
sys.exit(not m or int(m.group(1)) != 1 + 2 * 3)' "$tmp/err"
printf 'XXXXXXXX' >"$tmp/order/model-00002-of-00003.safetensors"
run "$INSPECT" "$tmp/order"
expect_rc "model table: a broken shard" 1
expect "model table: nothing printed for a broken model" empty "$tmp/out"
expect "model table: the broken shard named" has "$tmp/err" "model-00002-of-00003.safetensors"
run "$INSPECT" --json "$tmp/order"
expect_rc "model json: a broken shard" 1
expect "model json: nothing printed for a broken model" empty "$tmp/out"

# ---------------------------------------------------------------- --dump

python3 - "$tmp/dump.st" <<'PY'
import json, struct, sys
ts = [("f", "F32", [3], struct.pack("<3f", 1.5, -2.0, 0.1)),
      ("h", "BF16", [2], struct.pack("<2H", 0x3FC0, 0xC000)),       # 1.5, -2
      ("q", "F4", [4], bytes([0x21, 0x97])),                        # 0.5 1 | 6 -0.5
      ("i", "I64", [2], struct.pack("<2q", -9007199254740993, 7)),
      ("u", "U16", [2], struct.pack("<2H", 65535, 1)),
      ("c", "C64", [1], struct.pack("<2f", 1.0, -3.0)),
      ("e", "F8_E4M3", [2], bytes([0x7E, 0xB8])),                   # 448, -1
      ("d", "F64", [4], struct.pack("<4d", 0.09568845342543757, 1e-300, -2.5,
                                    0.1 + 0.2))]
hdr, off, data = {}, 0, b""
for n, d, sh, b in ts:
    hdr[n] = {"dtype": d, "shape": sh, "data_offsets": [off, off + len(b)]}
    off += len(b); data += b
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
dump_is() { # dump_is NAME EXPECTED-VALUES (space-separated) [--limit N]
    nm=$1; want=$2; shift 2
    run "$INSPECT" --dump "$nm" "$@" "$tmp/dump.st"
    got=$(grep -v '^#' "$tmp/out" | tr '\n' ' ' | sed 's/ $//')
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok; else bad "dump $nm $*: rc $rc, got '$got', want '$want'"; fi
}
dump_is f "1.5 -2 0.100000001"
dump_is h "1.5 -2"
dump_is q "0.5 1 6 -0.5"
dump_is i "-9007199254740993 7"
dump_is u "65535 1"
dump_is c "1 -3"
dump_is e "448 -1"
# F64 exactly (%.17g), not through float: 17 digits give the double back
dump_is d "0.095688453425437567 1e-300 -2.5 0.30000000000000004"
run "$INSPECT" --dump d "$tmp/dump.st"
expect "dump: F64 values read back to the stored doubles" python3 - "$tmp/out" <<'PY'
import sys
vals = [float(l) for l in open(sys.argv[1]) if not l.startswith("#")]
sys.exit(0 if vals == [0.09568845342543757, 1e-300, -2.5, 0.1 + 0.2] else 1)
PY
dump_is f "1.5 -2" --limit 2
dump_is f "" --limit 0
run "$INSPECT" --dump f "$tmp/dump.st"
expect "dump: header line names dtype and shape" has "$tmp/out" "# f F32 [3], 3 of 3 values"
run "$INSPECT" --dump nope "$tmp/dump.st"
expect_rc "dump: absent tensor" 1
expect "dump: absent tensor reported" has "$tmp/err" "no tensor named \"nope\""
run "$INSPECT" --dump f "$tmp/dump.st" "$tmp/dump.st"
expect_rc "dump: two files is a usage error" 2
run "$INSPECT" --limit 3 "$tmp/dump.st"
expect_rc "--limit without --dump is a usage error" 2
run "$INSPECT" --dump f --json "$tmp/dump.st"
expect_rc "--dump with --json is a usage error" 2

# ---------------------------------------------------------------- --bytes-read
# Through a counting reader: listing takes the prefix and the header (two
# reads, 8 + N bytes, no data byte); a dump adds only the bytes it prints.
hlen=$(python3 -c 'import struct,sys; print(struct.unpack("<Q", open(sys.argv[1],"rb").read(8))[0])' "$tmp/dump.st")
fsize=$(wc -c <"$tmp/dump.st" | tr -d ' ')
run "$INSPECT" --bytes-read "$tmp/dump.st"
expect_rc "bytes-read: table" 0
expect "bytes-read: table lists the tensors" has "$tmp/out" "summary: 8 tensors"
expect "bytes-read: two reads, the header only" has "$tmp/err" \
    "$tmp/dump.st: bytes read: 2 reads, $((8 + hlen)) bytes of $fsize to list"
run "$INSPECT" --bytes-read --check "$tmp/dump.st"
expect_rc "bytes-read: check" 0
expect "bytes-read: check reads the header only" has "$tmp/err" \
    "bytes read: 2 reads, $((8 + hlen)) bytes of $fsize to check"
run "$INSPECT" --bytes-read --json "$tmp/dump.st"
expect_rc "bytes-read: json" 0
expect "bytes-read: stdout is still one JSON object" python3 -c \
    'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out"
run "$INSPECT" --json "$tmp/dump.st"
cp "$tmp/out" "$tmp/json-mapped"
run "$INSPECT" --bytes-read --json "$tmp/dump.st"
expect "bytes-read: the same JSON as a mapped open" cmp -s "$tmp/out" "$tmp/json-mapped"
run "$INSPECT" --bytes-read --dump d --limit 1 "$tmp/dump.st"
expect_rc "bytes-read: dump" 0
expect "bytes-read: dump prints the value" has "$tmp/out" "0.095688453425437567"
expect "bytes-read: dump reads one 8-byte element more" has "$tmp/err" \
    "bytes read: 3 reads, $((8 + hlen + 8)) bytes of $fsize to open and dump"
dump_is d "0.095688453425437567 1e-300 -2.5 0.30000000000000004" --bytes-read
dump_is q "0.5 1 6 -0.5" --bytes-read
dump_is q "0.5" --bytes-read --limit 1
dump_is i "-9007199254740993 7" --bytes-read
printf 'GGUF\003\000\000\000\000\000\000\000' >"$tmp/gguf.bin"
run "$INSPECT" --bytes-read "$tmp/gguf.bin"
expect_rc "bytes-read: a GGUF file" 1
expect "bytes-read: GGUF named" has "$tmp/err" "a GGUF file"
expect "bytes-read: the reads to find the error" has "$tmp/err" "bytes read: 2 reads, 12 bytes of 12 to find the error"
run "$INSPECT" --bytes-read "$tmp/no-such-file"
expect_rc "bytes-read: a missing file" 1
expect "bytes-read: a missing file reported" has "$tmp/err" "cannot open"
# A sharded model through a counting storage: the index read whole, then each
# shard's prefix and header (every shard opened and checked once), no data.
mkdir -p "$tmp/model-br"
want=$(python3 - "$tmp/model-br" <<'PY'
import json, os, struct, sys
d = sys.argv[1]
total, reads = 0, 1
wm = {}
for i, names in enumerate([["a", "b"], ["c"]]):
    hdr, off = {}, 0
    for n in names:
        hdr[n] = {"dtype": "F32", "shape": [2], "data_offsets": [off, off + 8]}
        off += 8
        wm[n] = "s%d.safetensors" % i
    h = json.dumps(hdr).encode()
    open(os.path.join(d, "s%d.safetensors" % i), "wb").write(
        struct.pack("<Q", len(h)) + h + bytes(range(off)))
    total += 8 + len(h)
    reads += 2
idx = json.dumps({"metadata": {"total_size": 24}, "weight_map": wm}).encode()
open(os.path.join(d, "model.safetensors.index.json"), "wb").write(idx)
print("%d reads, %d bytes" % (reads, total + len(idx)))
PY
)
run "$INSPECT" --bytes-read "$tmp/model-br"
expect_rc "bytes-read: sharded model (directory)" 0
expect "bytes-read: sharded model lists its tensors" has "$tmp/out" "(3 tensors in 2 shards)"
expect "bytes-read: the index whole and each shard's header" has "$tmp/err" \
    "bytes read: $want of"
expect "bytes-read: ... to list them" has "$tmp/err" "to list the index and every shard"
run "$INSPECT" --bytes-read --check "$tmp/model-br/model.safetensors.index.json"
expect_rc "bytes-read: sharded model (index path), check" 0
expect "bytes-read: check reads the same" has "$tmp/err" "bytes read: $want of"
run "$INSPECT" --bytes-read --json "$tmp/model-br"
expect "bytes-read: sharded model JSON still parses" python3 -c \
    'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out"
rm "$tmp/model-br/s1.safetensors"
run "$INSPECT" --bytes-read "$tmp/model-br"
expect_rc "bytes-read: a missing shard" 1
expect "bytes-read: a missing shard named" has "$tmp/err" "s1.safetensors"
run "$INSPECT" --bytes-read --dump a "$tmp/model-br"
expect_rc "bytes-read: --dump of a sharded model is refused" 1
expect "bytes-read: --dump of a sharded model message" has "$tmp/err" "not sharded models"

finish
