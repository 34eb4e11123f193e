"""The evaluation metrics on hand-built cases whose answers are known: a linear model's exact
contributions, random and constant maps, masks around the maximum."""

import dataclasses
import math

import numpy as np
import pytest

from nnvisual.evaluation import (
    axiomatic,
    complexity,
    faithfulness,
    localisation,
    metrics,
    randomisation,
    robustness,
)
from nnvisual.evaluation.task import Settings
from nnvisual.testing.evaluation import Linear, gradient, gradient_x_input, linear_task


def test_exact_contributions_are_perfectly_faithful_and_complete():
    task = linear_task(settings=Settings(runs=30, subset=0.1))
    np.testing.assert_allclose(faithfulness.faithfulness_correlation(task), 1.0, atol=1e-9)
    np.testing.assert_allclose(axiomatic.completeness(task), 0.0, atol=1e-6)  # float32 inputs


def test_a_random_map_is_not_faithful_and_not_complete():
    rng = np.random.default_rng(5)
    task = linear_task(maps=rng.normal(size=(40, 8, 8)), count=40,
                       settings=Settings(runs=40, subset=0.1))
    values = faithfulness.faithfulness_correlation(task)
    assert abs(values.mean()) < 0.1
    assert axiomatic.completeness(task).mean() > 0.5


def test_the_exact_map_beats_its_negation_on_every_perturbation_curve():
    good = linear_task(count=8)
    bad = dataclasses.replace(good, maps=-good.maps)
    assert (faithfulness.pixel_flipping(good) < faithfulness.pixel_flipping(bad)).all()
    assert (faithfulness.region_perturbation(dataclasses.replace(good, settings=Settings(patch=2)))
            > faithfulness.region_perturbation(dataclasses.replace(bad, settings=Settings(patch=2)))
            ).all()
    assert faithfulness.deletion(good).mean() < faithfulness.deletion(bad).mean()
    assert faithfulness.insertion(good).mean() > faithfulness.insertion(bad).mean()
    assert faithfulness.road_morf(good).mean() < faithfulness.road_morf(bad).mean()
    assert faithfulness.road_lerf(good).mean() > faithfulness.road_lerf(bad).mean()


def test_pixel_flipping_curve_ends_at_the_baseline():
    task = linear_task(count=3)
    curve = faithfulness.pixel_flipping_curve(task)
    np.testing.assert_allclose(curve[:, 0], task.scores(task.x))
    np.testing.assert_allclose(curve[:, -1], task.scores(task.baselines))


def test_region_order_ranks_patches_by_their_sum():
    maps = np.zeros((1, 5, 5))
    maps[0, 4, 4] = 3  # the partial corner patch
    maps[0, 0, 1] = 2
    order, rows, cols = faithfulness.region_order(maps, 2)
    assert (rows, cols) == (3, 3)
    assert list(order[0, :2]) == [8, 0]


def test_linear_imputation_interpolates_a_linear_ramp_and_keeps_known_pixels():
    ramp = np.add.outer(np.arange(7.0), 2 * np.arange(9.0))[..., None].repeat(2, axis=-1)
    keep = np.ones((7, 9), bool)
    keep[2:5, 3:7] = False
    filled = faithfulness.linear_imputation(ramp, keep)
    np.testing.assert_allclose(filled, ramp, atol=1e-9)  # the ramp is its neighbours' mean
    image = np.random.default_rng(0).uniform(size=(7, 9, 3))
    filled = faithfulness.linear_imputation(image, keep)
    np.testing.assert_array_equal(filled[keep], image[keep])
    assert filled[~keep].min() >= image.min() and filled[~keep].max() <= image.max()


def test_linear_imputation_matches_pytorch_grad_cam():
    torch = pytest.importorskip("torch", reason="torch is not installed (the reference extra)")
    from nnvisual.testing.torch_reference import declare_torchvision_ops

    declare_torchvision_ops(torch)
    road = pytest.importorskip("pytorch_grad_cam.metrics.road")
    rng = np.random.default_rng(1)
    image = rng.uniform(size=(12, 10, 3))
    keep = rng.uniform(size=(12, 10)) > 0.6
    keep[0, :] = False  # the border, where weights are renormalized
    theirs = road.NoisyLinearImputer(noise=0.0)(torch.from_numpy(image.transpose(2, 0, 1)).float(),
                                                torch.from_numpy(keep.astype(np.float32)))
    ours = faithfulness.linear_imputation(image.astype(np.float32), keep)
    np.testing.assert_allclose(ours, theirs.numpy().transpose(1, 2, 0), rtol=1e-5, atol=1e-5)


