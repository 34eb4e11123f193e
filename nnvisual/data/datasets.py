"""Datasets and images: CIFAR-10 (Keras download, the official archive file or an offline
image-folder copy), image files.

Where data comes from, in order: ``--data`` (``cifar10``, an archive or a folder), ``$NNVISUAL_DATA``,
then ``cifar10`` (``keras.datasets.cifar10.load_data()``, which downloads once and caches).
A ``.tar.gz`` file is the official archive ``cifar-10-python.tar.gz`` (:mod:`nnvisual.data.cifar_archive`).
An image folder is ``DIR/train/<class>/*.{png,jpg}`` and ``DIR/test/<class>/*``; classes are
the sorted folder names. Decoded folders are cached as ``.npz`` under ``$NNVISUAL_CACHE``
(default ``~/.cache/nnvisual``), keyed by the folder's file names, sizes and times; the decoded
archive by its sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from nnvisual.data import cifar_archive
from nnvisual.errors import UserError, named
from nnvisual.runtime.cache import cache_path, cached_arrays

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")  # a --data file named so is read as the official archive
FOLDER_IMAGE_SIZE = (32, 32)  # (height, width) folder images are resized to: CIFAR-10's


def no_data_help() -> str:
    """Where CIFAR-10 can come from when it could not be read or downloaded."""
    return (f"download the official archive {cifar_archive.URL} and give the file itself "
            f"({named('data', 'cifar-10-python.tar.gz')}, or NNVISUAL_DATA=that file), or give an "
            f"image folder ({named('data', 'DIR')}, with DIR/{{train,test}}/<class>/*.jpg|png), or "
            f"connect to the internet for {named('data', 'cifar10')}")


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Images as uint8 (N, H, W, 3) RGB arrays with integer labels (streamed folders hold
    :class:`nnvisual.data.streaming.ImageFiles` in place of the image arrays)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str


def resolve_source(data: str | None) -> str:
    """The data source: the ``--data`` value, else ``$NNVISUAL_DATA``, else ``cifar10``."""
    return data or os.environ.get("NNVISUAL_DATA") or "cifar10"


# -- single images ----------------------------------------------------------------------------
def read_image(path: str | Path) -> np.ndarray:
    """Read any common image file as RGB uint8 (grey, RGBA and 16-bit images are converted)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"image not found: {path}")
    if path.is_dir():
        raise UserError(f"expected an image file, got a folder: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None or image.size == 0:
        raise UserError(f"cannot read {path} as an image (empty, truncated or not an image)")
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an image to (height, width): area interpolation when shrinking, cubic when growing."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] >= height and image.shape[1] >= width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_images(paths: list[Path], size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode many images in parallel (OpenCV releases the GIL) into one uint8 array."""
    if not paths:
        return np.zeros((0, *(size or (0, 0)), 3), np.uint8)

    def load(path):
        image = read_image(path)
        return resize(image, size) if size else image

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        images = list(pool.map(load, paths, chunksize=256))
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UserError(f"images in {paths[0].parent.parent} differ in size ({len(shapes)} sizes); "
                        "give an image size to resize them")
    return np.stack(images)


# -- image-folder datasets ---------------------------------------------------------------------
def _class_folders(split_dir: Path) -> list[Path]:
    return sorted(p for p in split_dir.iterdir() if p.is_dir())


def _folder_key(root: Path, size) -> str:
    digest = hashlib.sha256(f"v1 {size}".encode())
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            stat = path.stat()
            digest.update(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


@dataclasses.dataclass(frozen=True)
class FolderListing:
    """An image folder's files, not decoded, in the order :func:`load_image_folder` stacks them:
    classes sorted by name, files sorted by name within a class. ``paths`` and ``labels`` map
    ``train`` and ``test`` to a list of files and their integer labels."""

    root: Path
    class_names: tuple[str, ...]
    paths: dict[str, list[Path]]
    labels: dict[str, np.ndarray]


def list_image_folder(root: str | Path) -> FolderListing:
    """List ``root/train/<class>/*`` and ``root/test/<class>/*`` (checked, nothing decoded)."""
    root = Path(root).expanduser()
    if root.is_file():
        raise UserError(f"data must be a folder (DIR/train/<class>/, DIR/test/<class>/) or the archive "
                        f"cifar-10-python.tar.gz, got the file {root}")
    if not root.is_dir():
        raise UserError(f"data folder not found: {root}; {no_data_help()}")
    train_dir, test_dir = root / "train", root / "test"
    if not train_dir.is_dir() or not test_dir.is_dir():
        raise UserError(f"data folder {root} must contain train/<class>/ and test/<class>/ folders")
    classes = tuple(p.name for p in _class_folders(train_dir))
    if not classes:
        raise UserError(f"no class folders in {train_dir}")
    test_classes = tuple(p.name for p in _class_folders(test_dir))
    if test_classes != classes:
        raise UserError(f"class folders of {test_dir} differ from those of {train_dir}")
    paths, labels = {}, {}
    for split, split_dir in (("train", train_dir), ("test", test_dir)):
        per_class = [list_images(split_dir / name) for name in classes]
        if not any(per_class):
            raise UserError(f"no images found under {split_dir}/<class>/")
        paths[split] = [path for files in per_class for path in files]
        labels[split] = np.concatenate([np.full(len(files), label, np.int64)
                                        for label, files in enumerate(per_class)])
    return FolderListing(root, classes, paths, labels)


def load_image_folder(root: str | Path, image_size: tuple[int, int] = FOLDER_IMAGE_SIZE) -> Dataset:
    """Load ``root/train/<class>/*`` and ``root/test/<class>/*``, decoding once and caching."""
    listing = list_image_folder(root)
    root = listing.root
    cache = cache_path("datasets", f"{root.name}-{_folder_key(root, image_size)}.npz")

    def decode() -> dict[str, np.ndarray]:
        arrays = {}
        for split in ("train", "test"):
            arrays[f"x_{split}"] = read_images(listing.paths[split], image_size)
            arrays[f"y_{split}"] = listing.labels[split]
        return arrays

    arrays = cached_arrays(cache, ("x_train", "y_train", "x_test", "y_test"), decode)
    return Dataset(**arrays, class_names=listing.class_names, source=f"image folder {root} (cache: {cache})")


def load_cifar10_keras() -> Dataset:
    """CIFAR-10 through ``keras.datasets.cifar10.load_data()`` (downloads once, then cached)."""
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as exc:  # any network or archive failure
        raise UserError(f"CIFAR-10 could not be downloaded ({type(exc).__name__}); "
                        f"{no_data_help()}") from None
    return Dataset(x_train, y_train.ravel().astype(np.int64), x_test, y_test.ravel().astype(np.int64),
                   CIFAR10_CLASSES, "keras.datasets.cifar10")


def load_cifar10_archive(path: str | Path) -> Dataset:
    """The official archive file (:mod:`nnvisual.data.cifar_archive`), checked against its published
    sha256, decoded once and cached: the arrays and order of :func:`load_cifar10_keras`."""
    path = Path(path).expanduser()
    cifar_archive.verify(path, cifar_archive.SHA256)
    cache = cache_path("datasets", f"cifar-10-python-{cifar_archive.SHA256[:24]}.npz")
    arrays = cached_arrays(cache, ("x_train", "y_train", "x_test", "y_test", "class_names"),
                           lambda: cifar_archive.read(path))
    class_names = tuple(str(name) for name in arrays.pop("class_names"))
    return Dataset(**arrays, class_names=class_names, source=f"CIFAR-10 archive {path} (cache: {cache})")


def load_dataset(data: str | None = None) -> Dataset:
    """Load the dataset named by ``data`` (see :func:`resolve_source`)."""
    source = resolve_source(data)
    if source == "cifar10":
        return load_cifar10_keras()
    if source.endswith(ARCHIVE_SUFFIXES) and Path(source).expanduser().is_file():
        return load_cifar10_archive(source)
    return load_image_folder(source)


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` items drawn with the class proportions of ``labels`` (sorted)."""
    if n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    remainder = n - quota.sum()
    quota[np.argsort(-(counts / counts.sum() * n - quota), kind="stable")[:remainder]] += 1
    picks = [rng.choice(np.flatnonzero(labels == label), count, replace=False)
             for label, count in zip(classes, quota, strict=True)]
    return np.sort(np.concatenate(picks))


def subset_dataset(dataset: Dataset, n: int, seed: int) -> Dataset:
    """A stratified subset: ``n`` training images and ``max(n // 5, classes)`` test images."""
    train = stratified_subset(dataset.y_train, n, seed)
    test = stratified_subset(dataset.y_test, max(n // 5, len(dataset.class_names)), seed)
    return dataclasses.replace(dataset, x_train=dataset.x_train[train], y_train=dataset.y_train[train],
                               x_test=dataset.x_test[test], y_test=dataset.y_test[test])


# -- image sources for maximize / score-bow -----------------------------------------------------
def load_image_source(spec: str, data: str | None = None,
                      size: tuple[int, int] | None = None) -> tuple[np.ndarray, list[str]]:
    """Images named by ``spec``: a folder of images, or ``cifar10:<class>`` (test split) /
    ``cifar10-train:<class>`` from the dataset that ``data`` resolves to.

    Returns (uint8 images, a name per image). Folder images of different sizes need ``size``.
    """
    prefix, _, class_name = spec.partition(":")
    if class_name and prefix in ("cifar10", "cifar10-test", "cifar10-train"):
        dataset = load_dataset(data)
        if class_name not in dataset.class_names:
            raise UserError(f"unknown class '{class_name}' in {spec}; "
                            f"classes: {', '.join(dataset.class_names)}")
        label = dataset.class_names.index(class_name)
        split = "train" if prefix == "cifar10-train" else "test"
        x, y = (dataset.x_train, dataset.y_train) if split == "train" else (dataset.x_test, dataset.y_test)
        indices = np.flatnonzero(y == label)
        images = x[indices]
        if size is not None:
            images = np.stack([resize(image, size) for image in images])
        return images, [f"{split}/{class_name}/{i:05d}" for i in indices]
    folder = Path(spec).expanduser()
    if not folder.exists():
        raise UserError(f"image source not found: {spec} (give a folder of images, or cifar10:<class>)")
    if not folder.is_dir():
        raise UserError(f"image source must be a folder or cifar10:<class>, got the file {spec}")
    paths = list_images(folder)
    if not paths:
        raise UserError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return read_images(paths, size), [p.name for p in paths]
