"""steps.deconv: the inputs it checks and draws, and the tables and arrays of its result."""

import numpy as np
import pytest

from nnvisual import deconv
from nnvisual.config import DeconvConfig
from nnvisual.data import Dataset
from nnvisual.errors import UserError
from nnvisual.steps import deconv as step
from nnvisual.testing.models import loaded_two_conv


def dataset():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 10)
    return Dataset(rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8), labels,
                   rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8), labels, ("x", "y"), "test")


IMAGE = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)


def test_prepare_checks_layers_and_resizes_the_image():
    with pytest.raises(UserError, match="unknown layer 'c'"):
        step.prepare(loaded_two_conv(), DeconvConfig(layers=("a", "c")), IMAGE, "img")
    inputs = step.prepare(loaded_two_conv(), DeconvConfig(layers=None), IMAGE, "img")
    assert inputs.layers == ("a", "b")  # every Conv2D of a model that is not VGG16
    assert inputs.image.shape == (8, 8, 3) and inputs.dataset_images is None


def test_prepare_draws_a_stratified_named_sample_of_the_split():
    config = DeconvConfig(top9=True, top9_images=10, top9_split="train", seed=3)
    inputs = step.prepare(loaded_two_conv(), config, IMAGE, "img", dataset())
    assert len(inputs.dataset_images) == 10
    classes = [name.split("/")[1] for name in inputs.dataset_names]
    assert classes.count("x") == 5 and classes.count("y") == 5  # the split is half x, half y
    indices = [int(name.split("/")[2]) for name in inputs.dataset_names]
    assert all(name.startswith("train/") for name in inputs.dataset_names)
    np.testing.assert_array_equal(inputs.dataset_images, dataset().x_train[indices])


def test_project_matches_the_method_and_fills_the_tables():
    config = DeconvConfig(layers=("a", "b"), top_k=2, top9=True, top9_images=10)
    inputs = step.prepare(loaded_two_conv(), config, IMAGE, "img", dataset())
    result = step.project(inputs, config)
    expected = deconv.project_layers(deconv.Projector(inputs.loaded.model), inputs.image / 255.0,
                                     ["a", "b"], 2, "max")
    for got, want in zip(result.layers, expected, strict=True):
        np.testing.assert_allclose(got.projections, want.projections, rtol=1e-6, atol=1e-7)

    header, rows = step.channels_table(result)
    assert header[:4] == ("layer", "rank", "channel", "activation") and len(rows) == 4
    first = result.layers[0]
    assert rows[1] == ("a", 1, first.channels[1], first.activations[1], *first.positions[1],
                       *first.boxes[1])

    header, rows = step.top9_table(result)
    assert header == ("layer", "channel", "rank", "image", "activation", "row", "col")
    assert len(rows) == 2 * 2 * 9  # 2 layers x 2 channels x 9 images
    top = result.top9[1]
    assert rows[18][:4] == ("b", top.channels[0], 0, inputs.dataset_names[top.indices[0, 0]])
    assert result.top9_shown["b"].shape == (2, 9, 8, 8, 3)
    np.testing.assert_array_equal(result.top9_shown["b"][0, 0],
                                  inputs.dataset_images[top.indices[0, 0]])

    arrays = step.projection_arrays(result)
    assert sorted(arrays) == ["a", "a_channels", "b", "b_channels", "image"]
    np.testing.assert_array_equal(arrays["b_channels"], result.layers[1].channels)


def test_without_a_dataset_there_is_no_top9():
    config = DeconvConfig(layers=("b",), top_k=1)
    result = step.project(step.prepare(loaded_two_conv(), config, IMAGE, "img"), config)
    assert result.top9 == [] and step.top9_table(result)[1] == []
