"""``--resume RUN`` of the scans (``attribute``, ``deconv --top9``): a run stopped at any point
and resumed writes the uninterrupted run's files, byte for byte (tables, arrays, figures and
config.yaml; the manifest records times, but lists the same outputs with the same sha256).

A kill -9 stops a process between two instructions, leaving on the disk what was written so far.
The default suite takes that state as a copy of the run folder made at the point chosen, counted
in batches (after a batch's commit, in the middle of a batch with half-appended files and the
temporary file of a write cut short, during the final writes), and resumes the copy; SIGTERM is
sent to the test's own process. The slow tests kill real processes with SIGKILL and SIGTERM when
the checkpoint's batch counter reaches a chosen count.
"""

import json
import math
import os
import shutil
import signal

import numpy as np
import pytest

from nnvisual.runs import scan_checkpoint
from nnvisual.runs.scan_checkpoint import ScanCheckpoint
from nnvisual.steps import deconv as deconv_step
from nnvisual.testing.images import write_image_folder
from nnvisual.testing.models import small_cnn
from nnvisual.testing.processes import signal_when
from nnvisual.testing.run_files import read_manifest, run_files

STATE = f"{scan_checkpoint.FOLDER}/{scan_checkpoint.STATE}"


def attribute_args(cnn, photos):
    return ("attribute", "--model", cnn, "--images", photos, "--batch-size", "2", "--method",
            "integrated-gradients,gradcam", "--baseline", "noise", "--steps", "2")


def deconv_args(cnn, data, images=30):
    return ("deconv", "--model", cnn, "--layers", "c1,c2", "--top-k", "1", "--top9",
            "--top9-images", str(images), "--data", data)


@pytest.fixture
def every_batch(monkeypatch):
    """Commit every batch (else a commit waits while the last one is recent)."""
    monkeypatch.setattr(scan_checkpoint, "BUDGET", math.inf)


@pytest.fixture
def cnn(tmp_path):
    path = tmp_path / "cnn.keras"
    small_cnn(size=32).save(path)
    return path


@pytest.fixture
def dataset(tmp_path):
    return write_image_folder(tmp_path / "data", per_class=(1, 10))  # 30 test images


def assert_same_run(resumed, whole):
    """``resumed`` is complete and holds ``whole``'s files, byte for byte, and nothing else."""
    got, want = run_files(resumed), run_files(whole)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name
    manifest, reference = read_manifest(resumed), read_manifest(whole)
    assert manifest["status"] == "complete"
    assert list(manifest["outputs"].items()) == list(reference["outputs"].items())


class KillPoints:
    """Copies of the run folder ``run`` made at chosen calls of functions (what a kill -9 there
    leaves), each into ``copies[name]``."""

    def __init__(self, monkeypatch, run, root):
        self.monkeypatch, self.run, self.root, self.copies = monkeypatch, run, root, {}

    def at(self, owner, function, call, name, after=False, torn=False):
        """Copy the run before (or ``after``) the ``call``-th call of ``owner.function``, adding
        what a kill in the middle of writing leaves when ``torn``."""
        original, calls = getattr(owner, function), []

        def spy(*args, **kwargs):
            calls.append(None)
            if len(calls) == call and not after:
                self.copy(name, torn)
            result = original(*args, **kwargs)
            if len(calls) == call and after:
                self.copy(name, torn)
            return result

        self.monkeypatch.setattr(owner, function, spy)

    def copy(self, name, torn):
        copy = self.root / name
        shutil.copytree(self.run, copy)
        if torn:
            add_torn_writes(copy)
        self.copies[name] = copy


def add_torn_writes(run):
    """What a kill in the middle of writes leaves: bytes appended to the checkpoint's rows and
    logs that no state counts, the temporary files of atomic writes cut short, and an arrays
    file written but not yet named by a state."""
    checkpoint = run / scan_checkpoint.FOLDER
    for path in [*checkpoint.glob("rows/*.rows"), *checkpoint.glob("*.log")]:
        with open(path, "ab") as handle:
            handle.write(b"\x01" * 37)
    (checkpoint / "arrays-000099.npz").write_bytes(b"PK half an archive")
    (checkpoint / ".state.json.k1ll3d_x.tmp.json").write_bytes(b'{"batches": ')
    (run / "figures").mkdir(exist_ok=True)
    (run / "figures" / ".grid.png.abcd1234.tmp.png").write_bytes(b"\x89PNG half")


