"""Reading a run folder another command wrote: its manifest, and whether the run completed.

Reading is not writing: the methods may read a run folder given as an input (a ``train`` run as
``--model``), so this module, unlike the writers of :mod:`nnvisual.runs.folder`, sits below the
command layer.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnvisual.errors import UserError

MANIFEST = "manifest.json"


def read_manifest(path: Path) -> dict | None:
    """The parsed manifest of the run folder ``path``, None when it has no readable one."""
    try:
        return json.loads((Path(path) / MANIFEST).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def read_run_manifest(path: Path, command: str) -> dict:
    """The manifest of the ``command`` run folder at ``path``; UserError if it is not one."""
    manifest = read_manifest(path)
    if manifest is None:
        raise UserError(f"{path} is not a run folder (no readable {MANIFEST})")
    if manifest.get("command") != command:
        raise UserError(f"{path} is a '{manifest.get('command')}' run, not a '{command}' run")
    return manifest


def require_complete_run(path: Path, command: str) -> dict:
    """Return the manifest of a finished ``command`` run at ``path``, or raise UserError."""
    manifest = read_run_manifest(path, command)
    if manifest.get("status") != "complete":
        raise UserError(f"{path} is an incomplete '{command}' run (status: {manifest.get('status')}); "
                        "rerun or resume it first")
    return manifest
