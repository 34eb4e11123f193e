"""Initial images for activation maximization, in the model's 0..255 RGB image space.

- ``paper``: uniform noise in [0, 1) plus 100, as in the study's code (docs/study.md,
  "Class reconstruction"; Chollet 2016 started from noise around 128);
- ``uniform``: uniform noise over the whole range [0, 255);
- ``gray``: mid-grey 128 with uniform noise in [-1, 1), so that the n images still differ.

Image ``i`` draws from its own generator, seeded with ``(seed, i)``: it is the same image
whether it is made alone or in a batch of any size.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nnvisual.choices import INITS


def image_rng(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    """The random generator of image ``index`` (``stream`` separates independent uses)."""
    return np.random.default_rng([seed, index, stream])


def initial_image(kind: str, size: tuple[int, int], seed: int, index: int) -> np.ndarray:
    """Image ``index`` of the ``kind`` initialization: float32 (height, width, 3)."""
    shape = (*size, 3)
    rng = image_rng(seed, index)
    if kind == "paper":
        image = rng.random(shape) + 100.0
    elif kind == "uniform":
        image = rng.uniform(0.0, 255.0, shape)
    elif kind == "gray":
        image = 128.0 + rng.uniform(-1.0, 1.0, shape)
    else:
        raise ValueError(f"unknown init '{kind}'; choose one of {', '.join(INITS)}")
    return image.astype(np.float32)


def initial_images(kind: str, size: tuple[int, int], seed: int,
                   indices: Iterable[int]) -> np.ndarray:
    """Images ``indices`` of the ``kind`` initialization: float32 (n, height, width, 3)."""
    return np.stack([initial_image(kind, size, seed, index) for index in indices])
