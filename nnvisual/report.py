"""The study's report: run folders collected into one model, rendered as Markdown or HTML.

:func:`collect` reads run folders (their ``manifest.json``, ``figures/*.png`` and
``tables/*.csv``) into a :class:`Report`; :func:`to_markdown` and :func:`to_html` render it.
Tables 1-2 (``train``'s ``tables/metrics.csv``) and Table 3 (``score-bow``'s
``tables/table3.csv``) are shown beside the study's numbers (shared docs PAPER.md,
:mod:`nnvisual.paper`) with our value minus the paper's. The HTML embeds every figure as a
``data:`` URI and uses inline CSS only, so the file can be read alone and offline. Runs that are
not complete, outputs that are missing or changed since the run, and unreadable manifests are
reported, not raised. Nothing here writes files.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import html
import io
import json
import math
import os
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from nnvisual.errors import UserError
from nnvisual.paper import TABLE3
from nnvisual.runs import MANIFEST

SECTIONS = {  # command -> section title, in the order of the study
    "train": "Training: Tables 1-2, Figure 2",
    "deconv": "DeconvNet feature maps: Figures 3-4",
    "maximize": "Class reconstruction by activation maximization: Figure 5",
    "score-bow": "Bag of visual words: Table 3, Figure 6",
}
TRAINING_TABLE_NUMBER = {"plotka": 1, "bonaccorso": 2}
MAX_ROWS = 25  # longer tables show their first SHOWN_ROWS rows and link the whole CSV
SHOWN_ROWS = 20
INTERVAL_WORDS = {"ci", "low", "high", "lower", "upper"}
STEP_COLUMNS = ("Command", "Run", "Status", "Started", "Wall time", "Manifest")
ALL_OK = "All {} runs are complete and their outputs match their manifests."


@dataclasses.dataclass(frozen=True)
class Table:
    """A table ready to print: every cell already formatted."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    link: str = ""  # the CSV, relative to the report folder
    total_rows: int = 0  # rows in the CSV when only the first ones are shown
    note: str = ""
    paper: bool = False  # one of the study's tables, beside the paper's numbers


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str  # path inside the run folder, e.g. figures/curves.png
    link: str  # path relative to the report folder
    png: bytes


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What the report says about one run folder."""

    path: Path
    manifest_link: str  # relative to the report folder
    command: str
    status: str  # the manifest's status, or "unreadable"
    argv: str = ""
    config: dict = dataclasses.field(default_factory=dict)
    started: str = ""
    seconds: float | None = None  # ended - started, or updated - started while running
    device: str = ""
    backend: str = ""
    versions: dict = dataclasses.field(default_factory=dict)
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()  # the paper's tables first
    problems: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def ok(self) -> bool:
        return self.status == "complete" and not self.problems


@dataclasses.dataclass(frozen=True)
class Report:
    runs: tuple[RunReport, ...]  # in the study's order (see :func:`collect`)

    def by_command(self) -> list[tuple[str, list[RunReport]]]:
        """Readable runs grouped by command, in the order of :attr:`runs`."""
        readable = [r for r in self.runs if r.status != "unreadable"]
        return [(c, [r for r in readable if r.command == c])
                for c in dict.fromkeys(r.command for r in readable)]

    @property
    def flagged(self) -> list[RunReport]:
        return [r for r in self.runs if not r.ok]


# -- collecting --------------------------------------------------------------------------------
def collect(paths: Sequence[Path], report_dir: Path) -> Report:
    """Read every run folder in ``paths``; links are made relative to ``report_dir``.

    A path that is not a folder holding ``manifest.json`` is a UserError (checked for every
    path before anything is read); a manifest that cannot be parsed, a run that is not complete
    and a missing or changed output are recorded in the run's ``problems``.
    """
    for given in paths:
        _check_run_folder(Path(given))
    folders = dict.fromkeys(Path(os.path.abspath(p)) for p in paths)
    found = [read_run(folder, Path(os.path.abspath(report_dir))) for folder in folders]
    return Report(tuple(sorted(found, key=_study_order)))


def _study_order(run: RunReport):
    """The study's commands first, in its order, then others; unreadable runs last."""
    order = [*SECTIONS, run.command]
    return run.status == "unreadable", order.index(run.command), run.command, run.started, run.path


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
    figures, tables = [], []
    for name in sorted(outputs):
        is_figure = name.startswith("figures/") and name.endswith(".png")
        is_table = name.startswith("tables/") and name.endswith(".csv")
        if not (is_figure or is_table):
            continue
        data = _read_output(folder, name, outputs[name], problems)
        if data is None:
            continue
        file_link = _relative(folder / name, report_dir)
        if is_figure:
            figures.append(Figure(name, file_link, data))
        else:
            try:
                tables.append(_table(manifest, name, *_parse_csv(data), file_link))
            except (ValueError, LookupError) as exc:
                problems.append(f"{name} cannot be read as a table: {exc}")
    return RunReport(
        path=folder, manifest_link=link, command=str(manifest.get("command", "unknown")),
        status=status, argv=" ".join(map(str, manifest.get("argv", []))),
        config=manifest.get("config") or {}, started=str(manifest.get("started", "")),
        seconds=_seconds(manifest), device=str(manifest.get("device", "")),
        backend=str(manifest.get("backend", "")), versions=manifest.get("versions") or {},
        figures=tuple(figures), tables=tuple(sorted(tables, key=lambda t: not t.paper)),
        problems=tuple(problems))


