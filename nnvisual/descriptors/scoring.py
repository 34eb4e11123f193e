"""Score reconstructions against class images (PAPER.md "Descriptors", Figure 6, Table 3).

Given the features of each phase's reconstructions (``before`` / ``after`` retraining, or one
folder), of the class images and of the training images:

- a vocabulary is fitted on the class images' descriptors; every image becomes a word
  histogram; a reconstruction's score against a class image is the cosine of the histograms,
  and its maximum over the class images is the reconstruction's score (Table 3);
- each training image's contribution to a reconstruction is its count of RANSAC inliers among
  the ratio-test matches, and its share that count over the reconstruction's total;
- Harris corner repeatability of each reconstruction with each training image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from nnvisual import data, runs
from nnvisual.descriptors import harris
from nnvisual.descriptors.bow import VisualVocabulary, cosine_scores
from nnvisual.descriptors.extract import ImageFeatures
from nnvisual.descriptors.matching import MatchIndex
from nnvisual.errors import UserError

PHASES = ("before", "after")  # a maximize run's reconstructions, before and after retraining


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Named RGB uint8 images: a phase of reconstructions, the class or the training images."""

    name: str
    images: np.ndarray
    names: list[str]


def load_reconstructions(path: Path, size: int) -> list[ImageSet]:
    """The ``before``/``after`` images of a complete maximize run, or a plain folder's images
    as one phase named after the folder; all resized to ``size`` x ``size``."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"reconstructions not found: {path} (give a maximize run folder or a "
                        "folder of images)")
    if (path / runs.MANIFEST).exists():
        runs.require_complete_run(path, "maximize")
        phases = [p for p in PHASES if (path / p).is_dir() and data.list_images(path / p)]
        if not phases:
            raise UserError(f"maximize run {path} has no images in before/ or after/")
        return [ImageSet(p, data.read_images(data.list_images(path / p), (size, size)),
                         [f.name for f in data.list_images(path / p)]) for p in phases]
    images, names = data.load_image_source(str(path), None, (size, size))
    return [ImageSet(path.resolve().name, images, names)]


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
    vocabulary: VisualVocabulary


def score(phases: list[ImageSet], class_images: ImageSet, training_images: ImageSet,
          features_of: Callable[[np.ndarray], list[ImageFeatures]], config) -> Scoring:
    """Score every phase's reconstructions (see the module docstring).

    ``features_of`` gives the features of an image array (e.g. :func:`extract.extract` or the
    cached :func:`extract.cached_features`); ``config`` is a ``ScoreBowConfig`` (vocab_size,
    seed, idf, ratio, ransac_iterations, ransac_threshold, repeatability_tolerance). BLAS and
    OpenMP run single-threaded: the matrices are small and their threads only contend (k-means
    ran 10x slower with them on a busy 2-core machine); instead, reconstructions are matched
    side by side in a thread pool, as extraction is.
    """
    class_features = features_of(class_images.images)
    training_features = (class_features if training_images is class_images
                         else features_of(training_images.images))
    phase_features = [features_of(phase.images) for phase in phases]
    with threadpool_limits(limits=1):
        vocabulary = VisualVocabulary(config.vocab_size, config.seed, config.idf)
        class_histograms = vocabulary.fit_transform([f.features.descriptors
                                                     for f in class_features])
        index = MatchIndex([f.features for f in training_features])
        corners = harris.CornerIndex([f.corners for f in training_features])
        scored = []
        for reconstructions, features in zip(phases, phase_features, strict=True):
            histograms = vocabulary.transform([f.features.descriptors for f in features])
            inliers = np.stack(Parallel(n_jobs=-1, prefer="threads")(
                delayed(index.inliers)(f.features, config.ratio, config.ransac_iterations,
                                       config.ransac_threshold) for f in features))
            repeatability = np.stack([corners.repeatability(f.corners,
                                                            config.repeatability_tolerance)
                                      for f in features])
            scored.append(PhaseScores(reconstructions, features, histograms,
                                      cosine_scores(histograms, class_histograms), inliers,
                                      repeatability))
    return Scoring(scored, class_images, class_features, class_histograms, training_images,
                   training_features, vocabulary)
