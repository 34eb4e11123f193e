"""Does the map depend on what it should? Model parameter randomisation (Adebayo et al. 2018:
the Spearman rank correlation of |map| with the map of the model whose every learned layer was
re-drawn, :mod:`nnvisual.sanity.randomization`, the last stage of ``nnvisual sanity``'s
cascade) and random logit (Sixt et al. 2020: the SSIM of the map with the map of a random other
class). Lower is better: a map that survives either explains neither the weights nor the class.
"""

from __future__ import annotations

import numpy as np

from nnvisual.sanity import similarity


def _similarities(first, second, metric: str) -> np.ndarray:
    return np.array([similarity.similarity(a, b)[metric] for a, b in zip(first, second,
                                                                           strict=True)])


def model_randomisation(task) -> np.ndarray:
    """Spearman correlation of |map| with the fully randomized model's map (N,)."""
    if task.explain is None or task.randomized is None:
        raise ValueError("model randomisation needs task.explain and task.randomized")
    randomized = task.explain(task.randomized(), task.x, task.classes)
    return _similarities(task.maps, randomized, "spearman_abs")


def other_classes(task, classes_count: int) -> np.ndarray:
    """A random class other than each image's (seeded)."""
    rng = task.rng(6)
    shift = rng.integers(1, classes_count, len(task.classes))
    return (np.asarray(task.classes) + shift) % classes_count


def random_logit(task) -> np.ndarray:
    """SSIM (|map| scaled to [0, 1], :mod:`nnvisual.sanity.similarity`) of the map with the
    map of a random other class (N,)."""
    if task.explain is None:
        raise ValueError("random logit needs task.explain")
    count = task.model.logits(task.x[:1].astype(np.float32)).shape[1]
    other = task.explain(task.model, task.x, other_classes(task, count))
    return _similarities(task.maps, other, "ssim")
