"""Images a user asks to explain, each with its name: the files of a folder (or one file), read
a batch at a time, or RGB arrays already in memory, used as they are.

A folder's files that OpenCV has no reader for (by their first bytes) are set aside when it is
listed, and a file that has a reader but fails to decode is skipped when it is read, each with
its reason: one bad file should not stop a folder of thousands.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from nnvisual.data.datasets import read_image
from nnvisual.errors import UserError

UNREADABLE = "not an image OpenCV can read"  # why a listed file is set aside


@dataclasses.dataclass(frozen=True)
class NamedImages:
    """Named images: each source a file (read when asked) or a uint8 (H, W, 3) RGB array."""

    names: tuple[str, ...]
    sources: tuple[Path | np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, rows: slice) -> NamedImages:
        return NamedImages(self.names[rows], self.sources[rows])

    def read(self) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
        """``(names, images, skipped)``: the images that decode with their names, and ``(name,
        reason)`` of those that do not."""
        names, images, skipped = [], [], []
        for name, source in zip(self.names, self.sources, strict=True):
            if isinstance(source, np.ndarray):
                names.append(name)
                images.append(source)
                continue
            try:
                images.append(read_image(source))
                names.append(name)
            except UserError as exc:
                skipped.append((name, str(exc)))
        return names, images, skipped


def from_files(paths) -> NamedImages:
    """Image files, named by their file names."""
    paths = tuple(Path(path) for path in paths)
    return NamedImages(tuple(path.name for path in paths), paths)


def from_arrays(arrays) -> NamedImages:
    """uint8 RGB arrays ((N, H, W, 3), a list of (H, W, 3), or one), named ``image-000.png``,
    ... (the names their PNG files would have); TypeError for anything else."""
    if isinstance(arrays, np.ndarray) and arrays.ndim == 3:
        arrays = [arrays]
    arrays = [np.asarray(array) for array in arrays]
    for array in arrays:
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[-1] != 3:
            raise TypeError(f"images must be a path, a list of paths or uint8 RGB arrays "
                            f"(height, width, 3), got {array.dtype} {array.shape}")
    return NamedImages(tuple(f"image-{i:03d}.png" for i in range(len(arrays))), tuple(arrays))


def listed(spec) -> tuple[NamedImages, tuple[tuple[str, str], ...]]:
    """``(images, (name, reason) of the files set aside)`` of an image file or a folder (not
    recursive). A single file that does not decode is an error, not a skip; UserError when there
    is nothing to read."""
    path = Path(spec)
    if not path.exists():
        raise UserError(f"images not found: {spec}")
    if path.is_file():
        read_image(path)
        return from_files([path]), ()
    candidates = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not candidates:
        raise UserError(f"no images in {spec}: the folder is empty")
    readable = [p for p in candidates if cv2.haveImageReader(str(p))]
    unreadable = [p for p in candidates if p not in set(readable)]
    if not readable:
        raise UserError(f"no readable images in {spec} ({len(unreadable)} files, none an image "
                        "OpenCV can read)")
    return from_files(readable), tuple((p.name, UNREADABLE) for p in unreadable)


def named_images(images) -> tuple[NamedImages, tuple[tuple[str, str], ...]]:
    """``(images, files set aside)`` of what a user gives: an image file or a folder (as
    ``--images``), a list of files, or uint8 RGB arrays."""
    if isinstance(images, (str, Path)):
        return listed(images)
    if isinstance(images, (list, tuple)) and images and all(isinstance(i, (str, Path)) for i in images):
        return from_files(images), ()
    return from_arrays(images), ()
