"""``nnvisual.microscope``: every channel of a network's layers on pages of its own (the ``atlas``
command; docs/atlas.md)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from nnvisual.api._common import (
    Progress,
    Result,
    load_configured,
    model_setting,
    no_progress,
    settings,
    with_settings,
)
from nnvisual.config import AtlasConfig
from nnvisual.steps import atlas as step

ARRAYS = "atlas.npz"


@dataclasses.dataclass(frozen=True)
class AtlasPages(Result):
    """What :func:`atlas` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.AtlasConfig`).
        computed: the step's result (:class:`nnvisual.steps.atlas.Atlas`).
        model_name: the model's name (the pages' title).
    Properties: ``layers`` (layer -> its :class:`~nnvisual.steps.atlas.LayerAtlas`: ``channels``,
    ``visualizations``, ``responses``, ``top_*``, ``bottom_*``, ``projections``, ``mean``,
    ``active``, ``excited``), ``classes`` (the classes' ``indices``, ``visualizations``, ``logits``,
    ``probabilities``), ``excitation`` (layer -> the fraction of its channels whose
    visualization beats their strongest dataset example), ``arrays`` (``atlas.npz``),
    ``tables`` (name -> (header, rows)), ``pages`` (relative path -> HTML).
    """

    command: ClassVar[str] = "atlas"
    function: ClassVar[str] = "atlas"
    config: AtlasConfig
    computed: step.Atlas
    model_name: str

    @property
    def run_name(self) -> str:
        return self.model_name

    @property
    def layers(self) -> dict:
        return {la.layer: la for la in self.computed.layers}

    @property
    def classes(self) -> dict[str, np.ndarray]:
        return self.computed.class_arrays

    @property
    def excitation(self) -> dict[str, float]:
        return {row[0]: row[3] for row in step.excitation_table(self.computed)[1]}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return step.atlas_arrays(self.computed)

    @property
    def tables(self) -> dict[str, tuple]:
        tables = {"channels": step.channels_table(self.computed),
                  "examples": step.examples_table(self.computed),
                  "excitation": step.excitation_table(self.computed)}
        if any("classes" in la.arrays for la in self.computed.layers):
            tables["classes"] = step.classes_table(self.computed)
        return tables

    @property
    def pages(self) -> dict[str, str]:
        from nnvisual.microscope import pages

        return pages.pages(self.computed, self.tables["excitation"][1], f"Atlas of {self.model_name}")

    def plot(self):
        """The fraction of each layer's channels whose visualization beats their strongest
        dataset example; a matplotlib Figure."""
        from nnvisual.plots import atlas as plots

        return plots.excitation_figure(self.tables["excitation"][1], self.model_name)

    def write(self, run) -> None:
        from nnvisual.microscope import pages

        atlas = self.computed
        run.manifest.update(layers=[la.layer for la in atlas.layers],
                            shapes={la.layer: list(la.shape) for la in atlas.layers},
                            class_names=list(atlas.class_names), model_name=self.model_name)
        run.write_npz(ARRAYS, **self.arrays)
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_figure("figures/excitation.png", self.plot())
        for relative, image in pages.images(atlas).items():
            run.write_image(relative, image)
        for relative, html in self.pages.items():
            run.write_text(relative, html)


def prepare(config: AtlasConfig, model=None, data: str | None = None,
            unsafe: bool = False) -> step.AtlasInputs:
    """The checked inputs of ``config``: its model (or ``model``) and the dataset ``data``.
    Every UserError happens here."""
    import logging

    from nnvisual import data as datasets
    from nnvisual.data import streaming
    from nnvisual.runtime import seeding

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # one compiled function per block
    seeding.set_random_seed(config.seed)
    loaded = load_configured(config, model, unsafe)
    dataset = streaming.open_dataset(datasets.resolve_source(data), config.cache,
                                     config.memory_budget_mb)[0]
    return step.prepare(loaded, config, dataset)


def compute(inputs: step.AtlasInputs, config: AtlasConfig, progress: Progress = no_progress,
            start: step.AtlasState | None = None, after=lambda state: None) -> AtlasPages:
    """The atlas of prepared ``inputs``, continued from ``start``; ``after(state)`` is told after
    each scan batch and each rendered block (the command's checkpoints)."""
    return AtlasPages(config, step.compute(inputs, config, progress, start, after), inputs.loaded.name)


@with_settings(AtlasConfig, "model")
def atlas(model, *, data: str | None = None, unsafe: bool = False,
          progress: Progress | None = None, **settings_) -> AtlasPages:
    """An atlas of a network's channels (OpenAI Microscope's pages, for any Keras model): for
    each channel of the layers chosen, feature visualizations (lucid's recipe, a block of channels
    optimized as one batch), its strongest and weakest examples in ``data`` (the receptive field's
    crops, the scan of ``deconv --top9``), the DeconvNet projections of the strongest, its
    activation statistics and, where it feeds the class scores directly, the classes it feeds most;
    and the classes' own feature visualizations (``--classes``: every class of a classifier with at
    most 100, else those the channels shown feed most), a block of classes per batch.

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result;
            never modified.
        data: the dataset scanned for examples (``"cifar10"`` or an image folder; default
            ``$NNVISUAL_DATA``, else cifar10).
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        progress: called as ``progress(done, total, label)`` per scan batch and per block.
        **settings: the ``atlas`` command's settings, listed below with their defaults.

    Returns:
        :class:`AtlasPages`: ``.layers[name]``, ``.excitation``, ``.tables``, ``.pages``,
        ``.plot()``, ``.save(path)`` (the run folder ``nnvisual atlas`` writes: open its
        ``index.html``).

    Raises:
        TypeError: an unknown keyword. UserError: a bad value, layer, dataset or model.

    Example (``model``: a small CNN whose ``conv2`` feeds its scores through global pooling;
    ``folder``: an image folder):
        >>> import nnvisual as nv
        >>> pages = nv.atlas(model, data=folder, layers=["conv2"], channels=4, steps=8,
        ...                  scan_images=12)
        >>> pages.layers["conv2"].visualizations.shape[:2]
        (4, 2)
        >>> pages.tables["classes"][0][:4]
        ('layer', 'channel', 'rank', 'class')
        >>> sorted(pages.excitation)
        ['conv2']
        >>> path = pages.save("atlas-small")  # open atlas-small/index.html
    """
    config = settings(AtlasConfig, "atlas", settings_, model=model_setting(model))
    return compute(prepare(config, model, data, unsafe), config, progress or no_progress)
