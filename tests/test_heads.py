"""Every head explained right: the scores are read before the model's last activation (softmax
or sigmoid, fused or separate, at any depth of nesting), at the output named for a model with
several. Each proof takes the same weights in two forms that must give the same maps and scores:
a sigmoid head and the same network with a linear head; a classifier nested whole and the same
layers flat; a two-output model at one output and the single-output model cut there."""

import keras
import numpy as np
import pytest

from nnvisual.attribution import attribute, methods
from nnvisual.attribution.network import Network
from nnvisual.attribution.request import default_settings
from nnvisual.errors import UserError
from nnvisual.models.heads import find_head

SIZE = (8, 8, 3)
SETTINGS = default_settings(steps=4, samples=2, background_size=2, batch_size=8)


def body(prefix=""):
    return [keras.layers.Conv2D(4, 3, padding="same", activation="relu", name=f"{prefix}c1"),
            keras.layers.MaxPooling2D(2, name=f"{prefix}p1"),
            keras.layers.Conv2D(5, 3, padding="same", activation="relu", name=f"{prefix}c2"),
            keras.layers.Flatten(name=f"{prefix}flat")]


def seeded(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def twins(head_activation: str):
    """The same convnet ending in Dense(3, activation=head_activation), and with a linear head."""
    model = seeded(keras.Sequential([keras.Input(SIZE), *body(),
                                     keras.layers.Dense(3, activation=head_activation, name="out")]))
    linear = keras.Sequential([keras.Input(SIZE), *body(), keras.layers.Dense(3, name="out")])
    linear.set_weights(model.get_weights())
    return model, linear


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 255, (2, *SIZE)).astype(np.float32)


def test_find_head_reads_before_every_kind_of_last_activation():
    fused, _ = twins("softmax")
    assert find_head(fused) == find_head(fused).__class__("out", True, "softmax", None, 3)
    separate = keras.Sequential([keras.Input(SIZE), *body(), keras.layers.Dense(3, name="logits"),
                                 keras.layers.Activation("sigmoid")])
    assert (find_head(separate).path, find_head(separate).activation) == ("logits", "sigmoid")
    nested = keras.Sequential([keras.Input(SIZE), keras.layers.Rescaling(1.0), separate],
                              name="outer")
    assert find_head(nested).path == f"{separate.name}/logits"
    with pytest.raises(UserError, match="has a tanh activation, neither softmax, sigmoid nor linear"):
        find_head(keras.Sequential([keras.Input(SIZE), *body(), keras.layers.Dense(3, "tanh")]))


# the methods of any network (those reading a transformer's attention: tests/test_vit.py)
CONVOLUTIONAL = [name for name, row in methods.METHODS.items() if not row.reads_attention]


@pytest.mark.parametrize("method", [m for m in CONVOLUTIONAL if m != "deepshap"])
def test_a_sigmoid_head_is_explained_at_its_logits(method, images):
    """A multi-label head's maps are those of its logits, not of its saturated sigmoid (all
    zeros on this network before the fix) nor of a softmax over the labels."""
    sigmoid, linear = twins("sigmoid")
    classes = [0, 2]
    got = attribute(Network(sigmoid), images, method, classes, settings=SETTINGS)
    expected = attribute(Network(linear), images, method, classes, settings=SETTINGS)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * max(np.abs(expected).max(), 1e-6))


def test_a_sigmoid_head_s_probabilities_are_its_sigmoid(images):
    sigmoid, linear = twins("sigmoid")
    logits = Network(linear).logits(images)
    np.testing.assert_allclose(Network(sigmoid).logits(images), logits, rtol=1e-5)
    np.testing.assert_allclose(Network(sigmoid).probabilities(images),
                               0.5 * (np.tanh(logits / 2) + 1), rtol=1e-5)
    np.testing.assert_allclose(Network(sigmoid).probabilities(images), sigmoid(images), rtol=1e-5)


def nested_pair():
    """Preprocessing + a whole classifier (its softmax inside) nested in a Sequential, and the
    same layers in one flat model."""
    inner = seeded(keras.Sequential([keras.Input(SIZE), *body(), keras.layers.Dense(3, name="out"),
                                     keras.layers.Activation("softmax", name="softmax")],
                                    name="classifier"))
    nested = keras.Sequential([keras.Input(SIZE), keras.layers.Rescaling(1 / 255, name="scale"),
                               inner], name="wrapped")
    flat = keras.Sequential([keras.Input(SIZE), keras.layers.Rescaling(1 / 255, name="scale"),
                             *body(), keras.layers.Dense(3, name="out"),
                             keras.layers.Activation("softmax", name="softmax")])
    flat.set_weights(nested.get_weights())
    return nested, flat


