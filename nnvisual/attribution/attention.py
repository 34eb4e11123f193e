"""What a transformer attends to: the attention maps of every Keras ``MultiHeadAttention`` layer of
a model, read by re-calling each layer with ``return_attention_scores=True`` in a replay of the
graph (:func:`nnvisual.graph.replay`; no library is patched), their gradients, and the two maps
made from them:

- attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): each
  block's attention, its heads fused (mean, max or min) and its weakest entries discarded, plus the
  identity for the residual path, rows renormalized, multiplied over the blocks;
- transformer attribution (Chefer, Gur & Wolf 2021, "Transformer Interpretability Beyond
  Attention Visualization", as their "Generic Attention-model Explainability", ICCV 2021,
  computes it): R = I, then for each block R += mean_heads(max(dlogit/dA * A, 0)) @ R.

Both read the class token's row over the patch tokens (:mod:`nnvisual.attribution.tokens`).
The gradient dlogit/dA reaches each map through a zero added to it (the layer's output plus
``(delta @ V) W_o``, delta = 0), so it counts every path from A to the logit, later blocks'
attention included, as a hook on A does in PyTorch.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from nnvisual import graph
from nnvisual.attribution.network import upsample
from nnvisual.attribution.request import Request
from nnvisual.attribution.tokens import attention_layers, grid_layout
from nnvisual.errors import UserError


def check(network, settings, image_size) -> None:
    """ValueError unless the model's attention layers all attend over the same square patch grid
    with a class token, with the same number of heads (the layout :func:`maps` stacks)."""
    model = network.model
    paths = attention_layers(model)
    if not paths:
        raise ValueError(f"model {model.name} has no MultiHeadAttention layer: attention rollout "
                         "and transformer attribution explain vision transformers only")
    for path in paths:
        layer = graph.get_layer(model, path)
        if layer.attention_axes not in (None, (1,)):
            raise ValueError(f"attention layer '{path}' attends over axes "
                             f"{layer.attention_axes}; nnvisual reads attention over one "
                             "token axis")
    layouts = {(graph.output_shape(model, path)[1], graph.get_layer(model, path).num_heads)
               for path in paths}
    if len(layouts) > 1:
        raise ValueError(f"the attention layers of {model.name} differ in tokens or heads "
                         f"({sorted(layouts, key=str)}); rollout multiplies maps of one size")
    tokens = graph.output_shape(model, paths[0])[1]
    try:
        extra, _ = grid_layout(tokens, f"attention layer '{paths[0]}'")
    except UserError as error:
        raise ValueError(str(error)) from None
    if extra == 0:
        raise ValueError(f"attention layer '{paths[0]}' has no class token (its {tokens} tokens "
                         "are all patches): rollout reads the class token's row")


def _value_of(args, kwargs):
    """The ``value`` argument of a ``MultiHeadAttention`` call node."""
    return kwargs["value"] if "value" in kwargs else args[1]


def _through_values(layer, value, delta):
    """``(delta @ V) W_o``: zero for ``delta`` = 0, with the gradient of the attention map."""
    v = layer.value_dense(value)  # (B, S, heads, d)
    mixed = ops.einsum("bhqk,bkhd->bqhd", ops.cast(delta, v.dtype), v)
    return ops.einsum("bqhd,hde->bqe", mixed, ops.cast(layer.output_dense.kernel, v.dtype))


def _replayed(network, images, deltas=None):
    """``(logits, maps)``: the scores, and each attention layer's (B, heads, T, T) map; with
    ``deltas`` (L, B, heads, T, T) zeros added to the maps."""
    head, paths = network.head, attention_layers(network.inference_model)
    maps = {}

    def call(operation, path, args, kwargs):
        if path not in paths:
            return head.compute(operation, path, args, kwargs)
        output, scores = operation(*args, **kwargs, return_attention_scores=True)
        maps[path] = scores
        if deltas is None:
            return output
        delta = deltas[paths.index(path)]
        return output + _through_values(operation, _value_of(args, kwargs), delta)

    logits = graph.replay(network.inference_model, images, [head.path], call)[head.path]
    return logits, ops.stack([ops.cast(maps[path], "float32") for path in paths])


def maps(network, x: np.ndarray) -> np.ndarray:
    """(L, B, heads, T, T) attention maps of the model's L attention layers."""
    fn = network.compiled("attention", lambda images: _replayed(network, images)[1])
    return np.asarray(ops.convert_to_numpy(fn(np.asarray(x, np.float32))), np.float64)


