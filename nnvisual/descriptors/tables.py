"""The score-bow tables as (header, rows), ready for :meth:`nnvisual.runs.Run.write_csv`."""

from __future__ import annotations

import math

import numpy as np

from nnvisual.descriptors import stats
from nnvisual.descriptors.scoring import Scoring


def scores(result: Scoring):
    """Every (reconstruction, class image) cosine score."""
    rows = [(phase.reconstructions.name, recon, image, value)
            for phase in result.phases
            for recon, row in zip(phase.reconstructions.names, phase.scores, strict=True)
            for image, value in zip(result.class_images.names, row, strict=True)]
    return ("phase", "reconstruction", "class_image", "score"), rows


def table3(result: Scoring, n_resamples: int, seed: int):
    """Table 3: per phase, the mean and median of the reconstructions' maximum scores, with
    95% bootstrap intervals."""
    header = ("phase", "n", "mean_max_score", "mean_ci_low", "mean_ci_high",
              "median_max_score", "median_ci_low", "median_ci_high")
    rows = []
    for phase in result.phases:
        s = stats.summarize(phase.max_scores, n_resamples, seed)
        rows.append((phase.reconstructions.name, s.n, s.mean, *s.mean_interval,
                     s.median, *s.median_interval))
    return header, rows


def comparison(result: Scoring, n_resamples: int, seed: int):
    """After minus before retraining, paired by reconstruction file name: the mean difference
    of maximum scores, its 95% bootstrap interval and the Wilcoxon signed-rank p-value."""
    header = ("comparison", "n_pairs", "mean_difference", "ci_low", "ci_high",
              "wilcoxon_statistic", "p_value", "note")
    phases = {phase.reconstructions.name: phase for phase in result.phases}
    if "before" not in phases or "after" not in phases:
        note = "needs before/ and after/ reconstructions (a maximize run with --retrain-on)"
        return header, [("after - before", 0, *[math.nan] * 5, note)]
    before, after = (dict(zip(phases[p].reconstructions.names, phases[p].max_scores, strict=True))
                     for p in ("before", "after"))
    paired = sorted(before.keys() & after.keys())
    c = stats.paired_comparison([after[n] for n in paired], [before[n] for n in paired],
                                n_resamples, seed)
    return header, [("after - before", c.n, c.mean_difference, *c.interval, c.statistic,
                     c.p_value, c.note)]


def contributions(result: Scoring):
    """Every (reconstruction, training image) RANSAC inlier count and its share."""
    rows = [(phase.reconstructions.name, recon, image, count, share)
            for phase in result.phases
            for recon, counts, shares in zip(phase.reconstructions.names, phase.inliers,
                                             phase.shares, strict=True)
            for image, count, share in zip(result.training_images.names, counts, shares,
                                           strict=True)]
    return ("phase", "reconstruction", "training_image", "inlier_matches", "share"), rows


def harris(result: Scoring):
    """Harris corner repeatability of every (reconstruction, training image) pair."""
    image_corners = [len(f.corners) for f in result.training_features]
    rows = [(phase.reconstructions.name, recon, image, len(features.corners), count, value)
            for phase in result.phases
            for recon, features, values in zip(phase.reconstructions.names, phase.features,
                                                phase.repeatability, strict=True)
            for image, count, value in zip(result.training_images.names, image_corners, values,
                                           strict=True)]
    return ("phase", "reconstruction", "training_image", "reconstruction_corners",
            "image_corners", "repeatability"), rows


def keypoints(result: Scoring):
    """Descriptor keypoints and Harris corners found in every image, by set."""
    sets = [(p.reconstructions.name, p.reconstructions.names, p.features) for p in result.phases]
    sets.append(("class_images", result.class_images.names, result.class_features))
    if result.training_images is not result.class_images:
        sets.append(("training_images", result.training_images.names,
                     result.training_features))
    rows = [(name, image, len(f.features), len(f.corners))
            for name, images, found in sets for image, f in zip(images, found, strict=True)]
    return ("set", "image", "keypoints", "harris_corners"), rows


def keypoint_summary(result: Scoring) -> dict[str, dict]:
    """Per set: median, minimum and maximum keypoints per image and the images with none."""
    header, rows = keypoints(result)
    summary = {}
    for name in dict.fromkeys(row[0] for row in rows):
        counts = np.array([row[2] for row in rows if row[0] == name])
        summary[name] = {"images": len(counts), "median": float(np.median(counts)),
                         "min": int(counts.min()), "max": int(counts.max()),
                         "without_keypoints": int(np.count_nonzero(counts == 0))}
    return summary
