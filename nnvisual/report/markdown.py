"""The report as GitHub-flavoured Markdown (``report.md``); figures are linked, not embedded."""

from __future__ import annotations

from collections.abc import Sequence

from nnvisual.report import summary, table3
from nnvisual.report.model import SECTIONS, Report, RunReport, Table


def to_markdown(report: Report) -> str:
    """The report as Markdown; links are relative to the report folder."""
    lines = ["# nnvisual report: Reda & Xu (2019) reproduced", ""]
    lines += _flags(report)
    _, rows = summary.steps_table(report)
    steps = [(c, n, _status(s), st, w, f"[manifest.json]({m})") for c, n, s, st, _, w, m in rows]
    lines += ["## Steps", "", *_table(summary.STEP_COLUMNS, steps), "", summary.total_time(report), ""]
    for command, group in report.by_command():
        lines += [f"## {SECTIONS.get(command, command)}", ""]
        lines += _three_ways(group) if command == "score-bow" else []
        for run in group:
            lines += _run(run)
    lines += ["## Machine and versions", "", *_table(("", "Value"), summary.environment(report)), ""]
    return "\n".join(lines)


def _flags(report: Report) -> list[str]:
    if not report.flagged:
        return [summary.ALL_OK.format(len(report.runs)), ""]
    lines = ["## Needs attention", "",
             f"**⚠ {len(report.flagged)} of {len(report.runs)} runs need attention:**", ""]
    lines += [f"- `{r.path}` ({r.command}): {'; '.join(r.problems)}" for r in report.flagged]
    return [*lines, ""]


def _status(status: str) -> str:
    return status if status == "complete" else f"**⚠ {status}**"


def _run(run: RunReport) -> list[str]:
    so_far = " so far" if run.status == "running" else ""
    lines = [f"### {run.name}", "",
             f"Status: {_status(run.status)} · wall time {summary.duration(run.seconds)}{so_far} · "
             f"[manifest.json]({run.manifest_link})", ""]
    if run.problems:
        lines += [*(f"- ⚠ {problem}" for problem in run.problems), ""]
    if run.argv:
        lines += [f"`{run.argv}`", ""]
    if run.config:
        lines += [f"Config: {summary.config_line(run.config)}", ""]
    for table in run.tables:
        lines += _table_block(table) if table.paper else []
    for figure in run.figures:
        lines += [f"![{run.name}/{figure.name}]({figure.link})", "", f"*{figure.name}*", ""]
    for strip in run.strips:  # side by side: one line of images
        lines += [" ".join(f'<img src="{figure.link}" alt="{run.name}/{figure.name}" height="480">'
                           for figure in strip.figures), "", f"*{strip.caption}*", ""]
    for table in run.tables:
        lines += [] if table.paper else _table_block(table)
    return lines


def _three_ways(runs: list[RunReport]) -> list[str]:
    """Table 3 beside the paper's, both scorings, and the paragraph on the artifact."""
    table = table3.three_ways(runs)
    if table is None:
        return []
    return [f"**{table.title}**", "", *_table(table.header, table.rows), "", table.note, "",
            table3.artifact_paragraph(runs), ""]


def _table_block(table: Table) -> list[str]:
    return [f"**{table.title}**", "", *_table(table.header, table.rows), "",
            f"{summary.table_note(table)}CSV: [{table.file_name}]({table.link})", ""]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells):
        escaped = (str(c).replace("|", "\\|").replace("\n", " ") for c in cells)
        return "| " + " | ".join(escaped) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(row) for row in rows)]
