"""Any Keras graph: nnvisual.graph's replay and ``outer/inner`` addressing, and DeconvNet / guided /
gradient projections on residual, concatenating, depthwise, nested and keras.applications models
against an independent NumPy replay of the graph (nnvisual/testing/deconv_reference.py, graph_project)."""

import keras
import numpy as np
import pytest
from keras import layers

from nnvisual import deconv, graph
from nnvisual.errors import UserError
from nnvisual.testing import deconv_reference as reference


def small_graph(padding_layer=False, last="relu6"):
    """16x16x3 -> conv -> (separable + relu6) + depthwise -> add -> concat with the conv ->
    leaky relu -> max-pool -> conv: a residual, concatenating, depthwise graph; optionally a
    ZeroPadding2D before the pool (its field is then not shift invariant); ``last``: the
    activation of the last convolution."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    a = layers.Conv2D(4, 3, padding="same", activation="relu", name="a")(inputs)
    b = layers.SeparableConv2D(4, 3, padding="same", name="b")(a)
    b = layers.ReLU(max_value=6.0, name="b_relu6")(b)
    c = layers.DepthwiseConv2D(3, padding="same", name="c")(a)
    c = layers.BatchNormalization(name="c_bn")(c)
    x = layers.Add(name="add")([b, c])
    x = layers.Concatenate(name="cat")([x, a])
    x = layers.LeakyReLU(0.1, name="leaky")(x)
    if padding_layer:
        x = layers.ZeroPadding2D(((1, 0), (0, 1)), name="pad")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(3, 3, activation=last, name="target")(x)
    model = keras.Model(inputs, layers.GlobalAveragePooling2D(name="gap")(x))
    bn = model.get_layer("c_bn")
    rng = np.random.default_rng(3)
    bn.set_weights([rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4),
                    rng.uniform(0.5, 1.5, 4)])
    return model


def nested_model(size=32):
    """Preprocessing + ResNet50(include_top=False) as a nested model + a classification head."""
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    x = layers.Normalization(mean=[0.1, 0.0, -0.1], variance=[1.0, 2.0, 0.5], name="norm")(x)
    backbone = keras.applications.ResNet50(include_top=False, weights=None,
                                           input_shape=(size, size, 3))
    x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax", name="head")(x))


IMAGE16 = np.random.default_rng(0).normal(0, 1, (16, 16, 3)).astype(np.float32)


def assert_matches_reference(model, image, layer, method, mode="max", top_k=1):
    """nnvisual's projections of ``layer``'s strongest channels equal the NumPy replay's."""
    projector = deconv.Projector(model, method)
    (result,) = deconv.project_layers(projector, image, [layer], top_k=top_k, mode=mode)
    for channel, (row, col), projection in zip(result.channels, result.positions,
                                               result.projections, strict=True):
        output, _ = reference.graph_project(model, image, layer, None, method)
        seed = np.zeros_like(output)
        if mode == "max":
            seed[row, col, channel] = output[row, col, channel]
        else:
            seed[..., channel] = output[..., channel]
        output, expected = reference.graph_project(model, image, layer, seed, method)
        assert output[row, col, channel] == pytest.approx(output[..., channel].max(), rel=1e-5)
        scale = np.abs(expected).max()
        assert scale > 0, (layer, method)  # not a comparison between zeros
        np.testing.assert_allclose(projection, expected, rtol=1e-5, atol=1e-5 * scale)
    return result


# -- the replay itself -------------------------------------------------------------------------
def test_replay_equals_the_model_and_computes_only_what_is_needed():
    model = small_graph()
    called = []

    def call(operation, path, args, kwargs):
        called.append(path)
        return operation(*args, **kwargs)

    values = graph.replay(model, IMAGE16[None], ["add", "gap"], call)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(values["gap"]),
                               keras.ops.convert_to_numpy(model(IMAGE16[None])), rtol=1e-6)
    submodel = keras.Model(model.inputs, model.get_layer("add").output)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(values["add"]),
                               keras.ops.convert_to_numpy(submodel(IMAGE16[None])), rtol=1e-6)
    called.clear()
    graph.replay(model, IMAGE16[None], ["b_relu6"], call)
    assert called == ["a", "b", "b_relu6"]  # not the depthwise branch, nothing after


