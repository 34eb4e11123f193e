"""Hand-built cases for the evaluation metrics (tests/test_evaluate_metrics.py): a linear
classifier in NumPy, whose exact contributions ``w * (x - baseline)`` are known, and tasks made
from it."""

from __future__ import annotations

import numpy as np

from nnvisual.evaluation.task import Settings, Task


class Linear:
    """``logits(x) = W . flatten(x) + b`` over ``classes`` classes; softmax probabilities."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray):
        self.weights = np.asarray(weights, np.float64)  # (classes, H, W, C)
        self.bias = np.asarray(bias, np.float64)

    @classmethod
    def drawn(cls, shape=(8, 8, 3), classes: int = 4, seed: int = 0) -> Linear:
        rng = np.random.default_rng(seed)
        return cls(rng.normal(size=(classes, *shape)), rng.normal(size=classes))

    def logits(self, x):
        flat = np.asarray(x, np.float64).reshape(len(x), -1)
        return flat @ self.weights.reshape(len(self.weights), -1).T + self.bias

    def probabilities(self, x):
        z = self.logits(x)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def shifted(self, shift) -> Linear:
        """The model whose scores of ``x + shift`` are this one's of ``x``."""
        return Linear(self.weights, self.bias - (self.weights * shift).reshape(
            len(self.weights), -1).sum(axis=1))


def contributions(model: Linear, x, classes, baselines) -> np.ndarray:
    """The exact contribution of each pixel to the class logit, summed over channels (N, H, W)."""
    return (model.weights[np.asarray(classes)] * (np.asarray(x) - baselines)).sum(axis=-1)


def gradient(model: Linear, x, classes) -> np.ndarray:
    """The gradient summed over channels: the same for every input (N, H, W)."""
    return model.weights[np.asarray(classes)].sum(axis=-1) + 0 * np.asarray(x)[..., 0]


def gradient_x_input(model: Linear, x, classes) -> np.ndarray:
    return (model.weights[np.asarray(classes)] * np.asarray(x)).sum(axis=-1)


def linear_task(maps=None, count: int = 6, seed: int = 0, explain=None, settings=None,
                **fields) -> Task:
    """A task on :meth:`Linear.drawn` with ``count`` images in 0..1 and black baselines; default
    maps: the exact contributions."""
    model = Linear.drawn(seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0, 1, (count, 8, 8, 3))
    baselines = np.zeros_like(x)
    classes = model.logits(x).argmax(axis=1)
    if maps is None:
        maps = contributions(model, x, classes, baselines)
    return Task(model, x, maps, classes, baselines, settings or Settings(), (0.0, 1.0),
                explain=explain, shifted=model.shifted, **fields)
