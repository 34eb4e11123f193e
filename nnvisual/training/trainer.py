"""Training the study's CIFAR-10 networks (docs/study.md, "Training"; Tables 1-2, Figure 2).

Adam, sparse categorical cross-entropy (the same loss as categorical cross-entropy on one-hot
labels), a random validation split, augmentation (rotation, shifts, horizontal flip) applied on
the fly in a parallel input pipeline (``tf.data`` on the TensorFlow backend, NumPy batches on the
others, which then train without TensorFlow), and early stopping on the training loss. Library
code: the caller supplies ``on_epoch_end`` to save checkpoints; nothing here writes files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence

import keras
import numpy as np

from nnvisual.config import TrainConfig
from nnvisual.data import Dataset, streaming
from nnvisual.data.streaming import ImageFiles
from nnvisual.errors import UserError, named
from nnvisual.runtime import seeding
from nnvisual.runtime.interrupts import Interrupted, StopRequest
from nnvisual.training import distribute, numpy_pipeline
from nnvisual.training.augmentation import Augmentation

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")


@dataclasses.dataclass(frozen=True)
class Split:
    """The training data after the random validation split (images as arrays, or the
    :class:`~nnvisual.data.streaming.ImageFiles` of a streamed folder)."""

    x_fit: np.ndarray | ImageFiles
    y_fit: np.ndarray
    x_val: np.ndarray | ImageFiles
    y_val: np.ndarray


def validation_indices(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (fit, validation) of a random split holding out ``fraction`` of ``count``
    items, at least one on each side."""
    if count < 2:
        raise UserError(f"training needs at least 2 images (one held out for validation), got {count}")
    order = np.random.default_rng(seed).permutation(count)
    held_out = min(count - 1, max(1, round(count * fraction)))
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> Split:
    """Hold out a random ``fraction`` of (x, y) for validation (docs/study.md, "Training": 30%,
    35,000/15,000)."""
    fit, val = validation_indices(len(x), fraction, seed)
    return Split(x[fit], y[fit], x[val], y[val])


def channel_means(images: np.ndarray | ImageFiles) -> np.ndarray:
    """Per-channel mean of uint8 images (N, H, W, 3), the model's mean-subtraction values."""
    if isinstance(images, ImageFiles):
        return streaming.channel_means(images)
    return images.reshape(-1, images.shape[-1]).mean(axis=0, dtype=np.float64)


def augmenter(config: TrainConfig, seed: int) -> Augmentation:
    """The study's augmentation: rotation up to ``rotation`` degrees, shifts up to ``shift``
    of width and height, horizontal flips; edge pixels repeated (Keras' ImageDataGenerator)."""
    return Augmentation(config.rotation, config.shift, config.hflip, seed)


def input_pipeline(x: np.ndarray | ImageFiles, y: np.ndarray, batch_size: int,
                   shuffle_seed: int | None = None, augment: Augmentation | None = None,
                   drop_remainder: bool = False):
    """Batches of (x, y) for Keras: shuffled each epoch from ``shuffle_seed`` (none: in order),
    augmented (float32) or not (as stored), ``drop_remainder`` dropping a final partial batch.

    A ``tf.data`` pipeline on the TensorFlow backend (:func:`tf_data_pipeline`), a
    :class:`nnvisual.training.numpy_pipeline.Batches` on the others: free of TensorFlow, and about 6x
    cheaper in CPU there than ``tf.data`` (docs/performance.md).
    """
    if keras.backend.backend() == "tensorflow":
        return tf_data_pipeline(x, y, batch_size, shuffle_seed, augment, drop_remainder)
    return numpy_pipeline.Batches(x, y, batch_size, shuffle_seed, augment, drop_remainder)


