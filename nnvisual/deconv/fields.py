"""Receptive fields: which input pixels a unit of a layer sees, and the aligned input window
that holds them (so a unit can be computed exactly on a crop of the image)."""

from __future__ import annotations

import dataclasses
import math

import keras

from nnvisual.deconv.path import chain_to


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

