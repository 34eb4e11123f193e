"""DeconvNet / guided / gradient projections (nnvisual.deconv) against hand-worked values and an
independent layer-by-layer DeconvNet (nnvisual/testing/deconv_reference.py)."""

import keras
import numpy as np
import pytest
from keras import layers

from nnvisual import deconv
from nnvisual.deconv import projector as projector_module
from nnvisual.errors import UserError
from nnvisual.graph import gradients, pointwise, shifted_depthwise
from nnvisual.models import study
from nnvisual.testing import deconv_reference as reference


# -- a hand-worked example ---------------------------------------------------------------------
def hand_model():
    """4x4x1 input -> conv1 (1x1, weights [1, -1]: relu(x), relu(-x)) -> 2x2 max-pool ->
    conv2 (2x2 valid, one filter) + ReLU: a 1x1x1 output."""
    model = keras.Sequential([
        keras.Input((4, 4, 1)),
        layers.Conv2D(2, 1, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Conv2D(1, 2, activation="relu", name="conv2"),
    ])
    model.get_layer("conv1").set_weights([np.array([1.0, -1.0]).reshape(1, 1, 1, 2), np.zeros(2)])
    kernel = np.zeros((2, 2, 2, 1))
    kernel[:, :, 0, 0] = [[1, 0], [0, -1]]
    kernel[:, :, 1, 0] = [[1, 0], [-1, 1]]
    model.get_layer("conv2").set_weights([kernel, np.zeros(1)])
    return model


HAND_IMAGE = np.array([[1, 2, 3, 0],
                       [4, 0, -1, -5],
                       [-3, 2, 0, 1],
                       [0, -1, 2, -4]], dtype=np.float32)[:, :, None]

# Worked on paper. relu(x) pools to [[4, 3], [2, 2]] (switches (1,0) (0,2) (2,1) (3,2)); relu(-x)
# pools to [[0, 5], [3, 4]] (switches (0,0) -- a tie of four zeros, first in row-major order --
# (1,3) (2,0) (3,3)). conv2 = 4 - 2 + (0 - 3 + 4) = 3 is the seed. Going down through conv2's
# transposed kernel: 3 * [[1, 0], [0, -1]] on relu(x)'s switches, 3 * [[1, 0], [-1, 1]] on
# relu(-x)'s. ReLU rules at the switches (upstream, forward input): relu(x): (1,0) (3, 4),
# (3,2) (-3, 2); relu(-x): (0,0) (3, -1), (2,0) (-3, 3), (3,3) (3, 4). conv1 transposed: the
# relu(x) part minus the relu(-x) part.
HAND_EXPECTED = {
    "gradient": [[0, 0, 0, 0], [3, 0, 0, 0], [3, 0, 0, 0], [0, 0, -3, -3]],
    "deconvnet": [[-3, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, -3]],
    "guided": [[0, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, -3]],
}


@pytest.mark.parametrize("method", deconv.METHODS)
def test_hand_worked_example(method):
    (result,) = deconv.project_layers(deconv.Projector(hand_model(), method), HAND_IMAGE, ["conv2"],
                                      top_k=1)
    assert result.channels.tolist() == [0]
    assert result.activations.tolist() == [3.0]
    assert result.positions.tolist() == [[0, 0]]
    np.testing.assert_array_equal(result.projections[0, :, :, 0], HAND_EXPECTED[method])


def test_hand_worked_example_reference_agrees():
    """The NumPy reference reproduces the hand-worked values (so it can be trusted below)."""
    network = [("conv", np.array([1.0, -1.0]).reshape(1, 1, 1, 2), np.zeros(2), "valid"), ("relu",),
               ("pool",), ("conv", hand_model().get_layer("conv2").get_weights()[0], np.zeros(1),
                           "valid"), ("relu",)]
    for method, expected in HAND_EXPECTED.items():
        projection = reference.project(network, HAND_IMAGE, np.full((1, 1, 1), 3.0), method)
        np.testing.assert_array_equal(projection[:, :, 0], expected)


# -- random networks: backward pass with a ReLU rule == explicit layer-by-layer DeconvNet --------
def random_network(seed: int):
    """A random conv-relu-pool-conv-relu network as reference operations and as a Keras model.
    The seed also varies how ReLU is written (activation, ReLU layer, Activation layer) and adds
    batch normalization and dropout."""
    rng = np.random.default_rng(seed)
    mean, variance = rng.normal(size=3), rng.uniform(0.5, 2.0, 3)
    k1, b1 = rng.normal(0, 0.5, (3, 3, 3, 4)), rng.normal(0, 0.1, 4)
    k2, b2 = rng.normal(0, 0.5, (3, 3, 4, 5)), rng.normal(0, 0.1, 5)
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4)
    moving_mean, moving_variance = rng.normal(0, 0.1, 4), rng.uniform(0.5, 1.5, 4)
    padding2 = ("same", "valid")[seed % 2]
    scale = gamma / np.sqrt(moving_variance + 1e-3)
    ops = [("norm", mean, variance), ("conv", k1, b1, "same"),
           ("affine", scale, beta - moving_mean * scale), ("relu",), ("pool",),
           ("conv", k2, b2, padding2), ("relu",)]
    relu1 = layers.ReLU(name="relu1") if seed % 3 else layers.Activation("relu", name="relu1")
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Normalization(mean=mean, variance=variance, name="norm"),
        layers.Conv2D(4, 3, padding="same", name="conv1"),
        layers.BatchNormalization(name="bn1"), relu1, layers.Dropout(0.5, name="drop"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Conv2D(5, 3, padding=padding2, activation="relu", name="conv2"),
        layers.Flatten(name="flatten"), layers.Dense(3, activation="softmax", name="head"),
    ])
    model.get_layer("conv1").set_weights([k1, b1])
    model.get_layer("bn1").set_weights([gamma, beta, moving_mean, moving_variance])
    model.get_layer("conv2").set_weights([k2, b2])
    image = rng.normal(0, 1, (16, 16, 3)).astype(np.float32)
    return ops, model, image


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("mode", deconv.MODES)
def test_agrees_with_layer_by_layer_deconvnet(seed, mode):
    network, model, image = random_network(seed)
    output, _ = reference.forward(network, image)
    for method in deconv.METHODS:
        (result,) = deconv.project_layers(deconv.Projector(model, method), image, ["conv2"],
                                          top_k=3, mode=mode)
        expected = []
        for channel, (row, col) in zip(result.channels, result.positions, strict=True):
            assert output[row, col, channel] == pytest.approx(output[:, :, channel].max(), rel=1e-6)
            seed_map = np.zeros_like(output)
            if mode == "max":
                seed_map[row, col, channel] = output[row, col, channel]
            else:
                seed_map[:, :, channel] = output[:, :, channel]
            expected.append(reference.project(network, image, seed_map, method))
        scale = np.abs(expected).max()
        assert scale > 0, method  # the comparison is not between zeros
        np.testing.assert_allclose(result.projections, expected, rtol=1e-5, atol=1e-5 * scale)


