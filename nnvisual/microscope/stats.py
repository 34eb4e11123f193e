"""Whether a channel's feature visualizations excite it more than any dataset image does.

A channel's response to an image is the maximum of its map (as the dataset scan ranks images);
a channel counts as excited when its best visualization's response is above its strongest
dataset example's (a feature visualization that does not beat real images has not found what
the channel responds to most)."""

from __future__ import annotations

import numpy as np


def excited(visualizations: np.ndarray, strongest: np.ndarray) -> np.ndarray:
    """Per channel (k,): its best visualization's response (``visualizations``: (k, per_channel))
    above its strongest dataset example's (``strongest``: (k,))."""
    return np.asarray(visualizations).max(axis=1) > np.asarray(strongest)


def excitation_rows(layers: dict[str, tuple[np.ndarray, np.ndarray]]):
    """``(layer, channels, excited, fraction)`` per layer of ``{layer: (visualizations'
    responses, strongest dataset responses)}``."""
    rows = []
    for layer, (visualizations, strongest) in layers.items():
        beaten = excited(visualizations, strongest)
        rows.append((layer, len(beaten), int(beaten.sum()),
                     float(beaten.mean()) if len(beaten) else float("nan")))
    return rows
