"""Step ``maximize``: the study's class reconstruction and retraining experiment
(docs/study.md, "Class reconstruction"; Algorithm 1 and Figure 5).

Reconstruct n images of a class by activation maximization ("before"); optionally fine-tune the
model on real images of that class and reconstruct again from the same initial images and the
same random jitter ("after"). :func:`prepare` checks the inputs and parses the objective and the
transforms, once (every refusal happens there, before a run folder exists); :func:`reconstruct`
returns the arrays; the ``*_table`` functions turn them into (header, rows); the command layer
writes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual.choices import OBJECTIVES
from nnvisual.config import MaximizeConfig
from nnvisual.errors import UserError, named
from nnvisual.models.loaded import LoadedModel
from nnvisual.optvis.objective_parser import Term, parse_objective
from nnvisual.optvis.objectives import ClassObjective
from nnvisual.optvis.param import (
    check_parametrization,
    initial_images,
    initial_parameters,
    parameters_to_images,
)
from nnvisual.optvis.regularizers import Regularizers
from nnvisual.optvis.render import Rendering, render, render_parametrized
from nnvisual.optvis.terms import Objective, check_terms
from nnvisual.optvis.transforms import Transforms, parse_transforms
from nnvisual.training.retrain import FineTuning, fine_tune

PROGRESS_REPORTS = 100  # at most, per phase


@dataclasses.dataclass
class Reconstructions:
    """``phases`` maps "before" (and "after" when retrained) to its :class:`Rendering`."""

    initial: np.ndarray  # (n, height, width, 3) float32, shared by every phase
    phases: dict[str, Rendering]
    retrained_model: object | None = None
    history: dict[str, list[float]] | None = None


def resolve_target(loaded: LoadedModel, spec: str) -> tuple[int, str, tuple[str, ...]]:
    """``(index, name, names of every output)`` of the class ``spec`` names for ``loaded``;
    UserError for an unknown class."""
    from nnvisual.models.classes import resolve_class

    index, name = resolve_class(spec, loaded.class_names)
    return index, name, loaded.class_names


@dataclasses.dataclass(frozen=True)
class Target:
    """What ``maximize`` drives up: the study's class score (``terms`` None: ``--class``), or a
    weighted sum of :class:`~nnvisual.optvis.terms.Term` (``--objective EXPRESSION``, the
    channel grid, ``--diversity``)."""

    terms: list[tuple[float, Term]] | None
    class_index: int | None  # the class whose probability is reported (None: the top class's)
    label: str  # for the run's name and the figures
    channels: tuple[str, tuple[int, ...]] | None = None  # the channel grid's layer, channels


def _grid_channels(spec: str, n: int) -> tuple[str, tuple[int, ...]]:
    """``LAYER`` (its first n channels) or ``LAYER:C1,C2,...``."""
    layer, _, listed = spec.partition(":")
    try:
        channels = tuple(int(c) for c in listed.split(",")) if listed else tuple(range(n))
    except ValueError:
        raise UserError(f"{named('channel_grid', spec)}: use LAYER or LAYER:C1,C2,...") from None
    return layer, channels


def resolve_objective(loaded: LoadedModel, config: MaximizeConfig) -> Target:
    """The :class:`Target` of ``config`` for ``loaded`` (its image size known:
    :func:`nnvisual.models.loaded.sized`), checked against the model (unknown layers or classes,
    channels out of range, a parametrization that does not fit): UserError."""
    from nnvisual.models.classes import resolve_class

    def class_index(spec: str) -> int:
        return resolve_class(spec, loaded.class_names)[0]

    check_parametrization(config.param, loaded.image_size)
    channels = None
    if config.channel_grid:
        channels = _grid_channels(config.channel_grid, config.n)
        terms = [(1.0, Term("channel", channels[0], channels=channels[1]))]
        target = Target(terms, None, f"channels-{channels[0]}", channels)
    elif config.objective in OBJECTIVES:
        index, name, _ = resolve_target(loaded, config.target_class)
        terms = None if not config.diversity else [
            (1.0, Term("class", class_index=index, softmax=config.objective == "softmax"))]
        target = Target(terms, index, f"{index} ({name.replace('_', ' ')})")
    else:
        terms = parse_objective(config.objective, class_index)
        classes = [term.class_index for _, term in terms if term.kind == "class"]
        slug = "".join(c if c.isalnum() or c in "_." else "-" for c in config.objective)
        target = Target(terms, classes[0] if classes else None, slug.strip("-")[:60], channels)
    if config.diversity:
        target.terms.append((config.diversity, Term("diversity", config.diversity_layer)))
    check_terms(loaded.model, target.terms or [], loaded.output)  # before anything is written
    if config.retrain_on and target.class_index is None:
        raise UserError(f"{named('retrain_on')} needs a class to label the images: use "
                        f"{named('target_class')} or a class term in {named('objective')}")
    if config.retrain_on and loaded.output is not None:
        raise UserError(f"{named('retrain_on')} fine-tunes a model with one output; this one "
                        "has several")
    return target


def load_retrain_images(spec: str, data: str | None, size: tuple[int, int]) -> np.ndarray:
    """The real images of the class (a folder or ``cifar10:<class>``) at the model's size."""
    from nnvisual.data import load_image_source

    images, _ = load_image_source(spec, data, size=size)
    if len(images) < 2:
        raise UserError(f"{named('retrain_on', spec)} has {len(images)} image(s); retraining needs at "
                        "least 2 (some are held out for validation)")
    return images


