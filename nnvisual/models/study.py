"""The study's two CIFAR-10 networks (docs/study.md, "The two networks").

``plotka`` (Plotka 2017) and ``bonaccorso`` (Bonaccorso 2017) take raw 0..255 RGB CIFAR images:
per-channel mean subtraction is the model's first layer (``mean_subtraction``, a Keras
``Normalization`` with unit variance), so a saved model needs no training set. The softmax is a
separate final layer (``softmax``) so that the pre-softmax output (``dense2``) can be read.
"""

from __future__ import annotations

import numpy as np

CIFAR_INPUT = (32, 32, 3)
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


def build_vit_tiny(num_classes: int = 10, mean=None):
    """vit-tiny (:mod:`nnvisual.models.vit`): 4x4 patches of a 32x32 image, 4 blocks, width 96."""
    from nnvisual.models.vit import build_vit

    return build_vit(num_classes=num_classes, mean=mean)


# the networks `train` trains
BUILDERS = {"plotka": build_plotka, "bonaccorso": build_bonaccorso, "vit-tiny": build_vit_tiny}


def build_model(name: str, num_classes: int = 10, mean=None):
    """The study's network ``name`` (a key of :data:`BUILDERS`), untrained."""
    return BUILDERS[name](num_classes=num_classes, mean=mean)
