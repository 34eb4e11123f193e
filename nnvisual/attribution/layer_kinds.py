"""What each operation of a model is to the rule-based methods (LRP, DeepLIFT): a layer with
weights, an activation, a sum, a pooling, a structural reshuffle, or preprocessing before the
first layer with weights, found by one walk of the graph (nested models included, by path).

A kind is what a method needs to know to give the operation its rule; an operation of no kind
is refused by name before any work (:class:`Walk`), never passed through silently.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers as kl
from keras import ops

from nnvisual import graph
from nnvisual.errors import UserError

WEIGHTED = (kl.Dense, kl.Conv1D, kl.Conv2D, kl.Conv3D, kl.DepthwiseConv2D)
ACTIVATIONS = (kl.Activation, kl.ReLU, kl.LeakyReLU, kl.ELU, kl.Softmax, kl.PReLU)
SUMS = (kl.Add, kl.Average)
AVERAGE_POOLS = (kl.AveragePooling1D, kl.AveragePooling2D, kl.AveragePooling3D,
                 kl.GlobalAveragePooling1D, kl.GlobalAveragePooling2D, kl.GlobalAveragePooling3D)
MAX_POOLS = (kl.MaxPooling1D, kl.MaxPooling2D, kl.MaxPooling3D, kl.GlobalMaxPooling1D,
             kl.GlobalMaxPooling2D, kl.GlobalMaxPooling3D)
STRUCTURAL = (kl.Flatten, kl.Reshape, kl.Permute, kl.Concatenate, kl.ZeroPadding1D,
              kl.ZeroPadding2D, kl.ZeroPadding3D, kl.Cropping1D, kl.Cropping2D, kl.Cropping3D,
              kl.UpSampling1D, kl.UpSampling2D, kl.Dropout, kl.SpatialDropout1D,
              kl.SpatialDropout2D, kl.GaussianDropout, kl.GaussianNoise, kl.AlphaDropout,
              kl.Identity, kl.Resizing, kl.CenterCrop, kl.InputLayer)
ELEMENTWISE_PREPROCESSING = (kl.Rescaling, kl.Normalization)
KINDS = ("weighted", "activation", "sum", "average-pool", "max-pool", "batch-norm", "structural",
         "preprocessing")


def kind_of(operation) -> str | None:
    """The kind of ``operation``, or None when the rule-based methods have no rule for it."""
    for kind, types in (("weighted", WEIGHTED), ("activation", ACTIVATIONS), ("sum", SUMS),
                        ("average-pool", AVERAGE_POOLS), ("max-pool", MAX_POOLS),
                        ("batch-norm", (kl.BatchNormalization,)), ("structural", STRUCTURAL),
                        ("preprocessing", ELEMENTWISE_PREPROCESSING)):
        if isinstance(operation, types):
            return kind
    return None


def linear_output(layer, x, modify=None, zero_bias: bool = False, normalization=None):
    """What a layer with weights computes before its activation, with its kernel and bias (its
    own variables, read when this runs; folded with the batch ``normalization`` that follows it,
    if given) passed through ``modify`` first, the bias zeroed if asked: the rules' modified
    layers, without copies (they follow weights changed in place)."""
    from nnvisual.graph.pointwise import PointwiseConv2D, pointwise_conv
    from nnvisual.graph.shifted_depthwise import ShiftedDepthwiseConv2D, shifted_depthwise_conv

    kernel = ops.convert_to_tensor(layer.kernel)  # the variable's value as it is now
    bias = ops.convert_to_tensor(layer.bias) if layer.use_bias else None
    if normalization is not None:
        kernel, bias = _folded(layer, normalization, kernel, bias)
    kernel = kernel if modify is None else modify(kernel)
    if isinstance(layer, kl.Dense):
        output = ops.matmul(x, kernel)
    elif isinstance(layer, PointwiseConv2D):
        output = pointwise_conv(x, kernel)
    elif isinstance(layer, ShiftedDepthwiseConv2D):
        output = shifted_depthwise_conv(x, kernel, layer.strides, layer.padding)
    elif isinstance(layer, kl.DepthwiseConv2D):
        output = ops.depthwise_conv(x, kernel, layer.strides, layer.padding, layer.data_format,
                                    layer.dilation_rate)
    else:
        output = ops.conv(x, kernel, layer.strides, layer.padding, layer.data_format,
                          layer.dilation_rate)
    if bias is None or zero_bias:
        return output
    return output + (bias if modify is None else modify(bias))


def _folded(layer, normalization, kernel, bias):
    """``(kernel, bias)`` of ``layer`` followed by the batch ``normalization`` at inference (as
    :func:`nnvisual.graph.inference_model.folded_weights`, on the variables as they are now)."""
    scale = 1.0 / ops.sqrt(normalization.moving_variance + normalization.epsilon)
    if normalization.scale:
        scale = scale * normalization.gamma
    shift = -normalization.moving_mean * scale
    if normalization.center:
        shift = shift + normalization.beta
    per_output = (ops.reshape(scale, kernel.shape[2:]) if isinstance(layer, kl.DepthwiseConv2D)
                  else scale)
    return kernel * per_output, shift + (bias * scale if bias is not None else 0.0)


def foldable(nodes: dict[str, Node]) -> dict[str, str]:
    """``{batch normalization: the layer with weights it folds into}`` among ``nodes``: a batch
    normalization over the channels whose only input is a layer with weights and no activation,
    read by it alone (the pairs :mod:`nnvisual.graph.inference_model` folds, where the model was
    not copied for inference)."""
    pairs = {}
    for path, node in nodes.items():
        if node.kind != "batch-norm" or len(node.sources) != 1:
            continue
        source = nodes[node.sources[0]]
        readers = [other for other in nodes.values() if source.path in other.sources]
        if (source.kind == "weighted" and activation_of(source.operation) is None
                and len(readers) == 1 and node.operation.axis in (-1, len(node.input_shape) - 1)):
            pairs[path] = source.path
    return pairs


def activation_of(operation):
    """The activation function a layer applies (its own, or a fused one), None if linear."""
    if isinstance(operation, kl.Activation):
        return operation.activation
    if isinstance(operation, ACTIVATIONS):
        return operation
    activation = getattr(operation, "activation", None)
    return None if activation in (None, keras.activations.linear) else activation


@dataclasses.dataclass(frozen=True)
class Node:
    """One operation as the walk found it: its path, kind, whether a layer with weights comes
    before it, the shape of its (first) input and the paths of the operations its inputs come
    from (none for the model's input)."""

    path: str
    operation: object
    kind: str
    after_weights: bool
    input_shape: tuple
    sources: tuple[str, ...]


class Walk:
    """Every operation the output at ``target`` (a path) depends on, in topological order, with
    its kind; UserError naming the first operation that ``method`` has no rule for."""

    def __init__(self, model, target: str, method: str):
        self.nodes: dict[str, Node] = {}
        weighted_before = {}  # id(output spec) -> whether a layer with weights produced it
        producer = {}  # id(output spec) -> the path of the operation that produced it

        def visit(operation, path, args, kwargs):
            kind = kind_of(operation)
            if kind == "weighted" and (getattr(operation, "groups", 1) != 1
                                       or getattr(operation, "data_format", None) == "channels_first"):
                kind = None  # grouped or channels-first convolutions: not supported yet
            if kind is None:
                raise UserError(f"layer '{path}' ({type(operation).__name__}) has no {method} "
                                f"rule; the layers {method} explains: dense and convolution "
                                "layers, activations, sums, poolings, batch normalization and "
                                "reshaping")
            inputs = keras.tree.flatten((args, kwargs))
            after = any(weighted_before.get(id(x), False) for x in inputs)
            output = operation.compute_output_spec(*args, **kwargs)
            for spec in keras.tree.flatten(output):
                weighted_before[id(spec)] = after or kind == "weighted"
                producer[id(spec)] = path
            tensors = [x for x in inputs if isinstance(x, keras.KerasTensor)]
            sources = tuple(producer[id(x)] for x in tensors if id(x) in producer)
            self.nodes[path] = Node(path, operation, kind, after, tuple(tensors[0].shape), sources)
            return output

        spec = keras.KerasTensor(graph.graph_of(model).inputs[0].shape)
        graph.replay(model, spec, [target], visit)

    def readers(self, path: str) -> list[str]:
        """The paths of the operations that read ``path``'s output."""
        return [other for other, node in self.nodes.items() if path in node.sources]

    def first_layers(self) -> set[str]:
        """Paths of the layers with weights that no layer with weights comes before."""
        return {path for path, node in self.nodes.items()
                if node.kind == "weighted" and not node.after_weights}
