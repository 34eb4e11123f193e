"""Bootstrap confidence intervals and a paired test for the scores (the study reported neither).

Percentile bootstrap (Efron & Tibshirani 1993) with a seeded ``numpy.random.Generator``, so the
same seed gives the same interval; the paired comparison is the Wilcoxon signed-rank test
(``scipy.stats.wilcoxon``) with the bootstrap interval of the mean difference.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95


def bootstrap_interval(values, statistic=np.mean, n_resamples: int = 10_000, seed: int = 0,
                       level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of ``statistic`` (a numpy reduction taking ``axis``) over resamples."""
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    resamples = values[rng.integers(0, len(values), size=(n_resamples, len(values)))]
    low, high = np.quantile(statistic(resamples, axis=1), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


@dataclasses.dataclass(frozen=True)
class Summary:
    """Mean and median of a sample with their bootstrap intervals."""

    n: int
    mean: float
    mean_interval: tuple[float, float]
    median: float
    median_interval: tuple[float, float]


def summarize(values, n_resamples: int = 10_000, seed: int = 0) -> Summary:
    values = np.asarray(values, np.float64)
    empty = len(values) == 0
    return Summary(
        n=len(values),
        mean=math.nan if empty else float(values.mean()),
        mean_interval=bootstrap_interval(values, np.mean, n_resamples, seed),
        median=math.nan if empty else float(np.median(values)),
        median_interval=bootstrap_interval(values, np.median, n_resamples, seed))


@dataclasses.dataclass(frozen=True)
class PairedComparison:
    """``after - before`` on paired values: mean difference, its interval, Wilcoxon p-value.

    ``note`` says why the p-value is NaN when the test cannot be run."""

    n: int
    mean_difference: float
    interval: tuple[float, float]
    statistic: float
    p_value: float
    note: str


def paired_comparison(after, before, n_resamples: int = 10_000, seed: int = 0) -> PairedComparison:
    after, before = np.asarray(after, np.float64), np.asarray(before, np.float64)
    if after.shape != before.shape:
        raise ValueError(f"paired samples differ in length: {after.shape} vs {before.shape}")
    differences = after - before
    mean = float(differences.mean()) if len(differences) else math.nan
    interval = bootstrap_interval(differences, np.mean, n_resamples, seed)
    if len(differences) < 2:
        return PairedComparison(len(differences), mean, interval, math.nan, math.nan,
                                f"{len(differences)} pair(s): the signed-rank test needs 2 or more")
    if not np.any(differences):
        return PairedComparison(len(differences), mean, interval, math.nan, math.nan,
                                "all differences are zero")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns that small samples use the exact test
        result = scipy_stats.wilcoxon(after, before)
    return PairedComparison(len(differences), mean, interval, float(result.statistic),
                            float(result.pvalue), "")