def test_a_constant_map_has_gini_zero_and_the_largest_entropy():
    maps = np.full((2, 6, 6), 0.3)
    np.testing.assert_allclose(complexity.gini(maps), 0.0, atol=1e-12)
    np.testing.assert_allclose(complexity.entropy(maps), math.log(36))
    one_hot = np.zeros((1, 6, 6))
    one_hot[0, 2, 3] = -5  # |map|
    np.testing.assert_allclose(complexity.gini(one_hot), 1 - 1 / 36)
    np.testing.assert_allclose(complexity.entropy(one_hot), 0.0, atol=1e-12)
    assert complexity.gini(np.zeros((1, 3, 3)))[0] == 0


def test_localisation_on_a_mask_around_the_maximum():
    maps = np.zeros((3, 4, 4))
    maps[:, 1, 1], maps[:, 3, 3] = 4.0, 1.0
    masks = np.zeros((3, 4, 4), bool)
    masks[0, :2, :2] = True  # holds the maximum and 4/5 of the relevance
    masks[1, 3, 3] = True  # holds the second largest only
    task = linear_task(maps=maps, count=3, masks=masks)
    np.testing.assert_array_equal(localisation.pointing_game(task)[:2], [1, 0])
    np.testing.assert_allclose(localisation.relevance_mass_accuracy(task)[:2], [0.8, 0.2])
    # top 4 of the first: the maximum, the 1, then zeros in row-major order, (0, 0) and (0, 1)
    np.testing.assert_allclose(localisation.relevance_rank_accuracy(task)[:2], [0.75, 0.0])
    assert np.isnan(localisation.pointing_game(task)[2])  # an empty mask


def test_robustness_of_a_gradient_that_does_not_depend_on_the_input():
    model = Linear.drawn()
    settings = Settings(samples=3, radius=0.05)
    steady = linear_task(explain=gradient, settings=settings)
    steady = dataclasses.replace(steady, maps=gradient(model, steady.x, steady.classes))
    for metric in (robustness.max_sensitivity, robustness.avg_sensitivity,
                   robustness.local_lipschitz):
        np.testing.assert_allclose(metric(steady), 0.0, atol=1e-12)
    moving = linear_task(explain=gradient_x_input, settings=settings)
    moving = dataclasses.replace(moving, maps=gradient_x_input(model, moving.x, moving.classes))
    high, mean = robustness.max_sensitivity(moving), robustness.avg_sensitivity(moving)
    assert (high >= mean).all() and (mean > 0).all()
    assert (robustness.local_lipschitz(moving) > 0).all()


def test_input_invariance_holds_for_the_gradient_not_for_gradient_times_input():
    model = Linear.drawn()
    task = linear_task(explain=gradient)
    task = dataclasses.replace(task, maps=gradient(model, task.x, task.classes))
    np.testing.assert_allclose(axiomatic.input_invariance(task), 0.0, atol=1e-12)
    task = dataclasses.replace(task, explain=gradient_x_input,
                               maps=gradient_x_input(model, task.x, task.classes))
    assert (axiomatic.input_invariance(task) > 0.01).all()


def test_randomisation_a_map_that_ignores_the_model_scores_one():
    constant = np.random.default_rng(3).normal(size=(8, 8))
    task = linear_task(explain=lambda model, x, classes: np.repeat(constant[None], len(x), 0),
                       randomized=lambda: Linear.drawn(seed=9))
    task = dataclasses.replace(task, maps=np.repeat(constant[None], len(task.x), 0))
    np.testing.assert_allclose(randomisation.model_randomisation(task), 1.0)
    np.testing.assert_allclose(randomisation.random_logit(task), 1.0)
    real = linear_task(explain=gradient, randomized=lambda: Linear.drawn(seed=9))
    real = dataclasses.replace(real, maps=gradient(real.model, real.x, real.classes))
    assert abs(randomisation.model_randomisation(real).mean()) < 0.5
    others = randomisation.other_classes(real, 4)
    assert (others != real.classes).all()


def test_every_metric_of_the_table_runs_and_is_seeded():
    model = Linear.drawn()
    masks = np.zeros((6, 8, 8), bool)
    masks[:, 2:6, 2:6] = True
    task = linear_task(explain=gradient_x_input, randomized=lambda: Linear.drawn(seed=9),
                       masks=masks, settings=Settings(steps=4, runs=5, samples=2, patch=4,
                                                      regions=3))
    task = dataclasses.replace(task, maps=gradient_x_input(model, task.x, task.classes))
    for name in metrics.names():
        first, again = metrics.evaluate(task, name), metrics.evaluate(task, name)
        assert first.shape == (6,) and np.isfinite(first).all(), name
        np.testing.assert_array_equal(first, again, err_msg=name)


