"""The ranking figure of ``nnvisual evaluate``: methods (rows, best mean rank first) by metrics
(columns, with the direction that is better), each cell coloured by the method's rank on that
metric (green best, red worst) and holding the mean with its bootstrap interval; a value in
bold ties with the best (their intervals overlap); the last column is the mean rank."""

import math

import numpy as np

from nnvisual.plots import subplots


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    return f"{value:.3g}" if magnitude < 1000 else f"{value:.2e}"


def ranks(table: dict, methods: list, metrics: list, better: dict) -> np.ndarray:
    """(methods, metrics) rank of each method on each metric, 1 the best (NaN: no value)."""
    out = np.full((len(methods), len(metrics)), np.nan)
    for j, metric in enumerate(metrics):
        values = np.array([table[(m, metric)][0] for m in methods], np.float64)
        sign = -1 if better[metric] == "higher" else 1
        defined = np.isfinite(values)
        order = np.argsort(np.where(defined, sign * values, np.inf), kind="stable")
        out[order[:defined.sum()], j] = np.arange(1, defined.sum() + 1)
    return out


def ranking_figure(rows, better: dict, title: str):
    """``rows``: ``(method, metric, value, low, high, n)``; ``better``: metric -> ``higher`` or
    ``lower``."""
    table = {(r[0], r[1]): tuple(r[2:5]) for r in rows}
    methods = list(dict.fromkeys(r[0] for r in rows))
    metrics = list(dict.fromkeys(r[1] for r in rows))
    rank = ranks(table, methods, metrics, better)
    mean_rank = np.nanmean(np.where(np.isnan(rank), len(methods), rank), axis=1)
    order = np.argsort(mean_rank, kind="stable")
    methods = [methods[i] for i in order]
    rank, mean_rank = rank[order], mean_rank[order]
    columns = len(metrics) + 1
    figure, axis = subplots(1, 1, figsize=(1.45 * columns + 1.8, 0.62 * len(methods) + 1.5),
                            layout="constrained")
    shade = np.column_stack([rank, mean_rank])
    scale = max(len(methods) - 1, 1)
    # the colour map's pale middle range, so that the black text stays readable on every cell
    axis.imshow((shade - 1) / scale, cmap="RdYlGn_r", vmin=-0.4, vmax=1.4, aspect="auto")
    for j, metric in enumerate(metrics):
        best = methods[int(np.nanargmin(rank[:, j]))] if np.isfinite(rank[:, j]).any() else None
        best_low, best_high = table[(best, metric)][1:] if best else (np.nan, np.nan)
        for i, method in enumerate(methods):
            value, low, high = table[(method, metric)]
            tied = best is not None and low <= best_high and high >= best_low
            axis.text(j, i, f"{_fmt(value)}\n[{_fmt(low)}, {_fmt(high)}]", ha="center",
                      va="center", fontsize=7, fontweight="bold" if tied else "normal")
    for i, value in enumerate(mean_rank):
        axis.text(len(metrics), i, f"{value:.1f}", ha="center", va="center", fontsize=8,
                  fontweight="bold")
    arrows = {"higher": "\u2191", "lower": "\u2193"}
    axis.set_xticks(range(columns), [f"{m}\n{arrows[better[m]]} better" for m in metrics]
                    + ["mean rank"], fontsize=7, rotation=30, ha="right")
    axis.set_yticks(range(len(methods)), methods, fontsize=8)
    axis.set_xticks(np.arange(columns + 1) - 0.5, minor=True)
    axis.set_yticks(np.arange(len(methods) + 1) - 0.5, minor=True)
    axis.grid(which="minor", color="white", linewidth=2)
    axis.tick_params(which="minor", length=0)
    axis.axvline(len(metrics) - 0.5, color="black", linewidth=1)
    axis.set_title(title, fontsize=9)
    return figure


def ranking_title(model: str, images: int, bootstrap: int) -> str:
    return (f"Attribution methods on {model}, {images} images: mean per metric [95% bootstrap "
            f"interval over images]\ncolour: rank (green best); bold: interval overlaps the "
            f"best's; {bootstrap} resamples")
