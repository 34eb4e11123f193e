"""Activation maximization on tiny networks with hand-computed expectations."""

import keras
import numpy as np
import pytest
import scipy.ndimage

from nnvisual.classes import imagenet_class_names, model_class_names, resolve_class
from nnvisual.data import CIFAR10_CLASSES
from nnvisual.errors import UserError
from nnvisual.optvis import ClassObjective, Regularizers, initial_images, render
from nnvisual.optvis import regularizers as priors
from nnvisual.optvis.param import initial_image
from nnvisual.optvis.render import normalized_ascent
from nnvisual.retrain import FineTuning, fine_tune
from nnvisual.training import validation_indices

SIZE = (4, 5)


def dense_model(separate_softmax: bool, classes: int = 3, seed: int = 0):
    """Flatten -> Dense(classes) with fixed weights; softmax in the Dense (VGG16 style) or as a
    separate Activation layer (the CIFAR nets' style). Returns (model, W, b)."""
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.002, (SIZE[0] * SIZE[1] * 3, classes)).astype(np.float32)
    bias = rng.normal(0, 0.5, classes).astype(np.float32)
    layers = [keras.Input((*SIZE, 3)), keras.layers.Flatten()]
    if separate_softmax:
        layers += [keras.layers.Dense(classes, name="logits"), keras.layers.Activation("softmax")]
    else:
        layers += [keras.layers.Dense(classes, activation="softmax", name="predictions")]
    model = keras.Sequential(layers)
    model.get_layer(index=1).set_weights([kernel, bias])
    return model, kernel, bias


def conv_model(classes: int = 4, seed: int = 0):
    """A tiny ReLU convnet with seeded Glorot-uniform weights drawn by NumPy (the same network
    on every Keras backend), for the optimization's properties."""
    model = keras.Sequential([
        keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(6, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(12, activation="relu"),
        keras.layers.Dense(classes), keras.layers.Activation("softmax")])
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        fan_in, fan_out = int(np.prod(w.shape[:-1])), w.shape[-1]
        limit = np.sqrt(6 / (fan_in + fan_out)) if w.ndim > 1 else 0.0
        weights.append(rng.uniform(-limit, limit, w.shape).astype(np.float32))
    model.set_weights(weights)
    return model


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# -- class names and resolution ------------------------------------------------------------------
def test_imagenet_class_names_are_keras_index_order():
    names = imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[281], names[284], names[999]) == ("tench", "tabby", "Siamese_cat",
                                                              "toilet_tissue")
    duplicates = {name for name in names if names.count(name) > 1}
    assert duplicates == {"crane", "maillot"}  # as in Keras' own index


@pytest.mark.parametrize("spec", ["284", "Siamese cat", "siamese_CAT", " Siamese-cat "])
def test_resolve_imagenet_class_by_index_or_name(spec):
    assert resolve_class(spec, imagenet_class_names()) == (284, "Siamese_cat")


def test_resolve_cifar_class_and_errors():
    names = model_class_names(CIFAR10_CLASSES, 10)
    assert resolve_class("cat", names) == (3, "cat")
    assert resolve_class(9, names) == (9, "truck")
    with pytest.raises(UserError, match="out of range.*10 outputs.*--num-classes 1000"):
        resolve_class("284", names)
    with pytest.raises(UserError, match="out of range"):
        resolve_class("-1", names)
    with pytest.raises(UserError, match="ImageNet class 284.*--num-classes 1000"):
        resolve_class("Siamese cat", names)
    with pytest.raises(UserError, match="did you mean cat"):
        resolve_class("cats", names)
    with pytest.raises(UserError, match="unknown class name 'xyzzy'; classes: airplane"):
        resolve_class("xyzzy", names)
    with pytest.raises(UserError, match="ambiguous.*134, 517"):
        resolve_class("crane", imagenet_class_names())


def test_model_class_names_give_a_1000_way_head_imagenet_names_past_the_trained_classes():
    wide = model_class_names(CIFAR10_CLASSES, 1000)
    assert wide[3] == "cat" and wide[284] == "Siamese_cat" and len(wide) == 1000
    assert model_class_names(CIFAR10_CLASSES, 12)[10:] == ("class_10", "class_11")


