"""Models built with their weights given (nnvisual.graph.given_weights): the weights assigned
inside a block are the variables' values after it, without their initializers running; every
variable not assigned runs its own initializer; a failed build leaves nothing behind."""

import keras
import numpy as np
import pytest
from keras import layers

from nnvisual.graph import given_weights
from nnvisual.graph.inference_model import for_inference
from nnvisual.models import loading


@keras.saving.register_keras_serializable(package="nnvisual_tests")
class CountingInitializer(keras.initializers.Initializer):
    """Glorot-uniform values; counts its calls (class-wide)."""

    calls = 0

    def __call__(self, shape, dtype=None):
        CountingInitializer.calls += 1
        return keras.initializers.GlorotUniform(seed=1)(shape, dtype=dtype)


@pytest.fixture(autouse=True)
def counting():
    CountingInitializer.calls = 0


def dense_model():
    x = keras.Input((4,))
    y = layers.Dense(3, kernel_initializer=CountingInitializer(), name="first")(x)
    y = layers.Dense(2, kernel_initializer=CountingInitializer(), name="second")(y)
    return keras.Model(x, y)


def given(seed=0):
    rng = np.random.default_rng(seed)
    return {"first": [rng.normal(size=(4, 3)), rng.normal(size=3)],
            "second": [rng.normal(size=(3, 2)), rng.normal(size=2)]}


def weights_of(model):
    return {layer.name: layer.get_weights() for layer in model.layers[1:]}


def test_given_weights_are_kept_and_no_initializer_runs():
    weights = given()
    with given_weights.building():
        model = dense_model()
        for name, values in weights.items():
            model.get_layer(name).set_weights(values)
    assert CountingInitializer.calls == 0
    for name, values in weights_of(model).items():
        for got, want in zip(values, weights[name], strict=True):
            np.testing.assert_array_equal(got, want.astype(np.float32))
    x = np.ones((1, 4), np.float32)
    hidden = x @ weights["first"][0] + weights["first"][1]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), hidden @ weights["second"][0]
                               + weights["second"][1], rtol=1e-5)


def test_variables_not_given_run_their_own_initializer():
    with given_weights.building():
        model = dense_model()
        model.get_layer("first").set_weights(given()["first"])
    assert CountingInitializer.calls == 1  # the second layer's kernel only
    kernel = keras.ops.convert_to_numpy(model.get_layer("second").kernel)
    expected = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=1)((3, 2)))
    np.testing.assert_array_equal(kernel, expected)


def test_a_nested_block_leaves_initialization_to_the_outer_one():
    weights = given(1)
    with given_weights.building():
        with given_weights.building():
            model = dense_model()
            model.get_layer("first").set_weights(weights["first"])
        assert model.get_layer("first").kernel._value is None  # not yet
        model.get_layer("second").set_weights(weights["second"])
    assert CountingInitializer.calls == 0
    np.testing.assert_array_equal(weights_of(model)["first"][0], weights["first"][0].astype(np.float32))


def test_a_saved_model_loads_the_same_weights(tmp_path):
    x = keras.Input((5, 5, 3))
    y = layers.Conv2D(4, 3, kernel_initializer=CountingInitializer(), name="conv")(x)
    y = layers.BatchNormalization(name="norm")(y)
    y = layers.GlobalAveragePooling2D(name="pool")(y)
    y = layers.Dense(2, kernel_initializer=CountingInitializer(), name="dense")(y)
    saved = keras.Model(x, y)
    saved.get_layer("norm").set_weights([np.full(4, 2.0), np.ones(4), np.full(4, 0.5), np.full(4, 3.0)])
    path = tmp_path / "model.keras"
    saved.save(path)
    CountingInitializer.calls = 0
    loaded = loading.load_model(path).model
    assert CountingInitializer.calls == 0
    for name, values in weights_of(saved).items():
        for got, want in zip(weights_of(loaded)[name], values, strict=True):
            np.testing.assert_array_equal(got, want)


def test_a_failed_build_leaves_no_variable_waiting():
    from keras.src.backend.common import global_state

    with pytest.raises(RuntimeError), given_weights.building():
        dense_model()
        raise RuntimeError("a failed build")
    assert not global_state.get_global_attribute("uninitialized_variables")
    model = dense_model()  # building works as before
    assert model.get_layer("first").kernel._value is not None


@keras.saving.register_keras_serializable(package="nnvisual_tests")
class ValueOffset(layers.Layer):
    """Adds an offset held in a variable created from a value (which a stateless scope refuses)."""

    def build(self, input_shape):
        self.offset = keras.Variable(np.full(input_shape[-1], 0.5, np.float32), name="offset")

    def call(self, x):
        return x + self.offset


def test_a_model_whose_layer_makes_a_variable_from_a_value_is_built_as_usual(tmp_path):
    x = keras.Input((4, 4, 3))
    y = ValueOffset(name="offset")(x)
    y = layers.Conv2D(2, 3, name="conv")(y)
    y = layers.BatchNormalization(name="norm")(y)
    saved = keras.Model(x, y)
    saved.get_layer("offset").offset.assign(np.array([1.0, 2.0, 3.0], np.float32))
    path = tmp_path / "model.keras"
    saved.save(path)
    loaded = loading.load_model(path).model
    for name, values in weights_of(saved).items():
        for got, want in zip(weights_of(loaded)[name], values, strict=True):
            np.testing.assert_array_equal(got, want)
    copy = for_inference(loaded)  # the copy folds the batch normalization into the convolution
    images = np.random.default_rng(0).uniform(size=(2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(copy(images)),
                               keras.ops.convert_to_numpy(loaded(images)), rtol=1e-5, atol=1e-5)
