"""report.md (:mod:`nnvisual.report.markdown`), from a report built by hand."""

from pathlib import Path

from nnvisual.report import to_markdown
from nnvisual.report.model import Figure, Report, RunReport, Table

EXPECTED = """\
# nnvisual report: Reda & Xu (2019) reproduced

## Needs attention

**⚠ 2 of 2 runs need attention:**

- `/runs/train` (train): not complete: status is 'running'
- `/runs/broken` (unknown): manifest.json cannot be read: x

## Steps

| Command | Run | Status | Started | Wall time | Manifest |
|---|---|---|---|---|---|
| train | train | **⚠ running** | 2026-01-02 03:04:05 | 1 min 05 s so far | [manifest.json](t/manifest.json) |
| unknown | broken | **⚠ unreadable** |  | unknown | [manifest.json](b/manifest.json) |

Total wall time: 1 min 05 s (1 runs without a known time left out).

## Training: Tables 1-2, Figure 2

### train

Status: **⚠ running** · wall time 1 min 05 s so far · [manifest.json](t/manifest.json)

- ⚠ not complete: status is 'running'

`nnvisual train --epochs 2`

Config: model=plotka, epochs=2

**Table 1: x**

| Metric | Δ a\\|b |
|---|---|
| Acc uracy | +0.1 |

Δ = ours − paper. CSV: [metrics.csv](t/tables/metrics.csv)

![train/figures/curves.png](t/figures/curves.png)

*figures/curves.png*

**history.csv**

| epoch | loss |
|---|---|
| 1 | 2.5 |

First 1 of 30 rows; CSV: [history.csv](t/tables/history.csv)

## Machine and versions

|  | Value |
|---|---|
| device | cpu |
| backend | tensorflow |
| keras | 3.3 |
"""


def test_markdown_of_a_running_and_an_unreadable_run():
    paper = Table("Table 1: x", ("Metric", "Δ a|b"), (("Acc\nuracy", "+0.1"),),
                  "t/tables/metrics.csv", 1, note="Δ = ours − paper.", paper=True)
    other = Table("history.csv", ("epoch", "loss"), (("1", "2.5"),),
                  "t/tables/history.csv", total_rows=30)
    train = RunReport(
        Path("/runs/train"), "t/manifest.json", "train", "running",
        argv="nnvisual train --epochs 2", config={"model": "plotka", "epochs": 2},
        started="2026-01-02T03:04:05", seconds=65.4, device="cpu", backend="tensorflow",
        versions={"keras": "3.3"}, tables=(other, paper),  # the paper's table is shown first
        figures=(Figure("figures/curves.png", "t/figures/curves.png", b""),),
        problems=("not complete: status is 'running'",))
    broken = RunReport(Path("/runs/broken"), "b/manifest.json", "unknown",
                       "unreadable", problems=("manifest.json cannot be read: x",))
    assert to_markdown(Report((train, broken))) == EXPECTED


def test_markdown_says_when_every_run_is_fine():
    run = RunReport(Path("/r/maximize"), "../r/maximize/manifest.json", "maximize", "complete",
                    seconds=7322)
    lines = to_markdown(Report((run,))).splitlines()
    assert lines[2] == "All 1 runs are complete and their outputs match their manifests."
    assert "| maximize | maximize | complete |  | 2 h 02 min | [manifest.json]" in lines[8]
    assert "## Class reconstruction by activation maximization: Figure 5" in lines
    assert "Status: complete · wall time 2 h 02 min · [manifest.json](../r/maximize/manifest.json)" \
        in lines
