"""The attribution methods on tiny networks with known answers (nnvisual.attribution)."""

import keras
import numpy as np
import pytest

from nnvisual import attribution
from nnvisual.attribution import Network
from nnvisual.errors import UserError
from nnvisual.testing.models import small_cnn


def settings(**overrides):
    return attribution.default_settings(**overrides)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 1, (3, 8, 8, 3)).astype(np.float32)


@pytest.mark.parametrize("softmax", ["layer", "dense", "none"])
def test_scores_are_the_logits_before_the_softmax(softmax, images):
    model = small_cnn(softmax=softmax)
    network = Network(model)
    logits = network.logits(images)
    probabilities = np.asarray(model(images))
    if softmax == "none":
        np.testing.assert_allclose(logits, probabilities, rtol=1e-5, atol=1e-6)
    else:
        exp = np.exp(logits - logits.max(1, keepdims=True))
        np.testing.assert_allclose(exp / exp.sum(1, keepdims=True), probabilities, atol=1e-6)


@pytest.mark.parametrize("softmax", ["layer", "dense"])
def test_saliency_is_the_finite_difference_gradient(softmax, images):
    """Central differences of the logit, one pixel channel at a time (an independent formulation)."""
    model = small_cnn(softmax=softmax)
    network = Network(model)
    classes = np.array([0, 1, 2])
    grad = network.gradient(images, classes)
    eps = 1e-3
    for i, (r, c, ch) in enumerate([(1, 2, 0), (5, 6, 2), (3, 3, 1)]):
        up, down = images[i:i + 1].astype(np.float64).copy(), images[i:i + 1].astype(np.float64).copy()
        up[0, r, c, ch] += eps
        down[0, r, c, ch] -= eps
        numeric = (network.logits(up)[0, classes[i]] - network.logits(down)[0, classes[i]]) / (2 * eps)
        assert grad[i, r, c, ch] == pytest.approx(numeric, rel=2e-2, abs=1e-3)
    maps = attribution.attribute(model, images, "saliency", classes)
    np.testing.assert_allclose(maps, np.abs(grad).max(-1), rtol=1e-6)
    x_input = attribution.attribute(model, images, "gradient-x-input", classes)
    np.testing.assert_allclose(x_input, (grad * images).sum(-1), rtol=1e-5, atol=1e-7)


def test_guided_and_deconvnet_follow_the_relu_rules_through_a_softmax_dense(images):
    """With the softmax folded into the last Dense (VGG16's case), the deconv rules still start
    from the logit: on a network without ReLUs before the logits the three rules agree."""
    model = small_cnn(softmax="dense")
    network = Network(model)
    layer, seeds = network.projection_target([2, 0, 1])
    assert layer == "flat"
    np.testing.assert_allclose(seeds[0], model.get_layer("out").get_weights()[0][:, 2])
    via_rule = network.rule_gradient(images, [2, 0, 1], "gradient")
    np.testing.assert_allclose(via_rule, network.gradient(images, [2, 0, 1]), rtol=1e-5, atol=1e-6)
    guided = attribution.attribute(model, images, "guided", [2, 0, 1])
    deconvnet = attribution.attribute(model, images, "deconvnet", [2, 0, 1])
    assert guided.shape == deconvnet.shape == (3, 8, 8)
    assert not np.allclose(guided, deconvnet)


def test_integrated_gradients_are_complete_at_the_default_steps(images):
    """Sum of attributions = logit(x) - logit(baseline) within 1% (Sundararajan et al. 2017)."""
    model = small_cnn(seed=3)
    network = Network(model)
    x = images * 255
    baselines = np.full_like(x, 20.0)
    classes = np.array([0, 1, 2])
    maps = attribution.attribute(model, x, "integrated-gradients", classes, baselines,
                                 settings(batch_size=7))
    expected = (network.logits(x) - network.logits(baselines))[np.arange(3), classes]
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), expected, rtol=0.01)


def test_integrated_gradients_do_not_depend_on_the_batch_size(images):
    model = small_cnn()
    one = attribution.attribute(model, images, "integrated-gradients", None, None, settings(batch_size=1))
    many = attribution.attribute(model, images, "integrated-gradients", None, None, settings(batch_size=64))
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("base", ["saliency", "guided", "gradient-x-input"])
def test_smoothgrad_with_zero_noise_is_its_base_method(base, images):
    model = small_cnn()
    smooth = attribution.attribute(model, images, "smoothgrad", [0, 1, 2], None,
                                   settings(noise=0.0, samples=3, smoothgrad_base=base, batch_size=4))
    plain = attribution.attribute(model, images, base, [0, 1, 2])
    np.testing.assert_allclose(smooth, plain, rtol=1e-5, atol=1e-7)


