"""Step ``evaluate``: how good the maps of each method are, by the metrics of
:data:`nnvisual.evaluation.metrics.METRICS` (docs/evaluation.md).

:func:`prepare` reads and checks the inputs (before a run folder exists): the model and images
as ``attribute`` does, the first ``max_images`` images, an ``attribute`` run's maps when given
(checked against the sha256s it recorded), the masks the localisation metrics need;
:func:`evaluate` computes the maps (unless read) and each metric's value per image;
:func:`metrics_table` summarizes them with bootstrap intervals over the images.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnvisual import data
from nnvisual.attribution import methods
from nnvisual.attribution.maps import attribute
from nnvisual.attribution.network import Network
from nnvisual.config import EvaluateConfig
from nnvisual.data.named_images import NamedImages
from nnvisual.descriptors.stats import bootstrap_interval
from nnvisual.errors import UserError, named
from nnvisual.evaluation import metrics as table
from nnvisual.evaluation.task import Task
from nnvisual.models.loaded import LoadedModel
from nnvisual.steps import attribute as attribute_step

MAPS_FILE = "attributions.npz"  # an attribute run's maps
TABLE_HEADER = ("method", "metric", "value", "low", "high", "n")


@dataclasses.dataclass(frozen=True)
class EvaluateInputs:
    """The checked model, the images (at most ``max_images``) with their model inputs, the
    maps read from an ``attribute`` run (None: computed here) and the masks (None: none asked)."""

    explained: attribute_step.AttributeInputs
    names: tuple[str, ...]
    images: np.ndarray  # uint8 (N, H, W, 3)
    x: np.ndarray
    baselines: np.ndarray
    classes: np.ndarray
    maps: dict[str, np.ndarray] | None
    masks: np.ndarray | None  # bool (N, H, W)
    skipped: tuple[tuple[str, str], ...]


def read_run_maps(run_dir, methods_: tuple[str, ...]) -> tuple[dict, tuple[str, ...], dict]:
    """``(maps by method, image names, manifest)`` of a complete ``attribute`` run, its
    ``attributions.npz`` checked against the sha256 it recorded; UserError for a method it has
    no maps of."""
    from nnvisual.runs.reading import require_complete_run, verify_outputs

    run_dir = Path(run_dir)
    manifest = require_complete_run(run_dir, "attribute")
    verify_outputs(run_dir, manifest, [MAPS_FILE])
    with np.load(run_dir / MAPS_FILE, allow_pickle=False) as stored:
        missing = [m for m in methods_ if m not in stored.files]
        if missing:
            have = ", ".join(f for f in stored.files if f != "images")
            raise UserError(f"{run_dir} has no maps of {', '.join(missing)}: it has {have}; "
                            f"choose among them with {named('methods', ','.join(methods_))}")
        return ({m: stored[m] for m in methods_}, tuple(str(n) for n in stored["images"]),
                manifest)


def read_masks(folder, names, size: tuple[int, int]) -> np.ndarray:
    """(N, H, W) bool: for each image ``names[i]``, the image of the same stem in ``folder``,
    resized to ``size`` (nearest), non-zero where the object is; UserError naming a missing one."""
    import cv2

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"masks folder not found: {folder}")
    by_stem = {path.stem: path for path in sorted(folder.iterdir()) if path.is_file()}
    masks = []
    for name in names:
        path = by_stem.get(Path(name).stem)
        if path is None:
            raise UserError(f"no mask for image {name} in {folder} (a file named "
                            f"{Path(name).stem}.png, say)")
        mask = data.read_image(path).max(axis=-1)
        masks.append(cv2.resize(mask, size[::-1], interpolation=cv2.INTER_NEAREST) > 0)
    return np.stack(masks)


def prepare(loaded: LoadedModel, config: EvaluateConfig, images: NamedImages,
            skipped: tuple[tuple[str, str], ...] = ()) -> EvaluateInputs:
    """Check as ``attribute`` does (``skipped``: the files set aside), what the metrics need
    (masks, a randomizable model), and read the first ``config.max_images`` readable images (of
    those the ``maps`` run explained, when given)."""
    explained = attribute_step.prepare(loaded, config, images, skipped)
    needs = {need for name in config.metrics for need in table.metric(name).needs}
    if "masks" in needs and config.masks is None:
        asked = ", ".join(n for n in config.metrics if "masks" in table.metric(n).needs)
        raise UserError(f"{asked} need masks: give {named('masks', 'DIR')}")
    if "randomized" in needs:
        from nnvisual.sanity import randomization

        randomization.check_randomizable(loaded.model)
    read_maps = None
    if config.maps is not None:
        read_maps, run_names, manifest = read_run_maps(config.maps, config.methods)
        ran = manifest.get("config") or {}
        if ran.get("model") != config.model:
            raise UserError(f"{config.maps} holds the maps of model '{ran.get('model')}', not of "
                            f"'{config.model}': give {named('model', ran.get('model'))}")
        explained_class = str(ran.get("target_class", "auto"))
        if explained_class != str(config.target_class):
            raise UserError(f"{config.maps} explains the class '{explained_class}', not "
                            f"'{config.target_class}': give "
                            f"{named('target_class', explained_class)}")
        position = {name: i for i, name in enumerate(run_names)}
        chosen = [i for i, name in enumerate(images.names) if name in position]
        if not chosen:
            raise UserError(f"none of the images is among the {len(run_names)} that "
                            f"{config.maps} explained")
        images = NamedImages(tuple(images.names[i] for i in chosen),
                             tuple(images.sources[i] for i in chosen))
    read = attribute_step.read_images(loaded, images, config.max_images, config.baseline,
                                      config.seed, "evaluation needs")
    names, x = read.names, read.x
    classes = (explained.network.logits(x).argmax(axis=1) if explained.target_class is None
               else np.full(len(x), explained.target_class))
    if read_maps is not None:
        rows = [position[name] for name in names]
        read_maps = {m: np.asarray(v[rows], np.float32) for m, v in read_maps.items()}
        for method, maps in read_maps.items():
            if maps.shape[1:] != tuple(loaded.image_size):
                raise UserError(f"{config.maps}'s {method} maps are {maps.shape[1:]}, the model "
                                f"takes {tuple(loaded.image_size)}")
    masks = None
    if "masks" in needs:
        masks = read_masks(config.masks, names, loaded.image_size)
    return EvaluateInputs(explained, names, read.images, x, read.baselines, classes, read_maps,
                          masks, read.skipped)


@dataclasses.dataclass(frozen=True)
class EvaluateResult:
    inputs: EvaluateInputs
    maps: dict[str, np.ndarray]  # method -> (N, H, W)
    values: dict[str, dict[str, np.ndarray]]  # method -> metric -> (N,)


def _shifted_network(loaded: LoadedModel, network: Network, shift: np.ndarray) -> Network:
    """A network whose scores of ``x + shift`` are ``network``'s of ``x``: the model behind a
    layer that takes the shift back (Kindermans et al. 2019)."""
    import keras

    inputs = keras.Input(loaded.model.input_shape[1:])
    back = keras.layers.Rescaling(1.0, offset=-np.asarray(shift, np.float32))(inputs)
    wrapped = keras.Model(inputs, loaded.model(back))
    low, high = network.input_bounds
    return Network(wrapped, input_bounds=(low + shift, high + shift), output=None)


def _explainer(inputs: EvaluateInputs, method: str) -> Callable:
    explained = inputs.explained
    settings = explained.settings

    def explain(network, x, classes):
        own = settings
        if methods.method(method).reads_layer and network is not explained.network:
            # the same feature map, inside the model a shifted network nests
            paths = network.feature_layers()
            layer = next((p for p in paths if p == settings.layer
                          or p.endswith("/" + settings.layer)), None)
            own = network.with_feature_layer(dataclasses.replace(settings, layer=layer))
        return attribute(network, x, method, classes, inputs.baselines[:len(x)], own,
                         explained.background)

    return explain


def task_of(inputs: EvaluateInputs, config: EvaluateConfig, method: str, maps,
            shared: dict | None = None) -> Task:
    """The metrics' view of ``method``'s maps (:class:`nnvisual.evaluation.task.Task`);
    ``shared`` keeps the randomized network for the next method's task."""
    from nnvisual.sanity import randomization

    explained = inputs.explained
    loaded, network = explained.loaded, explained.network
    shared = {} if shared is None else shared

    def randomized():
        if "randomized" not in shared:
            model = randomization.randomized(
                loaded.model, randomization.weighted_layers(loaded.model), config.seed)
            shared["randomized"] = Network(model, input_bounds=network.input_bounds,
                                           output=loaded.output)
        return shared["randomized"]

    bounds = network.input_bounds
    return Task(network, inputs.x, maps, inputs.classes, inputs.baselines,
                config.evaluation_settings(), (np.min(bounds[0]), np.max(bounds[1])),
                explain=_explainer(inputs, method), randomized=randomized,
                shifted=lambda shift: _shifted_network(loaded, network, shift), masks=inputs.masks)


