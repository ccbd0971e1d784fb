#!/bin/sh
# Makes sure wine can run the Windows test programs (make check-windows):
# creates the prefix PREFIX if it does not exist (wineboot -i, no display
# needed), then runs a Windows command in it. Exits 1 with the exact reason
# when wine cannot start: a stage that cannot run its programs must fail, not
# pass by running nothing.
# Usage: tests/wine_prefix.sh PREFIX
set -u
prefix=${1:?usage: wine_prefix.sh PREFIX}
if ! command -v wine >/dev/null 2>&1; then
    echo "wine: not installed (sh tests/deps.sh windows, as root)" >&2
    exit 1
fi
mkdir -p "$prefix" || exit 1
WINEPREFIX=$(cd "$prefix" && pwd)
export WINEPREFIX
export WINEDEBUG=-all
# no Mono or Gecko installer prompts: nothing here needs them
export WINEDLLOVERRIDES="mscoree,mshtml="
log=$WINEPREFIX.log
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine: creating the prefix $WINEPREFIX ($(wine --version 2>/dev/null))" >&2
    wineboot -i >"$log" 2>&1; rc=$?
    # wineboot returns before wineserver has written the registry
    wineserver -w 2>/dev/null
    if [ $rc -ne 0 ] || [ ! -f "$WINEPREFIX/system.reg" ]; then
        sed -n '1,20p' "$log" >&2
        echo "wine: wineboot -i could not create the prefix (exit $rc; its output above, in $log)" >&2
        exit 1
    fi
fi
out=$(wine cmd /c echo wine-ok 2>&1 | tr -d '\r'); rc=$?
if [ $rc -ne 0 ] || ! printf '%s\n' "$out" | grep -qx wine-ok; then
    printf '%s\n' "$out" | sed -n '1,10p' >&2
    echo "wine: cannot run a Windows program in $WINEPREFIX (exit $rc; output above)" >&2
    exit 1
fi
echo "wine: $(wine --version 2>/dev/null) runs Windows programs (prefix $WINEPREFIX)" >&2
