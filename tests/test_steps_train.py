"""steps.train: the tables and the figure title of a result, by hand."""

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
    result = step.TrainResult(HISTORY, {"loss": 1.7, "accuracy": 0.4})
    header, rows = step.metrics_table(model, result)
    assert header == ("metric", "training", "validation", "test", "paper_training",
                      "paper_validation")
    paper = TRAINING_TABLES[model]
    assert rows == [("Accuracy", 0.45, 0.41, 0.4, *paper["accuracy"]),
                    ("Loss", 1.5, 1.6, 1.7, *paper["loss"])]


def test_curves_title_names_the_settings_and_precision():
    title = step.curves_title(TrainConfig(lr=1e-3, batch_size=64), HISTORY, "mixed_bfloat16")
    assert title == "plotka: 2 epochs, Adam lr 0.001, batch 64, mixed_bfloat16"
