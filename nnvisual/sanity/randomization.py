"""Model-parameter randomization (Adebayo et al. 2018, section 3.1): re-initialize the weights of
some layers, with each layer's own initializers seeded, on a clone (the caller's model is never
changed). Cascading: from the top (logit) layer down, layer k randomizes every weighted layer
from the top to k; independent: layer k alone. Layers inside nested models are layers like the
others, named by their path (``backbone/conv1``); frozen layers are randomized too (a frozen
backbone was trained as well)."""

from __future__ import annotations

import keras

from nnvisual import graph
from nnvisual.choices import RANDOMIZATIONS
from nnvisual.errors import UserError


def _learns(layer) -> bool:
    """Whether ``layer`` itself (not a nested model) has weights that training would learn,
    frozen or not: Keras keeps a layer's trainable variables in ``_trainable_variables`` however
    ``trainable`` is set (a Normalization layer's adapted mean and variance are not among them),
    its own or its sublayers' (``MultiHeadAttention``'s query, key, value and output kernels)."""
    if graph.is_nested(layer):
        return False
    return any(part._trainable_variables for part in layer._flatten_layers(include_self=True))


def _learned_layers(model) -> dict:
    """``{path: layer}`` of the layers with learned weights, input to output."""
    return {path: layer for path, layer in graph.layers(model) if _learns(layer)}


def weighted_layers(model) -> list[str]:
    """Paths of the layers with learned weights, input to output (those the paper randomizes)."""
    return list(_learned_layers(model))


def stages(model, mode: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(label, layers to randomize)`` per stage, top layer first."""
    if mode not in RANDOMIZATIONS:
        raise ValueError(f"unknown randomization {mode!r}")
    layers = weighted_layers(model)
    top_down = list(reversed(layers))
    if mode == "independent":
        return [(name, (name,)) for name in top_down]
    return [(name, tuple(top_down[:k + 1])) for k, name in enumerate(top_down)]


def _initializer_names(layer, weight: str) -> list[str]:
    """Where Keras layers keep the initializer of ``weight``: ``<weight>_initializer`` (Dense,
    Conv2D, BatchNormalization...), ``<x>_initializer`` for SeparableConv2D's ``<x>_kernel``,
    ``depthwise_initializer`` for DepthwiseConv2D's ``kernel``."""
    names = [f"{weight}_initializer", f"{weight.removesuffix('_kernel')}_initializer"]
    if isinstance(layer, keras.layers.DepthwiseConv2D) and weight == "kernel":
        names.insert(0, "depthwise_initializer")
    return names


def _initializers(path: str, layer) -> list:
    """The initializer of each of ``layer``'s weights (:func:`_initializer_names`), read from the
    sublayer that holds it (``MultiHeadAttention``'s ``EinsumDense`` kernels); UserError for a
    weight without one (a custom layer's), which cannot be re-drawn."""
    found, owners = [], {}
    for part in layer._flatten_layers(include_self=True):  # a sublayer's weights: its own
        for variable in part._trainable_variables + part._non_trainable_variables:
            owners.setdefault(id(variable), part)
    for variable in layer.weights:
        name, owner = variable.name.split("/")[-1], owners.get(id(variable), layer)
        initializer = next((getattr(owner, attribute) for attribute in
                            _initializer_names(owner, name) if hasattr(owner, attribute)), None)
        if initializer is None:
            raise UserError(f"cannot randomize layer '{path}': it has no {name}_initializer to "
                            f"re-draw its weight '{name}' from")
        found.append(keras.initializers.get(initializer))
    return found


def check_randomizable(model) -> None:
    """UserError unless every weighted layer of ``model`` can be re-drawn (see
    :func:`_initializers`), or when it has none."""
    layers = _learned_layers(model)
    if not layers:
        raise UserError(f"{model.name} has no layer with learned weights to randomize")
    for path, layer in layers.items():
        _initializers(path, layer)


def _seeded(initializer, seed: int):
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    return type(initializer).from_config(config)


class Randomizer:
    """One copy of ``model`` whose layers are randomized stage after stage (no copy per stage):
    :meth:`randomize` leaves exactly the given layers re-drawn and the others as in ``model``.
    Each layer's draw depends on ``seed``, its index in the graph and the weight's index only,
    so a layer is re-drawn the same in every stage."""

    def __init__(self, model, seed: int):
        self.model = keras.models.clone_model(model)
        self.model.set_weights(model.get_weights())
        self._index = {path: index for index, (path, _) in enumerate(graph.layers(self.model))}
        self._layers = _learned_layers(self.model)
        self._original = {path: layer.get_weights() for path, layer in self._layers.items()}
        self._seed = seed
        self._drawn: set[str] = set()

    def randomize(self, layers) -> set[str]:
        """Re-draw the weights of ``layers`` (paths) from each layer's own initializers; the
        layers re-drawn before and not named now get ``model``'s weights back. Returns the paths
        of the layers whose weights changed."""
        layers = set(layers)
        for path in self._drawn - layers:
            self._layers[path].set_weights(self._original[path])
        for path in layers - self._drawn:
            self._draw(path)
        changed, self._drawn = layers ^ self._drawn, layers
        return changed

    def _draw(self, path: str) -> None:
        layer, index = self._layers[path], self._index[path]
        for number, (variable, initializer) in enumerate(
                zip(layer.weights, _initializers(path, layer), strict=True)):
            draw = _seeded(initializer, self._seed * 10_007 + index * 101 + number)
            variable.assign(draw(variable.shape, dtype=variable.dtype))


def randomized(model, layers, seed: int):
    """A copy of ``model`` whose ``layers`` (paths) have every weight re-drawn from the layer's
    own ``<weight>_initializer`` (:class:`Randomizer`)."""
    randomizer = Randomizer(model, seed)
    randomizer.randomize(layers)
    return randomizer.model
