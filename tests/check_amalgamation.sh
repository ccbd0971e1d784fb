#!/bin/sh
# The amalgamation (build/amalgamation/, `make amalgamate`) as a project that
# drops it in would use it. Run by `make check-amalgamation` after the suites
# were built and run against it (AMALG=1 in BUILD_DIR):
# - BUILD_DIR's static library is the amalgamation's one object;
# - its shared library exports exactly the Makefile build's symbols;
# - safetensors.c compiles with a bare `cc -c`, and with gcc and clang
#   -std=c99 -pedantic and every warning of the Makefile as errors, also with
#   -DST_OS_PORTABLE_POSIX, and for Windows with mingw-w64 where installed;
# - no lib/ header is left to include, every lib/ file is in it once, and
#   #line directives give each line's original file and line;
# - a program built from tests/vendor/app.c and the two files alone
#   (cc -I. app.c safetensors.c -pthread) reads a small file's tensor values;
# - regenerating gives the same files (the output is never edited).
# Usage: tests/check_amalgamation.sh BUILD_DIR
# Ends with one line "check_amalgamation: N passed, M failed"; exits 1 if M > 0.
set -u
B=${1:?usage: check_amalgamation.sh BUILD_DIR}
A=build/amalgamation
npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "  ok  $1"; }
bad() { nfail=$((nfail + 1)); echo "  FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -n 25 | sed 's/^/       /'; }
finish() { echo "check_amalgamation: $npass passed, $nfail failed"; [ "$nfail" -eq 0 ]; exit $?; }

cd "$(dirname "$0")/.." || exit 1
if [ ! -f $A/safetensors.c ] || [ ! -f $A/safetensors.h ]; then
    bad "no $A/safetensors.[ch] (make amalgamate)"; finish
fi
W=$B/amalgamation-use
rm -rf "$W"
mkdir -p "$W"
v() { sed -n "s/^#define ST_VERSION_$1 \\([0-9][0-9]*\\).*/\\1/p" include/safetensors.h; }
version=$(v MAJOR).$(v MINOR).$(v PATCH)
CC=${CC:-cc}
WARN="-Wall -Wextra -Wshadow -Wcast-qual -Wstrict-prototypes -Wvla -Wmissing-prototypes
      -Wpointer-arith -Wformat=2"

members=$(ar t "$B/libsafetensors.a" 2>&1)
if [ "$members" = "safetensors-amalgamation.o" ]; then
    ok "$B/libsafetensors.a, which the suites linked, holds the amalgamation alone"
else
    bad "$B/libsafetensors.a holds other objects" "$members"
fi
exports() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort; }
if out=$(make --no-print-directory -s B=build/check WERROR=1 lib 2>&1) \
   && exports "build/check/libsafetensors.so.$version" >"$W/exports.lib" \
   && exports "$B/libsafetensors.so.$version" >"$W/exports.amalg" \
   && [ -s "$W/exports.lib" ] && cmp -s "$W/exports.lib" "$W/exports.amalg"; then
    ok "its shared library (-fvisibility=hidden) exports the same $(wc -l <"$W/exports.lib") symbols as lib/'s"
else
    bad "exports differ from the lib/ build's (build/check)" "$out$(diff "$W/exports.lib" "$W/exports.amalg")"
fi

# Compiled where it lies: safetensors.h beside it, jsmn.h on the include path.
if out=$(cd $A && $CC -c -o "../../$W/plain.o" safetensors.c 2>&1); then
    ok "cd $A && $CC -c safetensors.c"
else
    bad "$CC -c safetensors.c" "$out"
fi
for c in gcc clang; do
    command -v $c >/dev/null 2>&1 || { echo "  note: $c not installed, not tried"; continue; }
    # shellcheck disable=SC2086
    if out=$($c -std=c99 -pedantic -O2 $WARN -Werror -c -o "$W/$c.o" $A/safetensors.c 2>&1); then
        ok "$c -std=c99 -pedantic -O2 (the Makefile's warnings) -Werror: no warning"
    else
        bad "$c -std=c99 -pedantic -Werror" "$out"
    fi
done

# the branch of the platform layer other POSIX systems take (make check-portable)
# shellcheck disable=SC2086
if out=$($CC -std=c99 -pedantic $WARN -Werror -DST_OS_PORTABLE_POSIX -c -o "$W/portable.o" \
         $A/safetensors.c 2>&1); then
    ok "$CC -DST_OS_PORTABLE_POSIX (the portable POSIX branch): no warning"
