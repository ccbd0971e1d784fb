"""torch API of safetensors_c, as the reference's safetensors.torch: save,
save_file, load, load_file, save_model, load_model (CPU tensors).

load_file maps the file copy-on-write: tensors are zero-copy, writable, and
writes never reach the file (as the reference's). Tensors that share memory
are refused by save / save_file (RuntimeError) and handled by save_model,
as the reference does.
"""

import os
from collections import defaultdict
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import torch

from ._core import (_Specs, _format_dtype, _write_options, open_bytes, safe_open)

__all__ = ["save", "save_file", "load", "load_file", "save_model", "load_model"]

PathLike = Union[str, "os.PathLike[str]"]


def _storage(t: "torch.Tensor") -> Tuple[int, int]:
    """(data pointer, size in bytes) of the tensor's storage."""
    try:
        s = t.untyped_storage()
        return s.data_ptr(), s.nbytes()
    except (AttributeError, NotImplementedError, RuntimeError):
        pass
    try:
        s = t.storage()
        return s.data_ptr(), s.nbytes() if hasattr(s, "nbytes") else \
            s.size() * t.element_size()
    except (NotImplementedError, RuntimeError):
        return 0, 0


def _span(t: "torch.Tensor") -> Tuple[int, int]:
    """[first byte, one past the last byte) the tensor's elements occupy."""
    start = t.data_ptr()
    if t.numel() == 0:
        return start, start
    last = start + sum((d - 1) * s for d, s in zip(t.shape, t.stride())) * t.element_size()
    return start, last + t.element_size()


def _shared_groups(state_dict: Dict[str, "torch.Tensor"]) -> List[Set[str]]:
    """Sets of names whose tensors overlap in memory (sets of one included)."""
    by_storage: Dict[Any, List[str]] = defaultdict(list)
    for name, t in state_dict.items():
        if t.device.type == "meta":
            continue
        ptr, size = _storage(t)
        if ptr and size:
            by_storage[(t.device, ptr, size)].append(name)
    groups: List[Set[str]] = []
    for names in by_storage.values():
        spans = sorted((_span(state_dict[n]), n) for n in names)
        current: Set[str] = set()
        end = None
        for (a, b), n in spans:
            if end is not None and a < end:
                current.add(n)
                end = max(end, b)
            else:
                if current:
                    groups.append(current)
                current, end = {n}, b
        if current:
            groups.append(current)
    return groups


def _covers_storage(t: "torch.Tensor") -> bool:
    ptr, size = _storage(t)
    return t.data_ptr() == ptr and t.numel() * t.element_size() == size


def _names_to_drop(state_dict: Dict[str, "torch.Tensor"],
                   preferred: Optional[Set[str]] = None) -> Dict[str, List[str]]:
    """{kept name: [names dropped in its favour]} for every group of tensors
    sharing memory; the kept one covers its whole storage (the first such in
    name order, or the first of `preferred` among them)."""
    out: Dict[str, List[str]] = {}
    for group in _shared_groups(state_dict):
        if len(group) < 2:
            continue
        complete = sorted(n for n in group if _covers_storage(state_dict[n]))
        if not complete:
            raise RuntimeError("tensors %s share memory and none of them covers the whole "
                               "storage: refusing to save or load them" % sorted(group))
        keep = complete[0]
        if preferred:
            pick = [n for n in complete if n in preferred]
            if pick:
                keep = pick[0]
        out[keep] = sorted(n for n in group if n != keep)
    return out


def _items(tensors: Dict[str, "torch.Tensor"]):
    if not isinstance(tensors, dict):
        raise ValueError("Expected a dict of [str, torch.Tensor] but received %s"
                         % type(tensors).__name__)
    sparse = []
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError("Key `%s` is invalid, expected torch.Tensor but received %s"
                             % (name, type(t).__name__))
        if t.layout != torch.strided:
            sparse.append(name)
    if sparse:
        raise ValueError("You are trying to save sparse tensors %s, which safetensors does not "
                         "support: make them dense first (.to_dense())" % sparse)
    shared = [sorted(g) for g in _shared_groups(tensors) if len(g) > 1]
    if shared:
        raise RuntimeError("Some tensors share memory, which would duplicate it on disk and "
                           "give differences when loading them again: %s. Use save_model, "
                           "which drops the duplicates." % shared)
    items = []
    keep = []
    for name, t in tensors.items():
        if not t.is_contiguous():
            raise ValueError("You are trying to save a non contiguous tensor: `%s`, which is "
                             "not allowed: call .contiguous() on it first" % name)
        if t.device.type != "cpu":
            t = t.to("cpu")
        dtype = _format_dtype(str(t.dtype).rsplit(".", 1)[-1])
        shape = list(t.shape)
        if dtype == "F4" and shape:
            shape[-1] *= 2
        keep.append(t)
        items.append((name, dtype, shape, t.data_ptr(), t.numel() * t.element_size()))
    return items, keep


