"""Run folders (nnvisual.runs): the manifest, refusals of --out, every writer, hashing, statuses.

Expectations are built independently of nnvisual.runs: hashes with hashlib, PNGs decoded with
Pillow, CSV and JSON read with the standard library, formatted numbers written out by hand.
"""

import datetime as dt
import hashlib
import json
import os
import platform
import re
import stat
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from PIL import Image

from nnvisual import runs
from nnvisual.errors import UserError
from nnvisual.testing.run_files import flip_byte, read_csv, read_manifest

CONFIG = {"epochs": 3, "lr": 0.001, "layers": ["conv1", "conv2"], "model": "plotka"}


def temporaries(folder):
    """Leftover temporary files of atomic writes (``.<name>.<random>.tmp<suffix>``)."""
    return sorted(p.name for p in Path(folder).rglob("*") if ".tmp" in p.name)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


# -- create_run ------------------------------------------------------------------------------------
def test_create_run_writes_the_manifest_and_config(isolated, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/nnvisual", "train", "--epochs", "3"])
    before = dt.datetime.now().astimezone().replace(microsecond=0)
    run = runs.create_run("train", "plotka", CONFIG, out=isolated / "out")
    after = dt.datetime.now().astimezone()

    assert run.path == isolated / "out"
    assert sorted(p.name for p in run.path.iterdir()) == ["config.yaml", "manifest.json"]
    manifest = read_manifest(run.path)
    assert manifest == run.manifest
    assert manifest["command"] == "train"
    assert manifest["argv"] == ["nnvisual", "train", "--epochs", "3"]
    assert manifest["status"] == "running"
    assert manifest["config"] == CONFIG
    assert manifest["outputs"] == {"config.yaml": None}  # hashed only when the run ends
    assert manifest["backend"] == keras.backend.backend()
    assert manifest["versions"]["python"] == platform.python_version()
    assert manifest["versions"]["numpy"] == np.__version__
    assert manifest["versions"]["keras"] == keras.__version__
    assert manifest["device"].startswith(("CPU", "GPU: "))
    started = dt.datetime.fromisoformat(manifest["started"])
    assert started.tzinfo is not None and before <= started <= after
    assert "ended" not in manifest

    text = (run.path / "config.yaml").read_text()
    assert yaml.safe_load(text) == CONFIG
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith(("-", " "))] == [
        "epochs", "lr", "layers", "model"]  # the config's own order, not sorted


def test_default_run_path_is_results_command_name_timestamp(isolated):
    before = dt.datetime.now().replace(microsecond=0)
    run = runs.create_run("deconv", "vgg16", {})
    after = dt.datetime.now()
    assert run.path.parent == Path("results")
    match = re.fullmatch(r"deconv-vgg16-(\d{8}-\d{6})", run.path.name)
    assert match, run.path.name
    assert before <= dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S") <= after
    assert (isolated / run.path / "manifest.json").is_file()


def test_a_name_holding_a_layer_path_is_one_folder(isolated):
    """A channel grid's label names a layer inside a nested model (``backbone/conv``)."""
    run = runs.create_run("maximize", "net-channels-backbone/conv", {})
    assert run.path.parent == Path("results")
    assert run.path.name.startswith("maximize-net-channels-backbone--conv-")


def test_an_existing_empty_folder_is_used(isolated):
    (isolated / "out").mkdir()
    run = runs.create_run("train", "x", {}, out=isolated / "out")
    assert read_manifest(run.path)["command"] == "train"


def test_a_non_empty_out_is_refused_without_force(isolated):
    out = isolated / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(UserError, match="already exists and is not empty.*force=True"):
        runs.create_run("train", "x", {}, out=out)
    assert snapshot(out) == {Path("notes.txt"): b"mine\n"}

    previous = runs.create_run("train", "x", {"old": 1}, out=isolated / "run")
    previous.finish()
    on_disk = snapshot(previous.path)
    with pytest.raises(UserError, match="already exists and is not empty"):
        runs.create_run("train", "x", {"new": 1}, out=previous.path)  # even a run of the same command
    assert snapshot(previous.path) == on_disk


