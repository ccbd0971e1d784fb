"""The engine of safetensors_c: errors, dtype tables (numpy, torch), the
owners of C handles, safe_open and its slices, serialize / deserialize. The
public modules (safetensors_c, .numpy, .torch) re-export and wrap these.
"""
# pylint: disable=invalid-name,too-many-arguments,too-many-lines

import ctypes
import errno as _errno
import io
import mmap
import operator
import os
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib
from ._lib import (P, c_u64, lib, st_error, st_metadata_entry, st_model_options,
                   st_open_options, st_reader, st_read_fn, st_tensor_spec, st_write_options)

PathLike = Union[str, "os.PathLike[str]"]

ST_OK = 0
ST_E_INVALID_ARGUMENT = 1
ST_E_IO = 3
ST_E_DTYPE = 10
ST_E_NOT_FOUND = 20
ST_E_MISALIGNED = 22
ST_E_RANGE = 23
ST_E_BYTE_ORDER = 24
ST_E_NO_DATA = 28
ST_READER_SHORT = -1
ST_MODEL_FOLLOW_SYMLINKS = 0x2
ST_WRITE_KEEP_ORDER = 0x1
ST_WRITE_NO_SYNC = 0x2

# ---------------------------------------------------------------- errors


class SafetensorError(Exception):
    """Every failure of the library, and the reference's SafetensorError.

    Besides the message, each instance has:
      status   status name ("ST_E_JSON", ...), or None for errors raised by
               the Python layer itself
      code     its pinned number (0 for Python-layer errors)
      offset   absolute byte offset in the file where the rule broke, or None
      tensor   name of the tensor concerned, or None
      errno    errno of a failed system call (ST_E_IO), else 0
      path     the file, when known
    """

    def __init__(self, message: str, *, code: int = 0, offset: Optional[int] = None,
                 tensor: Optional[str] = None, errno: int = 0,
                 path: Optional[PathLike] = None) -> None:
        self.code = int(code)
        self.status = lib.st_status_name(self.code).decode("ascii") if code else None
        self.message = message
        self.offset = offset
        self.tensor = tensor
        self.errno = errno
        self.path = os.fsdecode(path) if path is not None else None
        text = message if self.status is None else "%s [%s]" % (message, self.status)
        if self.path is not None:
            text = "%s: %s" % (self.path, text)
        super().__init__(text)


SafetensorsError = SafetensorError  # the spelling of examples/python/safetensors_c.py


class SafetensorSliceError(SafetensorError, IndexError):
    """An index out of range, or more indices than dimensions, in a slice:
    a SafetensorError as the reference raises, and an IndexError as numpy
    raises."""


class SafetensorDtypeError(SafetensorError, TypeError):
    """A dtype the framework has no type for (BF16 without ml_dtypes under
    numpy): a SafetensorError, and the TypeError the reference raises."""


class SafetensorDtypeAttributeError(SafetensorError, AttributeError):
    """F8_* / F4 under numpy without ml_dtypes, or a dtype this torch lacks:
    a SafetensorError, and the AttributeError the reference raises."""


def _record_error(err: st_error, path=None, cls=SafetensorError) -> SafetensorError:
    tensor = None
    if err.flags & _lib.ST_ERROR_HAS_TENSOR:
        tensor = err.tensor.decode("utf-8", "replace")
    return cls(err.message.decode("utf-8", "replace"), code=err.code,
               offset=err.offset if err.flags & _lib.ST_ERROR_HAS_OFFSET else None,
               tensor=tensor, errno=err.sys_errno, path=path)


def _status_error(code: int, what: str, tensor=None, path=None) -> SafetensorError:
    msg = "%s: %s" % (what, lib.st_status_message(int(code)).decode("utf-8", "replace"))
    return SafetensorError(msg, code=code, tensor=tensor, path=path)


def _open_error(err: st_error, path) -> Exception:
    """A failed open: an OSError of the errno's class (FileNotFoundError for
    a missing file, as the reference raises) when the system refused, else a
    SafetensorError naming the rule."""
    if err.code == ST_E_IO and err.sys_errno and not err.flags & _lib.ST_ERROR_HAS_OFFSET:
        e = OSError(err.sys_errno, os.strerror(err.sys_errno), os.fsdecode(path))
        e.status = "ST_E_IO"  # type: ignore[attr-defined]
        return e
    return _record_error(err, path)


# ---------------------------------------------------------------- dtypes

DTYPE_NAMES = ("BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
               "F8_E5M2FNUZ", "F4", "F6_E2M3", "F6_E3M2", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "C64", "F64", "I64", "U64")
_CODE = {n: i + 1 for i, n in enumerate(DTYPE_NAMES)}
_BITS = {n: lib.st_dtype_bits(_CODE[n]) for n in DTYPE_NAMES}
_SUB_BYTE = ("F4", "F6_E2M3", "F6_E3M2")
_NUMPY_NATIVE = {"BOOL": "?", "U8": "u1", "I8": "i1", "I16": "<i2", "U16": "<u2",
                 "F16": "<f2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "C64": "<c8",
                 "F64": "<f8", "I64": "<i8", "U64": "<u8"}
_RAW_BITS = {"BF16": "<u2", "F8_E5M2": "u1", "F8_E4M3": "u1", "F8_E8M0": "u1",
             "F8_E4M3FNUZ": "u1", "F8_E5M2FNUZ": "u1", "F4": "u1", "F6_E2M3": "u1",
             "F6_E3M2": "u1"}
_ML_DTYPES_NAMES = {"BF16": "bfloat16", "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
                    "F8_E8M0": "float8_e8m0fnu", "F8_E4M3FNUZ": "float8_e4m3fnuz",
                    "F8_E5M2FNUZ": "float8_e5m2fnuz"}
# Names the writers take (numpy / torch dtype names, as the reference's
# serialize takes them) -> format dtype. The format's own names are taken too.
_WRITE_NAMES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16",
                "float16": "F16", "bfloat16": "BF16", "int32": "I32", "uint32": "U32",
                "float32": "F32", "complex64": "C64", "float64": "F64", "int64": "I64",
                "uint64": "U64", "float8_e5m2": "F8_E5M2", "float8_e4m3fn": "F8_E4M3",
                "float8_e8m0fnu": "F8_E8M0", "float8_e4m3fnuz": "F8_E4M3FNUZ",
                "float8_e5m2fnuz": "F8_E5M2FNUZ", "float4_e2m1fn_x2": "F4"}

FALLBACKS = (None, "bits", "float32")
_ml_dtypes_state: List[Any] = []


