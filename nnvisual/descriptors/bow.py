"""A bag-of-visual-words vocabulary (Sivic & Zisserman 2003, 2009) as a scikit-learn transformer.

Descriptors are Hellinger-mapped first (RootSIFT, Arandjelovic & Zisserman 2012: L1-normalize,
then square root), so Euclidean k-means and nearest-centre assignment on the mapped vectors are
k-means and assignment under the Hellinger distance on the originals. An image's histogram is
tf-idf weighted (term frequency n_wd / n_d times the word's inverse document frequency over the
fitted collection), square-rooted and L2-normalized; images are compared by the cosine of their
histograms.

Two idf variants (N images, N_w of them containing word w): ``plain``, Sivic & Zisserman's
``log(N / N_w)`` (the study's), and ``smooth``, scikit-learn's TfidfTransformer
``log((1 + N) / (1 + N_w)) + 1``. With a 10-word vocabulary many words occur in nearly every
image; the plain idf zeroes a word found in all of them, so an image made only of such words
gets a zero histogram that scores 0 even against itself. The smooth idf never does.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import MiniBatchKMeans
from sklearn.utils.validation import check_is_fitted

from nnvisual.descriptors.sift import DESCRIPTOR_SIZE
from nnvisual.errors import UserError, named


def hellinger_map(descriptors: np.ndarray) -> np.ndarray:
    """RootSIFT: each row L1-normalized, then square-rooted (all-zero rows stay zero)."""
    mapped = np.abs(np.asarray(descriptors, np.float32))
    totals = mapped.sum(axis=1, keepdims=True)
    mapped /= np.where(totals > 0, totals, 1.0)
    return np.sqrt(mapped, out=mapped)


class VisualVocabulary(TransformerMixin, BaseEstimator):
    """``fit`` on a list of per-image descriptor arrays; ``transform`` such a list to histograms.

    After fitting: ``kmeans_`` (the MiniBatchKMeans on Hellinger-mapped descriptors) and
    ``idf_`` (each word's inverse document frequency, ``idf`` = ``smooth`` or ``plain``).
    """

    def __init__(self, n_words: int = 10, seed: int = 0, idf: str = "smooth",
                 batch_size: int = 1024, n_init: int = 3):
        self.n_words = n_words
        self.seed = seed
        self.idf = idf
        self.batch_size = batch_size
        self.n_init = n_init

    def fit(self, descriptor_sets: list[np.ndarray], y=None):
        self._fit(descriptor_sets)
        return self

    def fit_transform(self, descriptor_sets: list[np.ndarray], y=None) -> np.ndarray:
        """``fit`` then ``transform`` of the same images, assigning their words only once."""
        return self._histograms(self._fit(descriptor_sets))

    def _fit(self, descriptor_sets: list[np.ndarray]) -> np.ndarray:
        """Fit the words and the idf; return the fitted images' word counts."""
        stacked = np.concatenate([np.reshape(d, (-1, DESCRIPTOR_SIZE)) for d in descriptor_sets])
        if len(stacked) < self.n_words:
            raise UserError(f"only {len(stacked)} descriptors to build a vocabulary of "
                            f"{self.n_words} words; use more or larger images ({named('size')}), "
                            f"{named('descriptor', 'dense-sift')}, or a smaller {named('vocab_size')}")
        self.kmeans_ = MiniBatchKMeans(n_clusters=self.n_words, random_state=self.seed,
                                       batch_size=self.batch_size, n_init=self.n_init,
                                       compute_labels=False)
        mapped = hellinger_map(stacked)
        self.kmeans_.fit(mapped)
        counts = self._counts(self.kmeans_.predict(mapped), [len(d) for d in descriptor_sets])
        images_with_word = np.count_nonzero(counts, axis=0)
        images = len(descriptor_sets)
        if self.idf == "smooth":
            self.idf_ = np.log((1 + images) / (1 + images_with_word)) + 1
        elif self.idf == "plain":  # a word no image contains (an empty cluster) counts as in one
            self.idf_ = np.log(images / np.maximum(images_with_word, 1))
        else:
            raise ValueError(f"idf must be smooth or plain, got {self.idf!r}")
        return counts

    def words(self, descriptors: np.ndarray) -> np.ndarray:
        """The word (nearest centre under the Hellinger distance) of each descriptor."""
        check_is_fitted(self, "kmeans_")
        if len(descriptors) == 0:
            return np.zeros(0, np.int64)
        return self.kmeans_.predict(hellinger_map(descriptors)).astype(np.int64)

    def word_counts(self, descriptor_sets: list[np.ndarray]) -> np.ndarray:
        """``(images, n_words)`` counts of each word in each image (one batched assignment)."""
        stacked = np.concatenate([np.reshape(d, (-1, DESCRIPTOR_SIZE)) for d in descriptor_sets]
                                 or [np.zeros((0, DESCRIPTOR_SIZE))])
        return self._counts(self.words(stacked), [len(d) for d in descriptor_sets])

    def _counts(self, words: np.ndarray, sizes: list[int]) -> np.ndarray:
        """Per-image word counts from the words of the images' descriptors, stacked in order."""
        image = np.repeat(np.arange(len(sizes)), sizes)
        counts = np.bincount(image * self.n_words + words, minlength=len(sizes) * self.n_words)
        return counts.reshape(len(sizes), self.n_words).astype(np.float64)

    def transform(self, descriptor_sets: list[np.ndarray]) -> np.ndarray:
        """tf-idf, square-rooted, L2-normalized histograms ``(images, n_words)``; an image
        without descriptors (or, with the plain idf, only zero-idf words) gets the zero vector."""
        check_is_fitted(self, "idf_")
        return self._histograms(self.word_counts(descriptor_sets))

    def _histograms(self, counts: np.ndarray) -> np.ndarray:
        totals = counts.sum(axis=1, keepdims=True)
        weighted = np.sqrt(counts / np.where(totals > 0, totals, 1.0) * self.idf_)
        return _l2_normalize(weighted)


def _l2_normalize(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def cosine_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` cosines of non-negative histograms, in [0, 1]; 0 for a zero vector."""
    scores = _l2_normalize(np.atleast_2d(a)) @ _l2_normalize(np.atleast_2d(b)).T
    return np.clip(scores, 0.0, 1.0)
