#!/bin/sh
# The Windows builds export only what they should (make check-windows):
#   the DLL exports st_-prefixed names only, and every ST_API function of the
#   header; the static library defines no global symbol outside st_ / st__
#   (the library's prefixes) and carries no export directive (.drectve), so a
#   program linking it statically exports nothing of it.
# Usage: tests/check_windows_exports.sh DLL STATIC_LIB
set -eu
dll=${1:?usage: check_windows_exports.sh DLL STATIC_LIB}
lib=${2:?usage: check_windows_exports.sh DLL STATIC_LIB}
objdump=x86_64-w64-mingw32-objdump
nm=x86_64-w64-mingw32-nm
syms=$($objdump -p "$dll" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/s/^[[:space:]]*\[ *[0-9]*\] //p')
[ -n "$syms" ] || { echo "check-windows-exports: no export table in $dll"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^st_' || true)
if [ -n "$bad" ]; then
    echo "check-windows-exports: $dll exports names without st_:"; printf '%s\n' "$bad"; exit 1
fi
decl=$(sed -n 's/^ST_API [^(]*[ *]\(st_[a-z0-9_]*\)(.*/\1/p' include/safetensors.h | sort -u)
for s in $decl; do
    printf '%s\n' "$syms" | grep -qx "$s" || {
        echo "check-windows-exports: $s declared but not exported by $dll"; exit 1; }
done
n=$(printf '%s\n' "$syms" | wc -l)
echo "check-windows-exports: $(basename "$dll") exports $n names, all st_-prefixed, all declared ones present"
# .refptr.NAME: mingw's indirection cells for NAME, named after it
other=$($nm -g --defined-only "$lib" | awk 'NF == 3 {print $3}' | sed 's/^\.refptr\.//' |
        grep -v '^st_' || true)
if [ -n "$other" ]; then
    echo "check-windows-exports: $lib defines global symbols without st_:"; printf '%s\n' "$other" | sort -u
    exit 1
fi
if $objdump -h "$lib" | grep -q '\.drectve'; then
    echo "check-windows-exports: $lib has export directives (built with ST_BUILDING_DLL?)"; exit 1
fi
echo "check-windows-exports: $(basename "$lib") defines st_ / st__ symbols only, with no export directive"
