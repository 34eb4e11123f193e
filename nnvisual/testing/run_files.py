"""Readers of a run folder's CSV tables and manifest, for tests, and :func:`flip_byte`, which
changes one of its files as a damaged disk or a stray edit would.

The readers read the files with the standard library only (``csv``, ``json``), independently of
``nnvisual.runs``, so a test that uses them checks what is on disk, not what the code under test
believes it wrote.
"""

import csv
import json
from pathlib import Path


def read_csv(path) -> list[dict]:
    """The rows of a CSV file with a header line, as dicts of strings (``csv.DictReader``)."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def read_manifest(run_dir) -> dict:
    """The parsed ``manifest.json`` of the run folder ``run_dir``."""
    return json.loads((Path(run_dir) / "manifest.json").read_text())


def flip_byte(path, at: int | None = None) -> None:
    """Change one byte of the file at ``path`` (the middle one unless ``at``), its size kept."""
    data = bytearray(Path(path).read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0x01
    Path(path).write_bytes(bytes(data))


def run_files(run_dir) -> dict[str, bytes]:
    """Every file of the run folder ``run_dir`` but its manifest (which records times), as bytes
    by path relative to the folder."""
    root = Path(run_dir)
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and path.name != "manifest.json"}