def test_force_replaces_only_a_run_of_the_same_command(isolated):
    old = runs.create_run("train", "x", {"old": 1}, out=isolated / "run")
    old.write_text("stale.txt", "from the old run\n")
    old.finish()

    with pytest.raises(UserError, match="refusing to replace .*not a 'deconv' run folder"):
        runs.create_run("deconv", "x", {}, out=old.path, force=True)
    assert (old.path / "stale.txt").read_text() == "from the old run\n"

    other = isolated / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep\n")
    with pytest.raises(UserError, match="refusing to replace .*not a 'train' run folder"):
        runs.create_run("train", "x", {}, out=other, force=True)
    assert (other / "precious.txt").read_text() == "keep\n"

    new = runs.create_run("train", "x", {"new": 2}, out=old.path, force=True)
    assert sorted(p.name for p in new.path.iterdir()) == ["config.yaml", "manifest.json"]
    assert read_manifest(new.path)["config"] == {"new": 2}
    assert read_manifest(new.path)["status"] == "running"


def test_a_file_as_out_is_refused(isolated):
    (isolated / "out").write_text("a file\n")
    with pytest.raises(UserError, match="exists and is not a folder"):
        runs.create_run("train", "x", {}, out=isolated / "out", force=True)
    assert (isolated / "out").read_text() == "a file\n"


def test_an_out_below_a_file_is_a_user_error(isolated):
    (isolated / "file").write_text("x")
    with pytest.raises(UserError, match="cannot create output folder"):
        runs.create_run("train", "x", {}, out=isolated / "file" / "run")


