"""Test images: textured images with plenty of SIFT keypoints, and tiny image-folder datasets."""

from pathlib import Path

import cv2
import numpy as np


def _shapes(size: int, seed: int, shapes: int, channels: int, radii: tuple[int, int], blur: float):
    """A mid-grey image of ``shapes`` random filled circles and rectangles (radii in ``radii``,
    random values per channel), blurred by a Gaussian of ``blur`` pixels."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, channels) if channels > 1 else (size, size), 128, np.uint8)
    for _ in range(shapes):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r, value = int(rng.integers(*radii)), [int(v) for v in rng.integers(0, 256, channels)]
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, value, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + 2 * r), value, -1)
    return cv2.GaussianBlur(image, (0, 0), blur)


def textured(size=160, seed=0, shapes=60):
    """A grey image of random filled circles and rectangles: plenty of SIFT keypoints."""
    return _shapes(size, seed, shapes, 1, (3, size // 10), 1.0)


def textured_colour(seed, size=64):
    """Random filled circles and rectangles in colour: enough SIFT keypoints at 64 px."""
    return _shapes(size, seed, 25, 3, (2, size // 8), 0.8)


def write_textured_folder(path: Path, seeds) -> Path:
    """A folder ``path`` of :func:`textured_colour` images, ``img<seed>.png`` for each seed."""
    path.mkdir(parents=True)
    for seed in seeds:
        cv2.imwrite(str(path / f"img{seed:03d}.png"), textured_colour(seed))
    return path


def write_image_folder(root: Path, classes=("cat", "dog", "frog"), per_class=(12, 4), size=32, seed=0):
    """A tiny image-folder dataset: class k images have a bright square in corner k, plus noise."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "test"), per_class, strict=True):
        for k, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
                y, x = divmod(k % 4, 2)
                image[y * size // 2:(y + 1) * size // 2, x * size // 2:(x + 1) * size // 2, k % 3] = 230
                cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return root
