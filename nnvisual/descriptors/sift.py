"""SIFT keypoints and descriptors (Lowe 2004) with OpenCV, on grey images of a fixed side.

The study ran vlfeat's SIFT with peak threshold 0.01 on images in [0, 1]; OpenCV divides its
``contrastThreshold`` by the number of layers per octave (3), so 0.03 is the matching setting.
Small images (CIFAR-10's 32x32, even upsampled) give few keypoints; an image with none gives an
empty ``(0, 128)`` descriptor array, never an error.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from nnvisual import data

DESCRIPTOR_SIZE = 128


@dataclasses.dataclass(frozen=True)
class Features:
    """Keypoint positions ``(N, 2)`` as (x, y) pixels and their SIFT descriptors ``(N, 128)``."""

    points: np.ndarray
    descriptors: np.ndarray

    def __len__(self) -> int:
        return len(self.points)


EMPTY = Features(np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_SIZE), np.float32))


def grey(image: np.ndarray, size: int) -> np.ndarray:
    """An RGB uint8 image as a grey ``size`` x ``size`` uint8 image (the descriptors' input)."""
    if image.ndim == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return data.resize(image, (size, size))


def _features(keypoints, descriptors) -> Features:
    if descriptors is None or len(keypoints) == 0:
        return EMPTY
    points = np.array([kp.pt for kp in keypoints], np.float32).reshape(-1, 2)
    return Features(points, descriptors.astype(np.float32))


def sift(grey_image: np.ndarray, contrast_threshold: float = 0.03) -> Features:
    """SIFT keypoints detected in the difference-of-Gaussians scale space, with descriptors."""
    detector = cv2.SIFT_create(contrastThreshold=contrast_threshold)
    return _features(*detector.detectAndCompute(grey_image, None))


def describe(grey_image: np.ndarray, points: np.ndarray, patch_size: float) -> Features:
    """Upright SIFT descriptors of the given (x, y) points, each over a ``patch_size`` patch."""
    if len(points) == 0:
        return EMPTY
    keypoints = [cv2.KeyPoint(float(x), float(y), patch_size, 0.0) for x, y in points]
    return _features(*cv2.SIFT_create().compute(grey_image, keypoints))


def grid_points(height: int, width: int, step: int) -> np.ndarray:
    """(x, y) centres of a regular grid with spacing ``step``, half a step in from the borders."""
    xs, ys = np.meshgrid(np.arange(step / 2, width, step, dtype=np.float32),
                         np.arange(step / 2, height, step, dtype=np.float32))
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def dense_sift(grey_image: np.ndarray, step: int = 10, patch_size: float = 16.0) -> Features:
    """Dense SIFT: upright descriptors on a regular grid (every image gets the same count)."""
    return describe(grey_image, grid_points(*grey_image.shape[:2], step), patch_size)
