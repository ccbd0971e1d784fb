#!/bin/sh
# Runs every test binary of one build directory; prints one summary line.
# Usage: tests/run.sh BUILD_DIR
# ST_TEST_WRAPPER: a command each binary runs under, split on spaces
# (make check-s390x: "qemu-s390x -L /").
set -u
dir=$1
wrap=${ST_TEST_WRAPPER:-}
# the conversion suite's reference values (see the Makefile)
ST_CONVERT_REF=${ST_CONVERT_REF:-$(pwd)/build/convert_ref.bin}
export ST_CONVERT_REF
pass=0; fail=0; skip=0; failed=""
# each binary's output goes through a file, not a pipe: a process the wrapper
# leaves running (wine's services) would hold a pipe open and stall the read
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$dir"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    # shellcheck disable=SC2086
    $wrap "$t" >"$log" 2>&1; rc=$?
    out=$(cat "$log")
    n_ok=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    n_bad=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    n_skip=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    pass=$((pass + n_ok)); fail=$((fail + n_bad)); skip=$((skip + n_skip))
    if [ $rc -ne 0 ]; then
        printf '%s\n' "$out"
        [ "$n_bad" -eq 0 ] && fail=$((fail + 1))
        failed="$failed $name"
    else
        echo "  ok  $name ($n_ok tests)"
        # each skipped test with the line it printed before skip(): never silent
        [ "$n_skip" -eq 0 ] || printf '%s\n' "$out" | awk '
            /^\[  SKIPPED \] [0-9]+ test/ { exit }
            /^\[  SKIPPED \] / { print "  skip " $4 ": " (why == "" ? "(no reason printed)" : why); why = ""; next }
            /^\[/ { why = ""; next }
            { why = $0 }'
    fi
done
if [ $skip -gt 0 ]; then
    summary="$pass passed, $fail failed, $skip skipped"
else
    summary="$pass passed, $fail failed"
fi
echo "$dir: $summary"
echo "$summary" > "$dir/test-summary" # the last line of make check repeats it
[ -z "$failed" ] || { echo "failing suites:$failed"; exit 1; }
[ $pass -gt 0 ] || { echo "no test ran"; exit 1; }
