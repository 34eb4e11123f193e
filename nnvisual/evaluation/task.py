"""What a metric is given: :class:`Task`, and :class:`Settings`, the metrics' parameters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import numpy as np


class Scorer(Protocol):
    """A classifier as the metrics see it (:class:`nnvisual.attribution.network.Network` is one):
    NumPy batches of model inputs in, (N, classes) scores out."""

    def logits(self, x: np.ndarray) -> np.ndarray: ...

    def probabilities(self, x: np.ndarray) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class Settings:
    """The metrics' parameters (docs/evaluation.md says what each does to which metric)."""

    steps: int = 10  # perturbation curves: fractions 1/steps .. 1 (ROAD, pixel flipping, deletion)
    runs: int = 20  # faithfulness correlation: random subsets per image
    subset: float = 0.05  # faithfulness correlation: the fraction of pixels in each subset
    patch: int = 8  # region perturbation: the side of a region
    regions: int = 20  # region perturbation: regions removed, one at a time
    road_noise: float = 0.01  # ROAD: the imputation's noise, a fraction of the input's range
    samples: int = 4  # robustness: perturbed copies per image
    radius: float = 0.02  # robustness: the perturbation's size, a fraction of the input's range
    shift: float = 0.1  # input invariance: the constant added to the input, a fraction of its range
    smooth_samples: int = 8  # smooth MPRT: noisy copies per image, their maps averaged
    smooth_noise: float = 0.1  # smooth MPRT: the noise's standard deviation, a fraction of the range
    bins: int = 100  # efficient MPRT: the histogram's bins
    batch_size: int = 16
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "runs", "patch", "regions", "samples", "batch_size",
                     "smooth_samples", "bins"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps < 2:
            raise ValueError(f"steps must be at least 2, got {self.steps}")
        if not 0 < self.subset <= 1:
            raise ValueError(f"subset must be in (0, 1], got {self.subset}")
        if self.road_noise < 0 or self.radius <= 0 or self.smooth_noise < 0:
            raise ValueError("road_noise and smooth_noise must be >= 0 and radius > 0")


@dataclasses.dataclass(frozen=True)
class Task:
    """One method's maps of N images, and what the metrics need to judge them.

    ``model``: the scores (:class:`Scorer`); ``x``: model inputs (N, H, W, C); ``maps`` (N, H, W);
    ``classes``: the explained class of each image; ``baselines``: the reference inputs that
    replace removed pixels (N, H, W, C); ``bounds``: ``(low, high)`` of the input's values.
    ``explain(scorer, x, classes) -> (N, H, W)``: the method again, on other inputs, classes or
    models (the robustness, randomisation and invariance metrics); ``randomized() -> scorer``: the
    model with every learned layer re-drawn; ``shifted(shift) -> scorer``: a model whose scores
    of ``x + shift`` are the model's of ``x``; ``masks``: (N, H, W) bool, where the object is
    (localisation)."""

    model: Scorer
    x: np.ndarray
    maps: np.ndarray
    classes: np.ndarray
    baselines: np.ndarray
    settings: Settings = Settings()
    bounds: tuple[float, float] = (0.0, 255.0)
    explain: Callable | None = None
    randomized: Callable | None = None
    shifted: Callable | None = None
    masks: np.ndarray | None = None
    # what one metric computed that another reuses (max- and avg-sensitivity share their
    # samples); not an argument, so dataclasses.replace starts a new task with an empty one
    computed: dict = dataclasses.field(default_factory=dict, init=False, repr=False,
                                       compare=False)

    @property
    def span(self) -> float:
        """The input's range, ``high - low``."""
        low, high = self.bounds
        return float(np.max(high) - np.min(low))

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.settings.seed, salt])

    def scores(self, x: np.ndarray, classes=None, output: str = "logits") -> np.ndarray:
        """The score (``logits`` or ``probabilities``) of ``classes`` (default: the task's) for
        each row of ``x``, ``settings.batch_size`` rows per call."""
        from nnvisual.attribution.batches import in_chunks

        classes = self.classes if classes is None else np.asarray(classes)
        fn = getattr(self.model, output)
        size = self.settings.batch_size
        rows = np.arange(len(x))
        return in_chunks(lambda xs, r: fn(np.asarray(xs, np.float32))[np.arange(len(xs)),
                                                                      classes[r]],
                         np.asarray(x), rows, size=size).astype(np.float64)


def scores_repeated(task: Task, frames: np.ndarray, output: str = "logits") -> np.ndarray:
    """Scores of (N, K, H, W, C) frames, K per image, each for its image's class: (N, K)."""
    n, k = frames.shape[:2]
    classes = np.repeat(task.classes, k)
    return task.scores(frames.reshape(n * k, *frames.shape[2:]), classes, output).reshape(n, k)
