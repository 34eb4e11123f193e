"""`nnvisual report` end to end: tables beside the paper's, embedded figures, flagged runs, errors."""

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from nnvisual.testing.run_files import read_csv, read_manifest
from nnvisual.testing.run_folders import SCORE_HEADER, fake_run, score_run, train_run


@pytest.fixture
def report(cli):
    """``report(*args)`` runs ``nnvisual report`` through the real CLI group."""
    return lambda *args: cli("report", *args)


def figure_sources(html):
    return re.findall(r'<img src="([^"]*)"', html)


def test_tables_beside_the_papers_with_differences(report, isolated):
    train_run(isolated / "train")
    score_run(isolated / "score")
    result = report("train", "score", "--out", "rep")
    assert result.exit_code == 0, result.output
    md = (isolated / "rep" / "report.md").read_text()
    # Table 1: ours, paper, ours - paper (0.58 - 0.566 = +0.014, 0.5 - 0.515 = -0.015, ...)
    assert "Table 1: plotka (2 epochs), ours vs. the paper" in md
    # training twice: logged 0.6 and evaluated 0.58; Δ training = evaluated - paper
    assert "| Accuracy | 0.600 | 0.580 | 0.566 | +0.014 | 0.500 | 0.515 | -0.015 | 0.550 |" in md
    assert "| Loss | 1.100 | 1.000 | 1.213 | -0.213 | 1.400 | 1.344 | +0.056 | 1.300 |" in md
    assert "Training (logged): Keras' running value over the last epoch" in md
    # Table 3: statistic [interval], the paper's value (before 0.050/0.050, after 0.095/0.090), Δ
    assert ("| phase | n | mean_max_score [95% CI] | Paper mean | Δ mean "
            "| median_max_score [95% CI] | Paper median | Δ median |") in md
    assert ("| before | 10 | 0.060 [0.040, 0.080] | 0.050 | +0.010 "
            "| 0.055 [0.030, 0.070] | 0.050 | +0.005 |") in md
    assert ("| after | 10 | 0.080 [0.060, 0.100] | 0.095 | -0.015 "
            "| 0.070 [0.050, 0.090] | 0.090 | -0.020 |") in md
    # other tables as they are; a long one cut to its first rows with a link to the CSV
    assert "| 2 | 1.5 | 0.4 |" in md
    assert "| r19 | 19 |" in md and "| r20 | 20 |" not in md
    assert "First 20 of 30 rows; CSV: [scores.csv](../score/tables/scores.csv)" in md
    for figure in ("train/figures/curves.png", "score/figures/histograms.png",
                   "score/figures/matches.png"):
        assert f"](../{figure})" in md
    assert "All 2 runs are complete" in md
    assert md.index("## Training") < md.index("## Bag of visual words")


def test_table3_with_other_columns_and_phases(report, isolated):
    rows = [("before", 0.07, 0.05, "a"), ("after", 0.1, 0.08, "b"), ("pooled", 0.2, 0.1, "c")]
    score_run(isolated / "score", ("phase", "mean", "median", "note"), rows)
    assert report("score", "--out", "rep").exit_code == 0
    md = (isolated / "rep" / "report.md").read_text()
    assert "| phase | note | mean | Paper mean | Δ mean | median | Paper median | Δ median |" in md
    assert "| before | a | 0.070 | 0.050 | +0.020 | 0.050 | 0.050 | +0.000 |" in md
    assert "| after | b | 0.100 | 0.095 | +0.005 | 0.080 | 0.090 | -0.010 |" in md
    assert "| pooled | c | 0.200 |  |  | 0.100 |  |  |" in md


def test_table3_without_before_and_after_has_no_paper_columns(report, isolated):
    score_run(isolated / "score", SCORE_HEADER, [("recon", 5, 0.5, 0.4, 0.6, 0.45, 0.3, 0.7)])
    assert report("score", "--out", "rep").exit_code == 0
    md = (isolated / "rep" / "report.md").read_text()
    assert "| phase | n | mean_max_score [95% CI] | median_max_score [95% CI] |" in md
    assert "| recon | 5 | 0.500 [0.400, 0.600] | 0.450 [0.300, 0.700] |" in md
    assert "Paper mean" not in md and "this run has neither" in md