def resume_each(cli, copies, command):
    for name, copy in copies.items():
        result = cli(command, "--resume", copy)
        assert result.exit_code == 0, (name, result.output)
        yield name, copy


# -- the checkpoint -------------------------------------------------------------------------------
def test_a_commit_waits_until_the_scan_ran_fifty_times_as_long_as_the_last_commit(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from nnvisual import runs

    now = [10.0]
    monkeypatch.setattr(scan_checkpoint, "time", SimpleNamespace(monotonic=lambda: now[0]))
    write = scan_checkpoint.write_bytes_atomic

    def slow_write(path, data):  # each file flushed in 10 ms
        now[0] += 0.01
        write(path, data)

    monkeypatch.setattr(scan_checkpoint, "write_bytes_atomic", slow_write)
    checkpoint = ScanCheckpoint.new(runs.create_run("attribute", "x", {}, tmp_path / "run"), {"a": 1})
    assert checkpoint.due()  # the first: at once
    checkpoint.commit(1, {"x": np.zeros(3)}, stop=4)  # two files: 20 ms
    assert scan_checkpoint.BUDGET == 0.02 and not checkpoint.due()
    now[0] += 0.999
    assert not checkpoint.due()
    now[0] += 0.002  # 50 x 20 ms after the commit ended
    assert checkpoint.due()
    state = json.loads((tmp_path / "run" / STATE).read_text())
    assert (state["batches"], state["facts"], state["arrays"]) == (1, {"stop": 4}, "arrays-000001.npz")


# -- attribute ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("every_batch")
def test_attribute_resumed_after_a_kill_at_any_point_is_the_uninterrupted_run(
        cli, cnn, photos, tmp_path, monkeypatch):
    from nnvisual import runs

    kills = KillPoints(monkeypatch, tmp_path / "whole", tmp_path)
    kills.at(runs.Run, "write_figure", 1, "before-the-first-checkpoint")
    kills.at(ScanCheckpoint, "commit", 1, "after-batch-1", after=True)
    kills.at(runs.Run, "write_figure", 6, "in-batch-3-torn", torn=True)  # 2 images a batch
    kills.at(runs.Run, "write_npz_rows", 1, "writing-the-outputs-torn", torn=True)
    result = cli(*attribute_args(cnn, photos), "--out", tmp_path / "whole")
    assert result.exit_code == 0, result.output
    assert sorted(kills.copies) == ["after-batch-1", "before-the-first-checkpoint", "in-batch-3-torn",
                                    "writing-the-outputs-torn"]
    assert not (tmp_path / "whole" / scan_checkpoint.FOLDER).exists()  # gone once written
    assert json.loads((kills.copies["in-batch-3-torn"] / STATE).read_text())["batches"] == 2
    monkeypatch.undo()
    for name, copy in resume_each(cli, kills.copies, "attribute"):
        assert_same_run(copy, tmp_path / "whole")
        assert read_manifest(copy)["resumed"] == [{"before-the-first-checkpoint": 0, "after-batch-1": 1,
                                                   "in-batch-3-torn": 2, "writing-the-outputs-torn": 3}[name]]


def interrupt_after(monkeypatch, batches, signum=signal.SIGTERM):
    """Send ``signum`` to this process once the checkpoint has counted ``batches``."""
    original = ScanCheckpoint.commit

    def commit(self, done, *args, **kwargs):
        original(self, done, *args, **kwargs)
        if done == batches:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(ScanCheckpoint, "commit", commit)


@pytest.mark.usefixtures("every_batch")
def test_attribute_after_sigterm_resumes_to_the_uninterrupted_run(cli, cnn, photos, tmp_path,
                                                                  monkeypatch):
    args = (*attribute_args(cnn, photos), "--shard", "1/2")  # 6 images, 3 batches: [0-1] [2-5]
    assert cli(*args, "--out", tmp_path / "whole").exit_code == 0
    interrupt_after(monkeypatch, 1)
    result = cli(*args, "--out", tmp_path / "run")
    assert result.exit_code == 130
    assert f"continue with: nnvisual attribute --resume {tmp_path / 'run'}" in result.output
    assert read_manifest(tmp_path / "run")["status"] == "interrupted"
    assert json.loads((tmp_path / "run" / STATE).read_text())["batches"] == 1
    monkeypatch.undo()
    result = cli("attribute", "--resume", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "after 1 batches" in result.output
    assert_same_run(tmp_path / "run", tmp_path / "whole")
    assert read_manifest(tmp_path / "run")["config"]["shard"] == "1/2"


# -- deconv --top9 --------------------------------------------------------------------------------
@pytest.mark.usefixtures("every_batch")
def test_deconv_top9_resumed_after_a_kill_at_any_point_is_the_uninterrupted_run(
        cli, cnn, dataset, tmp_path, monkeypatch):
    from nnvisual import runs

    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 4)  # 30 images: 8 batches
    kills = KillPoints(monkeypatch, tmp_path / "whole", tmp_path)
    kills.at(ScanCheckpoint, "commit", 1, "after-batch-1", after=True)
    kills.at(ScanCheckpoint, "commit", 5, "in-batch-5-torn", torn=True)
    kills.at(runs.Run, "write_figure", 1, "projecting-torn", torn=True)
    result = cli(*deconv_args(cnn, dataset), "--out", tmp_path / "whole")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "whole" / scan_checkpoint.FOLDER).exists()
    state = json.loads((kills.copies["projecting-torn"] / STATE).read_text())
    assert (state["batches"], state["facts"]) == (8, {"stop": 30})
    monkeypatch.undo()
    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 4)
    for _, copy in resume_each(cli, kills.copies, "deconv"):
        assert_same_run(copy, tmp_path / "whole")