def test_first_layer_agrees_and_methods_differ():
    """conv1 (under a separate ReLU layer) and deconvnet/guided/gradient giving different images."""
    network, model, image = random_network(2)  # five live channels in conv2
    projections = {}
    for method in deconv.METHODS:
        (result,) = deconv.project_layers(deconv.Projector(model, method), image, ["conv2"],
                                          top_k=5, mode="map")
        projections[method] = result.projections
    assert not np.allclose(projections["deconvnet"], projections["guided"])
    assert not np.allclose(projections["guided"], projections["gradient"])
    (first,) = deconv.project_layers(deconv.Projector(model), image, ["conv1"], top_k=2,
                                     mode="map")
    output, _ = reference.forward(network[:2], image)
    for channel, projection in zip(first.channels, first.projections, strict=True):
        seed_map = np.zeros_like(output)
        seed_map[:, :, channel] = output[:, :, channel]
        np.testing.assert_allclose(projection, reference.project(network[:2], image, seed_map),
                                   rtol=1e-5, atol=1e-5)


def test_gradient_method_is_the_plain_gradient():
    """method=gradient is Keras' own gradient of <seed, layer output> on the unmodified model."""
    _, model, image = random_network(2)
    (result,) = deconv.project_layers(deconv.Projector(model, "gradient"), image, ["conv2"],
                                      top_k=2, mode="map")
    submodel = keras.Model(model.inputs[0], model.get_layer("conv2").output)
    output = keras.ops.convert_to_numpy(submodel(image[None]))[0]
    for channel, projection in zip(result.channels, result.projections, strict=True):
        seed_map = np.zeros_like(output)
        seed_map[:, :, channel] = output[:, :, channel]
        _, expected = gradients.value_and_gradient(
            lambda x, s=seed_map: keras.ops.sum(keras.ops.multiply(submodel(x)[0], s)), image[None])
        expected = keras.ops.convert_to_numpy(expected)[0]  # float32 sums in another order: 1e-5 of the scale
        np.testing.assert_allclose(projection, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_batched_projection_equals_one_at_a_time():
    _, model, image = random_network(3)
    projector = deconv.Projector(model, "guided")
    (batched,) = deconv.project_layers(projector, image, ["conv2"], top_k=4)
    feature_map = projector.feature_maps(image[None], ["conv2"])["conv2"]
    for i, (channel, position) in enumerate(zip(batched.channels, batched.positions, strict=True)):
        seed_map = deconv.seeds(feature_map, [channel], [position], "max")
        single = projector.project(image[None], seed_map, "conv2")[0]
        np.testing.assert_allclose(batched.projections[i], single, rtol=1e-5,
                                   atol=1e-6 * np.abs(single).max())


# -- ties, receptive fields, the caller's model -------------------------------------------------
def test_top_channels_ties_are_deterministic():
    feature_map = np.zeros((3, 3, 4), np.float32)
    feature_map[2, 0, 1] = feature_map[0, 2, 1] = 5.0  # tie inside channel 1: (0, 2) comes first
    feature_map[1, 1, 3] = feature_map[1, 2, 3] = 5.0  # channel 3 ties channel 1: lower index first
    feature_map[0, 0, 0] = 2.0
    channels, activations, positions = deconv.top_channels(feature_map, 3)
    assert channels.tolist() == [1, 3, 0]
    assert activations.tolist() == [5.0, 5.0, 2.0]
    assert positions.tolist() == [[0, 2], [1, 1], [0, 0]]


def test_receptive_field_geometry():
    model = study.build_plotka()
    conv1, conv3, conv6 = (deconv.receptive_field(model, name)
                           for name in ("conv1", "conv3", "conv6"))
    assert (conv1.size, conv1.jump, conv1.offset) == ((3, 3), (1, 1), (1, 1))
    assert (conv3.size, conv3.jump, conv3.offset) == ((10, 10), (2, 2), (4, 4))  # 3+2 -> 6 -> 10
    assert (conv6.size, conv6.jump) == ((32, 32), (4, 4))
    assert conv3.box((5, 0), (32, 32)) == (6, 0, 16, 6)
    assert conv3.window((5, 0), (32, 32)) == (6, 0, 10, 10)  # fields start at even pixels
    assert conv3.window((15, 15), (32, 32)) == (22, 22, 10, 10)  # clipped: touches the border
    assert conv6.window((0, 0), (32, 32)) is None  # the field needs the whole image


@pytest.mark.parametrize("build, method", [(study.build_plotka, "deconvnet"),
                                           (study.build_plotka, "gradient"),
                                           (study.build_bonaccorso, "guided")])
def test_max_mode_crop_to_the_receptive_field_is_exact(build, method):
    """A projection from one activation, made on the whole image, stays inside the computed
    receptive field; projecting on a window around that field gives the same values. For every
    convolution ('same' and 'valid'), activations in corners, on borders and inside."""
    keras.utils.set_random_seed(2)
    model = build()
    image = np.random.default_rng(2).uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)
    cropped = 0
    projector = deconv.Projector(model, method)
    for layer in deconv.conv_layer_names(model):
        feature_map = projector.feature_maps(image, [layer])[layer]
        h, w = feature_map.shape[1:3]
        positions = [(0, 0), (h - 1, w - 1), (0, w - 1), (h // 2, w // 2), (1, h - 2)]
        channels = [int(np.argmax(feature_map[0, r, c])) for r, c in positions]
        maps = np.repeat(feature_map, len(positions), axis=0)
        images = np.repeat(image, len(positions), axis=0)
        fast = projector.project_channels(images, maps, channels, positions, "max", layer)
        full = projector.project(images, deconv.seeds(maps, channels, positions, "max"), layer)
        assert np.abs(full).max() > 0
        for position, projection in zip(positions, full, strict=True):
            top, left, bottom, right = projector.field(layer).box(position, (32, 32))
            outside = np.abs(projection).sum(axis=2) > 0
            outside[top:bottom, left:right] = False
            assert not outside.any(), (layer, position)
        np.testing.assert_allclose(fast, full, rtol=1e-5, atol=1e-6 * np.abs(full).max())
        cropped += projector.field(layer).window(positions[0], (32, 32)) is not None
    assert cropped >= 4  # most layers were really cropped


def test_callers_model_is_unchanged():
    keras.utils.set_random_seed(1)
    model = study.build_plotka()
    image = np.random.default_rng(1).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    before_weights = [w.copy() for w in model.get_weights()]
    before_config = model.get_config()
    before_output = keras.ops.convert_to_numpy(model(image[None]))
    activations = [layer.activation for layer in model.layers if hasattr(layer, "activation")]
    for method in deconv.METHODS:
        deconv.project_layers(deconv.Projector(model, method), image, ["conv2", "conv5"], top_k=2)
    assert model.get_config() == before_config
    after = [layer.activation for layer in model.layers if hasattr(layer, "activation")]
    assert after == activations
    for before, after in zip(before_weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(before_output, keras.ops.convert_to_numpy(model(image[None])))


# -- rectifiers beyond ReLU: the rules worked by hand -------------------------------------------
@pytest.mark.parametrize("kwargs, x, forward, expected", [
    # ReLU6: the forward clip is kept; above 6 the unit is saturated (f' = 0)
    ({"max_value": 6.0}, [-1.0, 3.0, 7.0], [0.0, 3.0, 6.0],
     {"gradient": [0, -1, 0], "guided": [0, 0, 0], "deconvnet": [1, 0, 1]}),
    # LeakyReLU, slope 0.1: f' = 0.1 below 0, 1 above
    ({"negative_slope": 0.1}, [-1.0, 3.0, -2.0], [-0.1, 3.0, -0.2],
     {"gradient": [0.1, -1, 0.1], "guided": [0.1, 0, 0.1], "deconvnet": [1, 0, 1]}),
])
def test_rectifier_rules_by_hand(kwargs, x, forward, expected):
    upstream = np.array([1.0, -1.0, 1.0], np.float32)
    for method, values in expected.items():
        rule = deconv.relu_with_rule(method, **kwargs)
        value, gradient = gradients.value_and_gradient(
            lambda z, r=rule: keras.ops.sum(r(z) * upstream), np.array(x, np.float32))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(gradient), values, rtol=1e-6)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(rule(np.array(x, np.float32))),
                                   forward, rtol=1e-6)


# -- ReLU6 at the projected layer: ranked and projected before its own clip -------------------------
def relu6_model(fused: bool):
    """4x4x1 input -> 1x1 convolution, weights [1.5, 2, 0.5] (no bias) -> ReLU6 ("relu6", a
    layer of its own or the convolution's activation) -> "sum": a 1x1 convolution adding the
    three clipped channels."""
    inputs = keras.Input((4, 4, 1))
    if fused:
        clipped = layers.Conv2D(3, 1, use_bias=False, activation="relu6", name="relu6")(inputs)
    else:
        clipped = layers.ReLU(6.0, name="relu6")(layers.Conv2D(3, 1, use_bias=False)(inputs))
    total = layers.Conv2D(1, 1, use_bias=False, name="sum")(clipped)
    model = keras.Model(inputs, total)
    conv = model.layers[1]
    conv.set_weights([np.array([1.5, 2.0, 0.5], np.float32).reshape(1, 1, 1, 3)])
    model.get_layer("sum").set_weights([np.ones((1, 1, 3, 1), np.float32)])
    return model


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("method", deconv.METHODS)
def test_relu6_layer_is_ranked_and_projected_before_its_clip(method, fused):
    # One pixel of 5 at (1, 2): the channels' values there are 7.5, 10, 2.5; clipped, the first
    # two tie at 6 (channel 0 would win the tie) and gradient/guided would project nothing.
    image = np.zeros((4, 4, 1), np.float32)
    image[1, 2, 0] = 5.0
    image[3, 0, 0] = 1.0  # a second, weaker pixel
    projector = deconv.Projector(relu6_model(fused), method)
    (result,) = deconv.project_layers(projector, image, ["relu6"], top_k=3)
    assert result.channels.tolist() == [1, 0, 2]
    np.testing.assert_allclose(result.activations, [10.0, 7.5, 2.5], rtol=1e-6)
    assert result.positions.tolist() == [[1, 2]] * 3
    # d(seed * w_c * x[1, 2]) / dx: seed w_c at the pixel, nothing elsewhere
    expected = np.zeros((3, 4, 4, 1), np.float32)
    expected[:, 1, 2, 0] = [10.0 * 2.0, 7.5 * 1.5, 2.5 * 0.5]
    np.testing.assert_allclose(result.projections, expected, rtol=1e-6)
    # a layer after it still sees the clipped values: 6 + 6 + 2.5
    maps = projector.feature_maps(image[None], ["relu6", "sum"])
    assert maps["sum"][0, 1, 2, 0] == pytest.approx(14.5)
    assert maps["relu6"][0, 1, 2].tolist() == pytest.approx([7.5, 10.0, 2.5])


# -- what is refused -------------------------------------------------------------------------------
def test_unknown_and_non_feature_map_layers_are_refused():
    model = study.build_plotka()
    with pytest.raises(UserError, match="unknown layer 'conv9'; feature-map layers of plotka: "
                                        "mean_subtraction, conv1, dropout1, conv2"):
        deconv.check_layers(model, ["conv1", "conv9"])
    with pytest.raises(UserError, match="'dense1' is a Dense with a 2-D output, not a feature map"):
        deconv.check_layers(model, ["dense1"])
    deconv.check_layers(model, ["conv1", "conv6", "pool1", "dropout2"])


@pytest.mark.parametrize("bad_layer, message", [
    (lambda: layers.Conv2D(2, 3, activation="tanh", name="bad"),
     r"'bad' \(Conv2D, tanh activation\) on the path to 'target' has no deconvnet rule"),
    (lambda: layers.Activation("sigmoid", name="bad"), r"'bad' \(Activation, sigmoid activation\)"),
    (lambda: layers.LayerNormalization(name="bad"), r"'bad' \(LayerNormalization\)"),
    (lambda: layers.MaxPooling2D(1, data_format="channels_first", name="bad"), "channels_first"),
])
def test_layers_without_a_rule_on_the_path_are_refused(bad_layer, message):
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3, name="first"),
                              bad_layer(), layers.Conv2D(2, 3, name="target")])
    image = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(UserError, match=message):
        deconv.project_layers(deconv.Projector(model), image, ["target"], top_k=1)
    deconv.project_layers(deconv.Projector(model), image, ["first"], top_k=1)  # not on the path to 'first'


