"""The same commands on Keras 3's other backends give the same numbers.

The reference runs in-process on whatever backend this test session uses; each other installed
backend runs the same command line in a subprocess with ``KERAS_BACKEND`` set. Backends that are
not installed are skipped (``pip install -e ".[jax]"`` / ``".[torch]"``).
"""

import importlib.util
import os
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest

from nnvisual.testing.run_files import read_csv, read_manifest

BACKENDS = ("tensorflow", "jax", "torch")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A tiny 3-way plotka (weights drawn by NumPy) saved as .keras, and one 32x32 photo crop."""
    from sklearn.datasets import load_sample_image

    from nnvisual.models.study import build_plotka

    folder = tmp_path_factory.mktemp("backends")
    model = build_plotka(num_classes=3, mean=[120, 110, 100])
    rng = np.random.default_rng(0)
    model.set_weights([w if w.ndim <= 1 and w.size == 3 else
                       rng.normal(0, np.sqrt(2 / max(np.prod(w.shape[:-1]), 1)), w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save(folder / "tiny.keras")
    photo = cv2.resize(load_sample_image("flower.jpg")[100:300, 200:400], (32, 32))
    cv2.imwrite(str(folder / "flower.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    return folder


def other_backend(name):
    if name == keras.backend.backend():
        pytest.skip(f"{name} is this session's backend (the reference)")
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed")
    return name


def run_elsewhere(backend, *args):
    """``nnvisual ARGS`` in a subprocess on ``backend``; fails the test with its output."""
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-m", "nnvisual", *map(str, args)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in BACKENDS])
def test_deconv_projections_agree_across_backends(cli, inputs, backend):
    other_backend(backend)
    args = ("deconv", "--model", inputs / "tiny.keras", "--image", inputs / "flower.png",
            "--top-k", "4")
    for method in ("deconvnet", "guided"):
        for mode in ("max", "map"):
            options = ("--method", method, "--mode", mode)
            result = cli(*args, *options, "--out", f"here-{method}-{mode}")
            assert result.exit_code == 0, result.output
            run_elsewhere(backend, *args, *options, "--out", f"there-{method}-{mode}")
            assert read_manifest(f"there-{method}-{mode}")["backend"] == backend
            here = np.load(f"here-{method}-{mode}/projections.npz")
            there = np.load(f"there-{method}-{mode}/projections.npz")
            assert sorted(here.files) == sorted(there.files)
            for key in here.files:
                if key.endswith("channels"):
                    np.testing.assert_array_equal(here[key], there[key])
                else:
                    scale = np.abs(here[key]).max()
                    np.testing.assert_allclose(there[key], here[key], atol=1e-4 * scale, err_msg=key)


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in BACKENDS])
def test_maximize_objectives_agree_across_backends(cli, inputs, backend):
    other_backend(backend)
    args = ("maximize", "--model", inputs / "tiny.keras", "--class", "1", "-n", "2", "--steps", "10",
            "--step-size", "2", "--seed", "3")
    result = cli(*args, "--out", "here")
    assert result.exit_code == 0, result.output
    run_elsewhere(backend, *args, "--out", "there")
    assert read_manifest("there")["backend"] == backend
    here, there = (np.load(f"{run}/reconstructions.npz") for run in ("here", "there"))
    np.testing.assert_array_equal(there["initial"], here["initial"])  # same seed, same noise
    # gradient ascent amplifies float32 rounding where a max-pool switch or a ReLU flips, so the
    # images agree to a small fraction of how far they moved rather than pixel for pixel
    moved = np.abs(here["before"] - here["initial"]).mean()
    assert np.abs(there["before"] - here["before"]).mean() < 0.02 * moved
    rows = {run: read_csv(f"{run}/tables/trajectory.csv") for run in ("here", "there")}
    assert len(rows["here"]) == len(rows["there"]) > 0
    for mine, theirs in zip(rows["here"], rows["there"], strict=True):
        assert {k: v for k, v in mine.items() if not _is_number(v)} == \
            {k: v for k, v in theirs.items() if not _is_number(v)}
        for key, value in mine.items():
            if _is_number(value):
                assert float(theirs[key]) == pytest.approx(float(value), rel=1e-2, abs=1e-4), key


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in BACKENDS])
def test_train_runs_on_each_backend(image_folder, backend):
    other_backend(backend)
    run_elsewhere(backend, "train", "--model", "plotka", "--data", image_folder, "--epochs", "2",
                  "--batch-size", "8", "--out", "there")
    written = read_manifest("there")
    assert written["status"] == "complete" and written["backend"] == backend
    history = read_csv("there/tables/history.csv")
    assert len(history) == 2 and all(np.isfinite(float(row["loss"])) for row in history)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
