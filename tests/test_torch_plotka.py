"""The PyTorch peer of the training benchmark (nnvisual.testing.torch_plotka) is the study's
plotka, trained the study's way: the same function as the Keras network on the same weights,
the same augmentation as nnvisual's pipeline without TensorFlow, the same max-norm constraint."""

import numpy as np
import pytest

from nnvisual.testing import torch_plotka

torch = pytest.importorskip("torch", reason="torch is not installed (the reference extra)")


@pytest.fixture(scope="module")
def twins():
    import keras

    from nnvisual.models.study import build_plotka
    from nnvisual.runtime.seeding import set_random_seed

    set_random_seed(3)
    mean = np.array([125.3, 123.0, 113.9])
    model = build_plotka(mean=mean)
    for layer in model.layers:  # biases non-zero, so that a misplaced one shows
        if layer.weights:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, np.random.default_rng(1).normal(0, 0.1, bias.shape)])
    net = torch_plotka.torch_plotka(mean)
    torch_plotka.copy_keras_weights(model, net)
    return keras, model, net


def test_the_port_computes_keras_plotkas_logits(twins):
    keras, model, net = twins
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype(np.float32)
    logits_model = keras.Model(model.inputs, model.get_layer("dense2").output)
    expected = keras.ops.convert_to_numpy(logits_model({"image": images}))
    net.eval()
    with torch.no_grad():
        got = net(torch.tensor(images.transpose(0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_the_augmentation_is_nnvisuals_without_tensorflow():
    """grid_sample with the same affine maps as the NumPy/OpenCV pipeline: the same images up to
    interpolation rounding."""
    from nnvisual.training.augmentation import Augmentation

    augmentation = Augmentation(rotation=15, shift=0.1, hflip=True, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3)).astype(np.float32)
    expected = augmentation.apply(images, np.random.default_rng(7))
    got = torch_plotka.augment(torch.tensor(images.transpose(0, 3, 1, 2)), augmentation,
                               np.random.default_rng(7)).numpy().transpose(0, 2, 3, 1)
    assert np.abs(got - expected).max() < 0.01  # of 255 (measured 5.6e-4: OpenCV's fixed-point weights)


def test_max_norm_is_keras_constraint(twins):
    keras, model, net = twins
    weight = np.random.default_rng(2).normal(0, 1, (2048, 1024)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(keras.constraints.MaxNorm(3)(weight))
    with torch.no_grad():
        net.dense1.weight.copy_(torch.tensor(weight.T))
    net.apply_max_norm()
    np.testing.assert_allclose(net.dense1.weight.detach().numpy().T, expected, rtol=1e-5, atol=1e-6)


def test_an_epoch_of_the_loop_learns_a_separable_task():
    from nnvisual.training.augmentation import Augmentation

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 256)
    x = np.where(y[:, None, None, None] == 1, 200, 40).astype(np.uint8) * np.ones((1, 32, 32, 3), np.uint8)
    x = np.clip(x + rng.integers(-30, 30, x.shape), 0, 255).astype(np.uint8)
    torch.manual_seed(0)
    net = torch_plotka.torch_plotka(np.full(3, 120.0))
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    augmentation = Augmentation(rotation=15, shift=0.1, hflip=True, seed=0)
    for _ in range(2):
        torch_plotka.train_epoch(net, optimizer, x, y, 32, augmentation, rng)
    assert torch_plotka.accuracy(net, x, y) > 0.9
    assert np.abs(net.dense1.weight.detach().norm(dim=1).numpy()).max() <= 3 + 1e-5
