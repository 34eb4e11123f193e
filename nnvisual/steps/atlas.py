"""Step ``atlas``: every channel of a network's layers on pages of its own (docs/atlas.md).

:func:`prepare` checks the inputs (every refusal happens there, before a run folder exists);
:func:`compute` scans the dataset once for every layer (:mod:`nnvisual.microscope.scan`), then renders
each layer's channels a block at a time (:mod:`nnvisual.microscope.channels`), measures how strongly
the renderings excite their channels and projects each channel's strongest examples with
DeconvNet, then renders the classes' feature visualizations a block at a time; it returns an
:class:`Atlas` of arrays, which the ``*_table`` functions turn into (header, rows). Both phases
tell ``after(state)`` where they stand (a scan batch, a block), so a checkpoint can resume them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual import data, deconv, graph
from nnvisual.config import AtlasConfig
from nnvisual.data import streaming
from nnvisual.data.display import deprocess
from nnvisual.deconv.projector import TopCandidates, project_top
from nnvisual.errors import UserError, named
from nnvisual.microscope import classes, stats
from nnvisual.microscope.channels import ChannelRenderer, ClassRenderer, Recipe
from nnvisual.microscope.scan import PARTS, LayerScan, read_scans, scan_arrays, scan_layers
from nnvisual.models.loaded import LoadedModel
from nnvisual.optvis.param import check_parametrization
from nnvisual.optvis.transforms import parse_transforms
from nnvisual.runtime import shards
from nnvisual.steps import deconv as deconv_step

THUMB = 64  # pixels of a dataset crop's or a projection's thumbnail
CLASSES = 5  # classes listed per channel
METHOD = "deconvnet"  # the projections of the strongest examples


@dataclasses.dataclass(frozen=True)
class AtlasInputs:
    """Checked inputs: the model, its layers, their output shapes and the channels of each that
    this run draws (all, the first ``channels``, or its ``--shard`` block), the images scanned
    (arrays, or files decoded as the scan reaches them) and their names, and the classes whose
    visualizations it renders (:func:`nnvisual.microscope.classes.chosen_classes`; a shard other
    than the first renders none)."""

    loaded: LoadedModel
    layers: tuple[str, ...]
    shapes: dict[str, tuple[int, int, int]]
    channels: dict[str, np.ndarray]
    images: object
    names: tuple[str, ...]
    projector: deconv.Projector
    recipe: Recipe
    classes: np.ndarray


@dataclasses.dataclass(frozen=True)
class LayerAtlas:
    """One layer's pages as arrays, one row per channel drawn: ``channels``, ``visualizations``
    (k, v, H, W, 3) uint8, ``responses`` (k, v) their maxima in the channel's map, the strongest
    examples ``top_*`` and the weakest ``bottom_*`` (``indices`` into the scanned images,
    ``activations``, map ``positions``, receptive-field ``boxes``, ``crops`` (k, n, 64, 64, 3)
    uint8), ``projections`` of the strongest (DeconvNet, display-normalized thumbnails), ``mean``
    and ``active`` (the fraction of positions above zero) over the scan, and where the channel
    feeds the class scores directly, ``classes`` and ``class_weights`` (k, 5)."""

    layer: str
    shape: tuple[int, int, int]
    arrays: dict[str, np.ndarray]

    def __getattr__(self, name):
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def excited(self) -> np.ndarray:
        return stats.excited(self.responses, self.top_activations[:, 0])


@dataclasses.dataclass(frozen=True)
class Atlas:
    """Every layer's :class:`LayerAtlas`, the names of the images scanned and the classes, and
    the classes' feature visualizations: ``class_arrays`` ``indices`` (k,), ``visualizations``
    (k, v, H, W, 3) uint8, each visualization's ``logits`` and ``probabilities`` (k, v) of its own
    class (empty where none were rendered)."""

    layers: list[LayerAtlas]
    names: tuple[str, ...]
    class_names: tuple[str, ...]
    class_arrays: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def prepare(loaded: LoadedModel, config: AtlasConfig, dataset: data.Dataset) -> AtlasInputs:
    """Check the layers (UserError for one that is missing or that DeconvNet cannot project
    through), the parametrization for the model's input size and the transformations, and draw
    ``config.scan_images`` of ``dataset``'s ``config.split`` as ``deconv --top9`` draws them."""
    model = loaded.model
    layers = tuple(config.layers or deconv.default_layers(model, loaded.name))
    deconv.check_layers(model, layers)
    projector = deconv.Projector(model, METHOD)
    for layer in layers:
        projector.path(layer)  # refuses unsupported layers and activations now
    check_parametrization("fft", loaded.image_size)
    recipe = Recipe(config.steps, config.learning_rate, parse_transforms(config.transforms),
                    config.seed, config.visualizations, config.initial_sd)
    shapes = {layer: tuple(int(s) for s in deconv.output_size(model, layer, loaded.image_size))
              + (int(graph.output_shape(model, layer)[-1]),) for layer in layers}
    channels, shown = {}, {}
    for layer in layers:
        count = shapes[layer][2] if config.channels is None else min(config.channels, shapes[layer][2])
        block = shards.block(count, config.shard, config.block, f"channels of '{layer}'", "blocks")
        channels[layer], shown[layer] = np.arange(block.start, block.stop), np.arange(count)
    first = config.shard is None or shards.parse(config.shard).index == 0
    chosen = classes.chosen_classes(model, shown, config.classes, CLASSES) if first else np.arange(0)
    images, names = deconv_step.draw_images(dataset, config.split, config.scan_images, config.seed)
    if len(names) < config.examples:
        raise UserError(f"the {config.split} split has {len(names)} images; the atlas shows "
                        f"{named('examples', config.examples)} per channel")
    return AtlasInputs(loaded, layers, shapes, channels, images, names, projector, recipe, chosen)


