"""Issue 8 beyond bad inputs: safe model loading (--unsafe), TensorFlow op determinism
(--deterministic), SIGINT/SIGTERM during maximize and the other one-shot commands, NaN during
training and maximization, and resuming a training stopped before its first checkpoint."""

import json
import os
import re
import shutil
import signal
import time

import keras
import numpy as np
import pytest

from nnvisual.testing.processes import signal_when
from nnvisual.testing.run_files import read_csv, read_manifest


def one_error_line(result, after_progress=False):
    """The error line, which must be the only line (or, for train, the line after its progress)."""
    lines = result.output.splitlines()
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(lines) == 1 or after_progress and not any(x.startswith("Error") for x in lines[:-1])
    assert lines[-1].startswith("Error: "), result.output
    return lines[-1]


# -- safe loading -------------------------------------------------------------------------------
@pytest.fixture
def lambda_model(tmp_path):
    """A small image classifier with a Lambda layer: Python code inside the .keras file."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Lambda(lambda images: images / 255.0, name="scale")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, name="dense")(x)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.mark.parametrize("command", ["maximize", "deconv"])
def test_a_lambda_layer_is_refused_without_unsafe(cli, lambda_model, isolated, command):
    line = one_error_line(cli(command, "--model", lambda_model, "--out", "run"))
    assert "holds Python code" in line and "--unsafe" in line
    assert not (isolated / "run").exists()


def test_a_lambda_layer_loads_with_unsafe(cli, lambda_model, isolated):
    result = cli("maximize", "--model", lambda_model, "--unsafe", "--class", "1", "-n", "1",
                 "--steps", "2", "--out", "run")
    assert result.exit_code == 0, result.output
    assert read_manifest(isolated / "run")["status"] == "complete"


# -- determinism ----------------------------------------------------------------------------------
@pytest.fixture
def op_determinism():
    """Turn TensorFlow's process-wide op determinism off again after the test (its switch-off
    is not in TensorFlow's public API)."""
    from tensorflow.python.framework import config

    yield config
    config.disable_op_determinism()


def read_rows(path, drop=()):
    return [{k: v for k, v in row.items() if k not in drop} for row in read_csv(path)]


@pytest.mark.slow
def test_deterministic_training_repeats_its_history(cli, image_folder, isolated, op_determinism):
    runs = [isolated / "a", isolated / "b"]
    for run in runs:  # augmentation on: random ops in a parallel tf.data map
        result = cli("train", "--data", image_folder, "--epochs", 2, "--batch-size", 8, "--seed", 3,
                     "--deterministic", "--out", run)
        assert result.exit_code == 0, result.output
    assert op_determinism.is_op_determinism_enabled()
    a, b = (read_manifest(run) for run in runs)
    assert a["config"]["deterministic"] is True and a["config"]["augment"] is True
    # the history's seconds column is wall time; every other byte must repeat
    assert read_rows(runs[0] / "tables/history.csv", drop={"seconds"}) == \
        read_rows(runs[1] / "tables/history.csv", drop={"seconds"})
    assert (runs[0] / "tables/metrics.csv").read_bytes() == (runs[1] / "tables/metrics.csv").read_bytes()
    weights = [keras.models.load_model(run / "model.keras").get_weights() for run in runs]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


# -- interruptions ------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_during_maximize_keeps_an_interrupted_run(tiny_plotka, isolated):
    status, output = signal_when(
        ["maximize", "--model", tiny_plotka, "--class", "1", "-n", "2", "--steps", "1000000", "--out", "run"],
        isolated, lambda manifest: manifest["status"] == "running", signal.SIGTERM,
        delay=1.0, timeout=120)  # 1 s: into the gradient-ascent loop
    assert status == 130, output
    assert "Interrupted by SIGTERM: run is marked interrupted" in output
    assert "Traceback" not in output
    manifest = read_manifest(isolated / "run")
    assert manifest["status"] == "interrupted" and manifest["ended"]
    assert not list((isolated / "run").rglob("*.tmp*"))  # nothing half-written
    for relative, digest in manifest["outputs"].items():  # whatever was written is whole
        from nnvisual.runtime.files import sha256_file

        assert digest == sha256_file(isolated / "run" / relative)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_inside_interruptible_marks_the_run_and_exits_130(isolated, signum):
    """The block every one-shot command (deconv, maximize, score-bow) runs its work in."""
    import click

    from nnvisual import runs
    from nnvisual.commands.options import interruptible

    run = runs.create_run("score-bow", "x", {}, out=isolated / "run")
    previous = signal.getsignal(signum)
    with pytest.raises(click.exceptions.Exit) as stopped, interruptible(run):
        run.write_csv("tables/done.csv", ["a"], [[1]])
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts this
        run.write_csv("tables/never.csv", ["a"], [[2]])
    assert stopped.value.exit_code == 130
    assert signal.getsignal(signum) is previous
    manifest = read_manifest(isolated / "run")
    assert manifest["status"] == "interrupted"
    assert sorted(manifest["outputs"]) == ["config.yaml", "tables/done.csv"]
    assert not (isolated / "run/tables/never.csv").exists()