# -- Zeiler & Fergus Figure 2 -------------------------------------------------------------------
@pytest.mark.parametrize("mode", deconv.MODES)
def test_top_images_are_the_strongest_and_projected_alone(mode):
    _, model, _ = random_network(0)
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (30, 16, 16, 3)).astype(np.uint8)

    def prepare(batch):
        return batch.astype(np.float32) / 64.0

    projector = deconv.Projector(model, "deconvnet")
    (top,) = deconv.top_images(projector, images, prepare, {"conv2": [1, 4]}, n=9, mode=mode,
                               batch_size=7)
    maps = projector.feature_maps(prepare(images), ["conv2"])["conv2"]
    for i, channel in enumerate([1, 4]):
        maxima = maps[..., channel].reshape(len(images), -1).max(axis=1)
        assert top.indices[i].tolist() == np.argsort(-maxima, kind="stable")[:9].tolist()
        np.testing.assert_allclose(top.activations[i], np.sort(maxima)[::-1][:9], rtol=1e-6)
        for j, index in enumerate(top.indices[i][:3]):
            (alone,) = deconv.project_layers(projector, prepare(images[index]), ["conv2"], top_k=5,
                                             mode=mode)
            rank = alone.channels.tolist().index(channel)
            assert top.positions[i, j].tolist() == alone.positions[rank].tolist()
            np.testing.assert_allclose(top.projections[i, j], alone.projections[rank], rtol=1e-5,
                                       atol=1e-5 * np.abs(alone.projections[rank]).max())


