"""The atlas's parts on tiny networks: the excitation fraction on a hand-built case, the scan's
strongest examples equal to ``deconv --top9``'s (byte for byte), its weakest examples and
statistics against a direct computation, the classes a channel feeds, the search index."""

import json

import keras
import numpy as np
import pytest

from nnvisual.config import AtlasConfig, DeconvConfig
from nnvisual.data import load_image_folder
from nnvisual.microscope import classes, index, stats
from nnvisual.models.loading import load_model
from nnvisual.steps import atlas as step
from nnvisual.steps import deconv as deconv_step
from nnvisual.testing.images import write_image_folder
from nnvisual.testing.models import small_cnn

IMAGE = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def test_the_excitation_fraction_counts_channels_whose_best_visualization_beats_the_strongest_example():
    responses = np.array([[1.0, 5.0], [2.0, 2.0], [3.0, 0.5], [4.0, 4.0]])  # 2 visualizations each
    strongest = np.array([4.0, 2.5, 2.0, 4.0])  # beaten: 5 > 4 yes, 2 no, 3 > 2 yes, 4 = 4 no (a tie)
    assert stats.excited(responses, strongest).tolist() == [True, False, True, False]
    assert stats.excitation_rows({"conv": (responses, strongest)}) == [("conv", 4, 2, 0.5, 0, 0.5)]
    dead = np.array([4.0, 0.0, 2.0, 0.0])  # channels 1 and 3 never respond to a dataset image
    assert stats.excitation_rows({"conv": (responses, dead)}) == [("conv", 4, 4, 1.0, 2, 1.0)]


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    """A 2-layer atlas of a tiny CNN over 30 images (blocks of 4 channels, 4 steps), and the
    model and data it used."""
    folder = write_image_folder(tmp_path_factory.mktemp("atlas") / "data", per_class=(1, 10))
    loaded = load_model(small_cnn(size=32))
    dataset = load_image_folder(folder)
    config = AtlasConfig(model="cnn", layers=("c1", "c2"), steps=4, block=4, scan_images=30,
                         transforms="pad=2,jitter=2")
    inputs = step.prepare(loaded, config, dataset)
    return step.compute(inputs, config), loaded, dataset, inputs


def test_the_strongest_examples_are_deconv_top9s_byte_for_byte(computed):
    atlas, loaded, dataset, _ = computed
    config = DeconvConfig(model="cnn", layers=("c1", "c2"), top_k=6, top9=True, top9_images=30)
    projections = deconv_step.project(deconv_step.prepare(loaded, config, IMAGE, "img", dataset), config)
    for found, top in zip(atlas.layers, projections.top9, strict=True):
        order = np.argsort(top.channels)  # deconv: by strength on the image; the atlas: by channel
        assert found.channels.tolist() == top.channels[order].tolist()
        for part in ("indices", "activations", "positions", "boxes"):
            mine, theirs = getattr(found, f"top_{part}"), getattr(top, part)[order]
            assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes(), (found.layer, part)


def test_the_weakest_examples_and_statistics_are_those_of_every_image(computed):
    atlas, _, _, inputs = computed
    images = deconv_step.model_input(inputs.loaded)(inputs.images)
    for found in atlas.layers:
        maps = inputs.projector.feature_maps(images, [found.layer])[found.layer]
        strongest = maps.max(axis=(1, 2))  # (images, channels)
        for row, channel in enumerate(found.channels):
            weakest = np.lexsort((np.arange(len(images)), strongest[:, channel]))[:9]
            assert found.bottom_indices[row].tolist() == weakest.tolist()
            np.testing.assert_allclose(found.bottom_activations[row], strongest[weakest, channel])
            np.testing.assert_allclose(found.mean[row], maps[..., channel].mean(), rtol=1e-5)
            np.testing.assert_allclose(found.active[row], (maps[..., channel] > 0).mean(), rtol=1e-6)