# -- NaN ----------------------------------------------------------------------------------------
def test_training_that_diverges_at_once_fails_without_a_checkpoint(cli, image_folder, isolated):
    line = one_error_line(cli("train", "--data", image_folder, "--epochs", 2, "--batch-size", 4,
                              "--lr", "1e30", "--out", "run"), after_progress=True)
    assert "training diverged: the loss is nan" in line and "no checkpoint was written" in line
    manifest = read_manifest(isolated / "run")
    assert manifest["status"] == "failed" and "epochs_done" not in manifest
    assert not (isolated / "run" / "model.keras").exists()
    assert not (isolated / "run" / "checkpoints").exists()


def test_training_that_diverges_later_keeps_the_last_good_checkpoint(cli, image_folder, isolated,
                                                                     monkeypatch):
    from nnvisual.training import trainer as training

    steps_per_epoch = 4  # 25 fitting images in batches of 8

    def compile_diverging_in_epoch_2(model, lr):  # a learning rate that explodes after epoch 1
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay([steps_per_epoch], [lr, 1e38])
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    monkeypatch.setattr(training, "compile_model", compile_diverging_in_epoch_2)
    line = one_error_line(cli("train", "--data", image_folder, "--epochs", 3, "--batch-size", 8,
                              "--no-augment", "--out", "run"), after_progress=True)
    run = isolated / "run"
    manifest = read_manifest(run)
    assert manifest["status"] == "failed" and manifest["epochs_done"] == 1
    assert re.search(r"training diverged: the (loss is (nan|inf) in batch \d+ of|weights are not finite "
                     r"after) epoch 2; the run keeps the checkpoint of epoch 1;", line), line
    assert [row["epoch"] for row in read_rows(run / "tables/history.csv")] == ["1"]
    assert manifest["checkpoints"] == ["checkpoints/epoch-001.keras"]
    weights = keras.models.load_model(run / "checkpoints/epoch-001.keras").get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert not list(run.rglob("*.tmp*"))


def test_maximization_that_diverges_stops_with_one_line(cli, tiny_plotka, isolated):
    line = one_error_line(cli("maximize", "--model", tiny_plotka, "--class", "1", "-n", "1",
                              "--steps", "3", "--step-size", "3e38", "--out", "run"))
    assert "gradient ascent diverged (before)" in line and "--step-size" in line
    assert not (isolated / "run").exists()


# -- resume ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_of_a_run_stopped_before_its_first_checkpoint_starts_afresh(cli, image_folder, isolated):
    result = cli("train", "--data", image_folder, "--epochs", 1, "--batch-size", 8, "--subset", 12,
                 "--no-augment", "--out", "run")
    assert result.exit_code == 0, result.output
    run = isolated / "run"  # make it what Ctrl-C in the first epoch leaves
    manifest = read_manifest(run)
    for key in ("history", "epochs_done", "test", "ended"):
        manifest.pop(key)
    manifest.update(status="interrupted", outputs={"config.yaml": None})
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "model.keras").unlink()
    shutil.rmtree(run / "tables")
    shutil.rmtree(run / "figures")
    result = cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    manifest = read_manifest(run)
    assert manifest["status"] == "complete" and manifest["epochs_done"] == 1
    assert (run / "model.keras").is_file()
