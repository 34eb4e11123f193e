"""vit-tiny and the ViT methods end to end: the commands on a saved tiny ViT, and the refusals
(rule-based methods on GELU, transformers without a square patch grid, attention methods on a
network without attention)."""

import keras
import numpy as np
import pytest

from nnvisual.models.vit import build_vit, token_embedding_class
from nnvisual.testing import vit_twin
from nnvisual.testing.run_files import read_manifest

VIT_METHODS = "attention-rollout,transformer-attribution,gradcam"


@pytest.fixture
def tiny_vit(tmp_path):
    path = tmp_path / "vit.keras"
    vit_twin.keras_vit(seed=0).save(path)
    return path


def _saved(model, tmp_path):
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    return path


def test_vit_tiny_is_a_cifar_vit_with_a_class_token():
    model = build_vit(num_classes=10)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 10)
    assert model.get_layer("block1_attn").output.shape == (None, 65, 96)  # 8x8 patches + class
    assert len([layer for layer in model.layers if "attn" in layer.name]) == 4


def test_attribute_explains_a_saved_vit_with_its_methods(cli, tiny_vit, photos, tmp_path):
    result = cli("attribute", "--model", tiny_vit, "--images", photos, "--method", VIT_METHODS,
                 "--head-fusion", "max", "--discard-ratio", "0.5", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    arrays = np.load(tmp_path / "run" / "attributions.npz")
    for method in VIT_METHODS.split(","):
        assert arrays[method].shape == (6, 32, 32) and np.isfinite(arrays[method]).all()
        assert arrays[method].max() > 0
    manifest = read_manifest(tmp_path / "run")
    assert manifest["cam_layer"] == "block2_norm1"  # the last block's first norm
    assert manifest["config"]["head_fusion"] == "max"


@pytest.mark.slow
def test_sanity_randomizes_a_vit(cli, tiny_vit, photos, tmp_path):
    result = cli("sanity", "--model", tiny_vit, "--images", photos, "--method",
                 "attention-rollout,transformer-attribution", "--randomization", "cascading",
                 "--max-images", 3, "--curve-steps", 4, "--bootstrap", 100,
                 "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output


def _one_line_refusal(result, message):
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("method", ["guided", "deconvnet"])
def test_rule_methods_refuse_gelu_in_one_line(cli, photos, tmp_path, method):
    x = inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="gelu", name="smooth")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, name="logits")(x)
    model = _saved(keras.Model(inputs, outputs, name="gelu_cnn"), tmp_path)
    result = cli("attribute", "--model", model, "--images", photos, "--method", method,
                 "--out", tmp_path / "run")
    _one_line_refusal(result, f"'smooth' (Conv2D, gelu activation) on the path to 'logits' has "
                              f"no {method} rule")


@pytest.mark.parametrize("method", ["guided", "deconvnet"])
def test_rule_methods_refuse_a_vit_in_one_line(cli, tiny_vit, photos, tmp_path, method):
    result = cli("attribute", "--model", tiny_vit, "--images", photos, "--method", method,
                 "--out", tmp_path / "run")
    _one_line_refusal(result, f"has no {method} rule")


def _non_square_transformer():
    """32x16 images in 4x4 patches: an 8x4 grid, 32 tokens and a class token."""
    x = inputs = keras.Input((32, 16, 3))
    x = keras.layers.Conv2D(8, 4, strides=4)(x)
    x = keras.layers.Reshape((32, 8))(x)
    x = token_embedding_class()(name="tokens")(x)
    y = keras.layers.LayerNormalization(name="norm1")(x)
    x = keras.layers.MultiHeadAttention(2, 4, name="attn")(y, y)
    x = keras.layers.Cropping1D((0, 32))(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="wide")


@pytest.mark.parametrize("method", ["attention-rollout", "gradcam"])
def test_a_transformer_without_a_square_patch_grid_is_refused(cli, photos, tmp_path, method):
    model = _saved(_non_square_transformer(), tmp_path)
    result = cli("attribute", "--model", model, "--images", photos, "--method", method,
                 "--out", tmp_path / "run")
    _one_line_refusal(result, "33 tokens are not a square patch grid")


@pytest.mark.parametrize("method", ["attention-rollout", "transformer-attribution"])
def test_attention_methods_refuse_a_network_without_attention(cli, tiny_cnn, photos, tmp_path,
                                                              method):
    result = cli("attribute", "--model", tiny_cnn, "--images", photos, "--method", method,
                 "--out", tmp_path / "run")
    _one_line_refusal(result, "has no MultiHeadAttention layer")


@pytest.mark.slow
def test_evaluate_and_maximize_run_on_a_vit(cli, tiny_vit, photos, tmp_path):
    result = cli("evaluate", "--model", tiny_vit, "--images", photos, "--method",
                 "attention-rollout,transformer-attribution", "--metric", "sparseness",
                 "--out", tmp_path / "eval")
    assert result.exit_code == 0, result.output
    result = cli("maximize", "--model", tiny_vit, "--class", 1, "--steps", 4,
                 "--out", tmp_path / "max")
    assert result.exit_code == 0, result.output


def test_weight_randomization_redraws_the_attention_layers():
    from nnvisual.sanity.randomization import Randomizer, weighted_layers

    model = vit_twin.keras_vit(seed=0)
    assert {"block1_attn", "block2_attn", "tokens"} <= set(weighted_layers(model))
    randomizer = Randomizer(model, seed=0)
    randomizer.randomize(["block2_attn"])
    before, after = model.get_layer("block2_attn"), randomizer.model.get_layer("block2_attn")
    for old, new in zip(before.get_weights(), after.get_weights(), strict=True):
        assert old.shape == new.shape and not np.array_equal(old, new)
    # the query kernel (32, 4 heads, 8) from its own Glorot-uniform initializer (fans 128 and 256),
    # its bias from zeros
    kernel = after.get_weights()[0]
    assert np.abs(kernel).max() <= np.sqrt(6 / (128 + 256)) < np.abs(before.get_weights()[0]).max()
    assert not after.get_weights()[1].any()
