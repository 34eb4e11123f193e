"""Integrated gradients (Sundararajan et al. 2017): (x - x') * the integral over a in [0, 1] of
d logit / d x at x' + a (x - x'), by Gauss-Legendre quadrature (captum's default rule).
Completeness: the attributions sum to logit(x) - logit(x') up to the quadrature error."""

import numpy as np

from nnvisual.attribution.batches import in_chunks
from nnvisual.attribution.request import Request


def quadrature(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2


def integrated_gradients(request: Request) -> np.ndarray:
    """Per-channel attributions (B, H, W, C) from each image's baseline; the B x ``steps`` path
    points are evaluated in chunks of ``batch_size``."""
    network, x, baselines, classes = request.network, request.x, request.baselines, request.classes
    steps = request.settings.steps
    alphas, weights = quadrature(steps)
    delta = (x - baselines).astype(np.float32)
    rows = np.repeat(np.arange(len(x)), steps)
    path_alphas = np.tile(alphas, len(x)).astype(np.float32)

    def gradient(images, alpha):
        points = baselines[images] + alpha[:, None, None, None] * delta[images]
        return network.gradient(points, classes[images])

    grads = in_chunks(gradient, rows, path_alphas, size=request.settings.batch_size)
    grads = grads.reshape(len(x), steps, *x.shape[1:])
    return delta * np.tensordot(weights.astype(np.float32), grads, axes=([0], [1]))
