"""A localisation benchmark whose ground truth is known by construction: objects (CIFAR-10
images) pasted at a random place onto procedural backgrounds that carry no class information,
the pasted square as the mask (docs/evaluation.md, "A controlled localisation benchmark").

Image ``i`` of a split draws its background and the place of its object from its own generator,
seeded by ``(seed, split, i)`` alone: :func:`background` is never given a class, so the
backgrounds of every class are draws from one distribution, and a network can tell the classes
apart only by the object. Labels go round the classes (image ``i`` has class ``i % classes``), so
every class has as many images. The functions return arrays; writing them is the caller's
(``scripts/localisation.py``).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from nnvisual.errors import UserError

SPLITS = {"train": 0, "test": 1}  # the split's place in each image's seed


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``: its background and its object's place."""
    return np.random.default_rng([seed, SPLITS[split], index])


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A class-neutral texture (size, size, 3) uint8: two octaves of smooth Gaussian noise (a
    coarse grid of 2 to 8 cells a side and a finer one, upsampled bicubically) around a random
    colour, plus pixel noise. It reads nothing but ``rng``."""
    texture = np.zeros((size, size, 3), np.float32)
    for cells, weight in ((int(rng.integers(2, 9)), 1.0), (int(rng.integers(8, 17)), 0.5)):
        grid = rng.normal(size=(cells, cells, 3)).astype(np.float32)
        texture += weight * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    colour = rng.uniform(40, 215, size=3).astype(np.float32)
    contrast = np.float32(rng.uniform(15, 45))
    noise = rng.normal(scale=rng.uniform(2, 10), size=(size, size, 3)).astype(np.float32)
    return np.clip(colour + contrast * texture + noise, 0, 255).round().astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class LocalisationSet:
    """One split: ``images`` (N, size, size, 3) uint8, the ``backgrounds`` they were pasted on,
    ``masks`` (N, size, size) bool (the pasted square), ``labels`` (N,), ``corners`` (N, 2) the
    (row, column) of each object's top-left pixel, and ``sources`` (N,) the index of each object
    in the objects given."""

    images: np.ndarray
    backgrounds: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    corners: np.ndarray
    sources: np.ndarray


def check_sizes(size: int, object_size: int) -> None:
    if object_size < 2 or size < object_size:
        raise UserError(f"the object ({object_size} pixels) must be at least 2 pixels and fit the "
                        f"image ({size} pixels)")


def make_split(objects: np.ndarray, object_labels: np.ndarray, per_class: int, split: str,
               seed: int = 0, size: int = 32, object_size: int = 16,
               classes: int | None = None) -> LocalisationSet:
    """``per_class`` images of each class for ``split``: image ``i`` is class ``i % classes``,
    its object the next unused one of that class in ``objects`` (uint8 (M, h, w, 3), in order),
    resized to ``object_size`` and pasted at a random place on :func:`background`."""
    check_sizes(size, object_size)
    object_labels = np.asarray(object_labels)
    classes = int(object_labels.max()) + 1 if classes is None else classes
    by_class = [np.flatnonzero(object_labels == label) for label in range(classes)]
    short = [label for label, found in enumerate(by_class) if len(found) < per_class]
    if short:
        raise UserError(f"{per_class} images per class asked for the {split} split, but class "
                        f"{short[0]} has {len(by_class[short[0]])} objects")
    n = per_class * classes
    images = np.empty((n, size, size, 3), np.uint8)
    backgrounds = np.empty_like(images)
    masks = np.zeros((n, size, size), bool)
    labels = np.arange(n) % classes
    corners = np.empty((n, 2), np.int64)
    sources = np.array([by_class[i % classes][i // classes] for i in range(n)], np.int64)
    for i in range(n):
        rng = image_rng(seed, split, i)
        backgrounds[i] = background(rng, size)
        row, column = rng.integers(0, size - object_size + 1, size=2)
        corners[i] = row, column
        thing = objects[sources[i]]
        if thing.shape[:2] != (object_size, object_size):
            thing = cv2.resize(thing, (object_size, object_size), interpolation=cv2.INTER_AREA)
        images[i] = backgrounds[i]
        images[i, row:row + object_size, column:column + object_size] = thing
        masks[i, row:row + object_size, column:column + object_size] = True
    return LocalisationSet(images, backgrounds, masks, labels, corners, sources)


def random_map_expectation(size: int, object_size: int) -> float:
    """What a random map scores, in expectation, on every localisation metric: the mask's share
    of the image (the pointing game's maximum falls on any pixel alike; a random map's mass and
    top-K pixels spread evenly)."""
    return object_size ** 2 / size ** 2
