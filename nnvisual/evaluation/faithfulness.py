"""Does removing what the map calls important change the score? ROAD (Rong et al. 2022: remove
pixels most relevant first, MoRF, or least relevant first, LeRF, filled in by noisy linear
imputation so that the inputs stay near the images the model knows), faithfulness correlation
(Bhatt et al. 2020), pixel flipping (Bach et al. 2015), region perturbation (Samek et al. 2017)
and the deletion and insertion curves (Petsiuk et al. 2018; :mod:`nnvisual.sanity.faithfulness`,
the one implementation, which ``nnvisual sanity`` uses too).

Pixels are the features: a pixel removed loses all its channels at once, to the task's baseline
(pixel flipping, region perturbation, faithfulness correlation, deletion) or to the imputation
(ROAD); rankings break ties in row-major order."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from nnvisual.evaluation.task import scores_repeated
from nnvisual.sanity import faithfulness as curves

# ROAD's imputation: each missing pixel is the weighted mean of its 8 neighbours (Rong et al.
# 2022, as their code and pytorch-grad-cam's NoisyLinearImputer weigh them)
NEIGHBOURS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
              ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))


def linear_imputation(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) with the pixels where ``keep`` (H, W) is False replaced by the solution
    of the linear system that makes each of them the weighted mean of its neighbours inside the
    image (:data:`NEIGHBOURS`, weights renormalized at the border), known or imputed. Float64."""
    height, width = keep.shape
    flat = np.asarray(image, np.float64).reshape(height * width, -1)
    keep = np.asarray(keep, bool).ravel()
    missing = np.flatnonzero(~keep)
    out = flat.copy()
    if missing.size == 0:
        return out.reshape(image.shape)
    variable = np.full(height * width, -1)
    variable[missing] = np.arange(missing.size)
    rows_, cols_ = missing // width, missing % width
    diagonal = np.ones(missing.size)
    right = np.zeros((missing.size, flat.shape[1]))
    a_rows, a_cols, a_values = [], [], []
    for (dy, dx), weight in NEIGHBOURS:
        y, x = rows_ + dy, cols_ + dx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        diagonal[~inside] -= weight
        neighbour = np.where(inside, y * width + x, 0)
        known = inside & keep[neighbour]
        right[known] -= weight * flat[neighbour[known]]
        unknown = inside & ~keep[neighbour]
        a_rows.append(np.flatnonzero(unknown))
        a_cols.append(variable[neighbour[unknown]])
        a_values.append(np.full(unknown.sum(), weight))
    n = missing.size
    system = sparse.csc_matrix((np.concatenate([*a_values, -diagonal]),
                                (np.concatenate([*a_rows, np.arange(n)]),
                                 np.concatenate([*a_cols, np.arange(n)]))), shape=(n, n))
    solution = spsolve(system, right)
    out[missing] = solution.reshape(n, -1)
    return out.reshape(image.shape)


def _ranked(maps: np.ndarray, order: str) -> np.ndarray:
    """Pixel indices of each map, most relevant first (``morf``) or least relevant first."""
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    return np.argsort(-flat if order == "morf" else flat, axis=1, kind="stable")


def road_frames(task, order: str) -> np.ndarray:
    """(N, steps - 1, H, W, C): each image with the fraction ``k / steps`` (k = 1 .. steps - 1)
    of its pixels removed in ``order`` (``morf``/``lerf``), imputed with noise (standard deviation
    ``road_noise`` times the input's range, seeded)."""
    settings = task.settings
    n, height, width = task.maps.shape
    pixels = height * width
    ranked = _ranked(task.maps, order)
    rng = task.rng(1 if order == "morf" else 2)
    frames = np.empty((n, settings.steps - 1, *task.x.shape[1:]), np.float32)
    for i in range(n):
        for k in range(1, settings.steps):
            keep = np.ones(pixels, bool)
            removed = ranked[i, :round(pixels * k / settings.steps)]
            keep[removed] = False
            image = linear_imputation(task.x[i], keep.reshape(height, width))
            noise = rng.standard_normal((removed.size, task.x.shape[-1]))
            image.reshape(pixels, -1)[removed] += settings.road_noise * task.span * noise
            frames[i, k - 1] = image
    return frames


def road_curve(task, order: str) -> np.ndarray:
    """(N, steps - 1): the probability of each image's class along its ROAD curve."""
    return scores_repeated(task, road_frames(task, order), "probabilities")


def road_morf(task) -> np.ndarray:
    """ROAD, most relevant first: the mean probability of the class as 10%..90% of the pixels
    are imputed (lower: a more faithful map)."""
    return road_curve(task, "morf").mean(axis=1)


def road_lerf(task) -> np.ndarray:
    """ROAD, least relevant first: the mean probability as the least relevant pixels are
    imputed (higher: a more faithful map)."""
    return road_curve(task, "lerf").mean(axis=1)


