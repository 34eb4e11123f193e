"""Helpers shared by the tests: readers of a run's CSV tables and manifest, and test images.

They read the files with the standard library only (``csv``, ``json``), independently of
``nnvisual.runs``, so a test that uses them checks what is on disk, not what the code under test
believes it wrote.
"""

import csv
import json
from pathlib import Path

import cv2
import numpy as np


def read_csv(path) -> list[dict]:
    """The rows of a CSV file with a header line, as dicts of strings (``csv.DictReader``)."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def read_manifest(run_dir) -> dict:
    """The parsed ``manifest.json`` of the run folder ``run_dir``."""
    return json.loads((Path(run_dir) / "manifest.json").read_text())


def textured(size=160, seed=0, shapes=60):
    """A grey image of random filled circles and rectangles: plenty of SIFT keypoints."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 128, np.uint8)
    for _ in range(shapes):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r, value = int(rng.integers(3, size // 10)), int(rng.integers(0, 256))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, value, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + 2 * r), value, -1)
    return cv2.GaussianBlur(image, (0, 0), 1.0)


# -- tiny classifiers with fixed weights (activation maximization, fine-tuning) -------------------
DENSE_SIZE = (4, 5)


def dense_model(separate_softmax: bool, classes: int = 3, seed: int = 0):
    """Flatten -> Dense(classes) on (4, 5, 3) images with fixed weights; softmax in the Dense
    (VGG16 style) or as a separate Activation layer (the CIFAR nets' style). Returns
    (model, W, b)."""
    import keras

    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.002, (DENSE_SIZE[0] * DENSE_SIZE[1] * 3, classes)).astype(np.float32)
    bias = rng.normal(0, 0.5, classes).astype(np.float32)
    layers = [keras.Input((*DENSE_SIZE, 3)), keras.layers.Flatten()]
    if separate_softmax:
        layers += [keras.layers.Dense(classes, name="logits"), keras.layers.Activation("softmax")]
    else:
        layers += [keras.layers.Dense(classes, activation="softmax", name="predictions")]
    model = keras.Sequential(layers)
    model.get_layer(index=1).set_weights([kernel, bias])
    return model, kernel, bias


def tiny_classifier():
    """The 4x4x3 uint8 -> 8 -> 3 classifier that the distributed-training tests train from
    ``keras.utils.set_random_seed``'s initial weights."""
    import keras

    layers = keras.layers
    return keras.Sequential([keras.Input((4, 4, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                             layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])


def conv_model(classes: int = 4, seed: int = 0):
    """A tiny ReLU convnet on (8, 8, 3) images with seeded Glorot-uniform weights drawn by NumPy
    (the same network on every Keras backend)."""
    import keras

    model = keras.Sequential([
        keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(6, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(12, activation="relu"),
        keras.layers.Dense(classes), keras.layers.Activation("softmax")])
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        fan_in, fan_out = int(np.prod(w.shape[:-1])), w.shape[-1]
        limit = np.sqrt(6 / (fan_in + fan_out)) if w.ndim > 1 else 0.0
        weights.append(rng.uniform(-limit, limit, w.shape).astype(np.float32))
    model.set_weights(weights)
    return model


def softmax(z):
    """The softmax over the last axis, in NumPy."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
