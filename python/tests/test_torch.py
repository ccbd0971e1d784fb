"""safetensors_c.torch and safe_open(framework="pt"): CPU tensors, Debian's
python3-torch where installed (every test prints its skip reason otherwise)."""

import os

import numpy as np
import pytest

from safetensors_c import SafetensorError, safe_open

from conftest import bf16, build, torch_or_skip


@pytest.fixture
def torch():
    return torch_or_skip()


@pytest.fixture
def st(torch):  # pylint: disable=redefined-outer-name,unused-argument
    import safetensors_c.torch as mod  # pylint: disable=import-outside-toplevel
    return mod


def test_roundtrip_file(torch, st, tmp_path):  # pylint: disable=redefined-outer-name
    tensors = {"w": torch.arange(12, dtype=torch.float32).reshape(3, 4),
               "h": torch.tensor([1.0, -2.0], dtype=torch.bfloat16),
               "i": torch.tensor([1, 2, 3], dtype=torch.int64),
               "b": torch.tensor([True, False]), "s": torch.tensor(2.5, dtype=torch.float64),
               "e": torch.zeros((0, 3), dtype=torch.float16),
               "c": torch.tensor([1 + 1j], dtype=torch.complex64)}
    p = str(tmp_path / "t.safetensors")
    st.save_file(tensors, p, metadata={"format": "pt"})
    got = st.load_file(p)
    assert set(got) == set(tensors)
    for k, v in tensors.items():
        assert isinstance(got[k], torch.Tensor)
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        assert torch.equal(got[k], v), k
    with safe_open(p, framework="pt") as f:
        assert f.metadata() == {"format": "pt"}
        assert torch.equal(f.get_tensor("w"), tensors["w"])


def test_load_file_tensors_are_writable_copy_on_write(torch, st, tmp_path):  # pylint: disable=redefined-outer-name
    p = str(tmp_path / "cow.safetensors")
    st.save_file({"w": torch.ones(4)}, p)
    with open(p, "rb") as fp:
        before = fp.read()
    got = st.load_file(p)
    got["w"] += 1  # no crash, no warning about read-only memory
    assert got["w"].tolist() == [2.0] * 4
    with open(p, "rb") as fp:
        assert fp.read() == before  # the file is untouched
    again = st.load_file(p, backend="pread")
    assert again["w"].tolist() == [1.0] * 4


def test_save_and_load_bytes(torch, st):  # pylint: disable=redefined-outer-name
    t = {"a": torch.arange(6, dtype=torch.int16).reshape(2, 3)}
    data = st.save(t, metadata={"k": "v"})
    assert isinstance(data, bytes)
    got = st.load(data)
    assert torch.equal(got["a"], t["a"])
    got["a"][0, 0] = 5  # load gives tensors of their own


def test_framework_aliases_and_order(torch, writer):  # pylint: disable=redefined-outer-name
    a = np.arange(3, dtype="<f4")
    p = writer(build([("z", "F32", [3], a.tobytes()), ("a", "U8", [1], b"\x01")]))
    for fw in ("pt", "torch", "pytorch"):
        with safe_open(p, framework=fw, device="cpu") as f:
            assert f.offset_keys() == ["z", "a"]
            assert list(f.get_tensors()) == ["z", "a"]
            assert isinstance(f.get_tensor("z"), torch.Tensor)
    with pytest.raises(SafetensorError):
        safe_open(p, framework="pt", device="cuda:0")


def test_bf16_slice_and_misaligned(torch, writer):  # pylint: disable=redefined-outer-name
    p = writer(build([("u", "U8", [1], b"\x01"),
                      ("h", "BF16", [2, 2], bf16([1.0, 2.0, 3.0, 4.0]))], align=1))
    with safe_open(p, "pt") as f:
        h = f.get_tensor("h")
        assert h.dtype == torch.bfloat16 and h.float().tolist() == [[1.0, 2.0], [3.0, 4.0]]
        s = f.get_slice("h")[:, 1]
        assert s.dtype == torch.bfloat16 and s.float().tolist() == [2.0, 4.0]


def test_dtype_torch_lacks(torch, writer):  # pylint: disable=redefined-outer-name
    p = writer(build([("e", "F8_E4M3", [2], b"\x38\xc0")]))
    if hasattr(torch, "float8_e4m3fn"):
        with safe_open(p, "pt") as f:
            assert f.get_tensor("e").dtype == torch.float8_e4m3fn
        return
    with safe_open(p, "pt") as f:
        with pytest.raises(AttributeError):
            f.get_tensor("e")
    with safe_open(p, "pt", fallback="float32") as f:
        assert f.get_tensor("e").tolist() == [1.0, -2.0]
    with safe_open(p, "pt", fallback="bits") as f:
        assert f.get_tensor("e").tolist() == [0x38, 0xC0]


def test_save_refuses_what_reference_refuses(torch, st, tmp_path):  # pylint: disable=redefined-outer-name
    base = torch.zeros(4, 4)
    with pytest.raises(RuntimeError):
        st.save({"a": base, "b": base[0]})  # shared memory
    with pytest.raises(ValueError):
        st.save({"t": torch.zeros(3, 4).t()})  # not contiguous
    with pytest.raises(ValueError):
        st.save({"a": [1]})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        st.save({"s": torch.zeros(3).to_sparse()})
    assert not os.listdir(str(tmp_path))




def _model(torch):  # pylint: disable=redefined-outer-name
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(4, 4)
            self.b = torch.nn.Linear(4, 4)
            self.b.weight = self.a.weight  # tied
    return Net()


def test_save_model_load_model(torch, st, tmp_path):  # pylint: disable=redefined-outer-name
    m = _model(torch)
    p = str(tmp_path / "m.safetensors")
    st.save_model(m, p)
    with safe_open(p, "pt") as f:
        keys = f.keys()
        meta = f.metadata()
    assert len(keys) == 3  # the tied weight once
    dropped = ({"a.weight", "b.weight"} - set(keys)).pop()
    assert meta[dropped] in keys
    m2 = _model(torch)
    missing, unexpected = st.load_model(m2, p)
    assert not missing and not unexpected
    for k, v in m.state_dict().items():
        assert torch.equal(m2.state_dict()[k], v), k
    other = torch.nn.Linear(4, 2)
    with pytest.raises(RuntimeError):
        st.load_model(other, p)
    missing, unexpected = st.load_model(other, p, strict=False)
    assert unexpected


def test_sharded_and_remote_in_torch(torch, writer, tmp_path):  # pylint: disable=redefined-outer-name
    from safetensors_c import save_sharded  # pylint: disable=import-outside-toplevel
    arrays = {"x%d" % i: np.full(32, i, dtype=np.float32) for i in range(4)}
    save_sharded(arrays, str(tmp_path), max_shard_size=200)
    with safe_open(str(tmp_path), "pt") as f:
        t = f.get_tensor("x2")
    assert isinstance(t, torch.Tensor) and t.tolist() == [2.0] * 32
    p = writer(build([("w", "I32", [4], np.arange(4, dtype="<i4").tobytes())]))
    with open(p, "rb") as fp, safe_open(fp, "pt") as f:
        assert f.get_tensor("w").tolist() == [0, 1, 2, 3]
