"""Build of safetensors_c: compiles the C library from this repository's lib/
into the package as libsafetensors.so.0 (the module loads it from there).

The sources are found at ../lib and ../include relative to this file (pip
builds a local directory in place), or under $ST_SOURCE_DIR. The compiler is
$CC (default cc); <jsmn.h> comes from the system (Debian: libjsmn-dev). The
flags are those of the Makefile's shared library: C99, -O2, -fPIC,
-fvisibility=hidden (only ST_API functions exported), -pthread.
"""

import glob
import os
import re
import shlex
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("ST_SOURCE_DIR") or os.path.dirname(HERE)
SONAME = "libsafetensors.so.0"


def _version():
    with open(os.path.join(ROOT, "include", "safetensors.h"), encoding="utf-8") as fp:
        text = fp.read()
    parts = [re.search(r"#define ST_VERSION_%s (\d+)" % k, text).group(1)
             for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)


def _compile(out_dir):
    srcs = sorted(glob.glob(os.path.join(ROOT, "lib", "*.c")))
    if not srcs:
        raise SystemExit("safetensors_c: no C sources in %s/lib (set ST_SOURCE_DIR to the "
                         "repository root)" % ROOT)
    cc = shlex.split(os.environ.get("CC", "cc"))
    cflags = shlex.split(os.environ.get("CFLAGS", ""))
    out = os.path.join(out_dir, SONAME)
    cmd = cc + ["-std=c99", "-O2", "-g", "-fPIC", "-fvisibility=hidden", "-pthread",
                "-D_POSIX_C_SOURCE=200809L", "-I" + os.path.join(ROOT, "include"),
                "-I" + os.path.join(ROOT, "lib")] + cflags + srcs + \
        ["-shared", "-Wl,-soname," + SONAME, "-pthread", "-o", out]
    os.makedirs(out_dir, exist_ok=True)
    print("safetensors_c: building %s from %d sources" % (SONAME, len(srcs)))
    subprocess.check_call(cmd)
    return out


class BuildPyWithLib(build_py):
    """build_py, then the shared library next to the package's modules."""

    def run(self):
        super().run()
        _compile(os.path.join(self.build_lib, "safetensors_c"))


class BinaryDistribution(Distribution):
    """The wheel holds a compiled library: platform-specific, not pure."""

    def has_ext_modules(self):
        return True


cmdclass = {"build_py": BuildPyWithLib}
try:
    from wheel.bdist_wheel import bdist_wheel

    class PlatformWheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            # ctypes, no extension module: any CPython 3, this platform
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel
except ImportError:  # pragma: no cover - wheel absent: setuptools' own path
    pass

setup(version=_version(), cmdclass=cmdclass, distclass=BinaryDistribution)