@pytest.mark.parametrize("method", CONVOLUTIONAL)
def test_a_classifier_nested_whole_is_explained_as_the_flat_one(method, images):
    nested, flat = nested_pair()
    classes = [1, 0]
    got = attribute(Network(nested), images, method, classes, settings=SETTINGS)
    expected = attribute(Network(flat), images, method, classes, settings=SETTINGS)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * max(np.abs(expected).max(), 1e-6))


def two_outputs():
    """A trunk with two heads: ``main`` (softmax over 3) and ``aux`` (sigmoid over 2), and the
    single-output model cut at ``aux``."""
    inputs = keras.Input(SIZE)
    x = inputs
    for layer in body():
        x = layer(x)
    main = keras.layers.Dense(3, activation="softmax", name="main")(x)
    aux = keras.layers.Dense(2, activation="sigmoid", name="aux")(x)
    model = seeded(keras.Model(inputs, [main, aux]))
    cut = keras.Model(inputs, aux)
    return model, cut


@pytest.mark.parametrize("method", ["saliency", "integrated-gradients", "gradcam", "guided",
                                    "lrp-epsilon-plus", "deeplift"])
def test_an_output_named_is_explained_as_the_model_cut_there(method, images):
    model, cut = two_outputs()
    got = attribute(Network(model, output="aux"), images, method, [1, 0], settings=SETTINGS)
    expected = attribute(Network(cut), images, method, [1, 0], settings=SETTINGS)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * max(np.abs(expected).max(), 1e-6))


def test_several_outputs_need_a_name(images):
    model, _ = two_outputs()
    with pytest.raises(UserError, match=r"has 2 outputs \(main, aux\): name the one to explain"):
        Network(model)
    with pytest.raises(UserError, match="unknown output 'head' of .*: its outputs are main, aux"):
        Network(model, output="head")


def test_the_commands_take_output_and_record_the_head(cli, tmp_path, images):
    import cv2

    from nnvisual.testing.run_files import read_csv, read_manifest

    model, cut = two_outputs()
    model.save(tmp_path / "two.keras")
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(images.astype(np.uint8)):
        cv2.imwrite(str(folder / f"{i}.png"), image[..., ::-1])
    refused = cli("attribute", "--model", tmp_path / "two.keras", "--images", folder,
                  "--out", tmp_path / "no")
    assert refused.exit_code == 2 and "has 2 outputs (main, aux)" in refused.output
    assert not (tmp_path / "no").exists()
    run = cli("attribute", "--model", tmp_path / "two.keras", "--images", folder, "--output", "aux",
              "--method", "saliency", "--class", "1", "--out", tmp_path / "run")
    assert run.exit_code == 0, run.output
    rows = read_csv(tmp_path / "run" / "tables" / "attributions.csv")
    probabilities = Network(cut).probabilities(images.astype(np.uint8).astype(np.float32))[:, 1]
    np.testing.assert_allclose([float(row["probability"]) for row in rows], probabilities, rtol=1e-4)
    assert read_manifest(tmp_path / "run")["head"] == "scores: the logits of 'aux' (output 'aux'), " \
                                                      "before its sigmoid"
    maximized = cli("maximize", "--model", tmp_path / "two.keras", "--output", "main", "--class", "2",
                    "-n", "1", "--steps", "2", "--out", tmp_path / "max")
    assert maximized.exit_code == 0, maximized.output


def test_maximize_and_sanity_read_a_nested_classifier_as_the_flat_one(images):
    import nnvisual as nv

    nested, flat = nested_pair()
    runs = [nv.maximize(model, 2, n=2, steps=3, step_size=1.0, seed=0) for model in (nested, flat)]
    np.testing.assert_allclose(runs[0].images["before"], runs[1].images["before"], rtol=1e-5,
                               atol=1e-4)
    np.testing.assert_allclose(runs[0].computed.phases["before"].objective,
                               runs[1].computed.phases["before"].objective, rtol=1e-5, atol=1e-5)
    checks = [nv.sanity_check(model, images.astype(np.uint8), methods="saliency,gradcam",
                              randomizations="cascading", curve_steps=4, bootstrap=100)
              for model in (nested, flat)]
    for method in ("saliency", "gradcam"):
        np.testing.assert_allclose(checks[0].computed.original[method],
                                   checks[1].computed.original[method], rtol=1e-5, atol=1e-6)
        for curve in ("deletion", "insertion"):
            np.testing.assert_allclose(checks[0].computed.curves[curve][method],
                                       checks[1].computed.curves[curve][method], rtol=1e-5)
    assert len(checks[0].computed.stages["cascading"]) == len(checks[1].computed.stages["cascading"])