@dataclasses.dataclass(frozen=True)
class AtlasState:
    """How far :func:`compute` got: the scan up to image ``stop`` (each layer's
    :class:`LayerScan`), and the arrays of the blocks rendered since, in order."""

    stop: int
    scans: list[LayerScan]
    blocks: list[dict[str, np.ndarray]]


def state_arrays(state: AtlasState) -> dict[str, np.ndarray]:
    """A state's arrays (a checkpoint's), read back by :func:`read_state`."""
    arrays = scan_arrays(state.scans)
    for i, block in enumerate(state.blocks):
        arrays.update({f"block{i}:{name}": value for name, value in block.items()})
    return {**arrays, "stop": np.int64(state.stop), "blocks": np.int64(len(state.blocks))}


def read_state(arrays, layers) -> AtlasState:
    """The :class:`AtlasState` of :func:`state_arrays`' arrays."""
    blocks = [{name.partition(":")[2]: arrays[name] for name in arrays
               if name.startswith(f"block{i}:")} for i in range(int(arrays["blocks"]))]
    return AtlasState(int(arrays["stop"]), read_scans(arrays, layers), blocks)


def plan(inputs: AtlasInputs, config: AtlasConfig) -> list[tuple[str | None, np.ndarray]]:
    """The blocks rendered, in order: ``(layer, channels)``, ``config.block`` channels each, then
    ``(None, classes)``, ``config.block`` classes each."""
    return [(layer, inputs.channels[layer][i:i + config.block]) for layer in inputs.layers
            for i in range(0, len(inputs.channels[layer]), config.block)] + [
        (None, inputs.classes[i:i + config.block]) for i in range(0, len(inputs.classes), config.block)]


