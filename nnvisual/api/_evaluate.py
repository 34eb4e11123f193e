"""``nnvisual.evaluate``: how good each method's maps are, by the metrics the field uses (the
``evaluate`` command; docs/evaluation.md)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from nnvisual.api import _attribute as attribute_api
from nnvisual.api._attribute import images_setting
from nnvisual.api._common import (
    Progress,
    Result,
    log,
    model_setting,
    no_progress,
    settings,
    with_settings,
)
from nnvisual.config import EvaluateConfig
from nnvisual.steps import evaluate as step


@dataclasses.dataclass(frozen=True)
class Evaluation(Result):
    """What :func:`evaluate` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.EvaluateConfig`).
        computed: the step's result (:class:`nnvisual.steps.evaluate.EvaluateResult`): the
            ``inputs``, the ``maps`` (method -> (N, H, W)) and the ``values`` (method -> metric ->
            (N,), one per image).
    Properties: ``skipped``, ``arrays`` (``values.npz``), ``tables`` (``metrics``: method,
    metric, mean, bootstrap interval, n).
    """

    command: ClassVar[str] = "evaluate"
    function: ClassVar[str] = "evaluate"
    config: EvaluateConfig
    computed: step.EvaluateResult

    @property
    def run_name(self) -> str:
        return self.computed.inputs.explained.loaded.name

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]:
        inputs = self.computed.inputs
        return inputs.explained.skipped + inputs.skipped

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        inputs = self.computed.inputs
        arrays = {"images": np.array(inputs.names), "classes": inputs.classes}
        arrays.update({f"{method}/{metric}": values for method, by in self.computed.values.items()
                       for metric, values in by.items()})
        return arrays

    @property
    def tables(self) -> dict[str, tuple]:
        return {"metrics": step.metrics_table(self.computed, self.config)}

    def plot(self):
        """The ranking figure: methods by metrics, coloured by rank, with intervals."""
        from nnvisual.evaluation import metrics
        from nnvisual.plots import evaluate as plots

        _, rows = self.tables["metrics"]
        better = {name: metrics.metric(name).better for name in self.config.metrics}
        return plots.ranking_figure(rows, better, plots.ranking_title(
            self.run_name, len(self.computed.inputs.names), self.config.bootstrap))

    def write(self, run) -> None:
        inputs = self.computed.inputs
        run.write_csv("tables/metrics.csv", *self.tables["metrics"])
        run.write_npz("values.npz", **self.arrays)
        run.write_figure("figures/ranking.png", self.plot())
        run.manifest.update(images=list(inputs.names), maps_from=self.config.maps,
                            cam_layer=inputs.explained.settings.layer,
                            head=inputs.explained.network.head.described())


def prepare(config: EvaluateConfig, model=None, images=None, unsafe: bool = False
            ) -> step.EvaluateInputs:
    """The checked inputs of ``config``, as :func:`attribute`'s (the images of the ``maps`` run
    when none are given), with the first ``config.max_images`` readable images read. Every
    UserError happens here."""
    if images is None and config.images is None and config.maps is not None:
        _, _, manifest = step.read_run_maps(config.maps, config.methods)
        config = dataclasses.replace(config, images=(manifest.get("config") or {}).get("images"))
    return attribute_api.prepare(config, model, images, unsafe, checks=step.prepare)


def compute(inputs: step.EvaluateInputs, config: EvaluateConfig,
            progress: Progress = no_progress) -> Evaluation:
    """The evaluation of prepared ``inputs``: a warning for each file skipped,
    ``progress(done, total, label)`` before each method's maps and each metric."""
    for name, reason in inputs.explained.skipped + inputs.skipped:
        log.warning("skipped %s: %s", name, reason)
    total = len(config.methods) * (len(config.metrics) + 1)
    done = iter(range(total + 1))
    return Evaluation(config, step.evaluate(inputs, config,
                                            lambda label: progress(next(done), total, label)))


@with_settings(EvaluateConfig, "model", "images")
def evaluate(model, images=None, *, unsafe: bool = False, progress: Progress | None = None,
             **settings_) -> Evaluation:
    """How good each method's attribution maps are, by the metrics the field uses (ROAD,
    faithfulness correlation, pixel flipping, region perturbation, deletion/insertion,
    sparseness, complexity, max/avg-sensitivity, local Lipschitz, model randomisation, random
    logit, completeness, input invariance, pointing game, relevance mass and rank accuracy),
    each the mean over the images with a bootstrap interval.

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result.
        images: as :func:`attribute`'s (at least 2 readable; the first ``max_images`` used);
            None with ``maps``: that run's images.
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        progress: called as ``progress(done, total, label)`` before each step.
        **settings: the ``evaluate`` command's settings, listed below with their defaults.

    Returns:
        :class:`Evaluation`: ``.computed`` (maps, per-image values), ``.tables["metrics"]``,
        ``.plot()`` (the ranking figure), ``.save(path)`` (the run folder ``nnvisual evaluate``
        writes).

    Example (``model``: e.g. a ``train`` run folder; here a small CNN):
        >>> import nnvisual as nv
        >>> from sklearn.datasets import load_sample_image
        >>> photos = [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
        >>> result = nv.evaluate(model, photos, methods="saliency,gradcam",
        ...                      metrics="sparseness,deletion", eval_steps=4, bootstrap=100)
        >>> result.tables["metrics"][0]
        ('method', 'metric', 'value', 'low', 'high', 'n')
        >>> figure = result.plot()
    """
    config = settings(EvaluateConfig, "evaluate", settings_, model=model_setting(model),
                      images=images_setting(images))
    return compute(prepare(config, model, images, unsafe), config, progress or no_progress)
