"""Figures of the sanity checks (``nnvisual sanity``): Adebayo et al. (2018)'s cascading grid
(rows: methods; columns: the original model, then the layers randomized from the top down), the
similarity curves with their bootstrap intervals, and the deletion/insertion curves (Petsiuk et
al. 2018)."""

import numpy as np

from nnvisual.plots import subplots
from nnvisual.plots.attribution import DISPLAY_NOTE, display_map

GRID_STAGES = 12  # stages in the cascading grid at most
LABELED_STAGES = 16  # stage names on a similarity curve's axis at most


def shown_stages(count: int, most: int) -> np.ndarray:
    """Indices of at most ``most`` of ``count`` stages, evenly spaced, the first and the last
    included (a deep network has a stage per weighted layer: over 100 for EfficientNet-Lite0)."""
    return np.unique(np.round(np.linspace(0, count - 1, min(count, most))).astype(int))


def cascading_grid(image, name: str, labels, original: dict, maps: dict):
    """One image: for each method (row), its map on the original model and after each
    cascading stage (``maps[method]`` is (stages, H, W)); at most :data:`GRID_STAGES` stages,
    evenly spaced, when there are more."""
    methods = list(original)
    shown = shown_stages(len(labels), GRID_STAGES)
    columns = len(shown) + 2
    figure, axes = subplots(len(methods), columns, figsize=(1.3 * columns, 1.4 * len(methods) + 0.6),
                            squeeze=False)
    for row, method in enumerate(methods):
        axes[row, 0].imshow(image, interpolation="nearest")
        panels = [original[method], *maps[method][shown]]
        for column, panel in enumerate(panels, start=1):
            axes[row, column].imshow(display_map(panel), cmap="gray", vmin=0, vmax=1,
                                     interpolation="nearest")
        axes[row, 0].set_ylabel(method, fontsize=7)
        for axis in axes[row]:
            axis.set_xticks([])
            axis.set_yticks([])
    for column, title in enumerate([name, "original", *(labels[i] for i in shown)]):
        axes[0, column].set_title(title, fontsize=6, rotation=30 if column > 1 else 0)
    subset = f" ({len(shown)} of {len(labels)} stages shown)" if len(shown) < len(labels) else ""
    figure.suptitle(f"cascading randomization, top layer first{subset}; {DISPLAY_NOTE}", fontsize=7)
    figure.tight_layout()
    return figure


def similarity_curves(mode: str, labels, summaries: dict[str, dict]):
    """One panel per metric: mean similarity to the original map per stage, 95% band; every
    stage is plotted, at most :data:`LABELED_STAGES` of them named on the axis."""
    figure, axes = subplots(1, len(summaries), figsize=(3.4 * len(summaries), 3.4), squeeze=False)
    positions = np.arange(len(labels))
    named = shown_stages(len(labels), LABELED_STAGES)
    for axis, (metric, by_method) in zip(axes[0], summaries.items(), strict=True):
        for method, (mean, low, high) in by_method.items():
            axis.plot(positions, mean, marker="o", markersize=3 if len(labels) <= 30 else 1,
                      label=method)
            axis.fill_between(positions, low, high, alpha=0.2)
        axis.axhline(0, color="0.6", linewidth=0.6)
        axis.set_xticks(named, [labels[i] for i in named], rotation=60, fontsize=6)
        axis.set_ylim(-0.3, 1.05)
        axis.set_title(metric, fontsize=9)
    axes[0, 0].set_ylabel("similarity to the original map")
    axes[0, -1].legend(fontsize=6)
    figure.suptitle(f"{mode} randomization (mean over images, 95% bootstrap interval)", fontsize=9)
    figure.tight_layout()
    return figure


def faithfulness_curves(curves: dict[str, dict[str, np.ndarray]]):
    """Mean probability of the explained class along the deletion and insertion curves."""
    figure, axes = subplots(1, len(curves), figsize=(4 * len(curves), 3.4), squeeze=False)
    for axis, (curve, by_method) in zip(axes[0], curves.items(), strict=True):
        for method, values in by_method.items():
            fractions = np.linspace(0, 1, values.shape[1])
            axis.plot(fractions, values.mean(axis=0), label=method)
        axis.set_xlabel(f"fraction of pixels {'deleted' if curve == 'deletion' else 'inserted'}")
        axis.set_ylabel("probability of the class")
        axis.set_title(curve, fontsize=9)
    axes[0, -1].legend(fontsize=6)
    figure.tight_layout()
    return figure
