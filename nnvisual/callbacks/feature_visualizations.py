"""``nv.callbacks.FeatureVisualizations``: class or channel visualizations while a model trains."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nnvisual.callbacks import writer
from nnvisual.callbacks.epochs import EpochCallback


class FeatureVisualizations(EpochCallback):
    """Every ``every`` epochs, images synthesized from noise that drive up each of
    ``objectives``, by :func:`nnvisual.maximize`'s gradient ascent (the same code and settings),
    with the objective each reaches as a scalar.

    Parameters:
        objectives: one or several: a class index (``3``: its logit) or an expression of
            :func:`nnvisual.maximize` (``"channel:conv2:5"``, ``"neuron:conv2:5"``,
            ``"class:3:softmax"``, ...).
        every: visualize after every ``every``-th epoch (1: each epoch).
        steps: gradient-ascent steps per visualization.
        out: a folder for ``epoch-NNN.png``, a grid of the images, each titled with its
            objective; None: no files.
        tensorboard: a TensorBoard log folder: the grid as image ``feature_visualizations``, the
            mean objective reached as scalars ``feature_visualizations/objective/<objective>``,
            at step = the epoch (the ``tensorboard`` package, not TensorFlow).
        n: images per objective.
        class_names, preprocess, written: as :class:`nnvisual.callbacks.Attributions` takes them.
        **settings: the ``maximize`` command's settings (``param``, ``transforms``, ``lr``,
            ``seed``, ...), as :func:`nnvisual.maximize` takes them; no ``retrain_on``.

    After training, ``.last`` holds objective -> the last :class:`nnvisual.Maximization`,
    ``.scalars`` epoch -> ``{"objective/<objective>": value}``.
    """

    kind = "feature_visualizations"

    def __init__(self, objectives: int | str | Sequence[int | str], every: int = 1, steps: int = 20,
                 out: str | Path | None = None, tensorboard: str | Path | None = None, *,
                 n: int = 1, class_names=None, preprocess: Callable | None = None,
                 written: writer.Written | None = None, **settings_):
        from nnvisual.api._common import settings
        from nnvisual.config import MaximizeConfig
        from nnvisual.errors import UserError, named

        if isinstance(objectives, (int, np.integer, str)):
            objectives = [objectives]
        if not objectives:
            raise UserError(f"give at least one objective ({named('objectives')})")
        if settings_.get("retrain_on") is not None:
            raise UserError(f"a callback visualizes the model as it trains: give no "
                            f"{named('retrain_on')}")
        self.objectives = [str(objective) for objective in objectives]
        self.configs = {}
        for objective in objectives:
            chosen = ({"target_class": str(objective)} if isinstance(objective, (int, np.integer))
                      else {"objective": objective, "target_class": settings_.get("target_class", "0")})
            self.configs[str(objective)] = settings(
                MaximizeConfig, "FeatureVisualizations",
                {**settings_, "steps": steps, "n": n, **chosen}, model=None)
        super().__init__(every, out, tensorboard, written)
        self.class_names, self.preprocess = class_names, preprocess
        self.last: dict[str, object] = {}

    def visualizations(self) -> dict[str, object]:
        """objective -> :class:`nnvisual.Maximization` of the model as it is now; the random
        generators are left as they were."""
        from nnvisual.api import _maximize as api
        from nnvisual.models.loading import load_model
        from nnvisual.runtime import seeding

        with seeding.kept_random_state():
            loaded = load_model(self.model, preprocess=self.preprocess, class_names=self.class_names)
            return {objective: api.compute(api.prepare(config, loaded), config)
                    for objective, config in self.configs.items()}

    def on_train_begin(self, logs=None):
        """Check the objectives against the model (a refusal comes before the first epoch)."""
        from nnvisual.api import _maximize as api
        from nnvisual.models.loading import load_model
        from nnvisual.runtime import seeding

        with seeding.kept_random_state():
            loaded = load_model(self.model, preprocess=self.preprocess, class_names=self.class_names)
            for config in self.configs.values():
                api.prepare(config, loaded)

    @staticmethod
    def _label(objective: str, result) -> str:
        """A class index as ``class 3 (cat)``; an expression as it is."""
        if not objective.isdigit():
            return objective
        return f"class {objective} ({result.inputs.loaded.class_names[int(objective)]})"

    def explain(self, epoch: int) -> tuple[bytes, dict[str, float]]:
        from nnvisual.plots import maximize as plots

        self.last = self.visualizations()
        images = np.concatenate([result.shown["before"] for result in self.last.values()])
        labels = [self._label(objective, result) for objective, result in self.last.items()
                  for _ in range(len(result.shown["before"]))]
        scalars = {f"objective/{objective}": float(np.mean(result.computed.phases["before"].objective[-1]))
                   for objective, result in self.last.items()}
        figure = plots.objectives_figure(images, labels, f"epoch {epoch}")
        return writer.figure_png(figure), scalars
