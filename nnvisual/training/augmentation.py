"""The study's training augmentation, one description for both input pipelines.

Rotation up to ``rotation`` degrees, shifts up to ``shift`` of the width and height, and (with
``hflip``) horizontal flips, each drawn uniformly and independently per image, edge pixels
repeated (Keras' ImageDataGenerator; docs/study.md, "Training"). :attr:`Augmentation.layers` are
Keras' preprocessing layers that the ``tf.data`` pipeline runs; :meth:`Augmentation.apply` is the
same transform in NumPy and OpenCV for the pipeline without TensorFlow
(:mod:`nnvisual.training.numpy_pipeline`): the three steps composed into one affine map per image, so each
image is interpolated once (bilinear) where the layers interpolate it twice.
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import keras
import numpy as np

WARP_FLAGS = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP  # bilinear; the map goes from output to input


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """The study's augmentation settings (``TrainConfig``'s) and the seed of its draws."""

    rotation: float  # degrees: the angle is uniform in [-rotation, rotation]
    shift: float  # fraction of the height and width: each shift is uniform in [-shift, shift]
    hflip: bool  # flip horizontally with probability 1/2
    seed: int

    @functools.cached_property
    def layers(self) -> list[keras.layers.Layer]:
        """Keras' RandomRotation, RandomTranslation and RandomFlip (seeds ``seed``, +1, +2)."""
        layers = [keras.layers.RandomRotation(self.rotation / 360.0, fill_mode="nearest", seed=self.seed),
                  keras.layers.RandomTranslation(self.shift, self.shift, fill_mode="nearest",
                                                 seed=self.seed + 1)]
        if self.hflip:
            layers.append(keras.layers.RandomFlip("horizontal", seed=self.seed + 2))
        return layers

    def transforms(self, rng: np.random.Generator, count: int, height: int, width: int) -> np.ndarray:
        """``count`` random affine maps (count, 2, 3) from output to input pixel coordinates
        (x right, y down): Keras' rotation about the image centre, then the shift, then the flip."""
        angle = np.deg2rad(rng.uniform(-self.rotation, self.rotation, count))
        shift_x = rng.uniform(-self.shift, self.shift, count) * width
        shift_y = rng.uniform(-self.shift, self.shift, count) * height
        flipped = rng.uniform(size=count) < 0.5 if self.hflip else np.zeros(count, bool)
        cos, sin = np.cos(angle), np.sin(angle)
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        maps = np.zeros((count, 3, 3))
        maps[:, 0] = np.stack([cos, -sin, centre_x - cos * centre_x + sin * centre_y], axis=1)
        maps[:, 1] = np.stack([sin, cos, centre_y - sin * centre_x - cos * centre_y], axis=1)
        maps[:, 2, 2] = 1
        shift = np.tile(np.eye(3), (count, 1, 1))
        shift[:, 0, 2], shift[:, 1, 2] = -shift_x, -shift_y
        flip = np.tile(np.eye(3), (count, 1, 1))
        flip[flipped, 0, 0], flip[flipped, 0, 2] = -1, width - 1
        return (maps @ shift @ flip)[:, :2]

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``images`` (N, H, W, C) transformed by :meth:`transforms`, as float32."""
        count, height, width = images.shape[:3]
        out = np.empty(images.shape, np.float32)
        transforms = self.transforms(rng, count, height, width)
        for image, transform, target in zip(images.astype(np.float32), transforms, out, strict=True):
            warped = cv2.warpAffine(image, transform, (width, height), flags=WARP_FLAGS,
                                    borderMode=cv2.BORDER_REPLICATE)
            target[:] = warped.reshape(target.shape)  # OpenCV drops a single channel's axis
        return out
