"""Writers beyond serialize: streaming (st_writer_*) and sharded models
(st_write_sharded)."""

import ctypes
import os
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from . import _lib
from ._core import (_BITS, _prod, _format_dtype, _record_error, _Specs, _write_options,
                    ST_OK, SafetensorError)
from ._lib import c_u64, lib, st_error


class StreamWriter:
    """Writes a file whose tensors are declared first and filled later, in
    any order and in pieces (st_writer_begin_path / st_writer_write /
    st_writer_finish): memory stays about the size of the header.

        with StreamWriter(path, [("w", "F32", [1024, 1024])], metadata) as w:
            w.write("w", 0, first_half_bytes)
            w.write("w", 2 * 1024 * 1024, second_half_bytes)

    Leaving the block normally finishes (every byte must have been written
    once, else SafetensorError ST_E_INCOMPLETE and nothing is committed); an
    exception aborts (the target is untouched)."""

    def __init__(self, filename: Union[str, "os.PathLike[str]"],
                 tensors: Sequence[Tuple[str, str, Sequence[int]]],
                 metadata: Optional[Dict[str, str]] = None, *, alignment: int = 0,
                 keep_order: bool = False) -> None:
        items = []
        self._index: Dict[str, int] = {}
        for i, (name, dtype, shape) in enumerate(tensors):
            code = _format_dtype(dtype)
            nbits = _prod(shape) * _BITS[code]
            items.append((name, code, list(shape), 0, (nbits + 7) // 8))
            self._index[name] = i
        self._specs = _Specs(items, metadata)
        self._path = os.fsencode(filename)
        self._w = ctypes.POINTER(_lib.st_writer)()
        err = st_error()
        s = lib.st_writer_begin_path(ctypes.byref(self._w), self._path, self._specs.specs,
                                     self._specs.count, self._specs.entries, self._specs.nmeta,
                                     _write_options(alignment, keep_order), ctypes.byref(err))
        if s != ST_OK:
            raise _record_error(err, self._path)

    def write(self, name: str, byte_offset: int, data: Any) -> None:
        """Writes the bytes of data at byte_offset into tensor name's data."""
        if not self._w:
            raise SafetensorError("the writer is finished")
        mv = memoryview(data).cast("B")
        buf = bytes(mv) if mv.readonly else (ctypes.c_char * len(mv)).from_buffer(mv)
        err = st_error()
        s = lib.st_writer_write(self._w, self._index[name], byte_offset, buf, len(mv),
                                ctypes.byref(err))
        if s != ST_OK:
            raise _record_error(err, self._path)

    def tensor_offset(self, name: str) -> int:
        """Absolute file offset of tensor name's data."""
        return lib.st_writer_tensor_offset(self._w, self._index[name])

    def finish(self) -> None:
        """Checks every byte was written, then commits the file."""
        w, self._w = self._w, None
        if not w:
            return
        err = st_error()
        if lib.st_writer_finish(w, ctypes.byref(err)) != ST_OK:
            raise _record_error(err, self._path)

    def abort(self) -> None:
        """Drops everything; the target file is untouched."""
        w, self._w = self._w, None
        if w:
            lib.st_writer_abort(w)

    def __enter__(self) -> "StreamWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()

    def __del__(self):
        if getattr(self, "_w", None):
            lib.st_writer_abort(self._w)


def save_sharded(tensor_dict: Dict[str, Any], directory: Union[str, "os.PathLike[str]"], *,
                 prefix: str = "model", max_shard_size: int = 5 * 10**9,
                 metadata: Optional[Dict[str, str]] = None) -> int:
    """Writes numpy arrays as a sharded model into an existing directory, as
    the Hugging Face tools lay it out (PREFIX-0000K-of-0000N.safetensors and
    PREFIX.safetensors.index.json; PREFIX.safetensors alone when it fits one
    shard), shards of at most max_shard_size data bytes. Returns the number of
    shard files. Read it back with safe_open(directory, ...)."""
    from .numpy import _items  # pylint: disable=import-outside-toplevel
    items, keep = _items(tensor_dict)
    specs = _Specs(items, metadata)
    n = c_u64(0)
    err = st_error()
    s = lib.st_write_sharded(os.fsencode(directory), prefix.encode("utf-8"), max_shard_size,
                             specs.specs, specs.count, specs.entries, specs.nmeta,
                             _write_options(), ctypes.byref(n), ctypes.byref(err))
    del keep
    if s != ST_OK:
        raise _record_error(err, os.fsencode(directory))
    return n.value



