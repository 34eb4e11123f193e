"""Keras Hub's vision transformers (``pip install nnvisual[hub]``): a ``ViTImageClassifier`` from a
local preset folder (what ``save_to_preset`` writes and ``from_preset`` reads: ``config.json``,
``model.weights.h5``, ``task.json``...) or a live one, turned into a functional Keras model of the
same function that nnvisual's methods can read.

Keras Hub's ViT runs its blocks inside subclassed layers (``ViTEncoder`` calls each
``ViTEncoderBlock``, whose ``call`` calls its ``MultiHeadAttention``), which a replay of the graph
(:func:`nnvisual.graph.replay`) cannot enter, so the attention maps could not be read. The copy
(:func:`functional_copy`) lays each block out as nodes of a functional graph, one adapter per
block class (:func:`_adapters`): copies of the block's own sublayers (its layer norms, its
``MultiHeadAttention``, its MLP's two ``Dense`` layers) with their weights, called as the block's
``call`` calls them, the residual sums as ``Add`` layers. The dropouts are left out (identity at
inference). Its layer names are vit-tiny's (``block{i}_norm1``, ``block{i}_attn``, ...,
``norm``, ``head``: :mod:`nnvisual.models.vit`); the class token and position embedding are
nnvisual's ``TokenEmbedding`` holding Keras Hub's ``class_token`` and ``position_embedding``.
The copy is made from the weights at the time of the call; the Keras Hub model is not changed.

A block class without an adapter, and a backbone other than ``ViTBackbone``, are refused in one
line naming the class (``tests/test_vit_hub.py`` checks the adapter against each block's own
output).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError, named
from nnvisual.models.classes import model_class_names
from nnvisual.models.loaded import LoadedModel

PRESET_CONFIG = "config.json"
PREFIX = "keras-hub:"  # --model keras-hub:vit_base_patch16_224_imagenet
# ViT-Base/Large/Huge (Dosovitskiy et al. 2021, Table 1): blocks, heads, width, MLP width
SIZES = {"base": (12, 12, 768, 3072), "large": (24, 16, 1024, 4096), "huge": (32, 16, 1280, 5120)}
PRESET_NAME = re.compile(r"vit_(base|large|huge)_patch(\d+)_(\d+)_imagenet")


def is_preset(path: Path) -> bool:
    """Whether ``path`` is a Keras Hub preset folder (its ``config.json`` names a Keras Hub
    class)."""
    config = path / PRESET_CONFIG
    if not config.is_file():
        return False
    try:
        module = json.loads(config.read_text()).get("module", "")
    except (ValueError, AttributeError):
        return False
    return str(module).startswith("keras_hub")


def is_hub_model(model) -> bool:
    """Whether ``model`` is a Keras Hub task or backbone (without importing Keras Hub)."""
    return type(model).__module__.startswith("keras_hub.")


def _keras_hub():
    try:
        import keras_hub
    except ImportError:
        raise UserError("Keras Hub models need keras-hub: pip install 'nnvisual[hub]'") from None
    return keras_hub


def load_preset(path: Path) -> LoadedModel:
    """The image classifier of the Keras Hub preset folder ``path``, as :func:`loaded` gives it."""
    keras_hub = _keras_hub()
    try:
        classifier = keras_hub.models.ImageClassifier.from_preset(str(path))
    except Exception as exc:  # no task.json (a backbone alone), another task, a broken file
        raise UserError(f"cannot load a Keras Hub image classifier from {path}: "
                        f"{exc}".splitlines()[0]) from None
    return loaded(classifier, path.name)


def load_named(preset: str, weights: str) -> LoadedModel:
    """Keras Hub's ViT preset ``preset`` (e.g. ``vit_base_patch16_224_imagenet``): its ImageNet
    classifier downloaded by Keras Hub (``weights`` ``imagenet``), or the same architecture with
    random weights, built offline (``none``; ImageNet-1k presets only, whose head has 1000
    classes; preprocessing x / 127.5 - 1)."""
    keras_hub = _keras_hub()
    known = sorted(keras_hub.models.ViTBackbone.presets)
    if preset not in known:
        raise UserError(f"unknown Keras Hub ViT preset {preset!r} (known: {', '.join(known)})")
    if weights == "imagenet":
        try:
            classifier = keras_hub.models.ImageClassifier.from_preset(preset)
        except Exception as exc:  # no network, or a broken download
            raise UserError(f"Keras Hub preset {preset} could not be downloaded "
                            f"({type(exc).__name__}); give a local preset folder with "
                            f"{named('model', 'PATH')}, or random weights with "
                            f"{named('weights', 'none')}") from None
        return loaded(classifier, preset)
    if weights != "none":
        raise UserError(f"Keras Hub presets take {named('weights', 'imagenet')} or "
                        f"{named('weights', 'none')}, not {weights!r}; a local preset folder is "
                        f"given as {named('model', 'PATH')}")
    return loaded(random_classifier(preset), preset)


def random_classifier(preset: str):
    """The ``ViTImageClassifier`` of the ImageNet-1k ViT preset ``preset`` with random weights,
    built offline from its name (its size, patch and resolution), its backbone's parameter count
    checked against Keras Hub's record of the preset."""
    keras_hub = _keras_hub()
    match = PRESET_NAME.fullmatch(preset)
    if not match:
        raise UserError(f"{named('weights', 'none')} builds ImageNet-1k ViT presets "
                        f"(vit_SIZE_patchP_RES_imagenet) only, not {preset}: its head is not known "
                        "offline")
    layers, heads, width, mlp = SIZES[match[1]]
    size = int(match[3])
    from nnvisual.runtime import seeding

    seeding.set_random_seed(0)  # the same random network every time
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(size, size, 3), patch_size=int(match[2]), num_layers=layers,
        num_heads=heads, hidden_dim=width, mlp_dim=mlp)
    expected = keras_hub.models.ViTBackbone.presets[preset]["metadata"]["params"]
    if backbone.count_params() != expected:
        raise UserError(f"Keras Hub's {preset} has {expected} parameters, not the "
                        f"{backbone.count_params()} nnvisual builds from its name: download it "
                        f"(leave {named('weights', 'none')} out)")
    converter = keras_hub.layers.ViTImageConverter(image_size=(size, size), scale=1 / 127.5,
                                                   offset=-1.0)
    return keras_hub.models.ViTImageClassifier(
        backbone=backbone, num_classes=1000,
        preprocessor=keras_hub.models.ViTImageClassifierPreprocessor(image_converter=converter))


