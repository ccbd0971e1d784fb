"""numpy API of safetensors_c, as the reference's safetensors.numpy:
save, save_file, load, load_file.

load_file and load give read-only zero-copy arrays (views of the file's
mapping, or of the bytes given to load) unless copy=True; BF16 and F8_* come
as ml_dtypes types when ml_dtypes is importable, else raise as the reference
does unless fallback="bits" or fallback="float32".
"""

import os
import sys
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ._core import (SafetensorError, _format_dtype, _Specs, _write_options, open_bytes,
                    safe_open)

__all__ = ["save", "save_file", "load", "load_file"]


def _items(tensor_dict: Dict[str, np.ndarray]) -> Tuple[List[Tuple[str, str, Any, int, int]],
                                                        List[Any]]:
    if not isinstance(tensor_dict, dict):
        raise ValueError("Expected a dict of [str, np.ndarray] but received %s"
                         % type(tensor_dict).__name__)
    items = []
    keep = []
    for name, value in tensor_dict.items():
        if not isinstance(value, np.ndarray):
            raise ValueError("Key `%s` is invalid, expected np.ndarray but received %s"
                             % (name, type(value).__name__))
        a = value
        bo = a.dtype.byteorder
        if bo == ">" or (bo == "=" and sys.byteorder == "big"):
            a = a.astype(a.dtype.newbyteorder("<"))
        if not a.flags.c_contiguous:
            a = np.array(a, order="C")  # not ascontiguousarray: it makes scalars 1-D
        try:
            code = _format_dtype(a.dtype.name)
        except SafetensorError:
            raise SafetensorError("tensor %r: numpy dtype %s has no safetensors dtype"
                                  % (name, a.dtype), tensor=name) from None
        keep.append(a)
        items.append((name, code, a.shape, a.ctypes.data, a.nbytes))
    return items, keep


def save(tensor_dict: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None, *,
         alignment: int = 0) -> bytes:
    """The bytes of a safetensors file of tensor_dict (any layout and byte
    order: arrays are written C-ordered, little-endian), with the optional
    text metadata. The reference's layout (sorted by dtype then name);
    alignment=N pads the header so the data starts at a multiple of N."""
    items, keep = _items(tensor_dict)
    out = _Specs(items, metadata).to_bytes(_write_options(alignment))
    del keep
    return out


def save_file(tensor_dict: Dict[str, np.ndarray], filename: Union[str, "os.PathLike[str]"],
              metadata: Optional[Dict[str, str]] = None, *, alignment: int = 0) -> None:
    """Writes tensor_dict to filename, atomically (a temporary file renamed
    over it after an fsync). Otherwise as save()."""
    items, keep = _items(tensor_dict)
    _Specs(items, metadata).to_file(filename, _write_options(alignment))
    del keep


def load(data: bytes, *, copy: bool = False, fallback: Optional[str] = None
         ) -> Dict[str, np.ndarray]:
    """{name: array} of a whole file's bytes, in file order. The arrays view
    data (read-only, zero copy) unless copy=True."""
    with open_bytes(data, "np", copy=copy, fallback=fallback) as f:
        return f.get_tensors()


def load_file(filename: Union[str, "os.PathLike[str]"], *, backend: str = "mmap",
              copy: bool = False, fallback: Optional[str] = None) -> Dict[str, np.ndarray]:
    """{name: array} of a file, in file order. backend="mmap": read-only
    zero-copy views of the file (copy=True for writable arrays of their
    own); backend="pread": every tensor read into its own memory."""
    with safe_open(filename, framework="np", backend=backend, copy=copy,
                   fallback=fallback) as f:
        return f.get_tensors()
