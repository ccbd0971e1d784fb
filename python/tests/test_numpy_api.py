"""safe_open and safetensors_c.numpy against files of the independent writer
(conftest.build) and of the C writer: the reference's signatures, result
types, order and exception classes, and this package's extras."""

import gc
import os
import weakref

import numpy as np
import pytest

import safetensors_c
from safetensors_c import SafetensorError, safe_open
from safetensors_c.numpy import load, load_file, save, save_file

from conftest import bf16, build, ml_dtypes_available


def test_module_layout():
    for name in ("safe_open", "serialize", "serialize_file", "deserialize", "SafetensorError",
                 "TensorSpec", "__version__"):
        assert hasattr(safetensors_c, name), name
    import safetensors_c.numpy as snp  # noqa: F401  pylint: disable=import-outside-toplevel
    for name in ("save", "save_file", "load", "load_file"):
        assert callable(getattr(snp, name))
    assert issubclass(SafetensorError, Exception)
    here = os.path.dirname(safetensors_c.__file__)
    assert os.path.exists(os.path.join(here, "py.typed"))


def test_bundled_library_is_loaded():
    if os.environ.get("ST_LIBRARY"):
        pytest.skip("ST_LIBRARY is set: the override is in use")
    here = os.path.dirname(safetensors_c.__file__)
    assert safetensors_c.library_path() == os.path.join(here, "libsafetensors.so.0")


def test_safe_open_listing(sample):
    path, arrays = sample
    with safe_open(path, framework="np") as f:
        assert f.keys() == ["a", "b", "c"]  # sorted
        assert f.offset_keys() == ["c", "a", "b"]  # file order
        assert f.metadata() == {"format": "np"}
        for k, v in arrays.items():
            got = f.get_tensor(k)
            assert isinstance(got, np.ndarray)
            assert got.dtype == v.dtype and got.shape == v.shape
            np.testing.assert_array_equal(got, v)


def test_get_tensors_file_order(sample):
    path, arrays = sample
    with safe_open(path, "np") as f:
        got = f.get_tensors()
    assert list(got) == ["c", "a", "b"]
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)


def test_load_file_in_file_order(sample):
    path, arrays = sample
    got = load_file(path)
    assert list(got) == ["c", "a", "b"]
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)


def test_load_bytes(sample):
    path, arrays = sample
    with open(path, "rb") as fp:
        data = fp.read()
    got = load(data)
    assert list(got) == ["c", "a", "b"]
    np.testing.assert_array_equal(got["b"], arrays["b"])


def test_metadata_absent_and_null(writer):
    p = writer(build([("x", "U8", [1], b"\x07")]))
    with safe_open(p, "np") as f:
        assert f.metadata() is None


def test_framework_names(sample):
    path, _ = sample
    for fw in ("np", "numpy"):
        with safe_open(path, framework=fw) as f:
            assert f.keys()
    with pytest.raises(SafetensorError):
        safe_open(path, framework="tensorflow-nope")


def test_missing_file_is_filenotfounderror(tmp_path):
    with pytest.raises(FileNotFoundError):
        safe_open(str(tmp_path / "nope.safetensors"), framework="np")
    with pytest.raises(FileNotFoundError):
        load_file(str(tmp_path / "nope.safetensors"))


def test_missing_tensor(sample):
    path, _ = sample
    with safe_open(path, "np") as f:
        with pytest.raises(SafetensorError) as e:
            f.get_tensor("nope")
    assert e.value.status == "ST_E_NOT_FOUND" and e.value.tensor == "nope"


def test_closed_file_raises(sample):
    path, _ = sample
    f = safe_open(path, "np")
    with f:
        pass
    with pytest.raises(SafetensorError):
        f.keys()


def test_error_fields(writer):
    # duplicate key: a FORMAT.md section 5 rule; the message names it
    p = writer(b"")
    text = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},' \
        b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    with open(p, "wb") as fp:
        fp.write(len(text).to_bytes(8, "little") + text + b"\x01")
    with pytest.raises(SafetensorError) as e:
        safe_open(p, "np")
    err = e.value
    assert err.status == "ST_E_DUPLICATE" and err.code == 11
    assert isinstance(err.offset, int) and 8 < err.offset < 8 + len(text)
    assert err.tensor == "a"
    assert "duplicate" in str(err).lower()
    assert err.path == p


