"""serialize, serialize_file, deserialize, TensorSpec, the streaming writer
and the sharded writer: the C writer's files checked by the independent
parser of conftest, and the independent writer's files by deserialize."""

import json
import os

import numpy as np
import pytest

from safetensors_c import (SafetensorError, StreamWriter, TensorSpec, deserialize, safe_open,
                           save_sharded, serialize, serialize_file)
from safetensors_c.numpy import load_file

from conftest import build, parse


def spec(a):
    return TensorSpec(dtype=a.dtype.name, shape=a.shape, data_ptr=a.ctypes.data,
                      data_len=a.nbytes)


def test_serialize_tensorspec():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([7, 8], dtype=np.uint16)
    out = serialize({"a": spec(a), "b": spec(b)}, metadata={"m": "1"})
    assert isinstance(out, bytes)
    header, t = parse(out)
    assert header["__metadata__"] == {"m": "1"}
    assert t["a"] == ("F32", [2, 3], a.tobytes()) and t["b"] == ("U16", [2], b.tobytes())
    s = spec(a)
    assert s.dtype == "F32" and s.shape == [2, 3] and s.data_len == 24
    assert "TensorSpec(" in repr(s)


def test_serialize_dict_with_data_bytes():
    out = serialize({"x": {"dtype": "int16", "shape": [2], "data": b"\x01\x00\x02\x00"},
                     "y": {"dtype": "F64", "shape": [], "data": np.float64(1.5).tobytes()}})
    _, t = parse(out)
    assert t["x"] == ("I16", [2], b"\x01\x00\x02\x00")
    assert t["y"][0:2] == ("F64", [])


def test_serialize_errors():
    with pytest.raises(SafetensorError):
        TensorSpec(dtype="float128", shape=[1], data_ptr=0, data_len=16)
    with pytest.raises(SafetensorError) as e:
        serialize({"x": {"dtype": "uint8", "shape": [3], "data": b"\x00"}})
    assert e.value.tensor == "x"
    with pytest.raises(SafetensorError):
        serialize({"x": {"shape": [1], "data": b"\x00"}})
    with pytest.raises(TypeError):
        serialize({"x": {"dtype": "uint8", "shape": [1], "data": b"\0"}}, metadata=["no"])


def test_reference_layout_order():
    a8 = np.zeros(1, np.uint8)
    f32 = np.zeros(1, np.float32)
    f64 = np.zeros(1, np.float64)
    out = serialize({"z": spec(a8), "b": spec(f32), "a": spec(f32), "c": spec(f64)})
    n = int.from_bytes(out[:8], "little")
    header = json.loads(out[8:8 + n])
    order = sorted((v["data_offsets"][0], k) for k, v in header.items())
    assert [k for _, k in order] == ["c", "a", "b", "z"]  # dtype descending, then name
    kept = serialize({"z": spec(a8), "b": spec(f32)}, keep_order=True)
    assert json.loads(kept[8:8 + int.from_bytes(kept[:8], "little")])["z"]["data_offsets"] == [0, 1]
    aligned = serialize({"z": spec(a8)}, alignment=4096)
    assert (8 + int.from_bytes(aligned[:8], "little")) % 4096 == 0


def test_serialize_file_and_reread(tmp_path):
    a = np.arange(10, dtype=np.int64)
    p = str(tmp_path / "s.safetensors")
    assert serialize_file({"a": spec(a)}, p, metadata={"k": "v"}) is None
    with open(p, "rb") as fp:
        assert parse(fp.read())[1]["a"] == ("I64", [10], a.tobytes())
    with pytest.raises(FileNotFoundError):
        serialize_file({"a": spec(a)}, str(tmp_path / "no" / "dir.safetensors"))


def test_deserialize_independent_file():
    a = np.arange(4, dtype="<f4")
    data = build([("w", "F32", [2, 2], a.tobytes()), ("b", "U8", [1], b"\x09")],
                 metadata={"x": "y"})
    got = deserialize(data)
    assert isinstance(got, list)
    assert [n for n, _ in got] == ["w", "b"]
    name, d = got[0]
    assert d["shape"] == [2, 2] and d["dtype"] == "F32" and bytes(d["data"]) == a.tobytes()
    assert isinstance(d["data"], bytearray)
    with pytest.raises(SafetensorError):
        deserialize(b"\x00\x00")


def test_stream_writer(tmp_path):
    a = np.arange(1000, dtype=np.float32)
    p = str(tmp_path / "stream.safetensors")
    with StreamWriter(p, [("a", "F32", [1000]), ("b", "U8", [3])], {"m": "x"}) as w:
        w.write("a", 2000, a[500:].tobytes())
        w.write("b", 0, b"xyz")
        w.write("a", 0, a[:500].tobytes())
        assert w.tensor_offset("a") > 8
    got = load_file(p)
    np.testing.assert_array_equal(got["a"], a)
    assert bytes(got["b"]) == b"xyz"
    q = str(tmp_path / "incomplete.safetensors")
    with pytest.raises(SafetensorError) as e:
        with StreamWriter(q, [("a", "U8", [4])]) as w:
            w.write("a", 0, b"ab")
    assert e.value.status == "ST_E_INCOMPLETE"
    assert not os.path.exists(q)
    with pytest.raises(SafetensorError) as e:
        with StreamWriter(q, [("a", "U8", [4])]) as w:
            w.write("a", 0, b"ab")
            w.write("a", 1, b"cd")
    assert e.value.status == "ST_E_WRITTEN_TWICE"


def test_sharded_write_and_read(tmp_path):
    arrays = {"l%d.w" % i: np.full((64,), i, dtype=np.float32) for i in range(6)}
    d = str(tmp_path)
    n = save_sharded(arrays, d, max_shard_size=600, metadata={"fmt": "pt"})
    assert n >= 2
    index = os.path.join(d, "model.safetensors.index.json")
    assert os.path.exists(index)
    for src in (d, index):
        with safe_open(src, "np") as f:
            assert f.keys() == sorted(arrays)
            assert sorted(f.offset_keys()) == sorted(arrays)
            assert f.metadata()["total_size"] == str(6 * 64 * 4)
            for k, v in arrays.items():
                np.testing.assert_array_equal(f.get_tensor(k), v)
            np.testing.assert_array_equal(f.get_slice("l3.w")[::8], arrays["l3.w"][::8])
            kept = f.get_tensor("l0.w")
    np.testing.assert_array_equal(kept, arrays["l0.w"])  # shard pinned by the array
    got = load_file(index)
    assert set(got) == set(arrays)


def test_sharded_errors(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "../evil.safetensors"}}))
    with pytest.raises(SafetensorError) as e:
        safe_open(str(d), "np")
    assert e.value.status == "ST_E_NAME"
