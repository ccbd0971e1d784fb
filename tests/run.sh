#!/bin/sh
# Runs every test binary of one build directory; prints one summary line.
# Usage: tests/run.sh BUILD_DIR
set -u
dir=$1
# the conversion suite's reference values (see the Makefile)
ST_CONVERT_REF=${ST_CONVERT_REF:-$(pwd)/build/convert_ref.bin}
export ST_CONVERT_REF
pass=0; fail=0; failed=""
for t in "$dir"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out=$("$t" 2>&1); rc=$?
    n_ok=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    n_bad=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    pass=$((pass + n_ok)); fail=$((fail + n_bad))
    if [ $rc -ne 0 ]; then
        printf '%s\n' "$out"
        [ "$n_bad" -eq 0 ] && fail=$((fail + 1))
        failed="$failed $name"
    else
        echo "  ok  $name ($n_ok tests)"
    fi
done
echo "$dir: $pass passed, $fail failed"
[ -z "$failed" ] || { echo "failing suites:$failed"; exit 1; }
[ $pass -gt 0 ] || { echo "no test ran"; exit 1; }