def evaluate(inputs: EvaluateInputs, config: EvaluateConfig,
             progress: Callable[[str], None] = lambda label: None) -> EvaluateResult:
    """Each method's maps (read, or computed here) and each metric's value per image;
    ``progress`` is told each method and metric."""
    from nnvisual.runtime.interrupts import check_interrupt

    explained = inputs.explained
    maps, values, shared = {}, {}, {}
    for method in config.methods:
        progress(f"{method}: maps")
        maps[method] = (inputs.maps[method] if inputs.maps is not None else
                        attribute(explained.network, inputs.x, method, inputs.classes,
                                  inputs.baselines, explained.settings, explained.background))
        task = task_of(inputs, config, method, maps[method], shared)
        values[method] = {}
        for name in config.metrics:
            check_interrupt()
            progress(f"{method}: {name}")
            values[method][name] = np.asarray(table.evaluate(task, name), np.float64)
    return EvaluateResult(inputs, maps, values)


def summary(values: np.ndarray, config: EvaluateConfig) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)`` over the images where the value is defined (not NaN)."""
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return float("nan"), float("nan"), float("nan"), 0
    low, high = bootstrap_interval(defined, np.mean, config.bootstrap, config.seed)
    return float(defined.mean()), low, high, int(defined.size)


def metrics_table(result: EvaluateResult, config: EvaluateConfig):
    """``tables/metrics.csv``: per method and metric, the mean over the images and its
    bootstrap interval."""
    rows = [(method, name, *summary(values, config))
            for method, by_metric in result.values.items() for name, values in by_metric.items()]
    return TABLE_HEADER, rows
