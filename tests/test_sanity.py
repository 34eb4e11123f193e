"""Randomization, similarity and faithfulness (nnvisual.sanity) on tiny networks."""

import keras
import numpy as np
import pytest

from nnvisual.sanity import faithfulness, randomization, similarity
from tests.test_attribution import small_cnn


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
