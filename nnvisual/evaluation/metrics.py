"""The evaluation metrics, one row each in :data:`METRICS`: the one source of ``--metric``'s
choices and help, the API's docstrings, the checks and the dispatch of
:func:`nnvisual.evaluation.metrics.evaluate`. This module imports nothing heavy, so ``--help`` can
list the metrics without loading a backend.

A metric is a function ``f(task) -> (N,)`` (:class:`nnvisual.evaluation.task.Task` in, one value
per image out) in its family's module, and one row here."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

FAMILIES = ("faithfulness", "complexity", "robustness", "randomisation", "axiomatic",
            "localisation")
NEEDS = ("explain", "randomized", "shifted", "masks")


@dataclasses.dataclass(frozen=True)
class Metric:
    """One metric: ``compute`` as ``"module:function"``; ``title``: what it is, with its paper;
    ``better``: ``higher`` or ``lower``; ``needs``: what the task must hold besides the maps and
    the model (:data:`NEEDS`: the method itself, a randomized model, a shifted model, masks);
    ``settings``: the settings it reads, for the docs."""

    name: str
    compute: str
    family: str
    title: str
    better: str
    needs: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: family must be one of {FAMILIES}")
        if self.better not in ("higher", "lower"):
            raise ValueError(f"{self.name}: better must be 'higher' or 'lower'")
        if set(self.needs) - set(NEEDS):
            raise ValueError(f"{self.name}: needs must be among {NEEDS}")

    def function(self) -> Callable:
        module, name = self.compute.split(":")
        return getattr(importlib.import_module(module), name)


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    METRICS[metric.name] = metric
    return metric


def names() -> tuple[str, ...]:
    return tuple(METRICS)


def metric(name: str) -> Metric:
    if name not in METRICS:
        raise ValueError(f"unknown metric '{name}': choose one of {', '.join(METRICS)}")
    return METRICS[name]


def described() -> str:
    """Every metric with its paper and direction, for ``--help`` and docstrings."""
    return ", ".join(f"{name} ({m.title}; {m.better} is better)" for name, m in METRICS.items())


def evaluate(task, name: str):
    """The values (N,) of metric ``name`` on ``task``."""
    return metric(name).function()(task)


_HERE = "nnvisual.evaluation"
_CURVES = ("steps", "baseline", "batch_size")
for _row in (
    Metric("road-morf", f"{_HERE}.faithfulness:road_morf", "faithfulness", "ROAD most relevant "
           "first, Rong et al. 2022", "lower", settings=("steps", "road_noise", "seed")),
    Metric("road-lerf", f"{_HERE}.faithfulness:road_lerf", "faithfulness", "ROAD least relevant "
           "first, Rong et al. 2022", "higher", settings=("steps", "road_noise", "seed")),
    Metric("faithfulness-correlation", f"{_HERE}.faithfulness:faithfulness_correlation",
           "faithfulness", "Bhatt et al. 2020", "higher",
           settings=("runs", "subset", "baseline", "seed")),
    Metric("pixel-flipping", f"{_HERE}.faithfulness:pixel_flipping", "faithfulness",
           "Bach et al. 2015", "lower", settings=_CURVES),
    Metric("region-perturbation", f"{_HERE}.faithfulness:region_perturbation", "faithfulness",
           "AOPC, Samek et al. 2017", "higher", settings=("patch", "regions", "baseline")),
    Metric("deletion", f"{_HERE}.faithfulness:deletion", "faithfulness", "Petsiuk et al. 2018",
           "lower", settings=_CURVES),
    Metric("insertion", f"{_HERE}.faithfulness:insertion", "faithfulness", "Petsiuk et al. 2018",
           "higher", settings=_CURVES),
    Metric("sparseness", f"{_HERE}.complexity:sparseness", "complexity", "Gini index, Chalasani "
           "et al. 2020", "higher"),
    Metric("complexity", f"{_HERE}.complexity:complexity", "complexity", "entropy, Bhatt et al. "
           "2020", "lower"),
    Metric("max-sensitivity", f"{_HERE}.robustness:max_sensitivity", "robustness",
           "Yeh et al. 2019", "lower", needs=("explain",), settings=("samples", "radius", "seed")),
    Metric("avg-sensitivity", f"{_HERE}.robustness:avg_sensitivity", "robustness",
           "Yeh et al. 2019", "lower", needs=("explain",), settings=("samples", "radius", "seed")),
    Metric("local-lipschitz", f"{_HERE}.robustness:local_lipschitz", "robustness",
           "Alvarez-Melis & Jaakkola 2018", "lower", needs=("explain",),
           settings=("samples", "radius", "seed")),
    Metric("model-randomisation", f"{_HERE}.randomisation:model_randomisation", "randomisation",
           "Adebayo et al. 2018", "lower", needs=("explain", "randomized"), settings=("seed",)),
    Metric("smooth-model-randomisation", f"{_HERE}.randomisation:smooth_model_randomisation",
           "randomisation", "smooth MPRT, Hedström et al. 2023", "lower",
           needs=("explain", "randomized"), settings=("smooth_samples", "smooth_noise", "seed")),
    Metric("efficient-model-randomisation",
           f"{_HERE}.randomisation:efficient_model_randomisation", "randomisation",
           "efficient MPRT, Hedström et al. 2023", "higher", needs=("explain", "randomized"),
           settings=("bins", "seed")),
    Metric("random-logit", f"{_HERE}.randomisation:random_logit", "randomisation",
           "Sixt et al. 2020", "lower", needs=("explain",), settings=("seed",)),
    Metric("completeness", f"{_HERE}.axiomatic:completeness", "axiomatic", "relative error, "
           "Sundararajan et al. 2017", "lower", settings=("baseline",)),
    Metric("input-invariance", f"{_HERE}.axiomatic:input_invariance", "axiomatic",
           "Kindermans et al. 2019", "lower", needs=("explain", "shifted"), settings=("shift",)),
    Metric("pointing-game", f"{_HERE}.localisation:pointing_game", "localisation",
           "Zhang et al. 2018", "higher", needs=("masks",)),
    Metric("relevance-mass-accuracy", f"{_HERE}.localisation:relevance_mass_accuracy",
           "localisation", "Arras et al. 2022", "higher", needs=("masks",)),
    Metric("relevance-rank-accuracy", f"{_HERE}.localisation:relevance_rank_accuracy",
           "localisation", "Arras et al. 2022", "higher", needs=("masks",)),
):
    register(_row)
