"""Step ``attribute``: attribution maps of images for one or more methods
(nnvisual.attribution; docs/sanity-checks.md).

:func:`list_images` and :func:`prepare` check the inputs (every refusal happens there, before a
run folder exists); :func:`attribute_batches` streams the images in batches of
``config.batch_size`` and yields one :class:`AttributionBatch` per batch; :func:`rows` turns a
batch into lines of ``tables/attributions.csv``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from nnvisual import attribution, data
from nnvisual.choices import CAM_METHODS
from nnvisual.config import AttributeConfig, settings_from
from nnvisual.errors import UserError
from nnvisual.models import LoadedModel
from nnvisual.models.classes import resolve_class
from nnvisual.runtime import shards
from nnvisual.runtime.interrupts import check_interrupt

TABLE_HEADER = ("image", "method", "class", "class_name", "probability", "min", "max", "mean",
                "abs_mean", "positive_fraction", "peak_row", "peak_col")
RULE_METHODS = ("guided", "deconvnet", "guided-gradcam")  # go through deconv.Projector


UNREADABLE = "not an image OpenCV can read"  # why a file set aside by list_images is skipped


def list_images(spec: str) -> tuple[list[Path], list[Path]]:
    """``(readable, unreadable)`` image files of ``spec`` (a file or a folder, not recursive).

    A folder's files that OpenCV has no reader for (by their first bytes) are set aside, to be
    skipped with a warning each (:data:`UNREADABLE`): one bad file should not stop a folder of
    thousands. A file that has a reader but fails to decode later is skipped the same way.
    UserError when there is nothing to read."""
    path = Path(spec)
    if not path.exists():
        raise UserError(f"images not found: {spec}")
    if path.is_file():
        data.read_image(path)  # a single bad file is an error, not a skip
        return [path], []
    candidates = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not candidates:
        raise UserError(f"no images in {spec}: the folder is empty")
    readable = [p for p in candidates if cv2.haveImageReader(str(p))]
    unreadable = [p for p in candidates if p not in set(readable)]
    if not readable:
        raise UserError(f"no readable images in {spec} ({len(unreadable)} files, none an image "
                        "OpenCV can read)")
    return readable, unreadable


@dataclasses.dataclass(frozen=True)
class AttributeInputs:
    """Checked inputs: the model seen by the methods, the images and the class to explain, and
    ``(file name, reason)`` of the files set aside before reading."""

    loaded: LoadedModel
    network: attribution.Network
    paths: tuple[Path, ...]
    target_class: int | None  # None: each image's top-1 class
    settings: attribution.Settings
    skipped: tuple[tuple[str, str], ...] = ()
    first: int = 0  # position of paths[0] among all the images (the start of a --shard block)


def prepare(loaded: LoadedModel, config: AttributeConfig, paths,
            skipped: tuple[tuple[str, str], ...] = ()) -> AttributeInputs:
    """Check the class, the CAM layer, the occlusion window and that the ReLU-rule methods
    support the model (UserError otherwise); ``skipped``: the files set aside."""
    network = attribution.Network(loaded.model)
    target = (None if config.target_class == "auto"
              else resolve_class(config.target_class, loaded.class_names)[0])
    settings = settings_from(config, attribution.Settings)
    if any(method in CAM_METHODS for method in config.methods):
        settings = dataclasses.replace(settings, layer=network.check_feature_layer(config.layer))
    if "occlusion" in config.methods:
        try:
            settings.occlusion_window(loaded.image_size)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if any(method in RULE_METHODS for method in config.methods):
        from nnvisual import deconv

        deconv.Projector(loaded.model, "guided").path(network.projection_target([0])[0])
    block = shards.block(len(paths), config.shard, config.batch_size)  # all, or the shard's
    return AttributeInputs(loaded, network, tuple(paths)[block.start:block.stop], target, settings,
                           tuple(skipped), block.start)


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


def read_files(paths) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
    """Names and images of the files that decode, and ``(name, reason)`` of those that do not."""
    names, images, skipped = [], [], []
    for path in paths:
        try:
            images.append(data.read_image(path))
            names.append(path.name)
        except UserError as exc:
            skipped.append((path.name, str(exc)))
    return names, images, skipped


def attribute_batches(inputs: AttributeInputs, config: AttributeConfig) -> Iterator[AttributionBatch]:
    """Read, preprocess and explain the images ``config.batch_size`` at a time."""
    loaded, size = inputs.loaded, inputs.loaded.image_size
    for start in range(0, len(inputs.paths), config.batch_size):
        check_interrupt()
        names, images, skipped = read_files(inputs.paths[start:start + config.batch_size])
        if not images:
            yield AttributionBatch((), np.zeros((0, *size, 3), np.uint8), np.zeros(0, int),
                                   np.zeros(0), {}, tuple(skipped))
            continue
        images = np.stack([data.resize(image, size) for image in images])
        x = model_inputs(loaded, images)
        baselines = model_inputs(loaded, attribution.baseline_images(images, config.baseline,
                                                                     config.seed + inputs.first + start))
        probabilities = inputs.network.probabilities(x)
        classes = (probabilities.argmax(axis=1) if inputs.target_class is None
                   else np.full(len(x), inputs.target_class))
        maps = {method: attribution.attribute(inputs.network, x, method, classes, baselines,
                                              inputs.settings) for method in config.methods}
        yield AttributionBatch(tuple(names), images, classes,
                               probabilities[np.arange(len(x)), classes], maps, tuple(skipped))


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