def test_smoothgrad_is_seeded_and_noise_changes_it(images):
    model = small_cnn()
    run = [attribution.attribute(model, images, "smoothgrad", [0, 1, 2], None,
                                 settings(noise=0.2, samples=4, seed=seed)) for seed in (0, 0, 1)]
    np.testing.assert_array_equal(run[0], run[1])
    assert not np.allclose(run[0], run[2])
    assert not np.allclose(run[0], attribution.attribute(model, images, "saliency", [0, 1, 2]))


def gap_network(kernel):
    """Input (4, 4, 2) -> linear 1x1 conv (identity, the feature map) -> global average pooling
    -> Dense(2, no bias) with ``kernel``: logit_c = sum_k W[k, c] mean(A_k)."""
    inputs = keras.Input((4, 4, 2))
    features = keras.layers.Conv2D(2, 1, use_bias=False, name="features")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    logits = keras.layers.Dense(2, use_bias=False, name="logits")(pooled)
    model = keras.Model(inputs, logits)
    model.get_layer("logits").set_weights([np.asarray(kernel, np.float32)])
    model.get_layer("features").set_weights([np.eye(2, dtype=np.float32)[None, None]])
    return model


def test_gradcam_on_a_hand_built_network():
    """Grad-CAM weights = dlogit/dA averaged = W[k, c] / 16, so the map is
    ReLU(sum_k W[k, c] A_k) / 16 (CAM, Zhou et al. 2016, up to the 1/16)."""
    kernel = [[2.0, -1.0], [-1.0, 0.5]]
    model = gap_network(kernel)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 2)).astype(np.float32)
    maps = attribution.attribute(model, x, "gradcam", [0, 1])
    W = np.asarray(kernel)
    for i, c in enumerate([0, 1]):
        expected = np.maximum((x[i] * W[:, c]).sum(-1), 0) / 16
        np.testing.assert_allclose(maps[i], expected, rtol=1e-5, atol=1e-7)


def test_gradcam_plus_plus_and_scorecam_on_a_hand_built_network():
    """One channel: Score-CAM's softmax weight is 1 and Grad-CAM++'s weight is positive, so both
    maps are ReLU(A) up to a positive factor; Grad-CAM++ = sum alpha relu(g) with g = 1/16,
    alpha = g^2 / (2 g^2 + sum(A) g^3)."""
    inputs = keras.Input((4, 4, 1))
    features = keras.layers.Conv2D(1, 1, use_bias=False, name="features",
                                   kernel_initializer="ones")(inputs)
    logits = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(
        keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, logits)
    x = np.random.default_rng(2).uniform(-1, 2, (1, 4, 4, 1)).astype(np.float32)
    relu = np.maximum(x[0, ..., 0], 0)
    score = attribution.attribute(model, x, "scorecam", [0])
    np.testing.assert_allclose(score[0], relu, rtol=1e-5)
    g = 1 / 16
    alpha = g ** 2 / (2 * g ** 2 + x.sum() * g ** 3)
    plus = attribution.attribute(model, x, "gradcam++", [0])
    np.testing.assert_allclose(plus[0], relu * alpha * g * 16, rtol=1e-4)


def test_cam_maps_are_upsampled_to_the_input_and_the_layer_is_checked(images):
    model = small_cnn()
    network = Network(model)
    assert network.check_feature_layer(None) == "c2"
    maps = attribution.attribute(model, images, "gradcam")
    assert maps.shape == (3, 8, 8) and (maps >= 0).all()
    on_c1 = attribution.attribute(model, images, "gradcam", None, None, settings(layer="c1"))
    assert not np.allclose(maps, on_c1)
    guided = attribution.attribute(model, images, "guided-gradcam")
    assert guided.shape == (3, 8, 8)
    with pytest.raises(UserError, match="a Flatten with a 2-D output, not a feature map"):
        network.check_feature_layer("flat")
    with pytest.raises(UserError, match="unknown layer 'nope'"):
        network.check_feature_layer("nope")


def quadrant_network():
    """Sees only the top-left 4x4 quadrant of an 8x8 image: logit = sum of w * pixel there."""
    inputs = keras.Input((8, 8, 1))
    crop = keras.layers.Cropping2D(((0, 4), (0, 4)))(inputs)
    logit = keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(crop))
    model = keras.Model(inputs, logit)
    weights = np.arange(1, 17, dtype=np.float32).reshape(16, 1) / 16
    model.layers[-1].set_weights([weights])
    return model, weights.reshape(4, 4)


