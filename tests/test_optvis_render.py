"""The optimization loops: the study's normalized ascent (by hand), lucid's Adam on parameters
(by hand), batches equal their images made alone, seeded transformations."""

import keras
import numpy as np
import pytest

from nnvisual.optvis import ClassObjective, Regularizers, initial_images
from nnvisual.optvis.param import initial_parameters
from nnvisual.optvis.render import normalized_ascent, render, render_parametrized
from nnvisual.optvis.terms import Objective, Term
from nnvisual.optvis.transforms import parse_transforms
from nnvisual.testing.models import DENSE_SIZE as SIZE
from nnvisual.testing.models import conv_model, dense_model, softmax


@pytest.mark.parametrize("kind", ["logit", "softmax"])
def test_one_step_moves_each_image_by_step_size_times_gradient_over_its_rms(kind):
    model, kernel, bias = dense_model(separate_softmax=False)
    x0 = initial_images("uniform", SIZE, 3, range(3))
    target, step_size = 2, 0.5
    w = kernel.T.reshape(3, *SIZE, 3)  # d logit_k / d x, per class k
    if kind == "logit":
        gradient = np.broadcast_to(w[target], x0.shape)
    else:  # d p_t / d x = p_t (w_t - sum_k p_k w_k), different for every image
        p = softmax(x0.reshape(3, -1) @ kernel + bias)
        gradient = p[:, target, None, None, None] * (w[target] - np.einsum("nk,khwc->nhwc", p, w))
    rms = np.sqrt((gradient.astype(np.float64) ** 2).mean(axis=(1, 2, 3), keepdims=True))
    expected = x0 + step_size * gradient / (rms + 1e-5)
    result = render(ClassObjective(model, target, kind), x0, steps=1, step_size=step_size)
    np.testing.assert_allclose(result.images, expected, rtol=1e-6, atol=1e-5)
    moved = np.sqrt(((result.images - x0) ** 2).mean(axis=(1, 2, 3)))
    # each image moves by step_size in RMS, but for the 1e-5 that guards against a zero gradient
    np.testing.assert_allclose(moved, step_size * rms.ravel() / (rms.ravel() + 1e-5), rtol=1e-3)


def test_normalized_ascent_is_per_image():
    gradient = np.stack([np.full((2, 2, 3), 1.0), np.full((2, 2, 3), 1000.0)]).astype(np.float32)
    moved = keras.ops.convert_to_numpy(normalized_ascent(np.zeros_like(gradient), gradient, 2.0))
    np.testing.assert_allclose(moved, 2.0 / (1 + 1e-5 / np.array([1, 1000.0]))[:, None, None, None]
                               * np.ones_like(gradient), rtol=1e-6)


def test_objective_rises_every_step_and_class_probability_ends_higher():
    model = conv_model()
    x0 = initial_images("paper", (8, 8), 0, range(4))
    result = render(ClassObjective(model, 2, "logit"), x0, steps=25, step_size=2.0)
    assert result.objective.shape == result.probability.shape == (26, 4)
    assert (np.diff(result.objective, axis=0) > 0).all()
    assert (result.probability[-1] > result.probability[0]).all()


