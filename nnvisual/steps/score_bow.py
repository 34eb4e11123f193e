"""Step ``score-bow``: reconstructions scored against class images with descriptors
(docs/study.md, "Bag of visual words"; Figure 6, Table 3).

Given the features of each phase's reconstructions (``before`` / ``after`` retraining, or one
folder), of the class images and of the training images:

- a vocabulary is fitted on the class images' descriptors; every image becomes a word
  histogram; a reconstruction's score against a class image is the cosine of the histograms,
  and its maximum over the class images is the reconstruction's score (Table 3). The weighting
  is consistent (:mod:`nnvisual.descriptors.bow`) or, with ``weighting: study-2019``, the
  study's own (:mod:`nnvisual.descriptors.study2019`; docs/table3.md);
- each training image's contribution to a reconstruction is its count of RANSAC inliers among
  the ratio-test matches, and its share that count over the reconstruction's total;
- Harris corner repeatability of each reconstruction with each training image.

:func:`maximize_run_phases` reads a maximize run's reconstructions (checked against its
manifest); :func:`score` computes a :class:`Scoring`; the ``*_table`` functions turn it into
(header, rows) for the command layer to write.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from nnvisual import data
from nnvisual.descriptors import harris, stats
from nnvisual.descriptors.bow import VisualVocabulary, cosine_scores
from nnvisual.descriptors.extract import ImageFeatures
from nnvisual.descriptors.matching import MatchIndex
from nnvisual.descriptors.study2019 import StudyVocabulary
from nnvisual.errors import UserError
from nnvisual.runs.reading import verify_outputs

MAXIMIZE_PHASES = ("before", "after")  # a maximize run's reconstructions, by retraining


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Named RGB uint8 images: a phase of reconstructions, the class or the training images."""

    name: str
    images: np.ndarray
    names: list[str]


@dataclasses.dataclass(frozen=True)
class PhaseScores:
    """One phase's reconstructions against the class images (``scores``, histograms) and the
    training images (``inliers``, ``repeatability``), one row per reconstruction."""

    reconstructions: ImageSet
    features: list[ImageFeatures]
    histograms: np.ndarray
    scores: np.ndarray
    inliers: np.ndarray
    repeatability: np.ndarray

    @property
    def max_scores(self) -> np.ndarray:
        """Each reconstruction's score: its maximum over the class images (Table 3)."""
        return self.scores.max(axis=1)

    @property
    def closest(self) -> np.ndarray:
        """Index of each reconstruction's best-scoring class image."""
        return self.scores.argmax(axis=1)

    @property
    def shares(self) -> np.ndarray:
        """Each training image's share of a reconstruction's inliers (0 when it has none)."""
        totals = self.inliers.sum(axis=1, keepdims=True)
        return self.inliers / np.where(totals > 0, totals, 1)


@dataclasses.dataclass(frozen=True)
class Scoring:
    """Everything score-bow computed: each phase's scores, and the collections and vocabulary
    they were scored against (the tables and figures are drawn from it)."""

    phases: list[PhaseScores]
    class_images: ImageSet
    class_features: list[ImageFeatures]
    class_histograms: np.ndarray
    training_images: ImageSet
    training_features: list[ImageFeatures]
    vocabulary: VisualVocabulary | StudyVocabulary
    weighting: str = "consistent"  # one of choices.BOW_WEIGHTINGS


def maximize_run_phases(run_dir: Path, side: tuple[int, int], manifest: dict) -> list[ImageSet]:
    """The reconstructions of the complete maximize run folder ``run_dir`` (``manifest``: its
    manifest), resized to ``side``: one phase per image folder it holds, ``before/`` and (with
    retraining) ``after/``. UserError when an image the run recorded there is missing or changed,
    or one it did not record was added (:func:`nnvisual.runs.reading.verify_outputs`)."""
    folders = {phase: data.list_images(run_dir / phase) for phase in MAXIMIZE_PHASES
               if (run_dir / phase).is_dir()}
    recorded = [name for name in manifest.get("outputs") or {}
                if name.partition("/")[0] in MAXIMIZE_PHASES]
    found = [f"{phase}/{path.name}" for phase, paths in folders.items() for path in paths]
    verify_outputs(run_dir, manifest, sorted({*recorded, *found}))
    phases = [ImageSet(phase, data.read_images(paths, side), [path.name for path in paths])
              for phase, paths in folders.items() if paths]
    if not phases:
        raise UserError(f"maximize run {run_dir} has no images in before/ or after/")
    return phases


def vocabulary_for(config) -> VisualVocabulary | StudyVocabulary:
    """The unfitted vocabulary of ``config.weighting``: consistent tf-idf or the study's."""
    if config.weighting == "study-2019":
        return StudyVocabulary(config.vocab_size, config.seed, config.study_idf)
    return VisualVocabulary(config.vocab_size, config.seed, config.idf)


