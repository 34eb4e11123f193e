"""steps.score_bow: its tables on a scoring made by hand."""

import math

import numpy as np
import pytest

from nnvisual.descriptors import sift, stats
from nnvisual.descriptors.extract import ImageFeatures
from nnvisual.steps import score_bow as step


def features(keypoints, corners):
    return ImageFeatures(sift.Features(np.zeros((keypoints, 2), np.float32),
                                       np.zeros((keypoints, 128), np.float32)),
                         np.zeros((corners, 2), np.float32))


def phase(name, scores, inliers, keypoints):
    images = step.ImageSet(name, np.zeros((2, 4, 4, 3), np.uint8), ["r0.png", "r1.png"])
    return step.PhaseScores(images, [features(k, k + 1) for k in keypoints], np.zeros((2, 3)),
                            np.asarray(scores, float), np.asarray(inliers, float),
                            np.full((2, 3), 0.5))


def scoring(*phases):
    classes = step.ImageSet("class", np.zeros((2, 4, 4, 3), np.uint8), ["c0", "c1"])
    training = step.ImageSet("training", np.zeros((3, 4, 4, 3), np.uint8), ["t0", "t1", "t2"])
    return step.Scoring(list(phases), classes, [features(5, 6), features(7, 8)], np.zeros((2, 3)),
                        training, [features(1, 2), features(0, 0), features(3, 4)], None)


BEFORE = phase("before", [[0.1, 0.4], [0.3, 0.2]], [[2, 0, 2], [0, 0, 0]], [4, 0])
AFTER = phase("after", [[0.5, 0.6], [0.9, 0.7]], [[1, 1, 2], [0, 3, 0]], [6, 2])


def test_scores_table_and_the_maximum_score():
    header, rows = step.scores_table(scoring(BEFORE))
    assert header == ("phase", "reconstruction", "class_image", "score")
    assert rows == [("before", "r0.png", "c0", 0.1), ("before", "r0.png", "c1", 0.4),
                    ("before", "r1.png", "c0", 0.3), ("before", "r1.png", "c1", 0.2)]
    assert BEFORE.max_scores.tolist() == [0.4, 0.3] and BEFORE.closest.tolist() == [1, 0]


def test_contributions_are_inlier_shares_and_zero_without_inliers():
    header, rows = step.contributions_table(scoring(BEFORE))
    assert header == ("phase", "reconstruction", "training_image", "inlier_matches", "share")
    assert [row[3:] for row in rows] == [(2, 0.5), (0, 0.0), (2, 0.5), (0, 0.0), (0, 0.0), (0, 0.0)]


def test_table3_and_comparison_use_the_maximum_scores():
    result = scoring(BEFORE, AFTER)
    _, rows = step.table3_table(result, 1000, 0)
    summary = stats.summarize(np.array([0.6, 0.9]), 1000, 0)
    assert rows[1][:3] == ("after", 2, pytest.approx(0.75)) and rows[1][3:5] == summary.mean_interval
    _, (row,) = step.comparison_table(result, 1000, 0)
    assert row[:3] == ("after - before", 2, pytest.approx(((0.6 - 0.4) + (0.9 - 0.3)) / 2))


def test_comparison_needs_both_phases():
    _, (row,) = step.comparison_table(scoring(BEFORE), 1000, 0)
    assert row[:2] == ("after - before", 0) and all(math.isnan(v) for v in row[2:7])
    assert "needs before/ and after/" in row[7]


def test_harris_and_keypoint_tables_count_per_image():
    result = scoring(BEFORE)
    _, rows = step.harris_table(result)
    assert rows[:3] == [("before", "r0.png", "t0", 5, 2, 0.5), ("before", "r0.png", "t1", 5, 0, 0.5),
                        ("before", "r0.png", "t2", 5, 4, 0.5)]
    header, rows = step.keypoints_table(result)
    assert header == ("set", "image", "keypoints", "harris_corners")
    assert rows == [("before", "r0.png", 4, 5), ("before", "r1.png", 0, 1),
                    ("class_images", "c0", 5, 6), ("class_images", "c1", 7, 8),
                    ("training_images", "t0", 1, 2), ("training_images", "t1", 0, 0),
                    ("training_images", "t2", 3, 4)]
    summary = step.keypoint_summary(result)
    assert summary["before"] == {"images": 2, "median": 2.0, "min": 0, "max": 4,
                                 "without_keypoints": 1}


def test_the_weighting_chooses_the_vocabulary():
    from nnvisual.config import ScoreBowConfig
    from nnvisual.descriptors.bow import VisualVocabulary
    from nnvisual.descriptors.study2019 import StudyVocabulary

    consistent = step.vocabulary_for(ScoreBowConfig(vocab_size=7, idf="plain"))
    assert isinstance(consistent, VisualVocabulary) and (consistent.n_words, consistent.idf) == (7, "plain")
    study = step.vocabulary_for(ScoreBowConfig(weighting="study-2019", study_idf="after", seed=3))
    assert isinstance(study, StudyVocabulary)
    assert (study.n_words, study.seed, study.query_idf) == (10, 3, "after")
