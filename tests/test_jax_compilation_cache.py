"""JAX's persistent compilation cache (nnvisual.runtime.jax_setup), on unless NNVISUAL_JAX_CACHE=0
(the test suite turns it off, conftest.py; these tests turn it on): programs are stored under
nnvisual's cache folder, and a changed model never gets another model's results from it."""

import json
import os
import subprocess
import sys

import pytest

from nnvisual.runtime import jax_setup

pytest.importorskip("jax")

SALIENCY = """
import json, sys
import numpy as np
import keras
import nnvisual as nv
from nnvisual.runtime.seeding import set_random_seed
set_random_seed(int(sys.argv[1]))
model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
images = np.random.default_rng(0).integers(0, 255, (2, 8, 8, 3), dtype=np.uint8)
maps = nv.attribute(model, images, methods="saliency", seed=0).maps["saliency"]
print(json.dumps(maps.ravel().tolist()))
"""


def saliency(seed: int, cache, tmp_path) -> list[float]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JAX_")}
    env.update(KERAS_BACKEND="jax", NNVISUAL_CACHE=str(tmp_path / "cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", NNVISUAL_JAX_CACHE=cache)
    done = subprocess.run([sys.executable, "-c", SALIENCY, str(seed)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_changed_model_gets_its_own_results_from_a_warm_cache(tmp_path):
    folder = tmp_path / "cache" / "jax" / jax_setup.machine_key()
    first = saliency(1, "1", tmp_path)
    stored = sorted(path.name for path in folder.iterdir())
    assert stored, "nothing was stored in the compilation cache"
    warm = saliency(2, "1", tmp_path)  # the same architecture, other weights, the cache warm
    cold = saliency(2, "0", tmp_path)  # the same, no cache
    assert warm == cold
    assert warm != first


STORED_PROGRAMS = """
import sys
import numpy as np
import keras
import nnvisual as nv
model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                          keras.layers.Conv2D(160, 3, activation="relu"),
                          keras.layers.Conv2D(160, 3, activation="relu"),  # 0.9 MB of weights
                          keras.layers.Flatten(), keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dense(3)])  # 17 MB of weights, 16 of them the Dense's
images = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
if sys.argv[1] == "maximize":
    nv.maximize(model, 1, n=1, steps=2, seed=0)
elif sys.argv[1] == "deconv":
    nv.project(model, images[0], layers=[model.layers[2].name])  # copies of the three convolutions
else:
    nv.attribute(model, images, methods="saliency,guided", seed=0)
"""


@pytest.mark.parametrize("command", ["maximize", "attribute", "deconv"])
def test_stored_programs_take_the_weights_as_arguments(tmp_path, command):
    """A stored program holds no weights, so a cache serves every model of an architecture and
    stays small: each program is far below the model's weights (the 0.9 MB of its last
    convolution alone)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JAX_")}
    env.update(KERAS_BACKEND="jax", NNVISUAL_CACHE=str(tmp_path / "cache"))
    env.pop("NNVISUAL_JAX_CACHE", None)  # on by default
    done = subprocess.run([sys.executable, "-c", STORED_PROGRAMS, command], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    stored = [path.stat().st_size
              for path in (tmp_path / "cache" / "jax" / jax_setup.machine_key()).iterdir()]
    assert stored and max(stored) < 400_000, sorted(stored)[-3:]


def test_the_users_own_cache_folder_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.delenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", raising=False)
    jax_setup.enable_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "mine")
    assert "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ


def test_turned_off_it_sets_nothing(monkeypatch):
    for name in jax_setup.settings():
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("NNVISUAL_JAX_CACHE", "0")
    jax_setup.enable_compilation_cache()
    assert not any(name.upper() in os.environ for name in jax_setup.settings())


@pytest.mark.parametrize("switch", [None, "1"])
def test_by_default_it_sets_the_folder(monkeypatch, tmp_path, switch):
    for name in jax_setup.settings():
        monkeypatch.delenv(name.upper(), raising=False)
    if switch is None:
        monkeypatch.delenv("NNVISUAL_JAX_CACHE", raising=False)
    else:
        monkeypatch.setenv("NNVISUAL_JAX_CACHE", switch)
    monkeypatch.setenv("NNVISUAL_CACHE", str(tmp_path))
    jax_setup.enable_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "jax" / jax_setup.machine_key())


def test_the_size_bound_is_set_only_where_jax_can_evict(monkeypatch):
    """JAX raises at its first compile when a size bound is set without ``filelock``."""
    assert jax_setup.settings()["jax_compilation_cache_max_size"] == jax_setup.MAX_BYTES
    real = jax_setup.importlib.util.find_spec
    monkeypatch.setattr(jax_setup.importlib.util, "find_spec",
                        lambda name: None if name == "filelock" else real(name))
    assert "jax_compilation_cache_max_size" not in jax_setup.settings()
