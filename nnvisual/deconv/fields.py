"""Receptive fields: which input pixels a unit of a layer sees, and the aligned input window
that holds them (so a unit can be computed exactly on a crop of the image)."""

from __future__ import annotations

import dataclasses

import keras
from keras import layers as kl

from nnvisual import graph
from nnvisual.errors import UserError
from nnvisual.graph.padding import same_padding

_CONV = (kl.Conv2D, kl.DepthwiseConv2D, kl.SeparableConv2D)
_POOL = (kl.MaxPooling2D, kl.AveragePooling2D)
# layers whose output at a position depends only on their inputs at that position
_POINTWISE = (kl.Activation, kl.ReLU, kl.LeakyReLU, kl.ELU, kl.PReLU, kl.Softmax,
              kl.BatchNormalization, kl.Normalization, kl.Rescaling, kl.Dropout,
              kl.SpatialDropout2D, kl.GaussianDropout, kl.GaussianNoise, kl.Identity, kl.Add,
              kl.Subtract, kl.Average, kl.Multiply, kl.Maximum, kl.Minimum, kl.Concatenate)


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


def _window_step(layer, field, n):
    """Field after a convolution or pooling layer whose input has spatial size ``n``."""
    if isinstance(layer, _CONV):
        strides = layer.strides
        kernel = [(k - 1) * d + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate,
                                                  strict=True)]
        invariant = tuple(strides) == (1, 1)
    else:
        kernel, strides = layer.pool_size, layer.strides or layer.pool_size
        invariant = layer.padding == "valid" and all(
            k >= s for k, s in zip(kernel, strides, strict=True))
    size, jump, offset = list(field.size), list(field.jump), list(field.offset)
    for axis in (0, 1):
        k, s = kernel[axis], strides[axis]
        before = same_padding(n[axis], k, s)[0] if layer.padding == "same" else 0
        offset[axis] += before * jump[axis]
        size[axis] += (k - 1) * jump[axis]
        jump[axis] *= s
    return ReceptiveField(tuple(size), tuple(jump), tuple(offset),
                          field.shift_invariant and invariant)


def _union(fields):
    """The field of a merge (Add, Concatenate, Multiply...): the box holding every input's."""
    if None in fields or len({f.jump for f in fields}) > 1:
        return None
    offset = tuple(max(f.offset[a] for f in fields) for a in (0, 1))
    size = tuple(max(f.size[a] - f.offset[a] for f in fields) + offset[a] for a in (0, 1))
    return ReceptiveField(size, fields[0].jump, offset, all(f.shift_invariant for f in fields))


def _padding_step(layer, field):
    """ZeroPadding2D / Cropping2D shift the coordinates; a crop of the image would not see
    the same padding, so the field is no longer shift invariant."""
    (top, _), (left, _) = layer.padding if isinstance(layer, keras.layers.ZeroPadding2D) \
        else tuple((-a, -b) for a, b in layer.cropping)
    offset = (field.offset[0] + top * field.jump[0], field.offset[1] + left * field.jump[1])
    return ReceptiveField(field.size, field.jump, offset, False)


@dataclasses.dataclass(frozen=True)
class _Value:
    """What the graph carries while fields are derived: a tensor's field and shape."""

    field: ReceptiveField | None  # None: a unit may see any input pixel
    spec: keras.KerasTensor


def _specs(structure):
    return keras.tree.map_structure(lambda v: v.spec if isinstance(v, _Value) else v, structure)


def _step(layer, inputs, output):
    """The field of ``layer``'s output from its inputs' values (None: the whole input)."""
    if not inputs:
        return None
    fields = [value.field for value in inputs]
    spec = inputs[0].spec
    if len(output.shape) != 4 or len(spec.shape) != 4:
        return None
    if isinstance(layer, _CONV + _POOL):
        return None if fields[0] is None else _window_step(layer, fields[0], spec.shape[1:3])
    if isinstance(layer, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)):
        return None if fields[0] is None else _padding_step(layer, fields[0])
    same_size = all(tuple(v.spec.shape[1:3]) == tuple(output.shape[1:3]) for v in inputs)
    if isinstance(layer, _POINTWISE) and same_size:
        return _union(fields)
    return None


def receptive_field(model, target: str) -> ReceptiveField:
    """Receptive field geometry of ``target``'s units, propagated through the model's graph from
    the kernels, strides and paddings (merges take the box holding every branch's field). Where
    a unit may see the whole input (global pooling, attention gates, unknown layers) the field
    is the whole input: jump 0, size the input's, not shift invariant."""
    def visit(layer, path, args, kwargs):
        inputs = [v for v in keras.tree.flatten((args, kwargs)) if isinstance(v, _Value)]
        output = layer.compute_output_spec(*_specs(args), **_specs(kwargs))
        outputs = keras.tree.flatten(output)
        if len(outputs) != 1:
            return [_Value(None, spec) for spec in outputs]
        return _Value(_step(layer, inputs, outputs[0]), outputs[0])

    source = graph.graph_of(model).inputs[0]
    start = ReceptiveField((1, 1), (1, 1), (0, 0), True)
    field = graph.replay(model, _Value(start, keras.KerasTensor(source.shape)), [target],
                         visit)[target].field
    if field is not None:
        return field
    size = tuple(source.shape[1:3])
    if None in size:
        raise UserError(f"'{target}' sees the whole input of {model.name}, whose size is not fixed")
    return ReceptiveField(size, (0, 0), (0, 0), False)


def output_size(model, target: str, image_size) -> tuple[int, int]:
    """Spatial size of ``target``'s output for an input of ``image_size``."""
    source = graph.graph_of(model).inputs[0]
    spec = keras.KerasTensor((None, *image_size, source.shape[-1]))
    shape = graph.replay(model, spec, [target], lambda layer, path, args, kwargs:
                         layer.compute_output_spec(*args, **kwargs))[target].shape
    return tuple(shape[1:3])
