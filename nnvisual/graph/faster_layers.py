"""Layers computed another way on the backends where that runs faster: the same function, the
same weights, the same derivative (up to float32 rounding). On JAX: depthwise convolutions as
shifted multiply-adds (:mod:`~nnvisual.graph.shifted_depthwise`), 1x1 convolutions as matrix
products (:mod:`~nnvisual.graph.pointwise`), rectifiers differentiated from their output
(:mod:`~nnvisual.graph.output_masked_relu`)."""

from __future__ import annotations

import keras
from keras import ops

from nnvisual.graph import output_masked_relu, pointwise, shifted_depthwise

# (module, the layers it computes, its layer kind); each module's FASTER_ON names the backends
# where its kind was measured faster
_KINDS = ((shifted_depthwise, shifted_depthwise.can_shift, shifted_depthwise.ShiftedDepthwiseConv2D),
          (pointwise, pointwise.can_multiply, pointwise.PointwiseConv2D),
          (output_masked_relu, output_masked_relu.can_mask, output_masked_relu.OutputMaskedReLU))


def faster_kind(layer) -> type:
    """The layer type that computes ``layer`` faster on this backend (its own if none)."""
    backend = keras.backend.backend()
    return next((kind for module, accepts, kind in _KINDS
                 if backend in module.FASTER_ON and accepts(layer)), type(layer))


def faster_call(layer, *args, **kwargs):
    """What ``layer(*args, **kwargs)`` computes, computed as its faster kind does, on the layer's
    own variables (no copy: it follows weights changed in place); a layer under mixed precision
    runs as Keras calls it (its variables read in the compute dtype)."""
    kind = faster_kind(layer)
    if kind is type(layer) or layer.compute_dtype != layer.variable_dtype:
        return layer(*args, **kwargs)
    (inputs,) = args
    return kind.call(layer, ops.cast(inputs, layer.compute_dtype))
