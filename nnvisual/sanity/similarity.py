"""How similar two attribution maps are (Adebayo et al. 2018, section 3): Spearman rank
correlation of the absolute values and of the signed values, SSIM and the Pearson correlation of
the maps' HOG features. SSIM and HOG compare |map| scaled to [0, 1] by its maximum. A constant map
(e.g. a Grad-CAM map that ReLU zeroed) shares no ranking: its correlations count as 0."""

from __future__ import annotations

import numpy as np
from scipy import stats
from skimage.feature import hog
from skimage.metrics import structural_similarity

METRICS = ("spearman_abs", "spearman", "ssim", "hog")


def _correlation(a, b, rank: bool) -> float:
    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b)[0] if rank else np.corrcoef(a, b)[0, 1])


def _unit(m):
    m = np.abs(np.asarray(m, np.float64))
    top = m.max()
    return m / top if top > 0 else m


def _hog(m):
    cell = max(2, min(m.shape) // 8)
    return hog(_unit(m), orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
               feature_vector=True)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps' signed values (0 when one is constant)."""
    return _correlation(a, b, rank=True)


def similarity(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The four similarities of two (H, W) maps."""
    return {"spearman_abs": _correlation(np.abs(a), np.abs(b), rank=True),
            "spearman": spearman(a, b),
            "ssim": float(structural_similarity(_unit(a), _unit(b), data_range=1.0,
                                                win_size=min(7, (min(a.shape) - 1) // 2 * 2 + 1))),
            "hog": _correlation(_hog(a), _hog(b), rank=False)}
