"""A 1x1 convolution at stride 1 as a matrix product: ``x[n, h, w, :] @ kernel[0, 0]``, the same
arithmetic as Keras' ``Conv2D`` written without a convolution.

XLA's CPU convolution is slow for 1x1 kernels, which are most of a mobile network's arithmetic;
its matrix product is not. Measured on a 2-core Intel Xeon with AMX (JAX 0.10.2, 2026-12-08),
EfficientNet-Lite0's seventeen 1x1 shapes at batch 16: forward 107 ms as convolutions against
45 ms as products, forward + backward to the input 252 ms against 80 ms (a 32 to 16 channels
one at 112x112: 8.3 against 1.9 ms forward, 25 against 110 GFLOP/s). On TensorFlow a 1x1
convolution already is a matrix product in oneDNN, so :data:`FASTER_ON` names JAX only.
"""

from __future__ import annotations

import keras
from keras import ops

FASTER_ON = ("jax",)  # the backends where the product beats the native convolution (measured above)


def pointwise_conv(x, kernel):
    """``keras.ops.conv(x, kernel)`` for channels-last ``x`` (n, h, w, c) and a 1x1 ``kernel`` (1,
    1, c, c') at stride 1: one matrix product over the last axis."""
    return ops.matmul(x, ops.reshape(kernel, kernel.shape[2:]))


def can_multiply(layer) -> bool:
    """Whether ``layer`` is a plain ``Conv2D`` with a 1x1 kernel at stride 1 (channels last, no
    dilation, one group), which :class:`PointwiseConv2D` computes."""
    return (type(layer) is keras.layers.Conv2D and layer.data_format == "channels_last"
            and tuple(layer.kernel_size) == (1, 1) and tuple(layer.strides) == (1, 1)
            and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1)


class PointwiseConv2D(keras.layers.Conv2D):
    """Keras' ``Conv2D`` (same config, same weights) computed by :func:`pointwise_conv`; only for
    the layers :func:`can_multiply` accepts."""

    def call(self, inputs):
        outputs = pointwise_conv(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs if self.activation is None else self.activation(outputs)
