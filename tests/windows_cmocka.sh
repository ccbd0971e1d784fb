#!/bin/sh
# Builds cmocka for x86_64 Windows (mingw-w64) from Debian's own source
# package, for make check-windows: Debian ships no mingw cmocka, and none is
# ever copied into this repository.
# Usage: tests/windows_cmocka.sh OUT_DIR
#   OUT_DIR/src     the unpacked source (apt-get source cmocka)
#   OUT_DIR/cmocka  the installed static library: include/cmocka.h, lib/libcmocka-static.a (cmocka names its static library so)
# Only the static library is built (its target alone), then copied with the
# header. Does nothing when OUT_DIR/cmocka/lib/libcmocka-static.a exists. Needs deb-src lines
# for the running Debian release: as root they are added (a separate
# /etc/apt/sources.list.d/st-debian-src.sources) when no deb-src is present;
# otherwise the exact lines to add are printed. Fails with the reason.
set -u
out=${1:?usage: windows_cmocka.sh OUT_DIR}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
dest=$out/cmocka
if [ -f "$dest/lib/libcmocka-static.a" ] && [ -f "$dest/include/cmocka.h" ]; then exit 0; fi
for tool in x86_64-w64-mingw32-gcc cmake dpkg-source; do
    command -v $tool >/dev/null 2>&1 || {
        echo "windows-cmocka: $tool is missing (sh tests/deps.sh windows)" >&2; exit 1; }
done

src=$(ls -d "$out"/src/cmocka-*/ 2>/dev/null | head -n 1)
if [ -z "$src" ]; then
    if ! grep -Eqs '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/*; then
        codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
        list="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${codename:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
        if [ "$(id -u)" != 0 ]; then
            echo "windows-cmocka: apt has no deb-src entry; as root, put these lines in" \
                 "/etc/apt/sources.list.d/st-debian-src.sources and run apt-get update:" >&2
            printf '%s\n' "$list" >&2
            exit 1
        fi
        echo "windows-cmocka: adding a deb-src entry (/etc/apt/sources.list.d/st-debian-src.sources)" >&2
        printf '%s\n' "$list" >/etc/apt/sources.list.d/st-debian-src.sources || exit 1
        # one failing index (a mirror mid-sync) need not stop it: apt-get source says
        apt-get update -q >/dev/null 2>&1 || echo "windows-cmocka: apt-get update reported errors" >&2
    fi
    mkdir -p "$out/src" || exit 1
    (cd "$out/src" && apt-get source -q cmocka >"$out/src/apt-source.log" 2>&1) || {
        # the lists may predate the deb-src entry
        [ "$(id -u)" = 0 ] && apt-get update -q >/dev/null 2>&1
        (cd "$out/src" && apt-get source -q cmocka >"$out/src/apt-source.log" 2>&1) || {
            cat "$out/src/apt-source.log" >&2
            echo "windows-cmocka: apt-get source cmocka failed (see above)" >&2
            exit 1
        }
    }
    src=$(ls -d "$out"/src/cmocka-*/ 2>/dev/null | head -n 1)
    [ -n "$src" ] || { echo "windows-cmocka: apt-get source unpacked no cmocka-*/" >&2; exit 1; }
fi

cat >"$out/mingw64.cmake" <<'EOF'
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
EOF
rm -rf "$out/cmocka-build"
echo "windows-cmocka: building $(basename "$src") (static, mingw-w64) into $dest" >&2
if ! { cmake -S "$src" -B "$out/cmocka-build" -DCMAKE_TOOLCHAIN_FILE="$out/mingw64.cmake" \
           -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$dest" -DWITH_STATIC_LIB=ON \
           -DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1 \
           -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF &&
       cmake --build "$out/cmocka-build" -j 2 --target cmocka-static &&
       mkdir -p "$dest/include" "$dest/lib" &&
       cp "$src/include/cmocka.h" "$dest/include/" &&
       cp "$out/cmocka-build/src/libcmocka-static.a" "$dest/lib/"; } >"$out/cmocka-build.log" 2>&1; then
    tail -n 40 "$out/cmocka-build.log" >&2
    echo "windows-cmocka: the cmocka build failed (log: $out/cmocka-build.log)" >&2
    exit 1
fi
[ -f "$dest/lib/libcmocka-static.a" ] || lib=$(find "$dest" -name "libcmocka*.a" | head -n 1)
if [ ! -f "$dest/lib/libcmocka-static.a" ]; then
    echo "windows-cmocka: no static library installed (found: ${lib:-nothing})" >&2
    exit 1
fi
# cmocka's printf family is the C99 one (__USE_MINGW_ANSI_STDIO, as for the
# suites): its header's format checks say so, in this build's copy only
sed -i 's/__format__ (__printf__, a, b)/__format__ (gnu_printf, a, b)/' "$dest/include/cmocka.h"
grep -q "gnu_printf" "$dest/include/cmocka.h" || {
    echo "windows-cmocka: cmocka.h has no printf format attribute to adjust" >&2; exit 1; }
echo "windows-cmocka: ready" >&2