def test_html_is_self_contained(report, isolated):
    train_run(isolated / "runs" / "train")
    score_run(isolated / "runs" / "score")
    assert report("runs/train", "runs/score", "--out", "rep").exit_code == 0
    html = (isolated / "rep" / "index.html").read_text()
    sources = figure_sources(html)
    expected = [isolated / "runs" / "train" / "figures" / "curves.png",
                isolated / "runs" / "score" / "figures" / "histograms.png",
                isolated / "runs" / "score" / "figures" / "matches.png"]
    assert len(sources) == html.count("data:image/png;base64,") == 3
    assert [base64.b64decode(s.removeprefix("data:image/png;base64,")) for s in sources] == \
        [path.read_bytes() for path in expected]
    assert not re.search(r"https?://|<script|<link|@import|url\(", html)
    manifests = re.findall(r'href="([^"#]*manifest\.json)"', html)
    assert sorted(set(manifests)) == ["../runs/score/manifest.json", "../runs/train/manifest.json"]
    assert all((isolated / "rep" / link).is_file() for link in manifests)
    anchors = set(re.findall(r'href="#([^"]+)"', html))
    assert anchors == {"steps", "section-train", "section-score-bow", "machine", "run-runs-train",
                       "run-runs-score"}
    assert anchors <= set(re.findall(r'id="([^"]+)"', html))
    assert "Table 1: plotka (2 epochs), ours vs. the paper" in html and "+0.014" in html
    listed = read_csv(isolated / "rep" / "tables" / "runs.csv")
    assert [(r["command"], r["status"], r["manifest"]) for r in listed] == [
        ("train", "complete", "../runs/train/manifest.json"),
        ("score-bow", "complete", "../runs/score/manifest.json")]
    manifest = read_manifest(isolated / "rep")
    assert manifest["command"] == "report" and manifest["status"] == "complete"
    assert set(manifest["outputs"]) >= {"report.md", "index.html", "tables/runs.csv"}


def test_incomplete_changed_and_unreadable_runs_are_flagged(report, isolated):
    train_run(isolated / "running", status="running")
    fake_run(isolated / "failed", "deconv", {}, figures=["layers.png"], status="failed")
    changed = train_run(isolated / "changed")
    (changed / "tables" / "history.csv").write_text("epoch,loss\n1,9\n")
    (changed / "figures" / "curves.png").unlink()
    (changed / "tables" / "metrics.csv").write_text("metric,training\nAccuracy\n")
    (isolated / "broken").mkdir()
    (isolated / "broken" / "manifest.json").write_text("{not json")
    train_run(isolated / "fine")
    result = report("running", "failed", "changed", "broken", "fine", "--out", "rep")
    assert result.exit_code == 0, result.output
    assert "4 flagged" in result.output
    md = (isolated / "rep" / "report.md").read_text()
    assert "## Needs attention\n\n**⚠ 4 of 5 runs need attention:**" in md
    assert md.index("## Needs attention") < md.index("## Steps")
    assert "running` (train): not complete: status is 'running'" in md
    assert "failed` (deconv): not complete: status is 'failed'" in md
    assert "tables/history.csv does not match the sha256 its run recorded" in md
    assert "figures/curves.png is missing" in md
    assert "tables/metrics.csv cannot be read as a table: row 1 has 1 cells, the header 2" in md
    assert "broken` (unknown): manifest.json cannot be read" in md
    assert "fine` (train)" not in md
    assert md.count("so far") == 2  # the running train run, in the steps table and its section
    html = (isolated / "rep" / "index.html").read_text()
    assert '<h2 id="attention">Needs attention</h2>' in html and 'href="#attention"' in html
    assert "tables/history.csv does not match the sha256 its run recorded" in html
    assert html.count('class="badge warn">running<') == 2
    assert html.count('class="badge warn">unreadable<') == 1
    assert len(figure_sources(html)) == 3  # running, failed and fine; the changed run lost its own
    manifest = read_manifest(isolated / "rep")
    assert len(manifest["flagged_runs"]) == 4


