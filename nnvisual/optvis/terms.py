"""Objectives that compose (Olah et al. 2017, "Feature Visualization", Distill; lucid's
``optvis.objectives``): class, channel, neuron, layer ("DeepDream"), direction and diversity
terms, and their weighted sums.

Every term gives one value per image of the batch, read in ONE pass of the model's
inference-only copy (:func:`nnvisual.graph.inference_model.for_inference`, keeping the layers the
terms name; the user's model is not changed) that gives the logits, the probabilities and the
output of every layer the terms name, inside nested models too (by path, ``backbone/conv``):

- ``class``: the class's logit or softmax probability (as :class:`ClassObjective`); a term may
  name one class per image (a tuple: image i maximizes class ``class_index[i]``, an atlas's
  classes);
- ``channel``: the mean over positions of one channel of a feature-map layer; a term may name
  one channel per image (the channel grid: image i maximizes channel ``channels[i]``);
- ``neuron``: one channel at one position (the centre, ``(h // 2, w // 2)``, by default);
- ``layer``: the mean of the squares of a layer's output (Mordvintsev et al. 2015, DeepDream);
- ``direction``: the mean over positions of the dot product with a vector in channel space;
- ``diversity``: minus the mean pairwise cosine of the images' Gram matrices of a layer (lucid's
  ``diversity``; there divided by n rather than by the n(n-1) ordered pairs); image i is given
  the pairs it belongs to, so the batch sums to the term. Zero for a batch of one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
from keras import ops

from nnvisual import graph
from nnvisual.errors import UserError
from nnvisual.graph.inference_model import for_inference
from nnvisual.models.heads import find_head
from nnvisual.optvis.objective_parser import Term


def _check_term(term: Term, shape: tuple, outputs: int) -> None:
    """UserError if ``term`` does not fit its layer's output ``shape`` (without the batch)."""
    if term.kind == "class":
        if not all(0 <= k < outputs for k in np.atleast_1d(term.class_index)):
            raise UserError(f"class {term.class_index} is out of range for a model with "
                            f"{outputs} outputs")
        return
    if term.kind in ("channel", "neuron", "diversity") and len(shape) != 3:
        raise UserError(f"a {term.kind} objective needs a feature map (height, width, channels); "
                        f"layer '{term.layer}' outputs shape {shape}")
    channels = shape[-1]
    for channel in term.channels:
        if not 0 <= channel < channels:
            raise UserError(f"channel {channel} is out of range for layer '{term.layer}' with "
                            f"{channels} channels")
    if term.position is not None and not all(
            0 <= p < s for p, s in zip(term.position, shape[:2], strict=True)):
        raise UserError(f"position {term.position} is outside layer '{term.layer}' of size "
                        f"{shape[:2]}")
    if term.kind == "direction" and len(term.vector) != channels:
        raise UserError(f"the direction has {len(term.vector)} values; layer '{term.layer}' has "
                        f"{channels} channels")


def gram_cosines(features):
    """The cosine between the Gram matrices of every pair of images: (n, n), from (n, h, w, c)."""
    n = ops.shape(features)[0]
    flat = ops.reshape(features, (n, -1, features.shape[-1]))
    grams = ops.reshape(ops.matmul(ops.transpose(flat, (0, 2, 1)), flat), (n, -1))
    grams = grams / ops.sqrt(ops.maximum(ops.sum(ops.square(grams), axis=1, keepdims=True), 1e-20))
    return ops.matmul(grams, ops.transpose(grams))


def _class(term: Term, features, logits, probabilities):
    scores = probabilities if term.softmax else logits
    if isinstance(term.class_index, tuple):  # one class per image
        chosen = np.eye(scores.shape[-1], dtype=np.float32)[list(term.class_index)]
        return ops.sum(scores * ops.convert_to_tensor(chosen), axis=-1)
    return scores[:, term.class_index]


def _layer(term: Term, features, logits, probabilities):
    return ops.mean(ops.reshape(ops.square(features), (features.shape[0], -1)), axis=1)


def _diversity(term: Term, features, logits, probabilities):
    n = features.shape[0]
    if n < 2:
        return ops.zeros((n,))
    off_diagonal = gram_cosines(features) * (1.0 - ops.eye(n))
    return -ops.sum(off_diagonal, axis=1) / (n * (n - 1))


