"""``--resume RUN`` of the scans (``attribute``, ``deconv --top9``): the option, the run reopened,
the key its checkpoint must match and the checkpoint itself (:mod:`nnvisual.runs.scan_checkpoint`;
docs/distributed.md, "Resuming a scan")."""

import hashlib
import json
from pathlib import Path

import click

from nnvisual.errors import UserError

resume_option = click.option(
    "--resume", type=click.Path(path_type=Path), default=None, metavar="RUN",
    help="Continue an interrupted or killed run of this command from its last completed batch, "
         "with the run's own config (no other option, but --unsafe).")


def reopen(path: Path, command: str, others: bool):
    """The run at ``path`` to continue, not yet touched; UserError when ``others`` (other options
    were given), or it is not a ``command`` run, or it is complete."""
    from nnvisual import runs

    if others:
        raise UserError("--resume continues a run with its own config; give no other option (but --unsafe)")
    run = runs.open_run(path, command)
    if run.manifest.get("status") == "complete":
        raise UserError(f"{path} is already complete")
    return run


def digest(value) -> str:
    """The sha256 of a JSON value (keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def weights_digest(model) -> str:
    """The sha256 of a model's weights."""
    found = hashlib.sha256()
    for weights in model.get_weights():
        found.update(str((weights.dtype.str, weights.shape)).encode())
        found.update(weights.tobytes())
    return found.hexdigest()


def checkpoint(run, key: dict, resumed: bool):
    """The scan's checkpoint of ``run``: an empty one for a new run (its manifest saved); for a
    resumed run the one it holds (UserError, before the run is touched, when it does not match
    ``key``), after which the run is marked running again, its outputs but config.yaml forgotten
    (the scan counts those it keeps) and the folder cut back to the checkpoint."""
    from nnvisual.runs.scan_checkpoint import ScanCheckpoint
    from nnvisual.runtime.files import remove_temporaries

    if not resumed:
        run.save_manifest()  # what the command recorded before the scan (deconv: its data)
        return ScanCheckpoint.new(run, key)
    found = ScanCheckpoint.found(run, key)
    run.manifest.update(status="running", outputs={"config.yaml": None})
    for stale in ("ended", "skipped"):
        run.manifest.pop(stale, None)
    run.manifest.setdefault("resumed", []).append(found.batches)
    remove_temporaries(run.path)
    found.restore()
    run.save_manifest()
    click.echo(f"resuming {run.path} after {found.batches} batches")
    return found
