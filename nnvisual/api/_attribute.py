"""``nnvisual.attribute``: attribution maps of images by several methods (the ``attribute``
command), and the image arguments that ``attribute`` and ``sanity_check`` share.

The maps are computed a batch at a time (:func:`attribution_batches`) and written by one
writer, :func:`write_run`, that takes the batches as they come: the command streams the
step's batches through it straight into the run folder (memory does not grow with the folder),
while :func:`attribute` keeps them in its :class:`Attributions`, whose ``save`` hands them to
the same writer.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np

from nnvisual.api._common import (
    Progress,
    Result,
    load_configured,
    log,
    model_setting,
    no_progress,
    settings,
    with_settings,
)
from nnvisual.config import AttributeConfig
from nnvisual.data.named_images import named_images
from nnvisual.steps import attribute as step

GRID_IMAGES = 16  # the grid figure shows the first images


def images_setting(images) -> str | None:
    """The config's ``images`` value: the path given, else None (arrays or a list of files)."""
    return str(images) if isinstance(images, (str, Path)) else None


@dataclasses.dataclass(frozen=True)
class Attributions(Result):
    """What :func:`attribute` computed, one entry per image that could be read.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.AttributeConfig`).
        inputs: the checked inputs (:class:`nnvisual.steps.attribute.AttributeInputs`).
        batches: the step's batches (:class:`nnvisual.steps.attribute.AttributionBatch`),
            all in memory.
    Properties: ``names``, ``images`` (uint8 (N, H, W, 3) at the model's size), ``classes``
    (the explained class of each), ``probabilities``, ``maps`` (method -> (N, H, W)),
    ``skipped`` (``(file, reason)`` of each file that could not be read), ``arrays``
    (``attributions.npz``) and ``tables``.
    """

    command: ClassVar[str] = "attribute"
    function: ClassVar[str] = "attribute"
    config: AttributeConfig
    inputs: step.AttributeInputs
    batches: tuple[step.AttributionBatch, ...]

    @property
    def run_name(self) -> str:
        return self.inputs.loaded.name

    def _joined(self, part: str) -> np.ndarray:
        return np.concatenate([getattr(batch, part) for batch in self.batches if batch.names])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for batch in self.batches for name in batch.names)

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]:
        return self.inputs.skipped + tuple(item for batch in self.batches for item in batch.skipped)

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
        write_run(run, self.inputs, self.config, self.batches)


def prepare(config: AttributeConfig, model=None, images=None, unsafe: bool = False,
            checks=step.prepare) -> step.AttributeInputs:
    """The checked inputs of ``config``: its model (or ``model``) and ``images`` (as
    :func:`attribute` takes them; default: ``config.images``), checked by ``checks`` (this
    step's, or ``sanity``'s, which also reads the first images). Every UserError happens
    here."""
    from nnvisual.runtime import seeding

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    named, skipped = named_images(config.images if images is None else images)
    seeding.set_random_seed(config.seed)
    loaded = load_configured(config, model, unsafe)
    return checks(loaded, config, named, skipped)


def attribution_batches(inputs: step.AttributeInputs, config: AttributeConfig,
                        progress: Progress = no_progress) -> Iterator[step.AttributionBatch]:
    """The maps of prepared ``inputs``, ``config.batch_size`` images at a time, as they are
    computed (none kept); a warning for each file skipped, ``progress(done, total, file)``
    after each batch."""
    for name, reason in inputs.skipped:
        log.warning("skipped %s: %s", name, reason)
    done, total = 0, len(inputs.images)
    for batch in step.attribute_batches(inputs, config):
        for name, reason in batch.skipped:
            log.warning("skipped %s: %s", name, reason)
        done += len(batch.names) + len(batch.skipped)
        progress(done, total, inputs.images.names[done - 1])
        yield batch


def compute(inputs: step.AttributeInputs, config: AttributeConfig,
            progress: Progress = no_progress) -> Attributions:
    """The maps of prepared ``inputs``, every batch kept in memory."""
    return Attributions(config, inputs, tuple(attribution_batches(inputs, config, progress)))


def write_run(run, inputs: step.AttributeInputs, config: AttributeConfig,
              batches: Iterable[step.AttributionBatch], checkpoint=None) -> tuple[tuple[str, str], ...]:
    """Write ``batches`` into the open run folder ``run`` as they come: a figure per image, each
    batch's maps to the run's temporary rows (memory does not grow with the number of batches),
    then tables/attributions.csv, attributions.npz and the grid of the first images. Returns
    ``(file, reason)`` of every file skipped.

    With ``checkpoint`` (the command's :class:`nnvisual.runs.scan_checkpoint.ScanCheckpoint`) the
    maps go to its rows, each batch's table rows, names and skipped files to its logs, and the
    batches are committed to it when it is due, with the grid's images if they changed;
    ``batches`` are those after the checkpoint's (a resumed run continues where it stopped)."""
    import contextlib

    from nnvisual.plots import attribution as plots

    class_names = inputs.loaded.class_names
    done = _Written.resumed(run, inputs, checkpoint)
    with contextlib.nullcontext(checkpoint.rows) if checkpoint else run.row_arrays() as maps:
        for batch in batches:
            for i, name in enumerate(batch.names):
                shown = (batch.images[i], name, class_names[batch.classes[i]],
                         batch.probabilities[i], {method: m[i] for method, m in batch.maps.items()})
                run.write_figure(f"figures/{name}.png", plots.image_figure(*shown))
                if len(done.grid) < GRID_IMAGES:  # copies: a view would keep the whole batch
                    done.grid.append((shown[0].copy(), *shown[1:4],
                                      {method: m.copy() for method, m in shown[4].items()}))
            maps.append(**batch.maps)
            table = step.rows(batch, class_names)
            done.add(batch, table)
            if checkpoint is not None:
                done.log(checkpoint, batch, table)
                if checkpoint.due():
                    done.commit(checkpoint)
        if not done.names:
            return tuple(done.skipped)
        run.write_csv("tables/attributions.csv", step.TABLE_HEADER, done.table)
        run.write_npz_rows("attributions.npz", maps, images=np.array(done.names))
    images, grid_names, grid_classes, probabilities, grid_maps = zip(*done.grid, strict=True)
    run.write_figure("figures/grid.png", plots.grid_figure(
        images, grid_names, grid_classes, probabilities,
        {method: [m[method] for m in grid_maps] for method in config.methods}))
    run.manifest.update(skipped=[name for name, _ in done.skipped], cam_layer=inputs.settings.layer,
                        head=inputs.network.head.described(), display=plots.DISPLAY_NOTE)
    return tuple(done.skipped)


