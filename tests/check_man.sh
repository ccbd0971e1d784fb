#!/bin/sh
# The man pages render without warnings (groff -ww, or mandoc -T lint, and
# man -l), and safetensors(3) names every function of the public header.
# Usage: tests/check_man.sh
# Ends with one line "check-man: N passed, M failed"; exits 1 if M > 0.
set -u
npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "  ok  $1"; }
bad() { nfail=$((nfail + 1)); echo "  FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/       /'; }
pages="docs/man/st-inspect.1 docs/man/st-convert.1 docs/man/safetensors.3"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for p in $pages; do
    [ -f "$p" ] || { bad "$p: missing"; continue; }
    name=$(basename "$p" | sed 's/\.[0-9]$//')
    linted=0
    if command -v groff >/dev/null 2>&1; then
        out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$p" 2>&1)
        if [ -z "$out" ]; then ok "$p: groff -ww: no warnings"; else bad "$p: groff -ww" "$out"; fi
        linted=1
    fi
    if command -v mandoc >/dev/null 2>&1; then
        out=$(mandoc -T lint -W warning "$p" 2>&1)
        if [ -z "$out" ]; then ok "$p: mandoc -T lint: clean"; else bad "$p: mandoc -T lint" "$out"; fi
        linted=1
    fi
    if command -v man >/dev/null 2>&1; then
        warn=""
        man --help 2>&1 | grep -q -- --warnings && warn="--warnings"
        LC_ALL=C.UTF-8 MANPAGER=cat PAGER=cat MANWIDTH=80 man $warn -l "$p" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ $rc -ne 0 ] || [ -s "$tmp/err" ]; then
            bad "$p: man -l (exit $rc)" "$(cat "$tmp/err")"
        elif ! grep -q '^NAME' "$tmp/out" || ! grep -qi "$name" "$tmp/out"; then
            bad "$p: man -l output lacks NAME or '$name'" "$(head -5 "$tmp/out")"
        else
            ok "$p: man -l renders ($(wc -l <"$tmp/out") lines)"
        fi
        linted=1
    fi
    [ $linted -eq 1 ] || bad "$p: neither groff, mandoc nor man is installed (apt-get install -y groff-base man-db)"
done

# Every ST_API function of the header appears in safetensors(3).
missing=""
for fn in $(sed -n 's/^ST_API[^(]*[ *]\(st_[a-z0-9_]*\)(.*/\1/p' include/safetensors.h); do
    grep -q "$fn" docs/man/safetensors.3 || missing="$missing $fn"
done
if [ -z "$missing" ]; then ok "safetensors.3 names every function of safetensors.h"
else bad "safetensors.3 does not mention:$missing"; fi

echo "check-man: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
