"""Shared fixtures: an isolated working folder and cache, a CLI runner, a tiny image-folder dataset,
a tiny saved model; and a helper that signals a real ``nnvisual`` process mid-run."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import nnvisual  # noqa: E402, F401 -- before TensorFlow, as a user's process imports them (oneDNN)

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


def write_image_folder(root: Path, classes=("cat", "dog", "frog"), per_class=(12, 4), size=32, seed=0):
    """A tiny image-folder dataset: class k images have a bright square in corner k, plus noise."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "test"), per_class, strict=True):
        for k, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
                y, x = divmod(k % 4, 2)
                image[y * size // 2:(y + 1) * size // 2, x * size // 2:(x + 1) * size // 2, k % 3] = 230
                cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return root


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


def signal_when(args, cwd: Path, ready, signum, delay: float = 0.0, timeout: float = 240):
    """Run ``python -m nnvisual *args`` in ``cwd`` (its run folder ``cwd/run``), send ``signum``
    ``delay`` seconds after ``ready(manifest)`` first holds, and return (exit status, output)."""
    env = dict(os.environ, NNVISUAL_CACHE=str(cwd / "cache"))
    process = subprocess.Popen([sys.executable, "-m", "nnvisual", *map(str, args)], cwd=cwd, env=env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    manifest_path = cwd / "run" / "manifest.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if manifest_path.exists() and ready(json.loads(manifest_path.read_text())):
            time.sleep(delay)
            process.send_signal(signum)
            break
        time.sleep(0.02)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # never leave the child running
        process.kill()
        output, _ = process.communicate()
        output += f"\n[killed after {timeout} s]"
    return process.returncode, output
