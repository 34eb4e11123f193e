"""Read a PyTorch state dict (legacy, non-zip ``torch.save`` format) without PyTorch.

A ``.pth`` file is a pickle, and unpickling can run arbitrary code, so the file is first checked
against a known sha256 and then read with an unpickler (:mod:`nnvisual.runtime.restricted_pickle`) that
resolves only the few globals an ordered dict of tensors needs (``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the typed storages), each mapped to a stand-in here; any
other global is refused by name.

The legacy layout (``torch/serialization.py``, ``_legacy_save``) is five pickles (magic number,
protocol version, system info, the object, the list of storage keys), then each storage's raw
bytes in that order: an int64 element count followed by the elements, little-endian.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import pickle
import struct
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError
from nnvisual.runtime.files import sha256_file
from nnvisual.runtime.restricted_pickle import Refused, RestrictedUnpickler

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


def verify_sha256(path: Path, sha256: str) -> None:
    """Raise :class:`UserError` unless the file at ``path`` exists and has this sha256."""
    if not Path(path).is_file():
        raise UserError(f"weights file not found: {path}")
    actual = sha256_file(path)
    if actual != sha256:
        raise UserError(f"{path} is not the expected weights file: its sha256 is {actual[:16]}..., "
                        f"expected {sha256[:16]}... (a corrupt or substituted file; reinstall it)")


@dataclasses.dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and its kin: only the element type."""

    dtype: type


@dataclasses.dataclass(frozen=True)
class _Storage:
    key: str
    dtype: type
    numel: int


@dataclasses.dataclass(frozen=True)
class _Tensor:
    """Stand-in for a tensor: where its elements lie in a storage."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, offset, shape, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: records the view, builds nothing."""
    if not (isinstance(storage, _Storage) and isinstance(offset, int) and offset >= 0
            and isinstance(shape, tuple) and isinstance(stride, tuple) and len(shape) == len(stride)
            and all(isinstance(n, int) and n >= 0 for n in shape + stride)):
        raise ValueError("a tensor with a malformed storage, offset, shape or stride")
    return _Tensor(storage, offset, shape, stride)


def _allowed_globals() -> dict[tuple[str, str], object]:
    allowed = {("collections", "OrderedDict"): collections.OrderedDict,
               ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2}
    allowed.update({("torch", name): _StorageType(dtype) for name, dtype in STORAGE_DTYPES.items()})
    return allowed


class _StateDictUnpickler(RestrictedUnpickler):
    """Resolves only the globals of an ordered dict of tensors (none at all without
    ``storages``, for the header pickles); storages by persistent id."""

    ALLOWED = _allowed_globals()

    def __init__(self, handle, storages: dict[str, _Storage] | None):
        super().__init__(handle, self.ALLOWED if storages is not None else {})
        self.storages = storages

    def persistent_load(self, pid):
        if self.storages is None:
            return super().persistent_load(pid)
        typename, storage_type, key, _location, numel, *view = pid
        if typename != "storage" or not isinstance(storage_type, _StorageType) or not isinstance(
                key, str) or not isinstance(numel, int) or numel < 0 or any(v is not None for v in view):
            raise ValueError(f"an unknown persistent object {typename!r} (or a storage view)")
        storage = self.storages.setdefault(key, _Storage(key, storage_type.dtype, numel))
        if storage != _Storage(key, storage_type.dtype, numel):
            raise ValueError(f"storage {key} is described twice, differently")
        return storage


def _plain(handle, what: str):
    """One pickle that may hold no globals at all (the header pickles and the key list)."""
    value = _StateDictUnpickler(handle, None).load()
    if value is None:
        raise ValueError(f"no {what}")
    return value


def _read_storages(handle, keys, storages: dict[str, _Storage]) -> dict[str, np.ndarray]:
    if not isinstance(keys, list) or sorted(keys) != sorted(storages):
        raise ValueError("the storage key list does not match the tensors")
    arrays = {}
    for key in keys:
        storage = storages[key]
        (numel,) = struct.unpack("<q", handle.read(8))
        nbytes = numel * np.dtype(storage.dtype).itemsize
        data = handle.read(nbytes)
        if numel != storage.numel or len(data) != nbytes:
            raise ValueError(f"storage {key} is truncated or of the wrong size")
        arrays[key] = np.frombuffer(data, dtype=np.dtype(storage.dtype).newbyteorder("<"))
    if handle.read(1):
        raise ValueError("trailing bytes after the last storage")
    return arrays


def _materialize(tensor: _Tensor, data: np.ndarray) -> np.ndarray:
    extent = sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride, strict=True))
    if 0 in tensor.shape:
        return np.zeros(tensor.shape, data.dtype)
    if tensor.offset + extent >= len(data):
        raise ValueError(f"a tensor reaches past the end of storage {tensor.storage.key}")
    view = np.lib.stride_tricks.as_strided(
        data[tensor.offset:], tensor.shape, tuple(s * data.itemsize for s in tensor.stride))
    return np.array(view, dtype=data.dtype.newbyteorder("="))


def read_state_dict(path, sha256: str) -> dict[str, np.ndarray]:
    """The tensors of the legacy-format state dict at ``path`` as NumPy arrays, in file order.

    Raises :class:`UserError` if the file's sha256 is not ``sha256`` (a corrupt or substituted
    file), if its pickle names any global other than an ordered dict of tensors needs, or if it
    is not a well-formed legacy state dict.
    """
    path = Path(path)
    verify_sha256(path, sha256)
    try:
        with open(path, "rb") as handle:
            if _plain(handle, "magic number") != MAGIC_NUMBER:
                raise ValueError("not a legacy torch.save file (wrong magic number)")
            if _plain(handle, "protocol") != PROTOCOL_VERSION:
                raise ValueError("an unknown torch.save protocol version")
            info = _plain(handle, "system info")
            if not (isinstance(info, dict) and info.get("little_endian") is True):
                raise ValueError("not saved on a little-endian machine")
            storages: dict[str, _Storage] = {}
            state = _StateDictUnpickler(handle, storages).load()
            if not (isinstance(state, collections.OrderedDict) and all(
                    isinstance(k, str) and isinstance(v, _Tensor) for k, v in state.items())):
                raise ValueError("it does not hold an ordered dict of named tensors")
            data = _read_storages(handle, _plain(handle, "storage key list"), storages)
            return {name: _materialize(t, data[t.storage.key]) for name, t in state.items()}
    except Refused as refused:
        raise UserError(f"{path}: refusing to unpickle {refused}: a weights file may hold only an "
                        "ordered dict of tensors") from None
    except (ValueError, TypeError, EOFError, struct.error, pickle.UnpicklingError, io.UnsupportedOperation,
            AttributeError, IndexError, KeyError) as exc:
        raise UserError(f"{path} is not a readable PyTorch state dict: {exc}".splitlines()[0]) from None
