"""Each LRP rule against its explicit matrix form (Montavon et al. 2019, zennit's definitions),
worked out here in NumPy on small dense and convolutional layers with biases, independently of
the propagation through the graph; and the properties that follow from the rules: LRP-0 is
gradient x input on a bias-free ReLU chain, and the conserving rules keep each layer's total."""

import keras
import numpy as np
import pytest

from nnvisual.attribution import attribute
from nnvisual.attribution.network import Network
from nnvisual.attribution.request import default_settings

EPSILON, STABILIZER, GAMMA = 1e-6, 1e-6, 0.25


def stabilize(z, epsilon):
    return z + epsilon * np.where(z >= 0, 1.0, -1.0)


def explicit(rule, x, w, b, relevance, low=None, high=None, inside=None, alpha=2.0, beta=1.0):
    """The relevance of the inputs x (n,) of a dense unit-layer with weights w (n, m) and bias b
    (m,) for the relevance (m,) of its outputs, by the rule's formula, in float64. ``inside``
    (n,): 0 where an input is a convolution's padding, which the rules that ignore the input
    values (w-square, flat) do not count."""
    x, w, b, relevance = (np.asarray(a, np.float64) for a in (x, w, b, relevance))
    inside = np.ones(len(x)) if inside is None else inside
    z = x @ w + b
    pos, neg = np.maximum(x, 0), np.minimum(x, 0)
    wp, wn, bp, bn = np.maximum(w, 0), np.minimum(w, 0), np.maximum(b, 0), np.minimum(b, 0)
    if rule in ("zero", "epsilon"):
        epsilon = 1e-12 if rule == "zero" else EPSILON
        return (x[:, None] * w) @ (relevance / stabilize(z, epsilon))
    if rule == "z-plus":
        contributions = pos[:, None] * wp + neg[:, None] * wn
        return contributions @ (relevance / stabilize(contributions.sum(0) + bp, STABILIZER))
    if rule == "alpha-beta":
        plus = pos[:, None] * wp + neg[:, None] * wn
        minus = pos[:, None] * wn + neg[:, None] * wp
        return (alpha * plus @ (relevance / stabilize(plus.sum(0) + bp, STABILIZER))
                - beta * minus @ (relevance / stabilize(minus.sum(0) + bn, STABILIZER)))
    if rule == "gamma":
        up = pos[:, None] * (w + GAMMA * wp) + neg[:, None] * (w + GAMMA * wn)
        down = pos[:, None] * (w + GAMMA * wn) + neg[:, None] * (w + GAMMA * wp)
        share_up = relevance * (z > 0) / stabilize(up.sum(0) + b + GAMMA * bp, STABILIZER)
        share_down = relevance * (z < 0) / stabilize(down.sum(0) + b + GAMMA * bn, STABILIZER)
        return up @ share_up + down @ share_down
    if rule == "w-square":
        squares = w ** 2 * inside[:, None]
        return squares @ (relevance / stabilize(squares.sum(0) + b ** 2, STABILIZER))
    if rule == "flat":
        ones = np.ones_like(w) * inside[:, None]
        return ones @ (relevance / stabilize(ones.sum(0), STABILIZER))
    if rule == "z-box":
        contributions = x[:, None] * w - low[:, None] * wp - high[:, None] * wn
        return contributions @ (relevance / stabilize(contributions.sum(0) + b - bp - bn,
                                                      STABILIZER))
    raise ValueError(rule)