def maps_and_gradients(network, x: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """The attention maps (L, B, heads, T, T) and d logit[c_i] / d map, for each image."""
    from nnvisual.graph import gradients

    model = network.inference_model
    paths = attention_layers(model)
    tokens = graph.output_shape(model, paths[0])[1]
    heads = graph.get_layer(model, paths[0]).num_heads

    def fn(images, onehot):
        zeros = ops.zeros((len(paths), ops.shape(images)[0], heads, tokens, tokens))

        def explained(deltas):
            logits, attention = _replayed(network, images, deltas)
            return network.explained(logits, onehot), attention

        (_, attention), grads = gradients.value_and_gradient(explained, zeros, has_aux=True)
        return attention, grads

    compiled = network.compiled("attention_gradients", fn)
    attention, grads = compiled(np.asarray(x, np.float32), network.onehot(classes))
    return (np.asarray(ops.convert_to_numpy(attention), np.float64),
            np.asarray(ops.convert_to_numpy(grads), np.float64))


def fuse_heads(attention: np.ndarray, head_fusion: str) -> np.ndarray:
    """(..., heads, T, T) -> (..., T, T): the heads' mean, max or min."""
    return {"mean": np.mean, "max": np.max, "min": np.min}[head_fusion](attention, axis=-3)


def discard(fused: np.ndarray, ratio: float) -> np.ndarray:
    """(B, T, T) with each image's ``int(T * T * ratio)`` smallest entries set to 0, the class
    token's attention to itself kept (vit-explain's discard ratio)."""
    flat = fused.reshape(len(fused), -1).copy()
    count = int(flat.shape[1] * ratio)
    if count:
        lowest = np.argsort(flat, axis=1, kind="stable")[:, :count]
        for row, indices in zip(flat, lowest, strict=True):
            row[indices[indices != 0]] = 0
    return flat.reshape(fused.shape)


def rollout(attention: np.ndarray, head_fusion: str = "mean", discard_ratio: float = 0.0):
    """The joint attention (B, T, T) of (L, B, heads, T, T) maps: per block the heads fused,
    the weakest entries discarded, (A + I) / 2 with rows renormalized, multiplied from the first
    block up (Abnar & Zuidema 2020). Each row sums to 1."""
    tokens = attention.shape[-1]
    joint = np.broadcast_to(np.eye(tokens), attention.shape[1:2] + (tokens, tokens))
    for block in attention:
        a = (discard(fuse_heads(block, head_fusion), discard_ratio) + np.eye(tokens)) / 2
        joint = (a / a.sum(axis=-1, keepdims=True)) @ joint
    return joint


def relevance(attention: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Chefer et al.'s relevance (B, T, T): R = I; R += mean_heads(max(grad * A, 0)) @ R per
    block."""
    tokens = attention.shape[-1]
    joint = np.broadcast_to(np.eye(tokens), attention.shape[1:2] + (tokens, tokens)).copy()
    for block, grad in zip(attention, grads, strict=True):
        joint = joint + np.maximum(grad * block, 0).mean(axis=-3) @ joint
    return joint


def _class_row_map(joint: np.ndarray, size) -> np.ndarray:
    """The class token's row over the patches (B, T, T) -> (B, H, W), upsampled to ``size``."""
    extra, side = grid_layout(joint.shape[-1])
    row = joint[:, 0, extra:].reshape(len(joint), side, side)
    return upsample(row.astype(np.float32), size)


def attention_rollout(request: Request) -> np.ndarray:
    """Attention rollout's class-token row (Abnar & Zuidema 2020), upsampled to the image."""
    settings = request.settings
    joint = rollout(maps(request.network, request.x), settings.head_fusion,
                    settings.discard_ratio)
    return _class_row_map(joint, request.x.shape[1:3])


def transformer_attribution(request: Request) -> np.ndarray:
    """Chefer et al.'s gradient-weighted attention relevance (2021), class-token row, upsampled."""
    attention, grads = maps_and_gradients(request.network, request.x, request.classes)
    return _class_row_map(relevance(attention, grads), request.x.shape[1:3])
