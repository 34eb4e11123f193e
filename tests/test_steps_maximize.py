"""steps.maximize: the class target, the divergence check and the tables, by hand."""

import keras
import numpy as np
import pytest

from nnvisual.config import MaximizeConfig
from nnvisual.errors import UserError
from nnvisual.models.loaded import LoadedModel
from nnvisual.optvis import Rendering
from nnvisual.steps import maximize as step


def rendering(objective, probability, top_class):
    objective = np.asarray(objective, np.float32)
    return Rendering(np.zeros((objective.shape[1], 2, 2, 3), np.float32), objective,
                     np.asarray(probability, np.float32), np.asarray(top_class))


def two_phases():
    before = rendering([[1, 2], [3, 4]], [[0.1, 0.2], [0.3, 0.4]], [2, 0])
    after = rendering([[5, 6], [7, 8]], [[0.5, 0.6], [0.7, 0.8]], [1, 1])
    return step.Reconstructions(np.zeros((2, 2, 2, 3), np.float32),
                                {"before": before, "after": after})


def test_resolve_target_names_the_class():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    loaded = LoadedModel(model, "any", (8, 8), None, ("a", "b", "c"))
    assert step.resolve_target(loaded, "B") == (1, "b", ("a", "b", "c"))
    assert step.resolve_target(loaded, "2") == (2, "c", ("a", "b", "c"))


def test_trajectory_table_lists_every_step_of_every_image():
    header, rows = step.trajectory_table(two_phases())
    assert header == ("phase", "image", "step", "objective", "probability")
    assert [(p, i, s, round(float(o), 6), round(float(q), 6)) for p, i, s, o, q in rows] == [
        ("before", 0, 0, 1, 0.1), ("before", 0, 1, 3, 0.3),
        ("before", 1, 0, 2, 0.2), ("before", 1, 1, 4, 0.4),
        ("after", 0, 0, 5, 0.5), ("after", 0, 1, 7, 0.7),
        ("after", 1, 0, 6, 0.6), ("after", 1, 1, 8, 0.8)]


def test_final_table_names_each_images_top_class():
    header, rows = step.final_table(two_phases(), ("cat", "dog", "frog"))
    assert header == ("phase", "image", "objective", "probability", "top1_class", "top1_name")
    assert [(p, i, round(float(o), 6), round(float(q), 6), c, n)
            for p, i, o, q, c, n in rows] == [
        ("before", 0, 3, 0.3, 2, "frog"), ("before", 1, 4, 0.4, 0, "cat"),
        ("after", 0, 7, 0.7, 1, "dog"), ("after", 1, 8, 0.8, 1, "dog")]


def test_retrain_history_table_has_sorted_metric_columns():
    header, rows = step.retrain_history_table({"val_loss": [3.0, 2.0], "loss": [1.0, 0.5]})
    assert header == ("epoch", "loss", "val_loss")
    assert rows == [(1, 1.0, 3.0), (2, 0.5, 2.0)]


@pytest.mark.parametrize("bad, message", [
    ("objective", "diverged \\(after\\).*NaN or infinite after 1 steps"),
    ("images", "diverged \\(after\\).*NaN or infinite; use"),
])
def test_check_finite_names_the_phase_and_the_step(bad, message):
    result = two_phases()
    step.check_finite(result)  # all finite: no error
    after = result.phases["after"]
    if bad == "objective":
        after.objective[1, 0] = np.nan
    else:
        after.images[1, 0, 0, 0] = np.inf
    with pytest.raises(UserError, match=message):
        step.check_finite(result)


def test_robust_probability_without_transforms_is_the_probability():
    from nnvisual.testing.models import conv_model

    model = conv_model()
    images = np.random.default_rng(0).uniform(0, 255, (3, 8, 8, 3)).astype(np.float32)
    plain = model.predict(images, verbose=0)[:, 2]
    np.testing.assert_allclose(step.robust_probability(model, None, images, 2, count=4,
                                                       transforms="jitter=0"), plain, rtol=1e-5)
    shaken = step.robust_probability(model, None, images, 2, count=4)
    assert shaken.shape == (3,) and not np.allclose(shaken, plain)
    np.testing.assert_array_equal(shaken, step.robust_probability(model, None, images, 2, count=4))


def test_resolve_objective_builds_the_target_and_checks_it_before_any_run():
    from nnvisual.testing.models import conv_model

    model = conv_model()
    conv = model.layers[1].name
    loaded = LoadedModel(model, "tiny", (8, 8), None, ("a", "b", "c", "d"))
    study = step.resolve_objective(loaded, MaximizeConfig(target_class="c"))
    assert (study.terms, study.class_index, study.label) == (None, 2, "2 (c)")
    grid = step.resolve_objective(loaded, MaximizeConfig(channel_grid=conv, n=3))
    assert grid.channels == (conv, (0, 1, 2)) and grid.class_index is None
    mixed = step.resolve_objective(loaded, MaximizeConfig(objective=f"channel:{conv}:1 - class:d",
                                                          diversity=2.0, diversity_layer=conv))
    assert mixed.class_index == 3 and [w for w, _ in mixed.terms] == [1.0, -1.0, 2.0]
    for config, message in [(MaximizeConfig(channel_grid=f"{conv}:6"), "channel 6 is out of range"),
                            (MaximizeConfig(param="fft", target_class="a"), "square input"),
                            (MaximizeConfig(objective="class:e"), "unknown class name 'e'")]:
        if config.param == "fft":
            loaded = LoadedModel(model, "tiny", (8, 2), None, ("a", "b", "c", "d"))
        with pytest.raises(UserError, match=message):
            step.resolve_objective(loaded, config)


def test_progress_counts_the_steps_of_every_phase():
    from nnvisual.testing.models import conv_model

    loaded = LoadedModel(conv_model(), "tiny", (8, 8), None, ("a", "b", "c", "d"))
    told = []
    config = MaximizeConfig(target_class="1", n=2, steps=3, step_size=1.0)
    result = step.reconstruct(step.prepare(loaded, config), config,
                              progress=lambda *args: told.append(args))
    assert [(done, total) for done, total, _ in told] == [(0, 3), (1, 3), (2, 3), (3, 3), (3, 3)]
    objective = result.phases["before"].objective
    assert told[2][2] == f"before: step 2/3, objective {objective[2].mean():.4g}"
    assert told[-1][2] == "done"