def test_a_batch_equals_its_images_rendered_alone_with_every_regularizer_on():
    # (a few steps: over hundreds, float32 rounding eventually flips a ReLU or a max-pool switch
    # somewhere and the runs drift apart, batched or not)
    model = conv_model()
    regularizers = Regularizers(l2_decay=0.01, tv_weight=1e-3, jitter=2, blur_every=2,
                                blur_sigma=1.0, clip=True)
    x0 = initial_images("uniform", (8, 8), 5, range(3))
    batch = render(ClassObjective(model, 1, "softmax"), x0, 6, 3.0, regularizers, seed=5)
    for i in range(3):
        image = initial_images("uniform", (8, 8), 5, [i])
        alone = render(ClassObjective(model, 1, "softmax"), image, 6, 3.0, regularizers, seed=5,
                       indices=[i])
        np.testing.assert_allclose(alone.images[0], batch.images[i], rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(alone.objective[:, 0], batch.objective[:, i],
                                   rtol=1e-5, atol=1e-7)


def test_two_adam_steps_on_pixels_by_hand():
    # the softmax of a linear net: d p_t / d x = p_t (w_t - sum_k p_k w_k) changes between the
    # steps, so the second step mixes two gradients in Adam's moments (Kingma & Ba 2015, Alg. 1)
    model, kernel, bias = dense_model(separate_softmax=False)
    x = initial_images("uniform", SIZE, 3, range(2)).astype(np.float64)
    target, rate = 2, 3.0
    w = kernel.T.reshape(3, *SIZE, 3).astype(np.float64)
    first, second = np.zeros_like(x), np.zeros_like(x)
    for t in (1, 2):
        p = softmax(x.reshape(2, -1) @ kernel + bias)
        gradient = p[:, target, None, None, None] * (w[target] - np.einsum("nk,khwc->nhwc", p, w))
        first = 0.9 * first + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient ** 2
        x = x + rate * (first / (1 - 0.9 ** t)) / (np.sqrt(second / (1 - 0.999 ** t)) + 1e-8)
    result = render(ClassObjective(model, target, "softmax"), initial_images("uniform", SIZE, 3,
                                                                              range(2)),
                    steps=2, step_size=rate, optimizer="adam")
    np.testing.assert_allclose(result.images, x, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(result.probability[-1], softmax(x.reshape(2, -1) @ kernel + bias)
                               [:, target], rtol=1e-4)
    study = render(ClassObjective(model, target, "softmax"), initial_images("uniform", SIZE, 3,
                                                                            range(2)), 2, rate)
    assert not np.allclose(study.images, result.images, atol=1e-2)


@pytest.mark.parametrize("parametrized", [False, True])
def test_progress_is_told_every_k_steps_and_the_last_with_that_steps_objective(parametrized):
    model = conv_model()
    told = []
    if parametrized:
        result = render_parametrized(ClassObjective(model, 2), initial_parameters("fft", (8, 8), 0,
                                                                                   range(2)),
                                     "fft", True, (8, 8), 7, 0.05, progress_every=3,
                                     progress=lambda t, objective: told.append((t, objective)))
    else:
        result = render(ClassObjective(model, 2), initial_images("paper", (8, 8), 0, range(2)), 7,
                        1.0, optimizer="adam", progress_every=3,
                        progress=lambda t, objective: told.append((t, objective)))
    assert [t for t, _ in told] == [3, 6, 7]
    for t, objective in told:
        np.testing.assert_array_equal(objective, result.objective[t])


def test_one_adam_step_moves_each_parameter_by_the_learning_rate_along_the_gradient_sign():
    # pixel parameters p, image 255 sigmoid(p): d logit_t / d p = w_t 255 sigmoid'(p), whose sign
    # is that of w_t; Adam's first step is lr * g / (|g| + 1e-8) = lr * sign(g) (Kingma & Ba 2015)
    model, kernel, _ = dense_model(separate_softmax=True)
    p0 = initial_parameters("pixel", SIZE, 0, range(2))
    result = render_parametrized(ClassObjective(model, 1), p0, "pixel", False, SIZE, steps=1,
                                 learning_rate=0.05)
    w = kernel[:, 1].reshape(SIZE[0], SIZE[1], 3)
    p1 = p0 + 0.05 * np.sign(w)
    np.testing.assert_allclose(result.images, 255 / (1 + np.exp(-p1)), rtol=1e-5)
    assert result.objective.shape == (2, 2)


@pytest.mark.parametrize("kind", ["pixel", "fft"])
def test_lucids_loop_raises_the_objective_with_transforms(kind):
    model = conv_model()
    small = parse_transforms("pad=1,jitter=2,scale=0.9:1.1,rotate=5")  # the standard set, for 8x8
    parameters = initial_parameters(kind, (8, 8), 0, range(3))
    result = render_parametrized(ClassObjective(model, 2), parameters, kind, True, (8, 8),
                                 steps=30, learning_rate=0.05, transforms=small, seed=0)
    assert result.images.shape == (3, 8, 8, 3) and result.objective.shape == (31, 3)
    assert (result.objective[-1] > result.objective[0]).all()
    again = render_parametrized(ClassObjective(model, 2), parameters, kind, True, (8, 8),
                                steps=30, learning_rate=0.05, transforms=small, seed=0)
    np.testing.assert_array_equal(result.images, again.images)


def test_transforms_in_the_pixel_loop_are_per_image_batch_equals_alone():
    model = conv_model()
    standard = parse_transforms("pad=2,jitter=2,rotate=10")
    x0 = initial_images("uniform", (8, 8), 5, range(3))
    batch = render(ClassObjective(model, 1), x0, 4, 3.0, seed=5, transforms=standard)
    other_seed = render(ClassObjective(model, 1), x0, 4, 3.0, seed=6, transforms=standard)
    assert not np.allclose(batch.images, other_seed.images)
    for i in range(3):
        alone = render(ClassObjective(model, 1), x0[i:i + 1], 4, 3.0, seed=5, indices=[i],
                       transforms=standard)
        np.testing.assert_allclose(alone.images[0], batch.images[i], rtol=1e-6, atol=1e-4)


def test_the_diversity_term_pulls_a_batch_apart():
    model = conv_model()
    parameters = np.repeat(initial_parameters("fft", (8, 8), 0, range(1)), 3, axis=0)
    parameters += np.random.default_rng(0).normal(0, 1e-3, parameters.shape).astype(np.float32)
    diversity = Objective(model, [(1.0, Term("diversity", model.layers[1].name))])
    result = render_parametrized(diversity, parameters, "fft", True, (8, 8), 20, 0.05)
    before = diversity(initial_images_of(parameters))[0]
    # minus the mean pairwise cosine of the Gram matrices: from about -1 (alike) upwards
    assert keras.ops.convert_to_numpy(before).sum() < -0.99
    assert result.objective[-1].sum() > result.objective[0].sum() + 0.05
    assert np.std(result.images, axis=0).mean() > 3 * np.std(initial_images_of(parameters),
                                                             axis=0).mean()


def initial_images_of(parameters):
    from nnvisual.optvis.param import parameters_to_images

    return keras.ops.convert_to_numpy(parameters_to_images(parameters, "fft", True, (8, 8)))
