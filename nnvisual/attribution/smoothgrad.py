"""SmoothGrad (Smilkov et al. 2017): the average of a gradient method's attribution (the
``smoothgrad_base`` setting) over ``samples`` copies of the input with Gaussian noise of
standard deviation ``noise`` x (max - min) of each image; the noise is seeded. With ``noise`` = 0
it is the base method itself."""

import numpy as np

from nnvisual.attribution import methods
from nnvisual.attribution.batches import in_chunks
from nnvisual.attribution.request import Request


def smoothgrad(request: Request) -> np.ndarray:
    """The base method's per-channel attributions averaged over noisy copies; the B x
    ``samples`` copies are evaluated in chunks of ``batch_size``."""
    settings, x = request.settings, request.x
    base = methods.method(settings.smoothgrad_base).function()
    rng = np.random.default_rng(settings.seed)
    spread = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))) * settings.noise
    rows = np.repeat(np.arange(len(x)), settings.samples)
    eps = rng.standard_normal((len(rows), *x.shape[1:])).astype(np.float32)
    eps *= spread[rows, None, None, None].astype(np.float32)

    def noisy(images, noise_part):
        return base(request.on(x[images] + noise_part, request.classes[images]))

    total = in_chunks(noisy, rows, eps, size=settings.batch_size)
    return total.reshape(len(x), settings.samples, *x.shape[1:]).mean(axis=1)
