"""A run's CSV tables formatted for the report, the study's beside the paper's numbers.

Tables 1-2 (``train``'s ``tables/metrics.csv``) and Table 3 (``score-bow``'s
``tables/table3.csv``) get the paper's values (docs/study.md; :mod:`nnvisual.paper`)
and ours minus the paper's; any other table is shown as it is, long ones cut to their first rows.
"""

from __future__ import annotations

import dataclasses
import math
import re

from nnvisual.paper import TABLE3, TRAINING_TABLES
from nnvisual.report.model import Table
from nnvisual.report.summary import duration

TRAINING_TABLE_NUMBER = {"plotka": 1, "bonaccorso": 2}
MAX_ROWS = 25  # longer tables show their first SHOWN_ROWS rows and link the whole CSV
SHOWN_ROWS = 20
INTERVAL_WORDS = {"ci", "low", "high", "lower", "upper"}
TRAINING_NOTE = ("Training (logged): Keras' running value over the last epoch, under augmentation "
                 "and dropout. Training (evaluated): the final model on the same images without "
                 "either, as validation and test are measured. Δ = ours − paper (training: the "
                 "evaluated value where measured, else the logged one); the paper reported no test split.")


def make_table(manifest: dict, name: str, header: list[str], rows: list[list[str]],
               link: str) -> Table:
    """The table ``name`` (e.g. ``tables/metrics.csv``) of the run whose manifest is given."""
    command, file = manifest.get("command"), name.removeprefix("tables/")
    paper_columns = {"paper_training", "paper_validation"}
    if command == "train" and file == "metrics.csv" and paper_columns <= set(header):
        return training_comparison(header, rows, link, **training_run(manifest))
    if command == "score-bow" and file == "table3.csv" and "phase" in header:
        return table3_comparison(header, rows, link)
    shown = rows if len(rows) <= MAX_ROWS else rows[:SHOWN_ROWS]
    return Table(file, tuple(header), tuple(tuple(_format_cell(c) for c in row) for row in shown),
                 link, total_rows=len(rows))


def training_run(manifest: dict) -> dict:
    """The model, what sets the run apart (epochs, head width, subset, precision) and whether
    it is the study's experiment (a 10-way head): only then is its table numbered as the paper's."""
    config = manifest.get("config") or {}
    details = [f"{manifest.get('epochs_done', config.get('epochs', '?'))} epochs"]
    if config.get("num_classes", 10) != 10:
        details.append(f"{config['num_classes']}-way head")
    if config.get("subset"):
        details.append(f"subset of {config['subset']} images")
    if manifest.get("precision", "float32") != "float32":
        details.append(f"in {manifest['precision']}")
    return {"model": str(config.get("model", "?")), "details": ", ".join(details),
            "numbered": config.get("num_classes", 10) == 10}


def training_comparison(header: list[str], rows: list[list[str]], link: str, model: str,
                        details: str, numbered: bool = True) -> Table:
    """Table 1 (plotka) or 2 (bonaccorso): ours, the paper's and ours minus the paper's, for the
    training and validation splits, and our test split (the study reported none). Training is
    shown twice: as Keras logged it during the last epoch (under augmentation and dropout) and
    as the final model scores on the same images without them (``training_evaluated``, "n/a"
    for runs made before it was measured); Δ training compares the evaluated value where there
    is one. ``numbered`` False: not the paper's experiment, so no "Table N" in the title."""
    column = {name: i for i, name in enumerate(header)}

    def value(row, name):
        return number(row[column[name]]) if name in column else math.nan

    out = []
    for row in rows:
        logged, evaluated = value(row, "training"), value(row, "training_evaluated")
        validation = value(row, "validation")
        paper_training, paper_validation = value(row, "paper_training"), value(row, "paper_validation")
        compared = logged if math.isnan(evaluated) else evaluated
        out.append((row[column.get("metric", 0)], fixed(logged), fixed(evaluated),
                    fixed(paper_training), fixed(compared - paper_training, sign=True),
                    fixed(validation), fixed(paper_validation),
                    fixed(validation - paper_validation, sign=True), fixed(value(row, "test"))))
    table_number = TRAINING_TABLE_NUMBER.get(model) if numbered else None
    title = f"{model} ({details}), ours vs. the paper"
    return Table(f"Table {table_number}: {title}" if table_number else title,
                 ("Metric", "Training (logged)", "Training (evaluated)", "Paper training",
                  "Δ training", "Validation", "Paper validation", "Δ validation", "Test"),
                 tuple(out), link, len(rows), note=TRAINING_NOTE, paper=True)


