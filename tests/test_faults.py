"""Faults that must not leave a user stuck (issue: full disks, damaged caches and checkpoints).

Each fault is injected deterministically: the atomic writer's flush fails with ENOSPC at a chosen
file, caches and checkpoints are truncated to fixed sizes. After each: one line, exit status 2,
no temporary file, a valid manifest or none, and the next run succeeds.
"""

import errno
import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nnvisual.runtime import files
from nnvisual.testing.run_files import flip_byte, read_manifest

MAXIMIZE = ("maximize", "--class", "1", "-n", "2", "--steps", "3", "--step-size", "1")


class FullDiskAfter:
    """``files._fsync`` that fails with ENOSPC from the ``n``-th file on (0-based)."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, path):
        self.calls += 1
        if self.calls > self.n:
            raise OSError(errno.ENOSPC, "No space left on device")


def written_files(run_args, cli, monkeypatch):
    """How many files a successful run writes through the atomic writer."""
    counter = FullDiskAfter(10**9)
    monkeypatch.setattr(files, "_fsync", counter)
    assert cli(*run_args, "--out", "count").exit_code == 0
    shutil.rmtree("count")
    return counter.calls


def no_temporaries(folder):
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_full_disk_during_maximize_is_one_line_and_leaves_nothing(cli, tiny_plotka, isolated,
                                                                    monkeypatch, where):
    args = (*MAXIMIZE, "--model", tiny_plotka)
    total = written_files(args, cli, monkeypatch)
    assert total > 5  # config, images, arrays, tables, figures, manifests
    monkeypatch.setattr(files, "_fsync", FullDiskAfter({"first": 0, "middle": total // 2,
                                                        "last": total - 1}[where]))
    result = cli(*args, "--out", "run")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: no space left on device while writing ")
    assert str(isolated / "run") in line or line.endswith(".json") or "run/" in line
    assert not (isolated / "run").exists()  # a one-shot command removes its failed run
    assert not no_temporaries(isolated)
    monkeypatch.setattr(files, "_fsync", FullDiskAfter(10**9))
    assert cli(*args, "--out", "run").exit_code == 0  # the disk has room again: it works


def test_a_full_disk_at_a_checkpoint_keeps_a_valid_manifest_and_resume_works(
        cli, image_folder, isolated, monkeypatch):
    args = ("train", "--data", image_folder, "--epochs", "3", "--batch-size", "16", "--subset", "24")
    monkeypatch.setattr(files, "_fsync", FullDiskAfter(6))  # config, manifest, then epoch 1's 3
    result = cli(*args, "--out", "run")
    assert result.exit_code == 2
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "no space left on device while writing" in line and "Traceback" not in result.output
    manifest = read_manifest(isolated / "run")  # valid JSON: the last whole manifest
    assert manifest["epochs_done"] == 1 and manifest["status"] in ("running", "failed")
    assert not no_temporaries(isolated)
    monkeypatch.setattr(files, "_fsync", FullDiskAfter(10**9))
    resumed = cli("train", "--resume", isolated / "run")
    assert resumed.exit_code == 0, resumed.output
    manifest = read_manifest(isolated / "run")
    assert manifest["status"] == "complete" and len(manifest["history"]["loss"]) == 3


def truncate(path, size):
    data = path.read_bytes()
    path.write_bytes(data[:{"empty": 0, "100 bytes": 100, "half": len(data) // 2}[size]])


@pytest.mark.slow
@pytest.mark.parametrize("size", ["empty", "100 bytes", "half"])
def test_a_truncated_decode_cache_is_rebuilt_with_one_warning(cli, image_folder, isolated, size):
    args = ("train", "--data", image_folder, "--epochs", "1", "--subset", "12")
    assert cli(*args, "--out", "first").exit_code == 0
    (cache,) = (isolated / "cache" / "datasets").glob("*.npz")
    truncate(cache, size)
    result = cli(*args, "--out", "second")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "discarding the unreadable cache" in warnings[0]
    with np.load(cache) as rebuilt:  # whole again
        assert rebuilt["x_train"].shape == (36, 32, 32, 3)


NEWEST, BEFORE = "checkpoints/epoch-002.keras", "checkpoints/epoch-001.keras"


def interrupted_train_run(cli, image_folder, isolated):
    """A train run stopped after 2 of 4 epochs, as a crash leaves it: both checkpoints kept."""
    assert cli("train", "--data", image_folder, "--epochs", "2", "--batch-size", "16",
               "--out", "run").exit_code == 0
    run = isolated / "run"
    manifest = read_manifest(run)
    (run / "checkpoints").mkdir()
    for name in (NEWEST, BEFORE):  # the same weights twice: which one loads is what counts here
        shutil.copy(run / "model.keras", run / name)
    (run / "model.keras").unlink()
    digests = {name: hashlib.sha256((run / name).read_bytes()).hexdigest() for name in (BEFORE, NEWEST)}
    manifest.update(status="interrupted", config=dict(manifest["config"], epochs=4),
                    checkpoints=[BEFORE, NEWEST], outputs={**manifest["outputs"], **digests})
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def test_the_run_keeps_two_checkpoints_while_training_and_one_model_after(
        cli, image_folder, isolated, monkeypatch):
    from nnvisual.commands import checkpoints

    seen = []
    original = checkpoints.save

    def spy(run, *args):
        original(run, *args)
        seen.append((list(run.manifest["checkpoints"]),
                     sorted(p.name for p in run.file("checkpoints").iterdir())))
        for name in run.manifest["checkpoints"]:  # recorded with its sha256, which a resume checks
            assert read_manifest(run.path)["outputs"][name] == hashlib.sha256(
                run.file(name).read_bytes()).hexdigest()

    monkeypatch.setattr(checkpoints, "save", spy)
    assert cli("train", "--data", image_folder, "--epochs", "3", "--batch-size", "16",
               "--out", "run").exit_code == 0
    assert seen == [([BEFORE], ["epoch-001.keras"]),
                    ([BEFORE, NEWEST], ["epoch-001.keras", "epoch-002.keras"]),
                    ([NEWEST, "checkpoints/epoch-003.keras"], ["epoch-002.keras", "epoch-003.keras"])]
    manifest = read_manifest(isolated / "run")
    assert "model.keras" in manifest["outputs"] and "checkpoints" not in manifest
    assert not any(name.startswith("checkpoints/") for name in manifest["outputs"])
    assert not (isolated / "run" / "checkpoints").exists()


@pytest.mark.slow
@pytest.mark.parametrize("size", ["empty", "100 bytes", "half"])
def test_resume_falls_back_to_the_previous_checkpoint(cli, image_folder, isolated, size):
    run = interrupted_train_run(cli, image_folder, isolated)
    truncate(run / NEWEST, size)
    result = cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert f"{NEWEST} cannot be loaded (it does not match the sha256 its run recorded)" in warning
    assert f"resuming from {BEFORE}" in warning
    manifest = read_manifest(run)
    assert manifest["status"] == "complete" and len(manifest["history"]["loss"]) == 4
    assert (run / "model.keras").is_file() and not (run / "checkpoints").exists()


def test_resume_passes_over_a_checkpoint_changed_by_one_byte(cli, image_folder, isolated):
    """A checkpoint whose sha256 is not the one recorded when it was written is not trusted,
    even if it loads: the resume falls back to the one before, as for a damaged file."""
    run = interrupted_train_run(cli, image_folder, isolated)
    flip_byte(run / NEWEST, at=-1)  # the end of the zip's directory: the file still loads
    result = cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warning == (f"warning: {NEWEST} cannot be loaded (it does not match the sha256 its run "
                       f"recorded); resuming from {BEFORE}")
    assert read_manifest(run)["status"] == "complete"


def test_resume_without_a_loadable_checkpoint_is_one_line(cli, image_folder, isolated):
    run = interrupted_train_run(cli, image_folder, isolated)
    truncate(run / NEWEST, "half")
    (run / BEFORE).unlink()
    result = cli("train", "--resume", run)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()[-1:]
    assert line.startswith(f"Error: cannot resume {run}: {NEWEST} cannot be loaded (it does not "
                           "match the sha256 its run recorded)")
    assert f"{BEFORE} cannot be loaded (the file is missing)" in line and "--force" in line


@pytest.mark.parametrize("where", ["yaml", "flag"])
def test_an_infinite_learning_rate_is_refused_when_the_config_is_read(cli, isolated, where):
    if where == "yaml":
        (isolated / "c.yaml").write_text("train:\n  lr: .inf\n")
        result = cli("train", "--config", "c.yaml", "--out", "run")
    else:
        result = cli("train", "--lr", "inf", "--out", "run")
    assert result.exit_code == 2
    assert "Error: config key 'lr' must be a finite number, got inf" in result.output
    assert not (isolated / "run").exists()


def test_a_real_full_file_system(tiny_plotka, isolated):
    """maximize into a 120 KB tmpfs (needs root and mount; skipped elsewhere)."""
    mount = isolated / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        result = subprocess.run([sys.executable, "-m", "nnvisual", *MAXIMIZE, "--model",
                                 str(tiny_plotka), "-n", "5", "--out", str(mount / "run")],
                                capture_output=True, text=True, timeout=300)
        lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert result.returncode == 2, result.stderr[-2000:]
        assert lines and "no space left on device while writing" in lines[0]
        assert "Traceback" not in result.stderr
        leftovers = [p for p in mount.rglob("*")]
        assert not leftovers, leftovers
    finally:
        subprocess.run(["umount", str(mount)], check=False)