# -- objectives ------------------------------------------------------------------------------------
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


def test_objective_refuses_a_head_without_softmax_or_linear_output():
    model = keras.Sequential([keras.Input((*SIZE, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="sigmoid")])
    with pytest.raises(UserError, match="neither a softmax nor linear"):
        ClassObjective(model, 0)


# -- the ascent step -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["logit", "softmax"])
def test_one_step_moves_each_image_by_step_size_times_gradient_over_its_rms(kind):
    model, kernel, bias = dense_model(separate_softmax=False)
    x0 = initial_images("uniform", SIZE, 3, range(3))
    target, step_size = 2, 0.5
    w = kernel.T.reshape(3, *SIZE, 3)  # d logit_k / d x, per class k
    if kind == "logit":
        gradient = np.broadcast_to(w[target], x0.shape)
    else:  # d p_t / d x = p_t (w_t - sum_k p_k w_k), different for every image
        p = softmax(x0.reshape(3, -1) @ kernel + bias)
        gradient = p[:, target, None, None, None] * (w[target] - np.einsum("nk,khwc->nhwc", p, w))
    rms = np.sqrt((gradient.astype(np.float64) ** 2).mean(axis=(1, 2, 3), keepdims=True))
    expected = x0 + step_size * gradient / (rms + 1e-5)
    result = render(ClassObjective(model, target, kind), x0, steps=1, step_size=step_size)
    np.testing.assert_allclose(result.images, expected, rtol=1e-6, atol=1e-5)
    moved = np.sqrt(((result.images - x0) ** 2).mean(axis=(1, 2, 3)))
    # each image moves by step_size in RMS, but for the 1e-5 that guards against a zero gradient
    np.testing.assert_allclose(moved, step_size * rms.ravel() / (rms.ravel() + 1e-5), rtol=1e-3)


def test_normalized_ascent_is_per_image():
    gradient = np.stack([np.full((2, 2, 3), 1.0), np.full((2, 2, 3), 1000.0)]).astype(np.float32)
    moved = keras.ops.convert_to_numpy(normalized_ascent(np.zeros_like(gradient), gradient, 2.0))
    np.testing.assert_allclose(moved, 2.0 / (1 + 1e-5 / np.array([1, 1000.0]))[:, None, None, None]
                               * np.ones_like(gradient), rtol=1e-6)


def test_objective_rises_every_step_and_class_probability_ends_higher():
    model = conv_model()
    x0 = initial_images("paper", (8, 8), 0, range(4))
    result = render(ClassObjective(model, 2, "logit"), x0, steps=25, step_size=2.0)
    assert result.objective.shape == result.probability.shape == (26, 4)
    assert (np.diff(result.objective, axis=0) > 0).all()
    assert (result.probability[-1] > result.probability[0]).all()


def test_a_batch_equals_its_images_rendered_alone_with_every_regularizer_on():
    # (a few steps: over hundreds, float32 rounding eventually flips a ReLU or a max-pool switch
    # somewhere and the runs drift apart, batched or not)
    model = conv_model()
    regularizers = Regularizers(l2_decay=0.01, tv_weight=1e-3, jitter=2, blur_every=2,
                                blur_sigma=1.0, clip=True)
    x0 = initial_images("uniform", (8, 8), 5, range(3))
    batch = render(ClassObjective(model, 1, "softmax"), x0, 6, 3.0, regularizers, seed=5)
    for i in range(3):
        image = initial_images("uniform", (8, 8), 5, [i])
        alone = render(ClassObjective(model, 1, "softmax"), image, 6, 3.0, regularizers, seed=5,
                       indices=[i])
        np.testing.assert_allclose(alone.images[0], batch.images[i], rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(alone.objective[:, 0], batch.objective[:, i],
                                   rtol=1e-5, atol=1e-7)


# -- initial images and priors -------------------------------------------------------------------
@pytest.mark.parametrize("kind,low,high",
                         [("paper", 100, 101), ("uniform", 0, 255), ("gray", 127, 129)])
def test_initial_images_are_seeded_per_image(kind, low, high):
    batch = initial_images(kind, (6, 7), 11, range(4))
    assert batch.shape == (4, 6, 7, 3) and batch.dtype == np.float32
    assert low <= batch.min() and batch.max() < high
    np.testing.assert_array_equal(batch[2], initial_image(kind, (6, 7), 11, 2))
    assert not np.array_equal(batch[0], batch[1])
    assert not np.array_equal(batch, initial_images(kind, (6, 7), 12, range(4)))


def test_jitter_rolls_each_image_by_its_own_shift():
    images = np.random.default_rng(0).random((2, 5, 6, 3)).astype(np.float32)
    shifts = np.array([[1, -2], [-3, 4]], np.int32)
    rolled = keras.ops.convert_to_numpy(priors.jitter(images, shifts))
    for image, shift, out in zip(images, shifts, rolled, strict=True):
        np.testing.assert_array_equal(out, np.roll(image, tuple(shift), axis=(0, 1)))
    offsets = priors.jitter_offsets([0, 1, 2], steps=50, max_shift=2, seed=0)
    assert offsets.shape == (50, 3, 2) and offsets.min() == -2 and offsets.max() == 2
    np.testing.assert_array_equal(offsets[:, 1:2], priors.jitter_offsets([1], 50, 2, 0))


def test_blur_matches_scipy_gaussian_filter_with_mirrored_borders():
    images = np.random.default_rng(1).random((2, 9, 10, 3)).astype(np.float32) * 255
    blurred = keras.ops.convert_to_numpy(priors.blur(images, 1.0))
    expected = scipy.ndimage.gaussian_filter(images, sigma=(0, 1, 1, 0), mode="mirror",
                                             truncate=3.0)
    np.testing.assert_allclose(blurred, expected, rtol=1e-5, atol=1e-3)


def test_total_variation_l2_decay_and_clip_by_hand():
    image = np.zeros((1, 3, 3, 1), np.float32)
    image[0, 1, 1, 0] = 2.0  # the centre pixel
    # over the 2x2 pixels that have both neighbours, the centre differs by 2 from its upper and
    # lower neighbour (down) and from its left and right one (right): (4 + 4 + 4 + 4) / 4 = 4
    np.testing.assert_allclose(keras.ops.convert_to_numpy(priors.total_variation(image)), [4.0])
    decayed = priors.l2_decay(np.float32([[227.5]]), 0.1)  # 127.5 + 0.9 * (227.5 - 127.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decayed), [[217.5]])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(priors.clip(np.float32([-3, 7, 300]))),
                                  [0, 7, 255])


# -- fine-tuning -----------------------------------------------------------------------------------
def test_validation_indices_hold_out_thirty_percent():
    train, validation = validation_indices(10, 0.3, seed=0)
    assert len(validation) == 3 and sorted(np.concatenate([train, validation])) == list(range(10))
    with pytest.raises(UserError, match="at least 2 images"):
        validation_indices(1, 0.3, 0)


def test_fine_tune_raises_the_label_probability_on_a_copy():
    model = conv_model()
    weights = [w.copy() for w in model.get_weights()]
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 3)).astype(np.uint8)
    before = model.predict(images.astype(np.float32), verbose=0)[:, 3].mean()
    settings = FineTuning(epochs=3, lr=1e-2, batch_size=8, val_split=0.3, patience=3, seed=0)
    tuned, history = fine_tune(model, images, 3, settings)
    after = tuned.predict(images.astype(np.float32), verbose=0)[:, 3].mean()
    assert after > before
    assert set(history) >= {"loss", "val_loss", "accuracy"} and 1 <= len(history["loss"]) <= 3
    for original, now in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(original, now)
    assert tuned is not model


def test_resolve_target_needs_a_fixed_input_size():
    from nnvisual.models import LoadedModel
    from nnvisual.steps.maximize import resolve_target

    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(UserError, match="no fixed input size"):
        resolve_target(LoadedModel(model, "any", (None, None), None, ()), "1")
    fixed = LoadedModel(model, "any", (8, 8), None, ("a", "b", "c"))
    assert resolve_target(fixed, "B") == (1, "b", ("a", "b", "c"))