def loaded(classifier, name: str, class_names=()) -> LoadedModel:
    """A Keras Hub ``ViTImageClassifier`` as a :class:`LoadedModel`: its functional copy, its
    preprocessor's rescaling (``images * scale + offset``; none without a preprocessor)."""
    model = functional_copy(classifier)
    converter = getattr(getattr(classifier, "preprocessor", None), "image_converter", None)
    scale = getattr(converter, "scale", None)
    offset = getattr(converter, "offset", None)
    return LoadedModel(model, name, tuple(model.input_shape[1:3]), _rescaling(scale, offset),
                       model_class_names(tuple(class_names), int(model.output_shape[-1])))


def _rescaling(scale, offset):
    scale = np.float32(1) if scale is None else np.asarray(scale, np.float32)
    offset = np.float32(0) if offset is None else np.asarray(offset, np.float32)

    def preprocess(images):
        return np.asarray(images, np.float32) * scale + offset

    return preprocess


def _copy(layer, name: str, copies: list):
    """A new layer of ``layer``'s class and config, named ``name``, computing in float32; its
    weights are set from ``layer`` once the graph has built it (``copies``)."""
    config = {**layer.get_config(), "name": name, "dtype": "float32"}
    copy = type(layer).from_config(config)
    copies.append((copy, layer))
    return copy


