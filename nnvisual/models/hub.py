"""Keras Hub's vision transformers (``pip install nnvisual[hub]``): a ``ViTImageClassifier`` or
``DeiTImageClassifier`` from a local preset folder (what ``save_to_preset`` writes and
``from_preset`` reads: ``config.json``, ``model.weights.h5``, ``task.json``...) or a live one,
turned into a functional Keras model of the same function that nnvisual's methods can read.

Keras Hub runs the blocks inside subclassed layers (``ViTEncoder`` calls each ``ViTEncoderBlock``,
``DeiTEncoder`` each ``DeiTEncoderBlock``, whose ``call`` calls its ``MultiHeadAttention``), which
a replay of the graph (:func:`nnvisual.graph.replay`) cannot enter, so the attention maps could
not be read. The copy (:func:`functional_copy`) lays each block out as nodes of a functional
graph, one adapter per block class (:func:`_adapters`): copies of the block's own sublayers (its
layer norms, its ``MultiHeadAttention``, its MLP's two ``Dense`` layers, the first with its GELU)
with their weights, called as the block's ``call`` calls them, the residual sums as ``Add``
layers. The dropouts are left out (identity at inference). Its layer names are vit-tiny's
(``block{i}_norm1``, ``block{i}_attn``, ..., ``norm``, ``head``: :mod:`nnvisual.models.vit`); the
leading tokens and position embedding are nnvisual's ``TokenEmbedding`` holding Keras Hub's
``class_token`` (DeiT: ``class_token`` and ``distillation_token``) and ``position_embedding``. The
head reads the class token, as both Keras Hub classifiers do (DeiT's has no distillation head).
The copy is made from the weights at the time of the call; the Keras Hub model is not changed.

A block class without an adapter, another task, a backbone other than its classifier's
``ViTBackbone`` or ``DeiTBackbone``, and a head on anything but the class token are refused in one
line (``tests/test_vit_hub.py`` checks each adapter against its block's own output).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError, named
from nnvisual.models.classes import model_class_names
from nnvisual.models.loaded import LoadedModel

PRESET_CONFIG = "config.json"
PREFIX = "keras-hub:"  # --model keras-hub:vit_base_patch16_224_imagenet
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Family:
    """One Keras Hub vision transformer family nnvisual reads: its Keras Hub class names
    (``{name}Backbone``, ``{name}ImageClassifier``...), the weights of its embedding's leading
    tokens in order, and how its ImageNet-1k presets are built offline (``--weights none``)."""

    name: str
    leading_tokens: tuple[str, ...]
    preset_name: re.Pattern  # groups: size, patch, resolution
    sizes: dict  # size -> blocks, heads, width, MLP width
    mlp_argument: str  # the backbone's MLP width argument
    scale: tuple[float, ...]  # the offline presets' preprocessing, images * scale + offset
    offset: tuple[float, ...]


# ViT-Base/Large/Huge (Dosovitskiy et al. 2021, Table 1), x / 127.5 - 1
VIT = Family("ViT", ("class_token",), re.compile(r"vit_(base|large|huge)_patch(\d+)_(\d+)_imagenet"),
             {"base": (12, 12, 768, 3072), "large": (24, 16, 1024, 4096),
              "huge": (32, 16, 1280, 5120)}, "mlp_dim", (1 / 127.5,), (-1.0,))
# DeiT-Ti/S/B (Touvron et al. 2021, Table 1), ImageNet's mean and deviation
DEIT = Family("DeiT", ("class_token", "distillation_token"),
              re.compile(r"deit_(tiny|small|base)_distilled_patch(\d+)_(\d+)_imagenet"),
              {"tiny": (12, 3, 192, 768), "small": (12, 6, 384, 1536),
               "base": (12, 12, 768, 3072)}, "intermediate_dim",
              tuple(1 / (255 * s) for s in IMAGENET_STD),
              tuple(-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)))
FAMILIES = (VIT, DEIT)


def _models(family: Family, suffix: str):
    """Keras Hub's ``{family}{suffix}`` class (``Backbone``, ``ImageClassifier``...)."""
    return getattr(_keras_hub().models, family.name + suffix)


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
    """Keras Hub's ViT or DeiT preset ``preset`` (e.g. ``vit_base_patch16_224_imagenet``): its
    ImageNet classifier downloaded by Keras Hub (``weights`` ``imagenet``), or the same
    architecture with random weights, built offline (``none``; ImageNet-1k presets only, whose
    head has 1000 classes; the family's preprocessing, :data:`VIT`, :data:`DEIT`)."""
    keras_hub = _keras_hub()
    known = sorted(name for family in FAMILIES for name in _models(family, "Backbone").presets)
    if preset not in known:
        raise UserError(f"unknown Keras Hub ViT or DeiT preset {preset!r} "
                        f"(known: {', '.join(known)})")
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


