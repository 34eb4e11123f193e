"""Step ``deconv``: a layer's strongest feature maps projected back to pixels, and each
channel's strongest dataset images (docs/study.md, "DeconvNet"; Figures 3-4; Zeiler & Fergus
2014, Figure 2).

:func:`prepare` checks the inputs (every refusal happens there, before a run folder exists);
:func:`project` computes a :class:`DeconvResult`; the ``*_table`` functions and
:func:`projection_arrays` turn it into (header, rows) and arrays; the command layer writes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nnvisual import data, deconv
from nnvisual.config import DeconvConfig
from nnvisual.data import streaming
from nnvisual.deconv.projector import TopCandidates, project_top, running_top
from nnvisual.errors import UserError
from nnvisual.models.loaded import LoadedModel
from nnvisual.runtime import shards

TOP_N = 9  # images per channel in the top-9 view (Zeiler & Fergus 2014, Figure 2)
SCAN_BATCH = 64  # images per forward pass of the top-9 scan (and per shard block unit)
DISPLAY = "display.deprocess per panel: (x - mean) / std * 0.1 + 0.5, clipped to [0, 1]"


@dataclasses.dataclass(frozen=True)
class DeconvInputs:
    """Checked inputs: the model, its layers, the image at the model's size and, for the top-9
    view, the dataset images drawn (arrays, or files decoded as the scan reaches them), their
    names and the positions among them that this run scans (all, or its ``--shard`` block)."""

    loaded: LoadedModel
    layers: tuple[str, ...]
    image: np.ndarray  # uint8 (H, W, 3) at the model's size
    image_source: str
    projector: deconv.Projector
    dataset_images: np.ndarray | streaming.ImageFiles | None = None
    dataset_names: tuple[str, ...] = ()
    scanned: range = range(0)


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
    ``config.top9_split`` stratified by class with ``config.seed`` (UserError for a
    ``config.shard`` with fewer scan batches than shards)."""
    layers = config.layers or deconv.default_layers(loaded.model, loaded.name)
    deconv.check_layers(loaded.model, layers)
    projector = deconv.Projector(loaded.model, config.method)
    for layer in layers:
        projector.path(layer)  # refuses unsupported layers and activations now
    inputs = DeconvInputs(loaded, tuple(layers), data.resize(image, loaded.image_size),
                          image_source, projector)
    if dataset is None:
        return inputs
    images, names = draw_images(dataset, config.top9_split, config.top9_images, config.seed)
    return dataclasses.replace(inputs, dataset_images=images, dataset_names=names,
                               scanned=shards.block(len(names), config.shard, SCAN_BATCH))


def draw_images(dataset: data.Dataset, split: str, count: int, seed: int):
    """``count`` images of ``dataset``'s ``split`` stratified by class with ``seed`` (arrays, or
    files decoded as a scan reaches them) and their names (``split/class/index``)."""
    x, y = (dataset.x_train, dataset.y_train) if split == "train" else (dataset.x_test, dataset.y_test)
    chosen = data.stratified_subset(y, count, seed)
    return x[chosen], tuple(f"{split}/{dataset.class_names[y[i]]}/{i:05d}" for i in chosen)


def top_channels(inputs: DeconvInputs, config: DeconvConfig) -> dict[str, np.ndarray]:
    """Each layer's ``config.top_k`` strongest channels on the image, as :func:`project` finds
    them (the same forward pass), without projecting them: what a ``--shard`` run scans."""
    image = model_input(inputs.loaded)(inputs.image[None])
    return {layer: deconv.top_channels(inputs.projector.feature_maps(image, [layer])[layer][0],
                                       config.top_k)[0] for layer in inputs.layers}


@dataclasses.dataclass(frozen=True)
class ScanState:
    """How far a top-9 scan got: ``stop``, the position after the last image scanned (whole
    batches from ``inputs.scanned.start``), and each layer's candidates among the images before."""

    stop: int
    candidates: list[TopCandidates]


