"""`nnvisual train` end to end on a tiny image folder: outputs, errors, interruption and resume."""

import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from nnvisual.testing.images import write_image_folder
from nnvisual.testing.processes import signal_when
from nnvisual.testing.run_files import read_csv, read_manifest


def test_train_writes_every_output(cli, image_folder, isolated):
    result = cli("train", "--data", image_folder, "--epochs", "2", "--batch-size", "8", "--out", "run")
    assert result.exit_code == 0, result.output
    run = isolated / "run"
    manifest = read_manifest(run)
    assert manifest["status"] == "complete" and manifest["epochs_done"] == 2
    assert manifest["class_names"] == ["cat", "dog", "frog"]
    assert manifest["images"] == {"fit": 25, "validation": 11, "test": 12}
    for relative, digest in manifest["outputs"].items():
        assert (run / relative).exists() and len(digest) == 64, relative
    history = read_csv(run / "tables" / "history.csv")
    assert [row["epoch"] for row in history] == ["1", "2"]
    assert set(history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    metrics = read_csv(run / "tables" / "metrics.csv")
    assert [row["metric"] for row in metrics] == ["Accuracy", "Loss"]
    assert float(metrics[0]["validation"]) == float(history[-1]["val_accuracy"])
    assert float(metrics[0]["paper_validation"]) == 0.515
    assert (run / "figures" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    model = keras.models.load_model(run / "model.keras")  # no custom objects needed
    assert model.output_shape == (None, 10)


def test_cache_none_streams_the_folder(cli, image_folder, isolated):
    result = cli("train", "--data", image_folder, "--cache", "none", "--epochs", "1", "--batch-size", "8",
                 "--out", "run")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(isolated / "run")
    assert manifest["data_streamed"] is True and manifest["config"]["cache"] == "none"
    assert manifest["images"] == {"fit": 25, "validation": 11, "test": 12}
    assert not (isolated / "cache" / "datasets").exists()  # nothing decoded whole


def test_data_parallel_trains_with_augmentation_on_the_visible_devices(cli, image_folder, isolated):
    result = cli("train", "--data", image_folder, "--distribute", "data-parallel", "--epochs", "1",
                 "--batch-size", "8", "--out", "run")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(isolated / "run")
    assert manifest["config"]["distribute"] == "data-parallel" and len(manifest["devices"]) >= 1
    assert np.isfinite(manifest["history"]["loss"][0])


def test_subset_and_config_file(cli, image_folder, isolated):
    (isolated / "c.yaml").write_text("train:\n  epochs: 1\n  batch_size: 4\n  num_classes: 3\n")
    result = cli("train", "--config", "c.yaml", "--data", image_folder, "--subset", "9", "--out", "run")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(isolated / "run")
    assert manifest["images"]["fit"] + manifest["images"]["validation"] == 9
    assert manifest["config"]["num_classes"] == 3 and manifest["config"]["batch_size"] == 4


def test_user_errors_are_one_line_and_leave_nothing(cli, image_folder, isolated, monkeypatch):
    def offline():
        raise OSError("no network")

    monkeypatch.delenv("NNVISUAL_DATA", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    (isolated / "bad.yaml").write_text("train:\n  epoch: 1\n")
    cases = [
        (("train",), "NNVISUAL_DATA"),
        (("train", "--data", isolated / "nowhere"), "data folder not found"),
        (("train", "--config", "bad.yaml", "--data", image_folder), "unknown config key 'epoch'"),
        (("train", "--epochs", "0", "--data", image_folder), "epochs must be at least 1"),
        (("train", "--resume", isolated), "not a run folder"),
    ]
    for args, message in cases:
        result = cli(*args, "--out", "run") if "--resume" not in args else cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and result.output.count("\n") == 1, result.output
        assert not (isolated / "run").exists()


def test_existing_output_folder_needs_force(cli, image_folder, isolated):
    (isolated / "taken").mkdir()
    (isolated / "taken" / "x.txt").write_text("mine")
    result = cli("train", "--data", image_folder, "--epochs", "1", "--out", "taken")
    assert result.exit_code == 2 and "--force" in result.output
    result = cli("train", "--data", image_folder, "--epochs", "1", "--out", "taken", "--force")
    assert result.exit_code == 2 and "not a 'train' run folder" in result.output
    assert (isolated / "taken" / "x.txt").read_text() == "mine"


@pytest.mark.slow
def test_sigint_stops_after_a_checkpoint_and_resume_finishes(isolated):
    data = write_image_folder(isolated / "data", per_class=(200, 4))
    (isolated / "c.yaml").write_text("train:\n  epochs: 4\n  batch_size: 8\n  early_stopping_monitor: none\n")
    status, output = signal_when(["train", "--config", "c.yaml", "--data", data, "--out", "run"], isolated,
                                 lambda manifest: manifest.get("epochs_done") == 1, signal.SIGINT)
    env = dict(os.environ, NNVISUAL_CACHE=str(isolated / "cache"))
    assert status == 130, output
    assert "--resume run" in output
    manifest = read_manifest(isolated / "run")
    assert (manifest["status"], manifest["epochs_done"]) == ("interrupted", 1)
    assert not list((isolated / "run").rglob("*.tmp*"))  # nothing half-written
    resumed = subprocess.run([sys.executable, "-m", "nnvisual", "train", "--resume", "run"], cwd=isolated,
                             env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    manifest = read_manifest(isolated / "run")
    assert (manifest["status"], manifest["epochs_done"]) == ("complete", 4)
    history = read_csv(isolated / "run" / "tables" / "history.csv")
    assert [row["epoch"] for row in history] == ["1", "2", "3", "4"]
    assert np.isfinite(manifest["test"]["accuracy"])
    again = subprocess.run([sys.executable, "-m", "nnvisual", "train", "--resume", "run"], cwd=isolated,
                           env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 2 and "already complete" in again.stderr
