"""Parametrizations: the study's initial images; lucid's Fourier spectrum (exact round trip,
lucid's 1/f scale, a single coefficient is the cosine it stands for) and decorrelated colour
(the fixed linear map with lucid's published constants)."""

import numpy as np
import pytest
from keras import ops

from nnvisual.errors import UserError
from nnvisual.optvis import color, fft
from nnvisual.optvis.param import (
    check_parametrization,
    initial_image,
    initial_images,
    initial_parameters,
    parameters_to_images,
)


@pytest.mark.parametrize("kind,low,high",
                         [("paper", 100, 101), ("uniform", 0, 255), ("gray", 127, 129)])
def test_initial_images_are_seeded_per_image(kind, low, high):
    batch = initial_images(kind, (6, 7), 11, range(4))
    assert batch.shape == (4, 6, 7, 3) and batch.dtype == np.float32
    assert low <= batch.min() and batch.max() < high
    np.testing.assert_array_equal(batch[2], initial_image(kind, (6, 7), 11, 2))
    assert not np.array_equal(batch[0], batch[1])
    assert not np.array_equal(batch, initial_images(kind, (6, 7), 12, range(4)))


@pytest.mark.parametrize("size", [(8, 8), (7, 9), (6, 5), (32, 32)])
def test_fft_parametrization_round_trips_exactly(size):
    images = np.random.default_rng(0).normal(0, 1, (2, *size, 3)).astype(np.float32)
    spectrum = fft.image_to_spectrum(images)
    assert spectrum.shape == (2, 3, size[0], size[1] // 2 + 1, 2)
    back = ops.convert_to_numpy(fft.spectrum_to_image(spectrum, size))
    np.testing.assert_allclose(back, images, atol=2e-6)


def test_spectrum_scale_is_lucids_one_over_f():
    # 4x4: sqrt(h w) = 4; f = 0 is floored at 1 / max(h, w) = 1/4
    scale = fft.spectrum_scale(4, 4)
    assert scale.shape == (4, 3)
    np.testing.assert_allclose(scale[0, 0], 4 / 0.25)  # DC
    np.testing.assert_allclose(scale[0, 1], 4 / 0.25)  # f = 1/4
    np.testing.assert_allclose(scale[1, 1], 4 / np.hypot(0.25, 0.25), rtol=1e-6)
    np.testing.assert_allclose(scale[2, 2], 4 / np.hypot(0.5, 0.5), rtol=1e-6)
    np.testing.assert_allclose(fft.spectrum_scale(4, 4, decay_power=2.0)[1, 1],
                               4 / 0.125, rtol=1e-6)


def test_one_spectral_coefficient_is_a_scaled_cosine():
    # real part c at (row 0, column 1): the inverse rfft2 is 2 c s cos(2 pi x / w) / (h w),
    # divided by 4 (lucid), in every row and every colour
    height, width, c = 6, 8, 0.7
    spectrum = np.zeros((1, 3, height, width // 2 + 1, 2), np.float32)
    spectrum[0, :, 0, 1, 0] = c
    s = fft.spectrum_scale(height, width)[0, 1]
    expected = 2 * c * s * np.cos(2 * np.pi * np.arange(width) / width) / (height * width) / 4
    image = ops.convert_to_numpy(fft.spectrum_to_image(spectrum, (height, width)))
    np.testing.assert_allclose(image[0], np.broadcast_to(expected[None, :, None], (6, 8, 3)),
                               atol=1e-6)


def test_decorrelation_is_the_fixed_linear_map_with_lucids_constants():
    published = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
    norm = np.sqrt(0.26 ** 2 + 0.27 ** 2 + 0.27 ** 2)  # the largest column norm, 0.46195
    np.testing.assert_allclose(color.COLOR_CORRELATION_NORMALIZED, published / norm, rtol=1e-6)
    # each unit vector of the decorrelated space maps to a column of the normalized matrix
    basis = ops.convert_to_numpy(color.decorrelate(np.eye(3, dtype=np.float32)))
    np.testing.assert_allclose(basis, (published / norm).T, rtol=1e-6)
    np.testing.assert_allclose(basis[0], [0.5628, 0.5845, 0.5845], atol=1e-4)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    linear = color.decorrelate(2 * x - 3 * y)
    np.testing.assert_allclose(ops.convert_to_numpy(linear),
                               2 * ops.convert_to_numpy(color.decorrelate(x))
                               - 3 * ops.convert_to_numpy(color.decorrelate(y)), atol=1e-5)
    rgb = ops.convert_to_numpy(color.to_valid_rgb(x, decorrelated=True))
    np.testing.assert_allclose(rgb, 255 / (1 + np.exp(-(x @ (published / norm).T))), rtol=1e-5)


def test_lucids_initial_parameters_are_seeded_per_image_and_map_to_0_255():
    pixel = initial_parameters("pixel", (6, 6), 0, range(3))
    spectrum = initial_parameters("fft", (6, 6), 0, range(3))
    assert pixel.shape == (3, 6, 6, 3) and spectrum.shape == (3, 3, 6, 4, 2)
    assert 0.005 < pixel.std() < 0.015
    np.testing.assert_array_equal(spectrum[1:2], initial_parameters("fft", (6, 6), 0, [1]))
    for kind, values in (("pixel", pixel), ("fft", spectrum)):
        images = ops.convert_to_numpy(parameters_to_images(values, kind, True, (6, 6)))
        assert images.shape == (3, 6, 6, 3) and 0 < images.min() and images.max() < 255


@pytest.mark.parametrize("size", [(8, 6), (3, 3)])
def test_fft_refuses_a_non_square_or_tiny_input(size):
    check_parametrization("pixel", size)
    with pytest.raises(UserError, match="param=\"fft\" needs a square input of at least 4x4"):
        check_parametrization("fft", size)