def test_nested_paths_are_listed_addressed_and_checked():
    model = nested_model()
    paths = [path for path, _ in graph.layers(model)]
    assert paths[:4] == ["scale", "norm", "resnet50", "resnet50/conv1_pad"]
    assert "resnet50/conv4_block6_out" in deconv.feature_layers(model)
    assert graph.get_layer(model, "resnet50/conv4_block6_out").name == "conv4_block6_out"
    assert graph.output_shape(model, "resnet50/conv4_block6_out") == (None, 2, 2, 1024)
    with pytest.raises(UserError, match="unknown layer 'resnet50/nope': 'nope' is not a layer "
                                        "of 'resnet50'"):
        deconv.check_layers(model, ["resnet50/nope"])
    with pytest.raises(UserError, match="unknown layer 'conv4_block6_out'"):
        deconv.check_layers(model, ["conv4_block6_out"])  # inside the nested model only
    with pytest.raises(UserError, match="'head' is a Dense with a 2-D output, not a feature map"):
        deconv.check_layers(model, ["head"])
    # each stage's last feature map
    assert deconv.default_layers(model, "nested") == (
        "resnet50/conv1_relu", "resnet50/conv2_block3_out", "resnet50/conv3_block4_out",
        "resnet50/conv4_block6_out", "resnet50/conv5_block3_out")


def test_a_model_without_feature_maps_is_refused():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="dense")])
    with pytest.raises(UserError, match="no layer with a 4-D feature-map output"):
        deconv.check_layers(model, ["dense"])


# -- projections on graphs against the NumPy replay ---------------------------------------------
@pytest.mark.parametrize("method", deconv.METHODS)
@pytest.mark.parametrize("mode", deconv.MODES)
def test_small_graph_agrees_with_the_reference(method, mode):
    """Add, Concatenate, SeparableConv2D, DepthwiseConv2D, BatchNormalization, ReLU6 and
    LeakyReLU (each with the method's rule) and ReLU6 as a fused activation."""
    assert_matches_reference(small_graph(), IMAGE16, "target", method, mode, top_k=2)


