#!/bin/sh
# Tests tests/i386_runner.sh, the choice make check-m32 makes between running
# i386 programs natively and under qemu-i386, with stand-in probes and
# emulators, so that every branch is taken on any host: a kernel that refuses
# i386 programs, a missing or failing qemu, forced ways.
# Usage: tests/check_i386_runner.sh [REAL_PROBE]
#   REAL_PROBE (optional): the gcc -m32 probe; its verdict must match running it.
# Ends with "check_i386_runner: N passed, M failed"; exits 1 if M > 0.
set -u
runner=$(cd "$(dirname "$0")" && pwd)/i386_runner.sh
real=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npass=0; nfail=0

# stand-ins: a probe the kernel "refuses", one that runs, emulators that work
# (they run their last argument) or fail
printf '#!/bin/sh\necho "%s: Exec format error" >&2\nexit 126\n' "$tmp/refused" >"$tmp/refused"
printf '#!/bin/sh\necho "i386 ok"\n' >"$tmp/runs"
printf '#!/bin/sh\n[ "$1" = -L ] && [ "$2" = / ] || exit 3\necho "i386 ok"\n' >"$tmp/qemu-good"
printf '#!/bin/sh\necho "qemu: could not open /lib/ld-linux.so.2" >&2\nexit 1\n' >"$tmp/qemu-bad"
chmod +x "$tmp/refused" "$tmp/runs" "$tmp/qemu-good" "$tmp/qemu-bad"

# case NAME WANT_RC WANT_STDOUT STDERR_PATTERN MODE QEMU PROBE
case_() {
    name=$1; want_rc=$2; want_out=$3; pat=$4
    out=$(ST_I386_RUN=$5 ST_I386_QEMU=$6 sh "$runner" "$7" 2>"$tmp/err"); rc=$?
    if [ "$rc" -eq "$want_rc" ] && [ "$out" = "$want_out" ] && grep -q -- "$pat" "$tmp/err"; then
        npass=$((npass + 1))
    else
        nfail=$((nfail + 1))
        echo "FAIL: $name: rc $rc (want $want_rc), stdout '$out' (want '$want_out'), stderr:"
        sed 's/^/    /' "$tmp/err"
    fi
}
G=$tmp/qemu-good; X=$tmp/qemu-bad; N=$tmp/no-such-qemu
case_ "runs natively"                  0 ""         "natively"                  auto   "$G" "$tmp/runs"
case_ "refused, qemu works"            0 "$G -L /"  "kernel cannot run them"    auto   "$G" "$tmp/refused"
case_ "refused: the reason is printed" 0 "$G -L /"  "Exec format error"         auto   "$G" "$tmp/refused"
case_ "refused, no qemu"               1 ""         "apt-get install qemu-user" auto   "$N" "$tmp/refused"
case_ "refused, qemu fails"            1 ""         "neither way"               auto   "$X" "$tmp/refused"
case_ "refused, qemu fails: its words" 1 ""         "could not open"            auto   "$X" "$tmp/refused"
case_ "forced native, refused"         1 ""         "ST_I386_RUN=native"        native "$G" "$tmp/refused"
case_ "forced native, runs"            0 ""         "natively"                  native "$G" "$tmp/runs"
case_ "forced qemu on a native host"   0 "$G -L /"  "forced by ST_I386_RUN=qemu" qemu  "$G" "$tmp/runs"
case_ "forced qemu, none installed"    1 ""         "apt-get install qemu-user" qemu   "$N" "$tmp/runs"
case_ "forced qemu, it fails"          1 ""         "cannot run the probe"      qemu   "$X" "$tmp/runs"
case_ "unknown mode"                   2 ""         "not auto, native or qemu"  maybe  "$G" "$tmp/runs"
case_ "no probe built"                 1 ""         "was not built"             auto   "$G" "$tmp/none"

# the real probe: the runner says native exactly when the kernel runs it
if [ -n "$real" ]; then
    if "$real" >/dev/null 2>&1; then want=""; pat=natively; else want="qemu-i386 -L /"; pat="kernel cannot run them"; fi
    if command -v qemu-i386 >/dev/null 2>&1 || [ -z "$want" ]; then
        case_ "the real probe on this host" 0 "$want" "$pat" auto qemu-i386 "$real"
    else
        echo "check_i386_runner: the real probe does not run natively and qemu-i386 is missing"
        nfail=$((nfail + 1))
    fi
fi
echo "check_i386_runner: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
