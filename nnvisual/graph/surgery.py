"""Model surgery shared by the methods: replay a Keras functional (or Sequential) model's graph
node by node, with any operation swapped, and address layers inside nested models as
``outer/inner`` (e.g. ``resnet50/conv4_block6_out``). The caller's model is never changed: the
replay calls its layers (or their replacements) on new values and records nothing in the graph.

A replay walks the nodes in topological order (``_nodes_by_depth``, as Keras' own
``Functional.call`` does), computes only the nodes the requested outputs depend on, and recurses
into nested functional models, so a replacement applies at every depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras

from nnvisual.errors import UserError

SEPARATOR = "/"


def graph_of(model):
    """The functional graph that runs ``model`` (a Sequential model runs one internally)."""
    if isinstance(model, keras.Sequential):
        if model._functional is None:
            raise UserError(f"Sequential model '{model.name}' has no input shape; build it on "
                            "keras.Input(...) first")
        return model._functional
    if not hasattr(model, "_nodes_by_depth"):
        raise UserError(f"model '{model.name}' ({type(model).__name__}) is not a functional or "
                        "Sequential model: its graph cannot be replayed")
    return model


def is_nested(operation) -> bool:
    """A model used as a layer of another, whose own graph can be replayed."""
    return isinstance(operation, keras.Model) and (
        isinstance(operation, keras.Sequential) or hasattr(operation, "_nodes_by_depth"))


def nodes(graph) -> list:
    """The graph's call nodes in topological order."""
    return [node for depth in sorted(graph._nodes_by_depth, reverse=True)
            for node in graph._nodes_by_depth[depth] if node.operation and not node.is_input]


def _node_of(graph, name: str):
    calls = [node for node in nodes(graph) if node.operation.name == name]
    if len(calls) > 1:
        raise UserError(f"layer '{name}' is called {len(calls)} times in '{graph.name}'; its "
                        "output is ambiguous")
    return calls[0] if calls else None


def layers(model, prefix: str = "") -> list[tuple[str, object]]:
    """``(path, operation)`` of every operation in ``model``'s graph, nested models' contents
    included (after the nested model itself), in topological order."""
    found = []
    for node in nodes(graph_of(model)):
        path = prefix + node.operation.name
        found.append((path, node.operation))
        if is_nested(node.operation):
            found.extend(layers(node.operation, path + SEPARATOR))
    return found


def listed(paths) -> str:
    """The first 12 of ``paths``, for an error message, and how many there are in all."""
    shown = ", ".join(paths[:12])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > 12 else "")


def get_layer(model, path: str):
    """The layer at ``path`` (``outer/inner/...``), or UserError naming the missing part."""
    current, parts = model, path.split(SEPARATOR)
    for depth, part in enumerate(parts):
        node = _node_of(graph_of(current), part) if is_nested(current) else None
        if node is None:
            where = f": '{part}' is not a layer of '{SEPARATOR.join(parts[:depth])}'" \
                if depth else ""
            raise UserError(f"unknown layer '{path}'{where}")
        current = node.operation
    return current


def output_shape(model, path: str) -> tuple:
    """The (symbolic) output shape of the layer at ``path`` inside ``model``'s graph."""
    current, parts = model, path.split(SEPARATOR)
    for part in parts[:-1]:
        current = _node_of(graph_of(current), part).operation
    outputs = _node_of(graph_of(current), parts[-1]).outputs
    return tuple(outputs[0].shape) if len(outputs) == 1 else ()


def _call(operation, path, args, kwargs):
    """How a replayed node is computed unless a caller says otherwise: as the graph did."""
    return operation(*args, **kwargs)


def replay(model, inputs, targets: Iterable[str], call: Callable | None = None,
           prefix: str = "") -> dict:
    """Run ``model``'s graph on ``inputs`` (one value per model input, or one value) and return
    ``{path: value}`` for each target path. ``call(operation, path, args, kwargs)`` computes one
    node (default: ``operation(*args, **kwargs)``); values may be tensors or anything ``call``
    understands (shapes, receptive fields). Only the nodes the targets need are computed."""
    found = {}
    _replay(graph_of(model), inputs, list(targets), call or _call, prefix, found,
            need_outputs=False)
    return found


def outputs_and_values(model, inputs, targets: Iterable[str]) -> tuple:
    """``(outputs, {path: value})``: ``model``'s outputs (structured as it returns them) and the
    output of the layer at each target path, nested models' layers included, from one pass."""
    found = {}
    outputs = _replay(graph_of(model), inputs, list(targets), _call, "", found, need_outputs=True)
    return outputs, found


def _replay(graph, inputs, targets, call, prefix, found, need_outputs):
    inputs = keras.tree.flatten(inputs)
    values = {id(x): y for x, y in zip(graph.inputs, inputs, strict=True)}
    here = {path for path in targets if SEPARATOR not in path}
    inner = {}
    for path in targets:
        if SEPARATOR in path:
            outer, rest = path.split(SEPARATOR, 1)
            inner.setdefault(outer, []).append(rest)
    named = {name: _node_of(graph, name) for name in (*here, *inner)}
    missing = [name for name, node in named.items() if node is None]
    if missing:
        raise UserError(f"unknown layer '{prefix}{missing[0]}'")
    direct = [named[name] for name in here]
    direct += [_producer(x) for x in graph.outputs] if need_outputs else []
    containers = {id(named[name]) for name in inner}
    full = _ancestors(direct + [parent for name in inner for parent in named[name].parent_nodes])
    for node in nodes(graph):
        if id(node) not in full and id(node) not in containers:
            continue
        args, kwargs = node.arguments.fill_in(values)
        operation, path = node.operation, prefix + node.operation.name
        if is_nested(operation):
            outputs = _replay(graph_of(operation), args[0] if len(args) == 1 else args,
                              inner.get(operation.name, []), call, path + SEPARATOR, found,
                              need_outputs=id(node) in full)
            if outputs is None:
                continue
        else:
            outputs = call(operation, path, args, kwargs)
        for x, y in zip(node.outputs, keras.tree.flatten(outputs), strict=True):
            values[id(x)] = y
        if operation.name in here:
            found[path] = values[id(node.outputs[0])]
    if need_outputs:
        return keras.tree.pack_sequence_as(graph._outputs_struct,
                                           [values[id(x)] for x in graph.outputs])
    return None


def _producer(tensor):
    history = tensor._keras_history
    return history.operation._inbound_nodes[history.node_index]


def _ancestors(nodes) -> set[int]:
    """ids of ``nodes`` and every node they depend on."""
    seen, stack = set(), list(nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(node.parent_nodes)
    return seen
