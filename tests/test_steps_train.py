"""steps.train: the tables and the figure title of a result, by hand."""

import math

import pytest

from nnvisual.config import TrainConfig
from nnvisual.paper import TRAINING_TABLES
from nnvisual.steps import train as step

HISTORY = {"loss": [2.0, 1.5], "accuracy": [0.3, 0.45], "val_loss": [1.9, 1.6],
           "val_accuracy": [0.32, 0.41], "seconds": [10.0, 9.5]}


def test_history_table_has_one_row_per_epoch():
    header, rows = step.history_table(HISTORY)
    assert header == ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")
    assert rows == [(1, 2.0, 0.3, 1.9, 0.32, 10.0), (2, 1.5, 0.45, 1.6, 0.41, 9.5)]


@pytest.mark.parametrize("model", ["plotka", "bonaccorso"])
def test_metrics_table_is_tables_1_2_with_the_test_split_and_the_paper(model):
    result = step.TrainResult(HISTORY, {"loss": 1.7, "accuracy": 0.4},
                              {"loss": 1.2, "accuracy": 0.6})
    header, rows = step.metrics_table(model, result)
    assert header == ("metric", "training", "training_evaluated", "validation", "test",
                      "paper_training", "paper_validation")
    paper = TRAINING_TABLES[model]
    assert rows == [("Accuracy", 0.45, 0.6, 0.41, 0.4, *paper["accuracy"]),
                    ("Loss", 1.5, 1.2, 1.6, 1.7, *paper["loss"])]


def test_metrics_table_without_the_training_evaluation_says_nan():
    _, rows = step.metrics_table("plotka", step.TrainResult(HISTORY, {"loss": 1.7, "accuracy": 0.4}))
    assert all(math.isnan(row[2]) for row in rows)


def test_curves_title_names_the_settings_and_precision():
    title = step.curves_title(TrainConfig(lr=1e-3, batch_size=64), HISTORY, "mixed_bfloat16")
    assert title == "plotka: 2 epochs, Adam lr 0.001, batch 64, mixed_bfloat16"
    one = {key: values[:1] for key, values in HISTORY.items()}
    assert step.curves_title(TrainConfig(), one, "float32").startswith("plotka: 1 epoch, ")


def test_training_split_is_evaluated_without_augmentation_or_dropout():
    """``training_evaluated`` is the final model's accuracy and loss on the fitted images, each
    seen once as it is: checked against the model's own predictions (no dropout at inference)."""
    import keras
    import numpy as np

    from nnvisual import training
    from nnvisual.data import Dataset

    rng = np.random.default_rng(0)
    images = rng.integers(124, 132, (40, 32, 32, 3), dtype=np.uint8)  # moderate logits
    labels = np.arange(40) % 10
    dataset = Dataset(images[:30], labels[:30], images[30:], labels[30:], tuple("abcdefghij"), "x")
    config = TrainConfig(epochs=1, batch_size=16, early_stopping_monitor="none")
    split = training.split_validation(dataset.x_train, dataset.y_train, config.val_split, 0)
    model = training.new_model(config, split)
    result = step.train(model, dataset, split, config, verbose=0)
    probabilities = model.predict(split.x_fit.astype("float32"), verbose=0)
    loss = keras.losses.categorical_crossentropy(
        keras.utils.to_categorical(split.y_fit, 10), probabilities)
    assert result.training_evaluated["accuracy"] == pytest.approx(
        np.mean(probabilities.argmax(axis=1) == split.y_fit))
    assert result.training_evaluated["loss"] == pytest.approx(float(np.mean(loss)), rel=1e-4)
