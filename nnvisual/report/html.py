"""The report as one self-contained HTML page (``index.html``), rendered with Jinja2.

``templates/report.html.j2`` lays the page out with the macros of ``templates/macros.html.j2``;
``templates/report.css`` is inlined and figures are embedded as ``data:`` URIs, so the file can be
read alone and offline. Autoescaping is on: Jinja escapes every value that reaches the page.
"""

from __future__ import annotations

import base64
import functools
import re

import jinja2

from nnvisual.report import table3
from nnvisual.report.model import SECTIONS, Report, RunReport
from nnvisual.report.summary import (
    ALL_OK,
    STEP_COLUMNS,
    config_line,
    duration,
    environment,
    steps_table,
    table_note,
    total_time,
)
from nnvisual.runs import MANIFEST

NUMERIC = re.compile(r"[+\-−]?[\d.]+(e[+-]?\d+)?( \[.*\])?|n/a")  # right-aligned cells


def to_html(report: Report) -> str:
    """The report as one HTML page: inline CSS, figures as data: URIs."""
    _, rows = steps_table(report)
    steps = [(run, command, status, started, wall, manifest)
             for run, (command, _, status, started, _, wall, manifest) in zip(report.runs, rows, strict=True)]
    return _environment().get_template("report.html.j2").render(
        report=report, groups=report.by_command(), steps=steps, total_time=total_time(report),
        machine=environment(report), all_ok=ALL_OK.format(len(report.runs)))


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("nnvisual.report"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(step_columns=STEP_COLUMNS, section=lambda c: SECTIONS.get(c, c),
                       anchor=_anchor, run_anchor=_run_anchor, cell_class=_cell_class,
                       duration=duration, config_line=config_line, table_note=table_note,
                       table3_three_ways=table3.three_ways,
                       table3_artifact=table3.artifact_paragraph)
    env.filters.update(b64=lambda data: base64.b64encode(data).decode(), column_kind=_column_kind)
    return env


def _anchor(command: str) -> str:
    """The id of a command's section."""
    return "section-" + re.sub(r"[^a-z0-9]+", "-", command.lower())


def _run_anchor(run: RunReport) -> str:
    """The id of a run's section, from its folder (unique where run names are not)."""
    folder = run.manifest_link.removesuffix(MANIFEST)
    return "run-" + re.sub(r"[^A-Za-z0-9]+", "-", folder).strip("-")


def _column_kind(name: str) -> str:
    """Columns of the paper's numbers and of differences from them are marked."""
    return "paper" if name.lower().startswith("paper") else "diff" if name.startswith("Δ") else ""


def _cell_class(text: str, kind: str = "") -> str:
    """A cell's column kind, and "num" for a number (right-aligned)."""
    numeric = NUMERIC.fullmatch(text or "-")
    return " ".join(filter(None, (kind, "num" if numeric else "")))
