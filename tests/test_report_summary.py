"""What report.md and index.html both show (:mod:`nnvisual.report.summary`)."""

from pathlib import Path

from nnvisual.report import steps_table
from nnvisual.report.model import Report, RunReport, Table
from nnvisual.report.summary import duration, environment, table_note, total_time


def run(name, status="complete", **fields):
    return RunReport(Path("/r") / name, f"../r/{name}/manifest.json", "train", status, **fields)


def test_durations():
    cases = {None: "unknown", 0.4: "0 s", 59.6: "1 min 00 s", 3599: "59 min 59 s",
             3600: "1 h 00 min", 7322: "2 h 02 min"}
    assert {seconds: duration(seconds) for seconds in cases} == cases


def test_steps_and_total_time():
    report = Report((run("a", seconds=61.0, started="2026-01-01T10:00:00"),
                     run("b", status="running", seconds=5.0), run("c")))
    assert steps_table(report) == (
        ("command", "run", "status", "started", "wall_seconds", "wall_time", "manifest"),
        [("train", "a", "complete", "2026-01-01 10:00:00", "61", "1 min 01 s", "../r/a/manifest.json"),
         ("train", "b", "running", "", "5", "5 s so far", "../r/b/manifest.json"),
         ("train", "c", "complete", "", "", "unknown", "../r/c/manifest.json")])
    assert total_time(report) == "Total wall time: 1 min 06 s (1 runs without a known time left out)."
    assert total_time(Report((run("a", seconds=3.0),))) == "Total wall time: 3 s."


def test_environment_lists_differing_values_with_their_runs():
    report = Report((run("a", device="cpu", versions={"keras": "3.3"}),
                     run("b", device="cpu", versions={"keras": "3.4", "numpy": "2.0"}),
                     run("x", status="unreadable", device="gpu")))
    assert environment(report) == [("device", "cpu"), ("backend", ""),
                                   ("keras", "3.3 (a); 3.4 (b)"), ("numpy", "— (a); 2.0 (b)")]


def test_table_notes():
    whole = Table("t", ("a",), (("1",),), "t.csv", total_rows=1)
    cut = Table("t", ("a",), (("1",),), "t.csv", total_rows=9, note="Δ = ours − paper.")
    assert table_note(whole) == ""
    assert table_note(cut) == "Δ = ours − paper. First 1 of 9 rows; "