def test_user_errors_are_one_line_and_write_nothing(report, isolated):
    train_run(isolated / "results" / "train")
    (isolated / "plain").mkdir()
    cases = [(("nowhere",), "run folder not found: nowhere"),
             (("plain",), "plain is not a run folder (no manifest.json)"),
             (("results",), "it holds 1 run folders: pass results/*/ instead"),
             (("results/train", "--out", "results/train"), "the only one given is the report")]
    for args, message in cases:
        result = report(*args) if "--out" in args else report(*args, "--out", "rep")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and result.output.count("\n") == 1, result.output
        assert not (isolated / "rep").exists()
    assert report("results/train", "--out", "rep").exit_code == 0
    again = report("results/train", "--out", "rep")
    assert again.exit_code == 2 and "--force" in again.output
    assert report("results/train", "--out", "rep", "--force").exit_code == 0
    assert report("results/train", "--out", "results/train", "--force").exit_code == 2
    # a glob over a results folder may catch the report folder itself: it is left out
    assert report("results/train", "rep", "--out", "rep", "--force").exit_code == 0
    assert "| train | train |" in (isolated / "rep" / "report.md").read_text()
    assert "rep/manifest.json" not in (isolated / "rep" / "report.md").read_text()


def test_same_runs_same_report(report, isolated):
    train_run(isolated / "train")
    score_run(isolated / "score")
    assert report("train", "score", "--out", "a").exit_code == 0
    assert report("score", "train", "./train", "--out", "b").exit_code == 0
    for name in ("report.md", "index.html"):
        first, second = (isolated / "a" / name).read_text(), (isolated / "b" / name).read_text()
        assert first == second  # the study's order, not the arguments


def test_report_of_a_real_train_run(cli, report, image_folder, isolated):
    result = cli("train", "--data", image_folder, "--epochs", "1", "--batch-size", "8",
                 "--num-classes", "3", "--out", "train")
    assert result.exit_code == 0, result.output
    assert report("train", "--out", "rep").exit_code == 0
    accuracy = read_csv(isolated / "train" / "tables" / "metrics.csv")[0]
    difference = float(accuracy["validation"]) - 0.515
    evaluated = float(accuracy["training_evaluated"])
    md = (isolated / "rep" / "report.md").read_text()
    assert (f"| Accuracy | {float(accuracy['training']):.3f} | {evaluated:.3f} | 0.566 | "
            f"{evaluated - 0.566:+.3f} |") in md
    assert f"| {float(accuracy['validation']):.3f} | 0.515 | {difference:+.3f} |" in md
    html = (isolated / "rep" / "index.html").read_text()
    assert len(figure_sources(html)) == 1 and "All 1 runs are complete" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_report_renders_in_headless_chromium(report, isolated):
    """The documented screenshot script shows the page with its embedded figures drawn."""
    train_run(isolated / "train")
    assert report("train", "--out", "rep").exit_code == 0
    script = Path(__file__).parents[1] / "scripts" / "screenshot_report.sh"
    done = subprocess.run([script, "rep", "shot.png", "900x1400"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    shot = cv2.cvtColor(cv2.imread(str(isolated / "shot.png")), cv2.COLOR_BGR2RGB).astype(int)
    assert shot.shape == (1400, 900, 3)
    line = np.abs(shot - (31, 119, 180)).sum(axis=2) < 12  # the figure's line (not link blue)
    assert line.sum() > 50



REPORT_IN_A_FRESH_PROCESS = """\
import sys
from nnvisual.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    heavy = ("tensorflow", "keras", "jax", "torch", "matplotlib", "sklearn", "cv2")
    print("imported:", sorted({m.split(".")[0] for m in sys.modules} & set(heavy)))
"""


def test_report_imports_no_tensorflow_keras_or_plotting(isolated):
    """The report reads CSV, JSON and PNG files: a fresh process running it imports none of the
    deep-learning libraries (TensorFlow alone took about 5 s to start)."""
    train_run(isolated / "train")
    score_run(isolated / "score")
    done = subprocess.run([sys.executable, "-c", REPORT_IN_A_FRESH_PROCESS, "report", "train",
                           "score", "--out", "rep"], cwd=isolated, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "imported: []" in done.stdout, done.stdout
    assert (isolated / "rep" / "index.html").is_file()
