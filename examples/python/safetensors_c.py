"""safetensors_c - read safetensors files from Python through libsafetensors.

Pure Python over ctypes: nothing is compiled when this module is installed.
The interface follows the reference ``safetensors.safe_open``::

    from safetensors_c import safe_open

    with safe_open("model.safetensors", framework="np") as f:
        print(f.metadata())
        for name in f.keys():            # sorted names
            x = f.get_tensor(name)       # read-only numpy array
        part = f.get_slice("lm_head.weight")[0:8]

Arrays
    get_tensor() returns a ZERO-COPY view of the file mapping when numpy has
    the dtype and the data address is aligned for it (the library decides, via
    st_tensor_as_*); otherwise a copy made by st_tensor_copy(). Either way the
    array is read-only (the mapping is read-only, and copies are made read-only
    too so that code does not depend on the file's alignment): call .copy()
    for a writable array.

    Dtypes without a numpy equivalent come back as their raw little-endian
    bits: BF16 as uint16; F8_* as uint8; F4 and F6_* as packed bytes, shaped
    (..., last * bits // 8) when the last dimension packs into whole bytes,
    else 1-D (nbytes,). get_tensor(name, to_float32=True) converts any dtype
    but C64 to float32 with st_tensor_to_f32() instead (always a copy, with the
    tensor's logical shape). BOOL is numpy bool_ over the stored bytes (the
    format does not promise they are 0 or 1).

Lifetime
    The file stays mapped while the ``safe_open`` object is open OR any array
    obtained from it is alive: every view's base chain ends at an object (its
    __array_interface__ gives numpy the address, read-only) that holds the
    handle owner, whose __del__ calls st_close(). Leaving the ``with`` block
    while arrays still exist is safe.

Errors
    Library failures raise SafetensorsError with .status (the status name,
    e.g. "ST_E_JSON"), .code (its number), .offset (absolute byte offset in
    the file, or None), .tensor (tensor name, or None), .message, .errno
    (errno of a failed system call, else 0) and .path.

The library is loaded from $ST_LIBRARY when set, else found by
ctypes.util.find_library("safetensors"), else "libsafetensors.so.0".
"""

import ctypes
import ctypes.util
import operator
import os

try:
    import numpy as np
except ImportError:  # pragma: no cover - the module is still usable for keys()/metadata()
    np = None

__all__ = ["safe_open", "load_file", "save_file", "save", "SafetensorsError",
           "library_version", "lib"]

# ---------------------------------------------------------------- constants (safetensors.h)

ST_OK = 0
ST_E_INVALID_ARGUMENT = 1
ST_E_NOT_FOUND = 20
ST_E_DTYPE_MISMATCH = 21
ST_E_MISALIGNED = 22
ST_E_BYTE_ORDER = 24

ST_ERROR_HAS_OFFSET = 0x1
ST_ERROR_HAS_TENSOR = 0x2
ST_ERROR_TENSOR_TRUNCATED = 0x4

ST_LENIENT_TRAILING_BYTES = 0x1
ST_LENIENT_NUL_PADDING = 0x2
ST_OPEN_CLOSE_FD = 0x100
ST_OPEN_READ = 0x200

ST_METADATA_ABSENT = 0
ST_METADATA_NULL = 1
ST_METADATA_OBJECT = 2

# st_dtype numbers (pinned by the header).
ST_BOOL, ST_U8, ST_I8 = 1, 2, 3
ST_F8_E5M2, ST_F8_E4M3, ST_F8_E8M0, ST_F8_E4M3FNUZ, ST_F8_E5M2FNUZ = 4, 5, 6, 7, 8
ST_F4, ST_F6_E2M3, ST_F6_E3M2 = 9, 10, 11
ST_I16, ST_U16, ST_F16, ST_BF16 = 12, 13, 14, 15
ST_I32, ST_U32, ST_F32, ST_C64 = 16, 17, 18, 19
ST_F64, ST_I64, ST_U64 = 20, 21, 22

# ---------------------------------------------------------------- structures (exact layouts)

c_u8 = ctypes.c_uint8
c_u16 = ctypes.c_uint16
c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64
c_enum = ctypes.c_int  # C enums (st_status, st_dtype, ...) are int-sized on every supported ABI


class st_error(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_int),
        ("flags", ctypes.c_uint),
        ("offset", c_u64),
        ("sys_errno", ctypes.c_int),
        ("tensor", ctypes.c_char * 128),
        ("message", ctypes.c_char * 256),
    ]


