"""Remote reading: safe_open over a file-like object or a callable (the C
library's st_open_reader with st_reader callbacks): only the header is read
at open, tensors and slices when asked."""

import io

import numpy as np
import pytest

from safetensors_c import SafetensorError, safe_open

from conftest import build

W = np.arange(64, dtype="<f4").reshape(8, 8)
DATA = build([("w", "F32", W.shape, W.tobytes()), ("b", "I8", [3], b"\x01\x02\x03")],
             metadata={"src": "remote"})


class Counting(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.reads = []

    def read(self, size=-1):
        self.reads.append((self.tell(), size))
        return super().read(size)


def test_file_like_reads_only_what_is_asked():
    src = Counting(DATA)
    with safe_open(src, "np") as f:
        assert f.keys() == ["b", "w"]
        assert f.metadata() == {"src": "remote"}
        header_reads = len(src.reads)
        assert header_reads <= 2
        np.testing.assert_array_equal(f.get_tensor("w"), W)
        assert f.get_tensor("w").flags.writeable
        np.testing.assert_array_equal(f.get_slice("w")[2:4, ::2], W[2:4, ::2])
        assert f.get_tensor("b").tolist() == [1, 2, 3]
    assert len(src.reads) > header_reads


def test_callable_source():
    calls = []

    def fetch(offset, size):
        calls.append((offset, size))
        return DATA[offset:offset + size]

    with safe_open(fetch, "np", size=len(DATA)) as f:
        np.testing.assert_array_equal(f.get_tensor("w"), W)
        assert f.get_tensor("w", to_float32=True).dtype == np.float32
    assert calls[0] == (0, 8)
    with pytest.raises(TypeError):
        safe_open(fetch, "np")  # size is needed


def test_callback_exception_is_the_cause():
    def fetch(offset, size):
        if offset > 100:
            raise ConnectionError("network down")
        return DATA[offset:offset + size]

    with safe_open(fetch, "np", size=len(DATA)) as f:
        with pytest.raises(SafetensorError) as e:
            f.get_tensor("w")
    assert e.value.status == "ST_E_IO"
    assert isinstance(e.value.__cause__, ConnectionError)


def test_short_source_and_bad_header():
    with pytest.raises(SafetensorError) as e:
        safe_open(lambda o, n: DATA[o:o + n][:-1], "np", size=len(DATA))
    assert e.value.status == "ST_E_IO"
    with pytest.raises(SafetensorError) as e:
        safe_open(io.BytesIO(b"version https://git-lfs" + b" " * 64), "np")
    assert e.value.status == "ST_E_WRONG_FORMAT"