def tf_data_pipeline(x: np.ndarray | ImageFiles, y: np.ndarray, batch_size: int,
                     shuffle_seed: int | None = None, augment: Augmentation | None = None,
                     drop_remainder: bool = False):
    """A ``tf.data`` pipeline: shuffle, batch, augment whole batches in parallel, prefetch.

    Streamed images (:class:`~nnvisual.data.streaming.ImageFiles`) are shuffled and batched as file
    names, then decoded a batch at a time, batches in parallel; tf.data's shuffle draws the same
    order for names as for the images.

    tf.data's autotuning is off (parallel calls and prefetch at its fixed defaults): with it, about
    half the epochs on a 2-core CPU ran at about 1.2 cores busy and two thirds of the rate, whatever the
    kernels (oneDNN or Eigen) and the thread settings; without it none of 12 did
    (docs/performance.md, "The stall").
    """
    import tensorflow as tf

    streamed = isinstance(x, ImageFiles)
    dataset = tf.data.Dataset.from_tensor_slices((x.paths if streamed else x, y))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if streamed:
        dataset = dataset.map(streaming.batch_decoder(x.size), num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        def augment_batch(images, labels):
            # layer by layer: Keras' preprocessing layers then run as TensorFlow ops inside
            # tf.data whatever the Keras backend (a Sequential would use the backend's ops)
            images = tf.cast(images, "float32")
            for layer in augment.layers:
                images = layer(images, training=True)
            return images, labels

        dataset = dataset.map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def compile_model(model: keras.Model, lr: float) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping (on a loss), primed with the values of the epochs already done."""

    def __init__(self, previous: list[float], **kwargs):
        super().__init__(mode="min", **kwargs)
        self.previous = list(previous)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.monitor_op is None:
            self._set_monitor_op()
        for value in self.previous:  # Keras' own bookkeeping, replayed
            self.wait += 1
            if self._is_improvement(value, self.best):
                self.best, self.wait = value, 0


class _EpochEnd(keras.callbacks.Callback):
    """Times each epoch, appends it to ``history`` and hands the model to ``on_epoch_end``."""

    def __init__(self, history: dict, on_epoch_end: Callable):
        super().__init__()
        self.history, self.on_epoch_end_fn = history, on_epoch_end

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.epoch = time.perf_counter(), epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss", 0.0)
        if not np.isfinite(loss):
            self._diverged(f"the loss is {float(loss)} in batch {batch + 1} of epoch {self.epoch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {}, seconds=time.perf_counter() - self.start)
        if not np.isfinite(logs["loss"]):
            self._diverged(f"the loss is {float(logs['loss'])} in epoch {epoch + 1}")
        if not all(np.isfinite(weights).all() for weights in self.model.get_weights()):
            self._diverged(f"the weights are not finite after epoch {epoch + 1}")
        for key in HISTORY_KEYS:
            self.history[key].append(float(logs[key]))
        self.on_epoch_end_fn(epoch + 1, self.model, self.history)

    def _diverged(self, what: str):
        """Stop with one line (NaN or infinity); the last checkpoint, if any, stands."""
        kept = (f"the run keeps the checkpoint of epoch {self.epoch}" if self.epoch
                else "no checkpoint was written")
        raise UserError(f"training diverged: {what}; {kept}; train again with a smaller {named('lr')}")


class _WholeBatchValidation(keras.callbacks.Callback):
    """Adds ``val_loss`` and ``val_accuracy`` to each epoch's logs, from
    :func:`nnvisual.training.distribute.evaluate_whole` (a data-parallel model)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_end(self, epoch, logs=None):
        measured = distribute.evaluate_whole(self.model, self.batches)
        logs.update(val_loss=measured["loss"], val_accuracy=measured["accuracy"])


class _StopWhenRequested(keras.callbacks.Callback):
    """Raise :class:`Interrupted` after the current batch, or after the epoch's checkpoint."""

    def __init__(self, request: StopRequest):
        super().__init__()
        self.request = request

    def on_train_batch_end(self, batch, logs=None):
        if self.request.requested:
            raise Interrupted(self.request.signal_name)

    on_epoch_end = on_train_batch_end


def fit(model: keras.Model, split: Split, config: TrainConfig, history: dict | None = None,
        on_epoch_end: Callable = lambda epochs_done, model, history: None,
        stop: StopRequest | None = None, verbose: int | str = "auto",
        callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict:
    """Train ``model`` (compiled) up to ``config.epochs``, continuing after ``history``'s epochs.

    ``callbacks`` (e.g. :mod:`nnvisual.callbacks`') run after the epoch's validation and
    before ``on_epoch_end(epochs_done, model, history)``, which runs after every epoch
    (checkpointing: a checkpoint then covers what they wrote for its epoch); when
    ``stop`` is requested, training raises :class:`Interrupted` after the current batch, so the
    partial epoch is dropped and the last checkpoint stands. Inside :func:`distribute.data_parallel`
    each epoch's final partial batch is dropped (the convention of :mod:`nnvisual.training.distribute`).
    Returns the history: a list per key of HISTORY_KEYS, one value per epoch.
    """
    history = {key: list((history or {}).get(key, [])) for key in HISTORY_KEYS}
    done = len(history["loss"])
    if done >= config.epochs:
        return history
    parallel = distribute.replicas() > 1  # inside distribute.data_parallel: whole batches only
    if parallel:
        distribute.check_fills_batch(len(split.x_fit), config.batch_size)
    train = distribute.this_process(input_pipeline(
        split.x_fit, split.y_fit, config.batch_size, shuffle_seed=config.seed + done,
        augment=augmenter(config, config.seed + done) if config.augment else None,
        drop_remainder=parallel))
    val = input_pipeline(split.x_val, split.y_val, config.batch_size)
    all_callbacks = [*callbacks, _EpochEnd(history, on_epoch_end)]
    if stop is not None:
        all_callbacks.append(_StopWhenRequested(stop))
    if config.early_stopping_monitor != "none":
        all_callbacks.insert(0, ResumableEarlyStopping(
            history[config.early_stopping_monitor], monitor=config.early_stopping_monitor,
            min_delta=config.early_stopping_min_delta, patience=config.early_stopping_patience))
    if parallel:  # validated on whole batches, before the callbacks that read val_*
        all_callbacks.insert(0, _WholeBatchValidation(val))
    with streaming.read_errors():
        model.fit(train, validation_data=None if parallel else val, epochs=config.epochs,
                  initial_epoch=done, shuffle=False, callbacks=all_callbacks, verbose=verbose)
    return history


def evaluate(model: keras.Model, x: np.ndarray | ImageFiles, y: np.ndarray, batch_size: int = 256) -> dict:
    """Loss and accuracy of ``model`` on (x, y), e.g. the CIFAR-10 test split."""
    batches = input_pipeline(x, y, batch_size)
    with streaming.read_errors():
        if distribute.replicas() > 1:
            return distribute.evaluate_whole(model, batches)
        loss, accuracy = model.evaluate(batches, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (``/proc/cpuinfo``); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            line = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.partition(":")[2].split())


def resolve_precision(requested: str, backend: str | None = None, flags: set[str] | None = None,
                      gpu: bool | None = None) -> str:
    """The Keras dtype policy to train with: ``requested`` unless it is ``auto``.

    ``auto`` is ``mixed_bfloat16`` (bfloat16 arithmetic, float32 weights; Micikevicius et al.
    2018, Kalamkar et al. 2019) where it was measured to pay: TensorFlow running on a CPU with
    Intel AMX bfloat16 tiles (``amx_bf16``), where plotka trains about 2x faster at the same
    accuracy (docs/performance.md). Everywhere else (other CPUs, GPUs, the JAX and PyTorch
    backends) it is ``float32``. ``backend``, ``flags`` and ``gpu`` default to this process's.
    """
    if requested != "auto":
        return requested
    backend = backend or keras.backend.backend()
    if backend != "tensorflow":
        return "float32"
    if gpu is None:
        import tensorflow as tf

        gpu = bool(tf.config.list_physical_devices("GPU"))
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if "amx_bf16" in flags and not gpu else "float32"


def new_model(config: TrainConfig, split: Split) -> keras.Model:
    """A compiled, freshly initialized network with the fitting images' channel means inside,
    computing in ``resolve_precision(config.precision)`` (its softmax always in float32)."""
    from nnvisual.models.study import build_model

    seeding.set_random_seed(config.seed)
    with dtype_policy(resolve_precision(config.precision)):
        model = build_model(config.model, config.num_classes, mean=channel_means(split.x_fit))
    return compile_model(model, config.lr)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Layers made inside compute in Keras dtype policy ``name``; the previous one is restored."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def training_split(dataset: Dataset, config: TrainConfig) -> tuple[Dataset, Split]:
    """Apply ``--subset`` and the validation split, reproducibly from ``config.seed``."""
    from nnvisual.data import subset_dataset

    if config.subset is not None:
        dataset = subset_dataset(dataset, config.subset, config.seed)
    return dataset, split_validation(dataset.x_train, dataset.y_train, config.val_split, config.seed)
