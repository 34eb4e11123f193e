"""The gradient-ascent loops of activation maximization (Algorithm 1 of the study; Chollet 2016).

:func:`render` moves raw pixels. Its update rule (``optimizer``) is the study's by default: the
gradient of the objective with respect to each image, divided by its root mean square (+1e-5)
over that image, times the step size, is added to the image; ``"adam"`` is Adam (Kingma & Ba
2015) at that step size instead, the rule lucid and tf-keras-vis use, which reaches a given
score in fewer steps. The optional priors of :mod:`~nnvisual.optvis.regularizers` follow each
update.

:func:`render_parametrized` is lucid's loop (Olah et al. 2017): the image is a function of other
values (a Fourier spectrum, decorrelated colour; :func:`~nnvisual.optvis.param.parameters_to_images`),
which Adam (lucid's default, learning rate 0.05) moves up the objective's gradient. Both loops
can show the model randomly transformed images each step (:mod:`~nnvisual.optvis.transforms`).

All n images are optimized together as one batch in one compiled step (the objective of a batch
is the sum of the images' objectives, so each image receives its own gradient). The step takes
its state (the variables, the update rule's moments, the step count) and the whole schedule of
random draws, and returns the next state, so a step copies nothing between host and device;
only the loop over steps is in Python. The final images are evaluated by one more call of the
same step, its update discarded: one compiled function, not two (on small networks compiling a
second one costs more than a backward pass; on VGG16 a forward pass alone would save about half
a step: docs/performance.md, "Maximize: where the time goes").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import numpy as np
from keras import ops

from nnvisual.graph.gradients import compile_function, value_and_gradient
from nnvisual.optvis import regularizers as priors
from nnvisual.optvis import transforms as transformations
from nnvisual.optvis.objectives import ClassObjective
from nnvisual.optvis.param import parameters_to_images
from nnvisual.optvis.regularizers import Regularizers
from nnvisual.optvis.transforms import Transforms
from nnvisual.runtime.interrupts import check_interrupt

RMS_EPSILON = 1e-5
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8  # tf.train.AdamOptimizer's, which lucid uses

Progress = Callable[[int, np.ndarray], None]  # (steps done, the objective values (n,) then)


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


def adam_ascent(parameters, gradient, moments, t, learning_rate: float):
    """One Adam step up the gradient (Kingma & Ba 2015, Algorithm 1; ``t`` counts from 1);
    ``moments`` stacks the first and second moment estimates. Returns ``(parameters, moments)``."""
    beta1, beta2 = ADAM_BETAS
    first = beta1 * moments[0] + (1 - beta1) * gradient
    second = beta2 * moments[1] + (1 - beta2) * ops.square(gradient)
    corrected = first / (1 - beta1 ** t) / (ops.sqrt(second / (1 - beta2 ** t)) + ADAM_EPSILON)
    return parameters + learning_rate * corrected, ops.stack([first, second])


def study_ascent(images, gradient, moments, t, step_size: float):
    """:func:`normalized_ascent` as an update rule: no moments, no use of ``t``."""
    return normalized_ascent(images, gradient, step_size), moments


UPDATE_RULES = {"study": study_ascent, "adam": adam_ascent}  # choices.OPTIMIZERS


def _initial_moments(optimizer: str, variables: np.ndarray):
    """The update rule's state: Adam's two moment estimates, zero; none for the study's rule."""
    return ops.zeros((2, *variables.shape) if optimizer == "adam" else (0,))


def _with_identity(draws: np.ndarray, identity) -> np.ndarray:
    """``draws`` (steps, ...) and one more row of ``identity``: the final evaluation's."""
    return np.concatenate([draws, np.broadcast_to(identity, (1, *draws.shape[1:]))]).astype(
        draws.dtype)


def _transform_matrices(transforms: Transforms | None, indices, steps: int, seed: int):
    """Each step's affine maps (steps + 1, n, 2, 3), then the identity (the final evaluation's);
    identities without transforms."""
    if not transforms:
        return np.tile(transformations.IDENTITY, (steps + 1, len(indices), 1, 1))
    return _with_identity(transformations.sample_matrices(transforms, indices, steps, seed),
                          transformations.IDENTITY)


def _looked_at(images, transforms: Transforms | None, matrices):
    """What the model sees of ``images`` this step."""
    if not transforms:
        return images
    return transformations.apply(images, matrices,
                                 transformations.FILL if transforms.padded else None)


