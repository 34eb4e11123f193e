"""Layers computed another way on the backends where that runs faster: the same function, the
same weights, the same derivative (up to float32 rounding). On JAX: depthwise convolutions as
shifted multiply-adds (:mod:`~nnvisual.graph.shifted_depthwise`), 1x1 convolutions as matrix
products (:mod:`~nnvisual.graph.pointwise`), rectifiers differentiated from their output
(:mod:`~nnvisual.graph.output_masked_relu`)."""

from __future__ import annotations

from nnvisual.graph import output_masked_relu, pointwise, shifted_depthwise

_KINDS = ((shifted_depthwise.faster, shifted_depthwise.ShiftedDepthwiseConv2D),
          (pointwise.faster, pointwise.PointwiseConv2D),
          (output_masked_relu.faster, output_masked_relu.OutputMaskedReLU))


def faster_kind(layer) -> type:
    """The layer type that computes ``layer`` faster on this backend (its own if none)."""
    return next((kind for faster, kind in _KINDS if faster(layer)), type(layer))


def faster_call(layer, *args, **kwargs):
    """What ``layer(*args, **kwargs)`` computes, computed as its faster kind does, on the layer's
    own variables (no copy: it follows weights changed in place)."""
    kind = faster_kind(layer)
    if kind is type(layer):
        return layer(*args, **kwargs)
    return kind.call(layer, *args, **kwargs)
