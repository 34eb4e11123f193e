"""Two small networks with the same weights in Keras and in PyTorch, for the agreement of LRP and
DeepLIFT with zennit and captum (nnvisual/testing/lrp_reference.py):

- ``vgg``: a VGG-style chain, conv-ReLU-conv-ReLU-maxpool twice, flatten, dense-ReLU, dense;
- ``residual``: conv-BN-ReLU blocks with residual sums (the second with a 1x1 projection and its
  batch normalization on the shortcut), global average pooling, dense; the batch normalizations
  hold non-trivial statistics.

The weights are drawn by NumPy from a seed (:func:`weights`), keyed ``layer/variable`` with the
Keras layer names; the PyTorch twin (:func:`torch_network`, NCHW) gets them transposed, its
modules named as the Keras layers, a residual sum written as ``zennit.layer.Sum`` over the two
branches stacked (so that zennit gives it the Norm rule, as its ResNet canonizer does), and its
flatten reading channels last as Keras' does. Inputs lie in [-1, 1] (:data:`BOUNDS`).
"""

from __future__ import annotations

import collections

import numpy as np

SIZE = 16  # image side
CHANNELS = 3
CLASSES = 5
BOUNDS = (-1.0, 1.0)  # the input's range (LRP's z-box)
EPSILON = 1e-3  # the batch normalizations' (Keras' default)
NETWORKS = ("vgg", "residual")


def keras_network(name: str, weights: dict[str, np.ndarray] | None):
    """The Keras network ``name`` (one of :data:`NETWORKS`) holding ``weights`` (None: zeros and
    Keras' initial batch normalizations; zero kernels, since drawing random ones compiles a
    function per shape on JAX, seconds each)."""
    import functools

    import keras

    layers = keras.layers
    conv = functools.partial(layers.Conv2D, padding="same", kernel_initializer="zeros")
    dense = functools.partial(layers.Dense, kernel_initializer="zeros")
    inputs = keras.Input((SIZE, SIZE, CHANNELS))
    if name == "vgg":
        x = inputs
        for block, width in ((1, 6), (2, 8)):
            x = conv(width, 3, activation="relu", name=f"conv{block}a")(x)
            x = conv(width, 3, activation="relu", name=f"conv{block}b")(x)
            x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
        x = layers.Flatten(name="flatten")(x)
        x = dense(16, activation="relu", name="dense1")(x)
    else:
        def conv_bn(x, width, size, name):
            x = conv(width, size, use_bias=False, name=name)(x)
            return layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_bn")(x)

        x = layers.ReLU(name="stem_relu")(conv_bn(inputs, 8, 3, "stem"))
        for block, width in ((1, 8), (2, 12)):
            shortcut = x if block == 1 else conv_bn(x, width, 1, f"block{block}_projection")
            y = layers.ReLU(name=f"block{block}_relu1")(conv_bn(x, width, 3, f"block{block}_conv1"))
            y = conv_bn(y, width, 3, f"block{block}_conv2")
            x = layers.ReLU(name=f"block{block}_relu2")(layers.Add(name=f"block{block}_add")([shortcut, y]))
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = dense(CLASSES, name="logits")(x)
    model = keras.Model(inputs, outputs, name=name)
    for layer in model.layers:
        if layer.weights and weights is not None:
            layer.set_weights([weights[f"{layer.name}/{variable.name}"] for variable in layer.weights])
    return model


