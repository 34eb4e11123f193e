"""Turn float images (projections, reconstructions) into displayable uint8 RGB.

The study's display normalization (Chollet 2016; docs/study.md, "Display normalization"): centre
on the mean, scale to a standard deviation of 0.1, add 0.5, clip to [0, 1], scale to 0..255.
"""

import numpy as np


def deprocess(image: np.ndarray, std: float = 0.1) -> np.ndarray:
    """Display-normalize one float image (H, W, C): (x - mean) / std(x) * 0.1 + 0.5, clipped."""
    image = np.asarray(image, dtype=np.float64)
    centred = image - image.mean()
    spread = centred.std()
    scaled = centred / (spread + 1e-5) * std + 0.5
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)
