"""Feature maps and their projections to pixel space, batched: one forward pass per image and
one vectorized backward pass per layer (:class:`Projector`); the top-k channels of an image
(:func:`project_layers`) and the strongest dataset images of a channel (:func:`top_images`,
Zeiler & Fergus 2014, Figure 2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence

import keras
import numpy as np
from keras import layers as kl
from keras import ops

from nnvisual import graph
from nnvisual.deconv.fields import ReceptiveField, output_size, receptive_field
from nnvisual.deconv.path import MODES, projection_path, replacement, upper_clip
from nnvisual.graph import gradients
from nnvisual.graph.faster_layers import faster_call
from nnvisual.runtime.interrupts import check_interrupt

_DEPTHWISE = (kl.DepthwiseConv2D, kl.SeparableConv2D)
# where k projections of one image through a depthwise convolution run faster as k backward
# passes of one seed than as one pass over the image repeated k times (docs/performance.md,
# "DeconvNet projections")
SEED_BY_SEED_ON = ("jax",)


class Projector:
    """Feature maps and projections for one model and one method, compiled once per layer.

    A layer whose rectifier saturates (ReLU6) is read before its own upper clip: its units
    above 6 would all tie at 6 in the ranking and, for ``gradient`` and ``guided``, project
    nothing (the clip's slope is 0 there). Every other layer, those on the path included,
    computes as in the model."""

    def __init__(self, model, method: str = "deconvnet"):
        self.model = model
        self.method = method
        self._paths = {}
        self._replacements = {}
        self._unclipped = {}  # layer -> the layer without its upper clip, for clipped layers
        self._fields = {}
        self._compiled = {}

    def path(self, layer: str):
        """``{path: replacement}`` of the operations ``layer`` depends on (built once: copies
        layers and reads weights; UserError if the method has no rule for one of them)."""
        if layer not in self._paths:
            self._paths[layer] = projection_path(self.model, layer, self.method)
            self._replacements.update(self._paths[layer])
            target = graph.get_layer(self.model, layer)
            if upper_clip(target) is not None:
                self._unclipped[layer] = replacement(target, layer, self.method, layer,
                                                     clipped=False)
        return self._paths[layer]

    def _compile(self, fn, layers):
        """``fn``, a projection to ``layers``, compiled to read the model's weights and those of
        the layer copies on their paths as arguments (on JAX:
        :func:`~nnvisual.graph.gradients.compile_function`): a program that JAX's compilation
        cache stores holds no weights."""
        copies = [copy for layer in layers
                  for copy in (*self.path(layer).values(), self._unclipped.get(layer))]
        variables = [*self.model.variables,
                     *(v for copy in copies if copy is not None for v in copy.variables)]
        return gradients.compile_function(fn, variables=list({id(v): v for v in variables}.values()))

    def _forward(self, images, layers):
        """The layers' outputs, each clipped layer's taken before its own clip; the layers
        computed as their faster kinds on this backend (:mod:`nnvisual.graph.faster_layers`)."""
        unclipped = {}

        def call(operation, path, args, kwargs):
            if path in layers and path in self._unclipped:
                unclipped[path] = self._unclipped[path](*args, **kwargs)
            if self._replacements[path] is None:
                return faster_call(operation, *args, **kwargs)
            return self._replacements[path](*args, **kwargs)

        outputs = graph.replay(self.model, images, layers, call)
        return tuple(unclipped.get(name, outputs[name]) for name in layers)

    def feature_maps(self, images: np.ndarray, layers) -> dict[str, np.ndarray]:
        """Each layer's output (before its own upper clip, if it has one) for a batch of
        (preprocessed) images, in one forward pass."""
        layers = tuple(sorted(set(layers)))
        key = ("forward", layers)
        if key not in self._compiled:
            for layer in layers:
                self.path(layer)
            self._compiled[key] = self._compile(lambda x: self._forward(x, layers), layers)
        maps = self._compiled[key](np.asarray(images, np.float32))
        return {name: ops.convert_to_numpy(m) for name, m in zip(layers, maps, strict=True)}

    def project(self, images: np.ndarray, starts: np.ndarray, layer: str) -> np.ndarray:
        """One backward pass: for each image i, d <starts[i], layer output of image i> / d image i,
        with ReLU's backward rule replaced by the method's."""
        key = ("project", layer)
        if key not in self._compiled:
            self.path(layer)

            def project(x, seed):
                _, gradient = gradients.value_and_gradient(
                    lambda z: ops.sum(self._forward(z, (layer,))[0] * seed), x)
                return gradient

            self._compiled[key] = self._compile(project, (layer,))
        return ops.convert_to_numpy(self._compiled[key](np.asarray(images, np.float32),
                                              np.asarray(starts, np.float32)))

    def project_shared(self, image: np.ndarray, starts: np.ndarray, layer: str) -> np.ndarray:
        """For one image (1, H, W, C) and k seeds (k, h, w, C'), d <starts[i], layer output> /
        d image for each i, with the method's ReLU rule: one forward pass, one batched backward
        pass (k, H, W, C)."""
        key = ("shared", layer)
        if key not in self._compiled:
            self.path(layer)

            def project(x, seeds):
                products = gradients.vector_jacobian_products(
                    lambda z: self._forward(z, (layer,))[0], x, seeds[:, None])
                return products[:, 0]

            self._compiled[key] = self._compile(project, (layer,))
        return ops.convert_to_numpy(self._compiled[key](np.asarray(image, np.float32),
                                              np.asarray(starts, np.float32)))

    def crosses_depthwise(self, layer: str) -> bool:
        """Whether the path to ``layer`` holds a depthwise convolution. Shared projections
        through one are not vectorized over the seeds (:meth:`project_shared`): TensorFlow
        vectorizes a depthwise convolution's backward pass over k seeds as one convolution of k
        times the channels (its kernel tiled k times, transposes in and out), and on
        EfficientNet-Lite0 that cost 1.7x the CPU time of k passes of one seed (JAX: the same
        time). They are one pass over the image repeated k times or, on the backends of
        :data:`SEED_BY_SEED_ON`, k passes of one seed (docs/performance.md, "DeconvNet
        projections")."""
        return any(isinstance(graph.get_layer(self.model, path), _DEPTHWISE)
                   for path in self.path(layer))

    def field(self, layer: str) -> ReceptiveField:
        if layer not in self._fields:
            self._fields[layer] = receptive_field(self.model, layer)
        return self._fields[layer]

    def project_channels(self, images, feature_maps, channels, positions, mode: str, layer: str):
        """For each i, project channel ``channels[i]`` of ``feature_maps[i]`` (the layer's output
        for ``images[i]``): only its activation at ``positions[i]`` (``max``) or its whole map
        (``map``), all in one compiled call. ``images`` (and ``feature_maps``) may hold a single
        image shared by every channel: then the forward pass is done once.

        In ``max`` mode each image is cropped, where the path allows it, to an aligned window
        holding the activation's receptive field; nothing outside that window reaches the
        activation, so the projection is the same while early layers cost a fraction."""
        shared = len(images) == 1
        if shared:
            feature_maps = np.broadcast_to(feature_maps, (len(channels), *feature_maps.shape[1:]))
        field = self.field(layer)
        windows = [field.window(p, images.shape[1:3]) for p in positions] if mode == "max" else []
        if not windows or None in windows:
            starts = seeds(feature_maps, channels, positions, mode)
            if shared and self.crosses_depthwise(layer):
                if keras.backend.backend() in SEED_BY_SEED_ON:
                    return np.concatenate([self.project(images, start[None], layer)
                                           for start in starts])
                return self.project(np.repeat(images, len(starts), axis=0), starts, layer)
            if shared:
                return self.project_shared(images, starts, layer)
            return self.project(images, starts, layer)
        height, width = windows[0][2:]
        crops = np.stack([images[0 if shared else i, top:top + height, left:left + width]
                          for i, (top, left, _, _) in enumerate(windows)])
        crop_seeds = np.zeros((len(crops), *output_size(self.model, layer, (height, width)),
                               feature_maps.shape[-1]), np.float32)
        for i, (channel, (row, col), (top, left, _, _)) in enumerate(
                zip(channels, positions, windows, strict=True)):
            crop_row, crop_col = row - top // field.jump[0], col - left // field.jump[1]
            assert 0 <= crop_row < crop_seeds.shape[1] and 0 <= crop_col < crop_seeds.shape[2]
            crop_seeds[i, crop_row, crop_col, channel] = feature_maps[i, row, col, channel]
        projections = np.zeros((len(crops), *images.shape[1:]), np.float32)
        for projection, crop, (top, left, _, _) in zip(
                projections, self.project(crops, crop_seeds, layer), windows, strict=True):
            projection[top:top + height, left:left + width] = crop
        return projections


def top_channels(feature_map: np.ndarray, k: int):
    """The ``k`` channels of a (h, w, C) map with the largest maximum (ties: lower channel first),
    their maxima and the (row, col) of each maximum (ties: first in row-major order)."""
    height, width, count = feature_map.shape
    flat = feature_map.reshape(height * width, count)
    channels = np.argsort(-flat.max(axis=0), kind="stable")[:k]
    where = flat[:, channels].argmax(axis=0)
    positions = np.stack(np.unravel_index(where, (height, width)), axis=1)
    return channels, flat[where, channels], positions


def seeds(feature_maps: np.ndarray, channels, positions, mode: str) -> np.ndarray:
    """Starting points of the projections, one per channel: the map of ``feature_maps[i]``
    (h, w, C) with only the activation at ``positions[i]`` (``max``) or only channel
    ``channels[i]`` (``map``) kept, all others zero. ``feature_maps`` is one map per seed."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    out = np.zeros_like(feature_maps, dtype=np.float32)
    for i, (channel, (row, col)) in enumerate(zip(channels, positions, strict=True)):
        if mode == "max":
            out[i, row, col, channel] = feature_maps[i, row, col, channel]
        else:
            out[i, :, :, channel] = feature_maps[i, :, :, channel]
    return out


@dataclasses.dataclass(frozen=True)
class LayerProjections:
    """The top-k channels of one layer on one image and their projections to input space."""

    layer: str
    channels: np.ndarray  # (k,) channel indices, strongest first
    activations: np.ndarray  # (k,) maximum of each channel's map (before a ReLU6's clip)
    positions: np.ndarray  # (k, 2) row, col of that maximum in the map
    boxes: np.ndarray  # (k, 4) receptive field of that maximum: top, left, bottom, right (excl.)
    projections: np.ndarray  # (k, H, W, C) float32, in the model's input space
    field_size: tuple[int, int]  # receptive field of the layer's units before clipping


def project_layers(projector: Projector, image: np.ndarray, layers, top_k: int = 8,
                   mode: str = "max") -> list[LayerProjections]:
    """Project the ``top_k`` strongest channels of each layer for one preprocessed image
    (H, W, C), with the projector's model and method."""
    maps = projector.feature_maps(image[None], layers)
    results = []
    for layer in layers:
        feature_map = maps[layer][0]
        channels, activations, positions = top_channels(feature_map, top_k)
        projections = projector.project_channels(image[None], feature_map[None], channels,
                                                 positions, mode, layer)
        field = projector.field(layer)
        boxes = np.array([field.box(p, image.shape[:2]) for p in positions], dtype=np.int64)
        results.append(LayerProjections(layer, channels, activations, positions, boxes,
                                        projections, field.size))
    return results


# -- Zeiler & Fergus Figure 2: the dataset images that activate a channel most --------------------
@dataclasses.dataclass(frozen=True)
class TopCandidates:
    """A scan's strongest images for each channel of a layer: at most ``n`` per channel, by the
    maximum of the channel's map, strongest first (ties: the earlier image first)."""

    layer: str
    channels: np.ndarray  # (k,)
    indices: np.ndarray  # (k, m) positions of the images in the scanned list
    activations: np.ndarray  # (k, m) the maximum of the channel's map on each image
    positions: np.ndarray  # (k, m, 2) row, col of that maximum in the map


def merge_top(parts: Sequence[TopCandidates], n: int) -> TopCandidates:
    """The ``n`` strongest of the candidates ``parts`` found for the same layer and channels in
    different images (batches of one scan, or the shards of a split): strongest first, ties by
    image position, so the parts' order does not matter and the result is what one scan of all
    their images keeps."""
    first = parts[0]
    indices, activations, positions = (np.concatenate([getattr(part, name) for part in parts],
                                                      axis=1)
                                       for name in ("indices", "activations", "positions"))
    order = np.lexsort((indices, -activations), axis=1)[:, :n]
    return TopCandidates(first.layer, first.channels, np.take_along_axis(indices, order, 1),
                         np.take_along_axis(activations, order, 1),
                         np.take_along_axis(positions, order[..., None], 1))


def batch_candidates(layer: str, channels, feature_maps: np.ndarray, first: int) -> TopCandidates:
    """Every image of a batch as a candidate of each of ``channels``: the maximum of the
    channel's map in ``feature_maps`` (count, h, w, C) and its (row, col) (ties: first in
    row-major order); the batch's images are at positions ``first ..``."""
    channels = np.asarray(channels)
    chosen = feature_maps[..., channels]
    count, height, width, _ = chosen.shape
    flat = chosen.reshape(count, height * width, len(channels))
    where = np.stack(np.unravel_index(flat.argmax(axis=1).T, (height, width)), axis=-1)
    return TopCandidates(layer, channels,
                         np.broadcast_to(first + np.arange(count), (len(channels), count)),
                         flat.max(axis=1).T, where)


def running_top(projector: Projector, batches: Iterable[tuple[int, np.ndarray]],
                channels_by_layer: dict, n: int = 9, start: Sequence[TopCandidates] = ()
                ) -> Iterator[tuple[int, list[TopCandidates]]]:
    """A running top-``n`` of each channel's images over ``batches`` of ``(position of the
    batch's first image, model input)``, continuing from the candidates ``start`` (one per layer)
    of the images before them: after each batch, ``(the position after its last image, each
    layer's candidates so far)``. Memory does not grow with the number of images."""
    layers = list(channels_by_layer)
    best = {top.layer: top for top in start}
    for first, batch in batches:
        check_interrupt()
        maps = projector.feature_maps(batch, layers)
        for layer in layers:
            found = batch_candidates(layer, channels_by_layer[layer], maps[layer], first)
            best[layer] = merge_top([best[layer], found] if layer in best else [found], n)
        yield first + len(batch), [best[layer] for layer in layers]


def scan_top(projector: Projector, batches: Iterable[tuple[int, np.ndarray]],
             channels_by_layer: dict, n: int = 9) -> list[TopCandidates]:
    """Each channel's ``n`` strongest images of a scan, from ``batches`` of ``(position of the
    batch's first image, model input)`` (:func:`running_top`'s last candidates)."""
    candidates = None
    for _, running in running_top(projector, batches, channels_by_layer, n):
        candidates = running
    return candidates


@dataclasses.dataclass(frozen=True)
class TopImages:
    """For each channel of a layer, the ``n`` dataset images with the largest map maximum."""

    layer: str
    channels: np.ndarray  # (k,)
    indices: np.ndarray  # (k, n) indices into the scanned images, strongest first
    activations: np.ndarray  # (k, n)
    positions: np.ndarray  # (k, n, 2)
    boxes: np.ndarray  # (k, n, 4) receptive field of each maximum
    projections: np.ndarray  # (k, n, H, W, C)
    field_size: tuple[int, int]


def project_top(projector: Projector, candidates: Sequence[TopCandidates],
                load: Callable[[np.ndarray], np.ndarray], mode: str = "max") -> list[TopImages]:
    """Project each channel's strongest images, one channel's images per batch, with the
    projector's model and method; ``load(indices)`` is the model input of those images."""
    results = []
    for top in candidates:
        field = projector.field(top.layer)
        boxes, projections = [], []
        for channel, indices, positions in zip(top.channels, top.indices, top.positions,
                                               strict=True):
            batch = load(indices)
            feature_maps = projector.feature_maps(batch, [top.layer])[top.layer]
            boxes.append([field.box(p, batch.shape[1:3]) for p in positions])
            projections.append(projector.project_channels(
                batch, feature_maps, [channel] * len(batch), positions, mode, top.layer))
        results.append(TopImages(top.layer, top.channels, top.indices, top.activations,
                                 top.positions, np.asarray(boxes, np.int64),
                                 np.stack(projections), field.size))
    return results


def top_images(projector: Projector, images: np.ndarray, prepare: Callable,
               channels_by_layer: dict, n: int = 9, mode: str = "max",
               batch_size: int = 64) -> list[TopImages]:
    """Scan ``images`` (uint8, batched forward passes; ``prepare`` turns a uint8 batch into model
    input), keep each channel's ``n`` strongest images and project each of them separately
    with the projector's model and method."""
    batches = ((start, prepare(images[start:start + batch_size]))
               for start in range(0, len(images), batch_size))
    return project_top(projector, scan_top(projector, batches, channels_by_layer, n),
                       lambda indices: prepare(images[indices]), mode)
