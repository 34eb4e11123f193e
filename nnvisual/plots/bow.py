"""Figures of score-bow: Figure 6 (closest class images and word histograms) and contributions."""

from __future__ import annotations

import numpy as np

from nnvisual.plots import subplots

ROW_HEIGHT = 1.6  # inches per reconstruction
RECONSTRUCTION_COLOUR = "#1f77b4"
CLASS_COLOUR = "#ff7f0e"


def _show(axis, image, title, fontsize=9):
    axis.imshow(image, interpolation="nearest")
    axis.set_title(title, fontsize=fontsize)
    axis.set_xticks([])
    axis.set_yticks([])


def _panels(result, ratios, width):
    """A figure with one row per reconstruction and, per phase, a group of ``len(ratios)``
    columns side by side; yields (phase, index, axes of that reconstruction) and the figure.
    Panels a shorter phase does not fill are hidden."""
    rows = max(len(phase.reconstructions.names) for phase in result.phases)
    figure, axes = subplots(
        rows, len(ratios) * len(result.phases), squeeze=False, layout="constrained",
        figsize=(width * len(result.phases), ROW_HEIGHT * rows + 0.6),
        gridspec_kw={"width_ratios": list(ratios) * len(result.phases)})
    panels = []
    for p, phase in enumerate(result.phases):
        group = axes[:, p * len(ratios):(p + 1) * len(ratios)]
        for i, row in enumerate(group):
            if i < len(phase.reconstructions.names):
                panels.append((phase, i, row))
            else:
                for axis in row:
                    axis.axis("off")
    return figure, panels


def closest_images(result):
    """Figure 6: each reconstruction, its best-scoring class image, and both word histograms."""
    words = np.arange(result.vocabulary.n_words)
    figure, panels = _panels(result, (1, 1, 3.2), 9)
    for phase, i, (left, middle, right) in panels:
        best = phase.closest[i]
        _show(left, phase.reconstructions.images[i],
              f"{phase.reconstructions.name} {phase.reconstructions.names[i]}")
        _show(middle, result.class_images.images[best],
              f"closest: {result.class_images.names[best]}")
        width = 0.4
        right.bar(words - width / 2, phase.histograms[i], width, color=RECONSTRUCTION_COLOUR,
                  label="reconstruction")
        right.bar(words + width / 2, result.class_histograms[best], width, color=CLASS_COLOUR,
                  label="closest class image")
        keypoints = len(phase.features[i].features)
        note = "" if keypoints else " (no keypoints)"
        right.set_title(f"cosine score {phase.scores[i, best]:.3f}{note}", fontsize=9)
        right.set_xticks(words if len(words) <= 20 else words[::len(words) // 10])
        right.set_ylim(0, 1)
        right.set_ylabel("weight", fontsize=8)
        right.set_xlabel("visual word", fontsize=8)
        right.tick_params(labelsize=8)
    panels[0][2][2].legend(fontsize=8, loc="upper right", ncols=2, frameon=False)
    weighting = ("the study's 2019 weighting (asymmetric idf)" if result.weighting == "study-2019"
                 else "tf-idf, sqrt, L2")
    figure.suptitle(f"Closest class image by bag-of-visual-words score ({weighting})",
                    fontsize=12)
    return figure


def contributions(result, top: int = 5):
    """Each reconstruction beside the training images with most RANSAC inliers, with shares."""
    figure, panels = _panels(result, (1,) * (top + 1), 1.45 * (top + 1))
    for phase, i, row in panels:
        _show(row[0], phase.reconstructions.images[i],
              f"{phase.reconstructions.name} {phase.reconstructions.names[i]}")
        row[0].set_ylabel(f"{phase.inliers[i].sum()} inliers", fontsize=8)
        order = np.argsort(-phase.inliers[i], kind="stable")[:top]
        for axis in row[1 + len(order):]:
            axis.axis("off")
        for axis, j in zip(row[1:], order, strict=False):
            if phase.inliers[i, j] == 0:
                axis.axis("off")
                continue
            _show(axis, result.training_images.images[j],
                  f"{100 * phase.shares[i, j]:.1f}% ({phase.inliers[i, j]})", fontsize=8)
            axis.set_xlabel(result.training_images.names[j], fontsize=6)
    figure.suptitle(f"Top {top} contributing training images: share of RANSAC inliers (count)",
                    fontsize=12)
    return figure
