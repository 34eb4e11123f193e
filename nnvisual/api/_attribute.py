"""``nnvisual.attribute``: attribution maps of images by several methods (the ``attribute``
command), and the image arguments that ``attribute`` and ``sanity_check`` share."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from nnvisual.api._common import Result, load_model, model_setting, settings, with_defaults
from nnvisual.config import AttributeConfig
from nnvisual.steps import attribute as step

GRID_IMAGES = 16  # the grid figure shows the first images


@contextlib.contextmanager
def image_files(images):
    """``(files, unreadable files, description)`` of ``images``: an image file or a folder (as
    ``--images``), a list of files, or uint8 RGB arrays ((N, H, W, 3), a list of (H, W, 3) or
    one). The
    steps stream files in batches, so arrays are written, losslessly, as PNG files of a
    temporary folder (``image-000.png``, ...) for the block's duration."""
    if isinstance(images, (str, Path)):
        readable, unreadable = step.list_images(str(images))
        yield readable, unreadable, str(images)
        return
    if isinstance(images, (list, tuple)) and all(isinstance(i, (str, Path)) for i in images):
        yield [Path(i) for i in images], [], f"{len(images)} files"
        return
    arrays = [np.asarray(image) for image in
              ([images] if isinstance(images, np.ndarray) and images.ndim == 3 else images)]
    for image in arrays:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise TypeError(f"images must be a path, a list of paths or uint8 RGB arrays "
                            f"(height, width, 3), got {image.dtype} {image.shape}")
    import cv2

    with tempfile.TemporaryDirectory(prefix="nnvisual-images-") as folder:
        files = [Path(folder) / f"image-{i:03d}.png" for i in range(len(arrays))]
        for file, image in zip(files, arrays, strict=True):
            cv2.imwrite(str(file), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        yield files, [], f"array of {len(arrays)} images"


def images_setting(images) -> str | None:
    """The config's ``images`` value: the path given, else None (arrays or a list of files)."""
    return str(images) if isinstance(images, (str, Path)) else None


@dataclasses.dataclass(frozen=True)
class Attributions(Result):
    """What :func:`attribute` computed, one entry per image that could be read.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.AttributeConfig`).
        inputs: the checked inputs (:class:`nnvisual.steps.attribute.AttributeInputs`).
        batches: the step's batches (:class:`nnvisual.steps.attribute.AttributionBatch`).
        skipped: ``(file, reason)`` of each file that could not be read.
    Properties: ``names``, ``images`` (uint8 (N, H, W, 3) at the model's size), ``classes``
    (the explained class of each), ``probabilities``, ``maps`` (method -> (N, H, W)), ``arrays``
    (``attributions.npz``) and ``tables``.
    """

    command: ClassVar[str] = "attribute"
    function: ClassVar[str] = "attribute"
    config: AttributeConfig
    inputs: step.AttributeInputs
    batches: tuple[step.AttributionBatch, ...]
    skipped: tuple[tuple[str, str], ...]

    @property
    def run_name(self) -> str:
        return self.inputs.loaded.name

    def _joined(self, part: str) -> np.ndarray:
        return np.concatenate([getattr(batch, part) for batch in self.batches if batch.names])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for batch in self.batches for name in batch.names)

    @property
    def images(self) -> np.ndarray:
        return self._joined("images")

    @property
    def classes(self) -> np.ndarray:
        return self._joined("classes")

    @property
    def probabilities(self) -> np.ndarray:
        return self._joined("probabilities")

    @property
    def maps(self) -> dict[str, np.ndarray]:
        return {method: np.concatenate([b.maps[method] for b in self.batches if b.names])
                for method in self.config.methods}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {"images": np.array(self.names), **self.maps}

    @property
    def tables(self) -> dict[str, tuple]:
        names = self.inputs.loaded.class_names
        return {"attributions": (step.TABLE_HEADER,
                                 [row for batch in self.batches for row in step.rows(batch, names)])}

    def plot(self, image: int | str | None = None):
        """The grid of the first 16 images and their maps, or one ``image`` (index or name)
        with its maps; a matplotlib Figure."""
        from nnvisual.plots import attribution as plots

        class_names = [self.inputs.loaded.class_names[c] for c in self.classes]
        if image is None:
            shown = slice(0, GRID_IMAGES)
            return plots.grid_figure(self.images[shown], self.names[shown], class_names[shown],
                                     self.probabilities[shown],
                                     {method: m[shown] for method, m in self.maps.items()})
        i = self.names.index(image) if isinstance(image, str) else image
        return plots.image_figure(self.images[i], self.names[i], class_names[i],
                                  self.probabilities[i], {m: v[i] for m, v in self.maps.items()})

    def write(self, run) -> None:
        from nnvisual.plots import attribution as plots

        for i, name in enumerate(self.names):
            run.write_figure(f"figures/{name}.png", self.plot(i))
        if self.names:
            run.write_csv("tables/attributions.csv", *self.tables["attributions"])
            run.write_npz("attributions.npz", **self.arrays)
            run.write_figure("figures/grid.png", self.plot())
            run.manifest.update(skipped=[name for name, _ in self.skipped],
                                cam_layer=self.inputs.settings.layer, display=plots.DISPLAY_NOTE)


