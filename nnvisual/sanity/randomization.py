"""Model-parameter randomization (Adebayo et al. 2018, section 3.1): re-initialize the weights of
some layers, with each layer's own initializers seeded, on a clone (the caller's model is never
changed). Cascading: from the top (logit) layer down, layer k randomizes every weighted layer
from the top to k; independent: layer k alone."""

from __future__ import annotations

import keras

from nnvisual.choices import RANDOMIZATIONS


def weighted_layers(model) -> list[str]:
    """Layers with trainable weights, input to output (those the paper randomizes)."""
    return [layer.name for layer in model.layers if layer.trainable_weights]


def stages(model, mode: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(label, layers to randomize)`` per stage, top layer first."""
    if mode not in RANDOMIZATIONS:
        raise ValueError(f"unknown randomization {mode!r}")
    layers = weighted_layers(model)
    top_down = list(reversed(layers))
    if mode == "independent":
        return [(name, (name,)) for name in top_down]
    return [(name, tuple(top_down[:k + 1])) for k, name in enumerate(top_down)]


def _seeded(initializer, seed: int):
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    return type(initializer).from_config(config)


def randomized(model, layers, seed: int):
    """A copy of ``model`` whose ``layers`` have every weight re-drawn from the layer's own
    ``<weight>_initializer`` (seed: ``seed``, the layer's index and the weight's index)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for index, layer in enumerate(copy.layers):
        if layer.name not in layers:
            continue
        for number, variable in enumerate(layer.weights):
            name = variable.name.split("/")[-1]
            initializer = getattr(layer, f"{name}_initializer", None)
            if initializer is None:
                raise ValueError(f"layer {layer.name} has no initializer for its weight {name}")
            draw = _seeded(keras.initializers.get(initializer), seed * 10_007 + index * 101 + number)
            variable.assign(draw(variable.shape, dtype=variable.dtype))
    return copy