def _vit_block(block, x, prefix: str, copies: list):
    """``ViTEncoderBlock.call``: x + mha(ln_1(x)), then that + mlp(ln_2(that))."""
    from keras import layers

    y = _copy(block.layer_norm_1, f"{prefix}_norm1", copies)(x)
    y = _copy(block.mha, f"{prefix}_attn", copies)(y, y)
    x = layers.Add(name=f"{prefix}_add1")([y, x])
    y = _copy(block.layer_norm_2, f"{prefix}_norm2", copies)(x)
    y = _copy(block.mlp.dense_1, f"{prefix}_mlp1", copies)(y)
    y = _copy(block.mlp.dense_2, f"{prefix}_mlp2", copies)(y)
    return layers.Add(name=f"{prefix}_add2")([x, y])


def _adapters() -> dict:
    """Keras Hub block class -> its adapter ``(block, x, prefix, copies) -> x``."""
    from keras_hub.src.models.vit.vit_layers import ViTEncoderBlock

    return {ViTEncoderBlock: _vit_block}


def _adapter(block):
    adapters = _adapters()
    if type(block) not in adapters:
        raise UserError(f"Keras Hub block {type(block).__name__} ('{block.name}') has no adapter "
                        f"in nnvisual (it reads {', '.join(c.__name__ for c in adapters)}): its "
                        "attention cannot be read")
    return adapters[type(block)]


def _set_weights(copies) -> None:
    for copy, layer in copies:
        copy.set_weights(layer.get_weights())


def block_model(block, tokens: int, width: int):
    """One block's adapter as a model of its own, (B, tokens, width) -> the same shape, with the
    block's weights (to check it against ``block`` itself)."""
    import keras

    copies = []
    x = keras.Input((tokens, width))
    model = keras.Model(x, _adapter(block)(block, x, "block", copies))
    _set_weights(copies)
    return model


def functional_copy(classifier):
    """A functional Keras model computing what the Keras Hub ``ViTImageClassifier``
    ``classifier`` computes at inference, its blocks laid out by their adapters (module
    docstring). UserError for another model, another backbone or a block without adapter."""
    import keras
    from keras import layers

    from nnvisual.models.vit import token_embedding_class

    keras_hub = _keras_hub()
    if not isinstance(classifier, keras_hub.models.ViTImageClassifier):
        raise UserError(f"nnvisual reads Keras Hub's ViTImageClassifier only, not "
                        f"{type(classifier).__name__}")
    backbone = classifier.backbone
    if type(backbone) is not keras_hub.models.ViTBackbone:
        raise UserError(f"Keras Hub backbone {type(backbone).__name__} is not read by nnvisual "
                        "(it reads ViTBackbone)")
    embedding, encoder = backbone.layers[1], backbone.layers[2]
    if not embedding.use_class_token or classifier.pooling != "token":
        raise UserError("nnvisual reads Keras Hub ViTs with a class token and pooling='token' "
                        f"only (this one: use_class_token={embedding.use_class_token}, "
                        f"pooling={classifier.pooling!r})")
    if embedding.data_format != "channels_last":
        raise UserError("nnvisual reads channels_last Keras Hub ViTs only")
    blocks = [(block, _adapter(block)) for block in encoder.encoder_layers]
    copies = []
    height, width = backbone.image_shape[0], backbone.image_shape[1]
    x = inputs = keras.Input((height, width, 3), name="image")
    x = _copy(embedding.patch_embedding, "patch_embed", copies)(x)
    x = layers.Reshape((embedding.num_patches, embedding.hidden_dim), name="patch_tokens")(x)
    tokens = token_embedding_class()(name="tokens", dtype="float32")
    x = tokens(x)
    for i, (block, adapt) in enumerate(blocks, 1):
        x = adapt(block, x, f"block{i}", copies)
    x = _copy(encoder.layer_norm, "norm", copies)(x)
    x = layers.Cropping1D((0, embedding.num_positions - 1), name="class_token")(x)
    x = layers.Flatten(name="flatten")(x)
    if classifier.intermediate_dim is not None:
        x = _copy(classifier.intermediate_layer, "pre_logits", copies)(x)
    outputs = _copy(classifier.output_dense, "head", copies)(x)
    model = keras.Model(inputs, outputs, name=classifier.name)
    _set_weights(copies)
    tokens.set_weights([keras.ops.convert_to_numpy(embedding.class_token),
                        keras.ops.convert_to_numpy(embedding.position_embedding.embeddings)[None]])
    return model

