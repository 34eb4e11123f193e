"""Shared fixtures: an isolated working folder and cache, a CLI runner, a tiny image-folder dataset,
a folder of photos, tiny saved models. Their helpers live in :mod:`nnvisual.testing`."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# JAX's compilation cache off: each test has a cache folder of its own, so it would only write
# (tests/test_jax_compilation_cache.py turns it on in the processes it starts)
os.environ.setdefault("NNVISUAL_JAX_CACHE", "0")
import nnvisual  # noqa: E402, F401 -- before TensorFlow, as a user's process imports them (oneDNN)
from nnvisual.testing.images import write_image_folder  # noqa: E402
from nnvisual.testing.models import small_cnn  # noqa: E402

SHARED_CIFAR = Path(os.environ.get("NNVISUAL_DATA", "")) if os.environ.get("NNVISUAL_DATA") else None


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run every test in its own folder (results/ lands there) with its own data cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNVISUAL_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def cli():
    """Invoke ``nnvisual`` in-process: ``cli("train", "--epochs", "1")`` returns the Result."""
    from nnvisual.cli import main

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def image_folder(tmp_path):
    """Path of a generated dataset: 3 classes, 12 train and 4 test images each, 32x32."""
    return write_image_folder(tmp_path / "data")


@pytest.fixture
def shared_cifar():
    """The unpacked shared CIFAR-10 copy ($NNVISUAL_DATA); tests using it skip when absent."""
    if SHARED_CIFAR is None or not (SHARED_CIFAR / "train").is_dir():
        pytest.skip("NNVISUAL_DATA does not point to an unpacked CIFAR-10 image folder")
    return SHARED_CIFAR


@pytest.fixture
def tiny_plotka(tmp_path):
    """An untrained 3-way plotka saved as a .keras file."""
    import keras

    from nnvisual.models.study import build_plotka

    keras.utils.set_random_seed(0)
    path = tmp_path / "tiny.keras"
    build_plotka(num_classes=3, mean=[120, 120, 120]).save(path)
    return path


@pytest.fixture
def tiny_cnn(tmp_path):
    """A 3-weighted-layer CNN on 32x32 images with 3 classes, saved (cheaper than plotka)."""
    path = tmp_path / "cnn.keras"
    small_cnn(size=32).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    """A flat folder of 6 photos, 32x32: 2 test images of each of 3 classes, named
    ``<class>_<file>``."""
    write_image_folder(tmp_path / "data", per_class=(0, 2))
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in sorted((tmp_path / "data" / "test").rglob("*.png")):
        (folder / f"{path.parent.name}_{path.name}").write_bytes(path.read_bytes())
    return folder
