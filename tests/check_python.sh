#!/bin/sh
# make check-python: builds the Python package (python/) the way a user
# installs it -- pip install ./python into a fresh venv, offline, with the
# system's setuptools -- and runs its pytest suite (python/tests) against the
# installed copy, which must load the libsafetensors.so.0 built into it.
# Usage: tests/check_python.sh [--install-only] [VENV_DIR]   (default build/python-venv)
#   --install-only  make the venv and install, no tests (make bench-python)
# Fails, saying why, when a tool it needs is missing; torch tests are skipped
# with a printed reason when torch is not installed.
set -u
install_only=0
if [ "${1:-}" = --install-only ]; then install_only=1; shift; fi
VENV=${1:-build/python-venv}
fail() { echo "check-python: FAIL: $*" >&2; exit 1; }

# Debian's python3-numpy is for /usr/bin/python3, which may not be the first
# python3 on PATH (pyenv, virtualenvs): take the first one that has numpy.
py=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' >/dev/null 2>&1; then py=$p; break; fi
done
[ -n "$py" ] || fail "no python3 with numpy (Debian: apt-get install -y python3-numpy)"
"$py" -c 'import ensurepip, venv' >/dev/null 2>&1 \
    || fail "$py cannot make a venv (Debian: apt-get install -y python3-venv)"
"$py" -m pip --version >/dev/null 2>&1 || fail "$py has no pip (Debian: apt-get install -y python3-pip)"
"$py" -c 'import setuptools, wheel' >/dev/null 2>&1 \
    || fail "$py lacks setuptools or wheel (Debian: apt-get install -y python3-setuptools python3-wheel)"
[ $install_only = 1 ] || "$py" -c 'import pytest' >/dev/null 2>&1 || fail "$py has no pytest (Debian: apt-get install -y python3-pytest)"
command -v "${CC:-cc}" >/dev/null 2>&1 || fail "no C compiler (${CC:-cc})"
[ -f /usr/include/jsmn.h ] || echo '#include <jsmn.h>' | "${CC:-cc}" -E - >/dev/null 2>&1 \
    || fail "no <jsmn.h> (Debian: apt-get install -y libjsmn-dev)"

echo "check-python: $py ($("$py" -c 'import sys; print(sys.version.split()[0])')), fresh venv in $VENV"
rm -rf "$VENV" python/build python/safetensors_c.egg-info  # no stale build output in the wheel
"$py" -m venv --system-site-packages "$VENV" || fail "python3 -m venv $VENV"
# offline: no index, no build isolation (the system's setuptools build it)
if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q --no-index \
        --no-build-isolation ./python >"$VENV.pip.log" 2>&1; then
    cat "$VENV.pip.log" >&2
    fail "pip install ./python"
fi
lib=$(cd / && env -u ST_LIBRARY "$OLDPWD/$VENV/bin/python" -c \
      'import safetensors_c as s; print(s.library_path())') || fail "import safetensors_c"
case $lib in
    */site-packages/safetensors_c/libsafetensors.so.0) echo "check-python: installed; loads $lib" ;;
    *) fail "the installed package loads $lib, not its own libsafetensors.so.0" ;;
esac
[ $install_only = 1 ] && exit 0
if "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
    echo "check-python: torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'): torch tests run"
else
    echo "check-python: torch is not installed: the torch tests are skipped (apt-get install python3-torch)"
fi
"$VENV/bin/python" -c 'import ml_dtypes' >/dev/null 2>&1 \
    || echo "check-python: ml_dtypes is not installed (Debian 12 has no package): BF16/F8 as ml_dtypes types untested"
# the suite imports the installed package (python/tests is not next to the
# source package), with no ST_LIBRARY override
cd python/tests || exit 1
env -u ST_LIBRARY "../../$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider . \
    >"../../$VENV.pytest.log" 2>&1
rc=$?
cat "../../$VENV.pytest.log"
summary=$(tail -1 "../../$VENV.pytest.log" | sed 's/=//g; s/^ *//; s/ *$//')
[ $rc -eq 0 ] || fail "pytest: $summary"
echo "check-python: $summary"
