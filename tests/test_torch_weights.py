"""The restricted reader of legacy PyTorch state dicts (nnvisual.models.torch_weights).

Files are written here by hand in the legacy ``torch.save`` layout (five pickles, then the raw
storages), so the reader is checked without PyTorch; when PyTorch is installed, its own
``torch.save(..., _use_new_zipfile_serialization=False)`` output must round-trip exactly.
"""

import collections
import hashlib
import io
import pickle
import struct

import numpy as np
import pytest

from nnvisual.errors import UserError
from nnvisual.models.torch_weights import MAGIC_NUMBER, PROTOCOL_VERSION, read_state_dict
from nnvisual.runtime.files import sha256_file as sha256_of


class FakeFloatStorage:
    """Pickled by reference, then renamed to ``torch.FloatStorage`` in the bytes."""


class FakeLongStorage:
    """Renamed to ``torch.LongStorage``."""


def fake_rebuild(*args):
    """Renamed to ``torch._utils._rebuild_tensor_v2``."""


class Evil:
    """A value that unpickles to a call of ``os.system`` (renamed from ``fake_rebuild``)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (fake_system, (self.command,))


def fake_system(command):
    """Renamed to ``os.system``."""


RENAMES = {"FakeFloatStorage": ("torch", "FloatStorage"), "FakeLongStorage": ("torch", "LongStorage"),
           "fake_rebuild": ("torch._utils", "_rebuild_tensor_v2"), "fake_system": ("os", "system")}
STORAGE_TYPES = {np.dtype(np.float32): FakeFloatStorage, np.dtype(np.int64): FakeLongStorage}


class Storage:
    def __init__(self, key, data):
        self.key, self.data = key, data


class Tensor:
    """A view (offset, shape, stride in elements) of a storage, reduced as torch reduces tensors."""

    def __init__(self, storage, offset, shape, stride):
        self.args = (storage, offset, shape, stride)

    def __reduce__(self):
        return (fake_rebuild, (*self.args, False, collections.OrderedDict()))


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE_TYPES[obj.data.dtype], obj.key, "cpu", obj.data.size, None)
        return None


def legacy_bytes(state, top=None) -> bytes:
    """``top`` (default ``state``, whose Tensor values give the storages) in torch's legacy
    layout, pickle protocol 2 (``GLOBAL`` opcodes read ``module\\nname``, so the stand-ins are
    renamed in the bytes)."""
    storages = {}
    for value in state.values():
        if isinstance(value, Tensor):
            storages[value.args[0].key] = value.args[0]
    buffer = io.BytesIO()
    LegacyPickler(buffer, protocol=2).dump(state if top is None else top)
    body = buffer.getvalue()
    for fake, (module, name) in RENAMES.items():
        body = body.replace(f"c{__name__}\n{fake}\n".encode(), f"c{module}\n{name}\n".encode())
    header = b"".join(pickle.dumps(value, protocol=2) for value in (
        MAGIC_NUMBER, PROTOCOL_VERSION, {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                                         "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    data = b"".join(struct.pack("<q", s.data.size) + s.data.astype(s.data.dtype.newbyteorder("<")).tobytes()
                    for s in storages.values())
    return header + body + pickle.dumps(list(storages), protocol=2) + data


def write(path, state) -> str:
    path.write_bytes(legacy_bytes(state))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample_state():
    """Two storages; views with an offset, a transpose (non-contiguous) and a scalar."""
    floats = Storage("0", np.arange(20, dtype=np.float32) * 0.5 - 3)
    longs = Storage("1", np.array([7], dtype=np.int64))
    state = collections.OrderedDict([
        ("conv.weight", Tensor(floats, 0, (2, 3), (3, 1))),
        ("conv.weight_t", Tensor(floats, 0, (3, 2), (1, 3))),
        ("bn.bias", Tensor(floats, 6, (4,), (1,))),
        ("bn.strided", Tensor(floats, 10, (2, 2), (4, 2))),
        ("bn.num_batches_tracked", Tensor(longs, 0, (), ())),
    ])
    values = np.arange(20, dtype=np.float32) * 0.5 - 3
    expected = {"conv.weight": values[:6].reshape(2, 3), "conv.weight_t": values[:6].reshape(2, 3).T,
                "bn.bias": values[6:10], "bn.strided": np.array([[values[10], values[12]],
                                                                 [values[14], values[16]]]),
                "bn.num_batches_tracked": np.array(7, np.int64)}
    return state, expected


def test_a_hand_made_state_dict_is_read_exactly(tmp_path):
    state, expected = sample_state()
    sha = write(tmp_path / "w.pth", state)
    read = read_state_dict(tmp_path / "w.pth", sha)
    assert list(read) == list(expected)
    for name, array in expected.items():
        assert read[name].dtype == array.dtype and read[name].shape == array.shape, name
        np.testing.assert_array_equal(read[name], array)


def test_a_forbidden_global_is_refused_by_name_and_never_called(tmp_path):
    state, _ = sample_state()
    marker = tmp_path / "pwned"
    state["evil"] = Evil(f"touch {marker}")
    sha = write(tmp_path / "w.pth", state)
    with pytest.raises(UserError, match=r"refusing to unpickle os\.system") as error:
        read_state_dict(tmp_path / "w.pth", sha)
    assert "\n" not in str(error.value) and not marker.exists()


@pytest.mark.parametrize("value", [3, "text", [1.0, 2.0]])
def test_a_state_dict_with_anything_but_tensors_is_refused(tmp_path, value):
    state, _ = sample_state()
    state["extra"] = value
    sha = write(tmp_path / "w.pth", state)
    with pytest.raises(UserError, match="not a readable PyTorch state dict: .*ordered dict of named tensors"):
        read_state_dict(tmp_path / "w.pth", sha)


@pytest.mark.parametrize("top", ["dict", "tensor", "list"])
def test_anything_but_an_ordered_dict_at_the_top_is_refused(tmp_path, top):
    state, _ = sample_state()
    obj = {"dict": dict(state), "tensor": state["bn.bias"], "list": list(state.values())}[top]
    (tmp_path / "w.pth").write_bytes(legacy_bytes(state, obj))
    with pytest.raises(UserError, match="ordered dict of named tensors"):
        read_state_dict(tmp_path / "w.pth", sha256_of(tmp_path / "w.pth"))


def test_a_sha256_mismatch_is_refused_before_reading(tmp_path):
    state, _ = sample_state()
    sha = write(tmp_path / "w.pth", state)
    data = bytearray((tmp_path / "w.pth").read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last storage: a corrupt file
    (tmp_path / "w.pth").write_bytes(bytes(data))
    with pytest.raises(UserError, match="not the expected weights file: its sha256 is"):
        read_state_dict(tmp_path / "w.pth", sha)
    with pytest.raises(UserError, match="weights file not found"):
        read_state_dict(tmp_path / "absent.pth", sha)


@pytest.mark.parametrize("cut", ["truncated", "trailing", "garbage"])
def test_a_malformed_file_with_a_matching_sha256_is_one_line(tmp_path, cut):
    state, _ = sample_state()
    data = legacy_bytes(state)
    data = {"truncated": data[:-5], "trailing": data + b"\0", "garbage": b"not a pickle at all"}[cut]
    (tmp_path / "w.pth").write_bytes(data)
    with pytest.raises(UserError, match="is not a readable PyTorch state dict") as error:
        read_state_dict(tmp_path / "w.pth", sha256_of(tmp_path / "w.pth"))
    assert "\n" not in str(error.value)


def test_torch_save_legacy_format_round_trips_exactly(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (the reference extra)")
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(30, generator=generator)
    state = collections.OrderedDict([
        ("w", torch.randn(4, 3, 3, 3, generator=generator)),
        ("w_t", torch.randn(5, 6, generator=generator).t()),
        ("view", base[4:16].view(3, 4)),
        ("base", base),
        ("half", torch.randn(7, generator=generator).half()),
        ("count", torch.tensor(12345678901, dtype=torch.int64)),
        ("flags", torch.tensor([True, False, True])),
    ])
    path = tmp_path / "torch.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    read = read_state_dict(path, sha256_of(path))
    assert list(read) == list(state)
    for name, tensor in state.items():
        expected = tensor.numpy()
        assert read[name].dtype == expected.dtype and read[name].shape == expected.shape, name
        np.testing.assert_array_equal(read[name], expected)
