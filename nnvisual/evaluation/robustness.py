"""Does the map stay put when the input barely moves? Max- and avg-sensitivity (Yeh et al. 2019:
the largest and the mean relative change of the map, ``||map(x + d) - map(x)|| / ||map(x)||``,
over ``samples`` uniform perturbations d of at most ``radius`` times the input's range per
value) and the local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018: the largest
``||map(x) - map(x')|| / ||x - x'||`` over ``samples`` Gaussian neighbours x' of standard
deviation ``radius`` times the range). Lower is more robust. The class explained stays the
image's; each metric calls the method again ``samples`` times per image."""

from __future__ import annotations

import numpy as np


def _explained(task, x):
    if task.explain is None:
        raise ValueError("robustness metrics need the method (task.explain)")
    return np.asarray(task.explain(task.model, x.astype(np.float32), task.classes), np.float64)


def _norms(a):
    return np.sqrt((np.asarray(a, np.float64).reshape(len(a), -1) ** 2).sum(axis=1))


def sensitivities(task) -> np.ndarray:
    """(N, samples): ``||map(x + d) - map(x)|| / ||map(x)||`` for uniform d (seeded); 0 where the
    map and its change are both zero, inf where only the map is. Computed once per task."""
    if "sensitivities" not in task.computed:
        task.computed["sensitivities"] = _sensitivities(task)
    return task.computed["sensitivities"]


def _sensitivities(task) -> np.ndarray:
    rng = task.rng(4)
    reach = task.settings.radius * task.span
    reference = np.asarray(task.maps, np.float64)
    scale = _norms(reference)
    out = []
    for _ in range(task.settings.samples):
        noise = rng.uniform(-reach, reach, task.x.shape)
        change = _norms(_explained(task, task.x + noise) - reference)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(change == 0, 0.0, change / scale))
    return np.stack(out, axis=1)


def max_sensitivity(task) -> np.ndarray:
    """Max-sensitivity (Yeh et al. 2019)."""
    return sensitivities(task).max(axis=1)


def avg_sensitivity(task) -> np.ndarray:
    """Avg-sensitivity (Yeh et al. 2019)."""
    return sensitivities(task).mean(axis=1)


def local_lipschitz(task) -> np.ndarray:
    """The local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018), in map units per input
    unit: it grows with the map's scale, so it compares methods whose maps share units."""
    rng = task.rng(5)
    std = task.settings.radius * task.span
    reference = np.asarray(task.maps, np.float64)
    best = np.zeros(len(task.x))
    for _ in range(task.settings.samples):
        noise = rng.normal(0, std, task.x.shape)
        ratio = _norms(_explained(task, task.x + noise) - reference) / _norms(noise)
        best = np.maximum(best, ratio)
    return best