def test_settings_refuse_impossible_values():
    with pytest.raises(ValueError, match="steps"):
        Settings(steps=1)
    with pytest.raises(ValueError, match="subset"):
        Settings(subset=0)


def test_max_and_avg_sensitivity_share_their_samples_and_a_replaced_task_does_not():
    calls = []

    def explain(model, x, classes):
        calls.append(len(x))
        return gradient_x_input(model, x, classes)

    task = linear_task(explain=explain, settings=Settings(samples=3))
    task = dataclasses.replace(task, maps=gradient_x_input(task.model, task.x, task.classes))
    robustness.max_sensitivity(task)
    robustness.avg_sensitivity(task)
    assert len(calls) == 3
    robustness.avg_sensitivity(dataclasses.replace(task, maps=2 * task.maps))
    assert len(calls) == 6


def test_histogram_entropy_is_the_entropy_of_equal_width_bins():
    """Quantus' discrete_entropy: scipy's entropy of numpy's histogram; a map of one value is 0,
    values one per bin give log(bins)."""
    scipy_stats = pytest.importorskip("scipy.stats")
    maps = np.random.default_rng(4).normal(size=(5, 8, 8))
    expected = [scipy_stats.entropy(np.histogram(m, bins=10)[0]) for m in maps]
    np.testing.assert_allclose(randomisation.histogram_entropy(maps, 10), expected, rtol=1e-12)
    assert randomisation.histogram_entropy(np.zeros((1, 4, 4)), 10)[0] == 0
    ramp = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_allclose(randomisation.histogram_entropy(ramp, 16), math.log(16))


def two_model_task(trained_maps, randomized_maps):
    """A task whose method gives ``trained_maps`` for the trained model and ``randomized_maps``
    for the randomized one (a marker object), whatever the input."""
    marker = object()
    task = linear_task(explain=lambda scorer, x, classes: randomized_maps if scorer is marker
                       else trained_maps, randomized=lambda: marker, count=len(trained_maps))
    return dataclasses.replace(task, maps=trained_maps)


def test_efficient_mprt_is_the_rise_of_complexity_under_randomization():
    rng = np.random.default_rng(6)
    sparse = np.zeros((4, 8, 8))
    sparse[:, 2:4, 2:4] = rng.uniform(1, 2, (4, 2, 2))  # a few pixels: low histogram entropy
    noise = rng.normal(size=(4, 8, 8))
    rise = randomisation.efficient_model_randomisation(two_model_task(sparse, noise))
    before = randomisation.histogram_entropy(sparse, 100)
    after = randomisation.histogram_entropy(noise, 100)
    np.testing.assert_allclose(rise, (after - before) / before)
    assert (rise > 1).all()
    np.testing.assert_array_equal(
        randomisation.efficient_model_randomisation(two_model_task(noise, noise)), 0.0)


def test_smooth_mprt_averages_the_maps_of_noisy_copies_under_both_models():
    # a method that returns the input itself (summed over channels), ignoring the model: its
    # smoothed map is the mean of the noisy inputs, and it survives randomization (score 1)
    def input_itself(scorer, x, classes):
        return x.sum(axis=-1)

    task = linear_task(explain=input_itself, randomized=lambda: Linear.drawn(seed=9),
                       settings=Settings(smooth_samples=3, smooth_noise=0.2))
    task = dataclasses.replace(task, maps=input_itself(None, task.x, None))
    x = np.asarray(task.x, np.float64)
    spread = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))).reshape(-1, 1, 1, 1)
    noise = task.rng(7).normal(size=(3, *x.shape)) * 0.2 * spread
    expected = np.mean([(x + n).astype(np.float32).sum(axis=-1) for n in noise], axis=0)
    np.testing.assert_allclose(randomisation.smoothed_maps(task, task.model, noise), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(randomisation.smooth_model_randomisation(task), 1.0)
    # the gradient of a linear model is its weights: another model's are unrelated
    real = linear_task(explain=gradient, randomized=lambda: Linear.drawn(seed=9))
    real = dataclasses.replace(real, maps=gradient(real.model, real.x, real.classes))
    assert abs(randomisation.smooth_model_randomisation(real).mean()) < 0.5
