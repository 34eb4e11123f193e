"""Reading a run folder another command wrote: its manifest, whether the run completed, and
whether the files read are still the ones it wrote.

Reading is not writing: the methods may read a run folder given as an input (a ``train`` run as
``--model``), so this module, unlike the writers of :mod:`nnvisual.runs.folder`, sits below the
command layer.

Every reader checks the files it reads, and only those (hashing a large .npz costs time), against
the sha256 the run recorded in ``manifest["outputs"]`` when it finished
(:meth:`nnvisual.runs.folder.Run.finish`): :func:`output_problem` says what is wrong with one
file, :func:`verify_outputs` turns the first problem into one line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from nnvisual.errors import UserError
from nnvisual.runtime.files import sha256_file

MANIFEST = "manifest.json"

# what can be wrong with a file a run recorded (the phrase follows the file's name)
MISSING = "is missing"
CHANGED = "does not match the sha256 its run recorded"
UNRECORDED = "is not one of the files its run recorded"


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


def output_problem(run_dir: Path, manifest: dict, relative: str, data: bytes | None = None) -> str | None:
    """What is wrong with the file ``relative`` of the run folder ``run_dir``, against the sha256
    its ``manifest`` recorded: None when it matches, else :data:`MISSING`, :data:`CHANGED` or
    :data:`UNRECORDED`. ``data``: the file's bytes, when the caller has read them (hashed
    instead of the file). A file recorded without a sha256 is not checked while its run is still
    running (it is hashed when the run ends); after, it stood for a file that did not exist."""
    outputs = manifest.get("outputs") or {}
    if relative not in outputs:
        return UNRECORDED
    path = Path(run_dir) / relative
    if data is None and not path.is_file():
        return MISSING
    recorded = outputs[relative]
    if recorded is None:
        return None if manifest.get("status") == "running" else CHANGED
    digest = hashlib.sha256(data).hexdigest() if data is not None else sha256_file(path)
    return None if digest == recorded else CHANGED


def verify_outputs(run_dir: Path, manifest: dict, relatives: Iterable[str]) -> None:
    """Check each file of ``relatives`` (each once) against the run's ``manifest``
    (:func:`output_problem`); UserError, one line naming the file and the run, for the first
    that is missing or changed."""
    for relative in dict.fromkeys(relatives):
        problem = output_problem(run_dir, manifest, relative)
        if problem is not None:
            raise UserError(f"{Path(run_dir) / relative} {problem}: the run folder {run_dir} "
                            "changed after it was written")


def verify_run_file(path: Path) -> None:
    """Check a file given by its path (e.g. ``--model RUN/model.keras``) when it lies in a run
    folder whose manifest recorded it (:func:`verify_outputs`); any other file is left alone."""
    path = Path(path)
    manifest = read_manifest(path.parent)
    if isinstance(manifest, dict) and path.name in (manifest.get("outputs") or {}):
        verify_outputs(path.parent, manifest, [path.name])
