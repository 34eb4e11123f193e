"""The table of attribution methods is the one source of their names: a method registered in one
row is offered by the configs, ``--help``, the command line and the Python API, with no other
file touched."""

import dataclasses

import numpy as np
import pytest

from nnvisual.attribution import methods
from nnvisual.attribution.methods import Method
from nnvisual.attribution.request import Settings

TOY = Method("gradient-squared", "tests.test_attribution_methods:gradient_squared",
             "a toy: the squared gradient", smoothable=True)


def gradient_squared(request):
    """The toy method's function: d logit / d x, squared, per input channel."""
    return request.network.gradient(request.x, request.classes) ** 2


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(methods.METHODS, TOY.name, TOY)
    return TOY


def tiny_model():
    """Conv-ReLU-pool-dense on 8x8 images, softmax as a layer, seeded weights."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(3), keras.layers.Activation("softmax")])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_every_row_names_an_importable_function_and_its_own_checks():
    settings = {field.name for field in dataclasses.fields(Settings)}
    for row in methods.METHODS.values():
        assert callable(row.function()), row.name
        assert row.check is None or callable(row.checker()), row.name
        assert row.wraps is None or row.wraps in settings, row.name


def test_a_registered_method_is_offered_everywhere(registered, cli, tmp_path):
    from nnvisual.config import AttributeConfig
    from nnvisual.config.fields import described, field_named

    assert "gradient-squared" in methods.names() and "gradient-squared" in methods.smoothable()
    assert AttributeConfig(methods=("gradient-squared",)).methods == ("gradient-squared",)
    assert "gradient-squared (a toy: the squared gradient)" in described(
        field_named(AttributeConfig, "methods"))  # the text of --help and the API docstrings

    help_text = cli("attribute", "--help").output
    assert "gradient-squared (a toy: the squared" in " ".join(help_text.split())
    assert "gradient-squared" in cli("sanity", "--help").output  # --smoothgrad-base's choices


def test_a_registered_method_runs_from_the_command_line_and_the_api(registered, cli, tmp_path):
    import cv2

    import nnvisual as nv
    from nnvisual.attribution.network import Network

    model = tiny_model()
    path = tmp_path / "tiny.keras"
    model.save(path)
    images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    result = nv.attribute(path, images, methods=["gradient-squared", "smoothgrad"],
                          smoothgrad_base="gradient-squared", samples=2)
    expected = (Network(model).gradient(images.astype(np.float32), result.classes) ** 2).sum(axis=-1)
    assert expected.max() > 0
    np.testing.assert_allclose(result.maps["gradient-squared"], expected, rtol=1e-5,
                               atol=1e-6 * expected.max())
    assert result.maps["smoothgrad"].shape == (2, 8, 8) and (result.maps["smoothgrad"] >= 0).all()

    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    run = cli("attribute", "--model", path, "--images", folder, "--method", "gradient-squared",
              "--out", tmp_path / "run")
    assert run.exit_code == 0, run.output
    stored = np.load(tmp_path / "run" / "attributions.npz")
    np.testing.assert_allclose(stored["gradient-squared"], expected, rtol=1e-5,
                               atol=1e-6 * expected.max())


def test_an_unknown_method_is_refused_with_the_table_s_names():
    from nnvisual.config import AttributeConfig
    from nnvisual.errors import UserError

    with pytest.raises(UserError, match="unknown method 'gradient-cubed': choose saliency, "):
        AttributeConfig(methods=("gradient-cubed",))
