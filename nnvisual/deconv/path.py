"""What a projection does at each operation of a model (docs/study.md, "DeconvNet"): the three
backward rules of a rectifier, the layers a projection may cross, and the replacements that carry
the rule. Any functional or Sequential model works: its graph is replayed
(:func:`nnvisual.graph.replay`) with the replacements, so the caller's model is never changed.

The rules, for a piecewise-linear rectifier f with derivative f' (upstream gradient g, forward
input x): ``gradient`` g·f'(x) (the true gradient), ``guided`` relu(g)·f'(x), ``deconvnet``
relu(g). For ReLU f' = [x > 0]; for ReLU6 (``ReLU(max_value=6)``, ``Activation("relu6")``) the
forward clip is kept and f' = [0 < x < 6]: above 6 a unit is saturated, so ``gradient`` and
``guided`` pass nothing there while ``deconvnet``, which never looks at x, passes relu(g) (a
projection starts from its target's value before the target's own clip, :func:`upper_clip`:
saturated units of the chosen layer are ranked and projected, not tied at 6 and zeroed); for
LeakyReLU (and ReLU's negative_slope, threshold t) f' is 1 above t and the slope below it.
Smooth activations (swish, GELU, sigmoid, tanh...) and unknown layers have no DeconvNet or guided
rule: those two methods refuse them by name, ``gradient`` keeps them as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
from keras import layers as kl
from keras import ops

from nnvisual import graph
from nnvisual.choices import DECONV_METHODS, DECONV_MODES
from nnvisual.errors import UserError, named
from nnvisual.graph.faster_layers import faster_kind

METHODS, MODES = DECONV_METHODS, DECONV_MODES
RULES = {
    # backward rule of a rectifier f: upstream gradient g, forward input x
    "deconvnet": "relu(g)",  # Zeiler & Fergus 2014: rectify the signal going down
    "guided": "relu(g) * f'(x)",  # Springenberg et al. 2015; f'(x) = [x > 0] for ReLU
    "gradient": "g * f'(x)",  # the true gradient (saliency, Simonyan et al. 2014)
}
VGG16_DEFAULT_LAYERS = tuple(f"block{i}_conv1" for i in range(1, 6))

# layers that are linear at inference, structural, or max-pooling (switches from the backward
# pass): the backward pass of every method goes through them unchanged
_LINEAR = (kl.Conv1D, kl.Conv2D, kl.Conv2DTranspose, kl.DepthwiseConv2D, kl.SeparableConv2D,
           kl.Dense, kl.BatchNormalization, kl.Normalization, kl.Rescaling, kl.Resizing,
           kl.CenterCrop, kl.ZeroPadding2D, kl.Cropping2D, kl.UpSampling2D, kl.Add, kl.Subtract,
           kl.Average, kl.Multiply, kl.Maximum, kl.Minimum, kl.Concatenate, kl.MaxPooling2D,
           kl.AveragePooling2D, kl.GlobalAveragePooling2D, kl.GlobalMaxPooling2D, kl.Flatten,
           kl.Reshape, kl.Permute, kl.Identity, kl.Dropout, kl.SpatialDropout2D,
           kl.GaussianDropout, kl.GaussianNoise, kl.Activation, kl.ReLU, kl.LeakyReLU)
# rectifiers among the activation functions: keyword arguments of keras.activations.relu
_RECTIFIERS = {keras.activations.relu: {}, keras.activations.relu6: {"max_value": 6.0},
               keras.activations.leaky_relu: {"negative_slope": 0.2}}


def relu_with_rule(method: str, max_value=None, negative_slope=0.0, threshold=0.0) -> Callable:
    """A rectifier (plain ReLU by default, else ``keras.activations.relu`` with these arguments)
    whose backward pass follows ``RULES[method]``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    plain = max_value is None and not negative_slope and not threshold

    @ops.custom_gradient
    def relu(x):
        def backward(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            if method == "deconvnet":
                return ops.relu(upstream)
            if plain:
                slope = ops.cast(ops.greater(x, 0), upstream.dtype)
            else:
                slope = ops.where(ops.greater_equal(x, threshold), 1.0, negative_slope)
                if max_value is not None:
                    slope = slope * ops.cast(ops.less(x, max_value), upstream.dtype)
                slope = ops.cast(slope, upstream.dtype)
            return (ops.relu(upstream) if method == "guided" else upstream) * slope

        if plain:
            return ops.relu(x), backward
        return keras.activations.relu(x, negative_slope=negative_slope, max_value=max_value,
                                      threshold=threshold), backward

    return relu


# -- the layers a projection can start from ------------------------------------------------------
def conv_layer_names(model) -> list[str]:
    """Paths of the model's Conv2D layers (nested models included), in topological order."""
    return [path for path, layer in graph.layers(model) if isinstance(layer, kl.Conv2D)]


def feature_layers(model) -> list[str]:
    """Paths of the layers with one 4-D output (a feature map), in topological order."""
    return [path for path, layer in graph.layers(model)
            if len(graph.output_shape(model, path)) == 4]


def _is_chain(model) -> bool:
    """Each layer fed by the previous one only (what nnvisual's CIFAR nets and VGG16 are)."""
    nodes = graph.nodes(graph.graph_of(model))
    return all(len(node.parent_nodes) <= 1 and not graph.is_nested(node.operation)
               and (i == 0 or node.parent_nodes == [nodes[i - 1]]) for i, node in enumerate(nodes))


def default_layers(model, model_name: str) -> tuple[str, ...]:
    """VGG16: the first convolution of each block; other chains: every convolution; other
    graphs: each stage's last feature map (the last one at each spatial size, after the first
    convolution; padding and preprocessing layers are not feature maps)."""
    if model_name == "vgg16":
        return VGG16_DEFAULT_LAYERS
    if _is_chain(model):
        return tuple(conv_layer_names(model))
    skipped = (kl.ZeroPadding2D, kl.Cropping2D, kl.Normalization, kl.Rescaling, kl.Resizing,
               kl.CenterCrop, keras.Model)
    stages, started = {}, False
    for path, layer in graph.layers(model):
        started |= isinstance(layer, kl.Conv2D)
        shape = graph.output_shape(model, path)
        if started and len(shape) == 4 and not isinstance(layer, skipped):
            stages.pop(shape[1:3], None)  # the last layer of each size, in topological order
            stages[shape[1:3]] = path
    return tuple(stages.values())


def check_layers(model, layers) -> None:
    """Raise UserError unless every path in ``layers`` names a layer of ``model`` (``outer/inner``
    inside nested models) with a 4-D feature-map output."""
    valid = feature_layers(model)
    if not valid:
        raise UserError(f"model {model.name} has no layer with a 4-D feature-map output")
    for name in layers:
        if name in valid:
            continue
        try:
            layer = graph.get_layer(model, name)
        except UserError as error:
            raise UserError(f"{error}; feature-map layers of {model.name}: "
                            f"{graph.listed(valid)}") from None
        shape = graph.output_shape(model, name)
        raise UserError(f"layer '{name}' is a {type(layer).__name__} with a {len(shape)}-D "
                        f"output, not a feature map; choose among: {graph.listed(valid)}")


# -- what replaces each operation on the way to a layer ----------------------------------------
def _linear_copy(layer):
    """The same layer with a linear activation (same config and weights), so that its rectifier
    can be applied separately with the method's backward rule; of the layer's faster kind on
    this backend (:mod:`nnvisual.graph.faster_layers`)."""
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_linear"}
    copy = faster_kind(layer).from_config(config)
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def _refuse(path, what, method, target):
    raise UserError(f"layer '{path}' ({what}) on the path to '{target}' has no {method} rule; "
                    f"use {named('method', 'gradient')}, or a layer before it")


def upper_clip(layer) -> float | None:
    """The value at which ``layer``'s rectifier saturates (6 for ReLU6), None if it has none."""
    if isinstance(layer, kl.ReLU):
        return None if layer.max_value is None else float(layer.max_value)
    return _RECTIFIERS.get(getattr(layer, "activation", None), {}).get("max_value")


def _rectifier(layer, path, method, target, clipped=True):
    """The rule-carrying rectifier of ``layer``'s activation (without its upper clip unless
    ``clipped``), None for linear, else refusal."""
    max_value = upper_clip(layer) if clipped else None
    if isinstance(layer, kl.ReLU):
        return relu_with_rule(method, max_value, layer.negative_slope, layer.threshold)
    if isinstance(layer, kl.LeakyReLU):
        return relu_with_rule(method, negative_slope=layer.negative_slope)
    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        return None
    if activation in _RECTIFIERS:
        return relu_with_rule(method, **{**_RECTIFIERS[activation], "max_value": max_value})
    name = getattr(activation, "__name__", repr(activation))
    if method == "gradient":
        return None
    _refuse(path, f"{type(layer).__name__}, {name} activation", method, target)


@dataclasses.dataclass(frozen=True)
class Replacement:
    """What runs instead of a layer: ``linear`` (the layer with a linear activation, None for
    an activation layer) followed by ``rectifier``, which carries the method's backward rule."""

    rectifier: Callable
    linear: keras.layers.Layer | None = None

    def __call__(self, *args, **kwargs):
        return self.rectifier(args[0] if self.linear is None else self.linear(*args, **kwargs))

    @property
    def variables(self) -> list:
        """The weights of its linear copy (none for an activation layer)."""
        return [] if self.linear is None else list(self.linear.variables)


def replacement(layer, path: str, method: str, target: str, clipped: bool = True
                ) -> Replacement | None:
    """What runs instead of ``layer`` in a projection (None: the layer itself). UserError where
    the method has no rule for it. ``clipped=False`` leaves out its rectifier's upper clip."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UserError(f"layer '{path}' is channels_first; DeconvNet projections need "
                        "channels_last images (height, width, channels)")
    if not isinstance(layer, _LINEAR):
        if method != "gradient":
            _refuse(path, type(layer).__name__, method, target)
        return None
    rectifier = _rectifier(layer, path, method, target, clipped)
    if rectifier is None:
        return None
    if isinstance(layer, (kl.Activation, kl.ReLU, kl.LeakyReLU)):
        return Replacement(rectifier)
    return Replacement(rectifier, _linear_copy(layer))


def projection_path(model, target: str, method: str) -> dict[str, Replacement | None]:
    """``{path: replacement}`` for every operation ``target`` depends on, in topological order
    (None where the operation runs unchanged); UserError for the first unsupported one."""
    found = {}

    def visit(operation, path, args, kwargs):
        found[path] = replacement(operation, path, method, target)
        return operation.compute_output_spec(*args, **kwargs)

    spec = keras.KerasTensor(graph.graph_of(model).inputs[0].shape)
    graph.replay(model, spec, [target], visit)
    return found