def test_occlusion_sees_only_the_quadrant_the_network_looks_at():
    model, weights = quadrant_network()
    x = np.random.default_rng(0).uniform(1, 2, (2, 8, 8, 1)).astype(np.float32)
    maps = attribution.attribute(model, x, "occlusion", [0, 0], None,
                                 settings(window=2, stride=2, batch_size=5))
    outside = np.concatenate([maps[:, 4:, :].ravel(), maps[:, :4, 4:].ravel()])
    np.testing.assert_allclose(outside, 0, atol=1e-5)  # float rounding only
    assert np.abs(maps[:, :4, :4]).min() > 0.1
    for i in range(2):  # a black patch removes sum(w x) over the patch from the logit
        contribution = weights * x[i, :4, :4, 0]
        expected = contribution.reshape(2, 2, 2, 2).sum(axis=(1, 3)).repeat(2, 0).repeat(2, 1)
        np.testing.assert_allclose(maps[i, :4, :4], expected, rtol=1e-5)


def test_overlapping_occlusion_windows_average_their_drops():
    """With stride < window, each pixel gets the mean drop of the windows covering it."""
    model, weights = quadrant_network()
    x = np.ones((1, 8, 8, 1), np.float32)
    maps = attribution.attribute(model, x, "occlusion", [0], None, settings(window=2, stride=1))
    padded = np.zeros((8, 8))
    padded[:4, :4] = weights
    drops = np.array([[padded[r:r + 2, c:c + 2].sum() for c in range(7)] for r in range(7)])
    expected = np.zeros((8, 8))
    counts = np.zeros((8, 8))
    for r in range(7):
        for c in range(7):
            expected[r:r + 2, c:c + 2] += drops[r, c]
            counts[r:r + 2, c:c + 2] += 1
    np.testing.assert_allclose(maps[0], expected / counts, rtol=1e-5)


def test_auto_class_is_the_top_one(images):
    model = small_cnn()
    top = Network(model).logits(images).argmax(1)
    np.testing.assert_array_equal(attribution.attribute(model, images, "saliency"),
                                  attribution.attribute(model, images, "saliency", top))


def body_layers():
    """conv-ReLU-pool-conv-batch norm-ReLU, by name (c2 is folded into bn2 for inference)."""
    return [keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            keras.layers.MaxPooling2D(2, name="p1"),
            keras.layers.Conv2D(6, 3, padding="same", name="c2"),
            keras.layers.BatchNormalization(name="bn2"),
            keras.layers.Activation("relu", name="r2")]


def head_layers():
    return [keras.layers.Flatten(name="flat"), keras.layers.Dense(3, name="logits"),
            keras.layers.Activation("softmax", name="softmax")]


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "scorecam", "guided-gradcam"])
def test_cam_inside_a_nested_model_equals_the_same_flat_network(method, images):
    """A backbone nested as a layer (transfer learning's usual structure): its feature maps are
    named by path, the default is the backbone's last one (not a preprocessing layer in front),
    and the maps equal those of the same weights in one flat graph, for a layer kept as it is
    and for a convolution that the inference copy folds into its batch normalization."""
    flat = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1.0, name="scale"),
                             *body_layers(), *head_layers()])
    body = keras.Sequential([keras.Input((8, 8, 3)), *body_layers()], name="body")
    nested = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1.0, name="scale"),
                               body, *head_layers()])
    rng = np.random.default_rng(4)
    weights = [np.abs(w) + 0.5 if "variance" in variable.path else w  # a variance is > 0
               for variable, w in zip(flat.weights, (rng.normal(0, 0.5, v.shape).astype(np.float32)
                                                     for v in flat.weights), strict=True)]
    flat.set_weights(weights)
    nested.set_weights(weights)
    network = Network(nested)
    assert network.check_feature_layer(None) == "body/r2"
    for inner in ("r2", "c2", "c1"):
        expected = attribution.attribute(flat, images, method, None, None, settings(layer=inner))
        got = attribution.attribute(network, images, method, None, None,
                                    settings(layer=f"body/{inner}"))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    with pytest.raises(UserError, match="'p9' is not a layer of 'body'"):
        network.check_feature_layer("body/p9")


def test_the_default_cam_layer_of_a_pooled_backbone_is_its_last_feature_map():
    """keras.applications backbones with ``pooling="avg"`` output vectors: the last 4-D feature
    map is inside them, not the preprocessing layer in front (which an earlier version chose)."""
    backbone = keras.Sequential([keras.Input((8, 8, 3)), *body_layers(),
                                 keras.layers.GlobalAveragePooling2D(name="pool")], name="backbone")
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255, name="scale"),
                              backbone, keras.layers.Dense(3, activation="softmax", name="out")])
    assert Network(model).check_feature_layer(None) == "backbone/r2"
