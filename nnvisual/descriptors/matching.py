"""Geometric matching of one image's SIFT features against a collection's (docs/study.md,
"Bag of visual words").

Each query descriptor's two nearest descriptors in a collection image are found (Euclidean);
the match to the nearest is kept when it is clearly better than the second (Lowe's ratio test,
Lowe 2004, 0.8). The kept matches are then fitted with a similarity transform (rotation, uniform
scale, translation) by RANSAC (``cv2.estimateAffinePartial2D``); the number of RANSAC inliers is
the image's contribution. Fewer than two kept matches cannot fix a similarity: 0 inliers.

All collection images are searched at once: one distance matrix against the concatenated
descriptors, reduced per image with ``np.minimum.reduceat``.
"""

from __future__ import annotations

import cv2
import numpy as np

from nnvisual.descriptors.sift import Features


def ransac_inliers(points_a: np.ndarray, points_b: np.ndarray, iterations: int = 100,
                   threshold: float = 15.0) -> int:
    """RANSAC inliers of a similarity transform mapping ``points_a`` onto ``points_b``."""
    if len(points_a) < 2:
        return 0
    model, inliers = cv2.estimateAffinePartial2D(
        points_a.reshape(-1, 1, 2), points_b.reshape(-1, 1, 2), method=cv2.RANSAC,
        ransacReprojThreshold=threshold, maxIters=iterations)
    return 0 if model is None else int(np.count_nonzero(inliers))


class MatchIndex:
    """The descriptors of a collection of images, ready to be matched against many queries."""

    def __init__(self, collection: list[Features]):
        counts = np.array([len(f) for f in collection], np.int64)
        self.size = len(collection)
        self.nonempty = np.flatnonzero(counts > 0)
        kept = [collection[i] for i in self.nonempty]
        self.descriptors = (np.concatenate([f.descriptors for f in kept]) if kept
                            else np.zeros((0, 128), np.float32))
        self.points = (np.concatenate([f.points for f in kept]) if kept
                       else np.zeros((0, 2), np.float32))
        self.squared_norms = np.einsum("ij,ij->i", self.descriptors, self.descriptors)
        self.sizes = counts[self.nonempty]
        self.ends = np.cumsum(self.sizes)
        self.starts = self.ends - self.sizes

    def ratio_matches(self, query: Features,
                      ratio: float = 0.8) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per nonempty collection image, (query indices, collection-row indices) of the matches
        that pass the ratio test ``d1 < ratio * d2`` (ties fail; an image with a single descriptor
        has no second neighbour, and its match passes, as in vlfeat's ``vl_ubcmatch``)."""
        if len(query) == 0 or len(self.nonempty) == 0:
            return [(np.zeros(0, np.int64), np.zeros(0, np.int64)) for _ in self.nonempty]
        # |q - t|^2 - |q|^2 = |t|^2 - 2 q.t: the query's norm is added after the reductions
        partial = (-2.0 * query.descriptors) @ self.descriptors.T
        partial += self.squared_norms
        nearest = np.minimum.reduceat(partial, self.starts, axis=1)
        is_nearest = partial == np.repeat(nearest, self.sizes, axis=1)  # contiguous, fast
        ties = np.add.reduceat(is_nearest, self.starts, axis=1, dtype=np.int32) > 1
        np.putmask(partial, is_nearest, np.inf)
        second = np.where(ties, nearest, np.minimum.reduceat(partial, self.starts, axis=1))
        query_norms = np.einsum("ij,ij->i", query.descriptors, query.descriptors)[:, None]
        passed = (np.sqrt(np.maximum(nearest + query_norms, 0.0))
                  < ratio * np.sqrt(np.maximum(second + query_norms, 0.0)))
        matches = []
        for group, (start, end) in enumerate(zip(self.starts, self.ends, strict=True)):
            rows = np.flatnonzero(passed[:, group])
            matches.append((rows, start + is_nearest[rows, start:end].argmax(axis=1)))
        return matches

    def inliers(self, query: Features, ratio: float = 0.8, iterations: int = 100,
                threshold: float = 15.0) -> np.ndarray:
        """RANSAC inlier count ``(len(collection),)`` of the query against every image."""
        counts = np.zeros(self.size, np.int64)
        matches = self.ratio_matches(query, ratio)
        for image, (rows, columns) in zip(self.nonempty, matches, strict=True):
            counts[image] = ransac_inliers(query.points[rows], self.points[columns],
                                           iterations, threshold)
        return counts
