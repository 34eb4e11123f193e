"""Does the map point at the object? Given a mask of where the object is (N, H, W), at the
map's size: the pointing game (Zhang et al. 2018: is a maximum of the map inside the mask),
relevance mass accuracy (Arras et al. 2022: the share of the positive relevance inside the mask)
and relevance rank accuracy (Arras et al. 2022: of the K pixels with the largest values, K the
mask's size, the share inside the mask). An image whose mask is empty scores NaN."""

from __future__ import annotations

import numpy as np


def _flat(task):
    if task.masks is None:
        raise ValueError("localisation metrics need masks")
    n = len(task.maps)
    maps = np.asarray(task.maps, np.float64).reshape(n, -1)
    masks = np.asarray(task.masks, bool).reshape(n, -1)
    if maps.shape != masks.shape:
        raise ValueError(f"masks {np.shape(task.masks)} do not match maps {np.shape(task.maps)}")
    return maps, masks


def _empty_nan(values, masks):
    return np.where(masks.any(axis=1), values, np.nan)


def pointing_game(task) -> np.ndarray:
    """1 where a pixel holding the map's maximum lies inside the mask, else 0 (N,)."""
    maps, masks = _flat(task)
    top = maps == maps.max(axis=1, keepdims=True)
    return _empty_nan((top & masks).any(axis=1).astype(np.float64), masks)


def relevance_mass_accuracy(task) -> np.ndarray:
    """The positive relevance inside the mask over the positive relevance in all (N,); 0 for a
    map with none."""
    maps, masks = _flat(task)
    positive = np.clip(maps, 0, None)
    total = positive.sum(axis=1)
    inside = (positive * masks).sum(axis=1)
    return _empty_nan(np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0), masks)


def relevance_rank_accuracy(task) -> np.ndarray:
    """The share of the mask's size K of top-ranked pixels (largest first; ties in row-major
    order) that lie inside the mask (N,)."""
    maps, masks = _flat(task)
    order = np.argsort(-maps, axis=1, kind="stable")
    sizes = masks.sum(axis=1)
    ranked = np.take_along_axis(masks, order, axis=1)
    top = np.arange(maps.shape[1])[None] < sizes[:, None]
    return _empty_nan((ranked & top).sum(axis=1) / np.maximum(sizes, 1), masks)
