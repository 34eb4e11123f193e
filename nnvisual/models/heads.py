"""A classifier's head: where its class scores are, read before its last activation.

The methods explain the scores before the model's last activation (Selvaraju et al. 2017 and
Sundararajan et al. 2017 recommend the logits; a sigmoid or softmax saturates and flattens every
gradient): a softmax gives its logits, a sigmoid (a multi-label head) its logits too, with the
probabilities ``sigmoid(logits)``; a linear last layer is read as it is. The activation may be a
separate layer (``Activation("softmax")``), a ``Dense`` layer's own, or either inside a nested
model at any depth (a ``keras.applications`` classifier wrapped in a Sequential with its
preprocessing): the scores are read by replaying the graph to the layer that computes them
(:func:`nnvisual.graph.replay`), its own activation left out. A model with several outputs is
explained at the output the caller names.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from nnvisual import graph
from nnvisual.errors import UserError, named

ACTIVATIONS = ("softmax", "sigmoid", "linear")


def activation_name(layer) -> str | None:
    """The name of ``layer``'s activation function (``relu``, ``softmax``...), or None."""
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None


@dataclasses.dataclass(frozen=True)
class Head:
    """Where a model's class scores are: the output of the layer at ``path`` (without its own
    activation when ``fused``), turned into the model's output by ``activation``; ``output``
    names the model output explained (None: its only one); ``width``: the number of classes."""

    path: str
    fused: bool
    activation: str  # one of ACTIVATIONS
    output: str | None
    width: int

    def probabilities(self, logits):
        """The model's probabilities from its scores (a softmax of the scores of a linear head)."""
        return ops.sigmoid(logits) if self.activation == "sigmoid" else ops.softmax(logits, axis=-1)

    def compute(self, operation, path, args, kwargs):
        """One node of a replay (:func:`nnvisual.graph.replay`'s ``call``): the head's Dense layer
        without its own activation (with its own variables, which may be changed in place), any
        other as the graph computes it."""
        if path == self.path and self.fused:
            product = ops.matmul(args[0], operation.kernel)
            return product + operation.bias if operation.use_bias else product
        return operation(*args, **kwargs)

    def read(self, model, x, layers=()) -> tuple:
        """``(scores, {path: output})`` of ``model`` (whose head this is) on ``x``, with the outputs
        of the layers at ``layers``, from one pass of the graph."""
        values = graph.replay(model, x, [self.path, *layers], self.compute)
        return values[self.path], values

    def described(self) -> str:
        """The head in words, for tables and titles."""
        where = f"'{self.path}'" + (f" (output '{self.output}')" if self.output else "")
        if self.activation == "linear":
            return f"scores: the output of {where}"
        return f"scores: the logits of {where}, before its {self.activation}"


def output_names(model) -> list[str]:
    """The names of ``model``'s outputs: the layers that produce them."""
    return [tensor._keras_history.operation.name for tensor in graph.graph_of(model).outputs]


def find_head(model, output: str | None = None) -> Head:
    """The :class:`Head` of ``model`` at its output ``output`` (required for a model with several
    outputs); UserError for an unknown output or a last layer whose scores cannot be read."""
    outputs, names = graph.graph_of(model).outputs, output_names(model)
    if output is None and len(outputs) > 1:
        raise UserError(f"{model.name} has {len(outputs)} outputs ({', '.join(names)}): name the "
                        f"one to explain with {named('output')}")
    if output is not None and output not in names:
        raise UserError(f"unknown output '{output}' of {model.name}: its outputs are "
                        f"{', '.join(names)}")
    tensor = outputs[0 if output is None else names.index(output)]
    path, layer, tensor = _producer(model, tensor, "")
    width = int(tensor.shape[-1])
    if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
        kind = "softmax" if isinstance(layer, keras.layers.Softmax) else activation_name(layer)
        if kind in ("softmax", "sigmoid"):
            history = tensor._keras_history
            before = history.operation._inbound_nodes[history.node_index].input_tensors[0]
            prefix = path[:len(path) - len(layer.name)]
            inner_path = _producer(_owner(model, prefix), before, prefix)[0]
            return Head(inner_path, False, kind, output, width)
    kind = activation_name(layer)
    if kind in ("softmax", "sigmoid"):
        if not isinstance(layer, keras.layers.Dense):
            raise UserError(f"the scores of '{path}' ({type(layer).__name__} with a {kind} "
                            "activation) cannot be read before its activation: end the model "
                            f"in a Dense layer or a separate Activation('{kind}') layer")
        return Head(path, True, kind, output, width)
    if kind not in (None, "linear"):
        raise UserError(f"cannot read class scores from {model.name}: its last layer '{path}' "
                        f"has a {kind} activation, neither softmax, sigmoid nor linear")
    return Head(path, False, "linear", output, width)


def _owner(model, prefix: str):
    """The (nested) model at ``prefix`` (``outer/inner/``) inside ``model``."""
    return graph.get_layer(model, prefix.rstrip(graph.SEPARATOR)) if prefix else model


def _producer(model, tensor, prefix: str):
    """``(path, layer, tensor)``: the innermost layer that computes ``tensor`` (a tensor of
    ``model``'s graph), looking inside nested models, with the inner tensor."""
    history = tensor._keras_history
    layer = history.operation
    if graph.is_nested(layer):
        inner = graph.graph_of(layer).outputs[history.tensor_index]
        return _producer(layer, inner, prefix + layer.name + graph.SEPARATOR)
    return prefix + layer.name, layer, tensor


def input_source(model, path: str) -> str | None:
    """The path of the layer whose output the layer at ``path`` reads (looking inside nested
    models); None when it reads an input of the model or of the nested model it is in."""
    owner_path, _, name = path.rpartition(graph.SEPARATOR)
    owner = _owner(model, owner_path + graph.SEPARATOR if owner_path else "")
    node = next(node for node in graph.nodes(graph.graph_of(owner)) if node.operation.name == name)
    tensor = node.input_tensors[0]
    if tensor._keras_history.operation._inbound_nodes[tensor._keras_history.node_index].is_input:
        return None
    return _producer(owner, tensor, owner_path + graph.SEPARATOR if owner_path else "")[0]