def _read_output(folder: Path, name: str, digest: str | None, problems: list) -> bytes | None:
    """The file's bytes, or None (with a problem recorded) when missing or changed."""
    try:
        data = (folder / name).read_bytes()
    except OSError:
        problems.append(f"{name} is listed in the manifest but missing")
        return None
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        problems.append(f"{name} changed since the run ended (sha256 differs from the manifest)")
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


# -- tables ------------------------------------------------------------------------------------
def _table(manifest: dict, name: str, header: list[str], rows: list[list[str]], link: str) -> Table:
    command, file = manifest.get("command"), name.removeprefix("tables/")
    paper_columns = {"paper_training", "paper_validation"}
    if command == "train" and file == "metrics.csv" and paper_columns <= set(header):
        return training_comparison(header, rows, link, **_training_run(manifest))
    if command == "score-bow" and file == "table3.csv" and "phase" in header:
        return table3_comparison(header, rows, link)
    shown = rows if len(rows) <= MAX_ROWS else rows[:SHOWN_ROWS]
    return Table(file, tuple(header), tuple(tuple(_format_cell(c) for c in row) for row in shown),
                 link, total_rows=len(rows))


def _training_run(manifest: dict) -> dict:
    """The model and what sets the run apart: epochs, head width, subset, precision."""
    config = manifest.get("config") or {}
    details = [f"{manifest.get('epochs_done', config.get('epochs', '?'))} epochs"]
    if config.get("num_classes", 10) != 10:
        details.append(f"{config['num_classes']}-way head")
    if config.get("subset"):
        details.append(f"subset of {config['subset']} images")
    if manifest.get("precision", "float32") != "float32":
        details.append(f"in {manifest['precision']}")
    return {"model": str(config.get("model", "?")), "details": ", ".join(details)}


