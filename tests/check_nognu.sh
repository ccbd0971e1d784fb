#!/bin/sh
# The code must stay valid for compilers without GNU extensions (MSVC first):
# every GNU-only construct of lib/ and the public header sits inside an #if that
# a non-GNU compiler does not take. Checked by preprocessing each file as such a
# compiler sees it (clang with __GNUC__ and __clang__ undefined; os_win32.c and
# the header also with an MSVC target over the mingw-w64 headers, when they are
# installed) and looking for GNU-only words in the lines that come from our own
# files. A compile of the same files with -std=c99 -pedantic -Werror catches
# GNU syntax (statement expressions, zero-length arrays, ...).
# Usage: tests/check_nognu.sh. Ends with "check_nognu: N passed, M failed".
set -u
npass=0; nfail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/inc"
ln -s /usr/include/jsmn.h "$tmp/inc/jsmn.h"
NOGNU="-U__GNUC__ -U__GNUC_MINOR__ -U__GNUC_PATCHLEVEL__ -U__GNUC_STDC_INLINE__ -U__clang__ \
    -U__clang_major__ -U__clang_minor__ -U__clang_patchlevel__"
GNU_WORDS='__attribute__|__builtin_|__typeof__|\btypeof\b|__extension__|__asm__|\basm\b|__thread\b'

# scan NAME: the lines of $tmp/pp that come from our files hold no GNU word
scan() {
    awk '
        /^# [0-9]+ "/ { f = $3; gsub(/"/, "", f); keep = (f ~ /^lib\// || f == "include/safetensors.h"); next }
        keep && $0 !~ /^[ \t]*(\/\*|\*|\/\/)/ { print f ": " $0 }' "$tmp/pp" |
        # offsetof and va_start expand to builtins in every compiler's own headers
        sed -e 's/__builtin_offsetof//g' -e 's/__builtin_va_[a-z]*//g' | grep -E "$GNU_WORDS" >"$tmp/hits"
    if [ -s "$tmp/hits" ]; then
        nfail=$((nfail + 1)); echo "FAIL: $1: GNU-only constructs outside an #if:"; sed 's/^/    /' "$tmp/hits" | head -n 10
    else
        npass=$((npass + 1))
    fi
}

for f in lib/*.c; do
    # shellcheck disable=SC2086
    if gcc -E -fdirectives-only $NOGNU -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib \
            -I"$tmp/inc" "$f" >"$tmp/pp" 2>"$tmp/err"; then
        scan "$f (non-GNU, POSIX)"
    else
        nfail=$((nfail + 1)); echo "FAIL: $f: cannot preprocess"; head -n 5 "$tmp/err"
    fi
    # glibc's own headers are inconsistent for a non-GNU compiler with 64-bit
    # off_t (readdir becomes readdir64 but struct dirent stays): os_posix.c is
    # only scanned above, not compiled so
    [ "$f" = lib/os_posix.c ] && continue
    # shellcheck disable=SC2086
    if clang -fsyntax-only -std=c99 -pedantic -Werror -Wall -Wextra $NOGNU -D_POSIX_C_SOURCE=200809L \
            -Iinclude -Ilib -I"$tmp/inc" "$f" 2>"$tmp/err"; then
        npass=$((npass + 1))
    else
        nfail=$((nfail + 1)); echo "FAIL: $f: -pedantic as a non-GNU compiler sees it"; head -n 10 "$tmp/err"
    fi
done

# Windows as MSVC sees it (the conditionals only: the mingw-w64 headers do not
# parse in clang's MSVC mode, whose _mingw.h defines __attribute__ away and so
# breaks clang's intrinsics; MSVC itself cannot run here).
MINGW_INC=/usr/x86_64-w64-mingw32/include
if [ -d "$MINGW_INC" ]; then
    for f in lib/*.c; do
        # shellcheck disable=SC2086
        if gcc -E -fdirectives-only $NOGNU -U__linux__ -U__linux -Ulinux -U__unix__ -U__unix -Uunix \
                -U__ELF__ -D_WIN32=1 -D_WIN64=1 -D_MSC_VER=1930 -D_M_AMD64=100 -D_M_X64=100 \
                -std=c99 -nostdinc -Iinclude -Ilib -I"$tmp/inc" -isystem "$MINGW_INC" \
                -idirafter "$(gcc -print-file-name=include)" "$f" \
                >"$tmp/pp" 2>"$tmp/err"; then
            scan "$f (MSVC target)"
        else
            nfail=$((nfail + 1)); echo "FAIL: $f: cannot preprocess for the MSVC target"; head -n 5 "$tmp/err"
        fi
    done
else
    echo "check_nognu: $MINGW_INC missing (gcc-mingw-w64-x86-64): the MSVC-target pass is not run"
    nfail=$((nfail + 1))
fi
echo "check_nognu: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