@dataclasses.dataclass
class _Written:
    """What :func:`write_run` has written so far: the table's rows, the images' names, the files
    skipped, ``(image, name, class name, probability, maps)`` of the grid's first images, the
    batches, and how many of the grid's images the checkpoint holds."""

    table: list = dataclasses.field(default_factory=list)
    names: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    grid: list = dataclasses.field(default_factory=list)
    batches: int = 0
    grid_committed: int = 0

    def add(self, batch: step.AttributionBatch, table: list) -> None:
        self.skipped.extend(batch.skipped)
        self.names.extend(batch.names)
        self.table.extend(table)
        self.batches += 1

    @staticmethod
    def log(checkpoint, batch: step.AttributionBatch, table: list) -> None:
        """Append ``batch``'s table rows, names and skipped files to ``checkpoint``'s logs."""
        import json

        from nnvisual.runs.folder import csv_text

        checkpoint.append("table", csv_text(table))
        checkpoint.append("batches", json.dumps({"names": batch.names, "skipped": batch.skipped}) + "\n")

    def commit(self, checkpoint) -> None:
        """Commit the batches done to ``checkpoint`` (their maps and logs appended), with the
        grid's images if they changed since the last commit."""
        arrays = None
        if len(self.grid) != self.grid_committed:
            images, names, classes, probabilities, maps = zip(*self.grid, strict=True)
            arrays = {"images": np.stack(images), "names": np.array(names),
                      "classes": np.array(classes), "probabilities": np.array(probabilities),
                      **{f"map_{m}": np.stack([shown[m] for shown in maps]) for m in maps[0]}}
        checkpoint.commit(self.batches, arrays)
        self.grid_committed = len(self.grid)

    @classmethod
    def resumed(cls, run, inputs: step.AttributeInputs, checkpoint) -> _Written:
        """What the batches ``checkpoint`` counts wrote (nothing without one), their figures
        counted as the run's outputs again."""
        import csv
        import io
        import json

        written = cls(skipped=list(inputs.skipped))
        if checkpoint is None or not checkpoint.batches:
            return written
        written.batches = checkpoint.batches
        for line in checkpoint.read("batches").splitlines():
            batch = json.loads(line)
            written.names.extend(batch["names"])
            written.skipped.extend(tuple(item) for item in batch["skipped"])
        for name in written.names:
            run.record(f"figures/{name}.png")
        written.table = list(csv.reader(io.StringIO(checkpoint.read("table"), newline="")))
        grid = checkpoint.arrays()
        if grid:
            maps = [{name[4:]: grid[name][i] for name in grid if name.startswith("map_")}
                    for i in range(len(grid["names"]))]
            written.grid = list(zip(grid["images"], map(str, grid["names"]), map(str, grid["classes"]),
                                    grid["probabilities"], maps, strict=True))
            written.grid_committed = len(written.grid)
        return written


@with_settings(AttributeConfig, "model", "images")
def attribute(model, images, *, unsafe: bool = False, progress: Progress | None = None,
              **settings_) -> Attributions:
    """Attribution maps: which pixels a class score depends on, by one or more methods (the
    ``methods`` setting lists them all, each with its paper).

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result;
            never modified.
        images: an image file or a folder of images (files that cannot be read are skipped),
            a list of files, or uint8 RGB arrays ((N, H, W, 3) or one (H, W, 3)); resized to
            the model's input size.
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        progress: called as ``progress(done, total, file)`` as the batches of images are done.
        **settings: the ``attribute`` command's settings, listed below with their defaults.

    Returns:
        :class:`Attributions`: ``.maps[method]`` (N, H, W), ``.classes``, ``.probabilities``,
        ``.tables``, ``.plot(image=None)`` (a matplotlib Figure), ``.save(path)`` (the run
        folder ``nnvisual attribute`` writes).

    Raises:
        TypeError: an unknown keyword or images of another kind. UserError: a bad value,
        class, layer, model or image.

    Example (``model``: e.g. ``nv.load_model("efficientnet-lite0")``; here a small CNN):
        >>> import nnvisual as nv
        >>> from sklearn.datasets import load_sample_image
        >>> photos = [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
        >>> maps = nv.attribute(model, photos, methods=["saliency", "gradcam"])
        >>> maps.names, maps.maps["gradcam"].shape
        (('image-000.png', 'image-001.png'), (2, 32, 32))
        >>> figure = maps.plot(0)
    """
    config = settings(AttributeConfig, "attribute", settings_, model=model_setting(model),
                      images=images_setting(images))
    return compute(prepare(config, model, images, unsafe), config, progress or no_progress)