def training_comparison(header: list[str], rows: list[list[str]], link: str, model: str,
                        details: str) -> Table:
    """Table 1 (plotka) or 2 (bonaccorso): ours, the paper's and ours minus the paper's, for the
    training and validation splits, and our test split (the study reported none)."""
    column = {name: i for i, name in enumerate(header)}
    out = []
    for row in rows:
        cells = [row[column["metric"]]] if "metric" in column else [row[0]]
        for split in ("training", "validation"):
            ours, paper = _number(row[column[split]]), _number(row[column[f"paper_{split}"]])
            cells += [_fixed(ours), _fixed(paper), _fixed(ours - paper, sign=True)]
        cells.append(_fixed(_number(row[column["test"]])) if "test" in column else "n/a")
        out.append(tuple(cells))
    number = TRAINING_TABLE_NUMBER.get(model)
    title = f"{model} ({details}), ours vs. the paper"
    return Table(f"Table {number}: {title}" if number else title,
                 ("Metric", "Training", "Paper training", "Δ training", "Validation",
                  "Paper validation", "Δ validation", "Test"),
                 tuple(out), link, len(rows),
                 note="Δ = ours − paper; the paper reported no test split.", paper=True)


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
            ours = _number(row[value])
            interval = ("" if low is None or high is None else
                        f" [{_fixed(_number(row[low]))}, {_fixed(_number(row[high]))}]")
            cells.append(_fixed(ours) + interval)
            if compared:
                cells += ([_fixed(paper[stat]), _fixed(ours - paper[stat], sign=True)] if paper
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


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _fixed(value: float, sign: bool = False) -> str:
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


# -- shared summaries --------------------------------------------------------------------------
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def total_time(report: Report) -> str:
    """The summed wall time of the runs, saying how many runs it leaves out."""
    known = [r.seconds for r in report.runs if r.seconds is not None]
    unknown = len(report.runs) - len(known)
    return (f"Total wall time: {duration(sum(known))}"
            + (f" ({unknown} runs without a known time left out)." if unknown else "."))


def steps_table(report: Report) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """One row per run: command, folder, status, start, wall time and manifest link."""
    header = ("command", "run", "status", "started", "wall_seconds", "wall_time", "manifest")
    rows = [(r.command, r.name, r.status, r.started.replace("T", " "),
             "" if r.seconds is None else f"{r.seconds:.0f}",
             duration(r.seconds) + (" so far" if r.status == "running" else ""), r.manifest_link)
            for r in report.runs]
    return header, rows


def environment(report: Report) -> list[tuple[str, str]]:
    """(name, value) for the device, backend and each library version; values that differ
    between runs are listed with the runs that had them."""
    readable = [r for r in report.runs if r.status != "unreadable"]
    keys = [("device", lambda r: r.device), ("backend", lambda r: r.backend)]
    libraries = dict.fromkeys(name for r in readable for name in r.versions)
    keys += [(name, lambda r, name=name: str(r.versions.get(name, "—"))) for name in libraries]
    rows = []
    for key, get in keys:
        runs_by_value = {}
        for run in readable:
            runs_by_value.setdefault(get(run), []).append(run.name)
        rows.append((key, next(iter(runs_by_value)) if len(runs_by_value) == 1 else
                     "; ".join(f"{v} ({', '.join(r)})" for v, r in runs_by_value.items())))
    return rows


def _config_line(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


# -- Markdown ----------------------------------------------------------------------------------
def to_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown; figures are linked relative to the report folder."""
    lines = ["# nnvisual report: Reda & Xu (2019) reproduced", ""]
    lines += _md_flags(report)
    _, rows = steps_table(report)
    steps = [(c, n, _md_status(s), st, w, f"[manifest.json]({m})") for c, n, s, st, _, w, m in rows]
    lines += ["## Steps", "", *_md_table(STEP_COLUMNS, steps), "", total_time(report), ""]
    for command, group in report.by_command():
        lines += [f"## {SECTIONS.get(command, command)}", ""]
        for run in group:
            lines += _md_run(run)
    lines += ["## Machine and versions", "", *_md_table(("", "Value"), environment(report)), ""]
    return "\n".join(lines)


def _md_flags(report: Report) -> list[str]:
    if not report.flagged:
        return [ALL_OK.format(len(report.runs)), ""]
    lines = [f"**⚠ {len(report.flagged)} of {len(report.runs)} runs need attention:**", ""]
    lines += [f"- `{r.path}` ({r.command}): {'; '.join(r.problems)}" for r in report.flagged]
    return [*lines, ""]


def _md_status(status: str) -> str:
    return status if status == "complete" else f"**⚠ {status}**"


def _md_run(run: RunReport) -> list[str]:
    so_far = " so far" if run.status == "running" else ""
    lines = [f"### {run.name}", "",
             f"Status: {_md_status(run.status)} · wall time {duration(run.seconds)}{so_far} · "
             f"[manifest.json]({run.manifest_link})", ""]
    if run.problems:
        lines += [*(f"- ⚠ {problem}" for problem in run.problems), ""]
    if run.argv:
        lines += [f"`{run.argv}`", ""]
    if run.config:
        lines += [f"Config: {_config_line(run.config)}", ""]
    for table in run.tables:
        lines += _md_table_block(table) if table.paper else []
    for figure in run.figures:
        lines += [f"![{run.name}/{figure.name}]({figure.link})", "", f"*{figure.name}*", ""]
    for table in run.tables:
        lines += [] if table.paper else _md_table_block(table)
    return lines


def _md_table_block(table: Table) -> list[str]:
    csv_link = f"[{Path(table.link).name}]({table.link})"
    return [f"**{table.title}**", "", *_md_table(table.header, table.rows), "",
            _table_note(table, table.note, csv_link), ""]


def _table_note(table: Table, note: str, csv_link: str) -> str:
    """The table's note, how many rows are shown when not all, and the link to its CSV."""
    shown = (f"First {len(table.rows)} of {table.total_rows} rows; "
             if table.total_rows > len(table.rows) else "")
    return f"{note} {shown}CSV: {csv_link}".strip()


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells):
        escaped = (str(c).replace("|", "\\|").replace("\n", " ") for c in cells)
        return "| " + " | ".join(escaped) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(row) for row in rows)]


