"""Step ``sanity``: do the attribution maps depend on the model? (Adebayo et al. 2018; Petsiuk
et al. 2018; docs/sanity-checks.md).

:func:`prepare` reads and checks the inputs (before a run folder exists); :func:`check`
computes each method's maps on the trained model, on every cascading and independent
randomization of it, their similarity to the original maps, and the deletion/insertion curves;
the ``*_table`` functions summarize them with bootstrap intervals over the images.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual.attribution.maps import attribute
from nnvisual.attribution.network import Network
from nnvisual.config import SanityConfig
from nnvisual.data.named_images import NamedImages
from nnvisual.descriptors.stats import bootstrap_interval
from nnvisual.models.loaded import LoadedModel
from nnvisual.sanity import faithfulness, randomization, similarity
from nnvisual.steps import attribute as attribute_step


@dataclasses.dataclass(frozen=True)
class SanityInputs:
    """The checked model and the images (at most ``max_images``) with their model inputs."""

    explained: attribute_step.AttributeInputs
    names: tuple[str, ...]
    images: np.ndarray  # uint8 (N, H, W, 3)
    x: np.ndarray  # model inputs
    baselines: np.ndarray  # model inputs
    classes: np.ndarray  # the explained class of each image, kept under randomization
    skipped: tuple[tuple[str, str], ...]  # (file name, reason) of the files that failed to decode


def prepare(loaded: LoadedModel, config: SanityConfig, images: NamedImages,
            skipped: tuple[tuple[str, str], ...] = ()) -> SanityInputs:
    """Check as ``attribute`` does (``skipped``: the files set aside) and read the first
    ``config.max_images`` readable images."""
    explained = attribute_step.prepare(loaded, config, images, skipped)
    randomization.check_randomizable(loaded.model)
    read = attribute_step.read_images(loaded, images, config.max_images, config.baseline,
                                      config.seed, "sanity checks need")
    probabilities = explained.network.probabilities(read.x)
    classes = (probabilities.argmax(axis=1) if explained.target_class is None
               else np.full(len(read.x), explained.target_class))
    return SanityInputs(explained, read.names, read.images, read.x, read.baselines, classes,
                        read.skipped)


@dataclasses.dataclass(frozen=True)
class SanityResult:
    inputs: SanityInputs
    original: dict[str, np.ndarray]  # method -> (N, H, W)
    stages: dict[str, list[str]]  # mode -> stage labels (top layer first)
    maps: dict[str, dict[str, np.ndarray]]  # mode -> method -> (stages, N, H, W)
    scores: dict[str, dict[str, np.ndarray]]  # mode -> method -> (stages, N, metrics)
    curves: dict[str, dict[str, np.ndarray]]  # curve -> method -> (N, steps + 1)


def _maps(network, inputs: SanityInputs, methods, settings) -> dict[str, np.ndarray]:
    return {method: attribute(network, inputs.x, method, inputs.classes, inputs.baselines,
                              settings, inputs.explained.background) for method in methods}


def check(inputs: SanityInputs, config: SanityConfig,
          progress: Callable[[str], None] = lambda label: None) -> SanityResult:
    """Maps, randomization similarities and faithfulness curves; ``progress`` is told each stage."""
    explained, methods = inputs.explained, config.methods
    model, settings = explained.loaded.model, explained.settings
    original = _maps(explained.network, inputs, methods, settings)
    stages, maps, scores = {}, {}, {}
    randomizer = randomization.Randomizer(model, config.seed)
    bounds = explained.network.input_bounds
    output = explained.network.head.output
    network = Network(randomizer.model, inference_copy=False, input_bounds=bounds, output=output)
    for mode in config.randomizations:
        plan = randomization.stages(model, mode)
        stages[mode] = [label for label, _ in plan]
        per_stage = []
        for label, layers in plan:
            progress(f"{mode} {label}")
            changed = randomizer.randomize(layers)  # one network, compiled once, follows it
            network.weights_changed(changed)
            per_stage.append(_maps(network, inputs, methods, settings))
        maps[mode] = {m: np.stack([stage[m] for stage in per_stage]) for m in methods}
        scores[mode] = {m: np.array([[list(similarity.similarity(original[m][i], stage[m][i]).values())
                                      for i in range(len(inputs.x))] for stage in per_stage])
                        for m in methods}
    progress("deletion and insertion")
    curves = {curve: {m: faithfulness.curves(explained.network, inputs.x, inputs.baselines,
                                             original[m], inputs.classes, config.curve_steps,
                                             curve, config.batch_size) for m in methods}
              for curve in faithfulness.CURVES}
    return SanityResult(inputs, original, stages, maps, scores, curves)


def similarity_table(result: SanityResult, config: SanityConfig):
    """``tables/randomization.csv``: per mode, method, stage and metric, the mean over images
    and its bootstrap interval."""
    rows = []
    for mode, by_method in result.scores.items():
        for method, values in by_method.items():
            for s, label in enumerate(result.stages[mode]):
                for k, metric in enumerate(similarity.METRICS):
                    sample = values[s, :, k]
                    low, high = bootstrap_interval(sample, np.mean, config.bootstrap, config.seed)
                    rows.append((mode, method, s + 1, label, metric, len(sample),
                                 float(sample.mean()), low, high))
    return ("randomization", "method", "stage", "layer", "metric", "n", "mean", "ci_low",
            "ci_high"), rows


def faithfulness_table(result: SanityResult, config: SanityConfig):
    """``tables/faithfulness.csv``: per curve and method, the mean area and its interval."""
    rows = []
    for curve, by_method in result.curves.items():
        for method, values in by_method.items():
            areas = faithfulness.area(values)
            low, high = bootstrap_interval(areas, np.mean, config.bootstrap, config.seed)
            rows.append((curve, method, len(areas), float(areas.mean()), low, high))
    return ("curve", "method", "n", "auc_mean", "ci_low", "ci_high"), rows


def summary(result: SanityResult, config: SanityConfig, mode: str, metric: str):
    """(method -> (mean (stages,), low (stages,), high (stages,))) for the curves figure."""
    k = similarity.METRICS.index(metric)
    out = {}
    for method, values in result.scores[mode].items():
        intervals = [bootstrap_interval(values[s, :, k], np.mean, config.bootstrap, config.seed)
                     for s in range(values.shape[0])]
        out[method] = (values[:, :, k].mean(axis=1), *np.array(intervals).T)
    return out