def partial_training(manifest: dict, link: str) -> Table | None:
    """For a train run that has not completed (running, interrupted, failed) but logged epochs:
    its last logged epoch beside the paper's Table 1 or 2, saying honestly where it stopped and
    how long the remaining epochs would take at its mean time per epoch. None otherwise."""
    history, config = manifest.get("history") or {}, manifest.get("config") or {}
    if manifest.get("command") != "train" or manifest.get("status") == "complete" or \
            not history.get("loss") or config.get("model") not in TRAINING_TABLES:
        return None
    paper = TRAINING_TABLES[config["model"]]
    rows = [[name.capitalize(), str(history[key][-1]), str(history[f"val_{key}"][-1]),
             *map(str, paper[key])] for name, key in (("accuracy", "accuracy"), ("loss", "loss"))]
    header = ["metric", "training", "validation", "paper_training", "paper_validation"]
    done, epochs = len(history["loss"]), int(config.get("epochs", paper["epochs"]))
    where = "running, at" if manifest.get("status") == "running" else "stopped at"
    table = training_comparison(header, rows, link, config["model"],
                                f"{where} epoch {done} of {epochs}")
    seconds = [float(s) for s in history.get("seconds", [])]
    remaining = (f" At its mean {sum(seconds) / len(seconds):.0f} s per epoch, the remaining "
                 f"{epochs - done} epochs would take about "
                 f"{duration(sum(seconds) / len(seconds) * (epochs - done))} (early stopping "
                 "may end it sooner)." if seconds and done < epochs else "")
    state = {"running": "still running", "interrupted": "interrupted"}.get(
        manifest.get("status"), f"marked {manifest.get('status')}")
    return dataclasses.replace(table, note=(
        f"The run is {state}: the values Keras logged in epoch {done}, not a "
        f"final model's (no evaluated training value, no test split yet).{remaining} "
        "Δ = ours − paper."))


def table3_comparison(header: list[str], rows: list[list[str]], link: str) -> Table:
    """Table 3: every column of score-bow's table, each statistic with its interval as
    "value [low, high]", and the paper's mean and median beside the before/after rows (no
    paper columns when no row is one of those phases)."""
    groups = {stat: _statistic_columns(header, stat) for stat in ("mean", "median")}
    groups = {stat: columns for stat, columns in groups.items() if columns[0] is not None}
    used = {i for columns in groups.values() for i in columns if i is not None}
    rest = [i for i in range(len(header)) if i not in used]
    phases = [TABLE3.get(row[header.index("phase")].strip().lower()) for row in rows]
    compared = any(phases)
    out_header = [header[i] for i in rest]
    for stat, (value, low, high) in groups.items():
        out_header.append(header[value] + (" [95% CI]" if low is not None and high is not None
                                           else ""))
        out_header += [f"Paper {stat}", f"Δ {stat}"] if compared else []
    out = []
    for row, paper in zip(rows, phases, strict=True):
        cells = [_format_cell(row[i]) for i in rest]
        for stat, (value, low, high) in groups.items():
            ours = number(row[value])
            interval = ("" if low is None or high is None else
                        f" [{fixed(number(row[low]))}, {fixed(number(row[high]))}]")
            cells.append(fixed(ours) + interval)
            if compared:
                cells += ([fixed(paper[stat]), fixed(ours - paper[stat], sign=True)] if paper
                          else ["", ""])
        out.append(tuple(cells))
    title = "Table 3: maximum bag-of-words score of the reconstructions"
    if compared:
        title += ", ours vs. the paper"
        note = "Δ = ours − paper; the paper gave no interval (n = 10 tries)."
    else:
        note = (f"The paper's values are for the phases {' and '.join(TABLE3)} retraining; "
                "this run has neither.")
    return Table(title, tuple(out_header), tuple(out), link, len(rows), note=note, paper=True)


def _statistic_columns(header: list[str], stat: str) -> tuple[int | None, int | None, int | None]:
    """Indices of the ``stat`` column and of its interval's low and high ends (None if absent)."""
    words = [set(re.split(r"[^a-z0-9]+", name.lower())) for name in header]
    values = [i for i, w in enumerate(words) if stat in w and not w & INTERVAL_WORDS]
    lows = [i for i, w in enumerate(words) if stat in w and w & {"low", "lower"}]
    highs = [i for i, w in enumerate(words) if stat in w and w & {"high", "upper"}]

    def single(found):
        return found[0] if len(found) == 1 else None

    return single(values), single(lows), single(highs)


def number(text: str) -> float:
    """The number a cell holds, NaN when it holds none."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def fixed(value: float, sign: bool = False) -> str:
    """3 decimals (with a sign if ``sign``), "n/a" for NaN."""
    if math.isnan(value):
        return "n/a"
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def _format_cell(text: str) -> str:
    """Integers as they are, other numbers to 4 significant digits, NaN as n/a, text as is."""
    if re.fullmatch(r"-?\d+", text.strip()):
        return text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return "n/a" if math.isnan(value) else f"{value:.4g}"