@dataclasses.dataclass(frozen=True)
class MaximizeInputs:
    """Checked inputs: the model, what to maximize, the images to fine-tune on (or None), and
    the settings objects the ascent and the fine-tuning use, each parsed and checked once."""

    loaded: LoadedModel
    target: Target
    retrain_images: np.ndarray | None
    transforms: Transforms
    regularizers: Regularizers
    fine_tuning: FineTuning


def prepare(loaded: LoadedModel, config: MaximizeConfig, data: str | None = None) -> MaximizeInputs:
    """The checked inputs of ``config`` for ``loaded`` (``data`` resolves ``retrain_on``'s
    ``cifar10:<class>``): the objective and the transforms parsed, the fine-tuning images read.
    Every UserError happens here."""
    transforms = parse_transforms(config.transforms)
    target = resolve_objective(loaded, config)
    images = (load_retrain_images(config.retrain_on, data, loaded.image_size)
              if config.retrain_on else None)
    return MaximizeInputs(loaded, target, images, transforms, config.regularizers(),
                          config.fine_tuning())


def reconstruct(inputs: MaximizeInputs, config: MaximizeConfig,
                progress: Callable[[int, int, str], None] = lambda done, total, label: None
                ) -> Reconstructions:
    """Run the experiment on prepared ``inputs``: "before" images, then, given fine-tuning
    images, fine-tuning on the target class and "after" images from the same initial values.
    ``progress(done, total, label)`` counts the ascent's steps (fine-tuning as one): it is told
    at the start, every few steps (at most :data:`PROGRESS_REPORTS` times a phase, each a device
    sync) with the phase, the step and the mean objective, before fine-tuning and at the end."""
    loaded, target, retrain_images = inputs.loaded, inputs.target, inputs.retrain_images
    count = len(target.channels[1]) if target.channels else config.n
    if config.parametrized:
        parameters = initial_parameters(config.param, loaded.image_size, config.seed, range(count))
        initial = np.asarray(parameters_to_images(parameters, config.param, config.decorrelate,
                                                  loaded.image_size))
    else:
        initial = initial_images(config.init, loaded.image_size, config.seed, range(count))

    phases = 1 if retrain_images is None else 2
    total = phases * config.steps + phases - 1
    every = -(-config.steps // PROGRESS_REPORTS)

    def reconstruct_with(model, phase: str, start: int) -> Rendering:
        def report(step: int, objective: np.ndarray) -> None:
            progress(start + step, total,
                     f"{phase}: step {step}/{config.steps}, objective {objective.mean():.4g}")

        if target.terms is None:
            objective = ClassObjective(model, target.class_index, config.objective,
                                       loaded.preprocess, loaded.output)
        else:
            objective = Objective(model, target.terms, loaded.preprocess,
                                  reference_class=target.class_index, output=loaded.output)
        if config.parametrized:
            return render_parametrized(objective, parameters, config.param, config.decorrelate,
                                       loaded.image_size, config.steps, config.learning_rate,
                                       inputs.transforms, config.seed, progress=report,
                                       progress_every=every)
        return render(objective, initial, config.steps, config.step_size, inputs.regularizers,
                      config.seed, transforms=inputs.transforms, optimizer=config.optimizer,
                      progress=report, progress_every=every)

    progress(0, total, "before")
    result = Reconstructions(initial, {"before": reconstruct_with(loaded.model, "before", 0)})
    if retrain_images is not None:
        progress(config.steps, total, "fine-tuning")
        result.retrained_model, result.history = fine_tune(
            loaded.model, retrain_images, target.class_index, inputs.fine_tuning, loaded.preprocess)
        progress(config.steps + 1, total, "after")
        result.phases["after"] = reconstruct_with(result.retrained_model, "after",
                                                  config.steps + 1)
    progress(total, total, "done")
    return result


def check_finite(result: Reconstructions) -> None:
    """Raise UserError if a phase's gradient ascent diverged (NaN or infinite values)."""
    for phase, rendering in result.phases.items():
        bad_steps = np.flatnonzero(~np.isfinite(rendering.objective).all(axis=1))
        if bad_steps.size or not np.isfinite(rendering.images).all():
            when = f" after {bad_steps[0]} steps" if bad_steps.size else ""
            raise UserError(f"gradient ascent diverged ({phase}): the images or class scores became "
                            f"NaN or infinite{when}; use a smaller {named('step_size')} or "
                            f"{named('clip', True)}")


def trajectory_table(result: Reconstructions):
    """``tables/trajectory.csv``: the objective and probability of every image at every step."""
    rows = [(phase, image, step, rendering.objective[step, image],
             rendering.probability[step, image])
            for phase, rendering in result.phases.items()
            for image in range(rendering.objective.shape[1])
            for step in range(rendering.objective.shape[0])]
    return ("phase", "image", "step", "objective", "probability"), rows


def final_table(result: Reconstructions, class_names: tuple[str, ...]):
    """``tables/final.csv``: each returned image's objective, probability and top class."""
    rows = [(phase, image, rendering.objective[-1, image], rendering.probability[-1, image],
             int(top), class_names[top])
            for phase, rendering in result.phases.items()
            for image, top in enumerate(rendering.top_class)]
    return ("phase", "image", "objective", "probability", "top1_class", "top1_name"), rows


def retrain_history_table(history: dict[str, list[float]]):
    """``tables/retrain_history.csv``: epoch, then each metric Keras recorded."""
    keys = sorted(history)
    rows = [(epoch + 1, *(history[key][epoch] for key in keys))
            for epoch in range(len(history[keys[0]]))]
    return ("epoch", *keys), rows


def robust_probability(model, preprocess, images: np.ndarray, class_index: int, count: int = 32,
                       transforms: str = "standard", seed: int = 1000) -> np.ndarray:
    """The mean probability of ``class_index`` over ``count`` random ``transforms`` of each
    image (n,): how much of the class survives shifts, zooms and turns (Olah et al. 2017's
    transformation robustness, as a measure). Seeded apart from any optimization's draws."""
    from keras import ops

    from nnvisual.optvis import transforms as transformations

    chosen = parse_transforms(transforms)
    matrices = transformations.sample_matrices(chosen, range(len(images)), count, seed)
    fill = transformations.FILL if chosen.padded else None
    probabilities = []
    for step_matrices in matrices:
        seen = transformations.apply(ops.convert_to_tensor(np.float32(images)), step_matrices, fill)
        seen = seen if preprocess is None else preprocess(seen)
        probabilities.append(ops.convert_to_numpy(model(seen, training=False))[:, class_index])
    return np.mean(probabilities, axis=0)
