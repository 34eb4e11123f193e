"""Randomization, similarity and faithfulness (nnvisual.sanity) on tiny networks."""

import keras
import numpy as np
import pytest

from nnvisual.errors import UserError
from nnvisual.sanity import faithfulness, randomization, similarity
from nnvisual.testing.models import small_cnn


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_randomizing_layer_k_changes_exactly_the_right_weights(mode):
    """Cascading stage k changes the weights of layers >= k (from the top), independent stage k
    those of layer k only; the caller's model is untouched; the same seed gives the same weights."""
    model = small_cnn()
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    layers = randomization.weighted_layers(model)
    assert layers == ["c1", "c2", "logits"]
    plan = randomization.stages(model, mode)
    assert [label for label, _ in plan] == ["logits", "c2", "c1"]
    for k, (label, chosen) in enumerate(plan):
        copy = randomization.randomized(model, chosen, seed=3)
        expected = set(layers[::-1][:k + 1]) if mode == "cascading" else {label}
        assert set(chosen) == expected
        for layer in copy.layers:
            kernel_changed = not np.array_equal(layer.get_weights()[0], before[layer.name][0]) \
                if layer.get_weights() else False
            assert kernel_changed == (layer.name in expected), (label, layer.name)
        again = randomization.randomized(model, chosen, seed=3)
        for a, b in zip(copy.get_weights(), again.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    for layer in model.layers:
        for w, w0 in zip(layer.get_weights(), before[layer.name], strict=True):
            np.testing.assert_array_equal(w, w0)


def test_randomization_uses_each_layers_own_initializer():
    """A zeros bias initializer gives zero biases; a kernel initializer with a narrow range keeps
    the new kernel in that range."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, kernel_initializer=keras.initializers.RandomUniform(0.5, 0.6), bias_initializer="zeros",
        name="d")])
    model.set_weights([np.full((4, 3), 9.0, np.float32), np.full(3, 9.0, np.float32)])
    kernel, bias = randomization.randomized(model, ("d",), seed=0).get_weights()
    assert ((kernel >= 0.5) & (kernel <= 0.6)).all() and (bias == 0).all()


def test_similarity_of_a_map_with_itself_and_with_transforms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(16, 16))
    same = similarity.similarity(a, a)
    assert same == pytest.approx({"spearman_abs": 1, "spearman": 1, "ssim": 1, "hog": 1})
    flipped = similarity.similarity(a, -a)  # same magnitudes, opposite signs
    assert flipped["spearman_abs"] == pytest.approx(1) and flipped["spearman"] == pytest.approx(-1)
    unrelated = similarity.similarity(a, rng.normal(size=(16, 16)))
    assert abs(unrelated["spearman_abs"]) < 0.3 and unrelated["ssim"] < 0.5
    assert similarity.similarity(a, np.zeros((16, 16)))["spearman"] == 0


def test_deletion_and_insertion_frames_follow_the_map():
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1) + 1
    baseline = np.zeros_like(image)
    ranking = image[..., 0]  # brightest first
    frames = faithfulness.curve_inputs(image, baseline, ranking, 4, "deletion")
    assert frames.shape == (5, 4, 4, 1)
    np.testing.assert_array_equal(frames[0], image)
    np.testing.assert_array_equal(frames[-1], baseline)
    assert (frames[1][..., 0] == 0).sum() == 4 and frames[1][..., 0].max() == 12  # 13..16 deleted
    inserted = faithfulness.curve_inputs(image, baseline, ranking, 4, "insertion")
    np.testing.assert_array_equal(inserted[0], baseline)
    assert sorted(inserted[1][inserted[1] > 0].tolist()) == [13, 14, 15, 16]
    assert faithfulness.area(np.array([1.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert faithfulness.area(np.array([1.0, 0.0, 0.0])) == pytest.approx(0.25)


def test_deletion_by_the_true_weights_drops_faster_than_by_their_reverse():
    """On a linear 1-output network the map w * x orders pixels by contribution: deleting the
    largest first lowers the score faster than deleting the smallest first."""
    from nnvisual.attribution import Network

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, use_bias=False)])
    w = np.stack([np.linspace(-1, 2, 16), np.zeros(16)], axis=1).astype(np.float32)
    model.set_weights([w])
    x = np.ones((1, 4, 4, 1), np.float32)
    contribution = w[:, 0].reshape(1, 4, 4)
    network = Network(model)
    good = faithfulness.curves(network, x, np.zeros_like(x), contribution, [0], 8, "deletion", 4)
    bad = faithfulness.curves(network, x, np.zeros_like(x), -contribution, [0], 8, "deletion", 4)
    assert faithfulness.area(good)[0] < faithfulness.area(bad)[0]
    np.testing.assert_allclose(good[:, 0], bad[:, 0])


def test_layers_inside_a_nested_frozen_backbone_are_randomized_by_path():
    """Transfer learning's usual model: a frozen backbone nested as a layer. Its layers are
    stages of their own (by path), frozen ones too; a depthwise kernel is re-drawn from the
    layer's depthwise_initializer; a Normalization's adapted statistics are not weights to
    randomize."""
    backbone = keras.Sequential([
        keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="conv"),
        keras.layers.DepthwiseConv2D(3, depthwise_initializer=keras.initializers.Constant(0.25),
                                     name="depthwise"),
        keras.layers.BatchNormalization(name="bn")], name="backbone")
    backbone.trainable = False
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Normalization(mean=1, variance=4),
                              backbone, keras.layers.Flatten(), keras.layers.Dense(2, name="head")])
    assert randomization.weighted_layers(model) == [
        "backbone/conv", "backbone/depthwise", "backbone/bn", "head"]
    randomization.check_randomizable(model)
    kernel = backbone.get_layer("depthwise").kernel
    kernel.assign(np.full(kernel.shape, 9.0, np.float32))
    before = [w.copy() for w in model.get_weights()]
    copy = randomization.randomized(model, ("backbone/depthwise",), seed=0)
    depthwise = copy.get_layer("backbone").get_layer("depthwise")
    np.testing.assert_array_equal(depthwise.get_weights()[0], 0.25)
    changed = [not np.array_equal(a, b) for a, b in zip(copy.get_weights(), before, strict=True)]
    assert sum(changed) == 1  # the depthwise kernel (its zero bias is re-drawn as zeros)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_a_layer_whose_weights_cannot_be_redrawn_is_one_clear_error():
    class Scale(keras.layers.Layer):
        def build(self, shape):
            self.factor = self.add_weight(shape=(), initializer="ones", name="factor")

        def call(self, x):
            return x * self.factor

    model = keras.Sequential([keras.Input((4,)), Scale(name="scale"), keras.layers.Dense(2)])
    with pytest.raises(UserError, match="cannot randomize layer 'scale': it has no "
                                        "factor_initializer to re-draw its weight 'factor' from"):
        randomization.check_randomizable(model)
    with pytest.raises(UserError, match="has no layer with learned weights"):
        randomization.check_randomizable(keras.Sequential([keras.Input((4,)),
                                                           keras.layers.Flatten()]))


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_every_stages_maps_equal_those_of_a_fresh_copy_of_that_stage(mode):
    """The sanity step randomizes one copy in place, stage after stage, and computes every stage
    with one network (on JAX too: a copy with its depthwise convolution shifted, its weights passed
    to the compiled functions as arguments): each stage's maps must
    equal those of a fresh randomized copy of the model for that stage alone, for gradient,
    rule (guided, LRP, DeepLIFT) and CAM methods; a stale weight would leave a stage equal to
    the one before. The shared network is not copied for inference: LRP and RevealCancel fold
    its batch normalization as they run, as the fresh copy's is folded."""
    import nnvisual as nv
    from nnvisual import attribution

    model = keras.Sequential([keras.Input((8, 8, 3)),
                              keras.layers.Conv2D(4, 3, padding="same", name="c1"),
                              keras.layers.BatchNormalization(name="bn1"),
                              keras.layers.Activation("relu", name="r1"),
                              keras.layers.DepthwiseConv2D(3, padding="same", name="dw"),
                              keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c2"),
                              keras.layers.Flatten(), keras.layers.Dense(3, name="logits"),
                              keras.layers.Activation("softmax")])
    photos = np.random.default_rng(2).integers(0, 256, (2, 8, 8, 3), np.uint8)
    methods = ("saliency", "guided", "gradcam", "lrp-epsilon-gamma-box", "deeplift-reveal-cancel")
    result = nv.sanity_check(model, photos, methods=methods, randomizations=[mode],
                             curve_steps=2, bootstrap=100, seed=5).computed
    plan = randomization.stages(model, mode)
    assert result.stages[mode] == [label for label, _ in plan] == ["logits", "c2", "dw", "bn1", "c1"]
    settings = result.inputs.explained.settings
    assert settings.layer == "c2"
    for k, (_, layers) in enumerate(plan):
        fresh = attribution.Network(randomization.randomized(model, layers, seed=5),
                                    input_bounds=result.inputs.explained.network.input_bounds)
        for method in methods:
            expected = attribution.attribute(fresh, result.inputs.x, method, result.inputs.classes,
                                             result.inputs.baselines, settings)
            np.testing.assert_allclose(result.maps[mode][method][k], expected, rtol=1e-4,
                                       atol=1e-5 * np.abs(expected).max() + 1e-12)
