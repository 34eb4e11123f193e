"""Properties a map should have by construction. Completeness (Sundararajan et al. 2017: the
map sums to the change of the class logit from the baseline to the image; the relative error
``|sum(map) - (f(x) - f(b))| / |f(x) - f(b)|``, 0 for a complete map) and input invariance
(Kindermans et al. 2019: shifting the input by a constant while the model's first layer absorbs
the shift changes no score, so it should change no map; the relative change
``||map'(x + c) - map(x)|| / ||map(x)||``, 0 for an invariant method). Lower is better."""

from __future__ import annotations

import numpy as np


def completeness(task) -> np.ndarray:
    """Relative completeness error of each map (N,)."""
    change = task.scores(task.x) - task.scores(task.baselines)
    total = np.asarray(task.maps, np.float64).reshape(len(task.maps), -1).sum(axis=1)
    return np.abs(total - change) / np.maximum(np.abs(change), 1e-12)


def shift_of(task) -> np.ndarray:
    """The constant added to every input value: ``shift`` times the input's range."""
    return np.full(task.x.shape[-1], task.settings.shift * task.span, np.float32)


def input_invariance(task) -> np.ndarray:
    """Relative change of each map when the input is shifted by :func:`shift_of` and the model
    takes the shift back (N,)."""
    if task.explain is None or task.shifted is None:
        raise ValueError("input invariance needs task.explain and task.shifted")
    shift = shift_of(task)
    moved = np.asarray(task.explain(task.shifted(shift), task.x + shift, task.classes), np.float64)
    reference = np.asarray(task.maps, np.float64).reshape(len(moved), -1)
    change = np.sqrt(((moved.reshape(len(moved), -1) - reference) ** 2).sum(axis=1))
    scale = np.sqrt((reference ** 2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(change == 0, 0.0, change / scale)
