"""descriptors.sift: SIFT and dense SIFT, on hand-checkable cases."""


import numpy as np

from nnvisual.descriptors import harris, sift
from nnvisual.testing.images import textured


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
