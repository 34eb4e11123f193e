"""Step ``deconv``: a layer's strongest feature maps projected back to pixels, and each
channel's strongest dataset images (docs/study.md, "DeconvNet"; Figures 3-4; Zeiler & Fergus
2014, Figure 2).

:func:`prepare` checks the inputs (every refusal happens there, before a run folder exists);
:func:`project` computes a :class:`DeconvResult`; the ``*_table`` functions and
:func:`projection_arrays` turn it into (header, rows) and arrays; the command layer writes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual import data, deconv
from nnvisual.config import DeconvConfig
from nnvisual.models import LoadedModel

TOP_N = 9  # images per channel in the top-9 view (Zeiler & Fergus 2014, Figure 2)
DISPLAY = "display.deprocess per panel: (x - mean) / std * 0.1 + 0.5, clipped to [0, 1]"


@dataclasses.dataclass(frozen=True)
class DeconvInputs:
    """Checked inputs: the model, its layers, the image at the model's size and, for the top-9
    view, the dataset images to scan and their names."""

    loaded: LoadedModel
    layers: tuple[str, ...]
    image: np.ndarray  # uint8 (H, W, 3) at the model's size
    image_source: str
    projector: deconv.Projector
    dataset_images: np.ndarray | None = None
    dataset_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DeconvResult:
    """The projections of each layer and, with ``top9``, each channel's strongest images."""

    inputs: DeconvInputs
    layers: list[deconv.LayerProjections]
    top9: list[deconv.TopImages]
    top9_shown: dict[str, np.ndarray]  # layer -> (k, 9, H, W, 3) uint8 images at the model's size


def model_input(loaded: LoadedModel) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 RGB images -> the model's input (resized, preprocessed, float32)."""
    def prepare(images):
        resized = np.stack([data.resize(image, loaded.image_size) for image in images])
        return np.asarray(loaded.preprocess(resized.astype(np.float32)), np.float32)

    return prepare


def prepare(loaded: LoadedModel, config: DeconvConfig, image: np.ndarray, image_source: str,
            dataset: data.Dataset | None = None) -> DeconvInputs:
    """Check the layers (UserError for one that is missing or not supported by the method) and,
    given ``dataset`` (for ``config.top9``), draw ``config.top9_images`` of its
    ``config.top9_split`` stratified by class with ``config.seed``."""
    layers = config.layers or deconv.default_layers(loaded.model, loaded.name)
    deconv.check_layers(loaded.model, layers)
    projector = deconv.Projector(loaded.model, config.method)
    for layer in layers:
        projector.path(layer)  # refuses unsupported layers and activations now
    inputs = DeconvInputs(loaded, tuple(layers), data.resize(image, loaded.image_size),
                          image_source, projector)
    if dataset is None:
        return inputs
    x, y = ((dataset.x_train, dataset.y_train) if config.top9_split == "train"
            else (dataset.x_test, dataset.y_test))
    chosen = data.stratified_subset(y, config.top9_images, config.seed)
    names = tuple(f"{config.top9_split}/{dataset.class_names[y[i]]}/{i:05d}" for i in chosen)
    return dataclasses.replace(inputs, dataset_images=x[chosen], dataset_names=names)


def project(inputs: DeconvInputs, config: DeconvConfig,
            progress: Callable[[int, int, str], None] = lambda done, total, label: None
            ) -> DeconvResult:
    """Project each layer's ``config.top_k`` strongest channels on the image; with dataset
    images, also find and project each of those channels' 9 strongest dataset images.
    ``progress(done, total, label)`` is told before each layer, the dataset scan, and at the end."""
    prepare_batch = model_input(inputs.loaded)
    image = prepare_batch(inputs.image[None])[0]
    total = len(inputs.layers) + (inputs.dataset_images is not None)
    layers = []
    for done, layer in enumerate(inputs.layers):
        progress(done, total, layer)
        layers += deconv.project_layers(inputs.projector, image, [layer], config.top_k, config.mode)
    if inputs.dataset_images is None:
        progress(total, total, "done")
        return DeconvResult(inputs, layers, [], {})
    progress(len(layers), total, f"top-{TOP_N} images")
    images, size = inputs.dataset_images, inputs.loaded.image_size
    tops = deconv.top_images(inputs.projector, images, prepare_batch,
                             {r.layer: r.channels for r in layers}, TOP_N, config.mode)
    shown = {top.layer: np.stack([[data.resize(images[index], size) for index in row]
                                  for row in top.indices]) for top in tops}
    progress(total, total, "done")
    return DeconvResult(inputs, layers, tops, shown)


def channels_table(result: DeconvResult):
    """``tables/channels.csv``: each layer's top channels, their maxima and receptive fields."""
    rows = [(r.layer, rank, r.channels[rank], r.activations[rank], *r.positions[rank],
             *r.boxes[rank]) for r in result.layers for rank in range(len(r.channels))]
    return ("layer", "rank", "channel", "activation", "row", "col",
            "rf_top", "rf_left", "rf_bottom", "rf_right"), rows


def top9_table(result: DeconvResult):
    """``tables/top9.csv``: each channel's strongest dataset images, strongest first."""
    names = result.inputs.dataset_names
    rows = [(top.layer, channel, rank, names[index], top.activations[i, rank],
             *top.positions[i, rank])
            for top in result.top9 for i, channel in enumerate(top.channels)
            for rank, index in enumerate(top.indices[i])]
    return ("layer", "channel", "rank", "image", "activation", "row", "col"), rows


def projection_arrays(result: DeconvResult) -> dict[str, np.ndarray]:
    """``projections.npz``: the image, and per layer its projections and their channels."""
    arrays = {"image": result.inputs.image}
    for r in result.layers:
        arrays.update({r.layer: r.projections, f"{r.layer}_channels": r.channels})
    return arrays
