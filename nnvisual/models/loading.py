"""The study's networks (docs/study.md, "The two networks") and model loading.

``plotka`` (Plotka 2017) and ``bonaccorso`` (Bonaccorso 2017) take raw 0..255 RGB CIFAR images:
per-channel mean subtraction is the model's first layer (``mean_subtraction``, a Keras
``Normalization`` with unit variance), so a saved model needs no training set. The softmax is a
separate final layer (``softmax``) so that the pre-softmax output (``dense2``) can be read.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError
from nnvisual.models import efficientnet_lite
from nnvisual.models.classes import imagenet_class_names, model_class_names
from nnvisual.runtime import seeding

CIFAR_INPUT = (32, 32, 3)
VGG16_INPUT = (224, 224, 3)
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _mean_subtraction(mean):
    import keras

    mean = np.zeros(3) if mean is None else np.asarray(mean, dtype=np.float64)
    return keras.layers.Normalization(mean=mean, variance=np.ones(3), name="mean_subtraction")


def build_plotka(num_classes: int = 10, mean=None):
    """Plotka (2017): three blocks of two 3x3 convolutions with dropout, then a 1024-unit dense."""
    import keras
    from keras import layers

    conv = dict(kernel_size=3, padding="same", activation="relu")
    return keras.Sequential([
        keras.Input(CIFAR_INPUT, name="image"),
        _mean_subtraction(mean),
        layers.Conv2D(32, name="conv1", **conv), layers.Dropout(0.2, name="dropout1"),
        layers.Conv2D(32, name="conv2", **conv), layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, name="conv3", **conv), layers.Dropout(0.2, name="dropout2"),
        layers.Conv2D(64, name="conv4", **conv), layers.MaxPooling2D(2, name="pool2"),
        layers.Conv2D(128, name="conv5", **conv), layers.Dropout(0.2, name="dropout3"),
        layers.Conv2D(128, name="conv6", **conv), layers.MaxPooling2D(2, name="pool3"),
        layers.Flatten(name="flatten"), layers.Dropout(0.2, name="dropout4"),
        layers.Dense(1024, activation="relu", kernel_constraint=keras.constraints.MaxNorm(3),
                     name="dense1"),
        layers.Dropout(0.2, name="dropout5"),
        layers.Dense(num_classes, name="dense2"),
        layers.Activation("softmax", name="softmax", dtype="float32"),
    ], name="plotka")


def build_bonaccorso(num_classes: int = 10, mean=None):
    """Bonaccorso (2017): four valid 3x3 convolutions in two blocks, then a 1024-unit dense."""
    import keras
    from keras import layers

    conv = dict(kernel_size=3, padding="valid", activation="relu")
    return keras.Sequential([
        keras.Input(CIFAR_INPUT, name="image"),
        _mean_subtraction(mean),
        layers.Conv2D(32, name="block1_conv1", **conv),
        layers.Conv2D(64, name="block1_conv2", **conv),
        layers.MaxPooling2D(2, name="block1_pool"), layers.Dropout(0.25, name="block1_dropout"),
        layers.Conv2D(128, name="block2_conv1", **conv), layers.MaxPooling2D(2, name="block2_pool1"),
        layers.Conv2D(128, name="block2_conv2", **conv), layers.MaxPooling2D(2, name="block2_pool2"),
        layers.Dropout(0.25, name="block2_dropout"),
        layers.Flatten(name="flatten"),
        layers.Dense(1024, activation="relu", name="dense1"), layers.Dropout(0.25, name="dropout"),
        layers.Dense(num_classes, name="dense2"),
        layers.Activation("softmax", name="softmax", dtype="float32"),
    ], name="bonaccorso")


BUILDERS = {"plotka": build_plotka, "bonaccorso": build_bonaccorso}


def build_model(name: str, num_classes: int = 10, mean=None):
    return BUILDERS[name](num_classes=num_classes, mean=mean)


def final_layer(model):
    """``model``'s last layer, or, when that is a nested model, the nested model's own last
    layer (recursively)."""
    from nnvisual import graph

    last = model.layers[-1]
    return final_layer(last) if graph.is_nested(last) else last


def check_scores_outside_nested(model) -> None:
    """UserError when ``model`` ends in a nested model that does not end linearly (e.g. a
    ``keras.applications`` classifier with its top, wrapped in a Sequential with
    preprocessing): its class scores would be read after the softmax inside it, not before
    (the methods explain the logits)."""
    last, final = model.layers[-1], final_layer(model)
    if final is not last and activation_name(final) != "linear":
        raise UserError(f"{model.name} ends in the nested model '{last.name}', whose last layer "
                        f"'{final.name}' has a {activation_name(final)} activation: the class "
                        "scores cannot yet be read before it; give that model itself (in Python "
                        "with the outer layers' preprocessing as preprocess=)")


def activation_name(layer) -> str | None:
    """The name of ``layer``'s activation function (``relu``, ``softmax``...), or None."""
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None


# -- loading --------------------------------------------------------------------------------------
@dataclasses.dataclass
class LoadedModel:
    """A model with what is needed to feed it and name its outputs.

    ``preprocess`` maps float32 RGB images in 0..255 of ``image_size`` to the model's input
    (identity for the CIFAR nets, whose mean subtraction is inside the model). ``class_names``
    has one name per output (see :func:`nnvisual.models.classes.model_class_names`).
    """

    model: object
    name: str
    image_size: tuple[int, int]
    preprocess: Callable[[np.ndarray], np.ndarray]
    class_names: tuple[str, ...]


