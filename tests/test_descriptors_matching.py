"""descriptors.matching: ratio-test matching and RANSAC inliers, on hand-checkable cases."""


import cv2
import numpy as np

from nnvisual.descriptors import matching, sift
from nnvisual.testing.images import textured


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