class st_tensor(ctypes.Structure):
    # Lives inside the handle; only ever used through a pointer (the struct may
    # grow at the end in later minor versions).
    _fields_ = [
        ("name", ctypes.c_void_p),  # const char *, read with name_len (never via c_char_p)
        ("name_len", c_u64),
        ("dtype", c_enum),
        ("rank", c_u32),
        ("shape", ctypes.POINTER(c_u64)),
        ("numel", c_u64),
        ("nbytes", c_u64),
        ("begin", c_u64),
        ("end", c_u64),
        ("offset", c_u64),
        ("data", ctypes.c_void_p),
        ("index", c_u64),
    ]


class st_metadata_entry(ctypes.Structure):
    _fields_ = [
        ("key", ctypes.c_void_p),
        ("key_len", c_u64),
        ("value", ctypes.c_void_p),  # may contain NUL: read with value_len
        ("value_len", c_u64),
    ]


_malloc_fn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_realloc_fn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                               ctypes.c_size_t, ctypes.c_size_t)
_free_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class st_allocator(ctypes.Structure):
    _fields_ = [
        ("malloc_fn", _malloc_fn),
        ("realloc_fn", _realloc_fn),
        ("free_fn", _free_fn),
        ("ctx", ctypes.c_void_p),
    ]


class st_open_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_u32),
        ("flags", c_u32),
        ("max_header_size", c_u64),
        ("allocator", ctypes.POINTER(st_allocator)),
        ("read_gap", c_u64),
    ]


class st_model_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_u32),
        ("flags", c_u32),
        ("max_open_shards", c_u32),
        ("file_options", ctypes.POINTER(st_open_options)),
    ]


class st_model_entry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("name_len", c_u64),
        ("shard", c_u64),
        ("index", c_u64),
    ]


class st_tensor_spec(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("name_len", c_u64),
        ("dtype", c_enum),
        ("rank", c_u32),
        ("shape", ctypes.POINTER(c_u64)),
        ("data", ctypes.c_void_p),
    ]


class st_write_options(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_u32),
        ("flags", c_u32),
        ("alignment", c_u32),
        ("reserved_", c_u32),
        ("max_header_size", c_u64),
        ("allocator", ctypes.POINTER(st_allocator)),
    ]


# int (*read)(void *ctx, uint64_t offset, void *dst, size_t size)
st_read_fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_u64, ctypes.c_void_p,
                              ctypes.c_size_t)


class st_reader(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_u32),
        ("flags", c_u32),
        ("read", st_read_fn),
        ("ctx", ctypes.c_void_p),
    ]


# int (*open_file)(void *ctx, const char *name, st_reader *reader, uint64_t *size)
st_open_file_fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                                   ctypes.POINTER(st_reader), ctypes.POINTER(c_u64))
# void (*close_file)(void *ctx, const st_reader *reader)
st_close_file_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(st_reader))


class st_model_storage(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_u32),
        ("flags", c_u32),
        ("open_file", st_open_file_fn),
        ("close_file", st_close_file_fn),
        ("ctx", ctypes.c_void_p),
    ]


class st_writer(ctypes.Structure):  # opaque
    pass


class st_file(ctypes.Structure):  # opaque
    pass


class st_alloc_cache(ctypes.Structure):  # opaque
    pass


class st_model(ctypes.Structure):  # opaque
    pass


P = ctypes.POINTER
vp = ctypes.c_void_p
cp = ctypes.c_char_p
T = P(st_tensor)
F = P(st_file)
M = P(st_model)
E = P(st_error)