def _ml_dtypes():
    """The ml_dtypes module, or None (looked up once)."""
    if not _ml_dtypes_state:
        try:
            import ml_dtypes  # type: ignore[import-not-found]  # pylint: disable=import-outside-toplevel
            _ml_dtypes_state.append(ml_dtypes)
        except ImportError:
            _ml_dtypes_state.append(None)
    return _ml_dtypes_state[0]


def numpy_dtype(dtype: str, fallback: Optional[str] = None, tensor: str = "") -> np.dtype:
    """The numpy dtype for a format dtype (see docs/python.md, "Dtypes").

    Native types always; BF16 and F8_* as ml_dtypes types when ml_dtypes can
    be imported; otherwise the reference's error, unless fallback is "bits"
    (the raw little-endian bits: uint16 for BF16, uint8 for the others) or
    "float32" (the caller converts; this returns float32)."""
    if fallback not in FALLBACKS:
        raise ValueError("fallback must be None, 'bits' or 'float32', not %r" % (fallback,))
    if dtype in _NUMPY_NATIVE:
        return np.dtype(_NUMPY_NATIVE[dtype])
    if fallback == "float32":
        return np.dtype("<f4")
    if fallback == "bits":
        return np.dtype(_RAW_BITS[dtype])
    mld = _ml_dtypes()
    if mld is not None and dtype in _ML_DTYPES_NAMES and hasattr(mld, _ML_DTYPES_NAMES[dtype]):
        return np.dtype(getattr(mld, _ML_DTYPES_NAMES[dtype]))
    hint = ("tensor %r is %s, which numpy has no type for%s; pass fallback='bits' for its raw "
            "bits or fallback='float32' for its values as float32"
            % (tensor, dtype, "" if dtype in _SUB_BYTE else " without ml_dtypes"))
    if dtype == "BF16":
        raise SafetensorDtypeError("data type 'bfloat16' not understood: " + hint, tensor=tensor)
    if dtype in ("F6_E2M3", "F6_E3M2"):
        raise SafetensorError("Dtype not understood: " + hint, tensor=tensor)
    name = _ML_DTYPES_NAMES.get(dtype, "float4_e2m1fn_x2")
    raise SafetensorDtypeAttributeError("module 'numpy' has no attribute '%s': %s" % (name, hint),
                                        tensor=tensor)


def _prod(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _raw_shape(dtype: str, shape: Tuple[int, ...], nbytes: int) -> Tuple[int, ...]:
    """Shape of the raw bits array: the logical shape, except packed bytes
    for F4/F6 (last dimension in bytes when it packs into whole bytes, else
    1-D)."""
    if dtype not in _SUB_BYTE:
        return shape
    bits = _BITS[dtype]
    if shape and (shape[-1] * bits) % 8 == 0:
        return shape[:-1] + (shape[-1] * bits // 8,)
    return (nbytes,)


# ---------------------------------------------------------------- handles


class _FileOwner:
    """Owns one st_file* (and whatever keeps its bytes alive). st_close runs
    when the last reference goes: the safe_open object holds one until it is
    closed, each zero-copy array's base one, each slice object one."""

    __slots__ = ("ptr", "keep", "_close", "__weakref__")

    def __init__(self, ptr, keep=None):
        self.ptr = ptr
        self.keep = keep  # the borrowed buffer, the reader's callback
        self._close = lib.st_close  # kept: module globals may be gone at shutdown

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr:
            self._close(ptr)


class _ModelOwner:
    """Owns one st_model*; closed when the safe_open object and every pin of
    a shard are gone."""

    __slots__ = ("ptr", "_close", "__weakref__")

    def __init__(self, ptr):
        self.ptr = ptr
        self._close = lib.st_model_close

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr:
            self._close(ptr)


class _ShardPin:
    """One st_model_acquire: the shard stays open (its mapping valid) until
    this object goes, i.e. until every view of its data is gone."""

    __slots__ = ("model", "shard", "ptr", "_release", "__weakref__")

    def __init__(self, model: _ModelOwner, shard: int, path=None):
        fptr = _lib.F()
        err = st_error()
        status = lib.st_model_acquire(model.ptr, shard, ctypes.byref(fptr), ctypes.byref(err))
        if status != ST_OK:
            raise _record_error(err, path)
        self.model = model
        self.shard = shard
        self.ptr = fptr
        self._release = lib.st_model_release

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr:
            self._release(self.model.ptr, self.shard)


class _Mapped:
    """Hands numpy `shape` elements of `typestr` at `address`, read-only,
    through the array interface; holds `owner` (the bytes' keeper) for as
    long as any view of the data lives."""

    __slots__ = ("_owner", "__array_interface__")

    def __init__(self, owner, address, shape, typestr):
        self._owner = owner
        self.__array_interface__ = {"version": 3, "data": (address, True), "shape": shape,
                                    "typestr": typestr}


class _Info:
    """What we need of one st_tensor (valid while its owner lives)."""

    __slots__ = ("ptr", "name", "dtype", "shape", "numel", "nbytes", "offset", "data",
                 "begin", "end", "index")

    def __init__(self, ptr):
        t = ptr.contents
        self.ptr = ptr
        self.name = ctypes.string_at(t.name, t.name_len).decode("utf-8")
        self.dtype = lib.st_dtype_name(t.dtype).decode("ascii")
        self.shape = tuple(t.shape[i] for i in range(t.rank))
        self.numel = t.numel
        self.nbytes = t.nbytes
        self.offset = t.offset
        self.data = t.data or 0
        self.begin = t.begin
        self.end = t.end
        self.index = t.index


def _list_tensors(fptr) -> List[_Info]:
    return [_Info(lib.st_tensor_at(fptr, i)) for i in range(lib.st_tensor_count(fptr))]


def _file_metadata(fptr) -> Optional[Dict[str, str]]:
    if lib.st_metadata_state_of(fptr) != _lib.ST_METADATA_OBJECT:
        return None
    out = {}
    for i in range(lib.st_metadata_count(fptr)):
        p = lib.st_metadata_at(fptr, i)
        if not p:  # entries are made on first use
            raise MemoryError("st_metadata_at: out of memory")
        e = p.contents
        out[ctypes.string_at(e.key, e.key_len).decode("utf-8")] = \
            ctypes.string_at(e.value, e.value_len).decode("utf-8")
    return out


def _open_opts(allow_trailing, allow_nul_padding, max_header_size, read_gap, extra=0):
    opts = st_open_options(ctypes.sizeof(st_open_options), extra, max_header_size, None,
                           read_gap)
    if allow_trailing:
        opts.flags |= _lib.ST_LENIENT_TRAILING_BYTES
    if allow_nul_padding:
        opts.flags |= _lib.ST_LENIENT_NUL_PADDING
    return opts


def _buffer_address(data) -> Tuple[int, int, Any]:
    """(address, size, keeper) of a bytes-like object, without a copy when it
    exposes a contiguous buffer (bytes, bytearray, memoryview, mmap, numpy)."""
    if isinstance(data, bytes):
        # bytes are immutable: their buffer is stable while referenced
        buf = ctypes.c_char_p(data)
        return ctypes.cast(buf, ctypes.c_void_p).value or 0, len(data), data
    mv = memoryview(data)
    if not mv.c_contiguous:
        raise ValueError("the buffer must be contiguous")
    mv = mv.cast("B")
    n = mv.nbytes
    if n == 0:
        return 0, 0, mv
    if mv.readonly:
        arr = np.frombuffer(mv, dtype=np.uint8)
        return arr.ctypes.data, n, (arr, mv)
    c = (ctypes.c_char * n).from_buffer(mv)
    return ctypes.addressof(c), n, (c, mv)


class _ReaderSource:
    """st_reader callbacks over a Python object: a file-like object with
    seek/read, or a callable fn(offset, size) -> bytes. An
    exception in the callback fails the call with EIO and is re-raised by
    the Python call that asked, as the cause of the error."""

    def __init__(self, obj):
        self.obj = obj
        self.lock = threading.Lock()
        self.exc: Optional[BaseException] = None
        self.cfn = st_read_fn(self._read)  # kept alive by this object

    def _fetch(self, offset: int, size: int) -> bytes:
        obj = self.obj
        if callable(obj) and not hasattr(obj, "read"):
            return obj(offset, size)
        with self.lock:
            obj.seek(offset)
            chunks = []
            left = size
            while left:
                b = obj.read(left)
                if not b:
                    break
                chunks.append(b)
                left -= len(b)
            return b"".join(chunks)

    def _read(self, _ctx, offset, dst, size):
        try:
            data = self._fetch(offset, size)
            if not isinstance(data, bytes):
                data = bytes(data)
            if len(data) < size:
                return ST_READER_SHORT
            ctypes.memmove(dst, data, size)
            return 0
        except BaseException as e:  # pylint: disable=broad-except
            self.exc = e
            return _errno.EIO

    def reader(self) -> st_reader:
        r = st_reader(ctypes.sizeof(st_reader), 0, self.cfn, None)
        return r

    def take_exception(self, err: SafetensorError) -> SafetensorError:
        exc, self.exc = self.exc, None
        if exc is not None:
            err.__cause__ = exc
        return err


def _source_size(obj) -> int:
    if hasattr(obj, "seek") and hasattr(obj, "tell"):
        pos = obj.tell()
        end = obj.seek(0, io.SEEK_END)
        obj.seek(pos)
        return end
    raise TypeError("a callable source needs size=: safe_open(fn, framework, size=N)")


# ---------------------------------------------------------------- frameworks

_FRAMEWORK_NAMES = {"np": "numpy", "numpy": "numpy", "pt": "pt", "torch": "pt",
                    "pytorch": "pt"}


def _framework(name: str) -> str:
    fw = _FRAMEWORK_NAMES.get(name)
    if fw is None:
        raise SafetensorError("framework %s is invalid: this package supports np / numpy and "
                              "pt / torch / pytorch" % (name,))
    return fw


def _torch():
    import torch  # type: ignore[import-not-found]  # pylint: disable=import-outside-toplevel
    return torch


_TORCH_NAMES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
                "F16": "float16", "BF16": "bfloat16", "I32": "int32", "U32": "uint32",
                "F32": "float32", "C64": "complex64", "F64": "float64", "I64": "int64",
                "U64": "uint64", "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
                "F8_E8M0": "float8_e8m0fnu", "F8_E4M3FNUZ": "float8_e4m3fnuz",
                "F8_E5M2FNUZ": "float8_e5m2fnuz", "F4": "float4_e2m1fn_x2"}
_TORCH_BITS = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}


