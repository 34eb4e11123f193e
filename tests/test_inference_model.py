"""The inference-only copy (nnvisual.graph.inference_model), the shifted depthwise convolution
(nnvisual.graph.shifted_depthwise), the 1x1 convolution as a matrix product
(nnvisual.graph.pointwise) and the rectifier differentiated from its output
(nnvisual.graph.output_masked_relu): the same function and input gradients as the model, folded
weights against hand-computed ones, Keras' DepthwiseConv2D, Conv2D and ReLU as the references."""

import keras
import numpy as np
import pytest
from keras import layers, ops

from nnvisual import graph
from nnvisual.graph import faster_layers, output_masked_relu, pointwise, shifted_depthwise
from nnvisual.graph.gradients import compile_function, value_and_gradient
from nnvisual.graph.inference_model import for_inference
from nnvisual.graph.output_masked_relu import OutputMaskedReLU, can_mask
from nnvisual.graph.pointwise import PointwiseConv2D
from nnvisual.graph.shifted_depthwise import FASTER_ON, ShiftedDepthwiseConv2D, shifted_depthwise_conv
from nnvisual.models import loading
from nnvisual.optvis import ClassObjective, Objective, Term

SHIFTED = keras.backend.backend() in FASTER_ON
MASKED = keras.backend.backend() in output_masked_relu.FASTER_ON
MULTIPLIED = keras.backend.backend() in pointwise.FASTER_ON


def with_statistics(model, seed=0):
    """``model`` with every batch normalization given non-trivial gamma, beta, mean, variance."""
    rng = np.random.default_rng(seed)
    for _, layer in graph.layers(model):
        if isinstance(layer, layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, c), rng.normal(0, 1, c), rng.normal(0, 1, c),
                               rng.uniform(0.2, 3.0, c)])
    return model


