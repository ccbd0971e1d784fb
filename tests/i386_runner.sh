#!/bin/sh
# Decides how this host runs i386 (gcc -m32) programs, for make check-m32.
# Usage: tests/i386_runner.sh PROBE
#   PROBE: an i386 program built by gcc -m32 that prints "i386 ok" and exits 0.
# Prints on stdout the wrapper to run i386 programs under (ST_TEST_WRAPPER):
# an empty line for "natively", or "qemu-i386 -L /". Says on stderr which way
# was chosen and why. Exits 1, with the reason and what to install, when
# neither way runs the probe: a stage that cannot run its programs must fail,
# never pass by running nothing.
# ST_I386_RUN=auto (default) | native | qemu forces one way (a forced way that
# does not work fails too). ST_I386_QEMU names the emulator (default
# qemu-i386, found on PATH).
set -u
probe=${1:?usage: i386_runner.sh PROBE}
mode=${ST_I386_RUN:-auto}
qemu=${ST_I386_QEMU:-qemu-i386}
case $mode in
auto|native|qemu) ;;
*) echo "i386: ST_I386_RUN='$mode' is not auto, native or qemu" >&2; exit 2 ;;
esac
if [ ! -f "$probe" ]; then
    echo "i386: the probe $probe was not built (gcc -m32 failed?)" >&2
    exit 1
fi

# try_run CMD...: runs the probe; sets $why to what went wrong (first line).
try_run() {
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ] && [ "$out" = "i386 ok" ]; then return 0; fi
    why=$(printf '%s\n' "$out" | sed -n '1p')
    [ -n "$why" ] || why="exit status $rc"
    return 1
}

native_why=""
if [ "$mode" != qemu ]; then
    if try_run "$probe"; then
        echo "i386: running i386 programs natively (the kernel runs them)" >&2
        echo ""
        exit 0
    fi
    native_why=$why
    if [ "$mode" = native ]; then
        echo "i386: ST_I386_RUN=native, but the kernel cannot run i386 programs: $native_why" >&2
        exit 1
    fi
fi

if ! command -v "$qemu" >/dev/null 2>&1; then
    if [ -n "$native_why" ]; then
        echo "i386: the kernel cannot run i386 programs ($native_why), and $qemu is not" \
             "installed to run them instead: apt-get install qemu-user" >&2
    else
        echo "i386: ST_I386_RUN=qemu, but $qemu is not installed: apt-get install qemu-user" >&2
    fi
    exit 1
fi
if try_run "$qemu" -L / "$probe"; then
    if [ -n "$native_why" ]; then
        echo "i386: running i386 programs under $qemu -L / (the kernel cannot run them:" \
             "$native_why)" >&2
    else
        echo "i386: running i386 programs under $qemu -L / (forced by ST_I386_RUN=qemu)" >&2
    fi
    echo "$qemu -L /"
    exit 0
fi
if [ -n "$native_why" ]; then
    echo "i386: neither way runs i386 programs: natively: $native_why; under $qemu -L /: $why" \
         "(the i386 C library comes with gcc-12-multilib: sh tests/deps.sh m32)" >&2
else
    echo "i386: ST_I386_RUN=qemu, but $qemu -L / cannot run the probe: $why" >&2
fi
exit 1
