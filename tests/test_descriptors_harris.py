"""descriptors.harris: Harris corners and their repeatability, on hand-checkable cases."""

import math

import cv2
import numpy as np
import pytest

from nnvisual.descriptors import harris


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
