"""Features of many images, extracted in parallel and cached per image set.

Each image gets the chosen descriptor's keypoints and descriptors (SIFT, dense SIFT, or Harris
corners described by SIFT) and, for the repeatability table, its Harris corners. OpenCV releases
the GIL, so a thread pool (joblib) runs images side by side without copying them to processes.

:func:`cached_features` keeps the features of an image set in the cache
(:mod:`nnvisual.runtime.cache`, ``descriptors/<key>.npz``), the key hashing the images' bytes and the
settings, so scoring the same reconstructions against another set reuses the class images'.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

import cv2
import numpy as np
from joblib import Parallel, delayed

from nnvisual.choices import DESCRIPTORS, one_of
from nnvisual.descriptors import harris, sift
from nnvisual.runtime.cache import cache_path, cached_arrays

CACHE_VERSION = "1"
CHUNK = 64  # images per parallel task
PACKED = ("counts", "points", "descriptors", "corner_counts", "corners")  # arrays of a cache


@dataclasses.dataclass(frozen=True)
class Settings:
    """How features are extracted: the fields of ``ScoreBowConfig`` of the same names, where
    their defaults and meanings are documented."""

    descriptor: str  # one of choices.DESCRIPTORS
    size: int
    contrast_threshold: float
    dense_step: int
    patch_size: float
    harris_max_corners: int
    harris_quality: float
    harris_min_distance: float

    def __post_init__(self):
        if self.descriptor not in DESCRIPTORS:
            raise ValueError(f"unknown descriptor '{self.descriptor}': choose {one_of(DESCRIPTORS)}")
        if self.size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {self.size}")
        if not 1 <= self.dense_step <= self.size:
            raise ValueError(f"dense_step must be between 1 and size ({self.size}), got "
                             f"{self.dense_step}")
        if self.contrast_threshold < 0:
            raise ValueError("contrast_threshold must be >= 0")
        if self.patch_size <= 0:
            raise ValueError("patch_size must be positive")
        if self.harris_max_corners < 1:
            raise ValueError("harris_max_corners must be at least 1")
        if not 0 < self.harris_quality < 1:
            raise ValueError("harris_quality must be in (0, 1)")
        if self.harris_min_distance < 0:
            raise ValueError("harris_min_distance must be >= 0")


@dataclasses.dataclass(frozen=True)
class ImageFeatures:
    """One image's descriptor features and its Harris corners ``(N, 2)``."""

    features: sift.Features
    corners: np.ndarray


def image_features(image: np.ndarray, settings: Settings) -> ImageFeatures:
    """The features of one RGB uint8 image at ``settings.size``."""
    grey = sift.grey(image, settings.size)
    corners = harris.harris_corners(grey, settings.harris_max_corners, settings.harris_quality,
                                    settings.harris_min_distance)
    if settings.descriptor == "sift":
        features = sift.sift(grey, settings.contrast_threshold)
    elif settings.descriptor == "dense-sift":
        features = sift.dense_sift(grey, settings.dense_step, settings.patch_size)
    elif settings.descriptor == "harris":
        features = sift.describe(grey, corners, settings.patch_size)
    else:
        raise ValueError(f"unknown descriptor {settings.descriptor!r}")
    return ImageFeatures(features, corners)


def extract(images: np.ndarray, settings: Settings,
            n_jobs: int | None = None) -> list[ImageFeatures]:
    """Features of every image, in order, computed by ``n_jobs`` threads (default: all cores).

    OpenCV's own threads are switched off meanwhile (and restored): splitting one 100-pixel
    image between threads costs more than it saves, and they would contend with the pool's.
    """
    def chunk_features(chunk):
        return [image_features(image, settings) for image in chunk]

    chunks = [images[i:i + CHUNK] for i in range(0, len(images), CHUNK)]
    jobs = min(n_jobs or os.cpu_count() or 1, len(chunks))
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        parts = (map(chunk_features, chunks) if jobs <= 1 else
                 Parallel(n_jobs=jobs, prefer="threads")(map(delayed(chunk_features), chunks)))
        return [f for part in parts for f in part]
    finally:
        cv2.setNumThreads(previous)


def cache_key(images: np.ndarray, settings: Settings) -> str:
    digest = hashlib.sha256(f"v{CACHE_VERSION} {settings} {images.shape} {images.dtype}".encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()[:32]


def _pack(found: list[ImageFeatures]) -> dict[str, np.ndarray]:
    return {
        "counts": np.array([len(f.features) for f in found], np.int64),
        "points": np.concatenate([sift.EMPTY.points, *(f.features.points for f in found)]),
        "descriptors": np.concatenate([sift.EMPTY.descriptors,
                                       *(f.features.descriptors for f in found)]),
        "corner_counts": np.array([len(f.corners) for f in found], np.int64),
        "corners": np.concatenate([np.zeros((0, 2), np.float32), *(f.corners for f in found)]),
    }


def _unpack(arrays) -> list[ImageFeatures]:
    if len(arrays["counts"]) == 0:
        return []
    split = np.cumsum(arrays["counts"])[:-1]
    corner_split = np.cumsum(arrays["corner_counts"])[:-1]
    return [ImageFeatures(sift.Features(p, d), c) for p, d, c in zip(
        np.split(arrays["points"], split), np.split(arrays["descriptors"], split),
        np.split(arrays["corners"], corner_split), strict=True)]


def cached_features(images: np.ndarray, settings: Settings) -> list[ImageFeatures]:
    """:func:`extract`, read from the descriptor cache, or computed and stored there."""
    arrays = cached_arrays(cache_path("descriptors", f"{cache_key(images, settings)}.npz"), PACKED,
                           lambda: _pack(extract(images, settings)))
    return _unpack(arrays)
