"""Initial images for activation maximization, in the model's 0..255 RGB image space.

- ``paper``: uniform noise in [0, 1) plus 100, as in the study's code (docs/study.md,
  "Class reconstruction"; Chollet 2016 started from noise around 128);
- ``uniform``: uniform noise over the whole range [0, 255);
- ``gray``: mid-grey 128 with uniform noise in [-1, 1), so that the n images still differ.

Image ``i`` draws from its own generator, seeded with ``(seed, i)``: it is the same image
whether it is made alone or in a batch of any size.

lucid's parametrizations (Olah et al. 2017) optimize other values that map to the image:
``pixel`` with ``decorrelate`` (values per pixel in decorrelated colour) or ``fft`` (a 1/f-scaled
spectrum, :mod:`~nnvisual.optvis.fft`), always through a sigmoid to 0..255
(:mod:`~nnvisual.optvis.color`); they start from normal noise of standard deviation 0.01, as in
lucid, drawn from the generator ``(seed, i, 3)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from keras import ops

from nnvisual.choices import INITS
from nnvisual.errors import UserError, named
from nnvisual.optvis import color, fft

PARAM_STREAM = 3
PARAM_SD = 0.01  # lucid's initial standard deviation


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


def check_parametrization(kind: str, size: tuple[int, int]) -> None:
    """UserError if the ``fft`` parametrization cannot represent images of ``size``."""
    if kind == "fft" and (size[0] != size[1] or min(size) < fft.MIN_SIZE):
        raise UserError(f"{named('param', 'fft')} needs a square input of at least {fft.MIN_SIZE}x"
                        f"{fft.MIN_SIZE} pixels; the model takes {size[0]}x{size[1]}")


def initial_parameters(kind: str, size: tuple[int, int], seed: int,
                       indices: Iterable[int]) -> np.ndarray:
    """lucid's initial values of the ``pixel`` (n, h, w, 3) or ``fft`` (n, 3, h, w // 2 + 1, 2)
    parametrization, normal with standard deviation 0.01."""
    height, width = size
    shape = (height, width, 3) if kind == "pixel" else (3, height, width // 2 + 1, 2)
    return np.stack([image_rng(seed, index, PARAM_STREAM).normal(0.0, PARAM_SD, shape)
                     for index in indices]).astype(np.float32)


def parameters_to_images(parameters, kind: str, decorrelate: bool, size: tuple[int, int],
                         decay_power: float = 1.0):
    """The images (n, h, w, 3) in 0..255 that the ``parameters`` of ``kind`` stand for."""
    parameters = ops.convert_to_tensor(parameters)
    values = parameters if kind == "pixel" else fft.spectrum_to_image(parameters, size, decay_power)
    return color.to_valid_rgb(values, decorrelate)
