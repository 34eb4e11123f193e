"""Objectives: the study's class score and the composable terms (class, channel, neuron, layer,
direction, diversity), values and gradients on tiny hand-built networks against hand-computed
numbers; and the objective language."""

import keras
import numpy as np
import pytest
from keras import ops

from nnvisual.errors import UserError
from nnvisual.graph.gradients import value_and_gradient
from nnvisual.optvis import ClassObjective, initial_images
from nnvisual.optvis.objective_parser import parse_objective
from nnvisual.optvis.terms import Objective, Term, check_terms, gram_cosines
from nnvisual.testing.models import DENSE_SIZE as SIZE
from nnvisual.testing.models import dense_model, softmax


# -- the study's class score -----------------------------------------------------------------------
@pytest.mark.parametrize("separate_softmax", [False, True])
def test_logit_objective_is_the_pre_softmax_output_and_leaves_the_model_untouched(separate_softmax):
    model, kernel, bias = dense_model(separate_softmax)
    weights_before = [w.copy() for w in model.get_weights()]
    x = initial_images("uniform", SIZE, 0, range(2))
    logits = x.reshape(2, -1) @ kernel + bias  # by hand
    objective, probability, top = ClassObjective(model, 1, "logit")(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(objective), logits[:, 1], rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(probability), softmax(logits)[:, 1],
                               rtol=1e-5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(top), logits.argmax(axis=1))
    softmax_objective, _, _ = ClassObjective(model, 1, "softmax")(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(softmax_objective), softmax(logits)[:, 1],
                               rtol=1e-5)
    # the user's model: same weights, softmax still its last activation, same outputs
    for before, after in zip(weights_before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert model.layers[-1].activation.__name__ == "softmax"
    np.testing.assert_allclose(model.predict(x, verbose=0), softmax(logits), rtol=1e-5)


def test_objective_leaves_the_callers_images_alone():
    model, _, _ = dense_model(separate_softmax=False)
    images = initial_images("uniform", SIZE, 0, range(2))
    copy = images.copy()
    ClassObjective(model, 0, preprocess=keras.applications.vgg16.preprocess_input)(images)
    np.testing.assert_array_equal(images, copy)  # preprocess_input edits numpy arrays in place


def test_objective_refuses_a_head_without_softmax_sigmoid_or_linear_output():
    model = keras.Sequential([keras.Input((*SIZE, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="relu")])
    with pytest.raises(UserError, match="has a relu activation, neither softmax, sigmoid nor linear"):
        ClassObjective(model, 0)
    with pytest.raises(UserError, match="has a relu activation, neither softmax, sigmoid nor linear"):
        check_terms(model, [(1.0, Term("class", class_index=0))])  # maximize's early check


def test_a_sigmoid_head_is_maximized_at_its_logit_with_its_sigmoid_as_probability():
    """The same weights with a sigmoid head and with a linear one: the logit objective is the
    linear model's output, the probability its sigmoid (not a softmax over the labels)."""
    sigmoid, kernel, bias = dense_model(separate_softmax=False)
    linear = keras.Sequential([keras.Input((*SIZE, 3)), keras.layers.Flatten(),
                               keras.layers.Dense(3)])
    linear.set_weights([kernel, bias])
    sigmoid = keras.Sequential([keras.Input((*SIZE, 3)), keras.layers.Flatten(),
                                keras.layers.Dense(3, activation="sigmoid")])
    sigmoid.set_weights([kernel, bias])
    images = initial_images("uniform", SIZE, 0, range(2))
    objective, probability, _ = ClassObjective(sigmoid, 1)(images)
    logits = images.reshape(2, -1) @ kernel + bias
    np.testing.assert_allclose(objective, logits[:, 1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-logits[:, 1])), rtol=1e-5)
    np.testing.assert_allclose(ClassObjective(linear, 1)(images)[0], objective, rtol=1e-6)


# -- composable terms on a 1x1-convolution network -------------------------------------------------
CONV_W = np.float32([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.25]])  # (3 input colours, 2 channels)
CONV_B = np.float32([0.5, -1.0])


