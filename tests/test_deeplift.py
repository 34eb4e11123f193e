"""DeepLIFT and DeepSHAP: the multipliers of a linear layer are its weights, the attributions sum
to the change of the logit from the reference (summation-to-delta), and RevealCancel credits both
inputs of Shrikumar et al.'s min(i1, i2) example where Rescale credits one."""

import keras
import numpy as np
import pytest

from nnvisual.attribution import attribute
from nnvisual.attribution.network import Network
from nnvisual.errors import UserError


def seeded(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_deeplift_on_a_linear_layer_is_gradient_times_the_change():
    model = seeded(keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(),
                                     keras.layers.Dense(4)]))
    x = np.random.default_rng(1).normal(0, 1, (2, 2, 2, 3)).astype(np.float32)
    reference = np.random.default_rng(2).normal(0, 1, x.shape).astype(np.float32)
    kernel = model.get_weights()[0]
    classes = np.array([1, 3])
    got = attribute(model, x, "deeplift", classes, reference)
    for i, c in enumerate(classes):
        expected = ((x[i] - reference[i]).reshape(-1) * kernel[:, c]).reshape(2, 2, 3).sum(-1)
        np.testing.assert_allclose(got[i], expected, rtol=1e-5, atol=1e-6)


def residual_network(seed=0):
    """Convolutions with ReLU and ReLU6, max and average pooling, a residual sum, a separate
    activation after a sum, and a dense head."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    y = keras.layers.Conv2D(4, 3, padding="same")(x)
    y = keras.layers.Activation("relu6")(y)
    x = keras.layers.Add()([x, y])
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(6, activation="tanh")(x)
    outputs = keras.layers.Dense(3)(x)
    return seeded(keras.Model(inputs, outputs), seed)


@pytest.mark.parametrize("method", ["deeplift", "deeplift-reveal-cancel"])
def test_attributions_sum_to_the_change_of_the_logit(method):
    network = Network(residual_network())
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 2, (3, 8, 8, 3)).astype(np.float32)
    reference = rng.uniform(0, 2, x.shape).astype(np.float32)
    classes = np.array([0, 1, 2])
    totals = attribute(network, x, method, classes, reference).sum(axis=(1, 2))
    change = (network.logits(x) - network.logits(reference))[np.arange(3), classes]
    np.testing.assert_allclose(totals, change, atol=1e-3 * np.abs(network.logits(x)).max())


def test_deepshap_is_the_average_of_deeplift_over_the_background():
    network = Network(residual_network(seed=1))
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 2, (2, 8, 8, 3)).astype(np.float32)
    background = rng.uniform(0, 2, (3, 8, 8, 3)).astype(np.float32)
    classes = np.array([2, 0])
    shap = attribute(network, x, "deepshap", classes, background=background)
    each = [attribute(network, x, "deeplift", classes, np.repeat(b[None], 2, axis=0))
            for b in background]
    np.testing.assert_allclose(shap, np.mean(each, axis=0), rtol=1e-5, atol=1e-6)
    change = network.logits(x)[np.arange(2), classes] - network.logits(background)[:, classes].mean(0)
    np.testing.assert_allclose(shap.sum(axis=(1, 2)), change, atol=1e-3)


def min_network():
    """o = i1 - relu(i1 - i2) = min(i1, i2) (Shrikumar et al. 2017, section 3.5.3)."""
    inputs = keras.Input((1, 1, 2))
    flat = keras.layers.Flatten()(inputs)
    difference = keras.layers.Dense(1, use_bias=False, activation="relu", name="difference")(flat)
    first = keras.layers.Dense(1, use_bias=False, name="first")(flat)
    minus = keras.layers.Dense(1, use_bias=False, name="minus")(difference)
    model = keras.Model(inputs, keras.layers.Add()([first, minus]))
    for name, kernel in (("difference", [[1.0], [-1.0]]), ("first", [[1.0], [0.0]]),
                         ("minus", [[-1.0]])):
        model.get_layer(name).set_weights([np.array(kernel, np.float32)])
    return model


def test_reveal_cancel_credits_both_inputs_of_min_where_rescale_credits_one():
    from nnvisual.attribution import deeplift
    from nnvisual.attribution.request import Request, default_settings

    network = Network(min_network())
    x = np.array([[[[3.0, 1.0]]]], np.float32)  # min is 1, the reference 0
    request = Request(network, x, np.array([0]), np.zeros_like(x), default_settings())
    np.testing.assert_allclose(deeplift.deeplift(request, "rescale")[0, 0, 0], [0.0, 1.0],
                               atol=1e-6)
    np.testing.assert_allclose(deeplift.deeplift(request, "reveal-cancel")[0, 0, 0], [0.5, 0.5],
                               atol=1e-6)


def test_what_has_no_multiplier_is_refused_by_name():
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    gated = keras.layers.Multiply()([x, inputs])
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(gated)))
    with pytest.raises(UserError, match=r"layer 'multiply' \(Multiply\) has no DeepLIFT rule"):
        attribute(model, np.ones((1, 4, 4, 2), np.float32), "deeplift", [0])
    pooled = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(
        keras.layers.Activation("relu")(keras.layers.MaxPooling2D(2)(inputs)))))
    with pytest.raises(UserError, match="RevealCancel splits the input of a nonlinearity"):
        attribute(pooled, np.ones((1, 4, 4, 2), np.float32), "deeplift-reveal-cancel", [0])