def _preset_family(preset: str):
    """``(family, match)`` of the ImageNet-1k preset name ``preset``; UserError for another."""
    for family in FAMILIES:
        match = family.preset_name.fullmatch(preset)
        if match:
            return family, match
    raise UserError(f"{named('weights', 'none')} builds ImageNet-1k ViT and DeiT presets "
                    "(vit_SIZE_patchP_RES_imagenet, deit_SIZE_distilled_patchP_RES_imagenet) only, "
                    f"not {preset}: its head is not known offline")


def random_classifier(preset: str):
    """The image classifier of the ImageNet-1k ViT or DeiT preset ``preset`` with random
    weights, built offline from its name (its size, patch and resolution), its backbone's
    parameter count checked against Keras Hub's record of the preset."""
    keras_hub = _keras_hub()
    family, match = _preset_family(preset)
    layers, heads, width, mlp = family.sizes[match[1]]
    size = int(match[3])
    from nnvisual.runtime import seeding

    seeding.set_random_seed(0)  # the same random network every time
    backbone_class = _models(family, "Backbone")
    backbone = backbone_class(image_shape=(size, size, 3), patch_size=int(match[2]),
                              num_layers=layers, num_heads=heads, hidden_dim=width,
                              **{family.mlp_argument: mlp})
    expected = backbone_class.presets[preset]["metadata"]["params"]
    if backbone.count_params() != expected:
        raise UserError(f"Keras Hub's {preset} has {expected} parameters, not the "
                        f"{backbone.count_params()} nnvisual builds from its name: download it "
                        f"(leave {named('weights', 'none')} out)")
    converter = getattr(keras_hub.layers, f"{family.name}ImageConverter")(
        image_size=(size, size), scale=list(family.scale), offset=list(family.offset))
    preprocessor = _models(family, "ImageClassifierPreprocessor")(image_converter=converter)
    return _models(family, "ImageClassifier")(backbone=backbone, num_classes=1000,
                                              preprocessor=preprocessor)


def loaded(classifier, name: str, class_names=()) -> LoadedModel:
    """A Keras Hub ``ViTImageClassifier`` or ``DeiTImageClassifier`` as a :class:`LoadedModel`:
    its functional copy, its preprocessor's rescaling (``images * scale + offset``; none without a
    preprocessor)."""
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


def _vit_sublayers(block) -> tuple:
    """``ViTEncoderBlock``'s: ``ln_1``, ``mha``, ``ln_2``, ``mlp.dense_1`` (GELU), ``mlp.dense_2``."""
    return block.layer_norm_1, block.mha, block.layer_norm_2, block.mlp.dense_1, block.mlp.dense_2


def _deit_sublayers(block) -> tuple:
    """``DeiTEncoderBlock``'s: ``ln_1``, ``mha``, ``ln_2``, ``mlp.dense`` (GELU),
    ``output_layer.dense`` (``output_layer`` adds the residual)."""
    return (block.layer_norm_1, block.mha, block.layer_norm_2, block.mlp.dense,
            block.output_layer.dense)


def _adapters() -> dict:
    """Keras Hub block class -> its sublayers ``(norm1, attention, norm2, mlp1, mlp2)``, which
    its ``call`` runs as :func:`_pre_norm_block` lays them out."""
    from keras_hub.src.models.deit.deit_layers import DeiTEncoderBlock
    from keras_hub.src.models.vit.vit_layers import ViTEncoderBlock

    return {ViTEncoderBlock: _vit_sublayers, DeiTEncoderBlock: _deit_sublayers}


def _sublayers(block) -> tuple:
    """``block``'s sublayers (:func:`_adapters`); UserError for a block class without adapter."""
    adapters = _adapters()
    if type(block) not in adapters:
        raise UserError(f"Keras Hub block {type(block).__name__} ('{block.name}') has no adapter "
                        f"in nnvisual (it reads {', '.join(c.__name__ for c in adapters)}): its "
                        "attention cannot be read")
    return adapters[type(block)](block)


def _pre_norm_block(sublayers: tuple, x, prefix: str, copies: list):
    """A pre-norm block's ``call`` as graph nodes of its sublayers' copies: x + attention(norm1(x)),
    then that + mlp2(mlp1(norm2(that))), the residual sums as ``Add`` layers."""
    from keras import layers

    norm1, attention, norm2, mlp1, mlp2 = sublayers
    y = _copy(norm1, f"{prefix}_norm1", copies)(x)
    y = _copy(attention, f"{prefix}_attn", copies)(y, y)
    x = layers.Add(name=f"{prefix}_add1")([y, x])
    y = _copy(norm2, f"{prefix}_norm2", copies)(x)
    y = _copy(mlp1, f"{prefix}_mlp1", copies)(y)
    y = _copy(mlp2, f"{prefix}_mlp2", copies)(y)
    return layers.Add(name=f"{prefix}_add2")([x, y])


