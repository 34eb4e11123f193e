"""Image folders read as a stream instead of being decoded whole into memory.

``--cache memory`` decodes a folder whole, once, into arrays (and the ``.npz`` cache of
:mod:`nnvisual.data`); ``--cache none`` streams it; ``--cache auto`` (the default) streams only a
folder whose decoded images would take more than ``memory_budget_mb``. A streamed dataset holds
:class:`ImageFiles` where an in-memory one holds image arrays: the input pipeline
(:func:`nnvisual.training.input_pipeline`: ``tf.data``, or :mod:`nnvisual.training.numpy_pipeline` without
TensorFlow) shuffles the file names, decodes and resizes them in parallel and batches them as
training needs them, so memory grows with the number of files (their names), not with their pixels.

A streamed dataset is the in-memory one, file for file: the same classes (sorted folder names),
the same order and labels (:func:`nnvisual.data.list_image_folder`), hence the same ``--subset``
and validation indices, and pixels decoded by the same OpenCV code (:func:`nnvisual.data.read_image`,
:func:`nnvisual.data.resize`). The Keras CIFAR-10 download is arrays already and stays in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nnvisual import data
from nnvisual.errors import UserError


@dataclasses.dataclass(frozen=True, eq=False)
class ImageFiles:
    """Images not decoded yet: their files, read as RGB uint8 resized to ``size`` (height,
    width) when a pipeline reaches them. Indexed by an index array like an array of images."""

    paths: np.ndarray  # of str
    size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index) -> ImageFiles:
        return ImageFiles(self.paths[index], self.size)


def decoded_megabytes(listing: data.FolderListing, size: tuple[int, int] = data.FOLDER_IMAGE_SIZE) -> float:
    """What the folder's images take in memory once decoded to uint8 RGB of ``size``."""
    count = sum(len(paths) for paths in listing.paths.values())
    return count * size[0] * size[1] * 3 / 2**20


def open_dataset(source: str, cache: str, memory_budget_mb: float) -> tuple[data.Dataset, bool]:
    """The dataset named by ``source`` (:func:`nnvisual.data.resolve_source`) and whether it is
    streamed: an image folder is streamed with ``cache`` ``none``, or ``auto`` above the budget."""
    if cache == "memory" or not Path(source).expanduser().is_dir():
        return data.load_dataset(source), False
    listing = data.list_image_folder(source)
    if cache == "auto" and decoded_megabytes(listing) <= memory_budget_mb:
        return data.load_image_folder(source), False
    split = {name: ImageFiles(np.array([str(path) for path in listing.paths[name]]), data.FOLDER_IMAGE_SIZE)
             for name in ("train", "test")}
    return data.Dataset(split["train"], listing.labels["train"], split["test"], listing.labels["test"],
                        listing.class_names, f"image folder {listing.root} (streamed)"), True


def decode(files: ImageFiles) -> np.ndarray:
    """The images ``files`` names, decoded and resized by OpenCV as the in-memory path does
    (uint8, (N, H, W, 3)); an unreadable file is one line ending in "(while streaming)"."""
    images = np.empty((len(files), *files.size, 3), np.uint8)
    for path, image in zip(files.paths, images, strict=True):
        try:
            image[:] = data.resize(data.read_image(path), files.size)
        except UserError as exc:
            raise UserError(f"{exc} (while streaming)") from None
    return images


def pixels(images: np.ndarray | ImageFiles, indices) -> np.ndarray:
    """The uint8 images at ``indices`` of ``images``, decoded (:func:`decode`) if streamed."""
    chosen = images[np.asarray(indices)]
    return decode(chosen) if isinstance(chosen, ImageFiles) else chosen


def batch_decoder(size: tuple[int, int]):
    """A ``tf.data`` map function ``(paths, labels) -> (images, labels)`` for a batch of file
    names: :func:`decode` in one call per batch (per file, ``tf.numpy_function``'s overhead cost
    more CPU than the decoding of a 32x32 JPEG; docs/performance.md, "Streamed image folders")."""
    import tensorflow as tf

    def read(paths: np.ndarray) -> np.ndarray:
        return decode(ImageFiles(np.char.decode(paths.astype(bytes)), size))

    def load(paths, labels):
        images = tf.numpy_function(read, [paths], tf.uint8, stateful=False)
        images.set_shape((None, *size, 3))
        return images, labels

    return load


def channel_means(files: ImageFiles, batch_size: int = 256) -> np.ndarray:
    """Per-channel mean of the images ``files`` names, in one streamed pass, batches decoded in
    parallel (exact integer sums; equal to :func:`nnvisual.training.channel_means` of the decoded
    array up to rounding)."""
    batches = (files[start:start + batch_size] for start in range(0, len(files), batch_size))
    sums = np.zeros(3, np.int64)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for images in pool.map(decode, batches):
            sums += images.reshape(-1, 3).sum(axis=0, dtype=np.int64)
    return sums / (len(files) * files.size[0] * files.size[1])


@contextlib.contextmanager
def read_errors():
    """A file that cannot be read mid-stream ends in one line, as it does when decoding up front
    (the ``tf.data`` error wraps :func:`decode`'s line, which passes unchanged where no ``tf.data``
    pipeline ran)."""
    tf_data_error = sys.modules["tensorflow"].errors.OpError if "tensorflow" in sys.modules else ()
    try:
        yield
    except tf_data_error as exc:
        line = next((line for line in str(exc).splitlines()
                     if "UserError:" in line), None)
        if line is None:
            raise
        raise UserError(line.partition("UserError:")[2].strip()) from None
