"""descriptors.bow: Hellinger map, tf-idf histograms and cosine scores on hand-checkable cases."""

import math

import numpy as np
import pytest

from nnvisual.descriptors import bow
from nnvisual.errors import UserError
from nnvisual.testing.descriptors import prototype


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
