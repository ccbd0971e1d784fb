#!/bin/sh
# Makes sure the Debian packages a target needs are present.
# Usage: tests/deps.sh build|check
# As root with apt-get: installs what is missing. Otherwise: prints the exact
# command to run and exits 1.
set -u
want=${1:-build}
missing=""
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
fi
[ -z "$missing" ] && exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; install the equivalents of:$missing" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y -q $missing >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q $missing >&2 || { echo "deps: apt-get install failed" >&2; exit 1; }
    }
    exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: run: sudo apt-get install -y$missing" >&2
exit 1