def weights(name: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded weights of network ``name``: He-normal kernels, biases of both signs, batch
    normalizations with scales, shifts, means and variances away from the identity."""
    rng = np.random.default_rng(seed)
    drawn = {}
    for layer in keras_network(name, None).layers:
        for variable in layer.weights:
            shape, key = tuple(variable.shape), f"{layer.name}/{variable.name}"
            kind = variable.name
            if kind == "kernel":
                value = rng.normal(0, np.sqrt(2 / np.prod(shape[:-1])), shape)
            elif kind == "bias":
                value = rng.normal(0, 0.1, shape)
            elif kind == "gamma":
                value = rng.uniform(0.5, 1.5, shape)
            elif kind in ("beta", "moving_mean"):
                value = rng.normal(0, 0.2, shape)
            else:
                assert kind == "moving_variance", key
                value = rng.uniform(0.5, 2.0, shape)
            drawn[key] = value.astype(np.float32)
    return drawn


def inputs(count: int, seed: int = 1) -> np.ndarray:
    """``count`` random images (B, H, W, C) inside :data:`BOUNDS`, smooth enough to look like
    pictures (a random walk per row), so that units are neither all on nor all off."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.3, (count, SIZE, SIZE, CHANNELS)), axis=2)
    return np.clip(walk + rng.normal(0, 0.1, walk.shape), *BOUNDS).astype(np.float32)


def torch_network(name: str, weights: dict[str, np.ndarray]):
    """The PyTorch twin of ``keras_network(name, weights)``, in eval mode (needs torch and zennit:
    :func:`~nnvisual.testing.zennit_reference.import_zennit` skips the test without them)."""
    from nnvisual.testing.zennit_reference import import_zennit

    Sum = import_zennit().layer.Sum
    import torch
    from torch import nn

    def conv(key, width_in, width_out, size, bias=True):
        module = nn.Conv2d(width_in, width_out, size, padding=size // 2, bias=bias)
        module.weight.data = _tensor(weights[f"{key}/kernel"].transpose(3, 2, 0, 1))
        if bias:
            module.bias.data = _tensor(weights[f"{key}/bias"])
        return module

    def batch_norm(key, width):
        module = nn.BatchNorm2d(width, eps=EPSILON)
        for ours, theirs in (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                             ("moving_variance", "running_var")):
            getattr(module, theirs).data = _tensor(weights[f"{key}/{ours}"])
        return module

    def dense(key, features_in, width, channels_last_of=None):
        kernel = weights[f"{key}/kernel"]
        if channels_last_of is not None:  # rows in Keras' (H, W, C) order -> PyTorch's (C, H, W)
            kernel = kernel.reshape(*channels_last_of, -1).transpose(2, 0, 1, 3).reshape(features_in, -1)
        module = nn.Linear(features_in, width)
        module.weight.data, module.bias.data = _tensor(kernel.T), _tensor(weights[f"{key}/bias"])
        return module

    if name == "vgg":
        modules = {}
        width_in = CHANNELS
        for block, width in ((1, 6), (2, 8)):
            modules.update({f"conv{block}a": conv(f"conv{block}a", width_in, width, 3),
                            f"relu{block}a": nn.ReLU(),
                            f"conv{block}b": conv(f"conv{block}b", width, width, 3),
                            f"relu{block}b": nn.ReLU(), f"pool{block}": nn.MaxPool2d(2)})
            width_in = width
        side = SIZE // 4
        modules.update(flatten=nn.Flatten(), dense1=dense("dense1", side * side * 8, 16, (side, side, 8)),
                       relu=nn.ReLU(), logits=dense("logits", 16, CLASSES))
        return nn.Sequential(collections.OrderedDict(modules)).eval()

    class Residual(nn.Module):
        """stem, two blocks (conv-BN-ReLU-conv-BN, plus the shortcut, ReLU), pool, dense; each
        batch normalization registered right after its convolution."""

        def __init__(self):
            super().__init__()
            self.stem, self.stem_bn, self.stem_relu = conv("stem", CHANNELS, 8, 3, False), \
                batch_norm("stem_bn", 8), nn.ReLU()
            width_in = 8
            for block, width in ((1, 8), (2, 12)):
                prefix = f"block{block}"
                if block == 2:
                    self.add_module(f"{prefix}_projection", conv(f"{prefix}_projection", width_in, width, 1,
                                                                 False))
                    self.add_module(f"{prefix}_projection_bn", batch_norm(f"{prefix}_projection_bn", width))
                for index, size_in in ((1, width_in), (2, width)):
                    self.add_module(f"{prefix}_conv{index}", conv(f"{prefix}_conv{index}", size_in, width, 3,
                                                                  False))
                    self.add_module(f"{prefix}_conv{index}_bn", batch_norm(f"{prefix}_conv{index}_bn", width))
                    if index == 1:
                        self.add_module(f"{prefix}_relu1", nn.ReLU())
                self.add_module(f"{prefix}_add", Sum())
                self.add_module(f"{prefix}_relu2", nn.ReLU())
                width_in = width
            self.pool, self.flatten = nn.AdaptiveAvgPool2d(1), nn.Flatten()
            self.logits = dense("logits", 12, CLASSES)

        def forward(self, x):
            x = self.stem_relu(self.stem_bn(self.stem(x)))
            for block in (1, 2):
                def part(suffix, t, block=block):
                    return getattr(self, f"block{block}_{suffix}")(t)

                shortcut = x if block == 1 else part("projection_bn", part("projection", x))
                y = part("relu1", part("conv1_bn", part("conv1", x)))
                y = part("conv2_bn", part("conv2", y))
                x = part("relu2", part("add", torch.stack([shortcut, y], dim=-1)))
            return self.logits(self.flatten(self.pool(x)))

    return Residual().eval()


def _tensor(array):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array, np.float32))
