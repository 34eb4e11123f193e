"""The image priors of activation maximization (jitter, blur, total variation, L2 decay, clip),
by hand and against SciPy."""

import keras
import numpy as np
import scipy.ndimage

from nnvisual.optvis import regularizers as priors


def test_jitter_rolls_each_image_by_its_own_shift():
    images = np.random.default_rng(0).random((2, 5, 6, 3)).astype(np.float32)
    shifts = np.array([[1, -2], [-3, 4]], np.int32)
    rolled = keras.ops.convert_to_numpy(priors.jitter(images, shifts))
    for image, shift, out in zip(images, shifts, rolled, strict=True):
        np.testing.assert_array_equal(out, np.roll(image, tuple(shift), axis=(0, 1)))
    offsets = priors.jitter_offsets([0, 1, 2], steps=50, max_shift=2, seed=0)
    assert offsets.shape == (50, 3, 2) and offsets.min() == -2 and offsets.max() == 2
    np.testing.assert_array_equal(offsets[:, 1:2], priors.jitter_offsets([1], 50, 2, 0))


def test_blur_matches_scipy_gaussian_filter_with_mirrored_borders():
    images = np.random.default_rng(1).random((2, 9, 10, 3)).astype(np.float32) * 255
    blurred = keras.ops.convert_to_numpy(priors.blur(images, 1.0))
    expected = scipy.ndimage.gaussian_filter(images, sigma=(0, 1, 1, 0), mode="mirror",
                                             truncate=3.0)
    np.testing.assert_allclose(blurred, expected, rtol=1e-5, atol=1e-3)


def test_total_variation_l2_decay_and_clip_by_hand():
    image = np.zeros((1, 3, 3, 1), np.float32)
    image[0, 1, 1, 0] = 2.0  # the centre pixel
    # over the 2x2 pixels that have both neighbours, the centre differs by 2 from its upper and
    # lower neighbour (down) and from its left and right one (right): (4 + 4 + 4 + 4) / 4 = 4
    np.testing.assert_allclose(keras.ops.convert_to_numpy(priors.total_variation(image)), [4.0])
    decayed = priors.l2_decay(np.float32([[227.5]]), 0.1)  # 127.5 + 0.9 * (227.5 - 127.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decayed), [[217.5]])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(priors.clip(np.float32([-3, 7, 300]))),
                                  [0, 7, 255])