# Every function of safetensors.h: name -> (restype, argtypes).
_SIGNATURES = {
    "st_status_name": (cp, [ctypes.c_int]),
    "st_status_message": (cp, [ctypes.c_int]),
    "st_dtype_name": (cp, [ctypes.c_int]),
    "st_dtype_from_name": (c_enum, [cp]),
    "st_dtype_from_name_n": (c_enum, [cp, ctypes.c_size_t]),
    "st_dtype_bits": (ctypes.c_uint, [ctypes.c_int]),
    "st_open_path": (c_enum, [P(F), cp, P(st_open_options), E]),
    "st_open_fd": (c_enum, [P(F), ctypes.c_int, P(st_open_options), E]),
    "st_open_memory": (c_enum, [P(F), vp, c_u64, P(st_open_options), E]),
    "st_open_reader": (c_enum, [P(F), P(st_reader), c_u64, P(st_open_options), E]),
    "st_open_header": (c_enum, [P(F), vp, c_u64, c_u64, P(st_open_options), E]),
    "st_close": (None, [F]),
    "st_file_size": (c_u64, [F]),
    "st_file_header_size": (c_u64, [F]),
    "st_file_data_offset": (c_u64, [F]),
    "st_file_data_size": (c_u64, [F]),
    "st_file_bytes": (vp, [F]),
    "st_file_leniency_used": (c_u32, [F]),
    "st_file_trailing_bytes": (c_u64, [F]),
    "st_tensor_count": (c_u64, [F]),
    "st_tensor_at": (T, [F, c_u64]),
    "st_tensor_find": (T, [F, cp]),
    "st_tensor_find_n": (T, [F, cp, ctypes.c_size_t]),
    "st_tensor_as_f32": (c_enum, [T, P(P(ctypes.c_float))]),
    "st_tensor_as_f64": (c_enum, [T, P(P(ctypes.c_double))]),
    "st_tensor_as_f16": (c_enum, [T, P(P(c_u16))]),
    "st_tensor_as_bf16": (c_enum, [T, P(P(c_u16))]),
    "st_tensor_as_c64": (c_enum, [T, P(P(ctypes.c_float))]),
    "st_tensor_as_i8": (c_enum, [T, P(P(ctypes.c_int8))]),
    "st_tensor_as_u8": (c_enum, [T, P(P(c_u8))]),
    "st_tensor_as_bool": (c_enum, [T, P(P(c_u8))]),
    "st_tensor_as_i16": (c_enum, [T, P(P(ctypes.c_int16))]),
    "st_tensor_as_u16": (c_enum, [T, P(P(c_u16))]),
    "st_tensor_as_i32": (c_enum, [T, P(P(ctypes.c_int32))]),
    "st_tensor_as_u32": (c_enum, [T, P(P(c_u32))]),
    "st_tensor_as_i64": (c_enum, [T, P(P(ctypes.c_int64))]),
    "st_tensor_as_u64": (c_enum, [T, P(P(c_u64))]),
    "st_tensor_view": (c_enum, [T, P(vp)]),
    "st_tensor_copy": (c_enum, [T, c_u64, vp, c_u64]),
    "st_tensor_copy_elements": (c_enum, [T, c_u64, c_u64, vp]),
    "st_tensor_file_alignment": (c_u64, [T]),
    "st_tensor_read": (c_enum, [F, T, c_u64, vp, c_u64, E]),
    "st_tensor_advise": (c_enum, [F, T, c_enum]),
    "st_tensor_prefetch": (c_enum, [F, T, E]),
    "st_tensor_slice_size": (c_enum, [T, c_u32, P(c_u64), P(c_u64), P(c_u64), E]),
    "st_tensor_read_slice": (c_enum, [F, T, c_u32, P(c_u64), P(c_u64), vp, c_u64, E]),
    "st_tensor_copy_slice": (c_enum, [T, c_u32, P(c_u64), P(c_u64), vp, c_u64, E]),
    "st_split_even": (c_enum, [c_u64, c_u32, c_u32, P(c_u64), P(c_u64)]),
    "st_convert_to_f32": (c_enum, [ctypes.c_int, vp, c_u64, c_u64, P(ctypes.c_float)]),
    "st_tensor_to_f32": (c_enum, [T, c_u64, c_u64, P(ctypes.c_float)]),
    "st_f32_to_bf16": (None, [P(ctypes.c_float), P(c_u16), ctypes.c_size_t]),
    "st_f32_to_f16": (None, [P(ctypes.c_float), P(c_u16), ctypes.c_size_t]),
    "st_model_open": (c_enum, [P(M), cp, P(st_model_options), E]),
    "st_model_metadata_count": (c_u64, [M]),
    "st_model_metadata_at": (P(st_metadata_entry), [M, c_u64]),
    "st_model_metadata_find": (P(st_metadata_entry), [M, cp]),
    "st_model_metadata_find_n": (P(st_metadata_entry), [M, cp, ctypes.c_size_t]),
    "st_model_open_storage": (c_enum, [P(M), P(st_model_storage), cp, P(st_model_options), E]),
    "st_model_close": (None, [M]),
    "st_model_tensor_count": (c_u64, [M]),
    "st_model_shard_count": (c_u64, [M]),
    "st_model_shard_name": (cp, [M, c_u64]),
    "st_model_entry_at": (P(st_model_entry), [M, c_u64]),
    "st_model_find": (P(st_model_entry), [M, cp]),
    "st_model_find_n": (P(st_model_entry), [M, cp, ctypes.c_size_t]),
    "st_model_acquire": (c_enum, [M, c_u64, P(F), E]),
    "st_model_release": (None, [M, c_u64]),
    "st_metadata_state_of": (c_enum, [F]),
    "st_metadata_count": (c_u64, [F]),
    "st_metadata_at": (P(st_metadata_entry), [F, c_u64]),
    "st_metadata_find": (P(st_metadata_entry), [F, cp]),
    "st_metadata_find_n": (P(st_metadata_entry), [F, cp, ctypes.c_size_t]),
    "st_write_file": (c_enum, [cp, P(st_tensor_spec), c_u64, P(st_metadata_entry), c_u64,
                               P(st_write_options), E]),
    "st_write_fd": (c_enum, [ctypes.c_int, P(st_tensor_spec), c_u64, P(st_metadata_entry), c_u64,
                             P(st_write_options), E]),
    "st_write_memory": (c_enum, [vp, c_u64, P(c_u64), P(st_tensor_spec), c_u64,
                                 P(st_metadata_entry), c_u64, P(st_write_options), E]),
    "st_write_sharded": (c_enum, [cp, cp, c_u64, P(st_tensor_spec), c_u64, P(st_metadata_entry),
                                  c_u64, P(st_write_options), P(c_u64), E]),
    "st_writer_begin_path": (c_enum, [P(P(st_writer)), cp, P(st_tensor_spec), c_u64,
                                      P(st_metadata_entry), c_u64, P(st_write_options), E]),
    "st_writer_begin_fd": (c_enum, [P(P(st_writer)), ctypes.c_int, P(st_tensor_spec), c_u64,
                                    P(st_metadata_entry), c_u64, P(st_write_options), E]),
    "st_writer_write": (c_enum, [P(st_writer), c_u64, c_u64, vp, c_u64, E]),
    "st_writer_tensor_offset": (c_u64, [P(st_writer), c_u64]),
    "st_writer_file_size": (c_u64, [P(st_writer)]),
    "st_writer_finish": (c_enum, [P(st_writer), E]),
    "st_writer_abort": (None, [P(st_writer)]),
    "st_alloc_cache_new": (c_enum, [P(P(st_alloc_cache)), P(st_allocator), E]),
    "st_alloc_cache_allocator": (P(st_allocator), [P(st_alloc_cache)]),
    "st_alloc_cache_close": (None, [P(st_alloc_cache)]),
    "st_version_number": (ctypes.c_uint, []),
    "st_version_string": (cp, []),
}