# -- whole-image projections through depthwise convolutions ---------------------------------------
def depthwise_model():
    """A strided convolution (no receptive-field window), a depthwise convolution with ReLU6, a
    linear strided one with its rectifier a layer apart and a pointwise convolution, as in
    EfficientNet-Lite's blocks."""
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="stem")(inputs)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="depthwise")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                               name="depthwise_strided")(x)
    x = layers.ReLU(6.0, name="depthwise_relu6")(x)
    return keras.Model(inputs, layers.Conv2D(5, 1, activation="relu", name="pointwise")(x))


@pytest.mark.parametrize("faster", [False, True], ids=["keras-layers", "faster-kinds"])
@pytest.mark.parametrize("seed_by_seed", [False, True], ids=["repeated-image", "seed-by-seed"])
@pytest.mark.parametrize("mode", deconv.MODES)
@pytest.mark.parametrize("method", deconv.METHODS)
def test_projections_through_a_depthwise_convolution_agree_with_the_reference(
        method, mode, seed_by_seed, faster, monkeypatch):
    """Shared projections across a depthwise convolution are not vectorized over the seeds
    (Projector.crosses_depthwise): one pass over the image repeated or one pass per seed, the
    layers computed by Keras or as their faster kinds (as on JAX: depthwise convolutions
    shifted, the 1x1 convolution a matrix product); each way agrees with the NumPy graph replay
    and with the vectorized pass."""
    backend = keras.backend.backend()
    monkeypatch.setattr(projector_module, "SEED_BY_SEED_ON", (backend,) if seed_by_seed else ())
    for module in (shifted_depthwise, pointwise):
        monkeypatch.setattr(module, "FASTER_ON", (backend,) if faster else ())
    computed = []  # the names of the layers computed as a faster kind
    for kind in (shifted_depthwise.ShiftedDepthwiseConv2D, pointwise.PointwiseConv2D):
        monkeypatch.setattr(kind, "call", lambda layer, x, call=kind.call:
                            computed.append(layer.name) or call(layer, x))
    keras.utils.set_random_seed(4)
    model = depthwise_model()
    image = np.random.default_rng(4).normal(0, 1, (12, 12, 3)).astype(np.float32)
    projector = deconv.Projector(model, method)
    assert projector.crosses_depthwise("pointwise") and not projector.crosses_depthwise("stem")
    copy = projector.path("pointwise")["depthwise"].linear
    assert isinstance(copy, shifted_depthwise.ShiftedDepthwiseConv2D) == faster
    (result,) = deconv.project_layers(projector, image, ["pointwise"], top_k=3, mode=mode)
    # the copies of "depthwise" and "pointwise" (each without its rectifier), and
    # "depthwise_strided" itself
    assert set(computed) == ({"depthwise_linear", "depthwise_strided", "pointwise_linear"}
                             if faster else set())
    feature_map = projector.feature_maps(image[None], ["pointwise"])["pointwise"]
    starts = deconv.seeds(np.repeat(feature_map, 3, axis=0), result.channels, result.positions,
                          mode)
    expected = [reference.graph_project(model, image, "pointwise", start, method)[1]
                for start in starts]
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(result.projections, expected, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(projector.project_shared(image[None], starts, "pointwise"),
                               result.projections, rtol=1e-5, atol=1e-6 * scale)
