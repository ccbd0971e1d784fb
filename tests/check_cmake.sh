#!/bin/sh
# The CMake package: installs into a DESTDIR, then configures, builds and runs
# a consumer with find_package(safetensors) + safetensors::safetensors (shared)
# and safetensors::safetensors_static, found through CMAKE_PREFIX_PATH pointing
# into the DESTDIR. Also: version checks, a moved install tree (relocatable),
# the man pages installed, and uninstall removing all of it.
# Usage: tests/check_cmake.sh
# Ends with one line "check-cmake: N passed, M failed"; exits 1 if M > 0.
set -u
npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "  ok  $1"; }
bad() { nfail=$((nfail + 1)); echo "  FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -20 | sed 's/^/       /'; }
finish() { echo "check-cmake: $npass passed, $nfail failed"; [ "$nfail" -eq 0 ]; exit $?; }

command -v cmake >/dev/null 2>&1 || { bad "cmake is not installed (apt-get install -y cmake)"; finish; }
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
prefix=/opt/st-cmake
B=build/cmake-test
if ! out=$(make --no-print-directory -s B=$B PREFIX=$prefix DESTDIR="$tmp/root" install 2>&1); then
    bad "make install" "$out"; finish
fi
root="$tmp/root$prefix"
for f in lib/cmake/safetensors/safetensors-config.cmake \
         lib/cmake/safetensors/safetensors-config-version.cmake \
         share/man/man1/st-inspect.1 share/man/man3/safetensors.3; do
    if [ -f "$root/$f" ]; then ok "installed $f"; else bad "not installed: $f"; fi
done
if grep -q "$tmp" "$root"/lib/cmake/safetensors/*.cmake; then
    bad "the installed CMake files hold the DESTDIR path"
else
    ok "the installed CMake files hold no DESTDIR path"
fi

mkdir -p "$tmp/src"
cat > "$tmp/src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(st_consumer C CXX)
if(NOT DEFINED WANT)
  set(WANT 0.1)
endif()
find_package(safetensors ${WANT} REQUIRED)
message(STATUS "st-consumer: found safetensors ${safetensors_VERSION} in ${safetensors_DIR}")
add_executable(app app.c)
target_link_libraries(app PRIVATE safetensors::safetensors)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE safetensors::safetensors_static)
add_executable(app_cpp inspect.cpp)
set_target_properties(app_cpp PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
target_link_libraries(app_cpp PRIVATE safetensors::safetensors)
CMAKE
cp examples/cpp/inspect.cpp "$tmp/src/inspect.cpp"
cat > "$tmp/src/app.c" <<'C'
#include <safetensors.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    static const char hdr[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char buf[8 + sizeof hdr - 1 + 4];
    uint64_t n = sizeof hdr - 1; st_file *f; st_error e; int i;
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, hdr, n); memset(buf + 8 + n, 0, 4);
    if (st_open_memory(&f, buf, sizeof buf, NULL, &e) != ST_OK) { printf("%s\n", e.message); return 1; }
    if (st_version_number() != ST_VERSION_NUMBER) { printf("header/library version mismatch\n"); return 1; }
    printf("cmake app: %s, %u tensor(s), version %s\n", st_tensor_find(f, "w")->name,
           (unsigned)st_tensor_count(f), st_version_string());
    st_close(f); return 0;
}
C

configure() { # build dir, prefix path, extra args...
    bdir=$1; pp=$2; shift 2
    cmake -S "$tmp/src" -B "$bdir" -DCMAKE_PREFIX_PATH="$pp" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS="-Wall -Werror" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" "$@" 2>&1
}

if out=$(configure "$tmp/b1" "$root"); then
    ok "find_package(safetensors 0.1) through CMAKE_PREFIX_PATH=DESTDIR/prefix"
    if out=$(cmake --build "$tmp/b1" 2>&1); then
        ok "cmake --build: shared, static and C++ consumers"
        if out=$("$tmp/b1/app" 2>&1); then ok "shared consumer runs: $out"; else bad "shared consumer" "$out"; fi
        if ldd "$tmp/b1/app" 2>/dev/null | grep -q "$root/lib/libsafetensors.so"; then
            ok "shared consumer resolves $prefix/lib/libsafetensors.so in the DESTDIR"
        else bad "shared consumer does not use the installed library" "$(ldd "$tmp/b1/app" 2>&1)"; fi
        if out=$("$tmp/b1/app_static" 2>&1); then ok "static consumer runs: $out"; else bad "static consumer" "$out"; fi
        if ldd "$tmp/b1/app_static" 2>/dev/null | grep -q libsafetensors; then
            bad "static consumer links the shared library"
        else ok "static consumer has no libsafetensors.so dependency"; fi
        make --no-print-directory -s B=$B examples >/dev/null 2>&1 && "$B/make-sample" "$tmp/s.safetensors" >/dev/null 2>&1
        if out=$("$tmp/b1/app_cpp" "$tmp/s.safetensors" 2>&1) && printf '%s\n' "$out" | grep -q "zero copy"; then
            ok "C++ consumer (examples/cpp/inspect.cpp) reads a tensor"
        else bad "C++ consumer" "$out"; fi
    else
        bad "cmake --build" "$out"
    fi
else
    bad "find_package(safetensors 0.1)" "$out"
fi

# Version file: same major and at least the version asked for.
if out=$(configure "$tmp/b2" "$root" -DWANT=99.0); then
    bad "find_package(safetensors 99.0) succeeded" "$out"
else
    if printf '%s\n' "$out" | grep -q "version"; then ok "find_package(safetensors 99.0) refused (version)"
    else bad "find_package(safetensors 99.0) failed for another reason" "$out"; fi
fi
if out=$(configure "$tmp/b3" "$root" -DWANT=0.0.1); then ok "find_package(safetensors 0.0.1) accepted"
else bad "find_package(safetensors 0.0.1)" "$out"; fi

# Relocatable: move the whole tree, configure again.
mv "$root" "$tmp/moved"
if out=$(configure "$tmp/b4" "$tmp/moved" && cmake --build "$tmp/b4" --target app 2>&1) \
   && run=$("$tmp/b4/app" 2>&1) && ldd "$tmp/b4/app" | grep -q "$tmp/moved/lib/libsafetensors.so"; then
    ok "moved install tree still works: $run"
else
    bad "moved install tree" "$out"
fi
mv "$tmp/moved" "$root"

if out=$(make --no-print-directory -s B=$B PREFIX=$prefix DESTDIR="$tmp/root" uninstall 2>&1); then
    left=$(find "$tmp/root" -type f | wc -l)
    if [ "$left" -eq 0 ]; then ok "uninstall removed every file"
    else bad "uninstall left $left files" "$(find "$tmp/root" -type f)"; fi
    if [ -d "$root/lib/cmake/safetensors" ]; then bad "uninstall left lib/cmake/safetensors/"
    else ok "uninstall removed lib/cmake/safetensors/"; fi
else
    bad "make uninstall" "$out"
fi
finish
