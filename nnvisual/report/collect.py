"""Run folders read into a :class:`~nnvisual.report.model.Report`.

Each folder's ``manifest.json``, ``figures/*.png`` and ``tables/*.csv`` are read, each checked
against the sha256 its run recorded (:func:`nnvisual.runs.output_problem`, as every reader of a
run folder does); a run that is not complete, an output missing or changed since the run (the
other outputs, not read, are only looked for) and an unreadable manifest are recorded as the
run's problems, not raised: the report shows them under "Needs attention".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

from nnvisual.errors import UserError
from nnvisual.report.comparison import make_table, partial_training
from nnvisual.report.model import SECTIONS, Figure, Report, RunReport, Strip
from nnvisual.runs import MANIFEST, output_problem
from nnvisual.runs.reading import MISSING

STRIP_FOLDERS = ("figures/explain",)  # figures shown as one strip: train --explain's epochs


def collect(paths: Sequence[Path], report_dir: Path,
            progress: Callable[[int], None] = lambda done: None) -> Report:
    """Read every run folder in ``paths``; links are made relative to ``report_dir``;
    ``progress(1)`` is called after each folder.

    A path that is not a folder holding ``manifest.json`` is a UserError (checked for every
    path before anything is read); a manifest that cannot be parsed, a run that is not complete
    and a missing or changed output are recorded in the run's ``problems``.
    """
    check_run_folders(paths)
    found = []
    for folder in dict.fromkeys(Path(os.path.abspath(p)) for p in paths):
        found.append(read_run(folder, Path(os.path.abspath(report_dir))))
        progress(1)
    return Report(tuple(sorted(found, key=_study_order)))


def _study_order(run: RunReport):
    """The study's commands first, in its order, then others; unreadable runs last."""
    order = [*SECTIONS, run.command]
    return run.status == "unreadable", order.index(run.command), run.command, run.started, run.path


def check_run_folders(paths: Sequence[Path]) -> None:
    """UserError for the first path that is not a run folder."""
    for given in paths:
        _check_run_folder(Path(given))


def _check_run_folder(folder: Path) -> None:
    if not folder.exists():
        raise UserError(f"run folder not found: {folder}")
    if not (folder / MANIFEST).is_file():
        inner = sum((p / MANIFEST).is_file() for p in folder.iterdir()) if folder.is_dir() else 0
        hint = f"; it holds {inner} run folders: pass {folder}/*/ instead" if inner else ""
        raise UserError(f"{folder} is not a run folder (no {MANIFEST}){hint}")


def read_run(folder: Path, report_dir: Path) -> RunReport:
    """One run folder as a :class:`RunReport` (never raises for a broken run)."""
    link = _relative(folder / MANIFEST, report_dir)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return RunReport(folder, link, "unknown", "unreadable",
                         problems=(f"{MANIFEST} cannot be read: {exc}",))
    if not isinstance(manifest, dict):
        return RunReport(folder, link, "unknown", "unreadable",
                         problems=(f"{MANIFEST} is not a JSON object",))
    problems = []
    status = str(manifest.get("status", "unknown"))
    if status != "complete":
        problems.append(f"not complete: status is '{status}'")
    outputs = manifest.get("outputs") or {}
    figures, tables, parsed = [], [], {}
    for name in sorted(outputs):
        is_figure = name.startswith("figures/") and name.endswith(".png")
        is_table = name.startswith("tables/") and name.endswith(".csv")
        if not (is_figure or is_table):
            if not (folder / name).exists():
                problems.append(f"{name} {MISSING}")
            continue
        data = _read_output(folder, manifest, name, problems)
        if data is None:
            continue
        file_link = _relative(folder / name, report_dir)
        if is_figure:
            figures.append(Figure(name, file_link, data))  # in name order: epoch-001, epoch-002, ...
        else:
            try:
                parsed[name] = _parse_csv(data)
                tables.append(make_table(manifest, name, *parsed[name], file_link))
            except (ValueError, LookupError) as exc:
                problems.append(f"{name} cannot be read as a table: {exc}")
    partial = (None if "tables/metrics.csv" in parsed else
               partial_training(manifest, _relative(folder / "tables/history.csv", report_dir)))
    tables += [partial] if partial else []
    return RunReport(
        path=folder, manifest_link=link, command=str(manifest.get("command", "unknown")),
        status=status, argv=" ".join(map(str, manifest.get("argv", []))),
        config=manifest.get("config") or {}, started=str(manifest.get("started", "")),
        seconds=_seconds(manifest), device=str(manifest.get("device", "")),
        backend=str(manifest.get("backend", "")), versions=manifest.get("versions") or {},
        figures=tuple(f for f in figures if str(Path(f.name).parent) not in STRIP_FOLDERS),
        strips=tuple(Strip(folder, shown) for folder in STRIP_FOLDERS
                     if (shown := tuple(f for f in figures if str(Path(f.name).parent) == folder))),
        tables=tuple(sorted(tables, key=lambda t: not t.paper)),
        problems=tuple(problems), csv=parsed)


def _read_output(folder: Path, manifest: dict, name: str, problems: list) -> bytes | None:
    """The file's bytes, or None when missing; a problem recorded when missing or changed."""
    try:
        data = (folder / name).read_bytes()
    except OSError:
        problems.append(f"{name} {MISSING}")
        return None
    problem = output_problem(folder, manifest, name, data)
    if problem is not None:
        problems.append(f"{name} {problem}")
    return data


def _parse_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file; ValueError when it is empty or ragged."""
    try:
        rows = [row for row in csv.reader(io.StringIO(data.decode())) if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(str(exc)) from None
    if not rows:
        raise ValueError("empty file")
    for number, row in enumerate(rows[1:], 1):
        if len(row) != len(rows[0]):
            raise ValueError(f"row {number} has {len(row)} cells, the header {len(rows[0])}")
    return rows[0], rows[1:]


def _relative(path: Path, start: Path) -> str:
    """A URL path from ``start`` to ``path`` (for links in report.md and index.html)."""
    return urllib.parse.quote(Path(os.path.relpath(path, start)).as_posix())


def _seconds(manifest: dict) -> float | None:
    end = manifest.get("ended") or (manifest.get("updated") if manifest.get("status") == "running"
                                     else None)
    try:
        delta = dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(manifest["started"])
    except (KeyError, TypeError, ValueError):
        return None
    return delta.total_seconds()