@pytest.mark.usefixtures("every_batch")
def test_a_resumed_deconv_shard_is_the_uninterrupted_shard(cli, cnn, dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 4)
    args = (*deconv_args(cnn, dataset), "--shard", "1/2")  # batches 4-7: images 16-29
    assert cli(*args, "--out", tmp_path / "whole").exit_code == 0
    interrupt_after(monkeypatch, 2, signal.SIGINT)
    result = cli(*args, "--out", tmp_path / "run")
    assert result.exit_code == 130 and "continue with: nnvisual deconv --resume" in result.output
    assert json.loads((tmp_path / "run" / STATE).read_text())["facts"] == {"stop": 24}
    monkeypatch.undo()
    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 4)
    result = cli("deconv", "--resume", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert_same_run(tmp_path / "run", tmp_path / "whole")
    with np.load(tmp_path / "run" / "top9_scan.npz") as scan:
        assert scan["c1_indices"].min() >= 16  # the shard's block only


# -- refusals: one line, exit 2, the run left as it was -------------------------------------------
@pytest.fixture
def stopped_attribute_run(cli, cnn, photos, tmp_path, monkeypatch):
    """An attribute run stopped by Ctrl-C after its first batch."""
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1, signal.SIGINT)
        assert cli(*attribute_args(cnn, photos), "--out", tmp_path / "run").exit_code == 130
    return tmp_path / "run"


def refused(cli, run, message, *args):
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    result = cli(*args)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and message in line, line
    assert {path: path.read_bytes() for path in run.rglob("*") if path.is_file()} == before


def test_a_checkpoint_that_does_not_match_its_run_is_refused(cli, cnn, photos, stopped_attribute_run,
                                                             tmp_path):
    run = stopped_attribute_run
    manifest = read_manifest(run)
    edited = dict(manifest, config=dict(manifest["config"], steps=3))
    (run / "manifest.json").write_text(json.dumps(edited))
    refused(cli, run, "its checkpoint does not match its config", "attribute", "--resume", run)
    (run / "manifest.json").write_text(json.dumps(manifest))
    small_cnn(size=32, seed=1).save(cnn)
    refused(cli, run, "its checkpoint does not match its model", "attribute", "--resume", run)
    small_cnn(size=32).save(cnn)
    shutil.copy(next(photos.glob("*.png")), photos / "another.png")
    refused(cli, run, "its checkpoint does not match its images", "attribute", "--resume", run)
    (photos / "another.png").unlink()
    rows = next((run / scan_checkpoint.FOLDER / "rows").glob("*.rows"))
    rows.write_bytes(rows.read_bytes()[:10])
    refused(cli, run, "holds fewer rows of", "attribute", "--resume", run)


@pytest.mark.parametrize("args, message", [
    (("--method", "gradcam"), "give no other option"),
    (("--out", "elsewhere"), "give no other option"),
    (("--force",), "give no other option"),
])
def test_resume_takes_no_other_option(cli, stopped_attribute_run, args, message):
    refused(cli, stopped_attribute_run, message, "attribute", "--resume", stopped_attribute_run, *args)


