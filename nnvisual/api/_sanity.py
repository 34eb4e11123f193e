"""``nnvisual.sanity_check``: do the attribution maps depend on the model's weights, and on the
pixels that matter? (the ``sanity`` command)."""

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
from nnvisual.config import SanityConfig
from nnvisual.steps import sanity as step


@dataclasses.dataclass(frozen=True)
class SanityChecks(Result):
    """What :func:`sanity_check` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.SanityConfig`).
        computed: the step's result (:class:`nnvisual.steps.sanity.SanityResult`): the
            ``original`` maps (method -> (N, H, W)), the randomization ``stages`` (mode ->
            labels, top layer first), their ``maps`` (mode -> method -> (stages, N, H, W)) and
            similarity ``scores`` (mode -> method -> (stages, N, metrics)), and the
            deletion/insertion ``curves`` (curve -> method -> (N, steps + 1)).
    Properties: ``skipped`` (``(file, reason)`` of each file that could not be read),
    ``arrays`` (``maps.npz``) and ``tables`` (randomization and faithfulness, with bootstrap
    intervals over the images).
    """

    command: ClassVar[str] = "sanity"
    function: ClassVar[str] = "sanity_check"
    config: SanityConfig
    computed: step.SanityResult

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]:
        return skipped(self.computed.inputs)

    @property
    def run_name(self) -> str:
        return self.computed.inputs.explained.loaded.name

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        result = self.computed
        arrays = {"images": np.array(result.inputs.names), "classes": result.inputs.classes}
        arrays.update({f"original/{m}": v for m, v in result.original.items()})
        arrays.update({f"{mode}/{m}": v for mode, by in result.maps.items() for m, v in by.items()})
        arrays.update({f"{curve}/{m}": v for curve, by in result.curves.items()
                       for m, v in by.items()})
        return arrays

    @property
    def tables(self) -> dict[str, tuple]:
        return {"randomization": step.similarity_table(self.computed, self.config),
                "faithfulness": step.faithfulness_table(self.computed, self.config)}

    def figures(self) -> dict[str, object]:
        """Every figure, by file name: the cascading grid of the first image, the similarity
        curves of each randomization, and the deletion/insertion curves."""
        from nnvisual.plots import sanity as plots
        from nnvisual.sanity.similarity import METRICS

        result, inputs = self.computed, self.computed.inputs
        figures = {}
        if "cascading" in result.maps:
            figures["cascading"] = plots.cascading_grid(
                inputs.images[0], inputs.names[0], result.stages["cascading"],
                {m: v[0] for m, v in result.original.items()},
                {m: v[:, 0] for m, v in result.maps["cascading"].items()})
        for mode in result.maps:
            figures[f"similarity_{mode}"] = plots.similarity_curves(
                mode, result.stages[mode], {metric: step.summary(result, self.config, mode, metric)
                                            for metric in METRICS})
        figures["faithfulness"] = plots.faithfulness_curves(result.curves)
        return figures

    def plot(self, kind: str = "faithfulness"):
        """One figure (a matplotlib Figure): ``"faithfulness"`` (deletion and insertion
        curves), ``"cascading"`` (the maps of the first image as layers are randomized) or
        ``"similarity_<mode>"``."""
        figures = self.figures()
        if kind not in figures:
            raise ValueError(f"unknown figure {kind!r}: choose {', '.join(figures)}")
        return figures[kind]

    def write(self, run) -> None:
        inputs = self.computed.inputs
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_npz("maps.npz", **self.arrays)
        for name, figure in self.figures().items():
            run.write_figure(f"figures/{name}.png", figure)
        run.manifest.update(images=list(inputs.names), stages=self.computed.stages,
                            cam_layer=inputs.explained.settings.layer,
                            head=inputs.explained.network.head.described())


def skipped(inputs: step.SanityInputs) -> tuple[tuple[str, str], ...]:
    """``(file, reason)`` of the files set aside and of those that failed to decode."""
    return inputs.explained.skipped + inputs.skipped


def prepare(config: SanityConfig, model=None, images=None, unsafe: bool = False
            ) -> step.SanityInputs:
    """The checked inputs of ``config``, as :func:`attribute`'s, with the first
    ``config.max_images`` readable images read. Every UserError happens here."""
    return attribute_api.prepare(config, model, images, unsafe, checks=step.prepare)


def compute(inputs: step.SanityInputs, config: SanityConfig,
            progress: Progress = no_progress) -> SanityChecks:
    """The checks of prepared ``inputs``: a warning for each file skipped,
    ``progress(done, total, stage)`` before each randomization stage and the curves."""
    from nnvisual.sanity import randomization

    for name, reason in skipped(inputs):
        log.warning("skipped %s: %s", name, reason)
    model = inputs.explained.loaded.model
    total = sum(len(randomization.stages(model, mode)) for mode in config.randomizations)
    stages = iter(range(total + 1))
    return SanityChecks(config, step.check(inputs, config,
                                           lambda label: progress(next(stages), total, label)))


@with_settings(SanityConfig, "model", "images")
def sanity_check(model, images, *, unsafe: bool = False, progress: Progress | None = None,
                 **settings_) -> SanityChecks:
    """Sanity checks of attribution maps: model-parameter randomization (Adebayo et al. 2018),
    cascading from the top layer down and independent per layer, with each map's similarity
    to the original one (Spearman rank correlation of |map| and of the map, SSIM, HOG), and
    deletion/insertion curves (Petsiuk et al. 2018), with bootstrap intervals over the images.

    Randomization works on copies: the model given is never modified.

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result.
        images: as :func:`attribute`'s (at least 2 readable; the first ``max_images`` used).
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        progress: called as ``progress(done, total, label)`` before each randomization stage.
        **settings: the ``sanity`` command's settings, listed below with their defaults.

    Returns:
        :class:`SanityChecks`: ``.computed`` (maps, similarity scores, curves), ``.tables``,
        ``.plot(kind)`` (a matplotlib Figure), ``.save(path)`` (the run folder
        ``nnvisual sanity`` writes).

    Example (``model``: e.g. a ``train`` run folder; here a small CNN):
        >>> import nnvisual as nv
        >>> from sklearn.datasets import load_sample_image
        >>> photos = [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
        >>> checks = nv.sanity_check(model, photos, methods="saliency",
        ...                          randomizations="cascading", curve_steps=4, bootstrap=100)
        >>> checks.computed.stages["cascading"]
        ['scores', 'conv2', 'conv1']
        >>> checks.tables["faithfulness"][0]
        ('curve', 'method', 'n', 'auc_mean', 'ci_low', 'ci_high')
        >>> figure = checks.plot("cascading")
    """
    config = settings(SanityConfig, "sanity_check", settings_, model=model_setting(model),
                      images=images_setting(images))
    return compute(prepare(config, model, images, unsafe), config, progress or no_progress)
