"""Descriptors, vocabulary, matching, repeatability and statistics on hand-checkable cases."""

import math

import cv2
import numpy as np
import pytest

from nnvisual.config import ScoreBowConfig, settings_from
from nnvisual.descriptors import bow, extract, harris, matching, sift, stats
from nnvisual.errors import UserError


def textured(size=160, seed=0, shapes=60):
    """A grey image of random filled circles and rectangles: plenty of SIFT keypoints."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 128, np.uint8)
    for _ in range(shapes):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r, value = int(rng.integers(3, size // 10)), int(rng.integers(0, 256))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, value, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + 2 * r), value, -1)
    return cv2.GaussianBlur(image, (0, 0), 1.0)


def prototype(block):
    """A 128-d non-negative descriptor living on a third of the dimensions."""
    descriptor = np.zeros(128, np.float32)
    descriptor[block * 42:(block + 1) * 42] = 1.0
    return descriptor


# -- SIFT ----------------------------------------------------------------------------------------
def test_flat_image_gives_empty_descriptors_not_an_error():
    flat = np.full((100, 100), 90, np.uint8)
    for found in (sift.sift(flat), sift.describe(flat, np.zeros((0, 2), np.float32), 16)):
        assert found.descriptors.shape == (0, 128) and found.points.shape == (0, 2)
    assert harris.harris_corners(flat).shape == (0, 2)


def test_grey_resizes_rgb_to_the_requested_side():
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 1] = 200  # pure green: grey = 0.587 * 200
    image = sift.grey(rgb, 100)
    assert image.shape == (100, 100) and image.dtype == np.uint8
    assert abs(int(image[50, 50]) - round(0.587 * 200)) <= 1


def test_dense_sift_describes_every_grid_point():
    points = sift.grid_points(100, 100, 10)
    assert len(points) == 100 and points.min() == 5 and points.max() == 95
    found = sift.dense_sift(textured(100), step=10, patch_size=16)
    assert found.descriptors.shape == (100, 128)
    np.testing.assert_allclose(found.points, points)


# -- Harris --------------------------------------------------------------------------------------
def square(size=64, low=20, high=44):
    image = np.zeros((size, size), np.uint8)
    image[low:high, low:high] = 255
    return image


def test_harris_finds_the_four_corners_of_a_square():
    corners = harris.harris_corners(square(), max_corners=10, quality=0.1)
    expected = np.array([[20, 20], [43, 20], [20, 43], [43, 43]], np.float32)
    assert len(corners) == 4
    distances = np.linalg.norm(corners[:, None] - expected[None], axis=2)
    assert distances.min(axis=0).max() <= 1.5  # each true corner found within 1.5 px


def test_repeatability_by_hand():
    a = np.array([[0, 0], [10, 10]], np.float32)
    b = np.array([[1, 0], [50, 50], [60, 60]], np.float32)
    # one corner of a has a neighbour within 1.5 px in b and vice versa; min(2, 3) = 2 corners
    assert harris.repeatability(a, b, 1.5) == pytest.approx(0.5)
    assert harris.repeatability(a, b, 0.5) == 0.0
    assert math.isnan(harris.repeatability(a, np.zeros((0, 2), np.float32)))
    index = harris.CornerIndex([b, np.zeros((0, 2), np.float32), a])
    np.testing.assert_allclose(index.repeatability(a, 1.5), [0.5, np.nan, 1.0])


def test_corner_index_agrees_with_a_direct_distance_matrix():
    rng = np.random.default_rng(0)
    query = rng.integers(0, 30, (25, 2)).astype(np.float32)
    collection = [rng.integers(0, 30, (int(n), 2)).astype(np.float32) for n in (0, 1, 12, 40)]
    found = harris.CornerIndex(collection).repeated(query, 2.0)
    for image, count in zip(collection, found, strict=True):
        near = np.linalg.norm(query[:, None] - image[None], axis=2) <= 2.0
        assert count == min(near.any(axis=1).sum(), near.any(axis=0).sum())
    assert found[0] == 0 and found[3] > 0


def test_repeatability_of_a_rotated_square_under_its_transform_is_one():
    rotation = cv2.getRotationMatrix2D((32, 32), 30, 1.0)
    rotated = cv2.warpAffine(square(), rotation, (64, 64))
    corners, rotated_corners = (harris.harris_corners(x, 10, 0.1) for x in (square(), rotated))
    assert len(rotated_corners) == 4
    assert harris.repeatability(corners, rotated_corners, 2.0, rotation) == 1.0
    assert harris.repeatability(corners, rotated_corners, 2.0) == 0.0  # without the transform


# -- vocabulary ----------------------------------------------------------------------------------
def test_hellinger_map_is_rootsift():
    mapped = bow.hellinger_map(np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(mapped, [[0.5, math.sqrt(0.75), 0.0], [0.0, 0.0, 0.0]])
    # Euclidean distance of mapped vectors = Hellinger: |a - b|^2 = 2 (1 - sum sqrt(a b))
    x, y = np.array([[1.0, 1.0, 2.0]]) / 4, np.array([[2.0, 1.0, 1.0]]) / 4
    squared = np.sum((bow.hellinger_map(x) - bow.hellinger_map(y)) ** 2)
    assert squared == pytest.approx(2 * (1 - np.sum(np.sqrt(x * y))), rel=1e-6)


@pytest.mark.parametrize("variant", ["smooth", "plain"])
def test_histogram_of_a_known_descriptor_set(variant):
    p0, p1, p2 = prototype(0), prototype(1), prototype(2)
    collection = [np.stack([p0, p0, p1]), np.stack([p0, p2]), np.stack([p0, p2, p2, p2])]
    vocabulary = bow.VisualVocabulary(n_words=3, seed=0, idf=variant).fit(collection)
    word = [int(vocabulary.words(p[None])[0]) for p in (p0, p1, p2)]
    assert sorted(word) == [0, 1, 2]
    # images containing each word, of N = 3: p0 in 3, p1 in 1, p2 in 2
    idf = {"smooth": [1.0, math.log(4 / 2) + 1, math.log(4 / 3) + 1],  # log((1+N)/(1+N_w))+1
           "plain": [0.0, math.log(3), math.log(3 / 2)]}[variant]  # log(N/N_w)
    np.testing.assert_allclose(vocabulary.idf_[word], idf)
    # the query: 1 x p0, 2 x p1 (one scaled: RootSIFT ignores scale), 1 x p2 -> tf 1/4, 2/4, 1/4
    query = np.stack([p0, p1, 3 * p1, p2])
    expected = np.sqrt(np.array([0.25, 0.5, 0.25]) * idf)
    expected /= np.linalg.norm(expected)
    histogram = vocabulary.transform([query])[0]
    np.testing.assert_allclose(histogram[word], expected, rtol=1e-6)
    np.testing.assert_array_equal(vocabulary.transform([np.zeros((0, 128))]), [[0.0, 0.0, 0.0]])
    # an image of only the word every image has: zero under the plain idf, not the smooth one
    only_common = vocabulary.transform([np.stack([p0, p0])])[0]
    assert (np.linalg.norm(only_common) == 0) == (variant == "plain")


def test_too_few_descriptors_for_the_vocabulary_is_a_user_error():
    with pytest.raises(UserError, match="vocabulary of 10 words"):
        bow.VisualVocabulary(10).fit([np.ones((3, 128))])


def random_descriptor_sets(seed, images=12):
    rng = np.random.default_rng(seed)
    return [rng.random((int(rng.integers(5, 30)), 128)).astype(np.float32) for _ in range(images)]


def test_scores_are_one_for_identical_images_symmetric_and_in_unit_interval():
    sets = random_descriptor_sets(0)
    histograms = bow.VisualVocabulary(5, seed=0).fit_transform(sets)
    scores = bow.cosine_scores(histograms, histograms)
    np.testing.assert_allclose(np.diag(scores), 1.0, rtol=1e-9)
    np.testing.assert_allclose(scores, scores.T)
    assert scores.min() >= 0 and scores.max() <= 1
    assert bow.cosine_scores(np.zeros(5), histograms).tolist() == [[0.0] * 12]


def test_vocabulary_is_deterministic_under_the_seed():
    sets = random_descriptor_sets(1)
    first, again, other = (bow.VisualVocabulary(5, seed=s).fit(sets) for s in (0, 0, 1))
    np.testing.assert_array_equal(first.kmeans_.cluster_centers_, again.kmeans_.cluster_centers_)
    np.testing.assert_array_equal(first.transform(sets), again.transform(sets))
    np.testing.assert_array_equal(first.transform(sets),
                                  bow.VisualVocabulary(5, seed=0).fit_transform(sets))
    assert not np.array_equal(first.kmeans_.cluster_centers_, other.kmeans_.cluster_centers_)


# -- matching ------------------------------------------------------------------------------------
def test_rotated_scaled_copy_has_many_inliers_an_unrelated_image_few():
    original = textured()
    similarity = cv2.getRotationMatrix2D((80, 80), 30, 0.8)
    copy = cv2.warpAffine(original, similarity, (160, 160), borderValue=128)
    index = matching.MatchIndex([sift.sift(copy), sift.sift(textured(seed=1))])
    copy_inliers, unrelated_inliers = index.inliers(sift.sift(original), 0.8, 100, 15.0)
    assert copy_inliers >= 30
    assert unrelated_inliers <= copy_inliers / 5


def test_ratio_test_agrees_with_opencv_knn_matching():
    """The batched ratio test gives the matches of cv2.BFMatcher.knnMatch, image by image."""
    query = sift.sift(textured(seed=2))
    collection = [sift.sift(textured(seed=s)) for s in (3, 4)] + [sift.EMPTY]
    collection.append(sift.Features(query.points[:20], query.descriptors[:20]))
    found = matching.MatchIndex(collection).ratio_matches(query, 0.8)
    offset = 0
    for image, (rows, columns) in zip([0, 1, 3], found, strict=True):
        pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(query.descriptors,
                                                    collection[image].descriptors, k=2)
        expected = {(m.queryIdx, m.trainIdx) for m, n in pairs if m.distance < 0.8 * n.distance}
        assert set(zip(rows.tolist(), (columns - offset).tolist(), strict=True)) == expected
        offset += len(collection[image])
    rows, columns = found[-1]  # the query's own first 20 descriptors match themselves
    start = len(collection[0]) + len(collection[1])
    np.testing.assert_array_equal(columns[np.isin(rows, np.arange(20))] - start, np.arange(20))


def test_fewer_than_two_matches_give_no_inliers():
    assert matching.ransac_inliers(np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32)) == 0
    points = np.array([[0, 0], [10, 0], [0, 10], [50, 50]], np.float32)
    moved = points * 2 + 5
    moved[3] = [0, 90]  # one outlier
    assert matching.ransac_inliers(points, moved, 100, 3.0) == 3


# -- extraction and its cache --------------------------------------------------------------------
def test_parallel_extraction_matches_serial_and_the_cache_round_trips(tmp_path):
    images = np.stack([np.repeat(textured(64, seed=s)[..., None], 3, axis=2) for s in range(5)])
    images[2] = 100  # a flat image: no keypoints, no corners
    settings = settings_from(ScoreBowConfig(size=64), extract.Settings)
    serial = extract.extract(images, settings, n_jobs=1)
    parallel = extract.extract(images, settings, n_jobs=2)
    computed = extract.cached_features(images, settings)
    cached = extract.cached_features(images, settings)
    assert len(list((tmp_path / "cache" / "descriptors").glob("*.npz"))) == 1
    assert len(serial[2].features) == 0 and len(serial[2].corners) == 0
    for found in (parallel, computed, cached):
        assert len(found) == 5
        for a, b in zip(serial, found, strict=True):
            np.testing.assert_array_equal(a.features.descriptors, b.features.descriptors)
            np.testing.assert_array_equal(a.features.points, b.features.points)
            np.testing.assert_array_equal(a.corners, b.corners)


@pytest.mark.parametrize("descriptor", ["dense-sift", "harris"])
def test_descriptor_choices(descriptor):
    image = np.repeat(textured(64)[..., None], 3, axis=2)
    settings = settings_from(ScoreBowConfig(descriptor=descriptor, size=64, dense_step=8),
                             extract.Settings)
    found = extract.image_features(image, settings)
    if descriptor == "dense-sift":
        assert len(found.features) == 64
    else:
        np.testing.assert_allclose(found.features.points, found.corners)


# -- statistics ----------------------------------------------------------------------------------
def test_bootstrap_interval_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(0.5, 0.1, 20)
    low, high = stats.bootstrap_interval(values, np.mean, 2000, seed=3)
    assert low < values.mean() < high
    assert (low, high) == stats.bootstrap_interval(values, np.mean, 2000, seed=3)
    assert (low, high) != stats.bootstrap_interval(values, np.mean, 2000, seed=4)
    assert stats.bootstrap_interval([0.2, 0.2, 0.2], np.median, 500) == (0.2, 0.2)
    summary = stats.summarize(values, 2000, 3)
    assert summary.n == 20 and summary.median == pytest.approx(np.median(values))


def test_paired_comparison_by_hand():
    before = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    after = before + np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    result = stats.paired_comparison(after, before, 1000, 0)
    # all 5 differences positive: exact two-sided signed-rank p = 2 / 2^5
    assert result.p_value == pytest.approx(2 / 32)
    assert result.mean_difference == pytest.approx(0.03)
    assert result.interval[0] <= 0.03 <= result.interval[1] and result.note == ""
    one = stats.paired_comparison([0.5], [0.4], 1000, 0)
    assert math.isnan(one.p_value) and "needs 2" in one.note
    same = stats.paired_comparison(before, before, 1000, 0)
    assert math.isnan(same.p_value) and same.note == "all differences are zero"
