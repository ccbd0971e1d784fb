"""get_slice: numpy's indexing rules, read through the C slice reader.

One test per row of the difference table in docs/python.md (test names
row1_..row7_), the rules kept from the reference, and a randomized
comparison with numpy indexing of the whole array."""

import random

import numpy as np
import pytest

from safetensors_c import SafetensorError, SafetensorSliceError, safe_open

from conftest import build, torch_or_skip

A = np.arange(5 * 6 * 7, dtype="<i4").reshape(5, 6, 7)


@pytest.fixture
def sl(writer):
    p = writer(build([("pad", "U8", [3], b"abc"), ("t", "I32", A.shape, A.tobytes())]))
    with safe_open(p, "np") as f:
        yield f.get_slice("t")


# ---------------------------------------------------------------- the table


def test_row1_slice_steps_are_applied(sl):
    np.testing.assert_array_equal(sl[::2], A[::2])
    np.testing.assert_array_equal(sl[1:5:3, ::-1, 6:0:-2], A[1:5:3, ::-1, 6:0:-2])


def test_row2_negative_bounds_count_from_the_end(sl):
    np.testing.assert_array_equal(sl[-2:], A[-2:])
    np.testing.assert_array_equal(sl[:, :-1, -3:-1], A[:, :-1, -3:-1])
    np.testing.assert_array_equal(sl[-10:], A[-10:])  # clamped, as numpy


def test_row3_extra_indices_raise(sl):
    with pytest.raises(IndexError) as e:
        sl[0, 0, 0, 0]
    assert isinstance(e.value, SafetensorError)
    assert "too many indices" in str(e.value)


def test_row4_start_after_stop_is_empty(sl):
    got = sl[5:2]
    assert got.shape == A[5:2].shape == (0, 6, 7)
    assert sl[:, 4:1].shape == (5, 0, 7)


def test_row5_ellipsis_and_newaxis(sl):
    np.testing.assert_array_equal(sl[..., 3], A[..., 3])
    np.testing.assert_array_equal(sl[None, 1, ..., None], A[None, 1, ..., None])
    np.testing.assert_array_equal(sl[()], A)


def test_row6_start_at_the_end_is_empty(sl):
    assert sl[5:].shape == (0, 6, 7)
    assert sl[:, 6:6].shape == (5, 0, 7)


def test_row7_torch_slices_follow_numpy():
    torch = torch_or_skip()
    import os, tempfile  # noqa: E401  pylint: disable=import-outside-toplevel,multiple-imports
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        with open(p, "wb") as fp:
            fp.write(build([("t", "I32", A.shape, A.tobytes())]))
        with safe_open(p, "pt") as f:
            got = f.get_slice("t")[::-1, -2:, ::3]
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), A[::-1, -2:, ::3])


# ---------------------------------------------------------------- kept from the reference


def test_index_out_of_range_is_safetensor_error(sl):
    with pytest.raises(SafetensorError) as e:
        sl[2:, 20]
    assert isinstance(e.value, IndexError)  # and what numpy raises
    with pytest.raises(SafetensorSliceError):
        sl[-6]


def test_stop_past_the_end_is_an_error(sl):
    with pytest.raises(SafetensorSliceError):
        sl[:20]
    with pytest.raises(SafetensorSliceError):
        sl[:, 7:]


def test_shape_dtype_and_types(sl):
    assert sl.get_shape() == [5, 6, 7]
    assert sl.get_dtype() == "I32"
    got = sl[1:3]
    assert isinstance(got, np.ndarray) and got.flags.writeable
    assert sl[2].shape == (6, 7)
    assert sl[2, 3, 4] == A[2, 3, 4]
    with pytest.raises(TypeError):
        sl["x"]  # pylint: disable=pointless-statement
    with pytest.raises(ValueError):
        sl[::0]  # pylint: disable=pointless-statement


def test_scalar_tensor(writer):
    p = writer(build([("s", "F64", [], np.float64(2.5).tobytes())]))
    with safe_open(p, "np") as f:
        s = f.get_slice("s")
        assert s.get_shape() == []
        assert s[()] == 2.5
        assert s[...] == 2.5
        with pytest.raises(IndexError):
            s[0]  # pylint: disable=pointless-statement


def test_randomized_against_numpy(sl):
    rng = random.Random(7)

    def comp(n):
        kind = rng.random()
        if kind < 0.3:
            return rng.randrange(-n, n)
        a = rng.choice([None, rng.randrange(-n - 2, n + 1)])
        b = rng.choice([None, rng.randrange(-n - 2, n + 1)])
        c = rng.choice([None, 1, 2, 3, -1, -2])
        return slice(a, b, c)

    for _ in range(400):
        key = tuple(comp(n) for n in A.shape[:rng.randrange(1, 4)])
        np.testing.assert_array_equal(sl[key], A[key], err_msg=repr(key))


def test_slices_of_misaligned_and_reader_sources(writer):
    p = writer(build([("u", "U8", [1], b"\x01"), ("t", "I32", A.shape, A.tobytes())], align=1))
    with safe_open(p, "np") as f:
        np.testing.assert_array_equal(f.get_slice("t")[1:4, ::2, 3], A[1:4, ::2, 3])
    with open(p, "rb") as fp, safe_open(fp, "np") as f:
        np.testing.assert_array_equal(f.get_slice("t")[-1, 2:], A[-1, 2:])
