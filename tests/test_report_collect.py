"""Reading run folders (:mod:`nnvisual.report.collect`): order, links, problems, wall time."""

import json

import numpy as np
import pytest

from nnvisual.errors import UserError
from nnvisual.report import collect
from nnvisual.report.collect import read_run
from nnvisual.testing.run_folders import fake_run, score_run, train_run


def write_manifest(folder, manifest):
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_runs_in_the_studys_order_each_folder_once(isolated):
    score_run(isolated / "score")
    train_run(isolated / "train")
    fake_run(isolated / "other", "inspect", {})
    write_manifest(isolated / "broken", [1])
    report = collect(["broken", "other", "score", "train", "./train", "score/"], isolated / "rep")
    assert [(r.name, r.command, r.status) for r in report.runs] == [
        ("train", "train", "complete"), ("score", "score-bow", "complete"),
        ("other", "inspect", "complete"), ("broken", "unknown", "unreadable")]
    assert [r.name for r in report.flagged] == ["broken"]
    assert [(c, [r.name for r in runs]) for c, runs in report.by_command()] == [
        ("train", ["train"]), ("score-bow", ["score"]), ("inspect", ["other"])]


def test_a_run_as_the_report_reads_it(isolated):
    run = read_run(train_run(isolated / "my run"), isolated / "rep")
    assert run.manifest_link == "../my%20run/manifest.json"
    assert [(f.name, f.link) for f in run.figures] == [
        ("figures/curves.png", "../my%20run/figures/curves.png")]
    assert run.figures[0].png == (isolated / "my run" / "figures" / "curves.png").read_bytes()
    assert [(t.title, t.paper, t.link) for t in run.tables] == [
        ("Table 1: plotka (2 epochs), ours vs. the paper", True, "../my%20run/tables/metrics.csv"),
        ("history.csv", False, "../my%20run/tables/history.csv")]
    assert run.tables[1].rows == (("1", "2.25", "0.25"), ("2", "1.5", "0.4"))
    assert run.config == {"model": "plotka", "epochs": 2} and run.argv.startswith("nnvisual")
    assert run.ok and run.problems == () and run.seconds >= 0


def test_missing_changed_and_unreadable_outputs_are_problems(isolated):
    folder = score_run(isolated / "score")
    (folder / "figures" / "matches.png").unlink()
    (folder / "tables" / "scores.csv").write_text("")
    run = read_run(folder, isolated)
    assert run.problems == (
        "figures/matches.png is missing",
        "tables/scores.csv does not match the sha256 its run recorded",
        "tables/scores.csv cannot be read as a table: empty file")
    assert [f.name for f in run.figures] == ["figures/histograms.png"]
    assert [t.file_name for t in run.tables] == ["table3.csv"]
    assert run.status == "complete" and not run.ok


def test_manifests_that_cannot_be_read(isolated):
    listed = read_run(write_manifest(isolated / "list", [1]), isolated)
    assert (listed.status, listed.command, listed.problems) == (
        "unreadable", "unknown", ("manifest.json is not a JSON object",))
    (isolated / "bad").mkdir()
    (isolated / "bad" / "manifest.json").write_text("{not json")
    bad = read_run(isolated / "bad", isolated)
    assert bad.status == "unreadable"
    assert bad.problems[0].startswith("manifest.json cannot be read: Expecting property name")


def test_a_running_run_is_timed_to_its_last_update(isolated):
    manifest = {"command": "train", "status": "running", "started": "2026-01-01T00:00:00+00:00",
                "updated": "2026-01-01T00:01:30+00:00", "outputs": {}}
    run = read_run(write_manifest(isolated / "running", manifest), isolated)
    assert run.seconds == 90.0 and run.problems == ("not complete: status is 'running'",)
    ended = read_run(write_manifest(isolated / "stopped", {**manifest, "status": "failed"}), isolated)
    assert ended.seconds is None  # neither ended nor running


def test_a_folder_without_a_manifest_is_a_user_error(isolated):
    train_run(isolated / "train")
    (isolated / "plain").mkdir()
    with pytest.raises(UserError, match="plain is not a run folder"):
        collect(["train", "plain"], isolated / "rep")


def test_an_output_the_report_does_not_read_is_only_looked_for(isolated):
    from nnvisual import runs

    run = runs.create_run("attribute", "x", {}, isolated / "maps")
    run.write_npz("attributions.npz", saliency=np.zeros((1, 2, 2)))
    run.write_text("notes.txt", "kept\n")
    run.finish()
    (isolated / "maps" / "attributions.npz").unlink()
    (isolated / "maps" / "notes.txt").write_text("changed, not read\n")
    report = collect(["maps"], isolated / "rep")
    assert report.runs[0].problems == ("attributions.npz is missing",)
    assert [r.name for r in report.flagged] == ["maps"]
