"""The same tensors written by the independent writer (conftest.build) and by
the C writer (safetensors_c.numpy.save): every reading API gives the same
result on both."""

import numpy as np
import pytest

from safetensors_c import deserialize, safe_open
from safetensors_c.numpy import load, load_file, save

from conftest import build, parse

T = {"emb": np.arange(40, dtype="<f4").reshape(8, 5),
     "ids": np.array([3, 1, 4, 1, 5], dtype="<i8"),
     "mask": np.array([[True, False], [False, True]]),
     "half": np.linspace(-2, 2, 6).astype("<f2").reshape(2, 3)}
META = {"writer": "test"}
DTYPES = {"emb": "F32", "ids": "I64", "mask": "BOOL", "half": "F16"}


def independent():
    return build([(k, DTYPES[k], v.shape, v.tobytes()) for k, v in T.items()], metadata=META)


def c_writer():
    return save(T, metadata=META)


@pytest.fixture(params=["independent", "c-writer"])
def data(request):
    return independent() if request.param == "independent" else c_writer()


def test_same_tensors_in_the_bytes():
    a, b = parse(independent()), parse(c_writer())
    assert a[0]["__metadata__"] == b[0]["__metadata__"] == META
    assert a[1] == b[1]


def test_every_reader(data, writer):
    path = writer(data)
    order = [n for n, _ in deserialize(data)]
    assert sorted(order) == sorted(T)
    for got in (load_file(path), load(data), load_file(path, backend="pread"),
                load_file(path, copy=True)):
        assert list(got) == order
        for k, v in T.items():
            assert got[k].dtype == v.dtype
            np.testing.assert_array_equal(got[k], v)
    with safe_open(path, "np") as f:
        assert f.keys() == sorted(T)
        assert f.offset_keys() == order
        assert f.metadata() == META
        np.testing.assert_array_equal(f.get_slice("emb")[2:7:2, -2:], T["emb"][2:7:2, -2:])
        np.testing.assert_array_equal(f.get_slice("mask")[:, 1], T["mask"][:, 1])
        assert f.get_slice("half").get_dtype() == "F16"
        np.testing.assert_array_equal(f.get_tensor("half", to_float32=True),
                                      T["half"].astype(np.float32))
    for name, d in deserialize(data):
        assert bytes(d["data"]) == T[name].tobytes() and d["dtype"] == DTYPES[name]
    with open(path, "rb") as fp, safe_open(fp, "np") as f:
        np.testing.assert_array_equal(f.get_tensor("ids"), T["ids"])
