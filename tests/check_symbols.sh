#!/bin/sh
# Only st_-prefixed symbols may be exported by the shared library.
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
[ -n "$syms" ] || { echo "check-symbols: no symbols found in $lib"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^st_' || true)
if [ -n "$bad" ]; then
    echo "check-symbols: non-st_ symbols exported:"; printf '%s\n' "$bad"; exit 1
fi
# Every function the header declares must be exported.
decl=$(sed -n 's/^ST_API [^(]*[ *]\(st_[a-z0-9_]*\)(.*/\1/p' include/safetensors.h | sort -u)
for s in $decl; do
    printf '%s\n' "$syms" | grep -qx "$s" || { echo "check-symbols: $s declared but not exported"; exit 1; }
done
n=$(printf '%s\n' "$syms" | wc -l)
echo "check-symbols: $n exported symbols, all st_-prefixed, all declared ones present"
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || { echo "check-symbols: no SONAME"; exit 1; }
echo "check-symbols: SONAME $soname"
