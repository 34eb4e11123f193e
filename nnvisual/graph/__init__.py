"""A Keras model as a graph the methods work on.

- :mod:`~nnvisual.graph.surgery`: replay a model's graph with operations swapped, and layer
  paths inside nested models (``outer/inner``); its names are this package's own;
- :mod:`~nnvisual.graph.gradients`: gradients and compiled functions on every Keras backend;
- :mod:`~nnvisual.graph.inference_model`: the inference-only copy (batch norms folded, depthwise
  convolutions shifted on JAX: :mod:`~nnvisual.graph.shifted_depthwise`);
- :mod:`~nnvisual.graph.padding`: TensorFlow's "same" padding.

The names are imported on first use (PEP 562), so that :mod:`~nnvisual.graph.padding` is read
without loading Keras.
"""

import importlib

_SURGERY = ("SEPARATOR", "get_layer", "graph_of", "is_nested", "layers", "listed", "nodes",
            "output_shape", "outputs_and_values", "replay")
__all__ = list(_SURGERY)


def __getattr__(name: str):
    if name in _SURGERY:
        return getattr(importlib.import_module("nnvisual.graph.surgery"), name)
    raise AttributeError(f"module 'nnvisual.graph' has no attribute {name!r}")
