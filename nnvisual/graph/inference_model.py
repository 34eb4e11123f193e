"""An inference-only copy of a Keras model for the methods that never train (feature
visualization, attribution): the same function up to float32 rounding, the same layer names,
cheaper to run and to differentiate.

- **Batch normalization folded into the convolution before it.** At inference a batch
  normalization is the affine map ``gamma (x - mean) / sqrt(variance + epsilon) + beta`` per
  channel (Ioffe & Szegedy 2015), so a ``Conv2D`` or ``DepthwiseConv2D`` followed by it is one
  convolution with the kernel scaled per output channel by ``s = gamma / sqrt(variance +
  epsilon)`` and the bias ``beta + (bias - mean) s`` (the folding of Jacob et al. 2018,
  "Quantization and training of neural networks for efficient integer-arithmetic-only
  inference", section 3.2). A pair is folded when the convolution has no activation, is called
  once, and its output goes to that batch normalization only (not to another layer, not out of
  the model), both in the same graph.
- **Layers computed another way** on the backends where that is faster
  (:mod:`nnvisual.graph.faster_layers`, JAX): depthwise convolutions as shifted multiply-adds
  (:mod:`~nnvisual.graph.shifted_depthwise`), 1x1 convolutions as matrix products
  (:mod:`~nnvisual.graph.pointwise`), rectifiers differentiated from their output
  (:mod:`~nnvisual.graph.output_masked_relu`): the same derivative, computed without
  recomputing the rectifier's input.

Names: the folded convolution takes the batch normalization's name (its output is that layer's
output), and the convolution's own name is gone from the copy, so that reading it fails with
"unknown layer" instead of returning the normalized value. A caller that reads a convolution's
own output names it in ``keep`` (a path, ``outer/inner`` inside nested models), and that pair
stays as it is. Nested models are copied, under their names, and folded inside.

The copy is made from the model's weights at the time of the call (after any randomization or
fine-tuning: make it from the model that will be analyzed), with new variables: the caller's
model is never changed, nor its layers' graph nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import keras
import numpy as np
from keras import ops

from nnvisual.graph import SEPARATOR, given_weights, graph_of, is_nested, layers, nodes
from nnvisual.graph.faster_layers import faster_kind
from nnvisual.runtime import tensorflow_setup

FOLDABLE = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def for_inference(model, keep: Iterable[str] = (), fold: bool = True):
    """A copy of ``model`` with its batch normalizations folded and, on JAX, its depthwise
    convolutions shifted and its rectifiers differentiated from their output (see the module
    docstring), or ``model`` itself when nothing would
    change (or it is not a functional or Sequential model). ``keep``: paths of the
    convolutions whose own output the caller reads; they are not folded. ``fold=False``: no
    folding, so that the copy has the model's layers and weights one for one (a copy that
    :func:`copy_weights` keeps in step with a model changed in place)."""
    if not is_nested(model):
        return model
    tensorflow_setup.keras_without_tensorflow()  # its get_config calls would import it on JAX
    operations = [operation for _, operation in layers(model)]
    folds = _folds(graph_of(model), set(keep), "", Counter(map(id, operations))) if fold else {}
    rewrite = any(faster_kind(operation) is not type(operation) for operation in operations)
    if not folds and not rewrite:
        return model
    return _copy(model, folds, rewrite)


def copy_weights(model, copy, paths: Iterable[str] | None = None) -> None:
    """Give each layer of ``copy`` (made by :func:`for_inference` with ``fold=False``) the
    current weights of the layer of ``model`` at the same path (only at ``paths`` if given)."""
    copied, wanted = dict(layers(copy)), None if paths is None else set(paths)
    for path, layer in layers(model):
        if (isinstance(layer, keras.layers.Layer) and not is_nested(layer) and layer.weights
                and (wanted is None or path in wanted)):
            copied[path].set_weights(layer.get_weights())


def _folds(graph, keep: set[str], prefix: str, calls: Counter) -> dict:
    """``{id(batch normalization): convolution}`` of the foldable pairs of ``graph`` and its
    nested models; ``calls`` counts each operation's calls in the whole model."""
    readers = Counter(id(x) for node in nodes(graph) for x in node.input_tensors)
    readers.update(id(x) for x in graph.outputs)
    folds = {}
    for node in nodes(graph):
        normalization = node.operation
        if is_nested(node.operation):
            folds.update(_folds(graph_of(node.operation), keep,
                                prefix + node.operation.name + SEPARATOR, calls))
            continue
        if (type(normalization) is not keras.layers.BatchNormalization
                or calls[id(normalization)] != 1 or len(node.input_tensors) != 1
                or node.arguments.kwargs.get("training")):
            continue
        x = node.input_tensors[0]
        conv = x._keras_history.operation
        if (type(conv) in FOLDABLE and calls[id(conv)] == 1 and readers[id(x)] == 1
                and prefix + conv.name not in keep
                and conv.get_config()["activation"] == "linear"
                and normalization.axis % 4 == (3 if conv.data_format == "channels_last" else 1)):
            folds[id(normalization)] = conv
    return folds


