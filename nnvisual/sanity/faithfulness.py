"""Deletion and insertion curves (Petsiuk et al. 2018, RISE, section 4.1): the probability of the
explained class as the pixels are replaced by the baseline (deletion) or moved from the baseline
into the image (insertion), most important first by the map, in ``steps`` equal steps; and the
area under each curve (trapezoid over the fraction 0..1). A faithful map gives a low deletion
and a high insertion area."""

from __future__ import annotations

import numpy as np

from nnvisual.attribution import Network
from nnvisual.attribution.batches import in_chunks

CURVES = ("deletion", "insertion")


def curve_inputs(image, baseline, attribution_map, steps: int, curve: str) -> np.ndarray:
    """The ``steps + 1`` images of one curve (H, W, C each): step t has the ``t / steps``
    fraction of pixels with the largest map values (ties: row-major order) deleted or inserted."""
    if curve not in CURVES:
        raise ValueError(f"unknown curve {curve!r}")
    order = np.argsort(-np.ravel(attribution_map), kind="stable")
    pixels = order.size
    start, end = (image, baseline) if curve == "deletion" else (baseline, image)
    frames = np.repeat(start[None], steps + 1, axis=0).reshape(steps + 1, pixels, -1)
    flat_end = end.reshape(pixels, -1)
    for t in range(1, steps + 1):
        chosen = order[:round(pixels * t / steps)]
        frames[t, chosen] = flat_end[chosen]
    return frames.reshape(steps + 1, *image.shape)


def curves(network: Network, x, baselines, maps, classes, steps: int, curve: str,
           batch_size: int) -> np.ndarray:
    """(N, steps + 1) probabilities of the class ``classes[i]`` along each image's curve."""
    out = np.zeros((len(x), steps + 1))
    for i in range(len(x)):
        frames = curve_inputs(x[i], baselines[i], maps[i], steps, curve).astype(np.float32)
        out[i] = in_chunks(lambda f, c=classes[i]: network.probabilities(f)[:, c], frames,
                           size=batch_size)
    return out


def area(curve_values: np.ndarray) -> np.ndarray:
    """Area under each curve (..., steps + 1) over the fraction 0..1 (trapezoid rule)."""
    steps = curve_values.shape[-1] - 1
    return (curve_values[..., 1:] + curve_values[..., :-1]).sum(axis=-1) / (2 * steps)
