"""Tiny test networks with fixed weights, and the NumPy softmax to check their outputs.

Weights are drawn by NumPy where a test compares backends: Keras' initializers draw differently
per backend.
"""

import numpy as np

DENSE_SIZE = (4, 5)


def dense_model(separate_softmax: bool, classes: int = 3, seed: int = 0):
    """Flatten -> Dense(classes) on (4, 5, 3) images with fixed weights; softmax in the Dense
    (VGG16 style) or as a separate Activation layer (the CIFAR nets' style). Returns
    (model, W, b)."""
    import keras

    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.002, (DENSE_SIZE[0] * DENSE_SIZE[1] * 3, classes)).astype(np.float32)
    bias = rng.normal(0, 0.5, classes).astype(np.float32)
    layers = [keras.Input((*DENSE_SIZE, 3)), keras.layers.Flatten()]
    if separate_softmax:
        layers += [keras.layers.Dense(classes, name="logits"), keras.layers.Activation("softmax")]
    else:
        layers += [keras.layers.Dense(classes, activation="softmax", name="predictions")]
    model = keras.Sequential(layers)
    model.get_layer(index=1).set_weights([kernel, bias])
    return model, kernel, bias


def softmax(z):
    """The softmax over the last axis, in NumPy."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def tiny_classifier():
    """The 4x4x3 uint8 -> 8 -> 3 classifier that the distributed-training tests train from
    ``keras.utils.set_random_seed``'s initial weights."""
    import keras

    layers = keras.layers
    return keras.Sequential([keras.Input((4, 4, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                             layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")])


def conv_model(classes: int = 4, seed: int = 0):
    """A tiny ReLU convnet on (8, 8, 3) images with seeded Glorot-uniform weights drawn by NumPy
    (the same network on every Keras backend)."""
    import keras

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


def small_cnn(seed=0, size=8, softmax="layer"):
    """Conv-ReLU-pool-conv-ReLU-dense with random weights drawn by NumPy (the same network on
    every backend: Keras' initializers draw differently per backend); softmax as a layer, in the
    last Dense (as VGG16) or absent."""
    import keras

    layers = [keras.Input((size, size, 3)),
              keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
              keras.layers.MaxPooling2D(2, name="p1"),
              keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c2"),
              keras.layers.Flatten(name="flat")]
    if softmax == "dense":
        layers.append(keras.layers.Dense(3, activation="softmax", name="out"))
    else:
        layers.append(keras.layers.Dense(3, name="logits"))
        if softmax == "layer":
            layers.append(keras.layers.Activation("softmax", name="softmax"))
    model = keras.Sequential(layers)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) * np.sqrt(3 / max(
        np.prod(w.shape[:-1]), 1)) for w in model.get_weights()])
    return model


def loaded_two_conv():
    """The 8x8 network of two same-padded convolutions ``a`` and ``b`` around a 2x2 max-pool
    (Keras' seeded initial weights), as a loaded model of the two classes ``x`` and ``y``."""
    import keras

    from nnvisual.models.loaded import LoadedModel

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)),
                              keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="a"),
                              keras.layers.MaxPooling2D(2, name="pool"),
                              keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="b")])
    return LoadedModel(model, "tiny", (8, 8), lambda x: x / 255.0, ("x", "y"))
