"""A depthwise convolution as k*k shifted multiply-adds: ``sum_ij x[s*y + i, s*x + j, c] *
kernel[i, j, c]``, the same arithmetic as Keras' ``DepthwiseConv2D`` written without a grouped
convolution.

XLA's CPU grouped convolution (``feature_group_count``, what ``DepthwiseConv2D`` becomes on JAX)
is slow, its backward pass at stride 2 most of all. Measured on a 2-core AMD EPYC (AVX2), CPU
seconds per call of a batch of 2, forward / forward + backward (docs/performance.md,
"EfficientNet-Lite0 rows"): 112x112x32, 3x3, stride 1: grouped 0.038 / 0.073, shifted 0.0009 /
0.0044; 113x113x96, 3x3, stride 2: 0.047 / 0.60 against 0.0015 / 0.0033. On TensorFlow and
PyTorch the native depthwise kernels are faster than the shifted sum (TensorFlow 113x113x96,
stride 2: 0.0021 / 0.0091 against 0.092 / 0.25), so :data:`FASTER_ON` names JAX only.
"""

from __future__ import annotations

import keras
from keras import ops

from nnvisual.graph.padding import same_padding

FASTER_ON = ("jax",)  # the backends where the shifted sum beats the native op (measured above)


def shifted_depthwise_conv(x, kernel, strides: tuple[int, int], padding: str):
    """``keras.ops.depthwise_conv(x, kernel, strides, padding)`` for channels-last ``x`` (n, h, w,
    c) and ``kernel`` (kh, kw, c, depth multiplier m), without dilation, as kh*kw products of
    strided slices of ``x`` with one row of taps each. Output channel ``c*m + k`` is input
    channel c under filter k, as in Keras."""
    kh, kw, channels, multiplier = kernel.shape
    sh, sw = strides
    x = ops.convert_to_tensor(x)
    if padding == "same":
        x = ops.pad(x, [(0, 0), same_padding(x.shape[1], kh, sh),
                        same_padding(x.shape[2], kw, sw), (0, 0)])
    if multiplier > 1:
        x = ops.repeat(x, multiplier, axis=-1)
    taps = ops.reshape(kernel, (kh, kw, channels * multiplier))
    height, width = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    total = 0
    for i in range(kh):
        for j in range(kw):
            window = x[:, i:i + sh * (height - 1) + 1:sh, j:j + sw * (width - 1) + 1:sw, :]
            total = total + window * taps[i, j]
    return total


def can_shift(layer) -> bool:
    """Whether ``layer`` is a plain ``DepthwiseConv2D`` that :class:`ShiftedDepthwiseConv2D`
    computes (channels last, no dilation)."""
    return (type(layer) is keras.layers.DepthwiseConv2D and layer.data_format == "channels_last"
            and tuple(layer.dilation_rate) == (1, 1))


class ShiftedDepthwiseConv2D(keras.layers.DepthwiseConv2D):
    """Keras' ``DepthwiseConv2D`` (same config, same weights) computed by
    :func:`shifted_depthwise_conv`; only for the layers :func:`can_shift` accepts."""

    def call(self, inputs):
        outputs = shifted_depthwise_conv(inputs, self.kernel, self.strides, self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs if self.activation is None else self.activation(outputs)