def dense_network(seed=0, shape=(2, 3, 2), units=4):
    """Flatten -> Dense(units), weights and bias of both signs."""
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(units, name="dense")])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def conv_network(seed=0, padding="valid", strides=1):
    """Conv2D(3 filters, 3x3) on 5x5x2 images, then Flatten: each output a class."""
    model = keras.Sequential([keras.Input((5, 5, 2)),
                              keras.layers.Conv2D(3, 3, padding=padding, strides=strides,
                                                  name="conv"),
                              keras.layers.Flatten()])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def patches(x, size, padding, strides):
    """im2col of one image (H, W, C): ``(rows, cols, size*size*C, positions)`` where positions
    index the padded image, and the padding."""
    pad = ((size - 1) // 2, size // 2) if padding == "same" else (0, 0)
    padded = np.pad(x, (pad, pad, (0, 0)))
    rows = range(0, padded.shape[0] - size + 1, strides)
    cols = range(0, padded.shape[1] - size + 1, strides)
    return padded, pad, [(r, c) for r in rows for c in cols]


RULES = ("zero", "epsilon", "z-plus", "alpha-beta", "gamma", "w-square", "flat", "z-box")


@pytest.mark.parametrize("rule", RULES)
def test_a_dense_layer_s_rule_equals_its_matrix_form(rule):
    model = dense_network()
    x = np.random.default_rng(1).normal(0, 1, (3, 2, 3, 2)).astype(np.float32)
    w, b = model.get_layer("dense").get_weights()
    network = Network(model, input_bounds=(np.full((2, 3, 2), -3.0), np.full((2, 3, 2), 3.0)))
    classes = np.array([0, 2, 3])
    got = _relevance(network, x, classes, rule)
    for i, c in enumerate(classes):
        z = x[i].reshape(-1) @ w + b
        relevance = np.where(np.arange(len(z)) == c, z, 0.0)
        expected = explicit(rule, x[i].reshape(-1), w, b, relevance, low=np.full(12, -3.0),
                            high=np.full(12, 3.0)).reshape(2, 3, 2)
        np.testing.assert_allclose(got[i], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("padding, strides", [("valid", 1), ("same", 1), ("same", 2)])
@pytest.mark.parametrize("rule", RULES)
def test_a_convolution_s_rule_equals_its_matrix_form(rule, padding, strides):
    model = conv_network(padding=padding, strides=strides)
    kernel, bias = model.get_layer("conv").get_weights()
    x = np.random.default_rng(2).normal(0, 1, (1, 5, 5, 2)).astype(np.float32)
    network = Network(model, input_bounds=(np.full((5, 5, 2), -2.5), np.full((5, 5, 2), 2.5)))
    outputs = network.logits(x)[0]
    for unit in (0, 4, len(outputs) - 1):
        got = _relevance(network, x, np.array([unit]), rule)[0]
        padded, pad, corners = patches(x[0], 3, padding, strides)
        top, left = corners[unit // 3]
        patch = padded[top:top + 3, left:left + 3].reshape(-1)
        w = kernel.reshape(-1, 3)
        inside = np.zeros_like(padded)
        inside[pad[0]:pad[0] + 5, pad[0]:pad[0] + 5] = 1  # the padding holds no input
        ones = inside[top:top + 3, left:left + 3].reshape(-1)
        relevance = np.where(np.arange(3) == unit % 3, outputs[unit], 0.0)
        per_input = explicit(rule, patch, w, bias, relevance, low=np.full(18, -2.5) * ones,
                             high=np.full(18, 2.5) * ones, inside=ones)
        expected = np.zeros_like(padded)
        expected[top:top + 3, left:left + 3] = per_input.reshape(3, 3, 2)
        expected = expected[pad[0]:pad[0] + 5, pad[0]:pad[0] + 5]
        np.testing.assert_allclose(got, expected, rtol=1e-5,
                                   atol=1e-5 * max(np.abs(expected).max(), 1e-6))


def _relevance(network, x, classes, rule):
    """The relevance per input value under one rule on the only layer with weights."""
    from nnvisual.attribution.lrp.propagate import propagation

    settings = default_settings(lrp_rules=f"dense={rule},conv={rule},first={rule}")
    return propagation(network, "epsilon", settings).relevance(x, classes)


def relu_chain(bias: bool, seed=0):
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", use_bias=bias),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(5, 3, activation="relu", use_bias=bias),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(6, activation="relu", use_bias=bias),
        keras.layers.Dense(3, use_bias=bias)])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


EXACT = default_settings(lrp_stabilizer=1e-12)  # stabilizers below float32's resolution


def test_lrp_0_is_gradient_times_input_on_a_bias_free_relu_chain():
    network = Network(relu_chain(bias=False))
    x = np.random.default_rng(3).uniform(0, 1, (3, 8, 8, 3)).astype(np.float32)
    classes = np.array([0, 1, 2])
    expected = attribute(network, x, "gradient-x-input", classes)
    np.testing.assert_allclose(attribute(network, x, "lrp-0", classes, settings=EXACT), expected,
                               rtol=1e-5, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("method", ["lrp-0", "lrp-z-plus", "lrp-alpha1-beta0", "lrp-gamma"])
def test_conserving_rules_keep_the_explained_logit_on_a_bias_free_network(method):
    network = Network(relu_chain(bias=False, seed=1))
    x = np.random.default_rng(4).uniform(0, 1, (3, 8, 8, 3)).astype(np.float32)
    logits = network.logits(x)
    classes = logits.argmax(axis=1)
    totals = attribute(network, x, method, classes, settings=EXACT).sum(axis=(1, 2))
    np.testing.assert_allclose(totals, logits[np.arange(3), classes], rtol=1e-5)


def test_batch_norms_are_folded_whether_or_not_the_model_was_copied_for_inference():
    """A network computed with the model itself (sanity's, which follows weights changed in
    place) folds each batch normalization into its convolution as the rules run: the same
    relevance as the inference copy, where the folding is done once."""
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c1"),
                              keras.layers.BatchNormalization(name="bn1"),
                              keras.layers.Activation("relu"),
                              keras.layers.DepthwiseConv2D(3, name="d2"),
                              keras.layers.BatchNormalization(name="bn2"),
                              keras.layers.Activation("relu6"), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    rng = np.random.default_rng(5)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in v.path
                       else rng.normal(0, 0.5, w.shape).astype(np.float32)
                       for v, w in zip(model.weights, model.get_weights(), strict=True)])
    x = rng.uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    copied, itself = Network(model), Network(model, inference_copy=False)
    classes = copied.logits(x).argmax(axis=1)
    for method in ("lrp-epsilon-gamma-box", "lrp-epsilon-alpha2-beta1-flat", "lrp-z-plus"):
        expected = attribute(copied, x, method, classes)
        np.testing.assert_allclose(attribute(itself, x, method, classes), expected, rtol=1e-4,
                                   atol=1e-5 * np.abs(expected).max())


def test_a_rule_given_to_a_folded_convolution_names_its_batch_normalization():
    from nnvisual.errors import UserError

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c1"),
                              keras.layers.BatchNormalization(name="bn1"), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    with pytest.raises(UserError, match="c1 is folded into the batch normalization after it"):
        attribute(model, np.ones((1, 8, 8, 3), np.float32), "lrp-epsilon", [0],
                  settings=default_settings(lrp_rules="c1=z-plus"))
    assert attribute(model, np.ones((1, 8, 8, 3), np.float32), "lrp-epsilon", [0],
                     settings=default_settings(lrp_rules="bn1=z-plus")).shape == (1, 8, 8)
