"""descriptors.stats: bootstrap intervals and the paired comparison, on hand-checkable cases."""

import math

import numpy as np
import pytest

from nnvisual.descriptors import stats


def test_bootstrap_interval_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(0.5, 0.1, 20)
    low, high = stats.bootstrap_interval(values, np.mean, 2000, seed=3)
    assert low < values.mean() < high
    assert (low, high) == stats.bootstrap_interval(values, np.mean, 2000, seed=3)
    assert (low, high) != stats.bootstrap_interval(values, np.mean, 2000, seed=4)
    assert stats.bootstrap_interval([0.2, 0.2, 0.2], np.median, 500) == (0.2, 0.2)
    summary = stats.summarize(values, 2000, 3)
    assert summary.n == 20 and summary.median == pytest.approx(np.median(values))


def test_paired_comparison_by_hand():
    before = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    after = before + np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    result = stats.paired_comparison(after, before, 1000, 0)
    # all 5 differences positive: exact two-sided signed-rank p = 2 / 2^5
    assert result.p_value == pytest.approx(2 / 32)
    assert result.mean_difference == pytest.approx(0.03)
    assert result.interval[0] <= 0.03 <= result.interval[1] and result.note == ""
    one = stats.paired_comparison([0.5], [0.4], 1000, 0)
    assert math.isnan(one.p_value) and "needs 2" in one.note
    same = stats.paired_comparison(before, before, 1000, 0)
    assert math.isnan(same.p_value) and same.note == "all differences are zero"
