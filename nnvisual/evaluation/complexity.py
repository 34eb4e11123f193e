"""How concentrated a map is, from the map alone: sparseness (the Gini index of |map|, Chalasani
et al. 2020; higher: fewer pixels carry the relevance) and complexity (the entropy of |map| as a
distribution over pixels, Bhatt et al. 2020; lower is simpler, ``log(H * W)`` for a constant map)."""

from __future__ import annotations

import numpy as np


def _flat_abs(maps) -> np.ndarray:
    maps = np.asarray(maps, np.float64)
    return np.abs(maps.reshape(len(maps), -1))


def gini(maps) -> np.ndarray:
    """The Gini index of each map's |values| (N,): 0 for a constant map, ``1 - 1/n`` when one
    pixel holds everything; 0 for an all-zero map (nothing to rank)."""
    a = np.sort(_flat_abs(maps), axis=1)
    n = a.shape[1]
    weights = 2 * np.arange(1, n + 1) - n - 1
    total = a.sum(axis=1)
    return np.where(total > 0, (a * weights).sum(axis=1) / (n * np.where(total > 0, total, 1)), 0.0)


def entropy(maps) -> np.ndarray:
    """The entropy (nats) of each map's |values| normalized to sum 1 (N,); an all-zero map counts
    as constant (``log n``)."""
    a = _flat_abs(maps)
    n = a.shape[1]
    total = a.sum(axis=1, keepdims=True)
    p = np.where(total > 0, a / np.where(total > 0, total, 1), 1.0 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1)


def sparseness(task) -> np.ndarray:
    """Sparseness (Chalasani et al. 2020): :func:`gini` of the task's maps."""
    return gini(task.maps)


def complexity(task) -> np.ndarray:
    """Complexity (Bhatt et al. 2020): :func:`entropy` of the task's maps."""
    return entropy(task.maps)
