"""The official CIFAR-10 archive, ``cifar-10-python.tar.gz``, read without general unpickling.

Krizhevsky (2009) distributes CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html) as a
gzipped tar of Python 2 pickles under ``cifar-10-batches-py/``: ``data_batch_1`` to
``data_batch_5`` (training) and ``test_batch``, each a dict whose ``data`` is a uint8 array of
3072-value rows (the red, green and blue 32x32 planes in turn, row-major) and whose ``labels``
are a list of ints, and ``batches.meta``, whose ``label_names`` name the classes in label order.

The file is checked against its published sha256 before it is read, and its pickles are read by
an unpickler that resolves only NumPy's array reconstruction (:mod:`nnvisual.runtime.restricted_pickle`),
so a substituted file is refused by name and a malicious pickle runs nothing. Nothing is unpacked
to disk: the batches are read from the archive as a stream, in memory.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError
from nnvisual.runtime.files import sha256_file
from nnvisual.runtime.restricted_pickle import Refused, RestrictedUnpickler

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# The sha256 that keras.datasets.cifar10 checks the download against (170,498,071 bytes; the
# same file has the md5 c58f30108f718f92721af3b95e74349a published on the dataset's page).
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
META = "batches.meta"

_RECONSTRUCT = np.empty(0).__reduce__()[0]  # the function NumPy unpickles every array with
ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
           ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # NumPy 1's name: the archive's
           ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT}


def verify(path: Path, sha256: str) -> None:
    """Raise :class:`UserError` unless ``path`` is a file with this sha256."""
    actual = sha256_file(path)
    if actual != sha256:
        raise UserError(f"{path} is not the official CIFAR-10 archive: its sha256 is {actual[:16]}..., "
                        f"expected {sha256[:16]}...; download {URL} again (a damaged or different file)")


def _unpickle(payload: bytes, name: str) -> dict:
    """One of the archive's pickles: a dict with bytes keys (Python 2 strings read as bytes)."""
    value = RestrictedUnpickler(io.BytesIO(payload), ALLOWED, encoding="bytes").load()
    if not isinstance(value, dict):
        raise ValueError(f"{name} holds a {type(value).__name__}, not a dict")
    return value


def _read_members(archive: tarfile.TarFile) -> dict[str, dict]:
    """The batches and the meta file, unpickled, by name; read in one pass over the stream."""
    wanted = {f"{FOLDER}/{name}" for name in (*BATCHES["train"], *BATCHES["test"], META)}
    found = {}
    for member in archive:
        if member.name in wanted and member.isfile():
            name = member.name.rpartition("/")[2]
            found[name] = _unpickle(archive.extractfile(member).read(), name)
    missing = {name.rpartition("/")[2] for name in wanted} - found.keys()
    if missing:
        raise ValueError(f"{', '.join(sorted(missing))} missing from {FOLDER}/")
    return found


def _class_names(meta: dict) -> list[str]:
    names = meta.get(b"label_names")
    if not (isinstance(names, list) and names and all(isinstance(n, bytes) for n in names)):
        raise ValueError(f"{META} has no list of label names")
    return [name.decode() for name in names]


def _batch(batch: dict, name: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """A batch's images as (N, 32, 32, 3) RGB uint8 and its labels as int64."""
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3 * 32 * 32):
        raise ValueError(f"{name}: its data is not a uint8 array of 3072-value rows")
    if not (isinstance(labels, list) and len(labels) == len(data)
            and all(type(label) is int and 0 <= label < num_classes for label in labels)):
        raise ValueError(f"{name}: its labels are not {len(data)} class indices below {num_classes}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.array(labels, np.int64)


def read(path: Path) -> dict[str, np.ndarray]:
    """The archive's ``x_train``, ``y_train``, ``x_test``, ``y_test`` (the arrays
    ``keras.datasets.cifar10.load_data()`` returns, in its order, labels flat int64) and
    ``class_names`` (str), or :class:`UserError` with one line saying why not."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = _read_members(archive)
        class_names = _class_names(members[META])
        arrays = {"class_names": np.array(class_names)}
        for split, names in BATCHES.items():
            parts = [_batch(members[name], name, len(class_names)) for name in names]
            arrays[f"x_{split}"] = np.concatenate([images for images, _ in parts])
            arrays[f"y_{split}"] = np.concatenate([labels for _, labels in parts])
        return arrays
    except Refused as refused:
        raise UserError(f"{path}: refusing to unpickle {refused}: CIFAR-10's batches hold only "
                        "arrays, lists and strings") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError, TypeError, KeyError,
            AttributeError, pickle.UnpicklingError) as exc:
        raise UserError(f"{path} is not a readable CIFAR-10 archive: {exc}".splitlines()[0]) from None
