"""The networks nnvisual knows by name, one row each in :data:`NAMED`: what ``--model NAME`` loads
(the study's networks, which ``train`` builds, are :data:`nnvisual.models.study.BUILDERS`)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

from nnvisual.errors import UserError, named
from nnvisual.models import efficientnet_lite
from nnvisual.models.classes import imagenet_class_names
from nnvisual.models.loaded import LoadedModel

VGG16_INPUT = (224, 224, 3)


def load_vgg16(weights: str = "imagenet") -> LoadedModel:
    """VGG16 (Simonyan & Zisserman 2014) from ``keras.applications``; ``weights`` is
    ``imagenet`` (downloaded once by Keras), ``none`` (random, same layers) or a file path."""
    from keras.applications import vgg16

    if weights == "imagenet":
        try:
            model = vgg16.VGG16(weights="imagenet")
        except Exception as exc:  # no network, or a broken download
            raise UserError(f"VGG16 ImageNet weights could not be downloaded ({type(exc).__name__}); "
                            f"use {named('model', 'efficientnet-lite0')} (its ImageNet weights ship "
                            f"with nnvisual), give a local file with {named('weights', 'PATH')}, or "
                            f"use random weights with {named('weights', 'none')}") from None
    elif weights == "none":
        from nnvisual.runtime import seeding

        seeding.set_random_seed(0)  # the same random VGG16 every time
        model = vgg16.VGG16(weights=None)
    else:
        path = Path(weights)
        if not path.is_file():
            raise UserError(f"weights file not found: {weights} (or use {named('weights', 'imagenet')} "
                            f"or {named('weights', 'none')})")
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
        raise UserError(f"{variant} comes with its ImageNet weights only: leave {named('weights')} "
                        f"out (or give {named('weights', 'imagenet')}), not {weights!r}")
    model, size = efficientnet_lite.build_efficientnet_lite(variant)
    return LoadedModel(model, variant, (size, size), efficientnet_lite.preprocess,
                       imagenet_class_names())


@dataclasses.dataclass(frozen=True)
class NamedNetwork:
    """A network known by name: ``load(weights)`` and a few words on its weights."""

    load: Callable[[str], LoadedModel]
    weights: str


NAMED = {
    "vgg16": NamedNetwork(load_vgg16, "ImageNet weights downloaded once; --weights none|PATH"),
    **{variant: NamedNetwork(functools.partial(load_efficientnet_lite, variant),
                             "ImageNet weights installed with nnvisual" if variant.endswith("0")
                             else "ImageNet weights with the lite extra")
       for variant in efficientnet_lite.VARIANTS},
}


def described() -> str:
    """The named networks in words, for ``--model``'s help."""
    return ", ".join(f"{name} ({network.weights})" for name, network in NAMED.items())