def _set_weights(copies) -> None:
    for copy, layer in copies:
        copy.set_weights(layer.get_weights())


def block_model(block, tokens: int, width: int):
    """One block's adapter as a model of its own, (B, tokens, width) -> the same shape, with the
    block's weights (to check it against ``block`` itself)."""
    import keras

    from nnvisual.graph import given_weights

    copies = []
    with given_weights.building():
        x = keras.Input((tokens, width))
        model = keras.Model(x, _pre_norm_block(_sublayers(block), x, "block", copies))
        _set_weights(copies)
    return model


def _family(classifier) -> Family:
    """The family of the Keras Hub image classifier ``classifier``; UserError for another task,
    or a backbone other than its family's."""
    for family in FAMILIES:
        if isinstance(classifier, _models(family, "ImageClassifier")):
            backbone = _models(family, "Backbone")
            if type(classifier.backbone) is not backbone:
                raise UserError(f"Keras Hub backbone {type(classifier.backbone).__name__} in a "
                                f"{type(classifier).__name__} is not read by nnvisual (it reads "
                                f"{backbone.__name__} there)")
            return family
    raise UserError("nnvisual reads Keras Hub's ViTImageClassifier and DeiTImageClassifier only, "
                    f"not {type(classifier).__name__}")


def _check_embedding(family: Family, embedding, pooling: str) -> None:
    """UserError unless the tokens are read as the copy reads them: a class token first (DeiT's
    always), the head on it, channels-last images."""
    class_token = getattr(embedding, "use_class_token", True)
    if not class_token or pooling != "token":
        raise UserError(f"nnvisual reads Keras Hub {family.name}s with a class token and "
                        f"pooling='token' only (this one: use_class_token={class_token}, "
                        f"pooling={pooling!r})")
    if embedding.data_format != "channels_last":
        raise UserError(f"nnvisual reads channels_last Keras Hub {family.name}s only")


def _token_weights(family: Family, embedding) -> list:
    """``TokenEmbedding``'s weights from Keras Hub's embedding: its leading tokens (1, extra,
    D) and its position embedding (1, T, D) (ViT's an ``Embedding`` layer, DeiT's a weight)."""
    from keras import ops

    leading = [ops.convert_to_numpy(getattr(embedding, name)) for name in family.leading_tokens]
    position = getattr(embedding.position_embedding, "embeddings", embedding.position_embedding)
    return [np.concatenate(leading, axis=1),
            ops.convert_to_numpy(position).reshape(1, -1, embedding.hidden_dim)]


def functional_copy(classifier):
    """A functional Keras model computing what the Keras Hub ``ViTImageClassifier`` or
    ``DeiTImageClassifier`` ``classifier`` computes at inference, its blocks laid out by their
    adapters (module docstring). UserError for another model, another backbone or a block
    without adapter."""
    import keras
    from keras import layers

    from nnvisual.graph import given_weights
    from nnvisual.models.vit import token_embedding_class

    family = _family(classifier)
    backbone = classifier.backbone
    embedding, encoder = backbone.layers[1], backbone.layers[2]
    _check_embedding(family, embedding, classifier.pooling)
    blocks = [_sublayers(block) for block in encoder.encoder_layers]
    copies = []
    with given_weights.building():
        height, width = backbone.image_shape[0], backbone.image_shape[1]
        x = inputs = keras.Input((height, width, 3), name="image")
        x = _copy(embedding.patch_embedding, "patch_embed", copies)(x)
        x = layers.Reshape((embedding.num_patches, embedding.hidden_dim), name="patch_tokens")(x)
        tokens = token_embedding_class()(extra_tokens=len(family.leading_tokens), name="tokens",
                                         dtype="float32")
        x = tokens(x)
        for i, sublayers in enumerate(blocks, 1):
            x = _pre_norm_block(sublayers, x, f"block{i}", copies)
        x = _copy(encoder.layer_norm, "norm", copies)(x)
        x = layers.Cropping1D((0, embedding.num_positions - 1), name="class_token")(x)
        x = layers.Flatten(name="flatten")(x)
        if getattr(classifier, "intermediate_dim", None) is not None:  # ViT's pre-logits; not DeiT's
            x = _copy(classifier.intermediate_layer, "pre_logits", copies)(x)
        outputs = _copy(classifier.output_dense, "head", copies)(x)
        model = keras.Model(inputs, outputs, name=classifier.name)
        _set_weights(copies)
        tokens.set_weights(_token_weights(family, embedding))
    return model
