"""How a float image that is not a photo (a projection, a map) is shown as uint8 RGB."""

import numpy as np


def deprocess(image, std: float = 0.1):
    """Display-normalize one float image (H, W, C) to uint8 RGB: the study's display
    normalization (Chollet 2016; docs/study.md, "Display normalization"), (x - mean) / std(x) *
    0.1 + 0.5, clipped to [0, 1], scaled to 0..255."""
    image = np.asarray(image, dtype=np.float64)
    centred = image - image.mean()
    spread = centred.std()
    scaled = centred / (spread + 1e-5) * std + 0.5
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)
