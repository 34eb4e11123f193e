"""A ``ReLU`` layer whose derivative is read from its output instead of its input: the same
function and the same derivative (``x > 0`` exactly when ``relu(x) > 0``, and ``x < m`` exactly
when ``min(relu(x), m) < m``), for the backends where that makes the backward pass cheaper.

On JAX a rectifier's derivative is ``x > 0`` (``jax.nn.relu``'s rule), a function of the layer's
input. XLA's CPU compiler fuses the rectifier into the convolution that reads its output, so that
input is never kept, and the backward pass computes it again inside every fusion that needs the
derivative: behind a depthwise convolution, once per tap of the next depthwise convolution's
transpose (81 multiply-adds an element instead of 9). Read from the output, which the next layer
stores anyway, the derivative costs one comparison. Measured on EfficientNet-Lite0 (2-core Intel
Xeon with AMX, JAX 0.10.2; docs/performance.md, "Lucid's recipe against torch-lucent"): lucid's
recipe, CPU seconds per image-step, idle 0.089-0.094 against 0.100; on the machine shared with
other work, a forward and backward pass 0.150-0.167 s against 0.204-0.214 s; the images
identical.
"""

from __future__ import annotations

import functools

import keras

FASTER_ON = ("jax",)  # where the input's derivative is recomputed (measured above)


def can_mask(layer) -> bool:
    """Whether ``layer`` is a plain ``ReLU`` layer (no negative slope, no threshold, no clip or a
    clip at 6), which :class:`OutputMaskedReLU` computes with the same derivative at the kinks
    (0 there, as ``jax.nn.relu`` and ``jax.nn.relu6`` define it; Keras clips at other values
    with ``clip``, whose derivative at the clip is 1/2)."""
    return (type(layer) is keras.layers.ReLU and float(layer.negative_slope) == 0.0
            and float(layer.threshold) == 0.0 and layer.max_value in (None, 6.0))


@functools.cache
def _rectifier(max_value: float | None):
    """``min(max(x, 0), max_value)`` with its derivative read from its output (JAX)."""
    import jax
    import jax.numpy as jnp

    def value(x):
        positive = jnp.maximum(x, 0)
        return positive if max_value is None else jnp.minimum(positive, max_value)

    rectify = jax.custom_jvp(value)

    @rectify.defjvp
    def rectify_jvp(primals, tangents):
        output = value(primals[0])
        passes = output > 0 if max_value is None else (output > 0) & (output < max_value)
        return output, jnp.where(passes, tangents[0], jnp.zeros_like(tangents[0]))

    return rectify


class OutputMaskedReLU(keras.layers.ReLU):
    """Keras' ``ReLU`` (same config) with its derivative read from its output (JAX only); only
    for the layers :func:`can_mask` accepts."""

    def call(self, inputs):
        max_value = None if self.max_value is None else float(self.max_value)
        return _rectifier(max_value)(inputs)
