"""What a report holds: run folders read into tables and figures ready to render."""

from __future__ import annotations

import dataclasses
from pathlib import Path

SECTIONS = {  # command -> section title, in the order of the study
    "train": "Training: Tables 1-2, Figure 2",
    "deconv": "DeconvNet feature maps: Figures 3-4",
    "maximize": "Class reconstruction by activation maximization: Figure 5",
    "score-bow": "Bag of visual words: Table 3, Figure 6",
}


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

    @property
    def file_name(self) -> str:
        """The CSV's name, as it appears in :attr:`link`."""
        return Path(self.link).name


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str  # path inside the run folder, e.g. figures/curves.png
    link: str  # path relative to the report folder
    png: bytes


@dataclasses.dataclass(frozen=True)
class Strip:
    """Figures of one folder shown side by side, in order: ``train --explain``'s
    ``figures/explain/epoch-NNN.png``, the maps over the epochs."""

    folder: str  # inside the run folder, e.g. figures/explain
    figures: tuple[Figure, ...]

    @property
    def caption(self) -> str:
        first, last = (Path(f.name).stem for f in (self.figures[0], self.figures[-1]))
        return f"{self.folder}/: {first} to {last}" if len(self.figures) > 1 else self.figures[0].name


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
    strips: tuple[Strip, ...] = ()  # figures side by side (STRIP_FOLDERS)
    tables: tuple[Table, ...] = ()  # the paper's tables first
    problems: tuple[str, ...] = ()
    csv: dict = dataclasses.field(default_factory=dict)  # tables/<name>.csv -> (header, rows), as read

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def ok(self) -> bool:
        return self.status == "complete" and not self.problems


@dataclasses.dataclass(frozen=True)
class Report:
    runs: tuple[RunReport, ...]  # in the study's order (see :func:`nnvisual.report.collect`)

    def by_command(self) -> list[tuple[str, list[RunReport]]]:
        """Readable runs grouped by command, in the order of :attr:`runs`."""
        readable = [r for r in self.runs if r.status != "unreadable"]
        return [(c, [r for r in readable if r.command == c])
                for c in dict.fromkeys(r.command for r in readable)]

    @property
    def flagged(self) -> list[RunReport]:
        return [r for r in self.runs if not r.ok]