def scan(inputs: DeconvInputs, channels_by_layer: dict, start: ScanState | None = None,
         after_batch: Callable[[ScanState], None] = lambda state: None) -> list[TopCandidates]:
    """Each channel's 9 strongest images among the dataset images ``inputs.scanned``, read and
    scanned :data:`SCAN_BATCH` at a time, the next batch read (decoded, if streamed) while one is
    scanned: memory holds two batches, whatever the split's size. A resumed scan continues from
    ``start`` (UserError when it holds other channels); ``after_batch(state)`` is told where the
    scan stands after each batch (a checkpoint)."""
    positions = inputs.scanned
    begin, found = positions.start, []
    if start is not None:
        if [(c.layer, c.channels.tolist()) for c in start.candidates] != [
                (layer, np.asarray(channels).tolist()) for layer, channels in channels_by_layer.items()]:
            raise UserError("the checkpoint scanned other channels than the model's strongest on the "
                            "image: were the model file or the image changed?")
        begin, found = start.stop, start.candidates

    batches = read_batches(inputs.loaded, inputs.dataset_images, range(begin, positions.stop))
    for stop, running in running_top(inputs.projector, batches, channels_by_layer, TOP_N, found):
        found = running
        after_batch(ScanState(stop, found))
    return found


def read_batches(loaded: LoadedModel, images, positions: range) -> Iterator[tuple[int, np.ndarray]]:
    """``(first position, model input)`` of the images at ``positions``, :data:`SCAN_BATCH` at a
    time, the next batch read (decoded, if streamed) while the caller uses one: memory holds two
    batches, whatever the number of images."""
    prepare_batch = model_input(loaded)

    def read(first):
        return prepare_batch(streaming.pixels(images, range(first, min(first + SCAN_BATCH,
                                                                       positions.stop))))

    with ThreadPoolExecutor(max_workers=1) as reader:
        yield from _read_ahead(reader, read, range(positions.start, positions.stop, SCAN_BATCH))


def _read_ahead(reader: ThreadPoolExecutor, read: Callable, starts) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, read(start))`` for each of ``starts``, the next one read by ``reader`` while the
    caller uses this one."""
    pending = None
    for start in starts:
        upcoming = (start, reader.submit(read, start))
        if pending is not None:
            yield pending[0], pending[1].result()
        pending = upcoming
    if pending is not None:
        yield pending[0], pending[1].result()


def project(inputs: DeconvInputs, config: DeconvConfig,
            progress: Callable[[int, int, str], None] = lambda done, total, label: None,
            candidates: list[TopCandidates] | None = None, start: ScanState | None = None,
            after_batch: Callable[[ScanState], None] = lambda state: None) -> DeconvResult:
    """Project each layer's ``config.top_k`` strongest channels on the image; with dataset
    images, also find (:func:`scan`, continued from ``start`` and telling ``after_batch``, or the
    merged shards' ``candidates``) and project each of those channels' 9 strongest dataset
    images. ``progress(done, total, label)`` is told before each layer, the dataset scan, and at
    the end."""
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
    if candidates is None:
        candidates = scan(inputs, {r.layer: r.channels for r in layers}, start, after_batch)
    elif any(not np.array_equal(c.channels, r.channels) for c, r in zip(candidates, layers, strict=True)):
        raise UserError("the shards scanned other channels than the model's strongest on the "
                        "image: were they run with another model file or image?")
    tops = project_top(inputs.projector, candidates,
                       lambda indices: prepare_batch(streaming.pixels(images, indices)), config.mode)
    shown = {top.layer: np.stack([[data.resize(shown, size) for shown in streaming.pixels(images, row)]
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


def candidate_arrays(candidates: list[TopCandidates]) -> dict[str, np.ndarray]:
    """``top9_scan.npz`` of a ``--shard`` run: per layer, the channels scanned and each one's
    strongest images (positions in the drawn list), their activations and map positions."""
    return {f"{top.layer}_{part}": getattr(top, part) for top in candidates
            for part in ("channels", "indices", "activations", "positions")}


def read_candidates(arrays, layers) -> list[TopCandidates]:
    """The :class:`TopCandidates` of each layer from :func:`candidate_arrays`' arrays."""
    return [TopCandidates(layer, *(arrays[f"{layer}_{part}"] for part in
                                   ("channels", "indices", "activations", "positions")))
            for layer in layers]


def projection_arrays(result: DeconvResult) -> dict[str, np.ndarray]:
    """``projections.npz``: the image, and per layer its projections and their channels."""
    arrays = {"image": result.inputs.image}
    for r in result.layers:
        arrays.update({r.layer: r.projections, f"{r.layer}_channels": r.channels})
    return arrays
