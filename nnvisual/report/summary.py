"""Summaries both renderings show: the steps, wall times, machine and versions, table notes."""

from __future__ import annotations

from nnvisual.report.model import Report, Table

STEP_COLUMNS = ("Command", "Run", "Status", "Started", "Wall time", "Manifest")
ALL_OK = "All {} runs are complete and their outputs match their manifests."


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


def config_line(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def table_note(table: Table) -> str:
    """What precedes the link to a table's CSV: its note and, when cut, how many rows it shows."""
    shown = (f"First {len(table.rows)} of {table.total_rows} rows; "
             if table.total_rows > len(table.rows) else "")
    return f"{table.note} {shown}".lstrip()
