"""The classes a channel feeds most, where the path from it to the class scores is linear in its
mean: the layer, global (average) pooling, dropout, then the Dense layer that gives the scores
(EfficientNet, ResNet, MobileNet). The channel's weights into the scores are then its direct
effect: channel c adds ``weight[c, k]`` times its pooled activation to class k's score.

:func:`chosen_classes` picks the classes whose own feature visualizations an atlas shows."""

from __future__ import annotations

import numpy as np
from keras import layers as kl
from keras import ops

from nnvisual import graph
from nnvisual.models.heads import find_head

_BETWEEN = (kl.GlobalAveragePooling2D, kl.Dropout, kl.SpatialDropout2D, kl.Identity)


def class_weights(model, layer: str) -> np.ndarray | None:
    """``(channels, classes)``: each channel's weights into the class scores, when ``layer``
    reaches the scores' Dense layer through global average pooling (and dropout) alone; None for
    any other layer."""
    head = find_head(model)
    order = [path for path, _ in graph.layers(model)]
    if layer not in order or head.path not in order:
        return None
    between = order[order.index(layer) + 1:order.index(head.path)]
    dense = graph.get_layer(model, head.path)
    if not between or not isinstance(dense, kl.Dense) or not all(
            isinstance(graph.get_layer(model, path), _BETWEEN) for path in between):
        return None
    if not isinstance(graph.get_layer(model, between[0]), kl.GlobalAveragePooling2D):
        return None
    kernel = ops.convert_to_numpy(dense.kernel)
    channels = graph.output_shape(model, layer)[-1]
    return kernel if kernel.shape[0] == channels else None


def strongest_classes(weights: np.ndarray, channels, count: int = 5):
    """For each of ``channels``, the ``count`` classes it feeds most (largest weight first) and
    those weights: two (k, count) arrays."""
    chosen = weights[np.asarray(channels)]
    order = np.argsort(-chosen, axis=1, kind="stable")[:, :count]
    return order, np.take_along_axis(chosen, order, axis=1)


def chosen_classes(model, channels: dict[str, np.ndarray], count: int, per_channel: int) -> np.ndarray:
    """The classes an atlas renders, ascending: every class when the model has at most ``count``,
    else the ``count`` that ``channels`` (layer -> channels shown) feed most strongly (each
    channel's ``per_channel`` strongest classes, ranked by the largest weight into them; none
    where no layer feeds the scores directly)."""
    width = find_head(model).width
    if width <= count:
        return np.arange(width)
    strongest = np.full(width, -np.inf)
    for layer, shown in channels.items():
        weights = class_weights(model, layer)
        if weights is not None and len(shown):
            order, values = strongest_classes(weights, shown, min(per_channel, width))
            np.maximum.at(strongest, order.ravel(), values.ravel())
    fed = np.flatnonzero(np.isfinite(strongest))
    return np.sort(fed[np.argsort(-strongest[fed], kind="stable")[:count]])