def save(tensors: Dict[str, "torch.Tensor"], metadata: Optional[Dict[str, str]] = None
         ) -> bytes:
    """The bytes of a safetensors file of tensors (contiguous, dense, not
    sharing memory), with the optional text metadata."""
    items, keep = _items(tensors)
    out = _Specs(items, metadata).to_bytes(_write_options())
    del keep
    return out


def save_file(tensors: Dict[str, "torch.Tensor"], filename: PathLike,
              metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes tensors to filename atomically (temporary file, fsync, rename).
    Otherwise as save()."""
    items, keep = _items(tensors)
    _Specs(items, metadata).to_file(filename, _write_options())
    del keep


def load(data: bytes, *, fallback: Optional[str] = None) -> Dict[str, "torch.Tensor"]:
    """{name: tensor} of a whole file's bytes, in file order (copies)."""
    with open_bytes(data, "pt", fallback=fallback) as f:
        return f.get_tensors()


def load_file(filename: PathLike, device: Union[str, int] = "cpu", *, backend: str = "mmap",
              fallback: Optional[str] = None) -> Dict[str, "torch.Tensor"]:
    """{name: tensor} of a file, in file order. backend="mmap": zero-copy
    writable tensors over a copy-on-write mapping; "pread": tensors read
    into memory of their own."""
    with safe_open(filename, framework="pt", device=device, backend=backend,
                   fallback=fallback) as f:
        return f.get_tensors()


def save_model(model: "torch.nn.Module", filename: str,
               metadata: Optional[Dict[str, str]] = None, force_contiguous: bool = True) -> None:
    """Saves model.state_dict() to filename. Tensors sharing memory (tied
    weights) are saved once: each dropped name is recorded in the metadata
    as {dropped: kept} (unless the caller's metadata has that key).
    force_contiguous makes every tensor contiguous first."""
    state_dict = model.state_dict()
    for kept, dropped in _names_to_drop(state_dict).items():
        for name in dropped:
            if metadata is None:
                metadata = {}
            metadata.setdefault(name, kept)
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    try:
        save_file(state_dict, filename, metadata=metadata)
    except ValueError as e:
        raise ValueError(str(e) + " Or use save_model(..., force_contiguous=True).") from e


def load_model(model: "torch.nn.Module", filename: PathLike, strict: bool = True,
               device: Union[str, int] = "cpu", *, backend: str = "mmap"
               ) -> Tuple[List[str], List[str]]:
    """Loads filename into model (load_state_dict), knowing that tied weights
    were saved once. Returns (missing, unexpected) names; with strict, a
    RuntimeError lists them when either is not empty."""
    state_dict = load_file(filename, device=device, backend=backend)
    tied = _names_to_drop(model.state_dict(), preferred=set(state_dict))
    missing_l, unexpected = model.load_state_dict(state_dict, strict=False)
    missing = set(missing_l)
    unexpected = list(unexpected)
    for dropped in tied.values():
        for name in dropped:
            if name in missing:
                missing.remove(name)
            else:
                unexpected.append(name)
    if strict and (missing or unexpected):
        msg = "Error(s) in loading state_dict for %s:" % model.__class__.__name__
        if missing:
            msg += "\n    Missing key(s) in state_dict: " + ", ".join(
                '"%s"' % k for k in sorted(missing))
        if unexpected:
            msg += "\n    Unexpected key(s) in state_dict: " + ", ".join(
                '"%s"' % k for k in sorted(unexpected))
        raise RuntimeError(msg)
    return list(missing), unexpected