def compute(inputs: AtlasInputs, config: AtlasConfig,
            progress: Callable[[int, int, str], None] = lambda done, total, label: None,
            start: AtlasState | None = None,
            after: Callable[[AtlasState], None] = lambda state: None) -> Atlas:
    """The atlas of prepared ``inputs``, continued from ``start``; ``after(state)`` is told after
    each scan batch and each rendered block, ``progress(done, total, label)`` before each."""
    count, blocks = len(inputs.names), plan(inputs, config)
    batches = -(-count // deconv_step.SCAN_BATCH)
    total = batches + len(blocks)
    state = start or AtlasState(0, [], [])
    if state.stop < count:
        progress(state.stop // deconv_step.SCAN_BATCH, total, "scanning")
        read = deconv_step.read_batches(inputs.loaded, inputs.images, range(state.stop, count))
        for stop, scans in scan_layers(inputs.projector, read, inputs.channels, config.examples,
                                       state.scans):
            state = AtlasState(stop, scans, [])
            after(state)
            progress(-(-stop // deconv_step.SCAN_BATCH), total, "scanning")
    scans = {scan.layer: scan for scan in state.scans}
    renderer = None
    for done, (layer, channels) in enumerate(blocks[len(state.blocks):], len(state.blocks)):
        loaded = inputs.loaded
        if layer is None:
            progress(batches + done, total, f"classes {channels[0]}-{channels[-1]}")
            if not isinstance(renderer, ClassRenderer):
                renderer = ClassRenderer(loaded.model, loaded.preprocess, loaded.image_size,
                                         inputs.recipe)
            block = render_classes(renderer, channels)
        else:
            progress(batches + done, total, f"{layer}: channels {channels[0]}-{channels[-1]}")
            if renderer is None or renderer.layer != layer:
                renderer = ChannelRenderer(loaded.model, layer, loaded.preprocess,
                                           loaded.image_size, inputs.recipe)
            block = render_block(inputs, renderer, scans[layer], channels)
        state = dataclasses.replace(state, blocks=[*state.blocks, block])
        after(state)
    progress(total, total, "done")
    owned = list(zip(state.blocks, blocks, strict=True))
    layers = [layer_atlas(inputs, layer, scans[layer],
                          [block for block, (owner, _) in owned if owner == layer])
              for layer in inputs.layers]
    rendered = [block for block, (owner, _) in owned if owner is None]
    class_arrays = {name: np.concatenate([block[name] for block in rendered])
                    for name in rendered[0]} if rendered else {}
    return Atlas(layers, inputs.names, inputs.loaded.class_names, class_arrays)


def render_classes(renderer: ClassRenderer, chosen: np.ndarray) -> dict[str, np.ndarray]:
    """One block of classes: their visualizations, and the logit and probability of its own
    class on each (measured on the saved 8-bit image)."""
    visualizations = renderer.render(chosen)
    k, v = visualizations.shape[:2]
    logits, probabilities = renderer.scores(visualizations.reshape(k * v, *visualizations.shape[2:]))
    rows, own = np.arange(k * v), np.repeat(chosen, v)
    return {"indices": chosen, "visualizations": visualizations,
            "logits": logits[rows, own].reshape(k, v),
            "probabilities": probabilities[rows, own].reshape(k, v)}


def _subset(candidates: TopCandidates, channels) -> TopCandidates:
    """``candidates`` of ``channels`` alone (each one of its channels)."""
    rows = np.searchsorted(candidates.channels, channels)
    return TopCandidates(candidates.layer, *(getattr(candidates, part)[rows] for part in PARTS))


def render_block(inputs: AtlasInputs, renderer: ChannelRenderer, scan: LayerScan,
                 channels: np.ndarray) -> dict[str, np.ndarray]:
    """One block of a layer's channels: their visualizations and responses, the crops of their
    strongest and weakest examples and the projections of the strongest."""
    layer, size = renderer.layer, inputs.loaded.image_size
    prepare_batch = deconv_step.model_input(inputs.loaded)
    visualizations = renderer.render(channels)
    k, v = visualizations.shape[:2]
    maps = inputs.projector.feature_maps(
        prepare_batch(visualizations.reshape(k * v, *visualizations.shape[2:])), [layer])[layer]
    responses = maps.reshape(k, v, -1, maps.shape[-1]).max(axis=2)[np.arange(k), :, channels]
    field = inputs.projector.field(layer)
    block = {"channels": channels, "visualizations": visualizations,
             "responses": responses.astype(np.float32)}
    found = {"top": _subset(scan.top, channels), "bottom": _subset(scan.weakest(), channels)}
    for kind, candidates in found.items():
        used = np.unique(candidates.indices)
        images = {index: data.resize(image, size) for index, image in zip(
            used, streaming.pixels(inputs.images, used), strict=True)}
        boxes = np.array([[field.box(p, size) for p in row] for row in candidates.positions], np.int64)
        crops = [[thumbnail(images[i], box if kind == "top" else None) for i, box in zip(
            row, row_boxes, strict=True)] for row, row_boxes in zip(candidates.indices, boxes, strict=True)]
        block.update({f"{kind}_indices": candidates.indices,
                      f"{kind}_activations": candidates.activations,
                      f"{kind}_positions": candidates.positions, f"{kind}_boxes": boxes,
                      f"{kind}_crops": np.array(crops, np.uint8)})  # the weakest: whole images
    (projected,) = project_top(inputs.projector, [found["top"]], lambda indices: prepare_batch(
        streaming.pixels(inputs.images, indices)), "max")
    block["projections"] = np.array([[thumbnail(projection, box, display=True) for projection, box
                                      in zip(row, row_boxes, strict=True)] for row, row_boxes in zip(
                                          projected.projections, block["top_boxes"], strict=True)],
                                    np.uint8)
    return block


def thumbnail(image: np.ndarray, box=None, display: bool = False) -> np.ndarray:
    """The part of ``image`` in ``box`` (top, left, bottom, right: a unit's receptive field
    clipped to the image; None: the whole image) on a grey square, :data:`THUMB` pixels; a
    projection (``display``) display-normalized within it."""
    top, left, bottom, right = box if box is not None else (0, 0, *image.shape[:2])
    inside = image[top:bottom, left:right]
    if display:
        inside = deprocess(inside)
    side = max(inside.shape[:2])
    square = np.full((side, side, 3), 128, np.uint8)
    row, col = (side - inside.shape[0]) // 2, (side - inside.shape[1]) // 2
    square[row:row + inside.shape[0], col:col + inside.shape[1]] = inside
    return data.resize(square, (THUMB, THUMB))


def layer_atlas(inputs: AtlasInputs, layer: str, scan: LayerScan, blocks) -> LayerAtlas:
    """One layer's rendered ``blocks`` joined, with its channels' statistics from ``scan`` and,
    where they feed the class scores directly, the classes they feed most."""
    arrays = {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}
    rows = np.searchsorted(scan.top.channels, arrays["channels"])
    arrays.update(mean=scan.mean[rows], active=scan.fraction_active[rows])
    weights = classes.class_weights(inputs.loaded.model, layer)
    if weights is not None:
        arrays["classes"], arrays["class_weights"] = classes.strongest_classes(
            weights, arrays["channels"], min(CLASSES, weights.shape[1]))
    return LayerAtlas(layer, inputs.shapes[layer], arrays)


def channels_table(atlas: Atlas):
    """``tables/channels.csv``: each channel's statistics, its strongest example's response and
    its best visualization's, and whether the visualization excites it more."""
    rows = [(la.layer, channel, la.mean[i], la.active[i], la.top_activations[i, 0],
             la.responses[i].max(), int(la.excited[i]))
            for la in atlas.layers for i, channel in enumerate(la.channels)]
    return ("layer", "channel", "mean", "fraction_active", "strongest_example",
            "best_visualization", "excited"), rows


def examples_table(atlas: Atlas):
    """``tables/examples.csv``: each channel's strongest (``top``, strongest first, as
    ``deconv --top9``'s table) and weakest (``bottom``, weakest first) dataset examples."""
    rows = [(la.layer, channel, kind, rank, atlas.names[index],
             getattr(la, f"{kind}_activations")[i, rank], *getattr(la, f"{kind}_positions")[i, rank])
            for la in atlas.layers for kind in ("top", "bottom")
            for i, channel in enumerate(la.channels)
            for rank, index in enumerate(getattr(la, f"{kind}_indices")[i])]
    return ("layer", "channel", "kind", "rank", "image", "activation", "row", "col"), rows


def excitation_table(atlas: Atlas):
    """``tables/excitation.csv``: per layer, the fraction of channels whose best visualization
    excites them more than their strongest dataset example, the channels no example excites
    (dead) and the fraction among the others (:mod:`nnvisual.microscope.stats`)."""
    return ("layer", "channels", "excited", "fraction", "dead", "fraction_alive"), stats.excitation_rows(
        {la.layer: (la.responses, la.top_activations[:, 0]) for la in atlas.layers})


def classes_table(atlas: Atlas):
    """``tables/classes.csv``: the classes each channel of a layer that feeds the scores directly
    feeds most, with its weights."""
    rows = [(la.layer, channel, rank, int(k), atlas.class_names[k], la.class_weights[i, rank])
            for la in atlas.layers if "classes" in la.arrays
            for i, channel in enumerate(la.channels) for rank, k in enumerate(la.classes[i])]
    return ("layer", "channel", "rank", "class", "name", "weight"), rows


def atlas_arrays(atlas: Atlas) -> dict[str, np.ndarray]:
    """``atlas.npz``: every layer's arrays as ``<layer>:<name>``, the scanned images' names, and
    the classes' arrays as ``class_<name>``."""
    arrays = {f"{la.layer}:{name}": value for la in atlas.layers for name, value in la.arrays.items()}
    return {**arrays, "names": np.array(atlas.names),
            **{f"class_{name}": value for name, value in atlas.class_arrays.items()}}


def read_atlas(arrays, layers, shapes, class_names) -> Atlas:
    """The :class:`Atlas` of :func:`atlas_arrays`' arrays."""
    found = [LayerAtlas(layer, tuple(shapes[layer]), {name.partition(":")[2]: arrays[name]
                                                      for name in arrays if name.startswith(f"{layer}:")})
             for layer in layers]
    return Atlas(found, tuple(str(n) for n in arrays["names"]), tuple(class_names),
                 {name.removeprefix("class_"): arrays[name] for name in arrays if name.startswith("class_")})


def merge(parts: list[Atlas]) -> Atlas:
    """The atlas of shards (blocks of each layer's channels, in shard order; the classes, which
    the first shard renders) as one."""
    layers = [LayerAtlas(first.layer, first.shape, {
        name: np.concatenate([part.layers[i].arrays[name] for part in parts]) for name in first.arrays})
        for i, first in enumerate(parts[0].layers)]
    rendered = [part.class_arrays for part in parts if part.class_arrays]
    class_arrays = {name: np.concatenate([found[name] for found in rendered])
                    for name in rendered[0]} if rendered else {}
    return Atlas(layers, parts[0].names, parts[0].class_names, class_arrays)
