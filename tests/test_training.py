"""Training pieces: the validation split, channel means, augmentation, resumable early stopping."""

import keras
import numpy as np
import pytest

from nnvisual import training
from nnvisual.config import TrainConfig
from nnvisual.errors import UserError


def test_validation_split_is_30_percent_disjoint_and_seeded():
    x = np.arange(1000)
    split = training.split_validation(x, x % 10, 0.3, seed=0)
    assert (len(split.x_fit), len(split.x_val)) == (700, 300)
    assert not set(split.x_fit) & set(split.x_val)
    np.testing.assert_array_equal(split.x_val, training.split_validation(x, x % 10, 0.3, seed=0).x_val)
    assert not np.array_equal(split.x_val, training.split_validation(x, x % 10, 0.3, seed=1).x_val)


def test_channel_means():
    images = np.zeros((2, 2, 2, 3), np.uint8)
    images[0, ..., 0] = 10
    images[1, ..., 2] = 255
    np.testing.assert_allclose(training.channel_means(images), [5.0, 0.0, 127.5])


def test_keras_augmentation_layers_keep_shape_and_move_pixels():
    images = np.zeros((8, 32, 32, 3), np.float32)
    images[:, 8:24, 8:24] = 255
    out = images
    for layer in training.augmenter(TrainConfig(), seed=0).layers:  # as the tf.data pipeline runs them
        out = layer(out, training=True)
    out = np.asarray(out)
    assert out.shape == images.shape
    assert np.abs(out - images).sum(axis=(1, 2, 3)).min() > 0  # every image moved
    assert 0 <= out.min() and out.max() <= 255.001


def run_early_stopping(losses, previous=()):
    """Epochs run by ResumableEarlyStopping(patience=3, min_delta=0.001) fed ``losses``."""
    callback = training.ResumableEarlyStopping(list(previous), monitor="loss", min_delta=0.001, patience=3)
    callback.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    callback.on_train_begin()
    for epoch, loss in enumerate(losses, start=len(previous)):
        callback.on_epoch_end(epoch, {"loss": loss})
        if getattr(callback.model, "stop_training", False):
            return epoch + 1
    return len(previous) + len(losses)


def test_resumed_early_stopping_stops_where_an_uninterrupted_run_stops():
    losses = [2.0, 1.5, 1.4995, 1.4999, 1.6, 1.3, 1.2]  # no improvement > 0.001 in epochs 3-5
    assert run_early_stopping(losses) == 5
    for cut in range(1, 5):
        assert run_early_stopping(losses[cut:], previous=losses[:cut]) == 5


def test_auto_precision_is_bfloat16_only_for_tensorflow_on_a_cpu_with_amx():
    amx, avx512 = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}, {"avx512f", "avx512_bf16"}
    resolve = training.resolve_precision
    assert resolve("auto", "tensorflow", amx, gpu=False) == "mixed_bfloat16"
    assert resolve("auto", "tensorflow", avx512, gpu=False) == "float32"
    assert resolve("auto", "tensorflow", amx, gpu=True) == "float32"
    assert resolve("auto", "jax", amx, gpu=False) == "float32"
    assert resolve("auto", "torch", amx, gpu=False) == "float32"
    assert resolve("float32", "tensorflow", amx, gpu=False) == "float32"
    assert resolve("mixed_bfloat16", "jax", set(), gpu=False) == "mixed_bfloat16"


def test_mixed_precision_model_keeps_float32_weights_and_softmax():
    x = np.random.default_rng(0).uniform(0, 255, (64, 32, 32, 3)).astype(np.uint8)
    split = training.Split(x, np.arange(64) % 10, x[:8], np.arange(8) % 10)
    model = training.new_model(TrainConfig(precision="mixed_bfloat16"), split)
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    assert {weight.dtype for weight in model.weights} == {"float32"}
    probabilities = model.predict(x[:4], verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-6)


def test_validation_indices_hold_out_thirty_percent():
    train, validation = training.validation_indices(10, 0.3, seed=0)
    assert len(validation) == 3 and sorted(np.concatenate([train, validation])) == list(range(10))
    with pytest.raises(UserError, match="at least 2 images"):
        training.validation_indices(1, 0.3, 0)


def test_the_tf_data_pipeline_runs_without_autotuning():
    """With tf.data's autotuning, about half the epochs of plotka on a 2-core CPU stalled at about 1.2
    cores busy (docs/performance.md, "The stall"); the pipeline turns it off and still yields
    every image once per epoch, shuffled."""
    pytest.importorskip("tensorflow")
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 3), np.uint8)
    pipeline = training.tf_data_pipeline(x, np.arange(10), 4, shuffle_seed=0)
    assert pipeline.options().autotune.enabled is False
    labels = np.concatenate([np.asarray(y) for _, y in pipeline.as_numpy_iterator()])
    assert sorted(labels) == list(range(10)) and list(labels) != list(range(10))
