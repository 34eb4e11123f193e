"""Figures of attribution maps (``nnvisual attribute``): per image, the image, each method's map
as a heatmap over it and on its own; and a grid of images x methods.

Display: each map's absolute value divided by its 99th percentile, clipped to [0, 1] (signed
methods are shown by magnitude; the raw signed maps are in attributions.npz)."""

import numpy as np

from nnvisual.plots import subplots

DISPLAY_NOTE = "maps shown as |map| / 99th percentile of |map|, clipped to [0, 1]"


def display_map(attribution_map: np.ndarray) -> np.ndarray:
    magnitude = np.abs(np.asarray(attribution_map, np.float64))
    scale = np.percentile(magnitude, 99)
    return np.clip(magnitude / scale, 0, 1) if scale > 0 else np.zeros_like(magnitude)


def _panel(axis, title=None):
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=8)


def _overlay(axis, image, attribution_map):
    axis.imshow(image, interpolation="nearest")
    axis.imshow(display_map(attribution_map), cmap="jet", alpha=0.5, vmin=0, vmax=1,
                interpolation="nearest")


def image_figure(image: np.ndarray, name: str, class_name: str, probability: float,
                 maps: dict[str, np.ndarray]):
    """Top row: the image and each map over it; bottom row: each map on its own."""
    count = len(maps)
    figure, axes = subplots(2, count + 1, figsize=(2.2 * (count + 1), 4.6), squeeze=False)
    axes[0, 0].imshow(image, interpolation="nearest")
    _panel(axes[0, 0], f"{name}\n{class_name} (p={probability:.3f})")
    axes[1, 0].axis("off")
    for column, (method, attribution_map) in enumerate(maps.items(), start=1):
        _overlay(axes[0, column], image, attribution_map)
        _panel(axes[0, column], method)
        axes[1, column].imshow(display_map(attribution_map), cmap="gray", vmin=0, vmax=1,
                               interpolation="nearest")
        _panel(axes[1, column], f"{method} alone")
    figure.suptitle(DISPLAY_NOTE, fontsize=7, y=0.02)
    figure.tight_layout()
    return figure


def grid_figure(images, names, class_names, probabilities, maps: dict[str, np.ndarray],
                heading: str | None = None):
    """Rows: images; columns: the image, then each method's map over it; ``heading`` (e.g. the
    epoch) above the display note."""
    rows, methods = len(images), list(maps)
    height = 2.2 * rows + 0.4  # each row's two-line title, and the display note above
    figure, axes = subplots(rows, len(methods) + 1, figsize=(1.9 * (len(methods) + 1), height),
                            squeeze=False, layout="constrained")  # titles and note given room
    for row in range(rows):
        axes[row, 0].imshow(images[row], interpolation="nearest")
        _panel(axes[row, 0], f"{names[row]}\n{class_names[row]} {probabilities[row]:.2f}")
        for column, method in enumerate(methods, start=1):
            _overlay(axes[row, column], images[row], maps[method][row])
            _panel(axes[row, column], method if row == 0 else None)
    figure.suptitle(DISPLAY_NOTE if heading is None else f"{heading}\n{DISPLAY_NOTE}", fontsize=7)
    return figure