def subsets(task) -> np.ndarray:
    """(N, runs, m) random pixel subsets, m = ``subset`` of the pixels (at least 1), seeded."""
    n, height, width = task.maps.shape
    pixels = height * width
    size = max(1, round(task.settings.subset * pixels))
    rng = task.rng(3)
    return np.stack([np.stack([rng.choice(pixels, size, replace=False)
                               for _ in range(task.settings.runs)]) for _ in range(n)])


def correlation_of_subsets(task, chosen: np.ndarray) -> np.ndarray:
    """Faithfulness correlation of the given subsets ``chosen`` (N, runs, m): per image, the
    Pearson correlation between the map's sum over each subset and the drop of the class logit
    when the subset is replaced by the baseline; 0 where either is constant."""
    n, runs, _ = chosen.shape
    pixels = task.maps[0].size
    flat_x = task.x.reshape(n, pixels, -1)
    flat_b = task.baselines.reshape(n, pixels, -1)
    frames = np.repeat(flat_x[:, None], runs, axis=1)
    for i in range(n):
        for r in range(runs):
            frames[i, r, chosen[i, r]] = flat_b[i, chosen[i, r]]
    drops = task.scores(task.x)[:, None] - scores_repeated(
        task, frames.reshape(n, runs, *task.x.shape[1:]))
    sums = np.take_along_axis(np.asarray(task.maps, np.float64).reshape(n, 1, pixels).repeat(
        runs, axis=1), chosen, axis=2).sum(axis=2)
    return np.array([_pearson(sums[i], drops[i]) for i in range(n)])


def _pearson(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / scale) if scale > 0 else 0.0


def faithfulness_correlation(task) -> np.ndarray:
    """Faithfulness correlation (Bhatt et al. 2020) over ``runs`` random subsets of ``subset`` of
    the pixels (higher: the map's sums predict what removing pixels does; 1 for a linear model's
    exact contributions)."""
    return correlation_of_subsets(task, subsets(task))


def pixel_flipping_curve(task) -> np.ndarray:
    """(N, steps + 1): the class logit as the pixels are replaced by the baseline, most relevant
    first, ``1 / steps`` of them more at each step (Bach et al. 2015, in equal steps)."""
    frames = np.stack([curves.curve_inputs(task.x[i], task.baselines[i], task.maps[i],
                                           task.settings.steps, "deletion")
                       for i in range(len(task.x))])
    return scores_repeated(task, frames)


def pixel_flipping(task) -> np.ndarray:
    """Pixel flipping: the area under :func:`pixel_flipping_curve` over the fraction 0..1,
    relative to the unperturbed logit's magnitude (lower: a more faithful map)."""
    curve = pixel_flipping_curve(task)
    return curves.area(curve) / np.maximum(np.abs(curve[:, 0]), 1e-12)


def region_order(maps: np.ndarray, patch: int) -> tuple[np.ndarray, int, int]:
    """(N, regions) region indices, largest summed map first, of the grid of ``patch`` x
    ``patch`` regions (the last row and column possibly smaller), and the grid's shape."""
    n, height, width = maps.shape
    rows, cols = -(-height // patch), -(-width // patch)
    padded = np.zeros((n, rows * patch, cols * patch))
    padded[:, :height, :width] = maps
    sums = padded.reshape(n, rows, patch, cols, patch).sum(axis=(2, 4)).reshape(n, -1)
    return np.argsort(-sums, axis=1, kind="stable"), rows, cols


def region_perturbation(task) -> np.ndarray:
    """Region perturbation (Samek et al. 2017): the AOPC, the mean drop of the class logit over
    the first ``regions`` steps, each replacing one more ``patch``-sided region by the baseline,
    largest map sum first (higher: a more faithful map)."""
    settings = task.settings
    n, height, width = task.maps.shape
    order, rows, cols = region_order(task.maps, settings.patch)
    count = min(settings.regions, rows * cols)
    frames = np.repeat(task.x[:, None], count, axis=1)
    for i in range(n):
        current = task.x[i].copy()
        for k in range(count):
            r, c = divmod(order[i, k], cols)
            ys = slice(r * settings.patch, (r + 1) * settings.patch)
            xs = slice(c * settings.patch, (c + 1) * settings.patch)
            current[ys, xs] = task.baselines[i, ys, xs]
            frames[i, k] = current
    return (task.scores(task.x)[:, None] - scores_repeated(task, frames)).mean(axis=1)


def deletion(task) -> np.ndarray:
    """Deletion (Petsiuk et al. 2018): the area under the class probability as pixels are
    replaced by the baseline, most relevant first (lower: a more faithful map)."""
    return curves.area(curves.curves(task.model, task.x, task.baselines, task.maps, task.classes,
                                     task.settings.steps, "deletion", task.settings.batch_size))


def insertion(task) -> np.ndarray:
    """Insertion (Petsiuk et al. 2018): the area under the class probability as pixels move from
    the baseline into the image, most relevant first (higher: a more faithful map)."""
    return curves.area(curves.curves(task.model, task.x, task.baselines, task.maps, task.classes,
                                     task.settings.steps, "insertion", task.settings.batch_size))
