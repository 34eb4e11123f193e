"""The path from a model's input to one of its layers, with ReLU's backward rule replaced by a
method's (docs/study.md, "DeconvNet"): the three rules, the layers a projection may cross, and
the copies of those layers that carry the rule. The caller's model is never changed.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

from nnvisual.choices import DECONV_METHODS, DECONV_MODES
from nnvisual.errors import UserError

METHODS, MODES = DECONV_METHODS, DECONV_MODES
RULES = {
    # backward rule of ReLU: upstream gradient g, forward input x
    "deconvnet": "relu(g)",  # Zeiler & Fergus 2014: rectify the signal going down
    "guided": "relu(g) * [x > 0]",  # Springenberg et al. 2015
    "gradient": "g * [x > 0]",  # the true gradient (saliency, Simonyan et al. 2014)
}
VGG16_DEFAULT_LAYERS = tuple(f"block{i}_conv1" for i in range(1, 6))

_PASS_THROUGH = (keras.layers.Normalization, keras.layers.Rescaling, keras.layers.MaxPooling2D,
                 keras.layers.Flatten)
_WITH_ACTIVATION = (keras.layers.Conv2D, keras.layers.Dense, keras.layers.Activation)


def relu_with_rule(method: str) -> Callable:
    """ReLU whose backward pass follows ``RULES[method]`` (the forward pass is plain ReLU)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")

    @ops.custom_gradient
    def relu(x):
        def backward(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            if method == "deconvnet":
                return ops.relu(upstream)
            positive = ops.cast(ops.greater(x, 0), upstream.dtype)
            return (ops.relu(upstream) if method == "guided" else upstream) * positive

        return ops.relu(x), backward

    return relu


# -- the path from the input to a layer --------------------------------------------------------
def conv_layer_names(model) -> list[str]:
    """Names of the model's Conv2D layers, in order."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def default_layers(model, model_name: str) -> tuple[str, ...]:
    """The first convolution of each VGG16 block; every convolution of other models."""
    if model_name == "vgg16":
        return VGG16_DEFAULT_LAYERS
    return tuple(conv_layer_names(model))


def check_layers(model, layers) -> None:
    """Raise UserError unless every name in ``layers`` is a Conv2D layer of ``model``."""
    valid = conv_layer_names(model)
    for name in layers:
        if name in valid:
            continue
        try:
            kind = type(model.get_layer(name)).__name__
        except ValueError:
            raise UserError(f"unknown layer '{name}'; convolution layers of {model.name}: "
                            f"{', '.join(valid)}") from None
        raise UserError(f"layer '{name}' is a {kind}, not a Conv2D; choose among: "
                        f"{', '.join(valid)}")


def chain_to(model, target: str) -> list:
    """The model's layers from the input up to ``target``, checking that they form a chain
    (a Sequential model is one by construction; a functional model must feed each layer from
    the previous one)."""
    sequential = isinstance(model, keras.Sequential)
    path, previous = [], model.inputs[0] if len(model.inputs) == 1 else None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if not sequential:
            try:
                source = layer.input
            except (AttributeError, ValueError):  # a layer used several times, or never called
                source = None
            if previous is None or source is not previous:
                raise UserError(f"model {model.name} is not a simple chain of layers at "
                                f"'{layer.name}'; DeconvNet projections need one input and one "
                                "layer after another")
            previous = layer.output
        path.append(layer)
        if layer.name == target:
            return path
    raise UserError(f"layer '{target}' not found in {model.name}")


def _linear_copy(layer):
    """The same layer with a linear activation (same config and weights), so that its ReLU can
    be applied separately with the method's backward rule."""
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_linear"}
    copy = type(layer).from_config(config)
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def _activation_step(layer, activation, relu, target):
    if activation is keras.activations.relu:
        return relu
    if activation is keras.activations.linear:
        return None
    name = getattr(activation, "__name__", repr(activation))
    raise UserError(f"layer '{layer.name}' uses the {name} activation on the path to '{target}'; "
                    "DeconvNet projections support only relu and linear")


def _steps(layer, relu, target) -> list[Callable]:
    """The operations that replace ``layer`` on the projection path."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UserError(f"layer '{layer.name}' is channels_first; DeconvNet projections need "
                        "channels_last images (height, width, channels)")
    if isinstance(layer, keras.layers.Dropout):
        return []  # inference: identity
    if isinstance(layer, _PASS_THROUGH):
        return [layer]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [lambda z: layer(z, training=False)]
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        if config["max_value"] is None and not config["negative_slope"] and not config["threshold"]:
            return [relu]
        raise UserError(f"ReLU layer '{layer.name}' has max_value, negative_slope or threshold "
                        "set; DeconvNet projections support only the plain ReLU")
    if isinstance(layer, _WITH_ACTIVATION):
        rule = _activation_step(layer, layer.activation, relu, target)
        if isinstance(layer, keras.layers.Activation):
            return [rule] if rule else []
        return [_linear_copy(layer), rule] if rule else [layer]
    raise UserError(f"layer '{layer.name}' ({type(layer).__name__}) on the path to '{target}' is "
                    "not supported by DeconvNet projections (Conv2D, MaxPooling2D, ReLU, Dropout, "
                    "BatchNormalization, Flatten, Dense, Normalization, Rescaling)")


def projection_path(model, target: str, method: str) -> list[tuple[str, list[Callable]]]:
    """``(layer name, operations)`` from the input to ``target``, ReLUs following ``method``."""
    relu = relu_with_rule(method)
    return [(layer.name, _steps(layer, relu, target)) for layer in chain_to(model, target)]

