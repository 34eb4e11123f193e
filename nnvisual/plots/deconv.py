"""Figures of DeconvNet projections (docs/study.md, "DeconvNet": Figures 3 and 4;
Zeiler & Fergus 2014 Figure 2).

Every projection is shown with the study's display normalization, ``display.deprocess``:
(x - mean) / std * 0.1 + 0.5, clipped to [0, 1], computed per panel (per crop for crops).
"""

import matplotlib
import numpy as np
from matplotlib.patches import Rectangle

from nnvisual.plots import deprocess, subplots

DISPLAY_NOTE = "display (docs/study.md), per panel: (x - mean) / std * 0.1 + 0.5, clipped to [0, 1]"
FIELD_NOTE = "; crops normalized on their own; light grey: field outside the image"
COLORS = [color for i, color in enumerate(matplotlib.colormaps["tab10"].colors) if i != 7]  # 7 is grey


def _show(axis, image, title=None, fontsize=8):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
    axis.set_facecolor("0.8")
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=fontsize)


def _field(image, box, field_size, normalize=False):
    """The receptive field ``box`` of ``image`` (display-normalized on its own if ``normalize``)
    on a canvas of the unclipped ``field_size``, transparent where the image border clipped the
    field (the panel's grey background shows there)."""
    top, left, bottom, right = (int(v) for v in box)
    crop = image[top:bottom, left:right]
    crop = deprocess(crop) if normalize else crop
    height, width = crop.shape[:2]
    canvas = np.zeros((max(field_size[0], height), max(field_size[1], width), 4), np.uint8)
    row, col = (_offset(side - size, start == 0, end == limit)
                for side, size, start, end, limit in (
                    (canvas.shape[0], height, top, bottom, image.shape[0]),
                    (canvas.shape[1], width, left, right, image.shape[1])))
    canvas[row:row + height, col:col + width, :3] = crop if crop.ndim == 3 else crop[..., None]
    canvas[row:row + height, col:col + width, 3] = 255
    return canvas


def _offset(margin, clipped_before, clipped_after):
    """Where a crop clipped by the image border sits on its square: against the kept side."""
    if clipped_before and not clipped_after:
        return margin
    return margin // 2 if clipped_before else 0


def _label(method, mode):
    start = "its strongest activation" if mode == "max" else "its whole map"
    return f"{method}, each channel projected from {start}"


def _field_row(axes, image, boxes, projections, field_sizes):
    """A row of receptive-field crops: the input with the fields outlined, then each projection
    cropped to its field, framed in its outline's colour."""
    _show(axes[0], image, "receptive fields")
    for i, (axis, box, projection, size) in enumerate(
            zip(axes[1:], boxes, projections, field_sizes, strict=True)):
        top, left, bottom, right = (int(v) for v in box)
        color = COLORS[i % len(COLORS)]
        axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                    fill=False, lw=0.8, color=color))
        inside = f"{bottom - top}x{right - left}"
        whole = f"{size[0]}x{size[1]}"
        title = f"field {whole} px" + ("" if whole == inside else f"\n{inside} in the image")
        _show(axis, _field(projection, box, size, normalize=True), title, fontsize=7)
        for spine in axis.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(1.5)


def _finish(figure, title, mode, fontsize=10):
    figure.suptitle(title, fontsize=fontsize)
    note = DISPLAY_NOTE + (FIELD_NOTE if mode == "max" else "")
    figure.text(0.5, 0.0, note, ha="center", va="bottom", fontsize=7, color="0.3")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return figure


def layer_figure(image, result, method: str, mode: str):
    """The input and the top-k projections of one layer; for ``mode == "max"`` a second row with
    each projection cropped to the receptive field of its activation (input: the fields)."""
    k = len(result.channels)
    rows = 2 if mode == "max" else 1
    figure, axes = subplots(rows, k + 1, figsize=(1.55 * (k + 1), 1.9 * rows + 0.7),
                            squeeze=False)
    _show(axes[0, 0], image, "input")
    for i, (channel, activation, projection) in enumerate(
            zip(result.channels, result.activations, result.projections, strict=True)):
        _show(axes[0, i + 1], deprocess(projection), f"channel {channel}\nmax {activation:.3g}")
    if mode == "max":
        _field_row(axes[1], image, result.boxes, result.projections, [result.field_size] * k)
    return _finish(figure, f"{result.layer}: top-{k} feature maps in pixel space "
                           f"({_label(method, mode)})", mode)


def overview_figure(image, results, method: str, mode: str, model_name: str):
    """Figures 3/4 of the study: the input and, per layer, its strongest channel's projection
    (in ``max`` mode also cropped to its receptive field, where small fields become visible)."""
    rows = 2 if mode == "max" else 1
    figure, axes = subplots(rows, len(results) + 1,
                            figsize=(2.1 * (len(results) + 1), 2.4 * rows + 0.6), squeeze=False)
    _show(axes[0, 0], image, "input", fontsize=9)
    for axis, result in zip(axes[0, 1:], results, strict=True):
        _show(axis, deprocess(result.projections[0]),
              f"{result.layer}\nchannel {result.channels[0]}, max {result.activations[0]:.3g}",
              fontsize=9)
    if mode == "max":
        _field_row(axes[1], image, [r.boxes[0] for r in results],
                   [r.projections[0] for r in results], [r.field_size for r in results])
    return _finish(figure, f"{model_name}: strongest feature map of each layer in pixel space "
                           f"({_label(method, mode)})", mode)


def top9_figure(top, inputs, method: str, mode: str):
    """Zeiler & Fergus Figure 2: per channel (row), the projections of its strongest dataset
    images cropped to the receptive field (left) beside the matching image patches (right).
    ``inputs[i, j]`` is the uint8 image (at the model's size) of ``top.projections[i, j]``."""
    k, n = top.indices.shape
    figure, axes = subplots(k, 2 * n + 1, figsize=(0.75 * (2 * n + 1) + 0.6, 0.85 * k + 0.9),
                            squeeze=False,
                            gridspec_kw={"width_ratios": [1] * n + [0.3] + [1] * n})
    for i in range(k):
        axes[i, n].axis("off")
        for j in range(n):
            box = top.boxes[i, j]
            _show(axes[i, j], _field(top.projections[i, j], box, top.field_size, normalize=True))
            _show(axes[i, n + 1 + j], _field(inputs[i, j], box, top.field_size))
        axes[i, 0].set_ylabel(f"ch {top.channels[i]}", fontsize=8, rotation=0, ha="right",
                              va="center")
    axes[0, n // 2].set_title("projections (strongest image first)", fontsize=8)
    axes[0, n + 1 + n // 2].set_title("image patches", fontsize=8)
    figure.suptitle(f"{top.layer}: the {n} images that activate each channel most "
                    f"({_label(method, mode)}; crops: receptive field)", fontsize=9)
    figure.text(0.5, 0.0, DISPLAY_NOTE + FIELD_NOTE, ha="center", va="bottom", fontsize=7,
                color="0.3")
    figure.tight_layout(rect=(0, 0.02, 1, 1), w_pad=0.1, h_pad=0.2)
    return figure