# -- writers ---------------------------------------------------------------------------------------
def test_write_csv_formats_floats_to_6_significant_digits_and_numpy_ints(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    path = run.write_csv("tables/t.csv", ["name", "value", "count"], [
        ("pi", 3.14159265358979, np.int64(7)),
        ("big", 1234567.0, np.int32(-3)),
        ("small", np.float32(0.1), 12),
        ("tiny", np.float64(1.23456789e-7), np.uint8(255)),
        ("whole", 2.0, 0),
        ("comma, quoted", float("nan"), None),
    ])
    assert path == run.path / "tables" / "t.csv"
    assert path.read_text() == (
        "name,value,count\n"
        "pi,3.14159,7\n"
        "big,1.23457e+06,-3\n"
        "small,0.1,12\n"
        "tiny,1.23457e-07,255\n"
        "whole,2,0\n"
        '"comma, quoted",nan,\n')
    assert read_csv(path)[0] == {"name": "pi", "value": "3.14159", "count": "7"}
    assert run.manifest["outputs"] == {"config.yaml": None, "tables/t.csv": None}


def test_write_npz_round_trip(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    b = np.array([[1, -2], [3, 4]], np.int64)
    run.write_npz("arrays.npz", a=a, b=b)
    with np.load(run.path / "arrays.npz") as stored:
        assert sorted(stored.files) == ["a", "b"]
        assert stored["a"].dtype == np.float32 and stored["b"].dtype == np.int64
        np.testing.assert_array_equal(stored["a"], a)
        np.testing.assert_array_equal(stored["b"], b)


def test_write_json_round_trip_with_numpy_scalars_and_paths(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    run.write_json("data.json", {"f": np.float32(0.5), "i": np.int64(3), "p": Path("a/b"),
                                 "nested": [1, {"ok": True}]})
    text = (run.path / "data.json").read_text()
    assert json.loads(text) == {"f": 0.5, "i": 3, "p": "a/b", "nested": [1, {"ok": True}]}
    assert text.endswith("}\n") and text.startswith('{\n  "f": 0.5')  # indented, one final newline
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        run.write_json("bad.json", {"x": object()})
    assert not (run.path / "bad.json").exists() and "bad.json" not in run.manifest["outputs"]


def test_write_text(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    run.write_text("notes/readme.md", "héllo\n")
    assert (run.path / "notes/readme.md").read_bytes() == "héllo\n".encode()


def test_write_image_round_trip(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)  # pure red in the corner: a swap of R and B would show
    run.write_image("images/x.png", rgb[:, ::-1])  # a non-contiguous view is accepted
    with Image.open(run.path / "images/x.png") as image:
        assert image.format == "PNG" and image.mode == "RGB"
        decoded = np.asarray(image)
    np.testing.assert_array_equal(decoded, rgb[:, ::-1])
    assert tuple(decoded[0, -1]) == (255, 0, 0)


def test_write_figure_saves_a_deterministic_png_and_closes_it(isolated):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = runs.create_run("train", "x", {}, out=isolated / "run")
    paths = []
    for name in ("a.png", "b.png"):
        figure, axis = plt.subplots(figsize=(2, 1))
        axis.plot([0, 1, 2], [1, 0, 1])
        paths.append(run.write_figure(f"figures/{name}", figure))
        assert not plt.fignum_exists(figure.number)
    first, second = (p.read_bytes() for p in paths)
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second  # no timestamp or software version in the file
    assert b"Software" not in first
    with Image.open(paths[0]) as image:
        dpi = image.info["dpi"]
    assert dpi == pytest.approx((150, 150), abs=0.1)


def test_writes_create_folders_and_leave_no_temporaries(isolated, umask_022):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    run.write_text("a/b/c/deep.txt", "x")
    run.write_csv("t.csv", ["a"], [[1]])
    run.write_npz("n.npz", x=np.zeros(2))
    run.write_json("j.json", {})
    run.write_image("i.png", np.zeros((2, 2, 3), np.uint8))
    run.write_text("t.csv", "replaced\n")  # overwriting goes through a temporary as well
    run.finish()
    assert temporaries(run.path) == []
    assert (run.path / "t.csv").read_text() == "replaced\n"
    for relative in ("a/b/c/deep.txt", "t.csv", "n.npz", "j.json", "i.png", "manifest.json"):
        # mkstemp makes 0600 files; outputs get an ordinary file's 0666 & ~umask
        assert stat.S_IMODE((run.path / relative).stat().st_mode) == 0o644, relative


class FailingModel:
    """A model whose save writes half a file and then fails (a full disk, a Ctrl-C)."""

    def save(self, path):
        Path(path).write_bytes(b"half a model")
        raise OSError("disk full")


class GoodModel:
    def save(self, path):
        assert str(path).endswith(".keras")
        Path(path).write_bytes(b"a whole model")


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with pytest.raises(OSError, match="disk full"):
        run.save_model("model.keras", FailingModel())
    assert not (run.path / "model.keras").exists()
    assert "model.keras" not in run.manifest["outputs"]
    assert temporaries(run.path) == []

    run.save_model("model.keras", GoodModel())
    assert (run.path / "model.keras").read_bytes() == b"a whole model"
    with pytest.raises(OSError, match="disk full"):
        run.save_model("model.keras", FailingModel())
    assert (run.path / "model.keras").read_bytes() == b"a whole model"  # never half-replaced
    assert temporaries(run.path) == []
    assert sorted(p.name for p in run.path.iterdir()) == ["config.yaml", "manifest.json", "model.keras"]


# -- finish and running() --------------------------------------------------------------------------
def test_finish_hashes_every_output_with_sha256(isolated):
    run = runs.create_run("train", "x", {"a": 1}, out=isolated / "run")
    run.write_text("x.txt", "hello\n")
    run.write_npz("arrays.npz", x=np.arange(3))
    run.write_text("gone.txt", "deleted before the end\n")
    (run.path / "gone.txt").unlink()
    run.finish(best_epoch=4)

    manifest = read_manifest(run.path)
    assert manifest == run.manifest
    assert manifest["status"] == "complete" and manifest["best_epoch"] == 4
    assert manifest["outputs"] == {
        "config.yaml": sha256(run.path / "config.yaml"),
        "x.txt": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",  # sha256sum
        "arrays.npz": sha256(run.path / "arrays.npz"),
        "gone.txt": None,
    }
    assert manifest["outputs"]["x.txt"] == hashlib.sha256(b"hello\n").hexdigest()
    started, ended = (dt.datetime.fromisoformat(manifest[k]) for k in ("started", "ended"))
    assert started <= ended and dt.datetime.fromisoformat(manifest["updated"]) >= ended


def test_running_marks_a_run_complete(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with runs.running(run) as inside:
        assert inside is run
        run.write_text("out.txt", "done\n")
        assert read_manifest(run.path)["status"] == "running"
    manifest = read_manifest(run.path)
    assert manifest["status"] == "complete"
    assert manifest["outputs"]["out.txt"] == hashlib.sha256(b"done\n").hexdigest()


def test_running_does_not_overwrite_a_status_set_inside(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with runs.running(run):
        run.finish("interrupted", stopped_at=2)  # e.g. training stopped at a safe point
    assert read_manifest(run.path)["status"] == "interrupted"


@pytest.mark.parametrize("exception", ["KeyboardInterrupt", "Interrupted"])
def test_running_marks_an_interrupted_run_and_keeps_it(isolated, exception):
    from nnvisual.runtime.interrupts import Interrupted

    error = KeyboardInterrupt if exception == "KeyboardInterrupt" else Interrupted
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with pytest.raises(error), runs.running(run):
        run.write_text("partial.txt", "half\n")
        raise error()
    manifest = read_manifest(run.path)
    assert manifest["status"] == "interrupted"
    assert manifest["outputs"]["partial.txt"] == hashlib.sha256(b"half\n").hexdigest()


def test_running_deletes_a_failed_run(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with pytest.raises(ValueError, match="boom"), runs.running(run):
        run.write_text("partial.txt", "half\n")
        raise ValueError("boom")
    assert not run.path.exists()


def test_running_keeps_a_failed_run_when_asked(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with pytest.raises(ValueError, match="boom"), runs.running(run, keep_on_failure=True):
        run.write_text("partial.txt", "half\n")
        raise ValueError("boom")
    manifest = read_manifest(run.path)
    assert manifest["status"] == "failed"
    assert manifest["outputs"]["partial.txt"] == hashlib.sha256(b"half\n").hexdigest()


def test_an_error_after_the_run_finished_keeps_its_status(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    with pytest.raises(RuntimeError), runs.running(run):
        run.finish("interrupted")
        raise RuntimeError("while cleaning up")
    assert read_manifest(run.path)["status"] == "interrupted"  # not deleted, not "failed"


# -- reading runs back -----------------------------------------------------------------------------
def test_require_complete_run_returns_the_manifest_of_a_complete_run(isolated):
    run = runs.create_run("train", "x", {"a": 1}, out=isolated / "run")
    run.finish()
    assert runs.require_complete_run(run.path, "train") == read_manifest(run.path)


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a run folder"),
    ("no-manifest", "is not a run folder"),
    ("corrupt", "is not a run folder"),
    ("a-file", "is not a run folder"),
    ("other-command", "is a 'deconv' run, not a 'train' run"),
    ("running", r"incomplete 'train' run \(status: running\)"),
    ("interrupted", r"incomplete 'train' run \(status: interrupted\)"),
    ("failed", r"incomplete 'train' run \(status: failed\)"),
])
def test_require_complete_run_refusals(isolated, case, message):
    path = isolated / "run"
    if case == "no-manifest":
        path.mkdir()
        (path / "config.yaml").write_text("{}\n")
    elif case == "corrupt":
        runs.create_run("train", "x", {}, out=path)
        (path / "manifest.json").write_text('{"command": "train", "sta')
    elif case == "a-file":
        path.write_text("x")
    elif case == "other-command":
        runs.create_run("deconv", "x", {}, out=path).finish()
    elif case != "missing":
        run = runs.create_run("train", "x", {}, out=path)
        if case != "running":
            run.finish(case)
    with pytest.raises(UserError, match=message):
        runs.require_complete_run(path, "train")


def test_open_run_resumes_writing_into_the_same_folder(isolated):
    first = runs.create_run("train", "x", {"epochs": 2}, out=isolated / "run")
    first.write_text("epoch1.txt", "1\n")
    first.finish("interrupted")

    with pytest.raises(UserError, match="is a 'train' run, not a 'maximize' run"):
        runs.open_run(first.path, "maximize")
    resumed = runs.open_run(first.path, "train")
    assert resumed.path == first.path and resumed.manifest == read_manifest(first.path)
    resumed.write_text("epoch2.txt", "2\n")
    resumed.finish()
    manifest = read_manifest(first.path)
    assert manifest["status"] == "complete" and manifest["config"] == {"epochs": 2}
    assert manifest["outputs"] == {"config.yaml": sha256(first.path / "config.yaml"),
                                   "epoch1.txt": hashlib.sha256(b"1\n").hexdigest(),
                                   "epoch2.txt": hashlib.sha256(b"2\n").hexdigest()}


# -- the files read, against the sha256s the run recorded --------------------------------------------
@pytest.fixture
def finished(isolated):
    run = runs.create_run("attribute", "x", {}, out=isolated / "run")
    run.write_text("tables/a.csv", "x,y\n1,2\n")
    run.write_npz("maps.npz", saliency=np.arange(6.0))
    run.finish()
    return run.path


def test_the_files_a_run_recorded_verify_each_once(finished, monkeypatch):
    from nnvisual.runs import reading

    hashed = []
    real = reading.sha256_file
    monkeypatch.setattr(reading, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    manifest = read_manifest(finished)
    runs.verify_outputs(finished, manifest, ["maps.npz", "tables/a.csv", "maps.npz"])
    assert hashed == ["maps.npz", "a.csv"]  # each file read once; config.yaml is not read
    data = (finished / "tables/a.csv").read_bytes()
    assert runs.output_problem(finished, manifest, "tables/a.csv", data) is None  # bytes read: hashed
    assert hashed == ["maps.npz", "a.csv"]


@pytest.mark.parametrize("case, message", [
    ("changed", "maps.npz does not match the sha256 its run recorded: the run folder {run} changed "
                "after it was written"),
    ("missing", "maps.npz is missing: the run folder {run} changed after it was written"),
    ("unrecorded", "extra.png is not one of the files its run recorded: the run folder {run} changed"),
])
def test_a_changed_missing_or_added_file_is_one_line_naming_it_and_its_run(finished, case, message):
    if case == "changed":
        flip_byte(finished / "maps.npz")
    elif case == "missing":
        (finished / "maps.npz").unlink()
    else:
        (finished / "extra.png").write_bytes(b"png")
    with pytest.raises(UserError) as caught:
        runs.verify_outputs(finished, read_manifest(finished), ["tables/a.csv", "maps.npz", "extra.png"])
    assert message.format(run=finished) in str(caught.value)
    assert str(caught.value).startswith(str(finished / ("extra.png" if case == "unrecorded" else "maps.npz")))
    assert len(str(caught.value).splitlines()) == 1


def test_a_file_not_yet_hashed_is_checked_only_once_its_run_ended(isolated):
    run = runs.create_run("train", "x", {}, out=isolated / "run")
    run.write_text("epoch.txt", "1\n")
    run.save_manifest()  # running: recorded, not hashed yet
    assert runs.output_problem(run.path, read_manifest(run.path), "epoch.txt") is None
    run.record_sha256("epoch.txt")  # hashed now, as a checkpoint is
    run.save_manifest()
    (run.path / "epoch.txt").write_text("2\n")
    assert runs.output_problem(run.path, read_manifest(run.path), "epoch.txt") == runs.reading.CHANGED
    run.manifest["outputs"]["gone.txt"] = None
    run.finish("interrupted")  # an output absent when the run ended is hashed as None
    (run.path / "gone.txt").write_text("appeared later\n")
    assert runs.output_problem(run.path, read_manifest(run.path), "gone.txt") == runs.reading.CHANGED


def test_a_model_file_given_by_its_path_is_checked_when_its_run_recorded_it(finished):
    runs.verify_run_file(finished / "maps.npz")
    flip_byte(finished / "maps.npz")
    with pytest.raises(UserError, match="maps.npz does not match the sha256 its run recorded"):
        runs.verify_run_file(finished / "maps.npz")
    (finished / "mine.keras").write_bytes(b"not recorded: the user's own file")
    runs.verify_run_file(finished / "mine.keras")  # not the run's: left alone