def pointwise_model():
    """(3, 3, 3) images -> 1x1 conv "conv" (W, b above; linear) -> Flatten -> Dense(2) "logits"
    -> softmax: every conv output is a(y, x) = x(y, x) @ W + b, by hand."""
    model = keras.Sequential([
        keras.Input((3, 3, 3)), keras.layers.Conv2D(2, 1, name="conv"), keras.layers.Flatten(),
        keras.layers.Dense(2, name="logits"), keras.layers.Activation("softmax")])
    model.get_layer("conv").set_weights([CONV_W[None, None], CONV_B])
    dense = np.random.default_rng(0).normal(0, 0.1, (18, 2)).astype(np.float32)
    model.get_layer("logits").set_weights([dense, np.zeros(2, np.float32)])
    return model


def images(n=2, seed=0):
    return np.random.default_rng(seed).normal(0, 1, (n, 3, 3, 3)).astype(np.float32)


def value_and_grad(objective, x):
    (_, values), gradient = value_and_gradient(
        lambda x: (ops.sum(objective(x)[0]), objective(x)[0]), x, has_aux=True)
    return ops.convert_to_numpy(values), ops.convert_to_numpy(gradient)


def test_channel_neuron_layer_and_direction_values_and_gradients_by_hand():
    model, x = pointwise_model(), images()
    a = x @ CONV_W + CONV_B  # (n, 3, 3, 2)
    ones = np.ones_like(x)
    cases = {
        # channel 1: mean over the 9 positions; d/dx(y, x) = W[:, 1] / 9 everywhere
        "channel": (Term("channel", "conv", channels=(1,)), a[..., 1].mean(axis=(1, 2)),
                    ones * CONV_W[:, 1] / 9),
        # neuron 0 at the centre (1, 1): d/dx = W[:, 0] there, 0 elsewhere
        "neuron": (Term("neuron", "conv", channels=(0,)), a[:, 1, 1, 0],
                   np.pad(np.ones((2, 1, 1, 3)), ((0, 0), (1, 1), (1, 1), (0, 0))) * CONV_W[:, 0]),
        "neuron at (0, 2)": (Term("neuron", "conv", channels=(1,), position=(0, 2)), a[:, 0, 2, 1],
                             np.pad(np.ones((2, 1, 1, 3)), ((0, 0), (0, 2), (2, 0), (0, 0)))
                             * CONV_W[:, 1]),
        # layer: mean of the 18 squares; d/dx(y, x) = sum_k 2 a_k W[:, k] / 18
        "layer": (Term("layer", "conv"), (a ** 2).mean(axis=(1, 2, 3)), 2 * a @ CONV_W.T / 18),
        # direction v: mean over positions of a . v; d/dx(y, x) = W v / 9
        "direction": (Term("direction", "conv", vector=(2.0, -1.0)),
                      (a @ np.float32([2, -1])).mean(axis=(1, 2)),
                      ones * (CONV_W @ np.float32([2, -1])) / 9),
    }
    for name, (term, value, gradient) in cases.items():
        got_value, got_gradient = value_and_grad(Objective(model, [(1.0, term)]), x)
        np.testing.assert_allclose(got_value, value, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(got_gradient, gradient, rtol=1e-5, atol=1e-6, err_msg=name)


def test_weighted_sums_add_values_and_gradients():
    model, x = pointwise_model(), images()
    channel, klass = Term("channel", "conv", channels=(0,)), Term("class", class_index=1)
    combined = value_and_grad(Objective(model, [(2.0, channel), (-0.5, klass)]), x)
    parts = [value_and_grad(Objective(model, [(1.0, term)]), x) for term in (channel, klass)]
    for k in range(2):  # value, gradient
        np.testing.assert_allclose(combined[k], 2.0 * parts[0][k] - 0.5 * parts[1][k],
                                   rtol=1e-5, atol=1e-6)
    logits = model.get_layer("logits")(ops.reshape(x @ CONV_W + CONV_B, (2, -1)))
    np.testing.assert_allclose(parts[1][0], ops.convert_to_numpy(logits)[:, 1], rtol=1e-5)


def test_terms_read_layers_inside_a_nested_model_by_path():
    """The pointwise model with its convolution nested in a sub-model "body": every term on
    "body/conv" gives the values and gradients of the same term on the flat model's "conv"."""
    flat = pointwise_model()
    body = keras.Sequential([keras.Input((3, 3, 3)), keras.layers.Conv2D(2, 1, name="conv")],
                            name="body")
    nested = keras.Sequential([keras.Input((3, 3, 3)), body, keras.layers.Flatten(),
                               keras.layers.Dense(2, name="logits"),
                               keras.layers.Activation("softmax")])
    nested.set_weights(flat.get_weights())
    x = images(3)
    for kind, settings in (("channel", {"channels": (1,)}), ("neuron", {"channels": (0,)}),
                           ("layer", {}), ("direction", {"vector": (2.0, -1.0)}),
                           ("diversity", {})):
        terms = [(1.0, Term(kind, "conv", **settings)), (0.5, Term("class", class_index=1))]
        expected = value_and_grad(Objective(flat, terms), x)
        nested_terms = [(1.0, Term(kind, "body/conv", **settings)), terms[1]]
        assert check_terms(nested, nested_terms) == ["body/conv"]
        got = value_and_grad(Objective(nested, nested_terms), x)
        for k in range(2):  # value, gradient
            np.testing.assert_allclose(got[k], expected[k], rtol=1e-5, atol=1e-6, err_msg=kind)
    with pytest.raises(UserError, match="unknown layer 'body/nope' in the objective; .* body/conv"):
        check_terms(nested, [(1.0, Term("channel", "body/nope", channels=(0,)))])


def test_a_channel_per_image_is_the_channel_grid():
    model, x = pointwise_model(), images()
    a = x @ CONV_W + CONV_B
    values, _ = value_and_grad(Objective(model, [(1.0, Term("channel", "conv", channels=(1, 0)))]),
                               x)
    np.testing.assert_allclose(values, [a[0, ..., 1].mean(), a[1, ..., 0].mean()], rtol=1e-5)


def numpy_diversity(features):
    """Minus the mean over ordered pairs i != j of the cosine of the Gram matrices, per image."""
    n = len(features)
    flat = features.reshape(n, -1, features.shape[-1]).astype(np.float64)
    grams = np.einsum("npc,npd->ncd", flat, flat).reshape(n, -1)
    grams /= np.linalg.norm(grams, axis=1, keepdims=True)
    cosines = grams @ grams.T
    return -(cosines.sum(axis=1) - np.diag(cosines)) / (n * (n - 1))


def test_diversity_is_zero_for_identical_statistics_and_grows_as_images_differ():
    model = pointwise_model()
    diversity = Objective(model, [(1.0, Term("diversity", "conv"))])
    base = images(1, seed=3)[0]
    # the same image, and the same image flipped: identical Gram matrices, cosine 1 for each pair
    same = np.stack([base, base, base[::-1, ::-1]])
    values, _ = value_and_grad(diversity, same)
    # "zero" for lucid's term up to its constant: every cosine is 1, the mean pairwise cosine is 1
    np.testing.assert_allclose(values.sum(), -1.0, rtol=1e-5)
    totals = []
    for spread in (0.0, 0.3, 1.0, 3.0):
        noise = np.random.default_rng(1).normal(0, 1, same.shape).astype(np.float32)
        batch = np.stack([base, base, base]) + spread * noise
        values, gradient = value_and_grad(diversity, batch)
        a = batch @ CONV_W + CONV_B
        np.testing.assert_allclose(values, numpy_diversity(a), rtol=1e-4, atol=1e-6)
        totals.append(1.0 + values.sum())  # 1 - mean pairwise cosine
        assert np.isfinite(gradient).all()
    assert totals[0] == pytest.approx(0.0, abs=1e-6)
    assert totals[0] < totals[1] < totals[2] < totals[3]
    assert ops.convert_to_numpy(gram_cosines(ops.convert_to_tensor(a))).shape == (3, 3)
    single, _ = value_and_grad(diversity, batch[:1])
    np.testing.assert_array_equal(single, [0.0])


def test_diversity_gradient_matches_finite_differences():
    model, x = pointwise_model(), images(3, seed=4)
    diversity = Objective(model, [(1.0, Term("diversity", "conv"))])
    _, gradient = value_and_grad(diversity, x)
    a_of = lambda x: x.astype(np.float64) @ CONV_W + CONV_B  # noqa: E731
    rng = np.random.default_rng(0)
    for _ in range(5):
        index = tuple(rng.integers(0, s) for s in x.shape)
        h = np.zeros_like(x, dtype=np.float64)
        h[index] = 1e-4
        numeric = (numpy_diversity(a_of(x + h)).sum() - numpy_diversity(a_of(x - h)).sum()) / 2e-4
        assert gradient[index] == pytest.approx(numeric, rel=1e-2, abs=1e-5)


@pytest.mark.parametrize("terms, message", [
    ([Term("channel", "nowhere", channels=(0,))], "unknown layer 'nowhere'"),
    ([Term("channel", "conv", channels=(2,))], "channel 2 is out of range for layer 'conv' with 2"),
    ([Term("channel", "logits", channels=(0,))], "needs a feature map.*'logits' outputs shape \\(2,\\)"),
    ([Term("neuron", "conv", channels=(0,), position=(3, 0))], "outside layer 'conv'"),
    ([Term("direction", "conv", vector=(1.0,))], "direction has 1 values.*2 channels"),
    ([Term("class", class_index=2)], "class 2 is out of range"),
])
@pytest.mark.parametrize("check", [check_terms, Objective])
def test_terms_that_do_not_fit_the_model_are_user_errors(terms, message, check):
    with pytest.raises(UserError, match=message):
        check(pointwise_model(), [(1.0, term) for term in terms])


# -- the objective language ------------------------------------------------------------------------
def test_expressions_parse_into_weighted_terms():
    parse = lambda spec: parse_objective(spec, int)  # noqa: E731
    assert parse("class:284") == [(1.0, Term("class", class_index=284))]
    assert parse("channel:block4_conv3:12") == [(1.0, Term("channel", "block4_conv3", channels=(12,)))]
    assert parse("neuron:LAYER:5 - 0.5*class:3:softmax") == [
        (1.0, Term("neuron", "LAYER", channels=(5,))),
        (-0.5, Term("class", class_index=3, softmax=True))]
    assert parse("-layer:conv1+1e2*diversity:conv2 + neuron:c:1:2:3") == [
        (-1.0, Term("layer", "conv1")), (100.0, Term("diversity", "conv2")),
        (1.0, Term("neuron", "c", channels=(1,), position=(2, 3)))]
    assert parse("direction:conv:[1, -0.5,2]") == [
        (1.0, Term("direction", "conv", vector=(1.0, -0.5, 2.0)))]


@pytest.mark.parametrize("spec, message", [
    ("", "names no term"), ("class:", "at 'class:'"), ("pixel:3", "unknown term 'pixel'"),
    ("channel:conv", "wrong number of parts"), ("channel:conv:x", "channel must be a whole number"),
    ("class:1 class:2", "at 'class:2'"), ("channel:c:1 +", "at '\\+'"), ("2*", "at '2\\*'"),
    ("neuron:c:1:2", "wrong number of parts"), ("direction:c:1,2", "direction:LAYER:\\[V1"),
    ("class:3:sigmoid", "neither :softmax"),
])
def test_malformed_expressions_are_one_line_user_errors(spec, message):
    with pytest.raises(UserError, match=message) as error:
        parse_objective(spec, int)
    assert "\n" not in str(error.value)


def test_a_classifier_nested_whole_is_read_before_its_inner_softmax():
    """A classifier wrapped whole in another model (preprocessing + keras.applications.X with its
    top): its logits are read inside, before the nested softmax, as the flat model's."""
    flat = pointwise_model()
    wrapped = keras.Sequential([keras.Input((3, 3, 3)), flat], name="wrapped")
    x = images()
    for objective in (ClassObjective(wrapped, 1), Objective(wrapped, [(1.0, Term("class", class_index=1))])):
        value, probability, top = objective(x)
        expected = ClassObjective(flat, 1)(x)
        np.testing.assert_allclose(ops.convert_to_numpy(value), ops.convert_to_numpy(expected[0]),
                                   rtol=1e-5)
        np.testing.assert_allclose(ops.convert_to_numpy(probability),
                                   ops.convert_to_numpy(flat(x))[:, 1], rtol=1e-5)


def test_every_kind_of_term_is_written_and_measured():
    """The objective language's table of kinds and the table of what each measures agree."""
    from nnvisual.optvis import objective_parser, terms

    assert set(terms.VALUES) == set(objective_parser.KINDS)
    assert objective_parser.written_terms().split(", ")[0] == "class:CLASS[:softmax]"
