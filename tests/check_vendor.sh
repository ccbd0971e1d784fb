#!/bin/sh
# Vendoring with CMake (the top-level CMakeLists.txt), end to end:
# - the library as the top-level project: tests, tools and install on by
#   default; built with -Werror, its cmocka suites run by ctest; the shared
#   library's SONAME and exported symbols match the Makefile's;
# - cmake --install puts the same files as `make install` in the same places
#   (safetensors.pc and the CMake package files byte for byte);
# - tests/vendor/add_subdirectory: an engine that vendors the checkout with
#   add_subdirectory (tests, tools and install off), jsmn.h given through
#   SAFETENSORS_JSMN_INCLUDE_DIR, linking safetensors::safetensors and
#   safetensors::safetensors_static; both programs read a small file
#   (tensors' values compared with the values it was written with);
# - tests/vendor/fetchcontent: the same through FetchContent from a file://
#   git URL of this checkout at HEAD (offline; committed work only);
# - where mingw-w64 is installed and lib/ has os_win32.c: a cross build for
#   Windows with the names of `make windows` and the same exports.
# Usage: tests/check_vendor.sh [MAKE_BUILD_DIR]  (default build/check: the
# Makefile build `make install` is compared with; built if needed)
# Work files in build/vendor/. Ends with one line
# "check_vendor: N passed, M failed"; exits 1 if M > 0.
set -u
B=${1:-build/check}
W=build/vendor
npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "  ok  $1"; }
bad() { nfail=$((nfail + 1)); echo "  FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -n 25 | sed 's/^/       /'; }
finish() { echo "check_vendor: $npass passed, $nfail failed"; [ "$nfail" -eq 0 ]; exit $?; }

command -v cmake >/dev/null 2>&1 || { bad "cmake is not installed (apt-get install -y cmake)"; finish; }
cd "$(dirname "$0")/.." || exit 1
src=$(pwd)
: "${CMAKE_BUILD_PARALLEL_LEVEL:=2}"
export CMAKE_BUILD_PARALLEL_LEVEL
rm -rf "$W"
mkdir -p "$W"
hdr=include/safetensors.h
v() { sed -n "s/^#define ST_VERSION_$1 \\([0-9][0-9]*\\).*/\\1/p" $hdr; }
major=$(v MAJOR)
version=$major.$(v MINOR).$(v PATCH)

# The input: two tensors whose values are known, and app.c's output for it.
expected=$(python3 tests/vendor/make_tiny.py "$W/tiny.safetensors" "$version") ||
    { bad "cannot write the test file (python3 tests/vendor/make_tiny.py)"; finish; }

run_app() { # label, program: runs it on the test file, compares its output
    if out=$("$2" "$W/tiny.safetensors" embed.weight scale 2>&1) && [ "$out" = "$expected" ]; then
        ok "$1 reads the tensors' values: $(printf '%s\n' "$out" | sed -n 2p)"
    else
        bad "$1: output differs from the values written" "$out"
    fi
}
cache_is() { # build dir, variable, value
    grep -qx "$2:BOOL=$3" "$1/CMakeCache.txt"
}
soname() { readelf -d "$1" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'; }
exports() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort; }

# ---------------------------------------------------------------- top level
L=$W/lib
if out=$(cmake -S . -B $L -DSAFETENSORS_WERROR=ON 2>&1); then
    if cache_is $L SAFETENSORS_BUILD_TESTS ON && cache_is $L SAFETENSORS_BUILD_TOOLS ON \
       && cache_is $L SAFETENSORS_INSTALL ON; then
        ok "top-level project: tests, tools and install on by default"
    else
        bad "top-level project: the option defaults" "$(grep '^SAFETENSORS_' $L/CMakeCache.txt)"
    fi
    if out=$(cmake --build $L 2>&1); then
        ok "cmake --build (-Werror): library, tools and cmocka suites"
        if out=$(cd $L && ctest -j 2 --output-on-failure 2>&1); then
            ok "ctest: $(printf '%s\n' "$out" | grep 'tests passed')"
        else
            bad "ctest" "$out"
        fi
        so=$L/libsafetensors.so.$version
        if [ "$(soname "$so")" = "libsafetensors.so.$major" ]; then
            ok "shared library libsafetensors.so.$version, SONAME libsafetensors.so.$major"
        else
            bad "shared library or SONAME" "$(ls $L; soname "$so")"
        fi
        if out=$(make --no-print-directory -s B="$B" WERROR=1 lib 2>&1) \
           && exports "$B/libsafetensors.so.$version" >$W/exports.make \
           && exports "$so" >$W/exports.cmake && cmp -s $W/exports.make $W/exports.cmake \
           && ! grep -qv '^st_' $W/exports.cmake; then
            ok "the same $(wc -l <$W/exports.cmake) exported symbols as the Makefile's library, all st_"
        else
            bad "exported symbols differ from the Makefile's library" \
                "$out$(diff $W/exports.make $W/exports.cmake)"
        fi
    else
        bad "cmake --build" "$out"
    fi
else
    bad "cmake configure (top-level)" "$out"
fi

# ---------------------------------------------------------------- install
# the same PREFIX for both; GNUInstallDirs gives lib/ under /usr/local
if out=$(make --no-print-directory -s B="$B" WERROR=1 PREFIX=/usr/local DESTDIR="$src/$W/root-make" \
         install 2>&1); then
    if out=$(DESTDIR="$src/$W/root-cmake" cmake --install $L --prefix /usr/local 2>&1); then
        list() { (cd "$1" && find . -type f -o -type l | sort); }
        if [ "$(list $W/root-make)" = "$(list $W/root-cmake)" ]; then
            ok "cmake --install: the $(list $W/root-make | wc -l) files of make install, in the same places"
        else
            bad "cmake --install and make install differ" "$(list $W/root-make >$W/l1; list $W/root-cmake >$W/l2; diff $W/l1 $W/l2)"
        fi
        same=1
        for f in lib/pkgconfig/safetensors.pc lib/cmake/safetensors/safetensors-config.cmake \
                 lib/cmake/safetensors/safetensors-config-version.cmake; do
            cmp -s "$W/root-make/usr/local/$f" "$W/root-cmake/usr/local/$f" || { same=0; bad "$f differs" \
                "$(diff "$W/root-make/usr/local/$f" "$W/root-cmake/usr/local/$f" 2>&1)"; }
        done
        [ $same -eq 0 ] || ok "safetensors.pc and the CMake package files: identical to make install's"
        for l in libsafetensors.so libsafetensors.so.$major; do
            a=$(readlink "$W/root-make/usr/local/lib/$l"); c=$(readlink "$W/root-cmake/usr/local/lib/$l")
            if [ -n "$a" ] && [ "$(basename "$a")" = "$(basename "$c")" ]; then ok "lib/$l -> $c"
            else bad "lib/$l: make install -> '$a', cmake --install -> '$c'"; fi
        done
    else
        bad "cmake --install" "$out"
    fi
else
    bad "make install (B=$B)" "$out"
fi

# ---------------------------------------------------------------- add_subdirectory
S=$W/subdir
mkdir -p $W/jsmn
if [ -f /usr/include/jsmn.h ]; then
    # a copy elsewhere (in the build tree only), as an engine that keeps jsmn in its tree would
    cp /usr/include/jsmn.h $W/jsmn/jsmn.h
    jsmn_dir=$src/$W/jsmn
else
    jsmn_dir=$(dirname "$(echo '#include <jsmn.h>' | cc -E - 2>/dev/null |
                          sed -n 's|^# [0-9]* "\(.*/jsmn\.h\)".*|\1|p' | head -n 1)")
fi
if out=$(cmake -S tests/vendor/add_subdirectory -B $S -DST_SOURCE_DIR="$src" \
         -DSAFETENSORS_JSMN_INCLUDE_DIR="$jsmn_dir" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
         -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" 2>&1); then
    if cache_is $S SAFETENSORS_BUILD_TESTS OFF && cache_is $S SAFETENSORS_BUILD_TOOLS OFF \
       && cache_is $S SAFETENSORS_INSTALL OFF; then
        ok "add_subdirectory: tests, tools and install off by default"
    else
        bad "add_subdirectory: the option defaults" "$(grep '^SAFETENSORS_' $S/CMakeCache.txt)"
    fi
    if grep '"command"' $S/compile_commands.json | grep '/lib/json\.c' | grep -q -- "-I$jsmn_dir "; then
        ok "SAFETENSORS_JSMN_INCLUDE_DIR=$jsmn_dir is the jsmn.h used"
    else
        bad "SAFETENSORS_JSMN_INCLUDE_DIR not used for lib/json.c" "$(grep 'json\.c' $S/compile_commands.json)"
    fi
    if out=$(cmake --build $S 2>&1); then
        ok "add_subdirectory: the engine builds (-Wall -Wextra -Werror)"
        run_app "safetensors::safetensors (shared)" $S/app
        run_app "safetensors::safetensors_static" $S/app_static
        if ldd $S/app | grep -q "libsafetensors.so.$major => $src/$S/"; then
            ok "app loads libsafetensors.so.$major from the engine's build tree"
        else bad "app's libsafetensors.so.$major" "$(ldd $S/app)"; fi
        if ldd $S/app_static | grep -q libsafetensors; then bad "app_static links libsafetensors.so"
        else ok "app_static has no libsafetensors.so dependency"; fi
        if out=$(DESTDIR="$src/$W/root-subdir" cmake --install $S --prefix /opt/engine 2>&1); then
            got=$(cd $W/root-subdir && find . -type f -o -type l | sort | tr '\n' ' ')
            if [ "$got" = "./opt/engine/bin/app ./opt/engine/bin/app_static " ]; then
                ok "the engine's install holds only its own files (SAFETENSORS_INSTALL off)"
            else
                bad "the engine's install holds more than its programs" "$got"
            fi
        else
            bad "cmake --install of the engine" "$out"
        fi
    else
        bad "add_subdirectory: cmake --build" "$out"
    fi
else
    bad "add_subdirectory: cmake configure" "$out"
fi
if out=$(cmake -S tests/vendor/add_subdirectory -B $W/nojsmn -DST_SOURCE_DIR="$src" \
         -DSAFETENSORS_JSMN_INCLUDE_DIR="$src/$W/nojsmn-dir" 2>&1); then
    bad "SAFETENSORS_JSMN_INCLUDE_DIR without jsmn.h: configure succeeded"
elif printf '%s\n' "$out" | grep -q "jsmn.h not found"; then
    ok "SAFETENSORS_JSMN_INCLUDE_DIR without jsmn.h: configure fails and says so"
else
    bad "SAFETENSORS_JSMN_INCLUDE_DIR without jsmn.h: failed for another reason" "$out"
fi

# ---------------------------------------------------------------- FetchContent
F=$W/fetch
if head=$(git rev-parse HEAD 2>/dev/null); then
    [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] ||
        echo "  note: FetchContent clones commit ${head%"${head#???????}"}; uncommitted changes are not in it"
    if out=$(cmake -S tests/vendor/fetchcontent -B $F -DST_GIT_REPOSITORY="file://$src" \
             -DST_GIT_TAG="$head" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" 2>&1) \
       && out=$(cmake --build $F 2>&1); then
        got=$(git -C $F/_deps/safetensors-src rev-parse HEAD 2>/dev/null)
        if [ "$got" = "$head" ]; then ok "FetchContent: cloned file://$src at HEAD, built"
        else bad "FetchContent: the clone is at '$got', not $head"; fi
        run_app "FetchContent's safetensors::safetensors_static" $F/app
    else
        bad "FetchContent from file://$src" "$out"
    fi
else
    # not a git checkout (a release tarball): FetchContent from the directory
    if out=$(cmake -S tests/vendor/fetchcontent -B $F -DST_SOURCE_DIR="$src" 2>&1) \
       && out=$(cmake --build $F 2>&1); then
        ok "FetchContent from SOURCE_DIR (not a git checkout), built"
        run_app "FetchContent's safetensors::safetensors_static" $F/app
    else
        bad "FetchContent from SOURCE_DIR" "$out"
    fi
fi
# ---------------------------------------------------------------- Windows
# cross-built with mingw-w64 where it is installed and lib/ has the Windows layer
X=$W/mingw
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 && [ -f lib/os_win32.c ]; then
    cat >$W/mingw.cmake <<'CMAKE'
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
CMAKE
    # jsmn.h alone: the cross compiler must not see /usr/include
    mkdir -p $W/mingw-jsmn && cp "$jsmn_dir/jsmn.h" $W/mingw-jsmn/
    if out=$(cmake -S . -B $X -DCMAKE_TOOLCHAIN_FILE="$src/$W/mingw.cmake" -DSAFETENSORS_WERROR=ON \
             -DSAFETENSORS_BUILD_TESTS=OFF -DSAFETENSORS_JSMN_INCLUDE_DIR="$src/$W/mingw-jsmn" 2>&1) \
       && out=$(cmake --build $X 2>&1); then
        missing=""
        for f in libsafetensors-$major.dll libsafetensors.dll.a libsafetensors.a st-inspect.exe; do
            [ -f "$X/$f" ] || missing="$missing $f"
        done
        if [ -z "$missing" ]; then
            ok "mingw-w64 (-Werror): libsafetensors-$major.dll, libsafetensors.dll.a, libsafetensors.a, st-inspect.exe"
        else
            bad "mingw-w64: missing$missing" "$(ls $X)"
        fi
        x86_64-w64-mingw32-objdump -p "$X/libsafetensors-$major.dll" |
            sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | sed -n 's/^[[:space:]]*\[ *[0-9]*\] //p' | sort >$W/exports.dll
        if cmp -s $W/exports.make $W/exports.dll; then
            ok "the DLL exports the same $(wc -l <$W/exports.dll) symbols as the Linux library"
        else
            bad "the DLL's exports differ" "$(diff $W/exports.make $W/exports.dll)"
        fi
    else
        bad "mingw-w64 cross build" "$out"
    fi
else
    echo "  note: x86_64-w64-mingw32-gcc or lib/os_win32.c missing: the Windows cross build not tried"
fi
finish