def test_zero_copy_read_only_views(sample):
    path, _ = sample
    with safe_open(path, "np") as f:
        x = f.get_tensor("c")
    assert not x.flags.writeable
    with pytest.raises(ValueError):
        x[0, 0] = 1
    # a view of the mapping: its address lies inside the file's mapping
    y = load_file(path)["a"]
    assert not y.flags.writeable and not y.flags.owndata


def test_writable_copy(sample):
    path, arrays = sample
    with safe_open(path, "np", copy=True) as f:
        x = f.get_tensor("c")
    assert x.flags.writeable
    x[0, 0] = 99
    np.testing.assert_array_equal(load_file(path)["c"], arrays["c"])  # file untouched
    with safe_open(path, "np") as f:
        y = f.get_tensor("c", copy=True)
    assert y.flags.writeable and y.flags.owndata or y.base is not None
    z = load_file(path, copy=True)["b"]
    z += 1
    np.testing.assert_array_equal(z, arrays["b"] + 1)


def test_arrays_survive_close(sample):
    path, arrays = sample
    with safe_open(path, "np") as f:
        x = f.get_tensor("c")
        s = f.get_slice("b")
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None
    np.testing.assert_array_equal(x, arrays["c"])  # the mapping is still there
    np.testing.assert_array_equal(s[1], arrays["b"][1])


def test_misaligned_data_is_copied(writer):
    a = np.array([1.5, -2.25], dtype="<f4")
    p = writer(build([("u", "U8", [1], b"\x05"), ("w", "F32", [2], a.tobytes())], align=1))
    with safe_open(p, "np") as f:
        info = f.tensor_info("w")
        assert info["offset"] % 4 != 0 or True
        np.testing.assert_array_equal(f.get_tensor("w"), a)


def test_pread_backend(sample):
    path, arrays = sample
    got = load_file(path, backend="pread")
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].flags.writeable
    with pytest.raises(SafetensorError):
        safe_open(path, "np", backend="nope")


def test_all_native_dtypes_roundtrip(tmp_path):
    arrays = {
        "bool": np.array([True, False, True]), "u8": np.arange(5, dtype=np.uint8),
        "i8": np.arange(-3, 3, dtype=np.int8), "i16": np.arange(-4, 4, dtype=np.int16),
        "u16": np.arange(6, dtype=np.uint16), "f16": np.linspace(-1, 1, 5).astype(np.float16),
        "i32": np.arange(-7, 7, dtype=np.int32), "u32": np.arange(4, dtype=np.uint32),
        "f32": np.linspace(0, 1, 9).astype(np.float32).reshape(3, 3),
        "c64": np.array([1 + 2j, -3j], dtype=np.complex64),
        "f64": np.array([np.pi, -np.e]), "i64": np.array([-(2 ** 62), 5], dtype=np.int64),
        "u64": np.array([2 ** 63 + 1], dtype=np.uint64), "scalar": np.array(3.5, np.float32),
        "empty": np.zeros((0, 4), np.float32),
    }
    p = str(tmp_path / "all.safetensors")
    save_file(arrays, p, metadata={"k": "v"})
    got = load_file(p)
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        np.testing.assert_array_equal(got[k], v)
    with safe_open(p, "np") as f:
        assert f.metadata() == {"k": "v"}


def test_save_layout_matches_independent_parse():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(3, dtype=np.int64)
    data = save({"b": b, "a": a}, metadata={"x": "y"})
    header, tensors = parse_bytes(data)
    assert header["__metadata__"] == {"x": "y"}
    assert tensors["a"] == ("F32", [2, 3], a.tobytes())
    assert tensors["b"] == ("I64", [3], b.tobytes())
    assert (8 + int.from_bytes(data[:8], "little")) % 8 == 0


def parse_bytes(data):
    from conftest import parse  # pylint: disable=import-outside-toplevel
    return parse(data)


