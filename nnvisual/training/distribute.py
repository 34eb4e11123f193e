"""Data-parallel training on every visible device, with the engines Keras 3 already has.

``--distribute data-parallel`` replicates the model on all devices and splits each step's batch
evenly across them: on JAX through ``keras.distribution.DataParallel`` over
``keras.distribution.list_devices()``, on TensorFlow through ``tf.distribute.MirroredStrategy``
over the GPUs (else the CPU's logical devices). Keras 3 offers no data-parallel training for
PyTorch. The convention (docs/distributed.md): ``batch_size`` is the global batch, split
``batch_size / devices`` per device, so the learning rate and the steps per epoch are those of one
device, except that each epoch's final partial batch is dropped so that every step splits evenly
(``floor(fit / batch_size)`` steps; the next epoch's reshuffle puts other images at the end).
Validation and test images are evaluated on whole batches (:func:`evaluate_whole`), none dropped.
On JAX the devices are those of every process that joined :func:`nnvisual.training.multihost.join`
(several hosts), each process feeding its own slice of every global batch.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from nnvisual.errors import UserError, named


def scope(mode: str, batch_size: int, fit_images: int | None = None):
    """The context to build, load and train in for ``--distribute mode``: :func:`data_parallel`,
    or for ``none`` one that changes nothing (and yields None)."""
    return data_parallel(batch_size, fit_images) if mode == "data-parallel" else contextlib.nullcontext()


@contextlib.contextmanager
def data_parallel(batch_size: int, fit_images: int | None = None):
    """Build, load and train models inside to split their batches over all :func:`devices`;
    yields their names. Refused up front (UserError), before anything runs on them, on PyTorch,
    when ``fit_images`` training images do not fill one batch (no step could be taken), and when
    the batch does not divide evenly over the devices."""
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise UserError(f"{named('distribute', 'data-parallel')} needs the jax or tensorflow backend "
                        f"(Keras 3 has no data-parallel training for {backend}); set KERAS_BACKEND=jax or "
                        "tensorflow")
    if fit_images is not None:
        check_fills_batch(fit_images, batch_size)
    names = devices()
    if batch_size % len(names):
        raise UserError(f"{named('distribute', 'data-parallel')} splits each batch evenly over "
                        f"{len(names)} devices: batch_size {batch_size} is not a multiple of {len(names)}")
    if backend == "jax":
        previous = keras.distribution.distribution()
        # each process feeds its own part of every batch (this_process), not a tf.data slice
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=names,
                                                                            auto_shard_dataset=False))
        try:
            yield names
        finally:
            keras.distribution.set_distribution(previous)
    else:
        import tensorflow as tf

        with tf.distribute.MirroredStrategy(names).scope():
            yield names


def check_fills_batch(fit_images: int, batch_size: int) -> None:
    """UserError when ``fit_images`` training images do not fill one whole (global) batch: data
    parallelism drops each epoch's partial batch, so no step could be taken."""
    if fit_images < batch_size:
        raise UserError(f"{named('distribute', 'data-parallel')} trains on whole batches: {fit_images} "
                        f"training images do not fill one batch of {batch_size}")


def devices() -> list[str]:
    """The devices :func:`data_parallel` splits batches over. JAX: every process's
    (``keras.distribution.list_devices``: the GPUs, else the CPU devices); TensorFlow: this
    process's logical GPUs, else its logical CPU devices."""
    if keras.backend.backend() == "jax":
        return keras.distribution.list_devices()
    import tensorflow as tf

    return [device.name for device in (tf.config.list_logical_devices("GPU")
                                       or tf.config.list_logical_devices("CPU"))]


def this_process(batches):
    """The part of every global batch of ``batches`` (a ``keras.utils.PyDataset``) that this
    process feeds to training: with several JAX processes (:mod:`nnvisual.training.multihost`), Keras'
    ``DataParallel`` assembles each global batch from every process's own part, in process order
    (``jax.make_array_from_process_local_data``); for one process, ``batches`` unchanged. Each
    process prepares the whole global batch (the same shuffle and augmentation as one process,
    draw for draw) and keeps its contiguous part."""
    if keras.backend.backend() != "jax":
        return batches
    import jax

    if jax.process_count() == 1:
        return batches
    return _ProcessPart(batches, jax.process_index(), jax.process_count())


class _ProcessPart(keras.utils.PyDataset):
    """Part ``index`` of ``count`` equal contiguous parts of each batch of ``batches``."""

    def __init__(self, batches, index: int, count: int):
        super().__init__(workers=batches.workers, use_multiprocessing=batches.use_multiprocessing,
                         max_queue_size=batches.max_queue_size)
        self.batches, self.index, self.count = batches, index, count

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, position: int):
        images, labels = self.batches[position]
        size = len(labels) // self.count
        part = slice(self.index * size, (self.index + 1) * size)
        return images[part], labels[part]

    def on_epoch_begin(self) -> None:
        self.batches.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.batches.on_epoch_end()


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
