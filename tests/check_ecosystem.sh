#!/bin/sh
# The ecosystem around the C library: the Python binding's tests against this
# build's shared library, the C++ example (built by make as BUILD_DIR/cpp-inspect),
# the CMake package (tests/check_cmake.sh) and the man pages (tests/check_man.sh).
# Usage: tests/check_ecosystem.sh BUILD_DIR
# Ends with one line "check-ecosystem: N passed, M failed"; exits 1 if M > 0.
set -u
B=${1:?usage: check_ecosystem.sh BUILD_DIR}
npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "  ok  $1"; }
bad() { nfail=$((nfail + 1)); echo "  FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -30 | sed 's/^/       /'; }
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
BDIR=$(cd "$B" && pwd)

# ---------------------------------------------------------------- Python binding
# Debian's python3-numpy is for /usr/bin/python3, which may not be the first
# python3 on PATH (pyenv, virtualenvs): take the first one that has numpy.
py=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' >/dev/null 2>&1; then py=$p; break; fi
done
echo "check-ecosystem: Python binding (examples/python/safetensors_c.py)"
if [ -z "$py" ]; then
    bad "no python3 with numpy (apt-get install -y python3-numpy)"
elif ST_LIBRARY="$BDIR/libsafetensors.so" "$py" tests/python/test_binding.py >"$tmp/py.out" 2>&1; then
    ok "$(tail -1 "$tmp/py.out")"
    grep '^python-binding: skipped' "$tmp/py.out" | sed 's/^/       /'
else
    bad "python binding tests ($py)" "$(cat "$tmp/py.out")"
fi

# ---------------------------------------------------------------- C++ example
echo "check-ecosystem: C++ example (examples/cpp/inspect.cpp)"
CPP=$BDIR/cpp-inspect
if [ ! -x "$CPP" ]; then
    bad "$B/cpp-inspect is not built (make B=$B $B/cpp-inspect)"
else
    "$BDIR/make-sample" "$tmp/sample.safetensors" >/dev/null 2>&1
    if out=$("$CPP" "$tmp/sample.safetensors" 2>&1) \
       && printf '%s\n' "$out" | grep -q '18 tensor(s)' \
       && printf '%s\n' "$out" | grep -q 'meta model_type = llama' \
       && printf '%s\n' "$out" | grep -q '(F32, zero copy): 1 1 1'; then
        ok "lists the sample and reads an F32 tensor in place"
    else bad "cpp-inspect on the sample" "$out"; fi
    if out=$("$CPP" "$tmp/sample.safetensors" lm_head.weight 2>&1) \
       && printf '%s\n' "$out" | grep -q '^lm_head.weight (BF16, copied): '; then
        ok "converts a BF16 tensor"
    else bad "cpp-inspect BF16" "$out"; fi
    # F32 at an odd address (unpadded header): read through a copy.
    printf '\152\000\000\000\000\000\000\000{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}' > "$tmp/odd.safetensors"
    printf '\007\000\000\300\077' >> "$tmp/odd.safetensors"  # a=7, w=1.5f
    if out=$("$CPP" "$tmp/odd.safetensors" w 2>&1) && printf '%s\n' "$out" | grep -q '^w (F32, copied): 1.5$'; then
        ok "reads a misaligned F32 tensor through a copy"
    else bad "cpp-inspect misaligned" "$out"; fi
    printf 'version https://git-lfs.github.com/spec/v1\n' > "$tmp/lfs.safetensors"
    out=$("$CPP" "$tmp/lfs.safetensors" 2>&1); rc=$?
    if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q 'error: .*\[ST_E_WRONG_FORMAT\] (at byte 0)'; then
        ok "an invalid file: exception with status and offset, exit 1"
    else bad "cpp-inspect on an LFS pointer (exit $rc)" "$out"; fi
    out=$("$CPP" "$tmp/sample.safetensors" no.such.tensor 2>&1); rc=$?
    if [ $rc -eq 1 ]; then ok "unknown tensor: exit 1"; else bad "unknown tensor (exit $rc)" "$out"; fi
    out=$("$CPP" 2>&1); rc=$?
    if [ $rc -eq 2 ]; then ok "usage error: exit 2"; else bad "usage (exit $rc)" "$out"; fi
    if command -v valgrind >/dev/null 2>&1; then
        vg="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=all"
        $vg --log-file="$tmp/vg1" "$CPP" "$tmp/odd.safetensors" w >/dev/null 2>&1; r1=$?
        $vg --log-file="$tmp/vg2" "$CPP" "$tmp/lfs.safetensors" >/dev/null 2>&1; r2=$?
        if [ $r1 -eq 0 ] && [ $r2 -eq 1 ] && [ ! -s "$tmp/vg1" ] && [ ! -s "$tmp/vg2" ]; then
            ok "valgrind: no errors or leaks, on success and on the exception path"
        else bad "valgrind (exit $r1, $r2)" "$(cat "$tmp/vg1" "$tmp/vg2")"; fi
    fi
fi

# ---------------------------------------------------------------- CMake, man
echo "check-ecosystem: CMake package (tests/check_cmake.sh)"
if sh tests/check_cmake.sh >"$tmp/cmake.out" 2>&1; then ok "$(tail -1 "$tmp/cmake.out")"
else bad "CMake package" "$(cat "$tmp/cmake.out")"; fi
echo "check-ecosystem: man pages (tests/check_man.sh)"
if sh tests/check_man.sh >"$tmp/man.out" 2>&1; then ok "$(tail -1 "$tmp/man.out")"
else bad "man pages" "$(cat "$tmp/man.out")"; fi

echo "check-ecosystem: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
