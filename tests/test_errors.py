"""Messages name a setting in the words of the world the call came from (``nnvisual.errors.named``):
the Python API's keyword (``method="gradient"``, ``image_size=``) or, while the command line
runs, its flag (``--method gradient``, ``--image-size``), read from the config fields."""

import cv2
import keras
import numpy as np
import pytest
from keras import layers

import nnvisual as nv
from nnvisual import errors
from nnvisual.commands.options import flag_words
from nnvisual.errors import UserError, named

IMAGE = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize("name, value, python, command_line", [
    ("image_size", None, "image_size=", "--image-size"),
    ("method", "gradient", 'method="gradient"', "--method gradient"),
    ("target_class", 3, "target_class=3", "--class 3"),  # a field with a flag of its own
    ("learning_rate", None, "learning_rate=", "--lr"),
    ("n", 4, "n=4", "-n 4"),
    ("top9", True, "top9=True", "--top9"),  # an on-switch
    ("augment", False, "augment=False", "--no-augment"),  # a --x/--no-x flag
    ("methods", ("saliency", "gradcam"), "methods=['saliency', 'gradcam']", "--method saliency,gradcam"),
    ("unsafe", True, "unsafe=True", "--unsafe"),  # an argument, not a config field
])
def test_a_setting_in_each_worlds_words(name, value, python, command_line):
    assert named(name, value) == python and not errors.in_command_line()
    with errors.command_line_words(flag_words):
        assert named(name, value) == command_line and errors.in_command_line()
    assert named(name, value) == python  # the API's words again after the block


def test_the_command_line_gives_the_words_back_after_an_error(cli, tmp_path):
    assert cli("deconv", "--shard", "0/2", "--out", tmp_path / "out").exit_code == 2
    assert not errors.in_command_line() and named("top9", True) == "top9=True"


# -- a few messages, from Python and from the command line -------------------------------------------
@pytest.fixture
def tanh_model(tmp_path):
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(4, 3, activation="tanh", name="c1"),
                              layers.Conv2D(4, 3, activation="relu", name="c2")])
    model.save(tmp_path / "tanh.keras")
    return tmp_path / "tanh.keras"


def one_line(result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    return line


def test_a_layer_without_a_rule(cli, tanh_model, tmp_path):
    with pytest.raises(UserError, match='no deconvnet rule; use method="gradient", or a layer before it'):
        nv.project(tanh_model, IMAGE, layers=["c2"])
    line = one_line(cli("deconv", "--model", tanh_model, "--layers", "c2", "--out", tmp_path / "run"))
    assert line.endswith("no deconvnet rule; use --method gradient, or a layer before it")


def test_a_model_that_takes_any_size(cli, tmp_path):
    any_size = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(2, 3, name="c"),
                                 layers.GlobalAveragePooling2D(), layers.Dense(3)])
    any_size.save(tmp_path / "any.keras")
    with pytest.raises(UserError, match='give the size to resize them to with image_size="HxW"'):
        nv.attribute(tmp_path / "any.keras", IMAGE, methods=["saliency"])
    cv2.imwrite(str(tmp_path / "photo.png"), IMAGE)
    line = one_line(cli("attribute", "--model", tmp_path / "any.keras", "--images", tmp_path / "photo.png",
                        "--method", "saliency", "--out", tmp_path / "run"))
    assert "give the size to resize them to with --image-size HxW (e.g. 224)" in line


def test_vgg16_offline_suggests_the_network_that_ships_first(cli, tmp_path, monkeypatch):
    from keras.applications import vgg16

    def offline(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(vgg16, "VGG16", offline)
    with pytest.raises(UserError) as caught:
        nv.load_model("vgg16")
    assert str(caught.value) == (
        'VGG16 ImageNet weights could not be downloaded (OSError); use model="efficientnet-lite0" '
        '(its ImageNet weights ship with nnvisual), give a local file with weights="PATH", or use '
        'random weights with weights="none"')
    line = one_line(cli("deconv", "--model", "vgg16", "--out", tmp_path / "run"))
    assert line == (
        "Error: VGG16 ImageNet weights could not be downloaded (OSError); use --model "
        "efficientnet-lite0 (its ImageNet weights ship with nnvisual), give a local file with "
        "--weights PATH, or use random weights with --weights none")


def test_a_config_check(cli, tmp_path):
    with pytest.raises(UserError, match="shard splits the top-9 scan: give top9=True with it"):
        nv.project("vgg16", IMAGE, shard="0/2", weights="none")
    line = one_line(cli("deconv", "--shard", "0/2", "--out", tmp_path / "run"))
    assert line.endswith("shard splits the top-9 scan: give --top9 with it")