def _identity(x):
    return x


def sized(loaded: LoadedModel, size: tuple[int, int] | None) -> LoadedModel:
    """``loaded`` with the size its images are resized to: its input's, completed by ``size``
    (``--image-size``) where the model takes any height or width. UserError when a free
    dimension has no size, or ``size`` contradicts a fixed one."""
    given = loaded.image_size
    if size is not None and any(fixed not in (None, want) for fixed, want in zip(given, size, strict=True)):
        shown = "x".join("?" if side is None else str(side) for side in given)
        raise UserError(f"{loaded.name} takes {shown} images, not the {size[0]}x{size[1]} of "
                        "--image-size")
    if None not in given:
        return loaded
    if size is None:
        raise UserError(f"{loaded.name} takes images of any size ({loaded.model.input_shape}): "
                        "give the size to resize them to with --image-size HxW (e.g. 224)")
    return dataclasses.replace(loaded, image_size=tuple(size))


def load_vgg16(weights: str = "imagenet") -> LoadedModel:
    """VGG16 (Simonyan & Zisserman 2014) from ``keras.applications``; ``weights`` is
    ``imagenet`` (downloaded once by Keras), ``none`` (random, same layers) or a file path."""
    from keras.applications import vgg16

    if weights == "imagenet":
        try:
            model = vgg16.VGG16(weights="imagenet")
        except Exception as exc:  # no network, or a broken download
            raise UserError(f"VGG16 ImageNet weights could not be downloaded ({type(exc).__name__}); "
                            "give a local file with --weights PATH, or use random weights with "
                            "--weights none") from None
    elif weights == "none":
        seeding.set_random_seed(0)  # the same random VGG16 every time
        model = vgg16.VGG16(weights=None)
    else:
        path = Path(weights)
        if not path.is_file():
            raise UserError(f"weights file not found: {weights} (or use --weights imagenet|none)")
        model = vgg16.VGG16(weights=None)
        try:
            model.load_weights(path)
        except Exception as exc:
            raise UserError(f"cannot load VGG16 weights from {weights}: {exc}".splitlines()[0]) from None
    return LoadedModel(model, "vgg16", VGG16_INPUT[:2], vgg16.preprocess_input, imagenet_class_names())


def load_efficientnet_lite(variant: str, weights: str = "imagenet") -> LoadedModel:
    """EfficientNet-Lite0/1/2 (Tan & Le 2019) with the ImageNet weights of its registry package
    (see :mod:`nnvisual.models.efficientnet_lite`); it has no other weights."""
    if weights != "imagenet":
        raise UserError(f"{variant} comes with its ImageNet weights only: leave out --weights "
                        f"(or give --weights imagenet), not {weights!r}")
    model, size = efficientnet_lite.build_efficientnet_lite(variant)
    return LoadedModel(model, variant, (size, size), efficientnet_lite.preprocess,
                       imagenet_class_names())


def _in_float32(model):
    """``model`` itself if all its layers compute in float32, else a float32 copy with the same
    weights (a network ``train`` fitted in mixed precision): analyses always run in float32."""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    config = model.get_config()
    for layer in config["layers"]:
        layer["config"]["dtype"] = "float32"
    copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def named_model(spec: str) -> bool:
    """Whether ``spec`` names a network nnvisual builds itself (not a path)."""
    return spec == "vgg16" or spec in efficientnet_lite.VARIANTS


def load_model(spec: str, weights: str = "imagenet", unsafe: bool = False,
               class_names: tuple[str, ...] = ()) -> LoadedModel:
    """Load ``vgg16`` (with ``weights``, see :func:`load_vgg16`), ``efficientnet-lite0/1/2``
    (:func:`load_efficientnet_lite`) or a Keras model file whose
    outputs are named ``class_names`` (see :func:`nnvisual.models.classes.model_class_names`).

    Keras files are loaded in ``safe_mode`` (no Python code from Lambda layers) unless ``unsafe``.
    A ``train`` run folder is resolved to its ``model.keras`` by the command layer.
    """
    import keras

    if spec == "vgg16":
        return load_vgg16(weights)
    if named_model(spec):
        return load_efficientnet_lite(spec, weights)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"model not found: {spec} (give vgg16, efficientnet-lite0, a train run folder "
                        "or a .keras file)")
    cannot = f"cannot load a Keras model from {path}"
    if path.suffix not in KERAS_SUFFIXES:
        raise UserError(f"{cannot}: not a model file; give a .keras (or .h5) file, a train run folder "
                        "or vgg16")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise UserError(f"{cannot}: not a valid .keras file (a .keras file is a zip archive; this one "
                        "is corrupt, truncated or another format)")
    try:
        model = keras.models.load_model(path, safe_mode=not unsafe, compile=False)
    except Exception as exc:
        if "safe_mode" in str(exc):
            raise UserError(f"{cannot}: it holds Python code (e.g. a Lambda layer), which is not loaded "
                            "by default; pass --unsafe only if you trust the file") from None
        raise UserError(f"{cannot}: {exc}".splitlines()[0]) from None
    model = _in_float32(model)
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[-1] == 3):
        raise UserError(f"{path} does not take RGB images: its input shape is {shape}, not "
                        "(batch, height, width, 3)")
    height, width = shape[1:3]
    return LoadedModel(model, path.parent.name if path.name == "model.keras" else path.stem,
                       (height, width), _identity,
                       model_class_names(class_names, int(model.output_shape[-1])))
