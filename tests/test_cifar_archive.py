"""The official CIFAR-10 archive as ``--data`` (nnvisual.data.cifar_archive, data.load_cifar10_archive).

The archives here are built in the real layout: ``cifar-10-batches-py/`` holding ``data_batch_1``
to ``data_batch_5``, ``test_batch`` and ``batches.meta`` (and ``readme.html``), in the scrambled
member order of the real file, each pickled as Python 2's cPickle wrote them: protocol 2, every
string a byte string, NumPy's array reconstruction under its NumPy 1 name.
"""

import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from nnvisual import data
from nnvisual.data import cifar_archive
from nnvisual.errors import UserError
from nnvisual.runtime.files import sha256_file

PER_BATCH = 3
BATCH_NAMES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


class Python2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 byte strings (BINSTRING opcodes), as cPickle did."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = dispatch[bytes] = save_py2_string


def py2_pickle(value) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(value)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def cifar_members(seed=0) -> dict[str, object]:
    """The archive's pickled values by member name: random pixels, labels 0..9."""
    rng = np.random.default_rng(seed)
    members = {}
    for number, name in enumerate(BATCH_NAMES, 1):
        members[name] = {"batch_label": f"batch {number}",
                         "labels": [int(label) for label in rng.integers(0, 10, PER_BATCH)],
                         "data": rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
                         "filenames": [f"image_{number}_{i}.png" for i in range(PER_BATCH)]}
    members["batches.meta"] = {"num_cases_per_batch": PER_BATCH, "num_vis": 3072,
                               "label_names": list(data.CIFAR10_CLASSES)}
    return members


def write_archive(path, members: dict[str, object], payloads: dict[str, bytes] | None = None):
    """A gzipped tar of ``members`` pickled as Python 2 did (``payloads`` replace some bytes)."""
    payloads = {name: py2_pickle(value) for name, value in members.items()} | (payloads or {})
    payloads["readme.html"] = b"<html></html>"
    order = ("data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta",
             "data_batch_2", "data_batch_5", "data_batch_1")
    with tarfile.open(path, "w:gz") as archive:
        for name in sorted(payloads, key=lambda n: order.index(n) if n in order else -1):
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payloads[name])
            archive.addfile(info, io.BytesIO(payloads[name]))
    return path


@pytest.fixture
def archive(tmp_path):
    return write_archive(tmp_path / "cifar-10-python.tar.gz", cifar_members())


def test_reads_the_batches_in_order_as_rgb_images(archive):
    members = cifar_members()
    arrays = cifar_archive.read(archive)
    assert arrays["x_train"].shape == (5 * PER_BATCH, 32, 32, 3) and arrays["x_train"].dtype == np.uint8
    assert arrays["x_test"].shape == (PER_BATCH, 32, 32, 3)
    assert arrays["class_names"].tolist() == list(data.CIFAR10_CLASSES)
    assert arrays["y_train"].dtype == np.int64
    assert arrays["y_train"].tolist() == sum((members[f"data_batch_{i}"]["labels"] for i in range(1, 6)), [])
    assert arrays["y_test"].tolist() == members["test_batch"]["labels"]
    # a row is the red, green and blue 32x32 planes in turn, each row-major
    first = members["data_batch_1"]["data"][0]
    assert arrays["x_train"][0, 0, 0, 0] == first[0]  # red at (0, 0)
    assert arrays["x_train"][0, 0, 1, 1] == first[1024 + 1]  # green at (0, 1)
    assert arrays["x_train"][0, 31, 30, 2] == first[2048 + 31 * 32 + 30]  # blue at (31, 30)
    last = members["test_batch"]["data"][-1]
    row, col, channel = np.indices((32, 32, 3))
    np.testing.assert_array_equal(arrays["x_test"][-1], last[channel * 1024 + row * 32 + col])


def test_verify_accepts_only_the_expected_digest(archive):
    cifar_archive.verify(archive, sha256_file(archive))
    with pytest.raises(UserError) as error:
        cifar_archive.verify(archive, cifar_archive.SHA256)
    message = str(error.value)
    assert "is not the official CIFAR-10 archive" in message and cifar_archive.URL in message
    assert "\n" not in message


class Evil:
    """Unpickles to a call of ``os.system``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    path = write_archive(tmp_path / "evil.tar.gz", cifar_members(),
                         {"data_batch_3": pickle.dumps(Evil(f"touch {marker}"), protocol=2)})
    monkeypatch.setattr(cifar_archive, "SHA256", sha256_file(path))  # past the checksum, as a test
    with pytest.raises(UserError) as error:
        data.load_dataset(str(path))
    message = str(error.value)
    assert f"refusing to unpickle {os.system.__module__}.system" in message and "\n" not in message
    assert not marker.exists()


def bad_members(case):
    members = cifar_members()
    if case == "missing":
        del members["test_batch"]
    elif case == "label":
        members["data_batch_2"]["labels"][1] = 10
    elif case == "dtype":
        members["data_batch_5"]["data"] = members["data_batch_5"]["data"].astype(np.float32)
    elif case == "not-a-dict":
        members["batches.meta"] = ["airplane"]
    return members


@pytest.mark.parametrize("case, message", [
    ("missing", "test_batch missing from cifar-10-batches-py/"),
    ("label", "data_batch_2: its labels are not 3 class indices below 10"),
    ("dtype", "data_batch_5: its data is not a uint8 array"),
    ("not-a-dict", "batches.meta holds a list, not a dict"),
    ("not-an-archive", "is not a readable CIFAR-10 archive"),
])
def test_malformed_archives_are_one_line(tmp_path, case, message):
    path = tmp_path / "cifar-10-python.tar.gz"
    if case == "not-an-archive":
        path.write_bytes(b"just some bytes")
    else:
        write_archive(path, bad_members(case))
    with pytest.raises(UserError, match=message) as error:
        cifar_archive.read(path)
    assert "\n" not in str(error.value)


def test_the_archive_as_data_is_checked_decoded_once_and_cached(archive, monkeypatch):
    with pytest.raises(UserError, match="is not the official CIFAR-10 archive"):
        data.load_dataset(str(archive))  # the real checksum: this file is not the real archive
    monkeypatch.setattr(cifar_archive, "SHA256", sha256_file(archive))
    dataset = data.load_dataset(str(archive))
    expected = cifar_archive.read(archive)
    assert dataset.class_names == data.CIFAR10_CLASSES
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(dataset, key), expected[key])
    assert "CIFAR-10 archive" in dataset.source

    def no_decoding(path):
        raise AssertionError("decoded again although cached")

    monkeypatch.setattr(cifar_archive, "read", no_decoding)
    monkeypatch.setenv("NNVISUAL_DATA", str(archive))
    np.testing.assert_array_equal(data.load_dataset().x_test, expected["x_test"])


def test_cifar10_names_in_label_order_are_sorted_so_a_folder_copy_labels_alike():
    assert tuple(sorted(data.CIFAR10_CLASSES)) == data.CIFAR10_CLASSES


def test_a_wrong_archive_stops_a_command_with_one_line(cli, archive, isolated):
    result = cli("train", "--data", archive, "--out", "run")
    assert result.exit_code == 2
    assert "is not the official CIFAR-10 archive" in result.output and result.output.count("\n") == 1
    assert not (isolated / "run").exists()