def tiny(nested=False):
    """conv -> BN -> ReLU6 -> padded stride-2 depthwise -> BN -> ReLU6 -> 5x5 depthwise (bias)
    -> BN -> 1x1 conv -> BN -> pool -> dense -> softmax; with ``nested``, the middle as a model of its own."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((9, 9, 2), name="image")
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inputs)
    x = layers.BatchNormalization(name="conv_bn")(x)
    x = layers.ReLU(6.0, name="conv_relu6")(x)
    middle_in = x
    if nested:
        middle_in = keras.Input((9, 9, 4), name="middle_in")
    y = layers.ZeroPadding2D(((0, 1), (0, 1)), name="dw_pad")(middle_in)
    y = layers.DepthwiseConv2D(3, 2, padding="valid", use_bias=False, name="dw")(y)
    y = layers.BatchNormalization(name="dw_bn")(y)
    y = layers.ReLU(6.0, name="dw_relu6")(y)
    y = layers.DepthwiseConv2D(5, padding="same", name="dw5")(y)
    y = layers.BatchNormalization(name="dw5_bn")(y)
    y = layers.Conv2D(3, 1, use_bias=False, name="pw")(y)
    y = layers.BatchNormalization(name="pw_bn")(y)
    if nested:
        y = keras.Model(middle_in, y, name="middle")(x)
    y = layers.GlobalAveragePooling2D(name="pool")(y)
    y = layers.Dense(3, name="logits")(y)
    outputs = layers.Activation("softmax", name="predictions")(y)
    return with_statistics(keras.Model(inputs, outputs, name="tiny"))


def images(shape=(2, 9, 9, 2), seed=1):
    return np.random.default_rng(seed).normal(0, 2, shape).astype(np.float32)


def logit_gradient(model, x, path="logits"):
    """The first class's score at the layer ``path`` summed over the batch, and its input
    gradient."""
    scores = keras.Model(model.inputs, model.get_layer(path).output)
    value, gradient = compile_function(
        lambda z: value_and_gradient(lambda z: ops.sum(scores(z)[:, 0]), z))(x)
    return float(ops.convert_to_numpy(value)), ops.convert_to_numpy(gradient)


@pytest.mark.parametrize("nested", [False, True])
def test_the_copy_computes_the_same_outputs_and_input_gradients(nested):
    model = tiny(nested)
    copy = for_inference(model)
    x = images()
    np.testing.assert_allclose(ops.convert_to_numpy(copy(x)), ops.convert_to_numpy(model(x)),
                               rtol=1e-5, atol=1e-6)
    (value, gradient), (expected, expected_gradient) = logit_gradient(copy, x), logit_gradient(model, x)
    assert value == pytest.approx(expected, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4,
                               atol=1e-5 * np.abs(expected_gradient).max())
    # every batch normalization became its convolution, under its own name
    kinds = {path: type(layer) for path, layer in graph.layers(copy)}
    prefix = "middle/" if nested else ""
    assert not any(issubclass(kind, layers.BatchNormalization) for kind in kinds.values())
    assert kinds["conv_bn"] is layers.Conv2D
    depthwise = ShiftedDepthwiseConv2D if SHIFTED else layers.DepthwiseConv2D
    assert kinds[prefix + "dw_bn"] is kinds[prefix + "dw5_bn"] is depthwise
    assert kinds[prefix + "pw_bn"] is (PointwiseConv2D if MULTIPLIED else layers.Conv2D)
    assert kinds["conv_relu6"] is kinds[prefix + "dw_relu6"] is (
        OutputMaskedReLU if MASKED else layers.ReLU)
    assert {"conv", prefix + "dw", prefix + "dw5", prefix + "pw"}.isdisjoint(kinds)
    assert copy.name == model.name


def test_the_callers_model_is_not_changed():
    model = tiny(nested=True)
    weights = [w.copy() for w in model.get_weights()]
    nodes = {id(layer): len(layer._inbound_nodes) for _, layer in graph.layers(model)}
    for_inference(model, keep=("middle/dw",))
    assert [type(layer).__name__ for layer in model.layers][1:4] == [
        "Conv2D", "BatchNormalization", "ReLU"]
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert nodes == {id(layer): len(layer._inbound_nodes) for _, layer in graph.layers(model)}


def test_the_folded_kernel_and_bias_are_the_hand_computed_ones():
    # one channel: conv kernel [[1, 2], [3, 4]], bias 0.5; BN gamma 3, beta 1, mean 3,
    # variance + epsilon 4: scale 3 / 2 = 1.5, kernel [[1.5, 3], [4.5, 6]],
    # bias 1 + (0.5 - 3) * 1.5 = -2.75
    inputs = keras.Input((4, 4, 1))
    conv = layers.Conv2D(1, 2, name="conv")
    normalization = layers.BatchNormalization(epsilon=1e-3, name="bn")
    model = keras.Model(inputs, normalization(conv(inputs)))
    conv.set_weights([np.float32([[1, 2], [3, 4]]).reshape(2, 2, 1, 1), np.float32([0.5])])
    normalization.set_weights([np.float32([3]), np.float32([1]), np.float32([3]),
                               np.float32([4 - 1e-3])])
    kernel, bias = for_inference(model).get_layer("bn").get_weights()
    np.testing.assert_allclose(kernel[:, :, 0, 0], [[1.5, 3], [4.5, 6]], rtol=1e-6)
    np.testing.assert_allclose(bias, [-2.75], rtol=1e-6)


def test_a_depthwise_kernel_is_scaled_per_output_channel():
    # depth multiplier 2 on 2 channels: output channel c*2 + k is the kernel's [..., c, k]
    inputs = keras.Input((5, 5, 2))
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, name="dw")(inputs)
    model = keras.Model(inputs, layers.BatchNormalization(epsilon=0.0, name="bn")(x))
    model.get_layer("dw").set_weights([np.ones((3, 3, 2, 2), np.float32)])
    model.get_layer("bn").set_weights([np.float32([1, 2, 3, 4]), np.zeros(4, np.float32),
                                       np.zeros(4, np.float32), np.ones(4, np.float32)])
    kernel, _ = for_inference(model).get_layer("bn").get_weights()
    np.testing.assert_allclose(kernel[0, 0], [[1, 2], [3, 4]])


def test_keep_leaves_a_convolution_whose_output_is_read():
    model = tiny(nested=True)
    copy = for_inference(model, keep=("conv", "middle/dw"))
    x = images()
    for path in ("conv", "middle/dw", "middle/dw_bn"):
        np.testing.assert_allclose(
            ops.convert_to_numpy(graph.replay(copy, x, [path])[path]),
            ops.convert_to_numpy(graph.replay(model, x, [path])[path]), rtol=1e-5, atol=1e-5)
    assert isinstance(copy.get_layer("conv_bn"), layers.BatchNormalization)
    assert isinstance(graph.get_layer(copy, "middle/dw5_bn"), layers.DepthwiseConv2D)  # folded
    with pytest.raises(Exception, match="middle/dw5"):
        graph.get_layer(copy, "middle/dw5")  # folded: its own output is gone, not wrong


def test_a_convolution_read_elsewhere_or_activated_is_not_folded():
    inputs = keras.Input((6, 6, 2))
    a = layers.Conv2D(3, 3, name="shared_output")(inputs)
    bn_a = layers.BatchNormalization(name="bn_a")(a)
    b = layers.Conv2D(3, 3, activation="relu", name="activated")(inputs)
    bn_b = layers.BatchNormalization(name="bn_b")(b)
    model = with_statistics(keras.Model(inputs, layers.Add()([a, bn_a, bn_b])))
    assert for_inference(model) is model  # nothing to fold, and no depthwise convolution
    sequential = with_statistics(keras.Sequential(
        [keras.Input((6, 6, 2)), layers.Conv2D(3, 3, name="c"), layers.BatchNormalization(name="b")],
        name="seq"))
    copy = for_inference(sequential)
    assert [name for name, _ in graph.layers(copy)] == ["b"] and copy.name == "seq"
    x = images((2, 6, 6, 2))
    np.testing.assert_allclose(ops.convert_to_numpy(copy(x)), ops.convert_to_numpy(sequential(x)),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel,stride,multiplier", [(3, 1, 1), (3, 2, 1), (5, 1, 1), (5, 2, 1),
                                                      (3, 2, 2)])
@pytest.mark.parametrize("size", [8, 9])
def test_shifted_depthwise_equals_keras_depthwise(padding, kernel, stride, multiplier, size):
    layer = layers.DepthwiseConv2D(kernel, stride, padding=padding, depth_multiplier=multiplier,
                                   use_bias=False)
    x = images((2, size, size + 2, 3))
    expected = ops.convert_to_numpy(layer(x))
    got = ops.convert_to_numpy(shifted_depthwise_conv(x, layer.kernel, layer.strides, padding))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer,faster_kind,shape", [
    (layers.DepthwiseConv2D(3, padding="same", activation="relu", bias_initializer="ones"),
     ShiftedDepthwiseConv2D, (1, 5, 5, 2)),
    (layers.Conv2D(5, 1, use_bias=False), PointwiseConv2D, (2, 6, 7, 3)),
    (layers.Conv2D(5, 1, activation="relu6", bias_initializer="ones"), PointwiseConv2D, (2, 6, 7, 3))])
def test_the_faster_kinds_compute_the_layer_with_its_bias_and_activation(layer, faster_kind, shape):
    x = images(shape)
    expected = ops.convert_to_numpy(layer(x))
    faster = faster_kind.from_config(layer.get_config())
    faster(x)
    faster.set_weights(layer.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(faster(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("make", [lambda policy: layers.DepthwiseConv2D(3, 2, padding="same", dtype=policy),
                                  lambda policy: layers.Conv2D(5, 1, dtype=policy)])
def test_a_faster_call_computes_in_the_layers_dtype(make, policy, monkeypatch):
    """faster_call on a layer's own variables: in float32 as its faster kind; under mixed
    precision as Keras calls the layer (variables read in bfloat16), so a mixed model's
    projections are what its layers compute."""
    for module in (shifted_depthwise, pointwise):
        monkeypatch.setattr(module, "FASTER_ON", (keras.backend.backend(),))
    layer = make(policy)
    x = images((2, 6, 6, 3))
    expected = ops.convert_to_numpy(ops.cast(layer(x), "float32"))
    got = faster_layers.faster_call(layer, x)
    assert keras.backend.standardize_dtype(got.dtype) == layer.compute_dtype
    np.testing.assert_allclose(ops.convert_to_numpy(ops.cast(got, "float32")), expected,
                               rtol=1e-5, atol=1e-5 if policy == "float32" else 0)


@pytest.mark.parametrize("layer,accepted", [
    (layers.Conv2D(4, 1), True), (layers.Conv2D(4, 1, padding="same", activation="relu"), True),
    (layers.Conv2D(4, 3), False), (layers.Conv2D(4, 1, strides=2), False),
    (layers.Conv2D(4, 1, dilation_rate=2), False), (layers.Conv2D(4, 1, groups=2), False),
    (layers.Conv2D(4, 1, data_format="channels_first"), False),
    (layers.DepthwiseConv2D(1), False), (layers.Conv1D(4, 1), False)])
def test_only_1x1_convolutions_at_stride_1_are_multiplied(layer, accepted):
    assert pointwise.can_multiply(layer) == accepted


@pytest.mark.skipif(not MASKED, reason="the rectifier is rewritten on JAX only")
@pytest.mark.parametrize("max_value", [None, 6.0])
def test_the_output_masked_rectifier_has_relus_value_and_derivative_exactly(max_value):
    import jax

    layer = layers.ReLU(max_value)
    masked = OutputMaskedReLU.from_config(layer.get_config())
    # the kinks (0 and the clip) included: the derivative there is 0 in both
    x = np.float32([-2.0, -0.0, 0.0, 1e-7, 0.5, 1.5, 3.0, 6.0, 7.0, np.nan])
    np.testing.assert_array_equal(ops.convert_to_numpy(masked(x)), ops.convert_to_numpy(layer(x)))
    weights = np.arange(1, len(x) + 1, dtype=np.float32)
    expected, got = (np.asarray(jax.grad(lambda z, f=f: ops.sum(f(z) * weights))(x))
                     for f in (layer, masked))
    np.testing.assert_array_equal(got, expected)
    expected, got = (np.asarray(jax.jvp(f, (x,), (weights,))[1]) for f in (layer, masked))
    np.testing.assert_array_equal(got, expected)


def test_only_plain_rectifiers_are_masked():
    assert can_mask(layers.ReLU()) and can_mask(layers.ReLU(6.0))
    assert not can_mask(layers.ReLU(negative_slope=0.1)) and not can_mask(layers.ReLU(threshold=1.0))
    assert not can_mask(layers.ReLU(1.5))  # Keras clips it with a derivative of 1/2 at 1.5
    assert not can_mask(layers.Activation("relu")) and not can_mask(OutputMaskedReLU())


def test_objectives_read_kept_layers_and_fold_the_rest():
    model = tiny()
    x = images()
    objective = Objective(model, [(1.0, Term("channel", "conv", channels=(1,))),
                                  (1.0, Term("channel", "dw_bn", channels=(2,)))])
    assert isinstance(objective.model.get_layer("dw_bn"), layers.DepthwiseConv2D)
    conv, dw_bn = (ops.convert_to_numpy(graph.replay(model, x, [p])[p]) for p in ("conv", "dw_bn"))
    value, _, _ = objective(x)
    np.testing.assert_allclose(ops.convert_to_numpy(value),
                               conv[..., 1].mean(axis=(1, 2)) + dw_bn[..., 2].mean(axis=(1, 2)),
                               rtol=1e-5, atol=1e-5)
    logit, probability, _ = ClassObjective(model, 2)(x)
    np.testing.assert_allclose(ops.convert_to_numpy(probability),
                               ops.convert_to_numpy(model(x))[:, 2], rtol=1e-5)
    assert not any(isinstance(layer, layers.BatchNormalization)
                   for layer in ClassObjective(model, 2).model.layers)


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NNVISUAL_CACHE", str(tmp_path_factory.mktemp("cache")))
        return loading.load_model("efficientnet-lite0")


def test_lite0_logits_and_gradients_are_the_models(lite0):
    copy = for_inference(lite0.model)
    assert len(copy.layers) == len(lite0.model.layers) - 49  # its 49 conv + BN pairs folded
    x = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype(np.float32)
    (value, gradient), (expected, expected_gradient) = (logit_gradient(m, x)
                                                        for m in (copy, lite0.model))
    assert value == pytest.approx(expected, abs=1e-4)
    # ReLU6's kinks turn float32 rounding into a few flipped derivatives: the same size as the
    # difference between the original model's gradients on TensorFlow and on JAX (1.7e-3)
    assert np.linalg.norm(gradient - expected_gradient) / np.linalg.norm(expected_gradient) < 1e-2