@pytest.mark.parametrize("padding_layer", [False, True])
@pytest.mark.parametrize("method", deconv.METHODS)
def test_graph_fields_hold_the_projection_and_crops_are_exact(padding_layer, method):
    """From one activation, the projection is zero outside the field the graph gives; where the
    field allows a cropped window, projecting on it gives the same values as on the image."""
    model = small_graph(padding_layer, last="linear")
    projector = deconv.Projector(model, method)
    image = IMAGE16[None]
    feature_map = projector.feature_maps(image, ["target"])["target"]
    h, w = feature_map.shape[1:3]
    positions = [(0, 0), (h - 1, w - 1), (0, w - 1), (h // 2, w // 2)]
    channels = [0, 1, 2, 0]
    maps = np.ones((len(positions), *feature_map.shape[1:]), np.float32)  # seeds of 1
    images = np.repeat(image, len(positions), axis=0)
    fast = projector.project_channels(images, maps, channels, positions, "max", "target")
    full = projector.project(images, deconv.seeds(maps, channels, positions, "max"), "target")
    field = projector.field("target")
    assert (field.size, field.jump) == ((10, 10), (2, 2))  # 3 -> 5 (two 3x3) -> 6 -> 10
    assert field.shift_invariant != padding_layer
    assert np.abs(full).max() > 0
    for position, projection in zip(positions, full, strict=True):
        top, left, bottom, right = field.box(position, (16, 16))
        outside = np.abs(projection).sum(axis=2) > 0
        outside[top:bottom, left:right] = False
        assert not outside.any(), position
    np.testing.assert_allclose(fast, full, rtol=1e-5, atol=1e-6 * np.abs(full).max())


@pytest.mark.parametrize("method", ["deconvnet", "guided"])
def test_smooth_activations_are_refused_by_name_but_have_a_gradient(method):
    inputs = keras.Input((8, 8, 3))
    a = layers.Conv2D(2, 3, activation="tanh", name="first")(inputs)
    b = layers.Conv2D(2, 3, activation="relu", name="second")(inputs)
    b = layers.Activation("gelu", name="smooth")(b)
    model = keras.Model(inputs, layers.Conv2D(2, 3, name="target")(layers.Add()([a, b])))
    with pytest.raises(UserError, match=r"layer 'first' \(Conv2D, tanh activation\) on the path "
                                        f"to 'first' has no {method} rule"):
        deconv.Projector(model, method).path("first")
    with pytest.raises(UserError, match=r"'smooth' \(Activation, gelu activation\)"):
        deconv.Projector(model, method).path("smooth")
    deconv.Projector(model, method).path("second")
    projector = deconv.Projector(model, "gradient")
    (result,) = deconv.project_layers(projector, IMAGE16[:8, :8], ["target"], top_k=1)
    assert np.abs(result.projections).max() > 0


# -- keras.applications, random weights, 32x32 -------------------------------------------------
APPLICATIONS = [
    pytest.param(lambda: keras.applications.VGG16(weights=None, input_shape=(32, 32, 3)),
                 "block3_conv1", id="vgg16"),
    pytest.param(lambda: keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3)),
                 "block_3_project_BN", id="mobilenetv2"),
    pytest.param(lambda: keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3)),
                 "conv3_block1_out", id="resnet50", marks=pytest.mark.slow),
    pytest.param(lambda: keras.applications.DenseNet121(weights=None, input_shape=(32, 32, 3)),
                 "pool2_pool", id="densenet121", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("build, layer", APPLICATIONS)
def test_applications_deconvnet_agrees_with_the_reference(build, layer):
    keras.utils.set_random_seed(0)
    image = np.random.default_rng(0).normal(0, 1, (32, 32, 3)).astype(np.float32)
    assert_matches_reference(build(), image, layer, "deconvnet")


@pytest.mark.slow
def test_nested_resnet50_agrees_with_the_reference():
    keras.utils.set_random_seed(0)
    image = np.random.default_rng(1).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    model = nested_model()
    result = assert_matches_reference(model, image, "resnet50/conv2_block1_out", "deconvnet")
    assert result.layer == "resnet50/conv2_block1_out"


def test_efficientnet_gradient_agrees_and_the_other_rules_are_refused_by_name():
    keras.utils.set_random_seed(0)
    model = keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3))
    image = np.random.default_rng(0).normal(0, 1, (32, 32, 3)).astype(np.float32)
    assert_matches_reference(model, image, "block2a_project_bn", "gradient")
    for method in ("deconvnet", "guided"):
        with pytest.raises(UserError, match=r"layer 'stem_activation' \(Activation, (silu|swish) "
                                            f"activation\\) on the path to 'block2a_project_bn' "
                                            f"has no {method} rule"):
            deconv.Projector(model, method).path("block2a_project_bn")


# -- the command on a nested model ---------------------------------------------------------------
def test_cli_on_a_nested_model(cli, tmp_path):
    """``outer/inner`` layers through ``nnvisual deconv``: files named with ``--``, the paths in
    the table and the arrays, bad paths refused in one line with no run folder."""
    keras.utils.set_random_seed(0)
    inner_input = keras.Input((16, 16, 4))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inner_input)
    inner = keras.Model(inner_input, layers.Add(name="add")([x, inner_input]), name="inner")
    inputs = keras.Input((16, 16, 3))
    x = layers.Rescaling(1 / 255.0, name="scale")(inputs)
    x = inner(layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(x))
    model = keras.Model(inputs, layers.GlobalAveragePooling2D(name="gap")(x))
    model.save(tmp_path / "nested.keras")
    result = cli("deconv", "--model", tmp_path / "nested.keras", "--layers", "stem,inner/add",
                 "--top-k", "2", "--method", "guided", "--out", "run")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert (run / "figures/inner--add.png").stat().st_size > 0
    with open(run / "tables/channels.csv") as handle:
        assert [line.split(",")[0] for line in handle][1:] == ["stem"] * 2 + ["inner/add"] * 2
    with np.load(run / "projections.npz") as stored:
        assert stored["inner/add"].shape == (2, 16, 16, 3)
        assert np.abs(stored["inner/add"]).max() > 0
    result = cli("deconv", "--model", tmp_path / "nested.keras", "--layers", "inner/nope",
                 "--out", "bad")
    assert result.exit_code == 2
    assert "unknown layer 'inner/nope': 'nope' is not a layer of 'inner'" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