def test_the_visualizations_and_the_excitation_table_are_measured_on_the_channel(computed):
    atlas, _, _, inputs = computed
    la = atlas.layers[1]
    assert la.visualizations.shape == (6, 2, 32, 32, 3) and la.visualizations.dtype == np.uint8
    maps = inputs.projector.feature_maps(deconv_step.model_input(inputs.loaded)(
        la.visualizations[:, 0]), ["c2"])["c2"]
    np.testing.assert_allclose(la.responses[:, 0], maps.max(axis=(1, 2))[np.arange(6), la.channels])
    header, rows = step.excitation_table(atlas)
    assert header == ("layer", "channels", "excited", "fraction", "dead", "fraction_alive")
    assert rows[1][:4] == ("c2", 6, int(la.excited.sum()), la.excited.mean())


def test_a_channel_feeds_the_classes_of_its_weights_only_through_global_pooling():
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    logits = keras.layers.Dense(3, name="logits")(keras.layers.Dropout(0.1, name="drop")(pooled))
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="softmax")(logits))
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3) * np.array([1, -1, 0.5], np.float32)
    model.get_layer("logits").kernel.assign(kernel)
    np.testing.assert_array_equal(classes.class_weights(model, "conv"), kernel)
    order, weights = classes.strongest_classes(kernel, [1, 3], count=2)
    assert order.tolist() == [[0, 2], [0, 2]] and weights.tolist() == [[3, 2.5], [9, 5.5]]
    assert classes.class_weights(small_cnn(size=32), "c2") is None  # flatten, then dense


def test_the_search_index_links_each_layer_and_channel_and_sits_safely_in_a_script():
    found = index.entries([("outer/conv", (4, 4, 2), [0, 1])])
    assert [(e["name"], e["href"]) for e in found] == [
        ("outer/conv", "outer--conv/index.html"), ("outer/conv/0", "outer--conv/0.html"),
        ("outer/conv/1", "outer--conv/1.html")]
    text = index.inline_json([{"name": "</script><b>"}])
    assert "</" not in text and json.loads(text) == [{"name": "</script><b>"}]


def class_renderer(steps):
    from nnvisual.microscope.channels import ClassRenderer, Recipe
    from nnvisual.optvis.transforms import parse_transforms

    return ClassRenderer(small_cnn(size=32), None, (32, 32),
                         Recipe(steps, 0.05, parse_transforms("pad=2,jitter=2"), 0, 2, 0.3))


def test_each_class_visualization_raises_its_own_logit_and_is_its_rendering_alone_byte_for_byte():
    renderer, start = class_renderer(16), class_renderer(0)
    rendered, initial = renderer.render([0, 1, 2]), start.render([0, 1, 2])
    logits, _ = renderer.scores(rendered.reshape(6, 32, 32, 3))
    before, _ = start.scores(initial.reshape(6, 32, 32, 3))
    own = np.repeat([0, 1, 2], 2)
    assert (logits[np.arange(6), own] > before[np.arange(6), own]).all(), (logits, before)
    alone = renderer.render([1])  # the same streams: the same images
    assert alone.tobytes() == rendered[1:2].tobytes()


def test_the_atlas_renders_every_class_of_a_small_classifier_and_the_strongest_fed_of_a_large(computed):
    atlas = computed[0]
    assert atlas.class_arrays["indices"].tolist() == [0, 1, 2]
    assert atlas.class_arrays["visualizations"].shape == (3, 2, 32, 32, 3)
    weights = np.array([[0.0, 5, 1, 0, 0], [3, 0, 0, 0, 4]], np.float32)  # 2 channels, 5 classes
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    logits = keras.layers.Dense(5, name="logits")(keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, logits)
    model.get_layer("logits").kernel.assign(weights)
    # each channel's 2 strongest: {1, 2} and {4, 0}; the 3 strongest of those: 1 (5), 4 (4), 0 (3)
    assert classes.chosen_classes(model, {"conv": np.arange(2)}, 3, 2).tolist() == [0, 1, 4]
    assert classes.chosen_classes(model, {"conv": np.arange(2)}, 5, 2).tolist() == [0, 1, 2, 3, 4]
