"""descriptors.extract: features of many images, in parallel and cached, on hand-checkable cases."""


import numpy as np
import pytest

from nnvisual.config import ScoreBowConfig, settings_from
from nnvisual.descriptors import extract
from nnvisual.testing.images import textured


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
