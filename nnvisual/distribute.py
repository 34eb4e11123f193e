"""Data-parallel training on every visible device, with the engines Keras 3 already has (issue 17).

``--distribute data-parallel`` replicates the model on all devices and splits each step's batch
evenly across them: on JAX through ``keras.distribution.DataParallel`` over
``keras.distribution.list_devices()``, on TensorFlow through ``tf.distribute.MirroredStrategy``
over the GPUs (else the CPU's logical devices). Keras 3 offers no data-parallel training for
PyTorch. The convention (docs/distributed.md): ``batch_size`` is the global batch, split
``batch_size / devices`` per device, so the learning rate and the steps per epoch are those of one
device, except that each epoch's final partial batch is dropped so that every step splits evenly
(``floor(fit / batch_size)`` steps; the next epoch's reshuffle puts other images at the end).
Validation and test images are evaluated on whole batches (:func:`evaluate_whole`), none dropped.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from nnvisual.errors import UserError


def scope(mode: str, batch_size: int):
    """The context to build, load and train in for ``--distribute mode``: :func:`data_parallel`,
    or for ``none`` one that changes nothing (and yields None)."""
    return data_parallel(batch_size) if mode == "data-parallel" else contextlib.nullcontext()


@contextlib.contextmanager
def data_parallel(batch_size: int):
    """Build, load and train models inside to split their batches over all devices; yields the
    device names. The batch must divide evenly (UserError otherwise, as on PyTorch)."""
    backend = keras.backend.backend()
    if backend == "jax":
        devices = keras.distribution.list_devices()
        _check_batch(batch_size, devices)
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield devices
        finally:
            keras.distribution.set_distribution(previous)
    elif backend == "tensorflow":
        import tensorflow as tf

        devices = [device.name for device in (tf.config.list_logical_devices("GPU")
                                              or tf.config.list_logical_devices("CPU"))]
        _check_batch(batch_size, devices)
        with tf.distribute.MirroredStrategy(devices).scope():
            yield devices
    else:
        raise UserError(f"--distribute data-parallel needs the jax or tensorflow backend (Keras 3 has no "
                        f"data-parallel training for {backend}); set KERAS_BACKEND=jax or tensorflow")


def _check_batch(batch_size: int, devices) -> None:
    if batch_size % len(devices):
        raise UserError(f"--distribute data-parallel splits each batch evenly over {len(devices)} devices: "
                        f"batch_size {batch_size} is not a multiple of {len(devices)}")


def replicas() -> int:
    """How many devices the surrounding :func:`data_parallel` splits batches over (1 outside)."""
    if keras.backend.backend() == "jax":
        distribution = keras.distribution.distribution()
        return distribution.device_mesh.devices.size if distribution is not None else 1
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    return 1


def evaluate_whole(model: keras.Model, batches) -> dict:
    """Loss (sparse categorical cross-entropy on the softmax, clipped at Keras' epsilon as Keras
    computes it) and accuracy of ``model`` over the ``tf.data`` ``batches``, each batch whole on
    one device. A data-parallel model's evaluation runs so: Keras' data distribution needs every
    batch to split evenly over the devices (JAX refuses an uneven one, TensorFlow's
    MirroredStrategy fails on it in ``evaluate``), and an evaluation's last batch rarely does;
    its images are all counted, none dropped."""
    epsilon = keras.config.epsilon()
    loss, correct, count = 0.0, 0, 0
    with _undistributed():
        for images, labels in batches.as_numpy_iterator():
            probabilities = keras.ops.convert_to_numpy(model(images, training=False)).astype(np.float64)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            chosen = np.clip(probabilities[np.arange(len(labels)), labels], epsilon, 1 - epsilon)
            loss -= np.log(chosen).sum()
            correct += int((probabilities.argmax(axis=1) == labels).sum())
            count += len(labels)
    return {"loss": loss / count, "accuracy": correct / count}


@contextlib.contextmanager
def _undistributed():
    """JAX: no data distribution inside (the variables stay replicated on every device)."""
    previous = keras.distribution.distribution() if keras.backend.backend() == "jax" else None
    if previous is None:
        yield
        return
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)
