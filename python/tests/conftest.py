"""Shared helpers of the safetensors_c suite.

write_file() is an independent writer of the format (json + struct only), so
that every file the C library reads here also exists without the C writer;
parse() is an independent reader used to check what the C writer wrote.
"""

import json
import os
import struct

import numpy as np
import pytest

import safetensors_c

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
        "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
        "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "C64": 64, "F64": 64, "I64": 64, "U64": 64}


def build(tensors, metadata=None, align=8, trailing=b""):
    """Bytes of a safetensors file: tensors is a list of (name, dtype, shape,
    data bytes) in data order; the header is padded with spaces so the data
    starts at a multiple of align (1: no padding)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    pos = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [pos, pos + len(data)]}
        pos += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    while (8 + len(raw)) % align:
        raw += b" "
    return struct.pack("<Q", len(raw)) + raw + b"".join(t[3] for t in tensors) + trailing


def parse(data):
    """(header dict, {name: (dtype, shape, bytes)}) of a file's bytes."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[name] = (v["dtype"], v["shape"], bytes(data[base + a:base + b]))
    return header, out


def bf16(values):
    """float32 values -> BF16 bytes by truncation (exact for the values used)."""
    a = np.asarray(values, dtype="<f4").view("<u4") >> 16
    return a.astype("<u2").tobytes()


@pytest.fixture
def writer(tmp_path):
    """write(data bytes, name="f.safetensors") -> path of a file holding them."""
    def write(data, name=None):
        write.n += 1
        path = os.path.join(str(tmp_path), name or "f%d.safetensors" % write.n)
        with open(path, "wb") as fp:
            fp.write(data)
        return path
    write.n = 0
    return write


@pytest.fixture
def sample(writer):
    """A file of the independent writer: three tensors, data order c, a, b
    (not name order), metadata."""
    c = np.arange(12, dtype="<f4").reshape(3, 4)
    a = np.array([1, -2, 3], dtype="<i8")
    b = np.arange(24, dtype="<i2").reshape(2, 3, 4)
    path = writer(build([("c", "F32", c.shape, c.tobytes()), ("a", "I64", a.shape, a.tobytes()),
                         ("b", "I16", b.shape, b.tobytes())], metadata={"format": "np"}))
    return path, {"c": c, "a": a, "b": b}


def torch_or_skip():
    try:
        import torch  # noqa: F401  pylint: disable=import-outside-toplevel
        return torch
    except ImportError as e:
        pytest.skip("torch is not installed (Debian: apt-get install python3-torch): %s" % e)
    return None


def ml_dtypes_available():
    try:
        import ml_dtypes  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        return True
    except ImportError:
        return False


__all__ = ["safetensors_c"]