def _ascend(step, variables: np.ndarray, optimizer: str, schedule: tuple[np.ndarray, ...],
            steps: int, progress: Progress | None, progress_every: int, model) -> Rendering:
    """Call the compiled ``step(variables, moments, t, *schedule)`` ``steps + 1`` times; it
    returns ``((variables, moments, t + 1), (images, objective, probability, top class))`` for
    the variables it was given. Row ``steps`` of each schedule array is the identity (the final
    images seen as they are). ``progress(t, objective)`` is told after every ``progress_every``
    steps and the last (each time a device-to-host copy of n values). The weights of ``model``,
    the network the step reads, are arguments of the compiled step, not constants in it: on JAX
    a stored program is then 0.3 MB instead of the weights' 20 MB (EfficientNet-Lite0), and
    compiles sooner."""
    compiled = compile_function(step, variables=model.variables)
    state = (ops.convert_to_tensor(np.asarray(variables, np.float32)),
             _initial_moments(optimizer, variables), ops.convert_to_tensor(np.int32(0)))
    schedule = tuple(ops.convert_to_tensor(draws) for draws in schedule)
    objectives, probabilities = [], []
    for done in range(steps + 1):
        check_interrupt()
        next_state, (images, value, probability, top_class) = compiled(*state, *schedule)
        objectives.append(value)
        probabilities.append(probability)
        if progress is not None and done and (done % progress_every == 0 or done == steps):
            progress(done, ops.convert_to_numpy(value))
        state = next_state
    return Rendering(images=ops.convert_to_numpy(images),
                     objective=np.stack([ops.convert_to_numpy(v) for v in objectives]),
                     probability=np.stack([ops.convert_to_numpy(p) for p in probabilities]),
                     top_class=ops.convert_to_numpy(top_class).astype(np.int64))


def render(objective: ClassObjective, initial: np.ndarray, steps: int, step_size: float,
           regularizers: Regularizers | None = None, seed: int = 0,
           indices: Iterable[int] | None = None, transforms: Transforms | None = None,
           optimizer: str = "study", progress: Progress | None = None,
           progress_every: int = 1) -> Rendering:
    """Maximize ``objective`` (a :class:`ClassObjective` or :class:`~nnvisual.optvis.terms.Objective`)
    from the ``initial`` images (n, height, width, 3) for ``steps`` steps of ``step_size`` by
    the ``optimizer``'s update rule (:data:`UPDATE_RULES`), with ``regularizers`` (default:
    none) and random ``transforms`` (default: none). ``indices`` name the images for the random
    streams (default 0..n-1; see :func:`~nnvisual.optvis.regularizers.jitter_offsets`);
    ``progress(t, objective)`` is told after every ``progress_every`` steps and the last."""
    regularizers = regularizers or priors.NO_PRIORS
    update = UPDATE_RULES[optimizer]
    indices = list(range(len(initial)) if indices is None else indices)
    if regularizers.jitter:
        shifts = priors.jitter_offsets(indices, steps, regularizers.jitter, seed)
    else:
        shifts = np.zeros((steps, len(indices), 2), np.int32)
    every = max(regularizers.blur_every, 1)
    blur_now = np.array([bool(regularizers.blur_every) and (t + 1) % every == 0
                         for t in range(steps)])
    schedule = (_with_identity(shifts, 0), _with_identity(blur_now, False),
                _transform_matrices(transforms, indices, steps, seed))

    def step(images, moments, t, shifts, blur_now, matrices):
        def total_objective(images):
            looked_at = (priors.jitter(images, ops.take(shifts, t, axis=0))
                         if regularizers.jitter else images)
            values, probability, top_class = objective(
                _looked_at(looked_at, transforms, ops.take(matrices, t, axis=0)))
            total = ops.sum(values)
            if regularizers.tv_weight:
                total = total - regularizers.tv_weight * ops.sum(priors.total_variation(images))
            return total, (values, probability, top_class)

        (_, seen), gradient = value_and_gradient(total_objective, images, has_aux=True)
        updated, moments = update(images, gradient, moments, ops.cast(t + 1, "float32"),
                                  step_size)
        if regularizers.l2_decay:
            updated = priors.l2_decay(updated, regularizers.l2_decay)
        if regularizers.blur_every:
            updated = ops.where(ops.take(blur_now, t, axis=0),
                                priors.blur(updated, regularizers.blur_sigma), updated)
        if regularizers.clip:
            updated = priors.clip(updated)
        return (updated, moments, t + 1), (images, *seen)

    return _ascend(step, initial, optimizer, schedule, steps, progress, progress_every,
                   objective.model)


def render_parametrized(objective, parameters: np.ndarray, kind: str, decorrelate: bool,
                        size: tuple[int, int], steps: int, learning_rate: float,
                        transforms: Transforms | None = None, seed: int = 0,
                        indices: Iterable[int] | None = None, progress: Progress | None = None,
                        progress_every: int = 1) -> Rendering:
    """Maximize ``objective`` over the ``parameters`` of the ``kind`` parametrization
    (:func:`~nnvisual.optvis.param.initial_parameters`) with Adam at ``learning_rate``, the
    model seeing each step's random ``transforms`` of the images. ``images`` of the result are
    the final images in 0..255; its row t and ``progress`` as in :func:`render`."""
    indices = list(range(len(parameters)) if indices is None else indices)
    matrices = _transform_matrices(transforms, indices, steps, seed)

    def step(parameters, moments, t, matrices):
        def total_objective(parameters):
            images = parameters_to_images(parameters, kind, decorrelate, size)
            values, probability, top_class = objective(
                _looked_at(images, transforms, ops.take(matrices, t, axis=0)))
            return ops.sum(values), (images, values, probability, top_class)

        (_, seen), gradient = value_and_gradient(total_objective, parameters, has_aux=True)
        parameters, moments = adam_ascent(parameters, gradient, moments,
                                          ops.cast(t + 1, "float32"), learning_rate)
        return (parameters, moments, t + 1), seen

    return _ascend(step, parameters, "adam", (matrices,), steps, progress, progress_every,
                   objective.model)
