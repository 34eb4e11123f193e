"""A transformer's tokens: where they are (its ``MultiHeadAttention`` layers, the tokens entering
the last one), and the one place that turns a (B, T, D) token sequence into a (B, side, side, D)
grid of patches, for every CAM method and for attention rollout.

The first tokens that are not patches are dropped: ViT's class token (Dosovitskiy et al. 2021),
and DeiT's distillation token after it (Touvron et al. 2021); the rest are the patches in row
order, as pytorch-grad-cam's ViT ``reshape_transform`` reads them. Only a square patch grid is
understood: T - extra = side**2 with extra 0, 1 or 2 (these never overlap).
"""

from __future__ import annotations

import math

import numpy as np

from nnvisual import graph
from nnvisual.errors import UserError

EXTRA_TOKENS = (1, 2, 0)  # class token; class and distillation tokens; none


def attention_layers(model) -> list[str]:
    """Paths of ``model``'s ``MultiHeadAttention`` layers, in the order the graph runs them."""
    import keras

    return [path for path, layer in graph.layers(model)
            if isinstance(layer, keras.layers.MultiHeadAttention)]


def token_layer(model) -> str | None:
    """The layer whose tokens feed the last attention layer's query (a ViT's last block's first
    layer norm, pytorch-grad-cam's ``model.blocks[-1].norm1``); None without attention."""
    paths = attention_layers(model)
    if not paths:
        return None
    from nnvisual.models.heads import input_source

    return input_source(model, paths[-1])


def grid_layout(tokens: int, where: str = "") -> tuple[int, int]:
    """``(extra, side)``: how many leading tokens are not patches, and the grid's side; UserError
    when ``tokens`` is no square grid plus 0, 1 or 2 tokens."""
    for extra in EXTRA_TOKENS:
        side = math.isqrt(max(tokens - extra, 0))
        if side > 0 and side * side == tokens - extra:
            return extra, side
    raise UserError(f"{where or 'the layer'}'s {tokens} tokens are not a square patch grid (plus a "
                    "class or distillation token): nnvisual maps only square patch grids onto "
                    "the image")


def to_grid(tokens: np.ndarray, where: str = "") -> np.ndarray:
    """(B, T, ...) tokens -> (B, side, side, ...) patches, the leading non-patch tokens dropped."""
    extra, side = grid_layout(tokens.shape[1], where)
    return tokens[:, extra:].reshape(tokens.shape[0], side, side, *tokens.shape[2:])
