"""The evaluate step's summaries and the ranking figure's ranks, without a model."""

import math

import numpy as np

from nnvisual.config import EvaluateConfig
from nnvisual.plots import evaluate as plots
from nnvisual.steps import evaluate as step


def test_a_summary_skips_undefined_values_and_counts_the_rest():
    config = EvaluateConfig(bootstrap=200)
    mean, low, high, n = step.summary(np.array([1.0, np.nan, 3.0, 2.0]), config)
    assert (mean, n) == (2.0, 3) and 1.0 <= low <= mean <= high <= 3.0
    assert all(math.isnan(v) for v in step.summary(np.array([np.nan]), config)[:3])
    assert step.summary(np.array([np.nan]), config)[3] == 0


def test_ranks_follow_each_metrics_direction():
    table = {("a", "up"): (1.0,), ("b", "up"): (3.0,), ("c", "up"): (float("nan"),),
             ("a", "down"): (1.0,), ("b", "down"): (3.0,), ("c", "down"): (2.0,)}
    ranks = plots.ranks(table, ["a", "b", "c"], ["up", "down"], {"up": "higher", "down": "lower"})
    np.testing.assert_array_equal(ranks[:, 1], [1, 3, 2])
    assert list(ranks[:2, 0]) == [2, 1] and np.isnan(ranks[2, 0])


def test_the_ranking_figure_draws_every_cell():
    rows = [(m, k, v, v - 0.1, v + 0.1, 4) for m, v in (("a", 0.5), ("b", 0.7))
            for k in ("sparseness", "complexity")]
    figure = plots.ranking_figure(rows, {"sparseness": "higher", "complexity": "lower"}, "t")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "0.7\n[0.6, 0.8]" in texts and len(texts) == 4 + 2