def torch_dtype(dtype: str, fallback: Optional[str] = None, tensor: str = ""):
    """The torch dtype for a format dtype: torch's own when this torch has it
    (float8 needs torch 2.1, uint16/32/64 torch 2.3); otherwise the
    reference's AttributeError unless fallback is "bits" (a same-width
    integer type holding the raw bits; F4/F6 as packed uint8) or "float32"."""
    torch = _torch()
    name = _TORCH_NAMES.get(dtype)
    if name is not None and hasattr(torch, name):
        return getattr(torch, name)
    if fallback == "float32":
        return torch.float32
    if fallback == "bits":
        return getattr(torch, _TORCH_BITS[max(_BITS[dtype] // 8, 1)])
    raise SafetensorDtypeAttributeError(
        "module 'torch' has no attribute '%s': tensor %r is %s, which this torch (%s) has no "
        "type for; pass fallback='bits' for its raw bits or fallback='float32' for its values"
        % (name or dtype.lower(), tensor, dtype, torch.__version__), tensor=tensor)


def _to_torch(arr: np.ndarray, tdtype, shape):
    """A numpy array of the file's bytes (any dtype of the right width) as a
    torch tensor of tdtype, sharing memory."""
    torch = _torch()
    if arr.size == 0:
        return torch.empty(tuple(shape), dtype=tdtype)
    if not arr.flags.writeable:
        arr = arr.copy()
    t = torch.from_numpy(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
    return t.view(tdtype).reshape(tuple(shape))


# ---------------------------------------------------------------- reading one tensor


class _Reader:
    """Reads tensors of one st_file: zero-copy views where the library says
    the data can be viewed in place, copies otherwise (or when asked)."""

    def __init__(self, owner, path, framework, fallback, copy, backend, cow=None):
        self.owner = owner  # _FileOwner or _ShardPin: has .ptr
        self.path = path
        self.framework = framework
        self.fallback = fallback
        self.copy = copy
        self.backend = backend
        self.cow = cow  # torch: a copy-on-write mmap of the file (writable, private)

    # raw bytes of [byte_off, byte_off + size) of the tensor as a 1-D uint8 array
    def _bytes(self, info: _Info, byte_off: int, size: int, want_copy: bool) -> np.ndarray:
        if size == 0:
            return np.empty(0, dtype=np.uint8)
        if not want_copy and self.backend == "mmap" and info.data:
            if self.cow is not None:
                return np.frombuffer(self.cow, dtype=np.uint8, count=size,
                                     offset=info.offset + byte_off)
            return np.asarray(_Mapped(self.owner, info.data + byte_off, (size,), "|u1"))
        out = np.empty(size, dtype=np.uint8)
        err = st_error()
        status = lib.st_tensor_read(self.owner.ptr, info.ptr, byte_off, out.ctypes.data, size,
                                    ctypes.byref(err))
        if status != ST_OK:
            raise self._fail(err)
        return out

    def _fail(self, err: st_error) -> SafetensorError:
        e = _record_error(err, self.path)
        keep = getattr(self.owner, "keep", None)
        if isinstance(keep, _ReaderSource):
            e = keep.take_exception(e)
        return e

    def _aligned(self, info: _Info) -> bool:
        if self.cow is not None:
            bits = _BITS[info.dtype]
            return bits < 16 or info.offset % (bits // 8 if info.dtype != "C64" else 4) == 0
        out = ctypes.c_void_p()
        status = lib.st_tensor_view(info.ptr, ctypes.byref(out))
        if status in (ST_OK,):
            return True
        if status in (ST_E_MISALIGNED, ST_E_BYTE_ORDER, ST_E_NO_DATA):
            return False
        raise _status_error(status, "viewing %r" % info.name, info.name, self.path)

    def tensor(self, info: _Info, to_float32=False, copy=None):
        copy = self.copy if copy is None else copy
        if to_float32 or (self.fallback == "float32" and self._nonnative(info.dtype)):
            arr = self._as_f32(info, self._bytes(info, 0, info.nbytes, False), info.shape)
            return self._finish(arr, info, "F32")
        self._check_dtype(info)
        viewable = self._aligned(info)
        raw = self._bytes(info, 0, info.nbytes, copy or not viewable)
        return self._finish(self._interpret(raw, info.dtype, info.shape, info.nbytes),
                            info, info.dtype)

    def tensors_bulk(self, infos: List[_Info]) -> Dict[str, Any]:
        """Every tensor of infos read into ONE new buffer (each at a 64-byte
        aligned position), as numpy.fromfile reads a file: one allocation
        instead of one per tensor, which is what makes a full copy as fast
        as fromfile. Tensors converted to float32 go their own way."""
        plan = []
        total = 0
        for info in infos:
            if self.fallback == "float32" and self._nonnative(info.dtype):
                plan.append((info, None))
                continue
            self._check_dtype(info)
            plan.append((info, total))
            total += (info.nbytes + 63) // 64 * 64
        buf = np.empty(total, dtype=np.uint8)
        out = {}
        for info, pos in plan:
            if pos is None:
                out[info.name] = self.tensor(info)
                continue
            raw = buf[pos:pos + info.nbytes]
            if info.nbytes:
                err = st_error()
                status = lib.st_tensor_read(self.owner.ptr, info.ptr, 0, raw.ctypes.data,
                                            info.nbytes, ctypes.byref(err))
                if status != ST_OK:
                    raise self._fail(err)
            out[info.name] = self._finish(self._interpret(raw, info.dtype, info.shape,
                                                          info.nbytes), info, info.dtype)
        return out

    def _nonnative(self, dtype: str) -> bool:
        try:
            if self.framework == "pt":
                torch_dtype(dtype, None)
            else:
                numpy_dtype(dtype, None)
            return False
        except (SafetensorError, ImportError):
            return True

    def _check_dtype(self, info: _Info):
        if self.framework == "pt":
            torch_dtype(info.dtype, self.fallback, info.name)
        else:
            numpy_dtype(info.dtype, self.fallback, info.name)

    def _interpret(self, raw: np.ndarray, dtype: str, shape, nbytes):
        """raw uint8 bytes -> an array of the numpy dtype (raw bits for the
        types numpy lacks), in the raw shape."""
        if self.framework == "pt":
            np_dt = np.dtype(_NUMPY_NATIVE.get(dtype) or _RAW_BITS[dtype])
        else:
            np_dt = numpy_dtype(dtype, self.fallback if self.fallback != "float32" else "bits")
        return raw.view(np_dt).reshape(_raw_shape(dtype, tuple(shape), nbytes))

    def _as_f32(self, info_or_dtype, raw: np.ndarray, shape) -> np.ndarray:
        dtype = info_or_dtype.dtype if isinstance(info_or_dtype, _Info) else info_or_dtype
        count = _prod(shape)
        out = np.empty(tuple(shape), dtype=np.float32)
        if count:
            src = np.ascontiguousarray(raw)
            status = lib.st_convert_to_f32(_CODE[dtype], src.ctypes.data, 0, count,
                                           out.ctypes.data_as(P(ctypes.c_float)))
            if status != ST_OK:
                raise _status_error(status, "converting a %s tensor to float32" % dtype,
                                    path=self.path)
        return out

    def _finish(self, arr: np.ndarray, info: _Info, dtype: str):
        if self.framework == "pt":
            tdt = _torch().float32 if dtype == "F32" else \
                torch_dtype(dtype, self.fallback, info.name)
            return _to_torch(arr, tdt, arr.shape)
        return arr

    # ------------------------------------------------ slices

    def slice(self, info: _Info, key, to_float32=False):
        plan = _SlicePlan(key, info.shape, info.name, self.path)
        nonnative = self._nonnative(info.dtype)
        if not to_float32:
            self._check_dtype(info)
        rank = len(info.shape)
        start = (c_u64 * max(rank, 1))(*plan.start)
        stop = (c_u64 * max(rank, 1))(*plan.stop)
        nbytes = c_u64(0)
        err = st_error()
        status = lib.st_tensor_slice_size(info.ptr, rank, start, stop, ctypes.byref(nbytes),
                                          ctypes.byref(err))
        if status != ST_OK:
            raise self._fail(err)
        buf = np.empty(nbytes.value, dtype=np.uint8)
        if nbytes.value:
            status = lib.st_tensor_read_slice(self.owner.ptr, info.ptr, rank, start, stop,
                                              buf.ctypes.data, nbytes.value, ctypes.byref(err))
            if status != ST_OK:
                raise self._fail(err)
        box = tuple(b - a for a, b in zip(plan.start, plan.stop))
        f32 = to_float32 or (self.fallback == "float32" and nonnative)
        if f32:
            arr = self._as_f32(info.dtype, buf, box)
            dtype = "F32"
        elif info.dtype in _SUB_BYTE:
            if not plan.simple:
                raise SafetensorError(
                    "tensor %r is %s: the raw bits of a slice of it take only integers and "
                    "slices with step 1; use to_float32=True or fallback='float32'"
                    % (info.name, info.dtype), tensor=info.name, path=self.path)
            kept = tuple(b for b, k in zip(box, plan.local) if not isinstance(k, int))
            arr = buf.reshape(_raw_shape(info.dtype, kept, nbytes.value))
            return self._finish_slice(arr, info, info.dtype)
        else:
            arr = self._interpret(buf, info.dtype, box, nbytes.value)
            dtype = info.dtype
        return self._finish_slice(plan.apply(arr), info, dtype)

    def _finish_slice(self, arr: np.ndarray, info: _Info, dtype: str):
        if self.framework == "pt":
            torch = _torch()
            tdt = torch.float32 if dtype == "F32" else torch_dtype(dtype, self.fallback,
                                                                    info.name)
            arr = np.ascontiguousarray(arr)
            return _to_torch(arr, tdt, arr.shape)
        return arr


class _SlicePlan:
    """A numpy-style index over a tensor's shape, turned into the box of
    indices to read ([start, stop) per dimension, for the C slice reader)
    and the local index to apply to that box. Differences from the reference
    are listed in docs/python.md (one table)."""

    def __init__(self, key, shape, name, path):
        if not isinstance(key, tuple):
            key = (key,)
        rank = len(shape)
        real = [k for k in key if k is not None and k is not Ellipsis]
        if sum(1 for k in key if k is Ellipsis) > 1:
            raise SafetensorSliceError("an index can only have a single ellipsis ('...')",
                                       tensor=name, path=path)
        if len(real) > rank:
            raise SafetensorSliceError(
                "too many indices for tensor %r: tensor is %d-dimensional, but %d were indexed"
                % (name, rank, len(real)), tensor=name, path=path)
        # expand the ellipsis (or pad at the end) with full slices
        expanded: List[Any] = []
        for k in key:
            if k is Ellipsis:
                expanded.extend([slice(None)] * (rank - len(real)))
            else:
                expanded.append(k)
        if not any(k is Ellipsis for k in key):
            expanded.extend([slice(None)] * (rank - len(real)))
        self.start: List[int] = []
        self.stop: List[int] = []
        local: List[Any] = []
        dim = 0
        for k in expanded:
            if k is None:
                local.append(None)
                continue
            n = shape[dim]
            if isinstance(k, slice):
                a, b, st = self._bounds(k, n, dim, name, path)
                r = range(a, b, st)
                if len(r) == 0:
                    self.start.append(0)
                    self.stop.append(0)
                    local.append(slice(0, 0))
                else:
                    lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
                    self.start.append(lo)
                    self.stop.append(hi)
                    first = r[0] - lo
                    last = r[-1] - lo
                    local.append(slice(first, last + (1 if st > 0 else -1)
                                       if last + (1 if st > 0 else -1) >= 0 else None, st))
            else:
                try:
                    i = operator.index(k)
                except TypeError:
                    raise TypeError("only integers, slices (`:`), ellipsis (`...`) and None "
                                    "are valid indices of a tensor slice, not %s"
                                    % type(k).__name__) from None
                j = i + n if i < 0 else i
                if not 0 <= j < n:
                    raise SafetensorSliceError(
                        "index %d out of bounds for tensor %r dimension #%d of size %d"
                        % (i, name, dim, n), tensor=name, path=path)
                self.start.append(j)
                self.stop.append(j + 1)
                local.append(0)
            dim += 1
        self.local = tuple(local)
        self.simple = all(isinstance(k, int) or (isinstance(k, slice) and k.step in (None, 1))
                          for k in local)

    @staticmethod
    def _bounds(k: slice, n: int, dim: int, name, path) -> Tuple[int, int, int]:
        """numpy's slice.indices(n), except that non-negative bounds past the
        end are an error as in the reference (start > n, or stop > n)."""
        for v in (k.start, k.stop):
            if v is not None:
                v = operator.index(v)
                if v > n:
                    raise SafetensorSliceError(
                        "index %d out of bounds for tensor %r dimension #%d of size %d"
                        % (v, name, dim, n), tensor=name, path=path)
        if k.step is not None and operator.index(k.step) == 0:
            raise ValueError("slice step cannot be zero")
        return k.indices(n)

    def apply(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.local]


# ---------------------------------------------------------------- safe_open


class safe_slice:
    """What safe_open.get_slice returns: get_shape(), get_dtype(), and
    numpy-style indexing that reads only the indexed part through the C
    slice reader (st_tensor_read_slice). The result is a new, writable array
    (or tensor)."""

    def __init__(self, reader: _Reader, info: _Info, to_float32: bool = False):
        self._reader = reader  # holds the file (or shard) open
        self._info = info
        self._f32 = to_float32

    def get_shape(self) -> List[int]:
        """The shape of the whole tensor."""
        return list(self._info.shape)

    def get_dtype(self) -> str:
        """The dtype of the whole tensor, as the format names it ("F32")."""
        return self._info.dtype

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape of the whole tensor, as a tuple."""
        return self._info.shape

    def __len__(self) -> int:
        if not self._info.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._info.shape[0]

    def __getitem__(self, key):
        return self._reader.slice(self._info, key, self._f32)


class safe_open:
    """Opens a safetensors file, fully validated, and gives its tensors on
    demand.

    safe_open(filename, framework, device="cpu", *, backend="mmap",
              copy=False, fallback=None, allow_trailing=False,
              allow_nul_padding=False, max_header_size=0, read_gap=0,
              size=None, follow_symlinks=False, max_open_shards=0)

    filename   a path to a .safetensors file; a path to a sharded model's
               *.index.json or to a directory holding one (the model is seen
               as one file; metadata() is the index's "metadata"); a
               file-like object with seek/read (remote storage: only the
               header is read at open, each tensor or slice is read when
               asked); or a callable fn(offset, size) -> bytes with size=
               the file's total size.
    framework  "np"/"numpy" (numpy arrays) or "pt"/"torch"/"pytorch" (torch
               tensors).
    device     "cpu" only.
    backend    "mmap" (default): numpy arrays are zero-copy READ-ONLY views
               of the file mapping; torch tensors are zero-copy views of a
               private copy-on-write mapping (writable, writes never reach the
               file). "pread": every tensor is read into fresh memory.
    copy       numpy: True gives writable arrays of their own.
    fallback   None, "bits" or "float32": what to do with a dtype the
               framework lacks (BF16/F8 without ml_dtypes, F4/F6, ...);
               None raises the reference's error.
    allow_trailing, allow_nul_padding, max_header_size, read_gap
               leniency and limits of the C library (docs/strictness.md).
    """

    def __init__(self, filename, framework: str, device: Union[str, int] = "cpu", *,
                 backend: str = "mmap", copy: bool = False, fallback: Optional[str] = None,
                 allow_trailing: bool = False, allow_nul_padding: bool = False,
                 max_header_size: int = 0, read_gap: int = 0, size: Optional[int] = None,
                 follow_symlinks: bool = False, max_open_shards: int = 0) -> None:
        self._framework = _framework(framework)
        if device not in ("cpu", None):
            raise SafetensorError("device %r is not supported: only 'cpu'" % (device,))
        if backend not in ("mmap", "pread"):
            raise SafetensorError('backend %r is invalid (expected one of: "mmap", "pread")'
                                  % (backend,))
        if fallback not in FALLBACKS:
            raise ValueError("fallback must be None, 'bits' or 'float32', not %r" % (fallback,))
        if self._framework == "pt":
            _torch()  # ImportError now, as the reference raises it at open
        self._closed = False
        self._infos: Dict[str, _Info] = {}
        self._model: Optional[_ModelOwner] = None
        self._entries: Dict[str, Tuple[int, int]] = {}
        self._pins: Dict[int, _Reader] = {}
        self._reader: Optional[_Reader] = None
        opts = _open_opts(allow_trailing, allow_nul_padding, max_header_size, read_gap)
        self._opts = opts
        self._kw = (self._framework, fallback, copy, backend)
        if isinstance(filename, (str, bytes, os.PathLike)):
            path = os.fsencode(filename)
            self._path = path
            if os.path.isdir(path) or path.endswith(b".json"):
                self._open_model(path, opts, follow_symlinks, max_open_shards)
            elif self._framework == "pt" and backend == "mmap":
                self._open_cow(path, opts)
            else:
                fptr = _lib.F()
                err = st_error()
                status = lib.st_open_path(ctypes.byref(fptr), path, ctypes.byref(opts),
                                          ctypes.byref(err))
                if status != ST_OK:
                    raise _open_error(err, path)
                self._reader = _Reader(_FileOwner(fptr), path, *self._kw)
        else:
            self._path = None
            self._open_reader(filename, opts, size)

    # -- sources

    def _open_cow(self, path, opts):
        with open(path, "rb") as fp:
            n = os.fstat(fp.fileno()).st_size
            mm = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_COPY) if n else None
        addr, keep = 0, None
        if mm is not None:
            c = (ctypes.c_char * n).from_buffer(mm)
            addr, keep = ctypes.addressof(c), (mm, c)
        fptr = _lib.F()
        err = st_error()
        status = lib.st_open_memory(ctypes.byref(fptr), addr, n, ctypes.byref(opts),
                                    ctypes.byref(err))
        if status != ST_OK:
            raise _record_error(err, path)
        self._reader = _Reader(_FileOwner(fptr, keep), path, *self._kw, cow=mm)

    def _open_reader(self, obj, opts, size):
        if size is None:
            size = _source_size(obj)
        src = _ReaderSource(obj)
        rd = src.reader()
        fptr = _lib.F()
        err = st_error()
        status = lib.st_open_reader(ctypes.byref(fptr), ctypes.byref(rd), size,
                                    ctypes.byref(opts), ctypes.byref(err))
        if status != ST_OK:
            raise src.take_exception(_record_error(err))
        self._reader = _Reader(_FileOwner(fptr, src), None, self._kw[0], self._kw[1],
                               self._kw[2], "pread")

    def _open_model(self, path, opts, follow_symlinks, max_open_shards):
        mo = st_model_options(ctypes.sizeof(st_model_options),
                              ST_MODEL_FOLLOW_SYMLINKS if follow_symlinks else 0,
                              max_open_shards, ctypes.pointer(opts))
        mptr = _lib.M()
        err = st_error()
        status = lib.st_model_open(ctypes.byref(mptr), path, ctypes.byref(mo), ctypes.byref(err))
        if status != ST_OK:
            raise _open_error(err, path)
        self._model = _ModelOwner(mptr)
        for i in range(lib.st_model_tensor_count(mptr)):
            e = lib.st_model_entry_at(mptr, i).contents
            self._entries[ctypes.string_at(e.name, e.name_len).decode("utf-8")] = \
                (e.shard, e.index)

    # -- context and lifetime

    def __enter__(self) -> "safe_open":
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.close()

    def close(self) -> None:
        """Drops this object's hold on the file. The file stays mapped while
        arrays viewing it (or slice objects) remain."""
        self._closed = True
        self._reader = None
        self._model = None
        self._pins = {}
        self._infos = {}

    @property
    def closed(self) -> bool:
        """True after close() or the end of the with block."""
        return self._closed

    def _check(self):
        if self._closed:
            raise SafetensorError("File is closed")

    # -- listing

    def keys(self) -> List[str]:
        """The tensor names, sorted (as the reference)."""
        return sorted(self.offset_keys())

    def offset_keys(self) -> List[str]:
        """The tensor names in file order (by data offset); for a sharded
        model, shard by shard in the index's order."""
        self._check()
        if self._model is not None:
            return list(self._entries)
        assert self._reader is not None
        return [i.name for i in _list_tensors(self._reader.owner.ptr)]

    def metadata(self) -> Optional[Dict[str, str]]:
        """__metadata__ as a dict (header order), or None when absent or null.
        For a sharded model: the index's "metadata" (non-string values as
        their JSON text), or None when it has none."""
        self._check()
        if self._model is not None:
            mp = self._model.ptr
            n = lib.st_model_metadata_count(mp)
            if n == 0:
                return None
            out = {}
            for i in range(n):
                e = lib.st_model_metadata_at(mp, i).contents
                out[ctypes.string_at(e.key, e.key_len).decode("utf-8")] = \
                    ctypes.string_at(e.value, e.value_len).decode("utf-8")
            return out
        assert self._reader is not None
        return _file_metadata(self._reader.owner.ptr)

    def leniency_used(self) -> int:
        """The ST_LENIENT_* bits the file needed to be accepted (0: none)."""
        self._check()
        if self._reader is None:
            return 0
        return lib.st_file_leniency_used(self._reader.owner.ptr)

    def _lookup(self, name: str) -> Tuple[_Reader, _Info]:
        self._check()
        if self._model is not None:
            ent = self._entries.get(name)
            if ent is None:
                raise SafetensorError("File does not contain tensor %s" % name,
                                      code=ST_E_NOT_FOUND, tensor=name, path=self._path)
            shard = ent[0]
            reader = self._pins.get(shard)
            if reader is None:
                # one shard pinned by this object (the last one used); arrays
                # viewing a shard hold pins of their own
                pin = _ShardPin(self._model, shard, self._path)
                reader = _Reader(pin, self._path, *self._kw)
                self._pins = {shard: reader}
            raw = name.encode("utf-8")
            return reader, _Info(lib.st_tensor_find_n(reader.owner.ptr, raw, len(raw)))
        assert self._reader is not None
        info = self._infos.get(name)
        if info is None:
            try:
                raw = name.encode("utf-8")
            except UnicodeEncodeError:
                raw = b"\0"
            t = lib.st_tensor_find_n(self._reader.owner.ptr, raw, len(raw))
            if not t:
                raise SafetensorError("File does not contain tensor %s" % name,
                                      code=ST_E_NOT_FOUND, tensor=name, path=self._path)
            info = self._infos[name] = _Info(t)
        return self._reader, info

    def tensor_info(self, name: str) -> Dict[str, Any]:
        """dtype, shape, data_offsets, absolute offset, nbytes and file-order
        index of one tensor (an extra of this package)."""
        _, i = self._lookup(name)
        return {"dtype": i.dtype, "shape": list(i.shape), "data_offsets": [i.begin, i.end],
                "offset": i.offset, "nbytes": i.nbytes, "index": i.index}

    # -- reading

    def get_tensor(self, name: str, *, to_float32: bool = False, copy: Optional[bool] = None):
        """The tensor in the framework asked at open.

        numpy: a read-only zero-copy view of the file when the data is
        aligned for its type (else a read-only copy); copy=True (here or at
        open) gives a writable array of its own. to_float32=True converts any
        dtype but C64 to float32 (a copy)."""
        reader, info = self._lookup(name)
        return reader.tensor(info, to_float32, copy)

    def get_tensors(self) -> Dict[str, Any]:
        """Every tensor, as {name: tensor} in file order (offset_keys())."""
        self._check()
        r = self._reader
        if r is not None and (r.copy or r.backend == "pread"):
            return r.tensors_bulk(_list_tensors(r.owner.ptr))
        return {k: self.get_tensor(k) for k in self.offset_keys()}

    def get_slice(self, name: str, *, to_float32: bool = False) -> safe_slice:
        """A lazy slice object: s[...] reads only the indexed part."""
        reader, info = self._lookup(name)
        return safe_slice(reader, info, to_float32)


# ---------------------------------------------------------------- writing


class TensorSpec:
    """One tensor for serialize / serialize_file, as the reference's
    TensorSpec: TensorSpec(dtype=, shape=, data_ptr=, data_len=). dtype is a
    numpy/torch name ("float32", "bfloat16") or the format's ("F32"). For
    float4_e2m1fn_x2 the shape may be the storage shape (the last dimension
    is doubled, as the reference does). The caller keeps the memory at
    data_ptr alive during the call."""

    __slots__ = ("dtype", "shape", "data_ptr", "data_len")

    def __init__(self, *, dtype: str, shape: Sequence[int], data_ptr: int,
                 data_len: int) -> None:
        code = _format_dtype(dtype)
        shape = [int(d) for d in shape]
        if code == "F4" and shape and dtype != "F4":
            shape[-1] *= 2
        self.dtype: str = code
        self.shape: List[int] = shape
        self.data_ptr: int = int(data_ptr)
        self.data_len: int = int(data_len)

    def __repr__(self) -> str:
        return "TensorSpec(dtype=%r, shape=%r, data_ptr=%d, data_len=%d)" % (
            self.dtype, self.shape, self.data_ptr, self.data_len)


def _format_dtype(name: str) -> str:
    if name in _CODE:
        return name
    code = _WRITE_NAMES.get(name)
    if code is None:
        raise SafetensorError("Unknown dtype %r. Supported dtypes: %s, or the format's names "
                              "(%s)" % (name, ", ".join(_WRITE_NAMES), ", ".join(DTYPE_NAMES)))
    return code


class _Specs:
    """st_tensor_spec and st_metadata_entry arrays for the C writer, and
    everything they point into (kept alive until the call returns)."""

    def __init__(self, items: List[Tuple[str, str, Sequence[int], int, int]],
                 metadata: Optional[Dict[str, str]]):
        self.keep: List[Any] = []
        self.count = len(items)
        self.specs = (st_tensor_spec * max(self.count, 1))()
        for i, (name, dtype, shape, ptr, length) in enumerate(items):
            if not isinstance(name, str):
                raise TypeError("tensor names must be str, not %s" % type(name).__name__)
            nb = name.encode("utf-8", "surrogatepass")
            dims = (c_u64 * max(len(shape), 1))(*shape)
            numel = _prod(shape)
            need = numel * _BITS[dtype]
            if need % 8 == 0 and need // 8 != length:
                raise SafetensorError(
                    "tensor %r: %s %s needs %d bytes, %d given" % (name, dtype, list(shape),
                                                                  need // 8, length),
                    tensor=name)
            self.keep += [nb, dims]
            s = self.specs[i]
            s.name = ctypes.cast(ctypes.c_char_p(nb), ctypes.c_void_p)
            s.name_len = len(nb)
            s.dtype = _CODE[dtype]
            s.rank = len(shape)
            s.shape = dims
            s.data = ptr if length else None
        self.entries = None
        self.nmeta = 0
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise TypeError("metadata must be a dict of str -> str, not %s"
                                % type(metadata).__name__)
            self.entries = (st_metadata_entry * max(len(metadata), 1))()
            for i, (k, v) in enumerate(metadata.items()):
                if not isinstance(k, str) or not isinstance(v, str):
                    raise TypeError("metadata must map str to str; got %s -> %s"
                                    % (type(k).__name__, type(v).__name__))
                kb, vb = k.encode("utf-8"), v.encode("utf-8")
                self.keep += [kb, vb]
                e = self.entries[i]
                e.key = ctypes.cast(ctypes.c_char_p(kb), ctypes.c_void_p)
                e.key_len = len(kb)
                e.value = ctypes.cast(ctypes.c_char_p(vb), ctypes.c_void_p)
                e.value_len = len(vb)
            self.nmeta = len(metadata)

    def to_bytes(self, opts=None) -> bytes:
        err = st_error()
        size = c_u64(0)
        s = lib.st_write_memory(None, 0, ctypes.byref(size), self.specs, self.count,
                                self.entries, self.nmeta, opts, ctypes.byref(err))
        if s != ST_OK:
            raise _record_error(err)
        out = bytearray(size.value)
        buf = (ctypes.c_char * len(out)).from_buffer(out) if out else None
        s = lib.st_write_memory(buf, size.value, ctypes.byref(size), self.specs, self.count,
                                self.entries, self.nmeta, opts, ctypes.byref(err))
        del buf
        if s != ST_OK:
            raise _record_error(err)
        return bytes(out)

    def to_file(self, filename, opts=None) -> None:
        err = st_error()
        path = os.fsencode(filename)
        s = lib.st_write_file(path, self.specs, self.count, self.entries, self.nmeta, opts,
                              ctypes.byref(err))
        if s != ST_OK:
            if s == ST_E_IO and err.sys_errno:
                raise OSError(err.sys_errno, os.strerror(err.sys_errno), os.fsdecode(path))
            raise _record_error(err, path)


def _write_options(alignment: int = 0, keep_order: bool = False, sync: bool = True):
    opts = st_write_options(ctypes.sizeof(st_write_options), 0, alignment, 0, 0, None)
    if keep_order:
        opts.flags |= ST_WRITE_KEEP_ORDER
    if not sync:
        opts.flags |= ST_WRITE_NO_SYNC
    return opts


def _spec_items(tensor_dict) -> Tuple[List[Tuple[str, str, Sequence[int], int, int]], List[Any]]:
    """The reference's serialize input: {name: TensorSpec} or (older API)
    {name: {"dtype": ..., "shape": [...], "data": bytes-like}} or
    {name: {"dtype", "shape", "data_ptr", "data_len"}}."""
    if not isinstance(tensor_dict, dict):
        raise TypeError("tensor_dict must be a dict of name -> TensorSpec, not %s"
                        % type(tensor_dict).__name__)
    items = []
    keep: List[Any] = []
    for name, v in tensor_dict.items():
        if isinstance(v, TensorSpec):
            items.append((name, v.dtype, v.shape, v.data_ptr, v.data_len))
            continue
        if not isinstance(v, dict):
            raise TypeError("tensor %r: expected a TensorSpec or a dict, not %s"
                            % (name, type(v).__name__))
        for field in ("dtype", "shape"):
            if field not in v:
                raise SafetensorError("Missing `%s` in %r" % (field, v), tensor=name)
        dtype = _format_dtype(v["dtype"])
        shape = [int(d) for d in v["shape"]]
        if dtype == "F4" and v["dtype"] != "F4" and shape:
            shape[-1] *= 2
        if "data" in v:
            addr, n, k = _buffer_address(v["data"])
            keep.append(k)
        elif "data_ptr" in v and "data_len" in v:
            addr, n = int(v["data_ptr"]), int(v["data_len"])
        else:
            raise SafetensorError("Missing `data` in %r" % (v,), tensor=name)
        items.append((name, dtype, shape, addr, n))
    return items, keep


def serialize(tensor_dict: Dict[str, Any], metadata: Optional[Dict[str, str]] = None, *,
              alignment: int = 0, keep_order: bool = False) -> bytes:
    """The bytes of a safetensors file (st_write_memory): the reference's
    layout unless alignment (a power of two up to 4096) or keep_order (the
    dict's order instead of dtype-then-name) say otherwise.

    tensor_dict: {name: TensorSpec(...)}, or the older API's
    {name: {"dtype": "float32", "shape": [2, 3], "data": b"..."}}."""
    items, keep = _spec_items(tensor_dict)
    specs = _Specs(items, metadata)
    out = specs.to_bytes(_write_options(alignment, keep_order))
    del keep
    return out


def serialize_file(tensor_dict: Dict[str, Any], filename: PathLike,
                   metadata: Optional[Dict[str, str]] = None, *, alignment: int = 0,
                   keep_order: bool = False, sync: bool = True) -> None:
    """Writes a safetensors file (st_write_file): atomically (a temporary
    file in the same directory, flushed and renamed over filename). sync=False
    skips the fsyncs (scratch files). Arguments as serialize()."""
    items, keep = _spec_items(tensor_dict)
    specs = _Specs(items, metadata)
    specs.to_file(filename, _write_options(alignment, keep_order, sync))
    del keep


def deserialize(data) -> List[Tuple[str, Dict[str, Any]]]:
    """[(name, {"shape": [...], "dtype": "F32", "data": bytearray}), ...] of
    a whole file's bytes, in file order (the reference gives a hash order)."""
    addr, n, keep = _buffer_address(data)
    fptr = _lib.F()
    err = st_error()
    opts = _open_opts(False, False, 0, 0)
    status = lib.st_open_memory(ctypes.byref(fptr), addr or None, n, ctypes.byref(opts),
                                ctypes.byref(err))
    if status != ST_OK:
        raise _record_error(err)
    owner = _FileOwner(fptr, keep)
    out = []
    for info in _list_tensors(owner.ptr):
        out.append((info.name, {"shape": list(info.shape), "dtype": info.dtype,
                                "data": bytearray(ctypes.string_at(info.data, info.nbytes))
                                if info.nbytes else bytearray()}))
    del owner
    return out


def open_bytes(data, framework: str, *, copy: bool = False, fallback: Optional[str] = None,
               allow_trailing: bool = False, allow_nul_padding: bool = False) -> safe_open:
    """safe_open over a bytes-like object in memory (st_open_memory), without
    a copy: the arrays view the object, which stays alive while they do."""
    obj = safe_open.__new__(safe_open)
    fw = _framework(framework)
    addr, n, keep = _buffer_address(data)
    opts = _open_opts(allow_trailing, allow_nul_padding, 0, 0)
    fptr = _lib.F()
    err = st_error()
    status = lib.st_open_memory(ctypes.byref(fptr), addr or None, n, ctypes.byref(opts),
                                ctypes.byref(err))
    if status != ST_OK:
        raise _record_error(err)
    obj._framework = fw  # pylint: disable=protected-access
    obj._closed = False
    obj._infos = {}
    obj._model = None
    obj._entries = {}
    obj._pins = {}
    obj._path = None
    obj._kw = (fw, fallback, copy, "mmap")
    obj._reader = _Reader(_FileOwner(fptr, keep), None, *obj._kw)
    return obj


def library_version() -> str:
    """The loaded C library's version string, e.g. "0.1.0"."""
    return lib.st_version_string().decode("ascii")


def library_path() -> str:
    """The path (or name) the C library was loaded from."""
    return lib.st_path
