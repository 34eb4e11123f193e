"""Step ``maximize``: the study's class reconstruction and retraining experiment
(docs/study.md, "Class reconstruction"; Algorithm 1 and Figure 5).

Reconstruct n images of a class by activation maximization ("before"); optionally fine-tune the
model on real images of that class and reconstruct again from the same initial images and the
same random jitter ("after"). :func:`reconstruct` returns the arrays; the ``*_table`` functions
turn them into (header, rows); the command layer writes them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nnvisual.config import MaximizeConfig, settings_from
from nnvisual.errors import UserError
from nnvisual.models import LoadedModel
from nnvisual.optvis import ClassObjective, Regularizers, Rendering, initial_images, render
from nnvisual.retrain import FineTuning, fine_tune


@dataclasses.dataclass
class Reconstructions:
    """``phases`` maps "before" (and "after" when retrained) to its :class:`Rendering`."""

    initial: np.ndarray  # (n, height, width, 3) float32, shared by every phase
    phases: dict[str, Rendering]
    retrained_model: object | None = None
    history: dict[str, list[float]] | None = None


def resolve_target(loaded: LoadedModel, spec: str) -> tuple[int, str, tuple[str, ...]]:
    """``(index, name, names of every output)`` of the class ``spec`` names for ``loaded``;
    UserError for an unknown class, or a model whose input size is not fixed."""
    from nnvisual.classes import resolve_class

    if None in loaded.image_size:
        raise UserError(f"{loaded.name} has no fixed input size ({loaded.model.input_shape}); "
                        "activation maximization needs one")
    index, name = resolve_class(spec, loaded.class_names)
    return index, name, loaded.class_names


def priors_description(config: MaximizeConfig) -> str:
    """The regularizers in use, in words (for figure titles)."""
    used = [f"L2 decay {config.l2_decay:g}" if config.l2_decay else "",
            f"TV weight {config.tv_weight:g}" if config.tv_weight else "",
            f"jitter {config.jitter} px" if config.jitter else "",
            f"blur every {config.blur_every} (sigma {config.blur_sigma:g})" if config.blur_every
            else "",
            "clipped to 0..255" if config.clip else ""]
    return ", ".join(word for word in used if word) or "no regularizer"


def load_retrain_images(spec: str, data: str | None, size: tuple[int, int]) -> np.ndarray:
    """The real images of the class (a folder or ``cifar10:<class>``) at the model's size."""
    from nnvisual.data import load_image_source

    images, _ = load_image_source(spec, data, size=size)
    if len(images) < 2:
        raise UserError(f"--retrain-on {spec} has {len(images)} image(s); retraining needs at "
                        "least 2 (some are held out for validation)")
    return images


def reconstruct(loaded: LoadedModel, class_index: int, config: MaximizeConfig,
                retrain_images: np.ndarray | None = None) -> Reconstructions:
    """Run the experiment: "before" reconstructions, then, given ``retrain_images``, fine-tuning
    and "after" reconstructions from the same initial images."""
    initial = initial_images(config.init, loaded.image_size, config.seed, range(config.n))
    regularizers = settings_from(config, Regularizers)

    def reconstruct_with(model) -> Rendering:
        objective = ClassObjective(model, class_index, config.objective, loaded.preprocess)
        return render(objective, initial, config.steps, config.step_size, regularizers, config.seed)

    result = Reconstructions(initial, {"before": reconstruct_with(loaded.model)})
    if retrain_images is not None:
        settings = settings_from(config, FineTuning, prefix="retrain_")
        result.retrained_model, result.history = fine_tune(
            loaded.model, retrain_images, class_index, settings, loaded.preprocess)
        result.phases["after"] = reconstruct_with(result.retrained_model)
    return result


def check_finite(result: Reconstructions) -> None:
    """Raise UserError if a phase's gradient ascent diverged (NaN or infinite values)."""
    for phase, rendering in result.phases.items():
        bad_steps = np.flatnonzero(~np.isfinite(rendering.objective).all(axis=1))
        if bad_steps.size or not np.isfinite(rendering.images).all():
            when = f" after {bad_steps[0]} steps" if bad_steps.size else ""
            raise UserError(f"gradient ascent diverged ({phase}): the images or class scores became "
                            f"NaN or infinite{when}; use a smaller --step-size or --clip")


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
