"""The ctypes declarations against include/safetensors.h, and the library
lookup order."""

import os
import re
import subprocess
import sys

import pytest

import safetensors_c
from safetensors_c import _lib

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include",
                      "safetensors.h")


def test_signatures_cover_every_st_api_function():
    if not os.path.exists(HEADER):
        pytest.skip("include/safetensors.h not found next to the tests (%s)" % HEADER)
    with open(HEADER, encoding="utf-8") as fp:
        text = fp.read()
    names = set(re.findall(r"ST_API\b[^;(]*?\b(st_\w+)\s*\(", text))
    assert len(names) > 60
    assert names == set(_lib._SIGNATURES)  # pylint: disable=protected-access
    assert not _lib.lib.st_missing


def test_version_matches_header():
    if not os.path.exists(HEADER):
        pytest.skip("include/safetensors.h not found next to the tests")
    with open(HEADER, encoding="utf-8") as fp:
        text = fp.read()
    v = ".".join(re.search(r"#define ST_VERSION_%s (\d+)" % k, text).group(1)
                 for k in ("MAJOR", "MINOR", "PATCH"))
    assert safetensors_c.__version__ == v == safetensors_c.library_version()


def _lib_path(env):
    code = "import safetensors_c; print(safetensors_c.library_path())"
    out = subprocess.run([sys.executable, "-c", code], env=env, check=False,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    return out.returncode, out.stdout.strip(), out.stderr


def test_st_library_override():
    bundled = os.path.join(os.path.dirname(safetensors_c.__file__), "libsafetensors.so.0")
    if not os.path.exists(bundled):
        pytest.skip("this safetensors_c has no bundled library (not installed with pip)")
    env = dict(os.environ, ST_LIBRARY=bundled)
    rc, path, _ = _lib_path(env)
    assert rc == 0 and path == bundled
    env["ST_LIBRARY"] = "/nonexistent/libsafetensors.so.0"
    rc, _, err = _lib_path(env)
    assert rc != 0 and "ST_LIBRARY" in err and "ImportError" in err
