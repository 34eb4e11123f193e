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


# -- any functional graph: a NumPy tape over the model's own Keras nodes ---------------------------
# Written without nnvisual.graph: the nodes are walked here, every layer is recomputed in float64
# NumPy, and going down applies each layer's transpose (max-pooling through the switches of the
# forward pass), with the method's rule at every rectifier and the plain derivative elsewhere.
def _same_pads(n, k, s):
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _pads(layer, shape, kernel, strides):
    if layer.padding == "valid":
        return [(0, 0), (0, 0)]
    return [_same_pads(shape[a], kernel[a], strides[a]) for a in (0, 1)]


def _windows(x, kernel, strides, pads, fill=0.0):
    """Padded input and, per kernel offset (a, b), the strided slice it multiplies."""
    x = np.pad(x, (*pads, (0, 0)), constant_values=fill)
    out = [(x.shape[a] - kernel[a]) // strides[a] + 1 for a in (0, 1)]
    def view(a, b):
        return (slice(a, a + strides[0] * (out[0] - 1) + 1, strides[0]),
                slice(b, b + strides[1] * (out[1] - 1) + 1, strides[1]))
    return x, out, view


def _conv(x, kernel, strides, pads, depthwise=False):
    """Forward convolution (or depthwise: channel c, multiplier m -> output c * mult + m) and
    its transpose."""
    kh, kw = kernel.shape[:2]
    padded, out, view = _windows(x, (kh, kw), strides, pads)
    if depthwise:
        forward = sum(padded[view(a, b)][..., None] * kernel[a, b] for a in range(kh)
                      for b in range(kw)).reshape(*out, -1)
    else:
        forward = sum(padded[view(a, b)] @ kernel[a, b] for a in range(kh) for b in range(kw))

    def backward(g):
        down = np.zeros(padded.shape)
        for a in range(kh):
            for b in range(kw):
                if depthwise:
                    down[view(a, b)] += (g.reshape(*out, *kernel.shape[2:]) * kernel[a, b]).sum(-1)
                else:
                    down[view(a, b)] += g @ kernel[a, b].T
        return down[pads[0][0]:pads[0][0] + x.shape[0], pads[1][0]:pads[1][0] + x.shape[1]]

    return forward, backward


def _pool(x, kernel, strides, pads, kind):
    """Max-pooling (switches: the first maximum of each window in row-major order) or average
    pooling (Keras: padded positions are not counted), and its transpose."""
    padded, out, view = _windows(x, kernel, strides, pads, -np.inf if kind == "max" else 0.0)
    offsets = [(a, b) for a in range(kernel[0]) for b in range(kernel[1])]
    stack = np.stack([padded[view(a, b)] for a, b in offsets])
    counts = sum(np.pad(np.ones(x.shape[:2]), pads)[view(a, b)] for a, b in offsets)[..., None]
    switch = stack.argmax(0)
    forward = stack.max(0) if kind == "max" else stack.sum(0) / counts

    def backward(g):
        down = np.zeros(padded.shape)
        for i, (a, b) in enumerate(offsets):
            down[view(a, b)] += g * (switch == i) if kind == "max" else g / counts
        return down[pads[0][0]:pads[0][0] + x.shape[0], pads[1][0]:pads[1][0] + x.shape[1]]

    return forward, backward


def _rectifier(x, method, max_value=None, slope=0.0):
    derivative = np.where(x > 0, 1.0, slope) * (x < max_value if max_value else 1.0)
    forward = np.where(x > 0, x, slope * x)
    forward = np.minimum(forward, max_value) if max_value else forward

    def backward(g):
        if method == "deconvnet":
            return np.maximum(g, 0)
        return (np.maximum(g, 0) if method == "guided" else g) * derivative

    return forward, backward


def _activation(x, function, method):
    name = function.__name__
    if name == "linear":
        return x, lambda g: g
    if name in ("relu", "relu6", "leaky_relu"):
        return _rectifier(x, method, 6.0 if name == "relu6" else None,
                          0.2 if name == "leaky_relu" else 0.0)
    sigmoid = 1 / (1 + np.exp(-x))
    if name == "sigmoid":
        return sigmoid, lambda g: g * sigmoid * (1 - sigmoid)
    if name in ("silu", "swish"):
        return x * sigmoid, lambda g: g * (sigmoid + x * sigmoid * (1 - sigmoid))
    raise NotImplementedError(name)


def _weights(layer):
    return [np.asarray(w, np.float64) for w in layer.get_weights()]


def _layer(layer, xs, method):
    """float64 forward of one Keras layer on one image per input, and its backward pass
    (upstream gradient -> one gradient per input)."""
    import keras
    from keras import layers as kl

    x, kind = xs[0], type(layer).__name__
    if isinstance(layer, (kl.Conv2D, kl.DepthwiseConv2D)):
        w = _weights(layer)
        depthwise = isinstance(layer, kl.DepthwiseConv2D)
        pads = _pads(layer, x.shape, w[0].shape[:2], layer.strides)
        z, conv_back = _conv(x, w[0], layer.strides, pads, depthwise)
        z = z + (w[1] if layer.use_bias else 0)
        y, act_back = _activation(z, layer.activation, method)
        return y, lambda g: [conv_back(act_back(g))]
    if kind == "SeparableConv2D":
        depthwise, pointwise, *bias = _weights(layer)
        pads = _pads(layer, x.shape, depthwise.shape[:2], layer.strides)
        z, depth_back = _conv(x, depthwise, layer.strides, pads, depthwise=True)
        z, point_back = _conv(z, pointwise, (1, 1), [(0, 0), (0, 0)])
        y, act_back = _activation(z + (bias[0] if bias else 0), layer.activation, method)
        return y, lambda g: [depth_back(point_back(act_back(g)))]
    if kind == "BatchNormalization":
        gamma, beta, mean, variance = (np.asarray(v, np.float64) if v is not None else None
                                       for v in (layer.gamma, layer.beta, layer.moving_mean,
                                                 layer.moving_variance))
        scale = (1.0 if gamma is None else gamma) / np.sqrt(variance + layer.epsilon)
        return (x - mean) * scale + (0.0 if beta is None else beta), lambda g: [g * scale]
    if kind == "Normalization":
        mean, variance = (np.asarray(v, np.float64).reshape(-1) for v in (layer.mean, layer.variance))
        std = np.maximum(np.sqrt(variance), keras.config.epsilon())
        return (x - mean) / std, lambda g: [g / std]
    if kind == "Rescaling":
        return x * layer.scale + layer.offset, lambda g: [g * layer.scale]
    if kind == "ZeroPadding2D":
        (t, b), (le, r) = layer.padding
        return np.pad(x, ((t, b), (le, r), (0, 0))), lambda g: [g[t:g.shape[0] - b,
                                                                  le:g.shape[1] - r]]
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        strides = layer.strides or layer.pool_size
        y, back = _pool(x, layer.pool_size, strides, _pads(layer, x.shape, layer.pool_size,
                                                           strides), kind[:3].lower())
        return y, lambda g: [back(g)]
    if kind == "GlobalAveragePooling2D":
        return x.mean((0, 1)), lambda g: [np.broadcast_to(g / x[..., 0].size, x.shape)]
    if kind == "Reshape":
        return x.reshape(layer.target_shape), lambda g: [g.reshape(x.shape)]
    if kind in ("Dropout", "SpatialDropout2D"):
        return x, lambda g: [g]
    if kind == "Activation":
        y, back = _activation(x, layer.activation, method)
        return y, lambda g: [back(g)]
    if kind == "ReLU":
        y, back = _rectifier(x, method, layer.max_value, layer.negative_slope)
        return y, lambda g: [back(g)]
    if kind == "LeakyReLU":
        y, back = _rectifier(x, method, None, layer.negative_slope)
        return y, lambda g: [back(g)]
    if kind == "Add":
        return sum(xs), lambda g: [g] * len(xs)
    if kind == "Multiply":
        a, b = xs
        def reduce(g, shape):  # the transpose of broadcasting: sum where the input had size 1
            return g.sum(tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)

        return a * b, lambda g: [reduce(g * b, a.shape), reduce(g * a, b.shape)]
    if kind == "Concatenate":
        edges = np.cumsum([v.shape[-1] for v in xs])[:-1]
        return np.concatenate(xs, -1), lambda g: np.split(g, edges, -1)
    raise NotImplementedError(kind)


def graph_project(model, image, target, seed, method="deconvnet"):
    """Go down from ``seed`` (the shape of ``target``'s output for one image) to ``image``;
    ``target`` is a layer name, ``outer/inner`` inside a nested model. Returns (output, image
    gradient), the gradient None without a seed."""
    tape, found = [], {}

    def run(model, inputs, prefix):
        import keras
        functional = model._functional if isinstance(model, keras.Sequential) else model
        values = {id(t): v for t, v in zip(functional.inputs, inputs, strict=True)}
        for depth in sorted(functional._nodes_by_depth, reverse=True):
            for node in functional._nodes_by_depth[depth]:
                if node.is_input:
                    continue
                xs = [values[id(t)] for t in node.input_tensors]
                layer = node.operation
                if isinstance(layer, keras.Model):
                    ys = run(layer, xs, f"{prefix}{layer.name}/")
                else:
                    y, back = _layer(layer, [x[0] for x in xs], method)
                    ys = [(y, len(tape))]
                    tape.append((back, [x[1] for x in xs]))
                for t, y in zip(node.outputs, ys, strict=True):
                    values[id(t)] = y
                if f"{prefix}{layer.name}" == target:
                    found["output"] = ys[0]
                    raise StopIteration  # nothing after the target reaches the image
        return [values[id(t)] for t in functional.outputs]

    try:
        run(model, [(np.asarray(image, np.float64), -1)], "")
    except StopIteration:
        pass
    output, index = found["output"]
    if seed is None:
        return output, None
    gradients = {index: np.asarray(seed, np.float64)}
    for i in range(len(tape) - 1, -1, -1):
        if i in gradients:
            back, sources = tape[i]
            for source, g in zip(sources, back(gradients.pop(i)), strict=True):
                gradients[source] = gradients.get(source, 0) + g
    return output, gradients[-1]
