"""Step ``attribute``: attribution maps of images for one or more methods
(nnvisual.attribution; docs/attribution.md).

:func:`prepare` checks the inputs (every refusal happens there, before a run folder exists);
:func:`attribute_batches` reads the images in batches of ``config.batch_size`` and yields one
:class:`AttributionBatch` per batch; :func:`rows` turns a batch into lines of
``tables/attributions.csv``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from nnvisual import data
from nnvisual.attribution import methods
from nnvisual.attribution.baselines import baseline_images
from nnvisual.attribution.maps import attribute
from nnvisual.attribution.network import Network
from nnvisual.attribution.request import Settings
from nnvisual.config import AttributeConfig
from nnvisual.data.named_images import NamedImages
from nnvisual.errors import UserError
from nnvisual.models.classes import resolve_class
from nnvisual.models.loaded import LoadedModel
from nnvisual.runtime import shards
from nnvisual.runtime.interrupts import check_interrupt

TABLE_HEADER = ("image", "method", "class", "class_name", "probability", "min", "max", "mean",
                "abs_mean", "positive_fraction", "peak_row", "peak_col")


@dataclasses.dataclass(frozen=True)
class AttributeInputs:
    """Checked inputs: the model seen by the methods, the images and the class to explain, and
    ``(file name, reason)`` of the files set aside before reading."""

    loaded: LoadedModel
    network: Network
    images: NamedImages
    target_class: int | None  # None: each image's top-1 class
    settings: Settings
    skipped: tuple[tuple[str, str], ...] = ()
    first: int = 0  # position of images[0] among all the images (the start of a --shard block)
    background: np.ndarray | None = None  # DeepSHAP's references, model inputs


def prepare(loaded: LoadedModel, config: AttributeConfig, images: NamedImages,
            skipped: tuple[tuple[str, str], ...] = ()) -> AttributeInputs:
    """Check the class, the CAM layer, each method's own checks and that every backward rule the
    methods use has a rule for each layer they cross (UserError otherwise); ``skipped``: the
    files set aside."""
    network = Network(loaded.model, input_bounds=input_bounds(loaded), output=loaded.output)
    target = (None if config.target_class == "auto"
              else resolve_class(config.target_class, loaded.class_names)[0])
    settings = config.attribution_settings()
    rows = [methods.method(name) for name in config.methods]
    if any(row.reads_layer for row in rows):
        settings = network.with_feature_layer(settings)
    for row in rows:
        if row.check is not None:
            try:
                row.checker()(network, settings, loaded.image_size)
            except ValueError as exc:
                raise UserError(str(exc)) from None
    for rule in sorted(set().union(*(methods.rules_used(row.name, settings) for row in rows))):
        if rule != "gradient":
            from nnvisual import deconv

            deconv.Projector(loaded.model, rule).path(network.projection_target([0])[0])
    block = shards.block(len(images), config.shard, config.batch_size)  # all, or the shard's
    return AttributeInputs(loaded, network, images[block.start:block.stop], target, settings,
                           tuple(skipped), block.start, background_images(loaded, config))


def background_images(loaded: LoadedModel, config: AttributeConfig) -> np.ndarray | None:
    """The first ``background_size`` images of the ``background`` folder as model inputs (None
    without a folder); UserError when none can be read."""
    if config.background is None:
        return None
    from nnvisual.data.named_images import listed

    images, _ = listed(config.background)
    _, read, _ = images[:config.background_size].read()
    if not read:
        raise UserError(f"no readable background image in {config.background}")
    return model_inputs(loaded, np.stack([data.resize(image, loaded.image_size) for image in read]))


@dataclasses.dataclass(frozen=True)
class AttributionBatch:
    """One batch: image names, the images at the model's size, the explained class and its
    probability, one (B, H, W) map per method, and the files that could not be decoded."""

    names: tuple[str, ...]
    images: np.ndarray  # uint8 (B, H, W, 3)
    classes: np.ndarray  # (B,)
    probabilities: np.ndarray  # (B,) probability of the explained class
    maps: dict[str, np.ndarray]
    skipped: tuple[tuple[str, str], ...]  # (file name, reason)


def model_inputs(loaded: LoadedModel, raw: np.ndarray) -> np.ndarray:
    """float RGB 0..255 images at the model's size -> the model's input."""
    return np.asarray(loaded.preprocess(np.asarray(raw, np.float32).copy()), np.float32)


@dataclasses.dataclass(frozen=True)
class ReadImages:
    """The first images of a folder, read whole, at the model's size and as its inputs."""

    names: tuple[str, ...]
    images: np.ndarray  # (N, H, W, 3) RGB 0..255, resized
    x: np.ndarray  # the model's inputs
    baselines: np.ndarray  # the model's inputs of the --baseline images
    skipped: tuple[tuple[str, str], ...]  # (file name, reason) of the files that failed to decode


