"""Does the map depend on what it should? Model parameter randomisation (Adebayo et al. 2018:
the Spearman rank correlation of |map| with the map of the model whose every learned layer was
re-drawn, :mod:`nnvisual.sanity.randomization`, the last stage of ``nnvisual sanity``'s
cascade) and random logit (Sixt et al. 2020: the SSIM of the map with the map of a random other
class). Lower is better: a map that survives either explains neither the weights nor the class.

Hedström et al. 2023 ("Sanity checks revisited: an exploration to repair the model parameter
randomisation test") repair two of its flaws. **Smooth MPRT** compares maps each averaged over
noisy copies of the input, so that the noise in a gradient map (which a random model shares)
does not pass for a dependence on the weights; lower is better. **Efficient MPRT** asks no
similarity at all: the relative rise of the map's complexity (the entropy of a histogram of its
values) from the trained to the randomized model, which a map that explains the weights shows
as it turns to noise; higher is better.
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


def histogram_entropy(maps, bins: int) -> np.ndarray:
    """The entropy (nats) of a ``bins``-bin histogram of each map's values (N,), Quantus'
    ``discrete_entropy``: equal-width bins between the map's own minimum and maximum."""
    result = []
    for values in np.asarray(maps, np.float64).reshape(len(maps), -1):
        counts = np.histogram(values, bins=bins)[0].astype(np.float64)
        p = counts[counts > 0] / counts.sum()
        result.append(-(p * np.log(p)).sum())
    return np.array(result)


def efficient_model_randomisation(task) -> np.ndarray:
    """eMPRT: (H(randomized map) - H(map)) / H(map), :func:`histogram_entropy` with
    ``settings.bins`` bins (N,); a map of one value (H = 0) gives NaN."""
    if task.explain is None or task.randomized is None:
        raise ValueError("efficient model randomisation needs task.explain and task.randomized")
    randomized = task.explain(task.randomized(), task.x, task.classes)
    before = histogram_entropy(task.maps, task.settings.bins)
    after = histogram_entropy(randomized, task.settings.bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, (after - before) / np.where(before > 0, before, 1), np.nan)


def smoothed_maps(task, scorer, noise: np.ndarray) -> np.ndarray:
    """The method's maps of the task's images for ``scorer``, averaged over the inputs plus each
    of ``noise`` (samples, N, H, W, C)."""
    return np.mean([task.explain(scorer, (task.x + n).astype(np.float32), task.classes)
                    for n in noise], axis=0)


def smooth_model_randomisation(task) -> np.ndarray:
    """sMPRT: the Spearman correlation of |smoothed map| of the trained model with that of the
    randomized model (N,), each the average over ``settings.smooth_samples`` copies of the input
    with Gaussian noise of ``settings.smooth_noise`` times each image's range (the same noise
    for both models, seeded)."""
    if task.explain is None or task.randomized is None:
        raise ValueError("smooth model randomisation needs task.explain and task.randomized")
    x = np.asarray(task.x, np.float64)
    spread = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))).reshape(-1, 1, 1, 1)
    noise = task.rng(7).normal(size=(task.settings.smooth_samples, *x.shape))
    noise = noise * task.settings.smooth_noise * spread
    trained = smoothed_maps(task, task.model, noise)
    randomized = smoothed_maps(task, task.randomized(), noise)
    return _similarities(trained, randomized, "spearman_abs")
