"""A Keras model as a graph the methods work on: replay with operations swapped, layer paths inside
nested models, gradients on every backend, the inference-only copy."""

from nnvisual.graph.replay import (  # noqa: F401
    SEPARATOR,
    get_layer,
    graph_of,
    is_nested,
    layers,
    listed,
    nodes,
    output_shape,
    outputs_and_values,
    replay,
)
