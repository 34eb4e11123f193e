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
    """``(layer, channels, excited, fraction, dead, fraction_alive)`` per layer of ``{layer:
    (visualizations' responses, strongest dataset responses)}``: ``dead`` channels never respond
    above zero to a dataset image (a rectified channel that is zero everywhere gives its
    visualization no gradient either); ``fraction_alive`` is the fraction excited among the others."""
    rows = []
    for layer, (visualizations, strongest) in layers.items():
        beaten, alive = excited(visualizations, strongest), np.asarray(strongest) > 0
        rows.append((layer, len(beaten), int(beaten.sum()), _fraction(beaten), int((~alive).sum()),
                     _fraction(beaten[alive])))
    return rows


def _fraction(flags: np.ndarray) -> float:
    return float(flags.mean()) if len(flags) else float("nan")
