"""Data-parallel training on two virtual CPU devices equals single-device training.

Each backend runs in a subprocess that makes two CPU devices before anything starts (JAX:
``XLA_FLAGS=--xla_force_host_platform_device_count=2``; TensorFlow: two logical devices), then
trains the same tiny network twice with :func:`nnvisual.training.fit`, once on the default device
and once inside :func:`nnvisual.training.distribute.data_parallel`, from the same initial weights.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from nnvisual.errors import UserError
from nnvisual.training import distribute

TWO_DEVICES = r"""
import json, os
import numpy as np
import tensorflow as tf
if os.environ["KERAS_BACKEND"] == "tensorflow":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from nnvisual.training import distribute
from nnvisual import training
from nnvisual.config import TrainConfig
from nnvisual.errors import UserError
from nnvisual.testing.models import tiny_classifier

rng = np.random.default_rng(0)
images = rng.integers(0, 256, (21, 4, 4, 3), dtype=np.uint8)
labels = rng.integers(0, 3, 21)
# 16 training images in one batch per epoch (its gradient does not depend on the shuffled order),
# 5 validation images (a batch that does not split evenly)
split = training.Split(images[:16], labels[:16], images[16:], labels[16:])
config = TrainConfig(epochs=2, batch_size=16, lr=0.01, augment=False, early_stopping_monitor="none")

def trained():
    keras.utils.set_random_seed(0)
    model = tiny_classifier()
    training.compile_model(model, config.lr)
    history = training.fit(model, split, config, verbose=0)
    test = training.evaluate(model, images, labels, batch_size=8)  # a last batch of 5
    return history, test, [w.tolist() for w in model.get_weights()], distribute.replicas()

single = trained()
with distribute.data_parallel(config.batch_size) as devices:
    parallel = trained()
try:
    with distribute.data_parallel(7):
        pass
except UserError as error:
    odd_batch = str(error)
print("RESULT" + json.dumps(dict(devices=devices, single=single, parallel=parallel, odd_batch=odd_batch)))
"""


def on_two_devices(backend):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = subprocess.run([sys.executable, "-c", TWO_DEVICES], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.rpartition("RESULT")[2])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_data_parallel_on_two_devices_follows_single_device_training(backend):
    out = on_two_devices(backend)
    assert len(out["devices"]) == 2
    history, test, weights, replicas = out["single"]
    p_history, p_test, p_weights, p_replicas = out["parallel"]
    assert (replicas, p_replicas) == (1, 2)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert p_history[key] == pytest.approx(history[key], rel=1e-5, abs=1e-6), key
    assert p_test == pytest.approx(test, rel=1e-5, abs=1e-6)
    for mine, theirs in zip(p_weights, weights, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    assert "batch_size 7 is not a multiple of 2" in out["odd_batch"]


def test_pytorch_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(UserError, match="needs the jax or tensorflow backend") as error:
        with distribute.data_parallel(8):
            pass
    assert "\n" not in str(error.value)


def test_no_distribution_changes_nothing():
    with distribute.scope("none", 7) as devices:
        assert devices is None and distribute.replicas() == 1


def test_whole_batch_evaluation_is_keras_evaluate():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    images = rng.normal(size=(13, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 13)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)  # a last batch of 1
    loss, accuracy = model.evaluate(batches, verbose=0)
    assert distribute.evaluate_whole(model, batches) == pytest.approx({"loss": loss, "accuracy": accuracy},
                                                                      rel=1e-6)


def test_too_few_training_images_for_one_batch_are_refused_before_the_run_folder(cli, image_folder, isolated):
    result = cli("train", "--data", image_folder, "--distribute", "data-parallel", "--batch-size", "32",
                 "--epochs", "1", "--out", "run")
    assert result.exit_code == 2
    assert "25 training images do not fill one batch of 32" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (isolated / "run").exists()


def test_a_batch_that_does_not_split_over_the_devices_is_refused_before_the_run_folder(
        cli, image_folder, isolated, monkeypatch):
    monkeypatch.setattr(distribute, "devices", lambda: ["cpu:0", "cpu:1"])
    result = cli("train", "--data", image_folder, "--distribute", "data-parallel", "--batch-size", "7",
                 "--epochs", "1", "--out", "run")
    assert result.exit_code == 2
    assert "batch_size 7 is not a multiple of 2" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (isolated / "run").exists()