@with_defaults(AttributeConfig, "model", "images")
def attribute(model, images, *, unsafe: bool = False, **settings_) -> Attributions:
    """Attribution maps: which pixels a class score depends on, by one or more methods.

    Methods (``methods``): ``saliency`` (Simonyan et al. 2014), ``gradient-x-input`` (Shrikumar
    et al. 2016), ``guided`` (Springenberg et al. 2015), ``deconvnet`` (Zeiler & Fergus 2014),
    ``integrated-gradients`` (Sundararajan et al. 2017), ``smoothgrad`` (Smilkov et al. 2017),
    ``gradcam`` (Selvaraju et al. 2017), ``gradcam++`` (Chattopadhay et al. 2018), ``scorecam``
    (Wang et al. 2020), ``guided-gradcam`` and ``occlusion`` (Zeiler & Fergus 2014).

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result;
            never modified.
        images: an image file or a folder of images (files that cannot be read are skipped),
            a list of files, or uint8 RGB arrays ((N, H, W, 3) or one (H, W, 3)); resized to
            the model's input size.
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        **settings: the ``attribute`` command's settings
            (:class:`nnvisual.config.AttributeConfig`): ``methods`` (a list, or names joined by
            commas), ``target_class`` (``"auto"``: each image's top class, or an index or name),
            ``layer`` (the CAMs' layer), ``baseline``, ``steps``, ``samples``, ``noise``,
            ``smoothgrad_base``, ``window``, ``stride``, ``batch_size``, ``weights``, ``seed``.

    Returns:
        :class:`Attributions`: ``.maps[method]`` (N, H, W), ``.classes``, ``.probabilities``,
        ``.tables``, ``.plot(image=None)`` (a matplotlib Figure), ``.save(path)`` (the run
        folder ``nnvisual attribute`` writes).

    Raises:
        TypeError: an unknown keyword or images of another kind. UserError: a bad value,
        class, layer, model or image.

    Example:
        >>> import nnvisual as nv
        >>> from sklearn.datasets import load_sample_image
        >>> maps = nv.attribute("efficientnet-lite0", load_sample_image("china.jpg"),
        ...                     methods=["saliency", "gradcam"])
        >>> maps.maps["gradcam"].shape
        (1, 224, 224)
        >>> figure = maps.plot(0)
    """
    import keras

    config = settings(AttributeConfig, "attribute", settings_, model=model_setting(model),
                      images=images_setting(images))
    loaded = load_model(model, config.weights, unsafe)
    with image_files(images) as (files, unreadable, _):
        keras.utils.set_random_seed(config.seed)
        inputs = step.prepare(loaded, config, files)
        batches = tuple(step.attribute_batches(inputs, config))
    skipped = [(p.name, "not an image OpenCV can read") for p in unreadable]
    skipped += [item for batch in batches for item in batch.skipped]
    return Attributions(config, inputs, batches, tuple(skipped))
