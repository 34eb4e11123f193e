"""A small vision transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words") built
from Keras layers, for CIFAR-10's 32x32 images: ``vit-tiny``, 4x4 patches (an 8x8 grid) and a
class token, a few pre-norm blocks of ``MultiHeadAttention`` and a GELU MLP, a learned position
embedding, and a linear head on the class token.

Its layout is timm's ``VisionTransformer`` (layer norms with epsilon 1e-6, exact GELU, the position
embedding covering the class token), so the same weights give the same logits there
(:mod:`nnvisual.testing.vit_twin`). Like the study's networks it takes raw 0..255 pixels: its first
layer (``normalize``) subtracts the training images' channel means and divides by
:data:`PIXEL_SCALE`. The softmax is a separate last layer, so the logits (``head``) can be read.
"""

from __future__ import annotations

import functools

import numpy as np

CIFAR_INPUT = (32, 32, 3)
PIXEL_SCALE = 64.0  # 0..255 pixels, mean subtracted, to about -2..2


@functools.cache
def token_embedding_class():
    """The ``TokenEmbedding`` layer class, registered with Keras as ``nnvisual>TokenEmbedding``
    when first asked for (so a saved ViT loads once this ran; Keras is imported then)."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="nnvisual")
    class TokenEmbedding(keras.layers.Layer):
        """Patch tokens (B, N, D) -> ``extra_tokens`` learned tokens in front (1: the class token;
        2: DeiT's class and distillation tokens, in that order), then a learned position
        embedding added to all N + extra tokens (timm's ``cls_token`` and ``dist_token``, and
        ``pos_embed``; zeros and a 0.02 truncated normal, as timm initializes a ViT's; the
        initializers are attributes, which weight randomization re-draws from)."""

        def __init__(self, extra_tokens: int = 1, **kwargs):
            super().__init__(**kwargs)
            self.extra_tokens = extra_tokens
            self.class_token_initializer = keras.initializers.Zeros()
            self.position_initializer = keras.initializers.TruncatedNormal(stddev=0.02)

        def build(self, input_shape):
            tokens, dim = input_shape[1], input_shape[2]
            self.class_token = self.add_weight(shape=(1, self.extra_tokens, dim),
                                               name="class_token",
                                               initializer=self.class_token_initializer)
            self.position = self.add_weight(shape=(1, tokens + self.extra_tokens, dim),
                                            name="position", initializer=self.position_initializer)

        def call(self, patches):
            batch = ops.shape(patches)[0]
            token = ops.broadcast_to(ops.cast(self.class_token, patches.dtype),
                                     (batch, self.extra_tokens, patches.shape[-1]))
            return ops.concatenate([token, patches], axis=1) + ops.cast(self.position,
                                                                         patches.dtype)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], input_shape[1] + self.extra_tokens, input_shape[2])

        def get_config(self):
            return {**super().get_config(), "extra_tokens": self.extra_tokens}

    return TokenEmbedding


def build_vit(num_classes: int = 10, mean=None, image_size: int = 32, patch: int = 4,
              dim: int = 96, depth: int = 4, heads: int = 4, mlp_ratio: int = 2, name="vit_tiny"):
    """A ViT for ``image_size`` square RGB images: ``(image_size // patch)**2`` patch tokens of
    width ``dim`` and a class token, ``depth`` blocks of ``heads``-head self-attention
    (``block{i}_attn``, read by attention rollout and Chefer et al.'s relevance) and a
    ``mlp_ratio * dim`` GELU MLP, each after its layer norm (``block{i}_norm1``, ``_norm2``)."""
    import keras
    from keras import layers

    mean = np.zeros(3) if mean is None else np.asarray(mean, dtype=np.float64)
    x = inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Normalization(mean=mean, variance=np.full(3, PIXEL_SCALE ** 2),
                             name="normalize")(x)
    x = layers.Conv2D(dim, patch, strides=patch, name="patch_embed")(x)
    x = layers.Reshape(((image_size // patch) ** 2, dim), name="patch_tokens")(x)
    x = token_embedding_class()(name="tokens")(x)
    for i in range(1, depth + 1):
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        y = layers.MultiHeadAttention(heads, dim // heads, name=f"block{i}_attn")(y, y)
        x = layers.Add(name=f"block{i}_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
        y = layers.Dense(mlp_ratio * dim, activation="gelu", name=f"block{i}_mlp1")(y)
        y = layers.Dense(dim, name=f"block{i}_mlp2")(y)
        x = layers.Add(name=f"block{i}_add2")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    tokens = x.shape[1]
    x = layers.Cropping1D((0, tokens - 1), name="class_token")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(num_classes, name="head")(x)
    outputs = layers.Activation("softmax", name="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
