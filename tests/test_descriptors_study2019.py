"""descriptors.study2019: the study's Table 3 scoring, checked against its formulas by hand
(docs/table3.md), the collapse included."""

import math

import numpy as np
import pytest

from nnvisual.descriptors import study2019
from nnvisual.descriptors.bow import cosine_scores
from nnvisual.testing.descriptors import prototype


def test_words_go_to_the_nearest_standardized_centre_not_the_nearest_centre():
    centres = np.array([[0.0, 0.0], [2.0, 2.0]])  # global mean 1, std 1 -> (-1, -1) and (1, 1)
    np.testing.assert_allclose(study2019.standardized(centres), [[-1, -1], [1, 1]])
    # (0.1, 0.1) is nearest the raw centre (0, 0) but nearest the standardized (1, 1)
    assert study2019.assign_words(np.array([[0.1, 0.1], [-0.5, -2.0]]), centres).tolist() == [1, 0]


# Two class images over three words: A has counts (2, 1, 0), B (1, 0, 3); N = 2.
CLASS_COUNTS = np.array([[2.0, 1.0, 0.0], [1.0, 0.0, 3.0]])
QUERY_COUNTS = np.array([[4.0, 1.0, 0.0]])


def test_class_rows_are_sqrt_count_tf_idf_with_idf_log_n_over_df():
    # word 0 is in both images: idf log(2/2) = 0, gone from every class row;
    # A: word 1 = 1 * 1/3 * log 2; B: word 2 = 3 * 3/4 * log 2; one word each -> unit vectors
    np.testing.assert_allclose(study2019.class_rows(CLASS_COUNTS), [[0, 1, 0], [0, 0, 1]])
    general = study2019.class_rows(np.array([[2.0, 1.0, 1.0], [1.0, 0.0, 3.0], [0.0, 1.0, 0.0]]))
    a = np.sqrt([2 * 2 / 4 * math.log(3 / 2), 1 * 1 / 4 * math.log(3 / 2), 1 * 1 / 4 * math.log(3 / 2)])
    np.testing.assert_allclose(general[0], a / np.linalg.norm(a))


def test_the_query_idf_runs_over_the_query_and_the_weighted_class_rows():
    classes = study2019.class_rows(CLASS_COUNTS)
    # 3 rows: the query's raw counts (words 0, 1) and the class rows (words 1 and 2): df (1, 2, 1)
    before = study2019.query_rows(QUERY_COUNTS, classes, "before")[0]
    weights = np.array([4 * 4 / 5 * math.log(3 / 1), 1 * 1 / 5 * math.log(3 / 2), 0.0])
    np.testing.assert_allclose(before, np.sqrt(weights) / np.linalg.norm(np.sqrt(weights)))
    after = study2019.query_rows(QUERY_COUNTS, classes, "after")[0]  # log(3 / (df + 1))
    np.testing.assert_allclose(after, [1.0, 0.0, 0.0])  # word 1: log(3/3) = 0


def test_the_collapse_one_shared_word_sets_the_score():
    """Word 0 is in every class image, so it is zero on the class side and weighs most in the
    query; the only word the query shares with the class rows is word 1, and the scores are
    that word's query weight times the class column: here 0.150 where the query's words are
    those of class image A."""
    classes = study2019.class_rows(CLASS_COUNTS)
    query = study2019.query_rows(QUERY_COUNTS, classes, "before")
    scores = cosine_scores(query, classes)[0]
    np.testing.assert_allclose(scores, query[0, 1] * classes[:, 1])
    expected = math.sqrt(0.2 * math.log(1.5)) / math.sqrt(3.2 * math.log(3) + 0.2 * math.log(1.5))
    assert scores.max() == pytest.approx(expected) and expected == pytest.approx(0.150, abs=5e-4)
    # under log(N/(df+1)) the query keeps only word 0, which no class row has: score 0
    assert cosine_scores(study2019.query_rows(QUERY_COUNTS, classes, "after"), classes).max() == 0


def test_the_vocabulary_end_to_end_on_prototypes():
    p0, p1, p2 = prototype(0), prototype(1), prototype(2)
    vocabulary = study2019.StudyVocabulary(n_words=3, seed=0, query_idf="before")
    classes = vocabulary.fit_transform([np.stack([p0, p0, p1]), np.stack([p0, p2, p2, p2])])
    word = [int(study2019.assign_words(p[None], vocabulary.kmeans_.cluster_centers_)[0])
            for p in (p0, p1, p2)]
    assert sorted(word) == [0, 1, 2]
    np.testing.assert_allclose(classes[:, word], study2019.class_rows(CLASS_COUNTS))
    query = vocabulary.transform([np.stack([p0, p0, p0, p0, p1])])
    np.testing.assert_allclose(
        query[:, word], study2019.query_rows(QUERY_COUNTS, study2019.class_rows(CLASS_COUNTS),
                                             "before"))
    assert vocabulary.transform([np.zeros((0, 128))]).tolist() == [[0.0, 0.0, 0.0]]


def test_the_command_offers_exactly_the_query_idf_formulas():
    from nnvisual import choices

    assert tuple(study2019.QUERY_IDFS) == choices.STUDY_IDFS