# -- HTML --------------------------------------------------------------------------------------
CSS = """
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;
background:#f6f7f9;margin:0}
main{max-width:1120px;margin:0 auto;padding:24px 32px 64px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:36px 0 8px;padding-bottom:4px;
border-bottom:2px solid #e3e6eb}h3{font-size:16px;margin:24px 0 4px}
.sub{color:#5b6472;margin:0 0 16px}
nav{font-size:14px;margin:8px 0 16px}nav a{margin-right:14px}
a{color:#1f5fbf;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;margin:6px 0 4px;font-size:13.5px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
th.paper,td.paper{background:#f4f6fb;color:#3d4a63}td.diff{font-weight:600}
.caption{font-weight:600;margin:16px 0 2px}.note{color:#5b6472;font-size:12.5px;margin:0 0 12px}
.meta{color:#5b6472;font-size:13px;margin:2px 0}code{font-size:12.5px;background:#f1f3f6;
padding:1px 4px;border-radius:3px;word-break:break-all}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600}
.complete{background:#dcf2e3;color:#1a6b35}.warn{background:#fde2e1;color:#9b1c1c}
.alert{border-left:4px solid #d64545;background:#fdf0f0;padding:8px 14px;margin:12px 0}
.alert ul{margin:4px 0;padding-left:20px}.ok{border-left:4px solid #3a9a5b;background:#eef8f1;
padding:8px 14px;margin:12px 0}
figure{margin:12px 0 20px}figure img{max-width:100%;height:auto;border:1px solid #e3e6eb}
figcaption{color:#5b6472;font-size:12.5px}
details{margin:4px 0 8px;font-size:13px}summary{cursor:pointer;color:#5b6472}
.scroll{overflow-x:auto}
"""


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page: inline CSS, figures as data: URIs."""
    groups = report.by_command()
    nav = "".join(f'<a href="#{_anchor(c)}">{_e(SECTIONS.get(c, c))}</a>' for c, _ in groups)
    _, rows = steps_table(report)
    steps = [(_e(c), _run_link(run), _badge(s), _e(st), _e(w),
              f'<a href="{_e(m)}">manifest.json</a>')
             for run, (c, _, s, st, _, w, m) in zip(report.runs, rows, strict=True)]
    body = ["<h1>nnvisual report</h1>",
            '<p class="sub">Reda &amp; Xu (2019), "Visualizing and Interpreting Neural Networks", '
            f"reproduced: {len(report.runs)} runs.</p>",
            f'<nav><a href="#steps">Steps</a>{nav}<a href="#machine">Machine</a></nav>',
            _html_flags(report),
            '<h2 id="steps">Steps</h2>',
            _html_table(STEP_COLUMNS, steps), f'<p class="note">{_e(total_time(report))}</p>']
    for command, group in groups:
        body.append(f'<h2 id="{_anchor(command)}">{_e(SECTIONS.get(command, command))}</h2>')
        body += [_html_run(run) for run in group]
    env = [(_e(k), _e(v)) for k, v in environment(report)]
    body += ['<h2 id="machine">Machine and versions</h2>', _html_table(("", "Value"), env)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>nnvisual report</title><style>{CSS}</style></head>\n"
            "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


def _e(text) -> str:
    return html.escape(str(text))


def _anchor(command: str) -> str:
    return "section-" + re.sub(r"[^a-z0-9]+", "-", command.lower())


def _run_anchor(run: RunReport) -> str:
    folder = run.manifest_link.removesuffix(MANIFEST)
    return "run-" + re.sub(r"[^A-Za-z0-9]+", "-", folder).strip("-")


def _run_link(run: RunReport) -> str:
    """The run's name, linked to its section (unreadable runs have none)."""
    if run.status == "unreadable":
        return _e(run.name)
    return f'<a href="#{_run_anchor(run)}">{_e(run.name)}</a>'


