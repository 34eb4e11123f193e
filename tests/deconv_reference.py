"""Zeiler & Fergus' DeconvNet written out layer by layer in NumPy, as an independent check of
``nnvisual.deconv`` (which uses the backward pass with a replaced ReLU rule).

A network is a list of operations: ``("norm", mean, variance)``, ``("conv", kernel, bias,
padding)`` (stride 1, odd kernels for "same"), ``("affine", scale, shift)`` (batch normalization
at inference), ``("relu",)`` and ``("pool",)`` (2x2 max-pooling, stride 2). Going down from a
seed: unpool with the switches of the forward pass, apply the ReLU rule, filter with the
transposed kernel (no bias).
"""

import numpy as np


def conv2d(x, kernel, bias, padding):
    """Cross-correlation of x (H, W, C) with kernel (kh, kw, C, O), as Keras' Conv2D."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    height, width = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((height, width, kernel.shape[3])) + bias
    for i in range(kh):
        for j in range(kw):
            out += x[i:i + height, j:j + width, :] @ kernel[i, j]
    return out


def conv2d_transposed(g, kernel, input_shape, padding):
    """Filter g (h, w, O) with the transposed kernel back to input_shape (H, W, C); no bias."""
    kh, kw = kernel.shape[:2]
    pad = (kh // 2, kw // 2) if padding == "same" else (0, 0)
    out = np.zeros((input_shape[0] + 2 * pad[0], input_shape[1] + 2 * pad[1], input_shape[2]))
    height, width = g.shape[:2]
    for i in range(kh):
        for j in range(kw):
            out[i:i + height, j:j + width, :] += g @ kernel[i, j].T
    return out[pad[0]:pad[0] + input_shape[0], pad[1]:pad[1] + input_shape[1]]


def max_pool_with_switches(x):
    """2x2 max-pooling; switches hold the (row, col) of each window's maximum, the first in
    row-major order when several are equal."""
    height, width, channels = x.shape[0] // 2, x.shape[1] // 2, x.shape[2]
    pooled = np.zeros((height, width, channels))
    switches = np.zeros((height, width, channels, 2), dtype=int)
    for r in range(height):
        for c in range(width):
            for k in range(channels):
                window = x[2 * r:2 * r + 2, 2 * c:2 * c + 2, k].ravel()
                best = int(np.argmax(window))
                pooled[r, c, k] = window[best]
                switches[r, c, k] = (2 * r + best // 2, 2 * c + best % 2)
    return pooled, switches


def unpool(g, switches, input_shape):
    out = np.zeros(input_shape)
    for r in range(g.shape[0]):
        for c in range(g.shape[1]):
            for k in range(g.shape[2]):
                row, col = switches[r, c, k]
                out[row, col, k] += g[r, c, k]
    return out


def relu_backward(g, x, method):
    if method == "deconvnet":
        return np.maximum(g, 0)
    if method == "guided":
        return np.maximum(g, 0) * (x > 0)
    return g * (x > 0)


def forward(network, image):
    """The network's output for one image (H, W, C) and what going down needs."""
    z, records = np.asarray(image, np.float64), []
    for op in network:
        kind = op[0]
        if kind == "norm":
            z = (z - op[1]) / np.maximum(np.sqrt(op[2]), 1e-7)
        elif kind == "affine":
            z = z * op[1] + op[2]
        elif kind == "conv":
            records.append(z.shape)
            z = conv2d(z, op[1], op[2], op[3])
        elif kind == "relu":
            records.append(z)
            z = np.maximum(z, 0)
        elif kind == "pool":
            shape = z.shape
            z, switches = max_pool_with_switches(z)
            records.append((shape, switches))
        if kind in ("norm", "affine"):
            records.append(None)
    return z, records


def project(network, image, seed, method="deconvnet"):
    """Go down from ``seed`` (the network's output shape) to the input, layer by layer."""
    _, records = forward(network, image)
    g = np.asarray(seed, np.float64)
    for op, record in zip(reversed(network), reversed(records), strict=True):
        kind = op[0]
        if kind == "relu":
            g = relu_backward(g, record, method)
        elif kind == "pool":
            g = unpool(g, record[1], record[0])
        elif kind == "conv":
            g = conv2d_transposed(g, op[1], record, op[3])
        elif kind == "norm":
            g = g / np.maximum(np.sqrt(op[2]), 1e-7)
        elif kind == "affine":
            g = g * op[1]
    return g
