"""``nv.callbacks.Attributions``: attribution maps of fixed images while a model trains."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nnvisual.callbacks import writer
from nnvisual.callbacks.epochs import EpochCallback, epoch_name


class Attributions(EpochCallback):
    """Every ``every`` epochs, the maps of ``images`` by each of ``methods``, computed exactly as
    :func:`nnvisual.attribute` computes them on the model's weights of that epoch (the same code,
    the same ``seed``: the maps are equal, byte for byte), and each method's Spearman rank
    correlation with the maps of the previous explained epoch (mean over the images;
    :mod:`nnvisual.sanity.similarity`): near 1, the maps have stopped changing.

    Parameters:
        images: what :func:`nnvisual.attribute` takes: an image file or folder, a list of
            files, or uint8 RGB arrays ((N, H, W, 3) or one (H, W, 3)); a few (4 to 16) read well.
        methods: one method or several (any of :func:`nnvisual.attribute`'s), e.g.
            ``("gradcam", "integrated-gradients")``.
        every: explain after every ``every``-th epoch (1: each epoch).
        out: a folder for ``epoch-NNN.png`` (a grid: the images, then each method's map over
            them) and ``epoch-NNN.npz`` (the maps, the images' names, the explained classes);
            None: no files.
        tensorboard: a TensorBoard log folder: the grid as image ``attributions`` and the
            correlations as scalars ``attributions/similarity/<method>``, at step = the epoch.
            Needs the ``tensorboard`` package (``pip install "nnvisual[tensorboard]"``), not
            TensorFlow.
        maps_out: where the ``.npz`` files go instead of ``out``.
        class_names, preprocess: for the model, as :func:`nnvisual.load_model` takes them for a
            live ``keras.Model`` (default: ``class 0``, ...; no preprocessing, 0..255 pixels in).
        written: called with the path of each file written.
        **settings: the ``attribute`` command's settings (``target_class``, ``layer``,
            ``seed``, ``steps``, ...), as :func:`nnvisual.attribute` takes them.

    After training, ``.maps`` holds the last maps (method -> (N, H, W)), ``.last`` the last
    :class:`nnvisual.Attributions`, ``.scalars`` epoch -> ``{"similarity/<method>": value}``.

    Example::

        explain = nv.callbacks.Attributions(images, methods=["gradcam"], out="explain")
        model.fit(x, y, epochs=5, callbacks=[explain])
    """

    kind = "attributions"

    def __init__(self, images, methods: str | Sequence[str] = ("gradcam",), every: int = 1,
                 out: str | Path | None = None, tensorboard: str | Path | None = None, *,
                 maps_out: str | Path | None = None, class_names=None,
                 preprocess: Callable | None = None, written: writer.Written | None = None,
                 **settings_):
        from nnvisual.api._attribute import images_setting
        from nnvisual.api._common import settings
        from nnvisual.config import AttributeConfig
        from nnvisual.data.named_images import named_images

        methods = (methods,) if isinstance(methods, str) else tuple(methods)
        self.config = settings(AttributeConfig, "Attributions", {**settings_, "methods": methods},
                               model=None, images=images_setting(images))
        named_images(images)  # a missing file or folder: refused now, before training
        super().__init__(every, out, tensorboard, written)
        self.images = images
        self.maps_folder = (self.folder if maps_out is None else writer.Folder(maps_out, written))
        self.class_names, self.preprocess = class_names, preprocess
        self.maps: dict[str, np.ndarray] | None = None
        self.last = None
        self._started = False

    def attributions(self):
        """The maps of the model as it is now (an :class:`nnvisual.Attributions`), as
        :func:`nnvisual.attribute` computes them; the random generators are left as they were,
        so training draws what it would have drawn without the callback."""
        from nnvisual.api import _attribute as api
        from nnvisual.models.loading import load_model
        from nnvisual.runtime import seeding

        with seeding.kept_random_state():
            loaded = load_model(self.model, preprocess=self.preprocess, class_names=self.class_names)
            return api.compute(api.prepare(self.config, loaded, self.images), self.config)

    def on_train_begin(self, logs=None):
        """Check the methods against the model (a refusal comes before the first epoch)."""
        from nnvisual.api import _attribute as api
        from nnvisual.models.loading import load_model
        from nnvisual.runtime import seeding

        with seeding.kept_random_state():
            loaded = load_model(self.model, preprocess=self.preprocess, class_names=self.class_names)
            api.prepare(self.config, loaded, self.images)

    def on_epoch_begin(self, epoch, logs=None):
        """A fit that starts after ``epoch`` epochs at an explained epoch (a resumed training):
        the maps of those weights, for the next correlation (not written again)."""
        if self.maps is None and not self._started and epoch > 0 and self.due(epoch):
            self.maps = self.attributions().maps
        self._started = True

    def explain(self, epoch: int) -> tuple[bytes, dict[str, float]]:
        from nnvisual.plots import attribution as plots
        from nnvisual.sanity.similarity import spearman

        result = self.attributions()
        maps = result.maps
        scalars = {}
        if self.maps is not None:
            scalars = {f"similarity/{method}": float(np.mean(
                [spearman(a, b) for a, b in zip(self.maps[method], maps[method], strict=True)]))
                for method in maps}
        self.maps, self.last = maps, result
        if self.maps_folder is not None:
            self.maps_folder.write_npz(epoch_name(epoch, "npz"), images=np.array(result.names),
                                       classes=result.classes, **maps)
        names = result.inputs.loaded.class_names
        figure = plots.grid_figure(result.images, result.names, [names[c] for c in result.classes],
                                   result.probabilities, maps, heading=f"epoch {epoch}")
        return writer.figure_png(figure), scalars
