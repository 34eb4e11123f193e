"""Harris corners (Harris & Stephens 1988) and their repeatability between two images.

Repeatability (Schmid, Mohr & Bauckhage 2000): the share of corners found again, within a
tolerance, once one image's corners are mapped into the other. Counted symmetrically: the
smaller of (corners of ``a`` with a corner of ``b`` nearby) and (corners of ``b`` with a corner of
``a`` nearby), over the smaller corner count, so it lies in [0, 1]. Between a reconstruction
and an unrelated image of the same size the mapping is the identity: the score then says how
many corners sit at the same places.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

HARRIS_K = 0.04  # the usual Harris sensitivity (det - k trace^2)
BLOCK_SIZE = 3  # neighbourhood of the structure tensor, pixels


def harris_corners(grey_image: np.ndarray, max_corners: int = 100, quality: float = 0.01,
                   min_distance: float = 3.0) -> np.ndarray:
    """(x, y) positions ``(N, 2)`` of the strongest Harris-response maxima, strongest first.

    ``quality`` keeps maxima above that fraction of the best response; ``min_distance`` spaces
    corners apart. A flat image gives ``(0, 2)``.
    """
    found = cv2.goodFeaturesToTrack(grey_image, maxCorners=max_corners, qualityLevel=quality,
                                    minDistance=min_distance, blockSize=BLOCK_SIZE,
                                    useHarrisDetector=True, k=HARRIS_K)
    if found is None:
        return np.zeros((0, 2), np.float32)
    return found.reshape(-1, 2).astype(np.float32)


class CornerIndex:
    """The Harris corners of a collection of images, to measure repeatability against."""

    def __init__(self, collection: list[np.ndarray]):
        self.counts = np.array([len(c) for c in collection], np.int64)
        self.image_of = np.repeat(np.arange(len(collection)), self.counts)
        stacked = np.concatenate([np.zeros((0, 2), np.float32), *collection])
        self.tree = cKDTree(stacked)

    def repeated(self, corners: np.ndarray, tolerance: float = 1.5) -> np.ndarray:
        """Per collection image, the smaller of two counts: ``corners`` with a corner of the
        image within ``tolerance`` pixels, and the image's corners with one of ``corners``."""
        neighbours = self.tree.query_ball_point(corners, r=tolerance) if len(corners) else []
        rows = np.repeat(np.arange(len(neighbours)), [len(n) for n in neighbours])
        columns = np.concatenate([np.zeros(0, np.int64), *map(np.asarray, neighbours)])
        columns = columns.astype(np.int64)
        images = self.image_of[columns]
        pairs = np.unique(np.stack([images, rows], axis=1), axis=0)  # (image, query corner)
        query_found = np.bincount(pairs[:, 0], minlength=len(self.counts))
        image_found = np.bincount(self.image_of[np.unique(columns)], minlength=len(self.counts))
        return np.minimum(query_found, image_found)

    def repeatability(self, corners: np.ndarray, tolerance: float = 1.5) -> np.ndarray:
        """Repeated corners over the smaller corner count, in [0, 1], per collection image;
        NaN where either image has no corners."""
        fewer = np.minimum(len(corners), self.counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(fewer > 0, self.repeated(corners, tolerance) / fewer, np.nan)


def repeatability(corners_a: np.ndarray, corners_b: np.ndarray, tolerance: float = 1.5,
                  transform: np.ndarray | None = None) -> float:
    """Repeatability of two images' corners, ``a``'s mapped into ``b`` by the 2x3 ``transform``
    (default: the identity, for images of the same size)."""
    mapped = corners_a if transform is None else corners_a @ transform[:, :2].T + transform[:, 2]
    return float(CornerIndex([corners_b]).repeatability(mapped, tolerance)[0])
