"""The study's networks, layer by layer and parameter by parameter (docs/study.md, "The two networks")."""

import keras
import numpy as np
import pytest

from nnvisual import training
from nnvisual.errors import UserError
from nnvisual.models import loading, study, zoo
from nnvisual.models.loaded import LoadedModel, sized


def conv_params(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def test_plotka_layers_and_parameters():
    model = study.build_plotka()
    names = [layer.name for layer in model.layers]
    assert names == ["mean_subtraction", "conv1", "dropout1", "conv2", "pool1", "conv3", "dropout2",
                     "conv4", "pool2", "conv5", "dropout3", "conv6", "pool3", "flatten", "dropout4",
                     "dense1", "dropout5", "dense2", "softmax"]
    expected = {"conv1": conv_params(3, 3, 32), "conv2": conv_params(3, 32, 32),
                "conv3": conv_params(3, 32, 64), "conv4": conv_params(3, 64, 64),
                "conv5": conv_params(3, 64, 128), "conv6": conv_params(3, 128, 128),
                "dense1": 4 * 4 * 128 * 1024 + 1024, "dense2": 1024 * 10 + 10}
    for name, count in expected.items():
        assert model.get_layer(name).count_params() == count, name
    assert model.count_params() == sum(expected.values()) == 2_395_434
    assert model.get_layer("conv1").padding == "same"
    assert model.get_layer("dropout1").rate == 0.2
    assert isinstance(model.get_layer("dense1").kernel_constraint, keras.constraints.MaxNorm)
    assert model.get_layer("dense1").kernel_constraint.max_value == 3


def test_bonaccorso_layers_and_parameters():
    model = study.build_bonaccorso(num_classes=1000)
    shapes = {layer.name: layer.output.shape[1:] for layer in model.layers}
    assert shapes["block1_conv1"] == (30, 30, 32) and shapes["block1_conv2"] == (28, 28, 64)
    assert shapes["block2_conv1"] == (12, 12, 128) and shapes["block2_conv2"] == (4, 4, 128)
    assert shapes["flatten"] == (512,) and shapes["softmax"] == (1000,)
    assert model.count_params() == (conv_params(3, 3, 32) + conv_params(3, 32, 64) + conv_params(3, 64, 128)
                                    + conv_params(3, 128, 128) + 512 * 1024 + 1024 + 1024 * 1000 + 1000)
    assert model.get_layer("block1_dropout").rate == 0.25


@pytest.mark.parametrize("name", ["plotka", "bonaccorso"])
def test_softmax_is_separate_and_mean_is_subtracted_inside(name):
    mean = np.array([125.3, 122.9, 113.9])
    model = study.build_model(name, num_classes=10, mean=mean)
    assert model.get_layer("dense2").activation is keras.activations.linear
    assert model.get_layer("softmax").activation is keras.activations.softmax
    image = np.full((1, 32, 32, 3), mean, np.float32)
    centred = keras.Model(model.inputs, model.get_layer("mean_subtraction").output)(image)
    np.testing.assert_allclose(np.asarray(centred), 0, atol=1e-4)


def test_saved_model_loads_without_custom_objects(tmp_path):
    model = study.build_plotka(mean=[1.0, 2.0, 3.0])
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = loading.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(loaded.model.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.image_size == (32, 32) and len(loaded.class_names) == 10


def test_load_model_errors(tmp_path):

    with pytest.raises(UserError, match="model not found"):
        loading.load_model(str(tmp_path / "absent.keras"))
    (tmp_path / "junk.keras").write_bytes(b"junk")
    with pytest.raises(UserError, match="cannot load a Keras model"):
        loading.load_model(str(tmp_path / "junk.keras"))
    with pytest.raises(UserError, match="weights file not found"):
        zoo.load_vgg16(str(tmp_path / "absent.h5"))


def test_a_mixed_precision_model_is_loaded_to_compute_in_float32(tmp_path):
    keras.utils.set_random_seed(0)
    with training.dtype_policy("mixed_bfloat16"):
        mixed = study.build_plotka(mean=[120.0, 110.0, 100.0])
    mixed.save(tmp_path / "mixed.keras")
    loaded = loading.load_model(str(tmp_path / "mixed.keras")).model
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    float32 = study.build_plotka(mean=[120.0, 110.0, 100.0])
    float32.set_weights(mixed.get_weights())  # the same weights, computed in float32
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    logits = [keras.Model(m.inputs, m.get_layer("dense2").output).predict(x, verbose=0)
              for m in (loaded, float32)]
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-5, atol=1e-5 * np.abs(logits[1]).max())
    mixed_logits = keras.Model(mixed.inputs, mixed.get_layer("dense2").output).predict(x, verbose=0)
    assert np.abs(mixed_logits - logits[1]).max() > 1e-4 * np.abs(logits[1]).max()  # bf16 differs


def test_sized_completes_a_free_input_size_and_guards_a_fixed_one():
    """``image_size``: required where the model takes any height or width, which it fills
    in; refused where it contradicts a fixed side."""
    def loaded_model(height, width):
        model = keras.Sequential([keras.Input((height, width, 3)),
                                  keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
        return LoadedModel(model, "net", (height, width), None, ("a", "b"))

    fixed = loaded_model(8, 12)
    assert sized(fixed, None) is fixed and sized(fixed, (8, 12)) is fixed
    with pytest.raises(UserError, match="net takes 8x12 images, not the 8x8 of image_size="):
        sized(fixed, (8, 8))
    with pytest.raises(UserError, match='takes images of any size .* image_size="HxW"'):
        sized(loaded_model(None, None), None)
    assert sized(loaded_model(None, None), (20, 28)).image_size == (20, 28)
    assert sized(loaded_model(None, 12), (20, 12)).image_size == (20, 12)
    with pytest.raises(UserError, match="net takes \\?x12 images, not the 20x28"):
        sized(loaded_model(None, 12), (20, 28))
