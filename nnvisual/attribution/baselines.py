"""Reference images for integrated gradients, occlusion and the deletion/insertion curves, in
pixel space (float RGB 0..255; the caller preprocesses them like the images): ``black``
(zeros; Sundararajan et al. 2017), ``blur`` (a Gaussian blur, sigma = 1/16 of the smaller side;
Petsiuk et al. 2018 insert pixels into a blurred image) and ``noise`` (uniform, seeded)."""

import cv2
import numpy as np

from nnvisual.choices import BASELINES


def baseline_images(images: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """One baseline per image of ``images`` (B, H, W, 3), float32 in 0..255."""
    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}")
    images = np.asarray(images, np.float32)
    if kind == "black":
        return np.zeros_like(images)
    if kind == "noise":
        return np.random.default_rng(seed).uniform(0, 255, images.shape).astype(np.float32)
    sigma = min(images.shape[1:3]) / 16
    return np.stack([cv2.GaussianBlur(image, (0, 0), sigma) for image in images])
