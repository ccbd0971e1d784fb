#!/bin/sh
# Makes sure the Debian packages a target needs are present.
# Usage: tests/deps.sh build|check|m32|s390x|windows
#   m32    gcc -m32, the i386 cmocka and qemu-user (make check-m32: qemu-i386
#          where the kernel cannot run i386 programs)
#   s390x  the s390x cross compiler, s390x cmocka and qemu-user (make check-s390x)
#   windows the mingw-w64 cross compiler, wine (64-bit only), cppcheck and
#          clang-tidy (the Windows branches linted), and what building
#          cmocka from Debian's source package takes: cmake, dpkg-dev (make
#          check-windows; tests/windows_cmocka.sh adds the deb-src entry)
# As root with apt-get: installs what is missing (m32/s390x first add the foreign
# dpkg architecture and refresh the package lists). Otherwise: prints the exact
# commands to run and exits 1.
set -u
want=${1:-build}
missing=""
foreign="" # dpkg architecture the target needs besides the native one
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need() { have_pkg "$1" || missing="$missing $1"; }

command -v cc >/dev/null 2>&1 || need gcc
command -v make >/dev/null 2>&1 || need make
need libjsmn-dev
if [ "$want" = check ]; then
    need libcmocka-dev
    need pkg-config
    command -v c++ >/dev/null 2>&1 || need g++
    command -v python3 >/dev/null 2>&1 || need python3
    need python3-numpy # the Python binding's tests (for Debian's /usr/bin/python3)
    # make check-python: pip install ./python into a venv, offline, and pytest;
    # python3-torch runs the torch tests (about 140 MB to download, 600 MB
    # installed, under 2 minutes; without it they are skipped with a reason)
    need python3-venv; need python3-pip; need python3-setuptools; need python3-wheel
    need python3-pytest; need python3-torch
    need cmake         # the CMake package test, check-vendor (CMakeLists.txt)
    command -v groff >/dev/null 2>&1 || command -v mandoc >/dev/null 2>&1 || need groff-base
    need clang              # the clang build and the libFuzzer run
    need libclang-rt-14-dev # libFuzzer and clang's sanitizer runtimes
    need valgrind           # memcheck over the suite
    need cppcheck           # make check-lint
    need clang-tidy         # make check-lint (14 or later: NOLINTBEGIN, --config-file)
fi
case $want in
# Not gcc-multilib: it conflicts with every Debian cross compiler (its only file
# is the /usr/include/asm link, which `make check-m32` replaces by an include
# flag), so m32 and s390x can be installed side by side.
m32)   foreign=i386; gccv=$(gcc -dumpversion 2>/dev/null | cut -d. -f1)
       need "gcc-${gccv:-12}-multilib"; need pkg-config; need libcmocka-dev:i386
       need qemu-user ;; # qemu-i386, where the kernel cannot run i386 programs
s390x) foreign=s390x
       # libc6-dev-s390x-cross is only recommended by the compiler, and without
       # it the host's /usr/include would be used
       need gcc-s390x-linux-gnu; need libc6-dev-s390x-cross; need qemu-user; need pkg-config
       need libcmocka-dev:s390x
       if [ -n "$missing" ] && have_pkg gcc-multilib; then
           echo "deps: gcc-multilib conflicts with gcc-s390x-linux-gnu and is not needed by" \
                "make check-m32: apt-get remove gcc-multilib" >&2
       fi ;;
windows) need gcc-mingw-w64-x86-64; need wine64; need wine; need cmake; need dpkg-dev
       need xz-utils; need python3 # cmocka's source is .tar.xz; check_inspect.sh
       need cppcheck; need clang-tidy ;; # lint of the Windows branches
build|check) ;;
*)     echo "deps: unknown target '$want' (build, check, m32, s390x, windows)" >&2; exit 2 ;;
esac
[ -z "$missing" ] && exit 0
have_arch() { dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$1"; }

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; install the equivalents of:$missing" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    if [ -n "$foreign" ] && ! have_arch "$foreign"; then
        dpkg --add-architecture "$foreign" || { echo "deps: dpkg --add-architecture failed" >&2; exit 1; }
        # A list that fails to download (e.g. a mirror mid-sync) need not stop the
        # install: apt-get install below says whether what is needed was found.
        apt-get update -q >/dev/null 2>&1 || echo "deps: apt-get update reported errors; trying the install" >&2
    fi
    # Never remove an installed package to make room (apt would, e.g. for a
    # Multi-Arch version skew); without recommends for the foreign targets
    # (libc6-dev-i386 recommends gcc-multilib).
    opts="-y -q --no-remove"
    [ -n "$foreign" ] && opts="$opts --no-install-recommends"
    # wine recommends fonts, sound and 32-bit wine: none is needed to run tests
    [ "$want" = windows ] && opts="$opts --no-install-recommends"
    # shellcheck disable=SC2086
    apt-get install $opts $missing >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install $opts $missing >&2 || { echo "deps: apt-get install failed" >&2; exit 1; }
    }
    exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
if [ -n "$foreign" ] && ! have_arch "$foreign"; then
    echo "deps: run: sudo dpkg --add-architecture $foreign && sudo apt-get update" >&2
fi
if [ -n "$foreign" ] || [ "$want" = windows ]; then
    echo "deps: run: sudo apt-get install -y --no-install-recommends$missing" >&2
else
    echo "deps: run: sudo apt-get install -y$missing" >&2
fi
exit 1