def read_images(loaded: LoadedModel, images: NamedImages, count: int, baseline: str, seed: int,
                what: str) -> ReadImages:
    """The first ``count`` readable ``images``, resized, with their inputs and baselines (sanity,
    evaluate); unless at least 2 are readable, a UserError that starts with ``what`` (e.g.
    "sanity checks need")."""
    names, read, skipped = images[:count].read()
    if len(read) < 2:
        raise UserError(f"{what} at least 2 readable images, got {len(read)}")
    resized = np.stack([data.resize(image, loaded.image_size) for image in read])
    return ReadImages(tuple(names), resized, model_inputs(loaded, resized),
                      model_inputs(loaded, baseline_images(resized, baseline, seed)),
                      tuple(skipped))


def input_bounds(loaded: LoadedModel) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest value of each input of the model, (H, W, 3) each: black and white
    pixels, preprocessed (the box of LRP's z-box rule)."""
    black, white = (model_inputs(loaded, np.full((1, *loaded.image_size, 3), value))[0]
                    for value in (0.0, 255.0))
    return np.minimum(black, white), np.maximum(black, white)


def attribute_batches(inputs: AttributeInputs, config: AttributeConfig) -> Iterator[AttributionBatch]:
    """Read, preprocess and explain the images ``config.batch_size`` at a time."""
    loaded, size = inputs.loaded, inputs.loaded.image_size
    for start in range(0, len(inputs.images), config.batch_size):
        check_interrupt()
        names, images, skipped = inputs.images[start:start + config.batch_size].read()
        if not images:
            yield AttributionBatch((), np.zeros((0, *size, 3), np.uint8), np.zeros(0, int),
                                   np.zeros(0), {}, tuple(skipped))
            continue
        images = np.stack([data.resize(image, size) for image in images])
        x = model_inputs(loaded, images)
        baselines = model_inputs(loaded, baseline_images(images, config.baseline,
                                                         config.seed + inputs.first + start))
        probabilities = inputs.network.probabilities(x)
        classes = (probabilities.argmax(axis=1) if inputs.target_class is None
                   else np.full(len(x), inputs.target_class))
        maps = {method: attribute(inputs.network, x, method, classes, baselines, inputs.settings,
                                  inputs.background) for method in config.methods}
        yield AttributionBatch(tuple(names), images, classes,
                               probabilities[np.arange(len(x)), classes], maps, tuple(skipped))


def remaining(inputs: AttributeInputs, done: int) -> AttributeInputs:
    """The inputs after their first ``done`` images (whole batches; a resumed scan's): the same
    batches as in the whole scan, each seeded by its position as there."""
    return dataclasses.replace(inputs, images=inputs.images[done:], first=inputs.first + done,
                               skipped=())


def rows(batch: AttributionBatch, class_names) -> list[tuple]:
    """``tables/attributions.csv`` lines of one batch: per image and method, the class, its
    probability and the map's statistics (peak = position of the largest value)."""
    out = []
    for i, name in enumerate(batch.names):
        for method, maps in batch.maps.items():
            m = maps[i]
            peak = np.unravel_index(np.argmax(m), m.shape)
            out.append((name, method, int(batch.classes[i]), class_names[batch.classes[i]],
                        float(batch.probabilities[i]), float(m.min()), float(m.max()),
                        float(m.mean()), float(np.abs(m).mean()), float((m > 0).mean()),
                        int(peak[0]), int(peak[1])))
    return out
