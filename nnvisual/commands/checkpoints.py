"""Training checkpoints in a ``train`` run folder, safe against crashes and damaged files.

After every epoch the model is saved atomically as ``checkpoints/epoch-NNN.keras``, then the
manifest records it with its sha256: the manifest is the commit point, so a checkpoint it names
is whole. The two newest are kept; when training ends the last becomes ``model.keras`` and the
folder goes. A resume loads the newest recorded checkpoint that is as it was written (its sha256
matches the manifest's, :func:`nnvisual.runs.output_problem`) and loads; if it was damaged or
changed since (a crash during a copy, a disk that filled up elsewhere, an edit) it falls back to
the one before and says so, and when none is left it ends in one line. A checkpoint recorded
without a sha256 (a run that crashed under an nnvisual that did not record them) is only loaded.
"""

import zipfile

import click

from nnvisual.errors import UserError

FINAL = "model.keras"
KEPT = 2  # checkpoints kept while training: the newest and the one before


def _name(epochs_done: int) -> str:
    return f"checkpoints/epoch-{epochs_done:03d}.keras"


def save(run, model, epochs_done: int, history: dict) -> None:
    """Checkpoint ``model`` after ``epochs_done`` epochs (see the module docstring)."""
    from nnvisual.steps import train as step

    name = _name(epochs_done)
    run.save_model(name, model)
    run.record_sha256(name)  # a resume reads it back: checked against this
    run.write_csv("tables/history.csv", *step.history_table(history))
    recorded = [*run.manifest.get("checkpoints", []), name]
    run.manifest.update(history=history, epochs_done=epochs_done, checkpoints=recorded[-KEPT:])
    run.save_manifest()
    for old in recorded[:-KEPT]:
        run.remove(old)


def load(run):
    """``(model, history)`` of the newest recorded checkpoint that loads, or ``(None, None)``
    for a run stopped before its first; UserError when checkpoints were recorded but none loads.
    """
    import keras

    from nnvisual import runs

    problems = []
    for name in reversed(run.manifest.get("checkpoints", [])):
        path = run.file(name)
        try:
            if not path.is_file():
                raise ValueError("the file is missing")
            problem = runs.output_problem(run.path, run.manifest, name)
            if problem is not None:
                raise ValueError(f"it {problem}")
            if not zipfile.is_zipfile(path):
                raise ValueError("truncated or not a .keras file")
            model = keras.models.load_model(path)
        except Exception as exc:  # any damage: the checkpoint before is tried
            problems.append(f"{name} cannot be loaded ({str(exc).splitlines()[0]})")
            continue
        epochs = int(name.removesuffix(".keras").rpartition("-")[2])
        if problems:
            click.echo(f"warning: {problems[0]}; resuming from {name}", err=True)
        history = {key: values[:epochs] for key, values in run.manifest["history"].items()}
        return model, history
    if problems:
        raise UserError(f"cannot resume {run.path}: {'; '.join(problems)}; start it again with "
                        f"nnvisual train --out {run.path} --force")
    return None, None


def finish(run) -> None:
    """The newest checkpoint becomes ``model.keras``; the others go."""
    *older, newest = run.manifest.pop("checkpoints")
    run.move(newest, FINAL)
    for name in older:
        run.remove(name)
    run.file("checkpoints").rmdir()
