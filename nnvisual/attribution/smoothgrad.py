"""SmoothGrad (Smilkov et al. 2017): the average of a gradient method's attribution over
``samples`` copies of the input with Gaussian noise of standard deviation ``noise`` x (max - min)
of each image; the noise is seeded. With ``noise`` = 0 it is the base method itself."""

from collections.abc import Callable

import numpy as np

from nnvisual.attribution.batches import in_chunks


def smoothgrad(base: Callable, x: np.ndarray, classes, samples: int, noise: float, seed: int,
               batch_size: int) -> np.ndarray:
    """``base(images, classes)`` -> per-channel attributions, averaged over noisy copies; the
    B x ``samples`` copies are evaluated in chunks of ``batch_size``."""
    rng = np.random.default_rng(seed)
    classes = np.asarray(classes)
    spread = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))) * noise
    rows = np.repeat(np.arange(len(x)), samples)
    eps = rng.standard_normal((len(rows), *x.shape[1:])).astype(np.float32)
    eps *= spread[rows, None, None, None].astype(np.float32)

    def noisy(images, noise_part):
        return base(x[images] + noise_part, classes[images])

    total = in_chunks(noisy, rows, eps, size=batch_size)
    return total.reshape(len(x), samples, *x.shape[1:]).mean(axis=1)