else
    bad "$CC -DST_OS_PORTABLE_POSIX" "$out"
fi
# Windows: compiled by mingw-w64 where it is installed and lib/ has the layer
mingw=x86_64-w64-mingw32-gcc
if command -v $mingw >/dev/null 2>&1 && [ -f lib/os_win32.c ]; then
    # jsmn.h alone in an include directory: -I/usr/include would bring glibc's headers
    mkdir -p "$W/jsmn"
    cp "$(echo '#include <jsmn.h>' | cc -E - 2>/dev/null |
          sed -n 's|^# [0-9]* "\(.*/jsmn\.h\)".*|\1|p' | head -n 1)" "$W/jsmn/"
    # shellcheck disable=SC2086
    if out=$($mingw -std=c99 $WARN -Werror -DST_BUILDING_DLL -I"$W/jsmn" \
             -c -o "$W/win.o" $A/safetensors.c 2>&1); then
        ok "$mingw -DST_BUILDING_DLL (Windows): no warning"
    else
        bad "$mingw (Windows)" "$out"
    fi
else
    echo "  note: $mingw or lib/os_win32.c missing: the Windows compile not tried"
fi

left=$(grep -n '^[ \t]*#[ \t]*include[ \t]*"' $A/safetensors.c | grep -v '"safetensors.h"')
if [ -z "$left" ]; then ok "no lib/ header left to include"; else bad "includes left" "$left"; fi
missing=""
for f in lib/*.c lib/*.h; do
    n=$(grep -c "^#line 1 \"$f\"\$" $A/safetensors.c)
    [ "$n" -eq 1 ] || missing="$missing $f($n)"
done
set -- lib/*.c lib/*.h
if [ -z "$missing" ]; then ok "each of the $# lib/ files inlined once, with #line"
else bad "lib/ files not inlined exactly once:$missing"; fi
# every line under a #line directive is that line of that file (or one of the
# script's own comments in place of an include or a moved macro)
out=$(awk -v A=$A/safetensors.c '
    function load(f,   l, i) {
        if (f in loaded) return
        loaded[f] = 1
        while ((getline l < f) > 0) src[f, ++i] = l
        close(f)
    }
    /^#line [0-9]+ "/ { ln = $2; f = $3; gsub(/"/, "", f); if (f == "safetensors.c") f = A; load(f); next }
    f != "" {
        if ($0 !~ /^\/\* (#include "|\(feature-test macro)/ && src[f, ln] != $0) {
            bad++
            if (bad <= 5) print f ":" ln ": " $0
        }
        n++; ln++
    }
    END { print n + 0, bad + 0 }' $A/safetensors.c)
case $out in
*" 0") ok "#line directives: each of the ${out% *} lines is the line of the file it names" ;;
*) bad "#line directives point at other lines" "$out" ;;
esac
if tail -n +3 $A/safetensors.h | cmp -s - include/safetensors.h; then
    ok "$A/safetensors.h is include/safetensors.h"
else
    bad "$A/safetensors.h differs from include/safetensors.h"
fi

# The drop-in use: two files and app.c, nothing else of the tree.
cp $A/safetensors.c $A/safetensors.h tests/vendor/app.c "$W/"
if expected=$(python3 tests/vendor/make_tiny.py "$W/tiny.safetensors" "$version"); then
    # shellcheck disable=SC2086
    if out=$(cd "$W" && $CC -std=c99 -O2 $WARN -Werror -I. -o app app.c safetensors.c -pthread 2>&1); then
        ok "$CC -I. -o app app.c safetensors.c -pthread (a copy of the two files alone)"
        if out=$("$W/app" "$W/tiny.safetensors" embed.weight scale 2>&1) && [ "$out" = "$expected" ]; then
            ok "app reads the tensors' values: $(printf '%s\n' "$out" | sed -n 3p)"
        else
            bad "app's output differs from the values written" "$out"
        fi
    else
        bad "$CC app.c safetensors.c" "$out"
    fi
else
    bad "python3 tests/vendor/make_tiny.py"
fi

if out=$(sh tests/amalgamate.sh "$W/again" 2>&1) && cmp -s $A/safetensors.c "$W/again/safetensors.c" \
   && cmp -s $A/safetensors.h "$W/again/safetensors.h"; then
    ok "regenerated from lib/: the same two files"
else
    bad "regenerating gives other files (edited by hand, or lib/ changed without make amalgamate)" \
        "$out$(diff $A/safetensors.c "$W/again/safetensors.c" | head -n 20)"
fi
finish