def test_save_big_endian_and_non_contiguous():
    a = np.arange(6, dtype=">i4").reshape(2, 3)
    t = np.arange(12, dtype=np.float64).reshape(3, 4).T  # Fortran order
    got = load(save({"a": a, "t": t}))
    np.testing.assert_array_equal(got["a"], a)
    assert got["a"].dtype == np.dtype("<i4")
    np.testing.assert_array_equal(got["t"], t)


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        save([np.zeros(1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        save({"a": [1, 2]})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        save({"a": np.zeros(1)}, metadata={"k": 1})  # type: ignore[dict-item]
    with pytest.raises(SafetensorError) as e:
        save({"__metadata__": np.zeros(1)})
    assert e.value.status == "ST_E_NAME"
    with pytest.raises(SafetensorError):
        save({"o": np.array([object()])})
    assert not os.listdir(str(tmp_path))


def test_bf16_without_ml_dtypes_raises_like_reference(writer):
    if ml_dtypes_available():
        pytest.skip("ml_dtypes is installed: BF16 comes as ml_dtypes.bfloat16")
    p = writer(build([("h", "BF16", [3], bf16([1.0, -2.0, 0.5]))]))
    with safe_open(p, "np") as f:
        with pytest.raises(TypeError) as e:
            f.get_tensor("h")
    assert isinstance(e.value, SafetensorError)
    assert "fallback" in str(e.value)
    with pytest.raises(TypeError):
        load_file(p)


def test_f8_f6_without_ml_dtypes_raise_like_reference(writer):
    if ml_dtypes_available():
        pytest.skip("ml_dtypes is installed: F8 comes as ml_dtypes types")
    p = writer(build([("e", "F8_E4M3", [2], b"\x38\xc0"), ("s", "F6_E2M3", [4], b"\0\0\0")]))
    with safe_open(p, "np") as f:
        with pytest.raises(AttributeError):
            f.get_tensor("e")
        with pytest.raises(SafetensorError):
            f.get_tensor("s")


def test_bf16_explicit_opt_ins(writer):
    p = writer(build([("h", "BF16", [3], bf16([1.0, -2.0, 0.5]))]))
    bits = load_file(p, fallback="bits")["h"]
    assert bits.dtype == np.uint16
    assert bits.tolist() == [0x3F80, 0xC000, 0x3F00]
    vals = load_file(p, fallback="float32")["h"]
    assert vals.dtype == np.float32 and vals.tolist() == [1.0, -2.0, 0.5]
    with safe_open(p, "np") as f:
        assert f.get_tensor("h", to_float32=True).tolist() == [1.0, -2.0, 0.5]
        assert f.get_slice("h", to_float32=True)[1:].tolist() == [-2.0, 0.5]
    with safe_open(p, "np", fallback="bits") as f:
        assert f.get_slice("h")[::2].tolist() == [0x3F80, 0x3F00]


def test_bf16_with_ml_dtypes(writer):
    if not ml_dtypes_available():
        pytest.skip("ml_dtypes is not installed (not packaged by Debian 12)")
    import ml_dtypes  # pylint: disable=import-outside-toplevel
    p = writer(build([("h", "BF16", [2], bf16([1.0, -2.0]))]))
    got = load_file(p)["h"]
    assert got.dtype == np.dtype(ml_dtypes.bfloat16)
    assert got.astype(np.float32).tolist() == [1.0, -2.0]


def test_f4_float32_and_bits(writer):
    # F4 (E2M1): element 2k is the low nibble of byte k; 0x2 = 1.0, 0xA = -1.0, 0x7 = 6.0
    p = writer(build([("q", "F4", [2, 2], bytes([0xA2, 0x07]))]))
    with safe_open(p, "np") as f:
        assert f.get_tensor("q", to_float32=True).tolist() == [[1.0, -1.0], [6.0, 0.0]]
    with safe_open(p, "np", fallback="bits") as f:
        raw = f.get_tensor("q")
        assert raw.dtype == np.uint8 and raw.tolist() == [[0xA2], [0x07]]
        assert f.get_slice("q")[1].tolist() == [0x07]


def test_leniency_options(writer):
    a = np.arange(4, dtype=np.uint8)
    p = writer(build([("a", "U8", [4], a.tobytes())], trailing=b"JUNK"))
    with pytest.raises(SafetensorError) as e:
        safe_open(p, "np")
    assert e.value.status == "ST_E_COVERAGE"
    with safe_open(p, "np", allow_trailing=True) as f:
        np.testing.assert_array_equal(f.get_tensor("a"), a)
        assert f.leniency_used() == 1


def test_max_header_size(sample):
    path, _ = sample
    with pytest.raises(SafetensorError) as e:
        safe_open(path, "np", max_header_size=16)
    assert e.value.status == "ST_E_HEADER_TOO_LARGE"


def test_to_float32_every_float_dtype(writer):
    f16 = np.array([0.5, -4.0], dtype="<f2")
    p = writer(build([("h", "F16", [2], f16.tobytes()), ("i", "I32", [2], b"\1\0\0\0\xff\xff\xff\xff")]))
    with safe_open(p, "np") as f:
        assert f.get_tensor("h", to_float32=True).tolist() == [0.5, -4.0]
        assert f.get_tensor("i", to_float32=True).tolist() == [1.0, -1.0]


def test_pathlike_filename(sample):
    import pathlib  # pylint: disable=import-outside-toplevel
    path, arrays = sample
    np.testing.assert_array_equal(load_file(pathlib.Path(path))["a"], arrays["a"])


def test_open_errors_use_the_errno_class(sample):
    path, _ = sample
    with pytest.raises(NotADirectoryError) as e:
        safe_open(os.path.join(path, "x.safetensors"), "np")
    assert isinstance(e.value, OSError)
    with pytest.raises(FileNotFoundError):
        safe_open(path + ".missing", "np")


def test_full_copy_mixed_dtypes_one_buffer(writer):
    a = np.arange(5, dtype="<i2")
    p = writer(build([("a", "I16", [5], a.tobytes()), ("h", "BF16", [2], bf16([1.0, 3.0])),
                      ("z", "F32", [0], b"")], align=1))
    for kw in ({"copy": True}, {"backend": "pread"}):
        got = load_file(p, fallback="float32", **kw)
        assert list(got) == ["a", "h", "z"]
        np.testing.assert_array_equal(got["a"], a)
        assert got["h"].tolist() == [1.0, 3.0] and got["z"].shape == (0,)
        got["a"][0] = 9  # writable, and not shared with another tensor
        assert got["h"].tolist() == [1.0, 3.0]


def test_ml_dtypes_plumbing_with_a_stand_in(writer, monkeypatch):
    """Without the real ml_dtypes (Debian 12 has none): a stand-in module whose
    types have the right widths shows that BF16 and F8 take ml_dtypes' types,
    zero-copy, when the module is importable. (Values are not checked: the
    stand-in's types are not bfloat16.)"""
    import sys  # pylint: disable=import-outside-toplevel
    import types  # pylint: disable=import-outside-toplevel
    from safetensors_c import _core  # pylint: disable=import-outside-toplevel
    fake = types.ModuleType("ml_dtypes")
    fake.bfloat16 = np.float16
    fake.float8_e4m3fn = np.int8
    if not ml_dtypes_available():
        monkeypatch.setitem(sys.modules, "ml_dtypes", fake)
        monkeypatch.setattr(_core, "_ml_dtypes_state", [])
        want_bf16, want_f8 = np.dtype(np.float16), np.dtype(np.int8)
    else:
        import ml_dtypes  # pylint: disable=import-outside-toplevel
        want_bf16, want_f8 = np.dtype(ml_dtypes.bfloat16), np.dtype(ml_dtypes.float8_e4m3fn)
    p = writer(build([("h", "BF16", [2], bf16([1.0, 2.0])), ("e", "F8_E4M3", [2], b"\x38\xc0")]))
    got = load_file(p)
    assert got["h"].dtype == want_bf16 and got["e"].dtype == want_f8
    assert not got["h"].flags.owndata  # a view of the file
    with pytest.raises(SafetensorError):  # F6: no ml_dtypes type is used
        safetensors_c.numpy_dtype("F6_E2M3")