# Needed for anything to work; the rest are bound when the library has them.
_REQUIRED = (
    "st_status_name", "st_status_message", "st_dtype_name", "st_open_path", "st_close",
    "st_file_bytes", "st_tensor_count", "st_tensor_at", "st_tensor_find_n", "st_tensor_copy",
    "st_metadata_state_of", "st_metadata_count", "st_metadata_at", "st_version_string",
)


def _load_library():
    path = os.environ.get("ST_LIBRARY")
    if not path:
        path = ctypes.util.find_library("safetensors") or "libsafetensors.so.0"
    handle = ctypes.CDLL(path)
    missing = []
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(handle, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    absent = [n for n in _REQUIRED if n in missing]
    if absent:
        raise ImportError("%s lacks %s: not libsafetensors, or too old" % (path, ", ".join(absent)))
    handle.st_path = path
    handle.st_missing = frozenset(missing)
    return handle


lib = _load_library()


def has_function(name):
    """True when the loaded library exports `name` (newer functions may be missing)."""
    return name in _SIGNATURES and name not in lib.st_missing


def library_version():
    """The loaded library's version string, e.g. "0.1.0"."""
    return lib.st_version_string().decode("ascii")


# ---------------------------------------------------------------- errors


class SafetensorsError(Exception):
    """A libsafetensors failure.

    status  status name ("ST_E_JSON", ...)      code    its pinned number
    offset  absolute byte offset in the file, or None when not meaningful
    tensor  name of the tensor concerned, or None
    message the library's message (names the rule and the numbers)
    errno   errno of a failed system call (ST_E_IO), else 0
    path    the file, when known
    """

    def __init__(self, code, message, offset=None, tensor=None, errno=0, path=None,
                 tensor_truncated=False):
        self.code = int(code)
        self.status = lib.st_status_name(self.code).decode("ascii")
        self.message = message
        self.offset = offset
        self.tensor = tensor
        self.tensor_truncated = tensor_truncated
        self.errno = errno
        self.path = path
        text = "%s [%s]" % (message, self.status)
        if path is not None:
            text = "%s: %s" % (os.fsdecode(path), text)
        super().__init__(text)

    @classmethod
    def from_record(cls, err, path=None):
        flags = err.flags
        tensor = None
        if flags & ST_ERROR_HAS_TENSOR:
            tensor = err.tensor.decode("utf-8", "replace")  # may be cut mid-character
        return cls(err.code, err.message.decode("utf-8", "replace"),
                   offset=err.offset if flags & ST_ERROR_HAS_OFFSET else None,
                   tensor=tensor, errno=err.sys_errno, path=path,
                   tensor_truncated=bool(flags & ST_ERROR_TENSOR_TRUNCATED))

    @classmethod
    def from_status(cls, code, what, tensor=None, path=None):
        # Calls without an error record (st_tensor_copy, st_tensor_to_f32, ...).
        msg = "%s: %s" % (what, lib.st_status_message(int(code)).decode("utf-8", "replace"))
        return cls(code, msg, tensor=tensor, path=path)


# ---------------------------------------------------------------- handle ownership


class _Handle:
    """Owns one st_file*. st_close() runs when the last reference goes: the
    safe_open object holds one until it is closed, each mapped array's base
    object one, each get_slice() object one."""

    __slots__ = ("ptr", "_close", "__weakref__")

    def __init__(self, ptr):
        self.ptr = ptr
        self._close = lib.st_close  # kept: module globals may be gone at shutdown

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr:
            self._close(ptr)


class _MappedArray:
    """Hands numpy `shape` elements of `typestr` at `address` in the file image,
    read-only, through the array interface: the array's base is this object,
    which holds the handle owner for as long as any view of the data lives."""

    __slots__ = ("_owner", "__array_interface__")

    def __init__(self, owner, address, shape, typestr):
        self._owner = owner
        self.__array_interface__ = {"version": 3, "data": (address, True),
                                    "shape": shape, "typestr": typestr}


# ---------------------------------------------------------------- dtypes

_AS_FUNCS = {
    ST_BOOL: "st_tensor_as_bool", ST_U8: "st_tensor_as_u8", ST_I8: "st_tensor_as_i8",
    ST_I16: "st_tensor_as_i16", ST_U16: "st_tensor_as_u16", ST_F16: "st_tensor_as_f16",
    ST_BF16: "st_tensor_as_bf16", ST_I32: "st_tensor_as_i32", ST_U32: "st_tensor_as_u32",
    ST_F32: "st_tensor_as_f32", ST_C64: "st_tensor_as_c64", ST_F64: "st_tensor_as_f64",
    ST_I64: "st_tensor_as_i64", ST_U64: "st_tensor_as_u64",
}
_NP_DTYPES = {
    ST_BOOL: "?", ST_U8: "u1", ST_I8: "i1", ST_I16: "<i2", ST_U16: "<u2", ST_F16: "<f2",
    ST_BF16: "<u2", ST_I32: "<i4", ST_U32: "<u4", ST_F32: "<f4", ST_C64: "<c8",
    ST_F64: "<f8", ST_I64: "<i8", ST_U64: "<u8",
    ST_F8_E5M2: "u1", ST_F8_E4M3: "u1", ST_F8_E8M0: "u1", ST_F8_E4M3FNUZ: "u1",
    ST_F8_E5M2FNUZ: "u1",
}
_SUB_BYTE = (ST_F4, ST_F6_E2M3, ST_F6_E3M2)
_FRAMEWORKS = ("np", "numpy")


def _prod(dims):
    n = 1
    for d in dims:
        n *= d
    return n


class _Info:
    """What we need of one st_tensor, read once (the st_tensor* stays valid
    while the handle lives)."""

    __slots__ = ("ptr", "name", "dtype", "dtype_name", "shape", "numel", "nbytes", "offset",
                 "data", "begin", "end", "index")

    def __init__(self, ptr):
        t = ptr.contents
        self.ptr = ptr
        self.name = ctypes.string_at(t.name, t.name_len).decode("utf-8")
        self.dtype = t.dtype
        self.dtype_name = lib.st_dtype_name(t.dtype).decode("ascii")
        self.shape = tuple(t.shape[i] for i in range(t.rank))
        self.numel = t.numel
        self.nbytes = t.nbytes
        self.offset = t.offset
        self.data = t.data or 0
        self.begin = t.begin
        self.end = t.end
        self.index = t.index

    def raw_shape(self):
        """Shape of the raw array for this dtype (packed bytes for F4/F6)."""
        if self.dtype not in _SUB_BYTE:
            return self.shape
        bits = lib.st_dtype_bits(self.dtype)
        if self.shape and (self.shape[-1] * bits) % 8 == 0:
            return self.shape[:-1] + (self.shape[-1] * bits // 8,)
        return (self.nbytes,)


# ---------------------------------------------------------------- safe_open


class safe_open:
    """Opens and fully validates a safetensors file (see the module doc).

    safe_open(path, framework="np", device="cpu", *, allow_trailing=False,
              allow_nul_padding=False, max_header_size=0, read=False)

    read=True reads the file into memory instead of mapping it (network
    filesystems, files that may change while open).
    """

    def __init__(self, filename, framework="np", device="cpu", *, allow_trailing=False,
                 allow_nul_padding=False, max_header_size=0, read=False):
        if np is None:
            raise ImportError("safetensors_c needs numpy")
        if framework not in _FRAMEWORKS:
            raise ValueError("framework %r is not supported (only 'np')" % (framework,))
        if device != "cpu":
            raise ValueError("device %r is not supported (only 'cpu')" % (device,))
        self._handle = None
        self._infos = {}
        self._path = os.fsencode(filename)
        opts = st_open_options(ctypes.sizeof(st_open_options), 0, max_header_size, None)
        if allow_trailing:
            opts.flags |= ST_LENIENT_TRAILING_BYTES
        if allow_nul_padding:
            opts.flags |= ST_LENIENT_NUL_PADDING
        if read:
            opts.flags |= ST_OPEN_READ
        ptr = F()
        err = st_error()
        status = lib.st_open_path(ctypes.byref(ptr), self._path, ctypes.byref(opts),
                                  ctypes.byref(err))
        if status != ST_OK:
            raise SafetensorsError.from_record(err, path=self._path)
        self._handle = _Handle(ptr)

    # -- context and lifetime

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Drops this object's hold on the file. It is unmapped when no array
        from it remains."""
        self._handle = None
        self._infos = {}

    @property
    def closed(self):
        return self._handle is None

    def _ptr(self):
        if self._handle is None:
            raise ValueError("safe_open: operation on a closed file")
        return self._handle.ptr

    # -- listing

    def keys(self):
        """Tensor names, sorted."""
        return sorted(self.offset_keys())

    def offset_keys(self):
        """Tensor names in file order (by data_offsets)."""
        ptr = self._ptr()
        out = []
        for i in range(lib.st_tensor_count(ptr)):
            t = lib.st_tensor_at(ptr, i).contents
            out.append(ctypes.string_at(t.name, t.name_len).decode("utf-8"))
        return out

    def metadata(self):
        """__metadata__ as a dict in header order, or None when absent or null."""
        ptr = self._ptr()
        if lib.st_metadata_state_of(ptr) != ST_METADATA_OBJECT:
            return None
        out = {}
        for i in range(lib.st_metadata_count(ptr)):
            p = lib.st_metadata_at(ptr, i)
            if not p:  # entries are made on first use
                raise MemoryError("st_metadata_at: out of memory")
            e = p.contents
            out[ctypes.string_at(e.key, e.key_len).decode("utf-8")] = \
                ctypes.string_at(e.value, e.value_len).decode("utf-8")
        return out

    def leniency_used(self):
        """ST_LENIENT_* bits that were needed to accept the file (0 if none)."""
        return lib.st_file_leniency_used(self._ptr())

    def _info(self, name):
        ptr = self._ptr()
        info = self._infos.get(name)
        if info is None:
            try:
                raw = name.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no tensor has that name
                raw = b"\0"
            t = lib.st_tensor_find_n(ptr, raw, len(raw))
            if not t:
                raise SafetensorsError(ST_E_NOT_FOUND, "no tensor named %r" % (name,), tensor=name,
                                       path=self._path)
            info = self._infos[name] = _Info(t)
        return info

    def tensor_info(self, name):
        """dtype, shape, data_offsets, absolute offset, nbytes, file-order index."""
        i = self._info(name)
        return {"dtype": i.dtype_name, "shape": list(i.shape),
                "data_offsets": [i.begin, i.end], "offset": i.offset, "nbytes": i.nbytes,
                "index": i.index}

    # -- reading

    def get_tensor(self, name, to_float32=False):
        """The tensor as a read-only numpy array (see the module doc)."""
        info = self._info(name)
        if to_float32:
            return self._to_f32(info, 0, info.shape[0] if info.shape else 1, whole=True)
        return self._rows(info, None, None)

    def get_slice(self, name, to_float32=False):
        """A lazy slice: s[a:b] reads only rows a..b of the first dimension."""
        info = self._info(name)
        return _Slice(self._handle_or_raise(), info, to_float32, self._path)

    def _handle_or_raise(self):
        if self._handle is None:
            raise ValueError("safe_open: operation on a closed file")
        return self._handle

    def _rows(self, info, lo, hi):
        return _read_rows(self._handle_or_raise(), info, lo, hi, self._path)

    def _to_f32(self, info, lo, hi, whole=False):
        return _read_f32(self._handle_or_raise(), info, lo, hi, whole, self._path)


def _view_or_copy(handle, info, byte_off, size, np_dtype, shape, path):
    """size bytes from byte_off into the tensor: a view when the library says
    the tensor can be viewed in place, else a read-only copy."""
    if size == 0:
        out = np.empty(shape, dtype=np_dtype)
        out.flags.writeable = False
        return out
    if info.dtype in _AS_FUNCS:
        fn = getattr(lib, _AS_FUNCS[info.dtype])
        typed = fn.argtypes[1]._type_()  # e.g. const float *, NULL
        status = fn(info.ptr, ctypes.byref(typed))
    else:
        status = ST_OK  # F8 / F4 / F6 raw bytes: any address is byte-aligned
    if status == ST_OK:
        return np.asarray(_MappedArray(handle, info.data + byte_off, tuple(shape), np_dtype.str))
    if status not in (ST_E_MISALIGNED, ST_E_BYTE_ORDER):
        raise SafetensorsError.from_status(status, "reading %r" % info.name, info.name, path)
    out = np.empty(size, dtype=np.uint8)
    status = lib.st_tensor_copy(info.ptr, byte_off, out.ctypes.data, size)
    if status != ST_OK:
        raise SafetensorsError.from_status(status, "copying %r" % info.name, info.name, path)
    out = out.view(np_dtype).reshape(shape)
    out.flags.writeable = False
    return out


def _read_rows(handle, info, lo, hi, path):
    """Rows lo..hi of the first dimension of the raw array (all if lo is None)."""
    shape = info.raw_shape()
    np_dtype = np.dtype(_NP_DTYPES.get(info.dtype, "u1"))
    if lo is None:
        return _view_or_copy(handle, info, 0, info.nbytes, np_dtype, shape, path)
    row = _prod(shape[1:]) * np_dtype.itemsize
    return _view_or_copy(handle, info, lo * row, (hi - lo) * row, np_dtype,
                         (hi - lo,) + shape[1:], path)


def _read_f32(handle, info, lo, hi, whole, path):
    """Rows lo..hi (or the whole tensor) converted by st_tensor_to_f32."""
    if not has_function("st_tensor_to_f32"):
        raise NotImplementedError("%s has no st_tensor_to_f32" % lib.st_path)
    shape = info.shape if whole else (hi - lo,) + info.shape[1:]
    row = _prod(info.shape[1:])
    count = _prod(shape)
    out = np.empty(shape, dtype=np.float32)
    if count:
        # handle is alive here (the caller holds it), so info.ptr is valid.
        status = lib.st_tensor_to_f32(info.ptr, lo * row, count,
                                      out.ctypes.data_as(P(ctypes.c_float)))
        if status != ST_OK:
            raise SafetensorsError.from_status(status, "converting %r to float32" % info.name,
                                               info.name, path)
    out.flags.writeable = False
    return out


class _Slice:
    """safe_open.get_slice(): get_shape(), get_dtype(), and indexing whose
    first component (an int or a slice, any step) limits what is read."""

    def __init__(self, handle, info, to_float32, path):
        self._handle = handle  # a slice keeps the file mapped, like an array
        self._info = info
        self._f32 = to_float32
        self._path = path

    def get_shape(self):
        return list(self._info.shape)

    def get_dtype(self):
        return self._info.dtype_name

    def _read(self, lo, hi):
        if self._f32:
            return _read_f32(self._handle, self._info, lo, hi, False, self._path)
        return _read_rows(self._handle, self._info, lo, hi, self._path)

    def _full(self):
        if self._f32:
            return _read_f32(self._handle, self._info, 0, 0, True, self._path)
        return _read_rows(self._handle, self._info, None, None, self._path)

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            if not key:
                return self._full()
            key, rest = key[0], key[1:]
        raw = self._info.raw_shape() if not self._f32 else self._info.shape
        if not raw or key is Ellipsis or key is None or not isinstance(key, slice) \
                and not hasattr(key, "__index__"):
            full = self._full()
            return full[(key,) + rest]
        n = raw[0]
        if isinstance(key, slice):
            r = range(*key.indices(n))
            if len(r) == 0:
                return self._read(0, 0)[(slice(None),) + rest]
            lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
            part = self._read(lo, hi)
            stop = r.stop - lo
            local = slice(r.start - lo, stop if stop >= 0 else None, r.step)
            return part[(local,) + rest]
        i = operator.index(key)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("index %d is out of bounds for axis 0 with size %d" % (key, n))
        return self._read(i, i + 1)[(0,) + rest]


def load_file(filename):
    """{name: read-only array} for every tensor (views where possible)."""
    with safe_open(filename, framework="np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


# ---------------------------------------------------------------- writing

# numpy dtype -> st_dtype for the writer (bfloat16 and float8 when ml_dtypes
# provides them: their numpy names).
_NP_TO_ST = {
    "bool": ST_BOOL, "uint8": ST_U8, "int8": ST_I8, "int16": ST_I16, "uint16": ST_U16,
    "float16": ST_F16, "int32": ST_I32, "uint32": ST_U32, "float32": ST_F32,
    "complex64": ST_C64, "float64": ST_F64, "int64": ST_I64, "uint64": ST_U64,
    "bfloat16": ST_BF16, "float8_e4m3fn": ST_F8_E4M3, "float8_e5m2": ST_F8_E5M2,
    "float8_e8m0fnu": ST_F8_E8M0, "float8_e4m3fnuz": ST_F8_E4M3FNUZ,
    "float8_e5m2fnuz": ST_F8_E5M2FNUZ,
}


def _write_args(tensor_dict, metadata):
    """(specs, count, entries, nmeta, keep-alive list) for the st_write_* calls."""
    if not isinstance(tensor_dict, dict):
        raise TypeError("tensors must be a dict of name -> numpy array")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError("metadata must be a dict of str -> str or None")
    keep = []
    specs = (st_tensor_spec * max(len(tensor_dict), 1))()
    for i, (name, arr) in enumerate(tensor_dict.items()):
        if not isinstance(name, str):
            raise TypeError("tensor names must be str, not %s" % type(name).__name__)
        a = np.asarray(arr)
        code = _NP_TO_ST.get(a.dtype.name)
        if code is None:
            raise ValueError("tensor %r: numpy dtype %s has no safetensors dtype" % (name, a.dtype))
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        if not a.flags.c_contiguous:
            a = a.copy(order="C")  # not ascontiguousarray: it makes scalars 1-D
        nb = name.encode("utf-8")
        shape = (c_u64 * max(a.ndim, 1))(*a.shape)
        keep += [a, nb, shape]
        specs[i].name = ctypes.cast(ctypes.c_char_p(nb), ctypes.c_void_p)
        specs[i].name_len = len(nb)
        specs[i].dtype = code
        specs[i].rank = a.ndim
        specs[i].shape = shape
        specs[i].data = a.ctypes.data if a.nbytes else None
    entries, nmeta = None, 0
    if metadata is not None:
        entries = (st_metadata_entry * max(len(metadata), 1))()
        for i, (k, v) in enumerate(metadata.items()):
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("metadata must map str to str; got %s -> %s"
                                % (type(k).__name__, type(v).__name__))
            kb, vb = k.encode("utf-8"), v.encode("utf-8")
            keep += [kb, vb]
            entries[i].key = ctypes.cast(ctypes.c_char_p(kb), ctypes.c_void_p)
            entries[i].key_len = len(kb)
            entries[i].value = ctypes.cast(ctypes.c_char_p(vb), ctypes.c_void_p)
            entries[i].value_len = len(vb)
        nmeta = len(metadata)
    return specs, len(tensor_dict), entries, nmeta, keep


def save_file(tensor_dict, filename, metadata=None):
    """Writes tensor_dict ({name: numpy array}) to filename in the reference's
    layout, atomically (a temporary file renamed over it). None."""
    specs, n, entries, nmeta, keep = _write_args(tensor_dict, metadata)
    err = st_error()
    path = os.fsencode(filename)
    s = lib.st_write_file(path, specs, n, entries, nmeta, None, ctypes.byref(err))
    del keep
    if s != ST_OK:
        raise SafetensorsError.from_record(err, path=path)


def save(tensor_dict, metadata=None):
    """The bytes of a safetensors file of tensor_dict, in the reference's layout."""
    specs, n, entries, nmeta, keep = _write_args(tensor_dict, metadata)
    err = st_error()
    size = c_u64(0)
    s = lib.st_write_memory(None, 0, ctypes.byref(size), specs, n, entries, nmeta, None,
                            ctypes.byref(err))
    if s != ST_OK:
        raise SafetensorsError.from_record(err)
    out = bytearray(size.value)
    buf = (ctypes.c_char * len(out)).from_buffer(out) if out else None
    s = lib.st_write_memory(buf, size.value, ctypes.byref(size), specs, n, entries, nmeta, None,
                            ctypes.byref(err))
    del buf, keep
    if s != ST_OK:
        raise SafetensorsError.from_record(err)
    return bytes(out)
