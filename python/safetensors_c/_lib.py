"""ctypes declarations of libsafetensors (include/safetensors.h) and the
loading of the library.

Search order: $ST_LIBRARY (a path); the libsafetensors.so.0 built into this
package at install time; with $ST_USE_SYSTEM_LIBRARY=1 or when the package has
none, the system's (ctypes.util.find_library("safetensors"), else
"libsafetensors.so.0" through the dynamic loader).
"""
# pylint: disable=invalid-name

import ctypes
import ctypes.util
import os

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
    "st_status_name", "st_status_message", "st_dtype_name", "st_open_path", "st_open_memory",
    "st_open_reader", "st_close", "st_tensor_count", "st_tensor_at", "st_tensor_find_n",
    "st_tensor_view", "st_tensor_copy", "st_tensor_read", "st_tensor_read_slice",
    "st_convert_to_f32", "st_metadata_state_of", "st_metadata_count", "st_metadata_at",
    "st_write_memory", "st_write_file", "st_model_open", "st_version_string",
)

_HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED = os.path.join(_HERE, "libsafetensors.so.0")


def _candidates():
    env = os.environ.get("ST_LIBRARY")
    if env:
        return [env]
    system = ctypes.util.find_library("safetensors") or "libsafetensors.so.0"
    if os.environ.get("ST_USE_SYSTEM_LIBRARY") == "1" or not os.path.exists(BUNDLED):
        return [system]
    return [BUNDLED]


def _load_library():
    path = _candidates()[0]
    try:
        handle = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("safetensors_c: cannot load libsafetensors (%s): %s; reinstall the "
                          "package (pip install ./python) or set ST_LIBRARY" % (path, e)) from e
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
        raise ImportError("safetensors_c: %s lacks %s: not libsafetensors, or too old"
                          % (path, ", ".join(absent)))
    handle.st_path = path
    handle.st_missing = frozenset(missing)
    return handle


lib = _load_library()
