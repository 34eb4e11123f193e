"""The input pipeline without TensorFlow: a ``keras.utils.PyDataset`` of NumPy batches.

The ``tf.data`` pipeline of :func:`nnvisual.training.input_pipeline`, batch for batch in
semantics: a fresh uniform shuffle each epoch from the seed, batches in that order (the last one
partial unless dropped), streamed files (:class:`~nnvisual.data.streaming.ImageFiles`) decoded as their
batch is reached, and :class:`~nnvisual.training.augmentation.Augmentation` drawn per image. Batches are
prepared ahead by Keras' thread pool (OpenCV releases the GIL while it decodes and warps); each
batch's random numbers come from (seed, epoch, batch index), so the images do not depend on which
thread prepared them.
"""

from __future__ import annotations

import keras
import numpy as np

from nnvisual.data import streaming
from nnvisual.data.streaming import ImageFiles
from nnvisual.training.augmentation import Augmentation

WORKERS = 2  # threads preparing batches ahead of training


class Batches(keras.utils.PyDataset):
    """(images, labels) batches of ``x`` and ``y``: uint8 images as stored, float32 augmented."""

    def __init__(self, x: np.ndarray | ImageFiles, y: np.ndarray, batch_size: int,
                 shuffle_seed: int | None = None, augment: Augmentation | None = None,
                 drop_remainder: bool = False):
        super().__init__(workers=WORKERS, use_multiprocessing=False)
        self.x, self.y, self.batch_size = x, np.asarray(y), batch_size
        self.shuffle_seed, self.augment, self.drop_remainder = shuffle_seed, augment, drop_remainder
        self.epoch = 0
        self.order = self._epoch_order()

    def __len__(self) -> int:
        whole, rest = divmod(len(self.y), self.batch_size)
        return whole if self.drop_remainder or not rest else whole + 1

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = streaming.pixels(self.x, chosen)
        if self.augment is not None:
            rng = np.random.default_rng((self.augment.seed, self.epoch, index))
            images = self.augment.apply(images, rng)
        return images, self.y[chosen]

    def on_epoch_end(self) -> None:
        """Next epoch: a new order (when shuffled) and new augmentations."""
        self.epoch += 1
        self.order = self._epoch_order()

    def as_numpy_iterator(self):
        """One epoch of batches, then on to the next (as a ``tf.data`` pipeline reshuffled on
        each iteration does, whose method this is named after)."""
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()

    def _epoch_order(self) -> np.ndarray:
        if self.shuffle_seed is None:
            return np.arange(len(self.y))
        return np.random.default_rng((self.shuffle_seed, self.epoch)).permutation(len(self.y))
