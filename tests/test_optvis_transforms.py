"""Transformation robustness: the transformation language, lucid's standard set, the bilinear
sampler against NumPy (identity, shifts, a quarter turn), batch shape and seeding."""

import numpy as np
import pytest
from keras import ops

from nnvisual.errors import UserError
from nnvisual.optvis import transforms

IDENTITY = np.float32([[1, 0, 0], [0, 1, 0]])


def test_standard_is_lucids_standard_transforms():
    assert transforms.parse_transforms("standard").steps == (
        ("pad", (12.0,)), ("jitter", (8.0,)), ("scale", (0.9, 1.1)), ("rotate", (10.0,)),
        ("jitter", (4.0,)))
    assert not transforms.parse_transforms("none") and not transforms.parse_transforms(None)
    np.testing.assert_allclose(transforms.LUCID_SCALES, [0.9, 0.92, 0.94, 0.96, 0.98, 1.0, 1.02,
                                                         1.04, 1.06, 1.08, 1.1])


@pytest.mark.parametrize("spec", ["pad", "jitter=-1", "scale=1.1:0.9", "spin=3", "rotate=x",
                                  "pad=2,,jitter=1"])
def test_bad_transforms_are_user_errors(spec):
    with pytest.raises(UserError, match="bad transform"):
        transforms.parse_transforms(spec)


def test_the_sampler_reproduces_identity_shifts_and_a_quarter_turn():
    images = np.random.default_rng(0).random((2, 6, 6, 3)).astype(np.float32)
    same = ops.convert_to_numpy(transforms.apply(images, np.stack([IDENTITY] * 2)))
    np.testing.assert_array_equal(same, images)
    # output (y, x) samples input (y - 1, x + 2): the image moves down 1 and left 2
    shift = np.float32([[1, 0, -1], [0, 1, 2]])
    moved = ops.convert_to_numpy(transforms.apply(images, np.stack([shift] * 2), fill=7.0))
    np.testing.assert_allclose(moved[:, 1:, :4], images[:, :-1, 2:], atol=1e-6)
    assert (moved[:, 0] == 7.0).all() and (moved[:, :, 4:] == 7.0).all()  # padding shows
    clamped = ops.convert_to_numpy(transforms.apply(images, np.stack([shift] * 2), fill=None))
    np.testing.assert_allclose(clamped[:, 0, :4], images[:, 0, 2:], atol=1e-6)  # edge repeats
    # output (y, x) samples input (x, -y), centred: numpy's rot90 (counter-clockwise)
    quarter = np.float32([[0, 1, 0], [-1, 0, 0]])
    turned = ops.convert_to_numpy(transforms.apply(images, np.stack([quarter] * 2)))
    np.testing.assert_allclose(turned, np.rot90(images, axes=(1, 2)), atol=1e-5)
    # half a pixel: the mean of two neighbours
    half = np.float32([[1, 0, 0], [0, 1, 0.5]])
    blended = ops.convert_to_numpy(transforms.apply(images, np.stack([half] * 2)))
    np.testing.assert_allclose(blended[:, :, :5], (images[:, :, :5] + images[:, :, 1:]) / 2,
                               atol=1e-6)


def test_transforms_keep_the_batch_shape_and_are_seeded_per_image():
    standard = transforms.parse_transforms("standard")
    matrices = transforms.sample_matrices(standard, [0, 1, 2], steps=40, seed=5)
    assert matrices.shape == (40, 3, 2, 3)
    np.testing.assert_array_equal(matrices, transforms.sample_matrices(standard, [0, 1, 2], 40, 5))
    np.testing.assert_array_equal(matrices[:, 1:2],
                                  transforms.sample_matrices(standard, [1], 40, 5))
    assert not np.array_equal(matrices, transforms.sample_matrices(standard, [0, 1, 2], 40, 6))
    # scales within 0.9..1.1 and rotations within 10 degrees, composed: |det| in [0.9^2, 1.1^2]
    determinants = np.abs(np.linalg.det(matrices[..., :2]))
    assert (determinants >= 1 / 1.1 ** 2 - 1e-5).all() and (determinants <= 1 / 0.9 ** 2 + 1e-5).all()
    # shifts: jitter 8 and 4 give at most 4 + 2 pixels each way, turned and scaled by < 1.2
    assert np.abs(matrices[..., 2]).max() <= 6 * 1.12 + 1e-4
    images = np.random.default_rng(0).random((3, 9, 9, 3)).astype(np.float32)
    assert ops.convert_to_numpy(transforms.apply(images, matrices[0])).shape == images.shape
    jitter_only = transforms.sample_matrices(transforms.parse_transforms("jitter=4"), [0], 200, 0)
    np.testing.assert_array_equal(jitter_only[..., :2], np.broadcast_to(IDENTITY[:, :2],
                                                                       (200, 1, 2, 2)))
    assert set(np.unique(jitter_only[..., 2])) == {-2, -1, 0, 1, 2}


def sampling_matrix(matrix, height, width, fill):
    """NumPy, one sample at a time: the (h*w, h*w) weights of bilinear sampling through
    ``matrix`` and the weight each output pixel gives to ``fill`` (None: edge pixels repeat)."""
    weights, filled = np.zeros((height * width, height * width)), np.zeros(height * width)
    for out in range(height * width):
        centred = np.array([out // width - (height - 1) / 2, out % width - (width - 1) / 2, 1.0])
        y, x = matrix @ centred + [(height - 1) / 2, (width - 1) / 2]
        for yy in (np.floor(y), np.floor(y) + 1):
            for xx in (np.floor(x), np.floor(x) + 1):
                weight = max(0.0, 1 - abs(y - yy)) * max(0.0, 1 - abs(x - xx))
                if fill is not None and not (0 <= yy < height and 0 <= xx < width):
                    filled[out] += weight
                    continue
                row, col = int(np.clip(yy, 0, height - 1)), int(np.clip(xx, 0, width - 1))
                weights[out, row * width + col] += weight
    return weights, filled


@pytest.mark.parametrize("fill", [7.0, None])
def test_the_sampler_and_its_gradient_against_a_sampling_matrix(fill):
    # random turns, zooms and shifts, some far enough to sample wholly outside the image;
    # the gradient of <sampled, c> is the sampling matrix's transpose applied to c
    from nnvisual.graph.gradients import value_and_gradient

    rng = np.random.default_rng(3)
    height, width = 5, 7
    angles, zooms = rng.uniform(-1, 1, 3), rng.uniform(0.6, 1.6, 3)
    matrices = np.float32([[[z * np.cos(a), -z * np.sin(a), rng.uniform(-4, 4)],
                            [z * np.sin(a), z * np.cos(a), rng.uniform(-4, 4)]]
                           for a, z in zip(angles, zooms, strict=True)])
    images = rng.random((3, height, width, 2)).astype(np.float32)
    cotangent = rng.random(images.shape).astype(np.float32)
    sampled = transforms.apply(images, matrices, fill)
    _, gradient = value_and_gradient(
        lambda x: ops.sum(ops.multiply(transforms.apply(x, matrices, fill), cotangent)), images)
    for i in range(3):
        weights, filled = sampling_matrix(matrices[i], height, width, fill)
        expected = weights @ images[i].reshape(-1, 2) + (fill or 0.0) * filled[:, None]
        np.testing.assert_allclose(ops.convert_to_numpy(sampled)[i].reshape(-1, 2), expected,
                                   atol=2e-5)
        np.testing.assert_allclose(ops.convert_to_numpy(gradient)[i].reshape(-1, 2),
                                   weights.T @ cotangent[i].reshape(-1, 2), atol=2e-5)
