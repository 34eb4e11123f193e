"""Image priors for activation maximization, each off by default (the study used none).

Images live in the model's 0..255 RGB space; :data:`CENTER` is the middle of that range.
Every function works on a batch (n, height, width, 3) with ``keras.ops`` and treats each image
on its own, so a batch gives the same result as its images one by one.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from keras import ops

from nnvisual.optvis.param import image_rng

LOW, HIGH = 0.0, 255.0
CENTER = (LOW + HIGH) / 2
JITTER_STREAM = 1  # random stream of the jitter offsets (stream 0 draws the initial image)


@dataclasses.dataclass(frozen=True)
class Regularizers:
    """Which priors to apply, and how strongly (``MaximizeConfig`` holds the defaults: none)."""

    l2_decay: float  # fraction of (x - CENTER) removed after each step
    tv_weight: float  # weight of the total-variation penalty in the objective
    jitter: int  # largest random shift in pixels before each gradient
    blur_every: int  # blur every k steps (0: never)
    blur_sigma: float  # Gaussian standard deviation of that blur, in pixels
    clip: bool  # keep pixels in [LOW, HIGH]

    def __post_init__(self):
        if not 0 <= self.l2_decay < 1:
            raise ValueError(f"l2_decay must be in [0, 1), got {self.l2_decay}")
        if min(self.tv_weight, self.jitter, self.blur_every) < 0:
            raise ValueError("regularizer weights (tv_weight, jitter, blur_every) must be >= 0")
        if self.blur_sigma <= 0:
            raise ValueError(f"blur_sigma must be positive, got {self.blur_sigma}")


NO_PRIORS = Regularizers(l2_decay=0.0, tv_weight=0.0, jitter=0, blur_every=0, blur_sigma=1.0,
                         clip=False)


def l2_decay(images, rate: float):
    """Shrink each image towards mid-grey by ``rate`` (Yosinski et al. 2015, "L2 decay"; the
    L2 penalty of Simonyan et al. 2014 taken as a decay step): x <- C + (1 - rate)(x - C)."""
    return CENTER + (1.0 - rate) * (images - CENTER)


def total_variation(images):
    """Per-image total variation with exponent 2 (Mahendran & Vedaldi 2015, their V^beta with
    beta = 2): the mean over pixels of the squared differences to the right and lower
    neighbours. Returns shape (n,); subtract ``weight * tv`` from the objective."""
    down = images[:, 1:, :-1, :] - images[:, :-1, :-1, :]
    right = images[:, :-1, 1:, :] - images[:, :-1, :-1, :]
    return ops.mean(ops.square(down) + ops.square(right), axis=(1, 2, 3))


def jitter_offsets(indices, steps: int, max_shift: int, seed: int) -> np.ndarray:
    """Random shifts (steps, n, 2) in [-max_shift, max_shift], image ``i`` drawing from its own
    generator ``(seed, i)`` so that it is jittered the same way alone or in a batch."""
    columns = [image_rng(seed, index, JITTER_STREAM).integers(-max_shift, max_shift + 1, (steps, 2))
               for index in indices]
    return np.stack(columns, axis=1).astype(np.int32)


def jitter(images, shifts):
    """Roll each image by its own (dy, dx) in ``shifts`` (n, 2), wrapping around
    (Mordvintsev et al. 2015, DeepDream's random jitter: a prior for translation-robust
    features). The gradient flows back through the roll, so it comes back unshifted."""
    n, height, width, channels = ops.shape(images)
    rows = ops.mod(ops.arange(height)[None, :] - shifts[:, :1], height)
    cols = ops.mod(ops.arange(width)[None, :] - shifts[:, 1:], width)
    images = ops.take_along_axis(
        images, ops.broadcast_to(rows[:, :, None, None], (n, height, width, channels)), axis=1)
    return ops.take_along_axis(
        images, ops.broadcast_to(cols[:, None, :, None], (n, height, width, channels)), axis=2)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalized 1-D Gaussian of standard deviation ``sigma``, 2 * ceil(3 sigma) + 1 taps."""
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def blur(images, sigma: float):
    """Gaussian blur of each channel with reflected borders (Yosinski et al. 2015, "Gaussian
    blur" every few steps: a prior against high-frequency patterns)."""
    taps = gaussian_kernel(sigma)
    radius = len(taps) // 2
    channels = images.shape[-1]
    padded = ops.pad(images, [(0, 0), (radius, radius), (radius, radius), (0, 0)], mode="reflect")
    vertical = ops.convert_to_tensor(np.tile(taps[:, None, None, None], (1, 1, channels, 1)))
    horizontal = ops.convert_to_tensor(np.tile(taps[None, :, None, None], (1, 1, channels, 1)))
    blurred = ops.depthwise_conv(padded, vertical, strides=1, padding="valid")
    return ops.depthwise_conv(blurred, horizontal, strides=1, padding="valid")


def clip(images):
    """Keep pixels in the valid input range [0, 255] (Yosinski et al. 2015 clip pixels after
    each step; here to the range a real image can take)."""
    return ops.clip(images, LOW, HIGH)
