"""Step ``train``: the study's CIFAR-10 networks trained and evaluated (docs/study.md,
"Training"; Tables 1-2, Figure 2).

The method (input pipeline, augmentation, early stopping, precision) is :mod:`nnvisual.training`;
this module holds what the experiment adds to it: reproducibility (:func:`enable_determinism`),
training then testing (:func:`train`), and the tables and figure title of a result. The caller's
``on_epoch_end`` writes the checkpoints; nothing here writes files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from nnvisual import training
from nnvisual.config import TrainConfig
from nnvisual.data import Dataset
from nnvisual.paper import TRAINING_TABLES
from nnvisual.runtime import seeding
from nnvisual.runtime.interrupts import StopRequest


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """A trained network's history (one value per epoch and key of ``training.HISTORY_KEYS``),
    its loss and accuracy on the test split and on the training split evaluated as the test
    split is (``training_evaluated``: no augmentation, no dropout; Keras' logged training values
    have both, so they sit below the validation ones where the paper's sit above)."""

    history: dict[str, list[float]]
    test: dict[str, float]
    training_evaluated: dict[str, float] = dataclasses.field(default_factory=dict)


def enable_determinism(seed: int) -> None:
    """Seed Python, NumPy and the backend, and make the backend's ops deterministic: TensorFlow's
    (its backend and its ``tf.data`` pipeline), PyTorch's (JAX is deterministic by default, and
    the other backends' input pipeline, :mod:`nnvisual.training.numpy_pipeline`, is seeded per batch)."""
    import keras

    seeding.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif keras.backend.backend() == "torch":
        import torch

        torch.use_deterministic_algorithms(True)


def train(model, dataset: Dataset, split: training.Split, config: TrainConfig,
          history: dict | None = None, on_epoch_end: Callable = lambda *args: None,
          stop: StopRequest | None = None, verbose: int | str = "auto",
          callbacks: Sequence = ()) -> TrainResult:
    """Fit ``model`` on ``split`` up to ``config.epochs`` (continuing after ``history``'s
    epochs, with Keras ``callbacks``; see :func:`nnvisual.training.fit`), then evaluate it on
    ``dataset``'s test split and on the training images it was fitted on."""
    history = training.fit(model, split, config, history, on_epoch_end, stop, verbose, callbacks)
    return TrainResult(history, training.evaluate(model, dataset.x_test, dataset.y_test),
                       training.evaluate(model, split.x_fit, split.y_fit))


def history_table(history: dict[str, list[float]]):
    """``tables/history.csv``: one row per epoch."""
    keys = training.HISTORY_KEYS
    rows = [(epoch + 1, *(history[key][epoch] for key in keys))
            for epoch in range(len(history["loss"]))]
    return ("epoch", *keys), rows


def metrics_table(model_name: str, result: TrainResult):
    """``tables/metrics.csv``: Tables 1-2's layout (final training and validation accuracy and
    loss) with the test split and the paper's values beside them. ``training`` is Keras' value
    logged during the last epoch (under augmentation and dropout), ``training_evaluated`` the
    final model's on the same images without either (NaN when not measured); the paper's values
    are NaN for a network outside the study (vit-tiny)."""
    paper = TRAINING_TABLES.get(model_name, {"accuracy": (math.nan, math.nan),
                                             "loss": (math.nan, math.nan)})
    history, test, fit = result.history, result.test, result.training_evaluated
    rows = [(name.capitalize(), history[key][-1], fit.get(key, math.nan),
             history[f"val_{key}"][-1], test[key], *paper[key])
            for name, key in (("accuracy", "accuracy"), ("loss", "loss"))]
    return ("metric", "training", "training_evaluated", "validation", "test", "paper_training",
            "paper_validation"), rows


def curves_title(config: TrainConfig, history: dict[str, list[float]], precision: str) -> str:
    """The title of Figure 2's curves: the network, its epochs and its training settings."""
    epochs = len(history["loss"])
    return (f"{config.model}: {epochs} epoch{'' if epochs == 1 else 's'}, Adam lr {config.lr:g}, "
            f"batch {config.batch_size}, {precision}")
