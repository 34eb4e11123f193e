"""The input pipeline without TensorFlow: batches, shuffling and seeding like the tf.data one's."""

import numpy as np
import pytest
from scipy import stats

from nnvisual import training
from nnvisual.training import numpy_pipeline
from nnvisual.training.augmentation import Augmentation


def epoch(pipeline) -> list[np.ndarray]:
    return [np.asarray(y) for _, y in pipeline.as_numpy_iterator()]


def test_batches_in_order_without_a_seed_and_the_last_one_partial_or_dropped():
    x = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    batches = numpy_pipeline.Batches(x, np.arange(10), 4)
    assert len(batches) == 3
    images, labels = batches[2]
    assert images.dtype == np.uint8 and labels.tolist() == [8, 9]
    np.testing.assert_array_equal(images[:, 0, 0, 0], [8, 9])
    assert len(numpy_pipeline.Batches(x, np.arange(10), 4, drop_remainder=True)) == 2


def test_each_epoch_is_a_new_permutation_and_the_same_seed_gives_the_same_epochs():
    x = np.zeros((20, 2, 2, 3), np.uint8)
    first, again = (numpy_pipeline.Batches(x, np.arange(20), 8, shuffle_seed=3) for _ in range(2))
    orders = [np.concatenate(epoch(first)) for _ in range(2)]
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(20))
    assert not np.array_equal(*orders)
    assert [np.concatenate(epoch(again)).tolist() for _ in range(2)] == [o.tolist() for o in orders]


def test_augmentations_depend_on_seed_epoch_and_batch_not_on_the_thread():
    x = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    augmentation = Augmentation(20.0, 0.2, True, seed=5)
    pipeline = numpy_pipeline.Batches(x, np.arange(8), 4, augment=augmentation)
    twice = [pipeline[1][0] for _ in range(2)]
    np.testing.assert_array_equal(*twice)
    assert twice[0].dtype == np.float32
    pipeline.on_epoch_end()
    assert not np.array_equal(pipeline[1][0], twice[0])


def shuffled_positions(make, seed: int | None = 1, epochs: int = 120, count: int = 4) -> np.ndarray:
    """How often each item lands in each position over ``epochs`` epochs: (item, position)."""
    pipeline = make(np.zeros((count, 2, 2, 3), np.uint8), np.arange(count), 3, shuffle_seed=seed)
    table = np.zeros((count, count), int)
    for _ in range(epochs):
        table[np.concatenate(epoch(pipeline)), np.arange(count)] += 1
    return table


@pytest.mark.parametrize("pipeline", ["numpy", "tf.data"])
def test_shuffles_are_uniform_permutations(pipeline):
    """Every item equally likely in every position (chi-square), as tf.data's full-buffer shuffle."""
    if pipeline == "tf.data":
        pytest.importorskip("tensorflow")
    make = numpy_pipeline.Batches if pipeline == "numpy" else training.tf_data_pipeline
    table = shuffled_positions(make)
    assert (table.sum(axis=0) == 120).all() and (table.sum(axis=1) == 120).all()
    assert stats.chisquare(table.ravel()).pvalue > 1e-3
    assert stats.chisquare(shuffled_positions(make, seed=None).ravel()).pvalue < 1e-3  # power: no shuffle