def test_resume_refuses_a_complete_run_and_a_run_of_another_command(cli, cnn, stopped_attribute_run,
                                                                    tmp_path):
    run = stopped_attribute_run
    refused(cli, run, f"{run} is a 'attribute' run, not a 'deconv' run", "deconv", "--resume", run)
    assert cli("attribute", "--resume", run).exit_code == 0
    refused(cli, run, f"{run} is already complete", "attribute", "--resume", run)
    assert cli("deconv", "--model", cnn, "--layers", "c1", "--out", tmp_path / "plain").exit_code == 0
    manifest = read_manifest(tmp_path / "plain")
    (tmp_path / "plain" / "manifest.json").write_text(json.dumps(dict(manifest, status="interrupted")))
    refused(cli, tmp_path / "plain", "is not a --top9 scan", "deconv", "--resume", tmp_path / "plain")


# -- real processes: SIGKILL and SIGTERM at chosen batch counts ------------------------------------
def killed_at(args, cwd, batches, total, signum=signal.SIGKILL):
    """Run ``nnvisual *args --out run`` in ``cwd`` and send ``signum`` once its checkpoint has
    counted ``batches``; return the run folder, its scan of ``total`` batches not ended."""
    status, output = signal_when([*args, "--out", "run"], cwd, lambda state: state["batches"] >= batches,
                                 signum, watched=STATE, poll=0.005)
    assert status == (-9 if signum == signal.SIGKILL else 130), output
    state = json.loads((cwd / "run" / STATE).read_text())
    print(f"stopped after {state['batches']} of {total} batches")
    assert batches <= state["batches"] < total and read_manifest(cwd / "run")["status"] != "complete"
    return cwd / "run"


def photo_folder(root, count):
    """A flat folder of ``count`` x 3 photos, 32x32."""
    write_image_folder(root / "data", per_class=(0, count))
    photos = root / "photos"
    photos.mkdir()
    for path in sorted((root / "data" / "test").rglob("*.png")):
        shutil.copy(path, photos / f"{path.parent.name}_{path.name}")
    return photos


def plotka_top9(root):
    """``deconv --top9`` of an untrained plotka over 6000 images: 94 scan batches of 64."""
    from nnvisual.models.study import build_plotka

    model = root / "plotka.keras"
    build_plotka(num_classes=3, mean=[120, 120, 120]).save(model)
    data = write_image_folder(root / "data", per_class=(1, 2000))
    return ("deconv", "--model", model, "--layers", "conv2,conv4", "--top-k", "1", "--top9",
            "--top9-images", "6000", "--data", data)


# Commits are spaced (scan_checkpoint.BUDGET): the counter read in state.json grows by a few
# batches at a time, and a signal is sent at the first count at or past the one chosen.
@pytest.mark.slow
@pytest.mark.parametrize("batches", [1, 8, 16])
def test_attribute_killed_at_a_batch_count_resumes_to_the_uninterrupted_run(cli, cnn, tmp_path, batches):
    args = attribute_args(cnn, photo_folder(tmp_path, 16))  # 48 images, 24 batches
    assert cli(*args, "--out", tmp_path / "whole").exit_code == 0
    run = killed_at(args, tmp_path, batches, 24)
    result = cli("attribute", "--resume", run)
    assert result.exit_code == 0, result.output
    assert_same_run(run, tmp_path / "whole")


@pytest.mark.slow
@pytest.mark.parametrize("batches", [2, 30, 60])
def test_deconv_top9_killed_at_a_batch_count_resumes_to_the_uninterrupted_run(cli, tmp_path, batches):
    args = plotka_top9(tmp_path)
    assert cli(*args, "--out", tmp_path / "whole").exit_code == 0
    run = killed_at(args, tmp_path, batches, 94)
    result = cli("deconv", "--resume", run)
    assert result.exit_code == 0, result.output
    assert_same_run(run, tmp_path / "whole")


@pytest.mark.slow
@pytest.mark.parametrize("command", ["attribute", "deconv"])
def test_sigterm_at_a_batch_count_then_resume(cli, cnn, tmp_path, command):
    if command == "attribute":
        args, batches, total = attribute_args(cnn, photo_folder(tmp_path, 16)), 8, 24
    else:
        args, batches, total = plotka_top9(tmp_path), 30, 94
    assert cli(*args, "--out", tmp_path / "whole").exit_code == 0
    run = killed_at(args, tmp_path, batches, total, signal.SIGTERM)
    assert read_manifest(run)["status"] == "interrupted"
    result = cli(command, "--resume", run)
    assert result.exit_code == 0, result.output
    assert_same_run(run, tmp_path / "whole")
