"""The gradient-ascent loop of activation maximization (Algorithm 1 of the study; Chollet 2016).

Each step: the gradient of the class objective with respect to each image, divided by its root
mean square (+1e-5) over that image, times the step size, is added to the image; the optional
priors of :mod:`~nnvisual.optvis.regularizers` follow. All n images are optimized together as
one batch in one compiled step (the objective of a batch is the sum of the images' objectives,
so each image receives its own gradient); only the loop over steps is in Python.

:func:`render_parametrized` is lucid's loop (Olah et al. 2017): the image is a function of other
values (a Fourier spectrum, decorrelated colour; :func:`~nnvisual.optvis.param.parameters_to_images`),
which Adam (Kingma & Ba 2015; lucid's default, learning rate 0.05) moves up the objective's
gradient. Both loops can show the model randomly transformed images each step
(:mod:`~nnvisual.optvis.transforms`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
from keras import ops

from nnvisual.gradients import compile_function, value_and_gradient
from nnvisual.interrupts import check_interrupt
from nnvisual.optvis import regularizers as priors
from nnvisual.optvis import transforms as transformations
from nnvisual.optvis.objectives import ClassObjective
from nnvisual.optvis.param import parameters_to_images
from nnvisual.optvis.regularizers import Regularizers
from nnvisual.optvis.transforms import Transforms

RMS_EPSILON = 1e-5
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8  # tf.train.AdamOptimizer's, which lucid uses


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


def _transform_matrices(transforms: Transforms | None, indices, steps: int, seed: int):
    """Each step's affine maps (steps, n, 2, 3); identities without transforms."""
    if transforms:
        return transformations.sample_matrices(transforms, indices, steps, seed)
    return np.tile(np.float32([[1, 0, 0], [0, 1, 0]]), (steps, len(indices), 1, 1))


def _looked_at(images, transforms: Transforms | None, matrices):
    """What the model sees of ``images`` this step."""
    if not transforms:
        return images
    return transformations.apply(images, matrices,
                                 transformations.FILL if transforms.padded else None)


def _rendering(images, objectives, probabilities, top_class) -> Rendering:
    return Rendering(images=ops.convert_to_numpy(images),
                     objective=np.stack([ops.convert_to_numpy(v) for v in objectives]),
                     probability=np.stack([ops.convert_to_numpy(p) for p in probabilities]),
                     top_class=ops.convert_to_numpy(top_class).astype(np.int64))


def render(objective: ClassObjective, initial: np.ndarray, steps: int, step_size: float,
           regularizers: Regularizers | None = None, seed: int = 0,
           indices: Iterable[int] | None = None, transforms: Transforms | None = None) -> Rendering:
    """Maximize ``objective`` (a :class:`ClassObjective` or :class:`~nnvisual.optvis.terms.Objective`)
    from the ``initial`` images (n, height, width, 3) for ``steps`` steps of ``step_size``, with
    ``regularizers`` (default: none) and random ``transforms`` (default: none). ``indices`` name
    the images for the random streams (default 0..n-1; see
    :func:`~nnvisual.optvis.regularizers.jitter_offsets`)."""
    regularizers = regularizers or priors.NO_PRIORS
    initial = np.asarray(initial, dtype=np.float32)
    indices = list(range(len(initial)) if indices is None else indices)
    if regularizers.jitter:
        shifts = priors.jitter_offsets(indices, steps, regularizers.jitter, seed)
    else:
        shifts = np.zeros((steps, len(initial), 2), np.int32)
    matrices = _transform_matrices(transforms, indices, steps, seed)

    def step(images, step_shifts, blur_now, step_matrices):
        def total_objective(images):
            looked_at = priors.jitter(images, step_shifts) if regularizers.jitter else images
            values, probability, _ = objective(_looked_at(looked_at, transforms, step_matrices))
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
        check_interrupt()
        blur_now = bool(regularizers.blur_every) and (t + 1) % max(regularizers.blur_every, 1) == 0
        images, value, probability = compiled_step(images, ops.convert_to_tensor(shifts[t]),
                                                   ops.convert_to_tensor(blur_now),
                                                   ops.convert_to_tensor(matrices[t]))
        objectives.append(value)
        probabilities.append(probability)
    value, probability, top_class = compiled_evaluate(images)
    objectives.append(value)
    probabilities.append(probability)
    return _rendering(images, objectives, probabilities, top_class)


def adam_ascent(parameters, gradient, first, second, t, learning_rate: float):
    """One Adam step up the gradient (Kingma & Ba 2015, Algorithm 1; ``t`` counts from 1).
    Returns ``(parameters, first, second)``."""
    beta1, beta2 = ADAM_BETAS
    first = beta1 * first + (1 - beta1) * gradient
    second = beta2 * second + (1 - beta2) * ops.square(gradient)
    corrected = first / (1 - beta1 ** t) / (ops.sqrt(second / (1 - beta2 ** t)) + ADAM_EPSILON)
    return parameters + learning_rate * corrected, first, second


def render_parametrized(objective, parameters: np.ndarray, kind: str, decorrelate: bool,
                        size: tuple[int, int], steps: int, learning_rate: float,
                        transforms: Transforms | None = None, seed: int = 0,
                        indices: Iterable[int] | None = None) -> Rendering:
    """Maximize ``objective`` over the ``parameters`` of the ``kind`` parametrization
    (:func:`~nnvisual.optvis.param.initial_parameters`) with Adam at ``learning_rate``, the
    model seeing each step's random ``transforms`` of the images. ``images`` of the result are
    the final images in 0..255; its row t as in :func:`render`."""
    indices = list(range(len(parameters)) if indices is None else indices)
    matrices = _transform_matrices(transforms, indices, steps, seed)

    def to_images(parameters):
        return parameters_to_images(parameters, kind, decorrelate, size)

    def step(parameters, first, second, t, step_matrices):
        def total_objective(parameters):
            values, probability, _ = objective(_looked_at(to_images(parameters), transforms,
                                                          step_matrices))
            return ops.sum(values), (values, probability)

        (_, (values, probability)), gradient = value_and_gradient(total_objective, parameters,
                                                                  has_aux=True)
        parameters, first, second = adam_ascent(parameters, gradient, first, second, t,
                                                learning_rate)
        return parameters, first, second, values, probability

    def evaluate(parameters):
        images = to_images(parameters)
        return (images, *objective(images))

    compiled_step = compile_function(step)
    compiled_evaluate = compile_function(evaluate)
    parameters = ops.convert_to_tensor(np.asarray(parameters, np.float32))
    first, second = ops.zeros_like(parameters), ops.zeros_like(parameters)
    objectives, probabilities = [], []
    for t in range(steps):
        check_interrupt()
        parameters, first, second, value, probability = compiled_step(
            parameters, first, second, ops.convert_to_tensor(np.float32(t + 1)),
            ops.convert_to_tensor(matrices[t]))
        objectives.append(value)
        probabilities.append(probability)
    images, value, probability, top_class = compiled_evaluate(parameters)
    objectives.append(value)
    probabilities.append(probability)
    return _rendering(images, objectives, probabilities, top_class)