def _direction(term: Term, features, logits, probabilities):
    dots = ops.matmul(features, ops.convert_to_tensor(np.float32(term.vector)))
    return ops.mean(ops.reshape(dots, (dots.shape[0], -1)), axis=1)


def _chosen_channels(term: Term, features):
    """A one-hot mask (n, channels) of each image's channel."""
    chosen = np.broadcast_to(np.int32(term.channels), (features.shape[0],))
    return ops.convert_to_tensor(np.eye(features.shape[-1], dtype=np.float32)[chosen])


def _channel(term: Term, features, logits, probabilities):
    mask = _chosen_channels(term, features)
    return ops.mean(ops.sum(features * mask[:, None, None, :], axis=-1), axis=(1, 2))


def _neuron(term: Term, features, logits, probabilities):
    y, x = term.position or (features.shape[1] // 2, features.shape[2] // 2)
    return ops.sum(features[:, y, x, :] * _chosen_channels(term, features), axis=-1)


# what each kind of term measures, per image (n,), from its layer's output (the kinds are
# nnvisual.optvis.objective_parser.KINDS: a test keeps the two tables in step)
VALUES = {"class": _class, "channel": _channel, "neuron": _neuron, "layer": _layer,
          "direction": _direction, "diversity": _diversity}


def check_terms(model, terms: list[tuple[float, Term]], output: str | None = None) -> list[str]:
    """The sorted names of the layers ``terms`` read from ``model``; UserError for an unknown
    layer, a term that does not fit its layer, or a model whose class scores cannot be read
    (what :class:`Objective` checks, without building its model)."""
    outputs = find_head(model, output).width
    layers = sorted({term.layer for _, term in terms if term.layer is not None})
    known = [path for path, _ in graph.layers(model)]
    for layer in layers:
        if layer not in known:
            raise UserError(f"unknown layer '{layer}' in the objective; {model.name} has "
                            f"{graph.listed(known)}")
    shapes = {layer: graph.output_shape(model, layer)[1:] for layer in layers}
    for _, term in terms:
        _check_term(term, shapes.get(term.layer), outputs)
    return layers


class Objective:
    """``sum_k weight_k * term_k`` for images in 0..255 RGB fed through ``preprocess``.

    Calling it on a batch returns ``(objective, probability, top_class)``, each (n,), like
    :class:`~nnvisual.optvis.objectives.ClassObjective`; ``probability`` is that of
    ``reference_class`` (default: the first class term's class; with none, the top class's).
    """

    def __init__(self, model, terms: list[tuple[float, Term]], preprocess: Callable | None = None,
                 name: str = "objective", reference_class: int | None = None,
                 output: str | None = None):
        layers = check_terms(model, terms, output)
        self.model = for_inference(model, keep=layers)
        self.head = find_head(self.model, output)
        self.layers = layers
        self.terms = terms
        self.preprocess = preprocess
        self.name = name
        classes = [term.class_index for _, term in terms if term.kind == "class"]
        self.reference_class = reference_class if reference_class is not None else (
            classes[0] if classes else None)

    def with_terms(self, terms: list[tuple[float, Term]]) -> Objective:
        """This objective with other ``terms`` on the same layers, sharing its inference-only
        model (built once, e.g. for every block of an atlas's channels); UserError for a term that
        does not fit."""
        layers = check_terms(self.model, terms)
        if set(layers) - set(self.layers):
            raise ValueError(f"the terms read layers {layers}, the objective's model keeps {self.layers}")
        other = copy.copy(self)
        other.terms = terms
        return other

    def __call__(self, images):
        images = ops.convert_to_tensor(images)
        inputs = images if self.preprocess is None else self.preprocess(images)
        logits, features = self.head.read(self.model, inputs, self.layers)
        probabilities = self.head.probabilities(logits)
        total = 0.0
        for weight, term in self.terms:
            total = total + weight * VALUES[term.kind](term, features.get(term.layer), logits,
                                                       probabilities)
        top = ops.argmax(probabilities, axis=-1)
        probability = (ops.max(probabilities, axis=-1) if self.reference_class is None
                       else probabilities[:, self.reference_class])
        return total, probability, top