def score(phases: list[ImageSet], class_images: ImageSet, training_images: ImageSet,
          features_of: Callable[[np.ndarray], list[ImageFeatures]], config,
          progress: Callable[[int, int, str], None] = lambda done, total, label: None
          ) -> Scoring:
    """Score every phase's reconstructions (see the module docstring).

    ``features_of`` gives the features of an image array (e.g. :func:`extract.extract` or the
    cached :func:`extract.cached_features`); ``config`` is a ``ScoreBowConfig`` (vocab_size,
    seed, weighting, idf, study_idf, ratio, ransac_iterations, ransac_threshold,
    repeatability_tolerance); ``progress(done, total, label)`` is told before the features are
    extracted and as each reconstruction is scored (``label``: its phase). BLAS and OpenMP run
    single-threaded: the matrices are small and their threads only contend (k-means ran 10x
    slower with them on a busy 2-core machine); instead, reconstructions are matched side by
    side in a thread pool, as extraction is.
    """
    done, total = 0, sum(len(phase.names) for phase in phases)
    progress(done, total, "features")
    class_features = features_of(class_images.images)
    training_features = (class_features if training_images is class_images
                         else features_of(training_images.images))
    phase_features = [features_of(phase.images) for phase in phases]
    with threadpool_limits(limits=1):
        vocabulary = vocabulary_for(config)
        class_histograms = vocabulary.fit_transform([f.features.descriptors
                                                     for f in class_features])
        index = MatchIndex([f.features for f in training_features])
        corners = harris.CornerIndex([f.corners for f in training_features])
        scored = []
        for reconstructions, features in zip(phases, phase_features, strict=True):
            histograms = vocabulary.transform([f.features.descriptors for f in features])
            inliers, repeatability = [], []
            for matched, f in zip(Parallel(n_jobs=-1, prefer="threads", return_as="generator")(
                    delayed(index.inliers)(f.features, config.ratio, config.ransac_iterations,
                                           config.ransac_threshold) for f in features),
                    features, strict=True):
                inliers.append(matched)
                repeatability.append(corners.repeatability(f.corners,
                                                           config.repeatability_tolerance))
                done += 1
                progress(done, total, reconstructions.name)
            scored.append(PhaseScores(reconstructions, features, histograms,
                                      cosine_scores(histograms, class_histograms),
                                      np.stack(inliers), np.stack(repeatability)))
    return Scoring(scored, class_images, class_features, class_histograms, training_images,
                   training_features, vocabulary, config.weighting)


def scores_table(result: Scoring):
    """Every (reconstruction, class image) cosine score."""
    rows = [(phase.reconstructions.name, recon, image, value)
            for phase in result.phases
            for recon, row in zip(phase.reconstructions.names, phase.scores, strict=True)
            for image, value in zip(result.class_images.names, row, strict=True)]
    return ("phase", "reconstruction", "class_image", "score"), rows


def table3_table(result: Scoring, n_resamples: int, seed: int):
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


def comparison_table(result: Scoring, n_resamples: int, seed: int):
    """After minus before retraining, paired by reconstruction file name: the mean difference
    of maximum scores, its 95% bootstrap interval and the Wilcoxon signed-rank p-value."""
    header = ("comparison", "n_pairs", "mean_difference", "ci_low", "ci_high",
              "wilcoxon_statistic", "p_value", "note")
    phases = {phase.reconstructions.name: phase for phase in result.phases}
    if "before" not in phases or "after" not in phases:
        note = "needs before/ and after/ reconstructions (a maximize run with --retrain-on)"
        return header, [("after - before", 0, *[math.nan] * 5, note)]
    before, after = (dict(zip(phases[p].reconstructions.names, phases[p].max_scores, strict=True))
                     for p in MAXIMIZE_PHASES)
    paired = sorted(before.keys() & after.keys())
    c = stats.paired_comparison([after[n] for n in paired], [before[n] for n in paired],
                                n_resamples, seed)
    return header, [("after - before", c.n, c.mean_difference, *c.interval, c.statistic,
                     c.p_value, c.note)]


def contributions_table(result: Scoring):
    """Every (reconstruction, training image) RANSAC inlier count and its share."""
    rows = [(phase.reconstructions.name, recon, image, count, share)
            for phase in result.phases
            for recon, counts, shares in zip(phase.reconstructions.names, phase.inliers,
                                             phase.shares, strict=True)
            for image, count, share in zip(result.training_images.names, counts, shares,
                                           strict=True)]
    return ("phase", "reconstruction", "training_image", "inlier_matches", "share"), rows


def harris_table(result: Scoring):
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


def keypoints_table(result: Scoring):
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
    header, rows = keypoints_table(result)
    summary = {}
    for name in dict.fromkeys(row[0] for row in rows):
        counts = np.array([row[2] for row in rows if row[0] == name])
        summary[name] = {"images": len(counts), "median": float(np.median(counts)),
                         "min": int(counts.min()), "max": int(counts.max()),
                         "without_keypoints": int(np.count_nonzero(counts == 0))}
    return summary