def _badge(status: str) -> str:
    kind = "complete" if status == "complete" else "warn"
    return f'<span class="badge {kind}">{_e(status)}</span>'


def _html_flags(report: Report) -> str:
    if not report.flagged:
        return f'<div class="ok">{ALL_OK.format(len(report.runs))}</div>'
    items = "".join(f"<li><code>{_e(r.path)}</code> ({_e(r.command)}): "
                    f"{_e('; '.join(r.problems))}</li>" for r in report.flagged)
    return (f'<div class="alert"><strong>{len(report.flagged)} of {len(report.runs)} runs need '
            f"attention</strong><ul>{items}</ul></div>")


def _html_run(run: RunReport) -> str:
    parts = [f'<h3 id="{_run_anchor(run)}">{_e(run.name)}</h3>',
             f'<p class="meta">{_badge(run.status)} · wall time {_e(duration(run.seconds))}'
             f'{" so far" if run.status == "running" else ""} · '
             f'<a href="{_e(run.manifest_link)}">manifest.json</a></p>']
    if run.problems:
        parts.append(f'<div class="alert"><ul>{"".join(f"<li>{_e(p)}</li>" for p in run.problems)}'
                     "</ul></div>")
    if run.argv:
        parts.append(f'<p class="meta"><code>{_e(run.argv)}</code></p>')
    if run.config:
        parts.append(f"<details><summary>Configuration</summary><code>"
                     f"{_e(_config_line(run.config))}</code></details>")
    parts += [_html_table_block(t) for t in run.tables if t.paper]
    for figure in run.figures:
        data = base64.b64encode(figure.png).decode()
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_e(figure.name)}">'
                     f"<figcaption>{_e(figure.name)}</figcaption></figure>")
    parts += [_html_table_block(t) for t in run.tables if not t.paper]
    return "\n".join(parts)


def _html_table_block(table: Table) -> str:
    """Caption, table and note; a table cut to its first rows is folded away."""
    block = (_html_table(table.header, [tuple(_e(c) for c in row) for row in table.rows])
             + f'<p class="note">{_table_note(table, _e(table.note), _csv_anchor(table))}</p>')
    if table.total_rows > len(table.rows):
        return (f'<details><summary class="caption">{_e(table.title)} ({table.total_rows} rows)'
                f"</summary>{block}</details>")
    return f'<p class="caption">{_e(table.title)}</p>{block}'


def _csv_anchor(table: Table) -> str:
    return f'<a href="{_e(table.link)}">{_e(Path(table.link).name)}</a>'


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of already-escaped cells; numbers right-aligned, paper and Δ columns marked."""
    kinds = ["paper" if h.lower().startswith("paper") else "diff" if h.startswith("Δ") else ""
             for h in header]
    head = "".join(f'<th class="{k}">{_e(h)}</th>' for h, k in zip(header, kinds, strict=True))

    def cell(text, kind):
        numeric = re.fullmatch(r"[+\-−]?[\d.]+(e[+-]?\d+)?( \[.*\])?|n/a", text or "-")
        classes = " ".join(filter(None, (kind, "num" if numeric else "")))
        return f'<td class="{classes}">{text}</td>'

    body = "".join("<tr>" + "".join(cell(c, k) for c, k in zip(row, kinds, strict=True)) + "</tr>"
                   for row in rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")
