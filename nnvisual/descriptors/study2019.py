"""The study's own bag-of-visual-words scoring, as its code ran for Table 3 (docs/table3.md;
docs/study.md, "What Table 3 measured").

Kept to show where the published 0.050 -> 0.095 comes from, not to measure anything: the
consistent scoring is :mod:`nnvisual.descriptors.bow`. What the study's code did:

- vocabulary: KMeans (``n_init`` 10, sklearn's default then) on the raw class descriptors;
- words: each raw descriptor goes to the Euclidean-nearest centre, the centres being
  standardized first by their global mean and standard deviation (descriptors are not);
- class rows: ``count * tf * idf`` with ``tf = count / total`` and ``idf = log(N / df)`` over
  the N class images, then square root and L2 norm;
- a query (a reconstruction) is weighted the same way, but with an idf of its own over N + 1
  rows, its raw counts stacked on the already weighted class rows: ``log((N + 1) / df)``
  (``before``) or ``log((N + 1) / (df + 1))`` (``after``; the formula the study most likely
  used for its "after" phase). A word found in every class image has idf 0 on the class side,
  so it is zero in every class row, yet looks rare to the query's idf and weighs most in the
  query: the cosine collapses towards 0.

A word in no row, where ``log(N / df)`` is undefined, weighs 0 (its count is 0).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted

from nnvisual.descriptors.sift import DESCRIPTOR_SIZE
from nnvisual.errors import UserError, named

QUERY_IDFS = {  # the query's idf from its document frequency df over `rows` rows
    "before": lambda rows, df: np.log(rows / np.maximum(df, 1)),
    "after": lambda rows, df: np.log(rows / (df + 1)),
}


def standardized(centres: np.ndarray) -> np.ndarray:
    """The centres minus their global mean, over their global standard deviation."""
    return (centres - centres.mean()) / centres.std()


def assign_words(descriptors: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each raw descriptor's word: the Euclidean-nearest of the *standardized* centres."""
    reference = standardized(np.asarray(centres, np.float64))
    rows = np.asarray(descriptors, np.float64)
    squared = ((rows ** 2).sum(axis=1, keepdims=True) - 2 * rows @ reference.T
               + (reference ** 2).sum(axis=1))
    return np.argmin(squared, axis=1)


def weighted(counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """``sqrt(count * tf * idf)`` per row, L2-normalized (a zero row stays zero)."""
    totals = counts.sum(axis=1, keepdims=True)
    rows = np.sqrt(counts * (counts / np.where(totals > 0, totals, 1.0)) * idf)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def class_rows(counts: np.ndarray) -> np.ndarray:
    """The class images' vectors: ``idf = log(N / df)`` over the N images (0 for a word in none)."""
    df = np.count_nonzero(counts, axis=0)
    return weighted(counts, np.log(len(counts) / np.maximum(df, 1)))


def query_rows(counts: np.ndarray, classes: np.ndarray, query_idf: str) -> np.ndarray:
    """Each query's vector, its idf taken over its raw counts stacked on the weighted
    ``classes`` rows (``query_idf`` a key of :data:`QUERY_IDFS`)."""
    class_df = np.count_nonzero(classes, axis=0)
    rows = []
    for query in np.atleast_2d(counts):
        df = class_df + (query > 0)
        rows.append(weighted(query[None], QUERY_IDFS[query_idf](len(classes) + 1, df))[0])
    return np.array(rows).reshape(-1, classes.shape[1])


class StudyVocabulary(TransformerMixin, BaseEstimator):
    """The study's vocabulary and weighting, with :class:`~nnvisual.descriptors.bow.
    VisualVocabulary`'s interface: ``fit_transform`` gives the class rows, ``transform`` the
    queries' vectors against them. Fitted: ``kmeans_``, ``class_rows_``."""

    def __init__(self, n_words: int = 10, seed: int = 0, query_idf: str = "before"):
        self.n_words = n_words
        self.seed = seed
        self.query_idf = query_idf

    def fit(self, descriptor_sets: list[np.ndarray], y=None):
        self.fit_transform(descriptor_sets)
        return self

    def fit_transform(self, descriptor_sets: list[np.ndarray], y=None) -> np.ndarray:
        if self.query_idf not in QUERY_IDFS:
            raise ValueError(f"query_idf must be one of {tuple(QUERY_IDFS)}, got {self.query_idf!r}")
        stacked = _stacked(descriptor_sets)
        if len(stacked) < self.n_words:
            raise UserError(f"only {len(stacked)} descriptors to build a vocabulary of "
                            f"{self.n_words} words; use more or larger images ({named('size')}) or a "
                            f"smaller {named('vocab_size')}")
        self.kmeans_ = KMeans(self.n_words, n_init=10, random_state=self.seed).fit(stacked)
        self.class_rows_ = class_rows(self.word_counts(descriptor_sets))
        return self.class_rows_

    def word_counts(self, descriptor_sets: list[np.ndarray]) -> np.ndarray:
        """``(images, n_words)`` counts of each word in each image."""
        check_is_fitted(self, "kmeans_")
        sizes = [len(np.reshape(d, (-1, DESCRIPTOR_SIZE))) for d in descriptor_sets]
        words = assign_words(_stacked(descriptor_sets), self.kmeans_.cluster_centers_)
        image = np.repeat(np.arange(len(sizes)), sizes)
        counts = np.bincount(image * self.n_words + words, minlength=len(sizes) * self.n_words)
        return counts.reshape(len(sizes), self.n_words).astype(np.float64)

    def transform(self, descriptor_sets: list[np.ndarray]) -> np.ndarray:
        """The queries' vectors, each with its own idf over itself and the class rows."""
        check_is_fitted(self, "class_rows_")
        return query_rows(self.word_counts(descriptor_sets), self.class_rows_, self.query_idf)


def _stacked(descriptor_sets: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.reshape(d, (-1, DESCRIPTOR_SIZE)) for d in descriptor_sets]
                          or [np.zeros((0, DESCRIPTOR_SIZE))]).astype(np.float64)
