"""Streamed image folders: the same dataset as in memory, file for file, batch for batch."""

import os
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest

from nnvisual import data, training
from nnvisual.config import TrainConfig
from nnvisual.data import streaming
from nnvisual.errors import UserError
from nnvisual.testing.run_files import read_csv, read_manifest


def decoded_batches(pipeline):
    return [(np.asarray(x), np.asarray(y)) for x, y in pipeline.as_numpy_iterator()]


def test_cache_modes_choose_memory_or_stream(image_folder):
    megabytes = 48 * 32 * 32 * 3 / 2**20  # 36 training + 12 test images of 32x32 RGB
    assert streaming.decoded_megabytes(data.list_image_folder(image_folder)) == pytest.approx(megabytes)
    cases = [("memory", 0.0, False), ("none", 1e6, True),
             ("auto", megabytes, False), ("auto", megabytes * 0.99, True)]
    for cache, budget, streamed in cases:
        dataset, is_streamed = streaming.open_dataset(str(image_folder), cache, budget)
        assert is_streamed == streamed == isinstance(dataset.x_train, streaming.ImageFiles), cache
        assert dataset.class_names == ("cat", "dog", "frog")


def test_streamed_dataset_is_the_in_memory_one_file_for_file(image_folder):
    memory = data.load_image_folder(image_folder)
    streamed, _ = streaming.open_dataset(str(image_folder), "none", 0)
    for split in ("train", "test"):
        x_memory, y_memory = getattr(memory, f"x_{split}"), getattr(memory, f"y_{split}")
        files, labels = getattr(streamed, f"x_{split}"), getattr(streamed, f"y_{split}")
        np.testing.assert_array_equal(labels, y_memory)
        decoded = np.stack([cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) for path in files.paths])
        np.testing.assert_array_equal(decoded, x_memory)  # independent decoding, same order


def test_streamed_subset_and_validation_split_equal_the_in_memory_ones(image_folder):
    config = TrainConfig(subset=20, seed=3)
    _, memory = training.training_split(data.load_image_folder(image_folder), config)
    _, streamed = training.training_split(streaming.open_dataset(str(image_folder), "none", 0)[0], config)
    for images, files in ((memory.x_fit, streamed.x_fit), (memory.x_val, streamed.x_val)):
        assert isinstance(files, streaming.ImageFiles) and len(files) == len(images)
        batches = decoded_batches(training.input_pipeline(files, np.zeros(len(files)), 64))
        np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), images)
    np.testing.assert_array_equal(streamed.y_fit, memory.y_fit)
    np.testing.assert_array_equal(streamed.y_val, memory.y_val)
    np.testing.assert_allclose(training.channel_means(streamed.x_fit), training.channel_means(memory.x_fit),
                               rtol=1e-12)


def test_a_streamed_epoch_is_the_in_memory_epoch_batch_for_batch(image_folder):
    memory = data.load_image_folder(image_folder)
    streamed, _ = streaming.open_dataset(str(image_folder), "none", 0)
    index = np.arange(len(memory.y_train))  # labels that name each image
    from_memory = training.input_pipeline(memory.x_train, index, 8, shuffle_seed=5)
    from_files = training.input_pipeline(streamed.x_train, index, 8, shuffle_seed=5)
    epochs = []
    for _ in range(2):  # reshuffled each epoch, alike
        memory_batches, streamed_batches = decoded_batches(from_memory), decoded_batches(from_files)
        assert [len(y) for _, y in streamed_batches] == [8, 8, 8, 8, 4]
        for (x_m, y_m), (x_s, y_s) in zip(memory_batches, streamed_batches, strict=True):
            np.testing.assert_array_equal(y_s, y_m)
            np.testing.assert_array_equal(x_s, x_m)
            np.testing.assert_array_equal(x_s, memory.x_train[y_s])
        order = np.concatenate([y for _, y in streamed_batches])
        assert sorted(order) == list(index)  # each image exactly once
        epochs.append(order)
    assert not np.array_equal(*epochs)


@pytest.mark.parametrize("read", [
    lambda x, y: training.channel_means(x),
    lambda x, y: list(training.input_pipeline(x, y, 4)),  # tf.data's batches on TensorFlow
], ids=["channel-means", "input-pipeline"])
def test_a_damaged_file_mid_stream_is_one_line(image_folder, read):
    (image_folder / "train" / "dog" / "0003.png").write_bytes(b"not a png")
    streamed, _ = streaming.open_dataset(str(image_folder), "none", 0)
    with pytest.raises(UserError, match=r"cannot read .*0003\.png.*\(while streaming\)$") as error:
        with streaming.read_errors():
            read(streamed.x_train, streamed.y_train)
    assert "\n" not in str(error.value)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_streamed_training_runs_on_the_other_backends(image_folder, backend, tmp_path):
    """tf.data is a Keras input on every backend: a streamed epoch trains there too, on every
    image of the folder, and is the in-memory epoch: the same batches give the same network."""
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    for cache in ("none", "memory"):
        args = ["train", "--data", image_folder, "--cache", cache, "--epochs", "1", "--batch-size", "8",
                "--val-split", "0.5", "--deterministic", "--out", tmp_path / cache]
        result = subprocess.run([sys.executable, "-m", "nnvisual", *map(str, args)], env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    streamed, in_memory = read_manifest(tmp_path / "none"), read_manifest(tmp_path / "memory")
    assert (streamed["status"], streamed["backend"], streamed["data_streamed"]) == ("complete", backend, True)
    assert in_memory["data_streamed"] is False
    # the generated folder: 3 classes of 12 training and 4 test images; half the training images validate
    assert streamed["class_names"] == ["cat", "dog", "frog"]
    assert streamed["images"] == {"fit": 18, "validation": 18, "test": 12}
    # the same epoch: its history (but for the seconds, wall time), test metrics and weights
    history, metrics, weights = {}, {}, {}
    for cache in ("none", "memory"):
        run = tmp_path / cache
        history[cache] = [{k: v for k, v in row.items() if k != "seconds"}
                          for row in read_csv(run / "tables" / "history.csv")]
        metrics[cache] = read_csv(run / "tables" / "metrics.csv")
        weights[cache] = keras.models.load_model(run / "model.keras").get_weights()
    assert len(history["none"]) == 1 and history["none"] == history["memory"]
    assert metrics["none"] == metrics["memory"]
    for streamed_weights, in_memory_weights in zip(weights["none"], weights["memory"], strict=True):
        np.testing.assert_array_equal(streamed_weights, in_memory_weights)
