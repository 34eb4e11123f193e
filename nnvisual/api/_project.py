"""``nnvisual.project``: DeconvNet projections of an image's strongest feature maps (the
``deconv`` command)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from nnvisual.api._common import (
    Progress,
    Result,
    load_configured,
    log,
    model_setting,
    no_progress,
    rgb_image,
    settings,
    with_settings,
)
from nnvisual.config import DeconvConfig
from nnvisual.steps import deconv as step

SAMPLE_IMAGE = "china.jpg"  # scikit-learn's sample photo, the default image


@dataclasses.dataclass(frozen=True)
class Projections(Result):
    """What :func:`project` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.DeconvConfig`).
        computed: the step's result (:class:`nnvisual.steps.deconv.DeconvResult`).
    Properties: ``image`` (uint8, at the model's size), ``layers`` (layer -> its
    :class:`~nnvisual.deconv.LayerProjections`: ``channels``, ``activations``, ``positions``,
    ``boxes``, ``projections`` (k, H, W, 3) in the model's input space), ``top9`` (layer -> its
    :class:`~nnvisual.deconv.TopImages`), ``arrays`` (``projections.npz``) and ``tables``
    (name -> (header, rows), the CSV files).
    """

    command: ClassVar[str] = "deconv"
    function: ClassVar[str] = "project"
    config: DeconvConfig
    computed: step.DeconvResult

    @property
    def run_name(self) -> str:
        return self.computed.inputs.loaded.name

    @property
    def image(self) -> np.ndarray:
        return self.computed.inputs.image

    @property
    def layers(self) -> dict:
        return {r.layer: r for r in self.computed.layers}

    @property
    def top9(self) -> dict:
        return {top.layer: top for top in self.computed.top9}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return step.projection_arrays(self.computed)

    @property
    def tables(self) -> dict[str, tuple]:
        tables = {"channels": step.channels_table(self.computed)}
        if self.config.top9:
            tables["top9"] = step.top9_table(self.computed)
        return tables

    def plot(self, layer: str | None = None):
        """The overview (Figures 3-4: each layer's strongest channel), or one ``layer``'s
        top-k projections; a matplotlib Figure."""
        from nnvisual.plots import deconv as plots

        config, inputs = self.config, self.computed.inputs
        if layer is None:
            return plots.overview_figure(self.image, self.computed.layers, config.method,
                                         config.mode, inputs.loaded.name)
        return plots.layer_figure(self.image, self.layers[layer], config.method, config.mode)

    def write(self, run) -> None:
        from nnvisual import runs
        from nnvisual.plots import deconv as plots

        config, inputs = self.config, self.computed.inputs
        run.manifest.update(image=inputs.image_source, layers=list(inputs.layers),
                            display=step.DISPLAY)
        for layer in self.computed.layers:
            run.write_figure(f"figures/{runs.file_name(layer.layer)}.png", self.plot(layer.layer))
        run.write_figure("figures/overview.png", self.plot())
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_npz("projections.npz", **self.arrays)
        for top in self.computed.top9:
            run.write_figure(f"figures/top9_{runs.file_name(top.layer)}.png", plots.top9_figure(
                top, self.computed.top9_shown[top.layer], config.method, config.mode))


def prepare(config: DeconvConfig, model=None, image=None, data: str | None = None,
            unsafe: bool = False) -> step.DeconvInputs:
    """The checked inputs of ``config``: its model (or ``model``), its image (or ``image``, a
    path or an array; default scikit-learn's china.jpg) and, for ``config.top9``, the dataset
    ``data``. Every UserError happens here."""
    import logging

    from nnvisual import data as datasets
    from nnvisual.data import streaming
    from nnvisual.runtime import seeding

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # one compiled function per layer
    seeding.set_random_seed(config.seed)
    loaded = load_configured(config, model, unsafe)
    image = config.image if image is None else image
    if image is None:
        from sklearn.datasets import load_sample_image

        picture, source = (load_sample_image(SAMPLE_IMAGE),
                           f"sklearn.datasets.load_sample_image('{SAMPLE_IMAGE}')")
    else:
        picture, source = rgb_image(image)
    dataset = (streaming.open_dataset(datasets.resolve_source(data), config.cache,
                                      config.memory_budget_mb)[0] if config.top9 else None)
    return step.prepare(loaded, config, picture, source, dataset)


def compute(inputs: step.DeconvInputs, config: DeconvConfig, progress: Progress = no_progress,
            start: step.ScanState | None = None, after_batch=lambda state: None) -> Projections:
    """The projections of prepared ``inputs``; ``progress(done, total, label)`` per layer. The
    top-9 scan continues from ``start`` and tells ``after_batch`` where it stands after each batch
    (the command's checkpoints)."""
    return Projections(config, step.project(inputs, config, progress, start=start,
                                            after_batch=after_batch))


@with_settings(DeconvConfig, "model", "image")
def project(model, image=None, *, data: str | None = None, unsafe: bool = False,
            progress: Progress | None = None, **settings_) -> Projections | list[Projections]:
    """Project an image's strongest feature maps back to pixels (DeconvNet; Zeiler & Fergus
    2014; the study's Figures 3-4).

    For each layer, the ``top_k`` channels with the strongest activation on the image are
    projected down to the input in one batched backward pass whose ReLUs follow ``method``'s
    rule: ``"deconvnet"`` (Zeiler & Fergus 2014), ``"guided"`` (guided backpropagation;
    Springenberg et al. 2015) or ``"gradient"`` (saliency; Simonyan et al. 2014). ``mode``
    ``"max"`` projects only the channel's strongest activation (the paper), ``"map"`` its whole
    map.

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result;
            never modified.
        image: a path or a uint8 (H, W, 3) RGB array (default scikit-learn's china.jpg), or
            several: a list of them, an (N, H, W, 3) array or a folder (its files OpenCV has no
            reader for skipped with a warning each); resized to the model's input size.
        data: with ``top9=True``, the dataset scanned for each channel's 9 strongest images
            (``"cifar10"`` or an image folder; default ``$NNVISUAL_DATA``, else cifar10).
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        progress: called as ``progress(done, total, label)`` as the layers are projected.
        **settings: the ``deconv`` command's settings, listed below with their defaults.

    Returns:
        :class:`Projections`: ``.layers[name].projections`` (top_k, H, W, 3), ``.tables``,
        ``.arrays``, ``.plot(layer=None)`` (a matplotlib Figure), ``.save(path)`` (the run
        folder ``nnvisual deconv`` writes). For several images, a list of them, one per image
        in order: the model is loaded once, every image is checked before any is projected,
        and each result is the one its image alone gives.

    Raises:
        TypeError: an unknown keyword. UserError: a bad value, layer, image or model.

    Example (``model``: e.g. ``nv.load_model("efficientnet-lite0")``; here a small CNN):
        >>> import nnvisual as nv
        >>> from sklearn.datasets import load_sample_image
        >>> result = nv.project(model, load_sample_image("china.jpg"), layers=["conv1", "conv2"],
        ...                     top_k=4)
        >>> result.layers["conv2"].projections.shape
        (4, 32, 32, 3)
        >>> result.tables["channels"][0][:3]
        ('layer', 'rank', 'channel')
        >>> figure = result.plot()
        >>> several = nv.project(model, [load_sample_image("china.jpg"),
        ...                              load_sample_image("flower.jpg")], layers=["conv2"])
        >>> len(several), several[1].layers["conv2"].projections.shape
        (2, (8, 32, 32, 3))
    """
    several = _several_images(image)
    name = model_setting(model)
    inputs = []
    for one in [image] if several is None else several:
        image_setting = None if one is None or isinstance(one, np.ndarray) else str(one)
        config = settings(DeconvConfig, "project", settings_, model=name, image=image_setting)
        model = load_configured(config, model, unsafe)  # once, for the first image
        inputs.append((prepare(config, model, one, data, unsafe), config))
    results = [compute(prepared, config, progress or no_progress) for prepared, config in inputs]
    return results[0] if several is None else results


def _several_images(image) -> list | None:
    """The images of a list, an (N, H, W, 3) array or a folder; None for one image (or none)."""
    from pathlib import Path

    from nnvisual.data.named_images import listed

    if isinstance(image, (list, tuple)) or (isinstance(image, np.ndarray) and image.ndim == 4):
        return list(image)
    if isinstance(image, (str, Path)) and Path(image).is_dir():
        images, skipped = listed(image)
        for file, reason in skipped:
            log.warning("skipped %s: %s", file, reason)
        return list(images.sources)
    return None
