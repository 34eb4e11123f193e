"""Project feature maps back to pixel space: DeconvNet, guided backpropagation and saliency.

docs/study.md, "DeconvNet". Zeiler & Fergus (2014) go down from one activation:
unpool with the forward max-pooling switches, rectify, filter with the transposed kernels, no
bias. That is the backward pass of the network from that activation with one change: ReLU's
backward rule (``RULES``). Keeping the plain rule gives the gradient (saliency; Simonyan et al.
2014), combining both gives guided backpropagation (Springenberg et al. 2015). So the three
methods are one mechanism: a copy of the path from the input to the chosen layer, built from the
model's layers, whose ReLUs carry the method's backward rule. The caller's model is never changed.

All selected channels of a layer are projected in one compiled call: one forward pass of the
image, then one backward pass vectorized over the channels' seeds (the activation(s) kept, all
others zero; :func:`~nnvisual.gradients.vector_jacobian_products`). Projecting from one
activation (``max`` mode), each seed's image is instead cropped to an aligned window holding that
activation's receptive field and the crops go through as one batch: nothing outside the window
reaches the activation, so the projection is unchanged and cheaper.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from nnvisual import gradients
from nnvisual.choices import DECONV_METHODS, DECONV_MODES
from nnvisual.errors import UserError

METHODS, MODES = DECONV_METHODS, DECONV_MODES
RULES = {
    # backward rule of ReLU: upstream gradient g, forward input x
    "deconvnet": "relu(g)",  # Zeiler & Fergus 2014: rectify the signal going down
    "guided": "relu(g) * [x > 0]",  # Springenberg et al. 2015
    "gradient": "g * [x > 0]",  # the true gradient (saliency, Simonyan et al. 2014)
}
VGG16_DEFAULT_LAYERS = tuple(f"block{i}_conv1" for i in range(1, 6))

_PASS_THROUGH = (keras.layers.Normalization, keras.layers.Rescaling, keras.layers.MaxPooling2D,
                 keras.layers.Flatten)
_WITH_ACTIVATION = (keras.layers.Conv2D, keras.layers.Dense, keras.layers.Activation)


def relu_with_rule(method: str) -> Callable:
    """ReLU whose backward pass follows ``RULES[method]`` (the forward pass is plain ReLU)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")

    @ops.custom_gradient
    def relu(x):
        def backward(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            if method == "deconvnet":
                return ops.relu(upstream)
            positive = ops.cast(ops.greater(x, 0), upstream.dtype)
            return (ops.relu(upstream) if method == "guided" else upstream) * positive

        return ops.relu(x), backward

    return relu


# -- the path from the input to a layer --------------------------------------------------------
def conv_layer_names(model) -> list[str]:
    """Names of the model's Conv2D layers, in order."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def default_layers(model, model_name: str) -> tuple[str, ...]:
    """The first convolution of each VGG16 block; every convolution of other models."""
    if model_name == "vgg16":
        return VGG16_DEFAULT_LAYERS
    return tuple(conv_layer_names(model))


def check_layers(model, layers) -> None:
    """Raise UserError unless every name in ``layers`` is a Conv2D layer of ``model``."""
    valid = conv_layer_names(model)
    for name in layers:
        if name in valid:
            continue
        try:
            kind = type(model.get_layer(name)).__name__
        except ValueError:
            raise UserError(f"unknown layer '{name}'; convolution layers of {model.name}: "
                            f"{', '.join(valid)}") from None
        raise UserError(f"layer '{name}' is a {kind}, not a Conv2D; choose among: "
                        f"{', '.join(valid)}")


def chain_to(model, target: str) -> list:
    """The model's layers from the input up to ``target``, checking that they form a chain
    (a Sequential model is one by construction; a functional model must feed each layer from
    the previous one)."""
    sequential = isinstance(model, keras.Sequential)
    path, previous = [], model.inputs[0] if len(model.inputs) == 1 else None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if not sequential:
            try:
                source = layer.input
            except (AttributeError, ValueError):  # a layer used several times, or never called
                source = None
            if previous is None or source is not previous:
                raise UserError(f"model {model.name} is not a simple chain of layers at "
                                f"'{layer.name}'; DeconvNet projections need one input and one "
                                "layer after another")
            previous = layer.output
        path.append(layer)
        if layer.name == target:
            return path
    raise UserError(f"layer '{target}' not found in {model.name}")


def _linear_copy(layer):
    """The same layer with a linear activation (same config and weights), so that its ReLU can
    be applied separately with the method's backward rule."""
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_linear"}
    copy = type(layer).from_config(config)
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def _activation_step(layer, activation, relu, target):
    if activation is keras.activations.relu:
        return relu
    if activation is keras.activations.linear:
        return None
    name = getattr(activation, "__name__", repr(activation))
    raise UserError(f"layer '{layer.name}' uses the {name} activation on the path to '{target}'; "
                    "DeconvNet projections support only relu and linear")


def _steps(layer, relu, target) -> list[Callable]:
    """The operations that replace ``layer`` on the projection path."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UserError(f"layer '{layer.name}' is channels_first; DeconvNet projections need "
                        "channels_last images (height, width, channels)")
    if isinstance(layer, keras.layers.Dropout):
        return []  # inference: identity
    if isinstance(layer, _PASS_THROUGH):
        return [layer]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [lambda z: layer(z, training=False)]
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        if config["max_value"] is None and not config["negative_slope"] and not config["threshold"]:
            return [relu]
        raise UserError(f"ReLU layer '{layer.name}' has max_value, negative_slope or threshold "
                        "set; DeconvNet projections support only the plain ReLU")
    if isinstance(layer, _WITH_ACTIVATION):
        rule = _activation_step(layer, layer.activation, relu, target)
        if isinstance(layer, keras.layers.Activation):
            return [rule] if rule else []
        return [_linear_copy(layer), rule] if rule else [layer]
    raise UserError(f"layer '{layer.name}' ({type(layer).__name__}) on the path to '{target}' is "
                    "not supported by DeconvNet projections (Conv2D, MaxPooling2D, ReLU, Dropout, "
                    "BatchNormalization, Flatten, Dense, Normalization, Rescaling)")


def projection_path(model, target: str, method: str) -> list[tuple[str, list[Callable]]]:
    """``(layer name, operations)`` from the input to ``target``, ReLUs following ``method``."""
    relu = relu_with_rule(method)
    return [(layer.name, _steps(layer, relu, target)) for layer in chain_to(model, target)]


# -- receptive fields ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ReceptiveField:
    """Unit ``p`` of a layer sees input pixels ``p * jump - offset`` to ``... + size - 1`` (per
    axis). ``shift_invariant``: every layer on the path commutes with shifting the input by a
    multiple of ``jump`` (stride-1 convolutions, max-pooling without padding, pointwise layers),
    so that a unit can be computed exactly on a crop holding its receptive field."""

    size: tuple[int, int]
    jump: tuple[int, int]
    offset: tuple[int, int]
    shift_invariant: bool

    def box(self, position, image_size) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), bottom and right exclusive, clipped to the image."""
        start = [p * j - o for p, j, o in zip(position, self.jump, self.offset, strict=True)]
        return (max(start[0], 0), max(start[1], 0), min(start[0] + self.size[0], image_size[0]),
                min(start[1] + self.size[1], image_size[1]))

    def window(self, position, image_size) -> tuple[int, int, int, int] | None:
        """(top, left, height, width) of an input window aligned to the jump that holds the
        receptive field of the unit at ``position`` and touches the image border where the field
        is clipped; its size depends only on the layer. None where the whole image is needed."""
        if not self.shift_invariant:
            return None
        corner, sides = [], []
        for p, size, jump, offset, n in zip(position, self.size, self.jump, self.offset,
                                            image_size, strict=True):
            # fields start at -offset modulo the jump: the aligned window reaching back there
            side = -(-(size + (-offset) % jump) // jump) * jump
            if side >= n or n % jump:
                return None
            start = p * jump - offset
            top = max(start, 0) // jump * jump
            if start + size > n or top + side > n:
                top = n - side
            corner.append(top)
            sides.append(side)
        return (*corner, *sides)


def receptive_field(model, target: str) -> ReceptiveField:
    """Receptive field geometry of ``target``'s units from the kernels, strides and paddings."""
    size, jump, offset, shift_invariant = [1, 1], [1, 1], [0, 0], True
    for layer in chain_to(model, target):
        if isinstance(layer, keras.layers.Conv2D):
            strides = layer.strides
            kernel = [(k - 1) * d + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate,
                                                      strict=True)]
            shift_invariant &= tuple(strides) == (1, 1)
        elif isinstance(layer, keras.layers.MaxPooling2D):
            kernel, strides = layer.pool_size, layer.strides or layer.pool_size
            shift_invariant &= layer.padding == "valid" and all(
                k >= s for k, s in zip(kernel, strides, strict=True))
        else:
            shift_invariant &= not isinstance(layer, (keras.layers.Flatten, keras.layers.Dense))
            continue
        for axis in (0, 1):
            k, s, n = kernel[axis], strides[axis], layer.input.shape[1 + axis]
            before = 0
            if layer.padding == "same":
                before = max((math.ceil(n / s) - 1) * s + k - n, 0) // 2
            offset[axis] += before * jump[axis]
            size[axis] += (k - 1) * jump[axis]
            jump[axis] *= s
    return ReceptiveField(tuple(size), tuple(jump), tuple(offset), shift_invariant)


def output_size(model, target: str, image_size) -> tuple[int, int]:
    """Spatial size of ``target``'s output for an input of ``image_size``."""
    shape = (None, *image_size, model.input_shape[-1])
    for layer in chain_to(model, target):
        shape = layer.compute_output_shape(shape)
    return tuple(shape[1:3])


# -- forward feature maps and batched projections -------------------------------------------------
class Projector:
    """Feature maps and projections for one model and one method, compiled once per layer."""

    def __init__(self, model, method: str = "deconvnet"):
        self.model = model
        self.method = method
        self._paths = {}
        self._fields = {}
        self._compiled = {}

    def path(self, layer: str):
        """The projection path to ``layer`` (built once; UserError if a layer is unsupported)."""
        if layer not in self._paths:
            self._paths[layer] = projection_path(self.model, layer, self.method)
        return self._paths[layer]

    def _forward(self, images, layers):
        outputs, z = {}, images
        for name, operations in self.path(layers[-1]):
            for operation in operations:
                z = operation(z)
            if name in layers:
                outputs[name] = z
        return tuple(outputs[name] for name in layers)

    def feature_maps(self, images: np.ndarray, layers) -> dict[str, np.ndarray]:
        """Each layer's output for a batch of (preprocessed) images, in one forward pass."""
        order = {layer.name: i for i, layer in enumerate(self.model.layers)}
        layers = tuple(sorted(layers, key=order.__getitem__))
        key = ("forward", layers)
        if key not in self._compiled:
            self.path(layers[-1])  # built eagerly: copies layers and reads weights
            self._compiled[key] = gradients.compile_function(lambda x: self._forward(x, layers))
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

            self._compiled[key] = gradients.compile_function(project)
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

            self._compiled[key] = gradients.compile_function(project)
        return ops.convert_to_numpy(self._compiled[key](np.asarray(image, np.float32),
                                              np.asarray(starts, np.float32)))

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
    activations: np.ndarray  # (k,) maximum of each channel's map
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


def top_images(projector: Projector, images: np.ndarray, prepare: Callable,
               channels_by_layer: dict, n: int = 9, mode: str = "max",
               batch_size: int = 64) -> list[TopImages]:
    """Scan ``images`` (uint8, batched forward passes; ``prepare`` turns a uint8 batch into model
    input), keep each channel's ``n`` strongest images and project each of them separately
    with the projector's model and method."""
    layers = list(channels_by_layer)
    maxima = {layer: [] for layer in layers}
    where = {layer: [] for layer in layers}
    for start in range(0, len(images), batch_size):
        maps = projector.feature_maps(prepare(images[start:start + batch_size]), layers)
        for layer in layers:
            chosen = maps[layer][..., channels_by_layer[layer]]
            flat = chosen.reshape(len(chosen), -1, chosen.shape[-1])
            maxima[layer].append(flat.max(axis=1))
            where[layer].append(flat.argmax(axis=1))
    results = []
    for layer in layers:
        channels = np.asarray(channels_by_layer[layer])
        layer_maxima, layer_where = np.concatenate(maxima[layer]), np.concatenate(where[layer])
        indices = np.argsort(-layer_maxima, axis=0, kind="stable")[:n].T  # (k, n)
        field = projector.field(layer)
        rows = []
        for i, channel in enumerate(channels):
            batch = prepare(images[indices[i]])
            feature_maps = projector.feature_maps(batch, [layer])[layer]
            shape = feature_maps.shape[1:3]
            positions = np.stack(np.unravel_index(layer_where[indices[i], i], shape), axis=1)
            rows.append((layer_maxima[indices[i], i], positions,
                         [field.box(p, batch.shape[1:3]) for p in positions],
                         projector.project_channels(batch, feature_maps, [channel] * len(batch),
                                                    positions, mode, layer)))
        activations, positions, boxes, projections = (np.stack(part)
                                                      for part in zip(*rows, strict=True))
        results.append(TopImages(layer, channels, indices, activations, positions,
                                 boxes.astype(np.int64), projections, field.size))
    return results