@pytest.mark.slow
def test_efficientnet_lite0_nested_with_its_preprocessing_is_explained_as_lite0():
    """Lite0 wrapped in a Sequential with its preprocessing, as users build classifiers, gives
    Lite0's own maps for every method (the ImageNet weights, a real photo)."""
    from nnvisual import data
    from nnvisual.models.loading import load_model
    from nnvisual.testing.locations import PHOTOS

    lite0 = load_model("efficientnet-lite0")
    wrapped = keras.Sequential([keras.Input((224, 224, 3)),
                                keras.layers.Rescaling(1 / 127.5, offset=-1.0), lite0.model])
    photo = data.resize(data.read_image(PHOTOS / "n02123597_Siamese_cat.JPEG"), (224, 224))
    raw = photo[None].astype(np.float32)
    x = lite0.preprocess(raw.copy())
    settings = default_settings(steps=8, samples=2, background_size=2, window=56, stride=56)
    bounds = (np.full((224, 224, 3), -1.0), np.full((224, 224, 3), 1.0))
    flat = Network(lite0.model, input_bounds=bounds)
    inside = Network(wrapped, input_bounds=(np.zeros((224, 224, 3)), np.full((224, 224, 3), 255.0)))
    classes = flat.logits(x).argmax(axis=1)
    black = np.zeros_like(raw)
    scaled = {"saliency", "guided", "deconvnet", "smoothgrad", "guided-gradcam"}  # d/dpixel
    # x * df/dx moves with the preprocessing's offset; Score-CAM masks the input, black in
    # pixels but grey in x
    not_invariant = {"gradient-x-input", "scorecam"}
    # float32: x rounds differently through the two preprocessings and a few ReLU6 units flip
    # (as in tests/test_attribution_reference.py); measured up to 2.7e-2 of the scale
    # (saliency), the rest at most 1.2e-3 (lrp-epsilon), correlation >= 0.99997
    kinked = {"saliency", "smoothgrad", "integrated-gradients", "lrp-0"}
    for method in set(CONVOLUTIONAL) - not_invariant:
        expected = attribute(flat, x, method, classes, lite0.preprocess(black.copy()), settings)
        got = attribute(inside, raw, method, classes, black, settings)
        got = got * 127.5 if method in scaled else got  # the gradients of a pixel, 1/127.5 of x's
        tolerance = 3e-2 if method in kinked else 2e-3
        assert np.abs(got - expected).max() <= tolerance * np.abs(expected).max(), method
        assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.9999, method


@pytest.mark.slow
def test_efficientnet_lite0_nested_is_maximized_and_checked_as_lite0():
    """maximize and sanity on Lite0 wrapped with its preprocessing give Lite0's own."""
    import nnvisual as nv
    from nnvisual import data
    from nnvisual.models.loading import load_model
    from nnvisual.testing.locations import PHOTOS

    lite0 = load_model("efficientnet-lite0")
    wrapped = nv.load_model(keras.Sequential([keras.Input((224, 224, 3)),
                                              keras.layers.Rescaling(1 / 127.5, offset=-1.0),
                                              lite0.model]), class_names=lite0.class_names)
    runs = [nv.maximize(model, 284, n=1, steps=2, step_size=1.0, seed=0) for model in (lite0, wrapped)]
    objectives = [run.computed.phases["before"].objective for run in runs]  # before each step
    np.testing.assert_allclose(objectives[1][0], objectives[0][0], rtol=1e-4)
    # the two steps of 1.0 amplify the float32 rounding of the two graphs (oneDNN's kernels differ
    # by graph on a CPU with AMX; rectifiers switch): 0.9% apart after the second step there
    np.testing.assert_allclose(objectives[1], objectives[0], rtol=3e-2)
    photos = [data.read_image(PHOTOS / name) for name in ("n02123597_Siamese_cat.JPEG",
                                                          "n01443537_goldfish.JPEG")]
    checks = [nv.sanity_check(model, photos, methods="gradcam,lrp-epsilon-plus-flat",
                              randomizations="cascading", curve_steps=4, bootstrap=100)
              for model in (lite0, wrapped)]
    for method in ("gradcam", "lrp-epsilon-plus-flat"):
        expected = checks[0].computed.original[method]
        np.testing.assert_allclose(checks[1].computed.original[method], expected, rtol=1e-3,
                                   atol=1e-3 * np.abs(expected).max())
