"""The augmentation of both input pipelines: the same distribution of transforms.

A probe image holds three blobs, one per channel; the centroids of the blobs after augmentation
give each image's affine map exactly (three points), hence its rotation angle, shift and flip.
The NumPy pipeline's draws are compared with the uniform and Bernoulli laws they should follow,
and with the ``tf.data`` pipeline's (Keras' preprocessing layers) by two-sample tests. The draws
are seeded, so the tests are deterministic; the sample size gives them the power to fail (a
shift range of 0.15 instead of 0.2, or a rotation in the wrong unit, is rejected).
"""

import cv2
import numpy as np
import pytest
from scipy import stats

from nnvisual import training
from nnvisual.config import TrainConfig
from nnvisual.training import numpy_pipeline
from nnvisual.training.augmentation import Augmentation

SIZE = 64
BLOBS = np.array([(26.0, 26.0), (38.0, 26.0), (26.0, 38.0)])  # (x, y) of channels 0, 1, 2
SAMPLES = 600
AUGMENTATION = training.augmenter(TrainConfig(), seed=7)  # the study's: 20 degrees, 0.2, flips


def probe(count: int) -> np.ndarray:
    """``count`` copies of a 64x64 image with a Gaussian blob (sigma 2 px) in each channel."""
    y, x = np.mgrid[:SIZE, :SIZE]
    image = np.stack([255 * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / 8) for bx, by in BLOBS], axis=-1)
    return np.repeat(image[None].astype(np.uint8), count, axis=0)


def recovered_transforms(images: np.ndarray) -> dict[str, np.ndarray]:
    """Angle (degrees), shift (pixels) and flip of each image, from its blobs' centroids."""
    y, x = np.mgrid[:SIZE, :SIZE]
    mass = images.sum(axis=(1, 2))
    centroids = np.stack([(images * x[..., None]).sum(axis=(1, 2)) / mass,
                          (images * y[..., None]).sum(axis=(1, 2)) / mass], axis=-1)  # (N, blob, xy)
    source = np.concatenate([BLOBS, np.ones((3, 1))], axis=1)  # the affine map source -> centroids
    forward = np.linalg.solve(source, centroids).transpose(0, 2, 1)  # (N, 2, 3): [B | b]
    flipped = np.linalg.det(forward[:, :, :2]) < 0
    unflip = np.where(flipped[:, None, None], np.diag([-1.0, 1.0]), np.eye(2))
    inverse_rotation = unflip @ forward[:, :, :2]  # [[cos, sin], [-sin, cos]]
    centre = np.full(2, (SIZE - 1) / 2)
    moved_centre = forward[:, :, :2] @ centre + forward[:, :, 2]
    moved_centre[flipped, 0] = SIZE - 1 - moved_centre[flipped, 0]
    shift = moved_centre - centre
    return {"angle": np.rad2deg(np.arctan2(inverse_rotation[:, 0, 1], inverse_rotation[:, 0, 0])),
            "shift_x": shift[:, 0], "shift_y": shift[:, 1], "flipped": flipped}


def numpy_transforms(augmentation: Augmentation = AUGMENTATION, samples: int = SAMPLES) -> dict:
    batches = numpy_pipeline.Batches(probe(samples), np.zeros(samples), 100, shuffle_seed=0,
                                     augment=augmentation)
    return recovered_transforms(np.concatenate([x for x, _ in batches.as_numpy_iterator()]))


def test_the_probe_recovers_a_known_transform():
    angle, shift_x, shift_y = np.deg2rad(12.0), 5.0, -3.0
    centre = (SIZE - 1) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    # output -> input: rotate about the centre after undoing the flip and the shift
    u, v = SIZE - 1 - shift_x - centre, -shift_y - centre  # where the output's origin goes, centred
    inverse = np.array([[-cos, -sin, cos * u - sin * v + centre],
                        [-sin, cos, sin * u + cos * v + centre]])

    image = cv2.warpAffine(probe(1)[0].astype(np.float32), inverse, (SIZE, SIZE),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    found = recovered_transforms(image[None])
    assert found["flipped"][0]
    np.testing.assert_allclose([found["angle"][0], found["shift_x"][0], found["shift_y"][0]],
                               [12.0, 5.0, -3.0], atol=0.05)


def test_numpy_draws_follow_the_studys_laws():
    found = numpy_transforms()
    assert stats.kstest(found["angle"], stats.uniform(-20, 40).cdf).pvalue > 1e-3
    for axis in ("shift_x", "shift_y"):
        assert stats.kstest(found[axis], stats.uniform(-0.2 * SIZE, 0.4 * SIZE).cdf).pvalue > 1e-3
    assert stats.binomtest(int(found["flipped"].sum()), SAMPLES, 0.5).pvalue > 1e-3
    assert abs(np.corrcoef(found["angle"], found["shift_x"])[0, 1]) < 4 / np.sqrt(SAMPLES)  # independent


@pytest.mark.parametrize(("changed", "law"), [
    (Augmentation(20.0, 0.15, True, 7), ("shift_x", stats.uniform(-0.2 * SIZE, 0.4 * SIZE))),
    (Augmentation(20.0 * np.pi / 180, 0.2, True, 7), ("angle", stats.uniform(-20, 40))),
])
def test_a_wrong_range_is_rejected(changed, law):
    """The test above has the power to fail: a narrower range is told apart."""
    axis, distribution = law
    assert stats.kstest(numpy_transforms(changed)[axis], distribution.cdf).pvalue < 1e-3


def test_no_flips_without_hflip():
    found = numpy_transforms(Augmentation(20.0, 0.2, False, 7), samples=100)
    assert not found["flipped"].any()


def test_numpy_and_tf_data_pipelines_draw_the_same_transforms():
    pytest.importorskip("tensorflow")
    pipeline = training.tf_data_pipeline(probe(SAMPLES), np.zeros(SAMPLES), 100, shuffle_seed=0,
                                         augment=AUGMENTATION)
    tf_data = recovered_transforms(np.concatenate([np.asarray(x) for x, _ in pipeline.as_numpy_iterator()]))
    ours = numpy_transforms()
    for axis in ("angle", "shift_x", "shift_y"):
        assert stats.ks_2samp(ours[axis], tf_data[axis]).pvalue > 1e-3, axis
    flips = [[ours["flipped"].sum(), SAMPLES - ours["flipped"].sum()],
             [tf_data["flipped"].sum(), SAMPLES - tf_data["flipped"].sum()]]
    assert stats.fisher_exact(flips).pvalue > 1e-3


def test_augmented_images_stay_in_the_pixel_range_and_keep_their_shape():
    images = np.zeros((8, 32, 32, 3), np.uint8)
    images[:, 8:24, 8:24] = 255
    out = AUGMENTATION.apply(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == np.float32
    assert np.abs(out - images).sum(axis=(1, 2, 3)).min() > 0  # every image moved
    assert 0 <= out.min() and out.max() <= 255.001
