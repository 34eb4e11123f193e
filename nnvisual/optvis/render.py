"""The gradient-ascent loop of activation maximization (Algorithm 1 of the study; Chollet 2016).

Each step: the gradient of the class objective with respect to each image, divided by its root
mean square (+1e-5) over that image, times the step size, is added to the image; the optional
priors of :mod:`~nnvisual.optvis.regularizers` follow. All n images are optimized together as
one batch in one compiled step (the objective of a batch is the sum of the images' objectives,
so each image receives its own gradient); only the loop over steps is in Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
from keras import ops

from nnvisual.gradients import compile_function, value_and_gradient
from nnvisual.optvis import regularizers as priors
from nnvisual.optvis.objectives import ClassObjective
from nnvisual.optvis.regularizers import Regularizers

RMS_EPSILON = 1e-5


@dataclasses.dataclass(frozen=True)
class Rendering:
    """Result of :func:`render` for n images.

    ``objective`` and ``probability`` have shape (steps + 1, n): row t holds the values of
    the images after t steps (row 0: the initial images, last row: the returned images). With
    jitter, rows before the last are those of the jittered image that the step saw.
    """

    images: np.ndarray  # (n, height, width, 3) float32, the model's 0..255 RGB space
    objective: np.ndarray
    probability: np.ndarray
    top_class: np.ndarray  # (n,) the most probable class of each returned image


def normalized_ascent(images, gradient, step_size: float):
    """One ascent step with the gradient divided by its per-image RMS (+1e-5) (Chollet 2016)."""
    rms = ops.sqrt(ops.mean(ops.square(gradient), axis=(1, 2, 3), keepdims=True))
    return ops.add(images, ops.divide(ops.multiply(gradient, step_size), rms + RMS_EPSILON))


def render(objective: ClassObjective, initial: np.ndarray, steps: int, step_size: float,
           regularizers: Regularizers | None = None, seed: int = 0,
           indices: Iterable[int] | None = None) -> Rendering:
    """Maximize ``objective`` from the ``initial`` images (n, height, width, 3) for ``steps``
    steps of ``step_size``, with ``regularizers`` (default: none). ``indices`` name the images
    for the jitter's random streams (default 0..n-1; see
    :func:`~nnvisual.optvis.regularizers.jitter_offsets`)."""
    regularizers = regularizers or priors.NO_PRIORS
    initial = np.asarray(initial, dtype=np.float32)
    indices = list(range(len(initial)) if indices is None else indices)
    if regularizers.jitter:
        shifts = priors.jitter_offsets(indices, steps, regularizers.jitter, seed)
    else:
        shifts = np.zeros((steps, len(initial), 2), np.int32)

    def step(images, step_shifts, blur_now):
        def total_objective(images):
            looked_at = priors.jitter(images, step_shifts) if regularizers.jitter else images
            values, probability, _ = objective(looked_at)
            total = ops.sum(values)
            if regularizers.tv_weight:
                total = total - regularizers.tv_weight * ops.sum(priors.total_variation(images))
            return total, (values, probability)

        (_, (values, probability)), gradient = value_and_gradient(total_objective, images,
                                                                  has_aux=True)
        images = normalized_ascent(images, gradient, step_size)
        if regularizers.l2_decay:
            images = priors.l2_decay(images, regularizers.l2_decay)
        if regularizers.blur_every:
            images = ops.where(blur_now, priors.blur(images, regularizers.blur_sigma), images)
        if regularizers.clip:
            images = priors.clip(images)
        return images, values, probability

    def evaluate(images):
        return objective(images)

    compiled_step = compile_function(step)
    compiled_evaluate = compile_function(evaluate)
    images = ops.convert_to_tensor(initial)
    objectives, probabilities = [], []
    for t in range(steps):
        blur_now = bool(regularizers.blur_every) and (t + 1) % max(regularizers.blur_every, 1) == 0
        images, value, probability = compiled_step(images, ops.convert_to_tensor(shifts[t]),
                                                   ops.convert_to_tensor(blur_now))
        objectives.append(value)
        probabilities.append(probability)
    value, probability, top_class = compiled_evaluate(images)
    objectives.append(value)
    probabilities.append(probability)
    return Rendering(images=ops.convert_to_numpy(images),
                     objective=np.stack([ops.convert_to_numpy(v) for v in objectives]),
                     probability=np.stack([ops.convert_to_numpy(p) for p in probabilities]),
                     top_class=ops.convert_to_numpy(top_class).astype(np.int64))