def folded_weights(conv, normalization) -> list[np.ndarray]:
    """``[kernel, bias]`` of the convolution ``conv`` followed by ``normalization`` at inference
    (computed in float64, returned in the kernel's dtype)."""
    def values(variable):
        return np.asarray(ops.convert_to_numpy(variable), np.float64)

    scale = 1.0 / np.sqrt(values(normalization.moving_variance) + normalization.epsilon)
    if normalization.scale:
        scale = scale * values(normalization.gamma)
    shift = -values(normalization.moving_mean) * scale
    if normalization.center:
        shift = shift + values(normalization.beta)
    kernel = values(conv.kernel)
    # Conv2D: output channels on the kernel's last axis; DepthwiseConv2D: channel c*m + k is
    # the kernel's [..., c, k]
    per_output = scale.reshape(kernel.shape[2:]) if isinstance(
        conv, keras.layers.DepthwiseConv2D) else scale
    bias = shift + (values(conv.bias) * scale if conv.use_bias else 0.0)
    dtype = conv.kernel.dtype
    return [(kernel * per_output).astype(dtype), bias.astype(dtype)]


def _like(layer, rewrite: bool, **changes):
    """A new, unbuilt layer with ``layer``'s config (and ``changes``), of its faster kind if
    ``rewrite``."""
    kind = faster_kind(layer) if rewrite else type(layer)
    return kind.from_config({**layer.get_config(), **changes})


def _copy(model, folds: dict, rewrite: bool):
    """``model`` rebuilt by ``keras.models.clone_model`` with new layers holding its weights,
    the convolutions of ``folds`` dropped and their batch normalizations made the folded
    convolutions."""
    dropped = {id(conv) for conv in folds.values()}
    folded, weights = set(), {}

    def clone(layer):
        if is_nested(layer):
            return _copy(layer, folds, rewrite)
        if id(layer) in dropped:
            return None
        if id(layer) in folds:
            conv = folds[id(layer)]
            new = _like(conv, rewrite, name=layer.name, use_bias=True)
            folded.add(id(new))
            weights[id(new)] = folded_weights(conv, layer)
        else:
            new = _like(layer, rewrite)
            if isinstance(layer, keras.layers.Layer):  # not a bare operation (x * 1000)
                weights[id(new)] = layer.get_weights()
        return new

    def call(layer, *args, **kwargs):
        if layer is None:  # a dropped convolution: its input goes to the folded one
            return args[0]
        outputs = layer(args[0]) if id(layer) in folded else layer(*args, **kwargs)
        if id(layer) in weights:  # built by its first call
            layer.set_weights(weights.pop(id(layer)))
        return outputs

    copy = given_weights.built(lambda: keras.models.clone_model(
        graph_of(model), clone_function=clone, call_function=call))
    copy.name = model.name  # a Sequential model's graph has a name of its own
    return copy
