"""``nv.callbacks.TrainingScalars``: each epoch's logs (loss, accuracy, ...) as TensorBoard
scalars, without TensorFlow (Keras' own ``keras.callbacks.TensorBoard`` needs it)."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from nnvisual.callbacks import writer


class TrainingScalars(keras.callbacks.Callback):
    """Every epoch's numeric logs (``loss``, ``accuracy``, ``val_loss``, ...) as scalars
    ``epoch/<name>`` at step = the epoch (counted from 1), in the TensorBoard log folder
    ``tensorboard``; ``written(path)`` is told of the event file after each epoch."""

    def __init__(self, tensorboard: str | Path, written: writer.Written | None = None):
        super().__init__()
        writer.check_tensorboard()
        self.tensorboard, self.written = tensorboard, written
        self._board = None

    def on_epoch_end(self, epoch, logs=None):
        values = {}
        for name, value in (logs or {}).items():
            try:
                value = float(value)
            except (TypeError, ValueError):  # not a number (e.g. a learning-rate schedule)
                continue
            if math.isfinite(value):
                values[f"epoch/{name}"] = value
        if self._board is None:
            self._board = writer.TensorBoard(self.tensorboard, self.written)
        self._board.scalars(values, epoch + 1)

    def on_train_end(self, logs=None):
        if self._board is not None:
            self._board.close()
            self._board = None
