"""Run folders: one per command invocation, with a manifest and atomically written outputs.

Layout (docs/architecture.md, "Run folders")::

    results/<command>-<name>-<YYYYmmdd-HHMMSS>/
        manifest.json   command line, resolved config, versions, device, status, outputs + sha256
        config.yaml     the resolved config
        figures/*.png  tables/*.csv  and artifacts (model.keras, *.npz)

Every file goes to a temporary name in the same folder and is renamed into place, so an
interrupted run never leaves a truncated file. The manifest's ``status`` is ``running`` until
the command finishes (``complete``), is interrupted (``interrupted``) or fails (``failed``).
Files are written through :mod:`nnvisual.runtime.files`; only this module, the command layer and
:mod:`nnvisual.runtime.cache` write files.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import yaml

from nnvisual.errors import UserError, in_command_line, named
from nnvisual.runs.environment import backend, device_description, versions
from nnvisual.runs.reading import MANIFEST, read_manifest, read_run_manifest
from nnvisual.runs.rows import RowArrays
from nnvisual.runtime.files import DiskError, atomic_path, disk_errors, sha256_file, write_bytes_atomic

RESULTS_DIR = Path("results")


class Run:
    """An open run folder. Create with :func:`create_run`, or :func:`open_run` to resume."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest

    # -- writing outputs -------------------------------------------------------------------
    def file(self, relative: str) -> Path:
        return self.path / relative

    def write_csv(self, relative: str, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
        return self._write(relative, (csv_text([header]) + csv_text(rows)).encode())

    def write_text(self, relative: str, text: str) -> Path:
        return self._write(relative, text.encode())

    def write_json(self, relative: str, data) -> Path:
        return self._write(relative, (json.dumps(data, indent=2, default=_json_default) + "\n").encode())

    def write_npz(self, relative: str, **arrays: np.ndarray) -> Path:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return self._write(relative, buffer.getvalue())

    @contextlib.contextmanager
    def row_arrays(self) -> Iterator[RowArrays]:
        """Arrays that grow a batch at a time, kept in a hidden temporary folder of the run (not
        in memory) until :meth:`write_npz_rows`; the folder is removed when the block ends."""
        with disk_errors(self.path):
            folder = Path(tempfile.mkdtemp(prefix=".rows-", dir=self.path))
        try:
            yield RowArrays(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def write_npz_rows(self, relative: str, rows: RowArrays, **arrays: np.ndarray) -> Path:
        """The .npz :meth:`write_npz` would write for ``arrays`` followed by ``rows``' arrays (each
        the concatenation of its batches), streamed from the disk: memory does not grow with the
        number of rows."""
        from nnvisual.runtime.files import write_npz_streamed

        in_memory = [(name, array.dtype, array.shape, [array.tobytes()])
                     for name, array in ((name, np.ascontiguousarray(a)) for name, a in arrays.items())]
        target = self.path / relative
        write_npz_streamed(target, [*in_memory, *rows.entries()])
        self._record(relative)
        return target

    def write_figure(self, relative: str, figure) -> Path:
        """Save a matplotlib figure as PNG (deterministic metadata) and close it."""
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight",
                       metadata={"Software": None})
        plt.close(figure)
        return self._write(relative, buffer.getvalue())

    def write_image(self, relative: str, rgb: np.ndarray) -> Path:
        """Save an RGB uint8 array as PNG with OpenCV."""
        import cv2

        ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"could not encode {relative}")
        return self._write(relative, encoded.tobytes())

    def save_model(self, relative: str, model) -> Path:
        target = self.path / relative
        with atomic_path(target) as tmp:  # the temporary name keeps the .keras Keras insists on
            model.save(tmp)
        self._record(relative)
        return target

    def move(self, relative: str, new_relative: str) -> None:
        """Rename an output within the run folder (atomically, replacing ``new_relative``)."""
        with disk_errors(self.path / new_relative):
            os.replace(self.path / relative, self.path / new_relative)
        self.manifest["outputs"].pop(relative, None)
        self._record(new_relative)

    def remove(self, relative: str) -> None:
        """Delete an output that the finished run no longer needs."""
        (self.path / relative).unlink(missing_ok=True)
        self.manifest["outputs"].pop(relative, None)

    def _write(self, relative: str, data: bytes) -> Path:
        target = self.path / relative
        write_bytes_atomic(target, data)
        self._record(relative)
        return target

    def record(self, relative: str) -> None:
        """Count a file already in the folder as an output (one written before a resume)."""
        self._record(relative)

    def _record(self, relative: str) -> None:
        self.manifest.setdefault("outputs", {})[relative] = None  # hashed when the run ends

    def record_sha256(self, relative: str) -> None:
        """Hash an output now rather than when the run ends: a file the run itself reads back
        before it ends (a checkpoint), checked then against this sha256. Saved with the manifest."""
        self.manifest.setdefault("outputs", {})[relative] = sha256_file(self.path / relative)

    # -- manifest ----------------------------------------------------------------------------
    def save_manifest(self) -> None:
        self.manifest["updated"] = _now()
        write_bytes_atomic(self.path / MANIFEST,
                           (json.dumps(self.manifest, indent=2, default=_json_default) + "\n").encode())

    def finish(self, status: str = "complete", **extra) -> None:
        """Hash every output, record the end time and the status, and write the manifest."""
        outputs = self.manifest.setdefault("outputs", {})
        for relative in list(outputs):
            path = self.path / relative
            outputs[relative] = sha256_file(path) if path.exists() else None
        self.manifest.update(status=status, ended=_now(), **extra)
        self.save_manifest()


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def csv_text(rows: Iterable[Sequence]) -> str:
    """``rows`` as the lines of a CSV table, each value as :meth:`Run.write_csv` writes it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_format_cell(value) for value in row])
    return buffer.getvalue()


def _format_cell(value):
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.integer):
        return int(value)
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def file_name(name: str) -> str:
    """``name`` (a layer path ``outer/inner`` inside nested models, a label holding one) as one
    file or folder name: each ``/`` becomes ``--``."""
    return name.replace("/", "--")


def default_run_path(command: str, name: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RESULTS_DIR / file_name(f"{command}-{name}-{stamp}")


def create_run(command: str, name: str, config: dict, out: Path | None = None,
               force: bool = False, *, record_device: bool = True) -> Run:
    """Create a run folder (``out`` or ``results/<command>-<name>-<stamp>``) and its manifest.

    ``record_device=False`` leaves the compute device and Keras backend out of the manifest,
    for commands that compute nothing (``report``) and so must not import Keras.

    An existing non-empty ``out`` is refused unless ``force``, in which case it is replaced
    only when it is a run of the same command (or empty).
    """
    path = Path(out) if out is not None else default_run_path(command, name)
    if path.exists():
        if not path.is_dir():
            raise UserError(f"output path exists and is not a folder: {path}")
        if any(path.iterdir()):
            previous = read_manifest(path)
            if not force:
                out_words = "--out" if in_command_line() else "path"
                raise UserError(f"output folder {path} already exists and is not empty; choose "
                                f"another {out_words} or pass {named('force', True)} to replace it")
            if previous is None or previous.get("command") != command:
                raise UserError(f"refusing to replace {path}: it is not a '{command}' run folder")
            shutil.rmtree(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {path}: {exc.strerror}") from None
    manifest = {
        "command": command,
        "argv": ["nnvisual", *sys.argv[1:]],
        "status": "running",
        "started": _now(),
        "config": config,
        "versions": versions(),
        **({"device": device_description(), "backend": backend()} if record_device else {}),
        "outputs": {},
    }
    run = Run(path, manifest)
    try:
        run.write_text("config.yaml", yaml.safe_dump(config, sort_keys=False))
        run.save_manifest()
    except DiskError:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return run


def open_run(path: Path, command: str) -> Run:
    """Open an existing run folder of ``command`` (e.g. to resume it)."""
    return Run(Path(path), read_run_manifest(path, command))


@contextlib.contextmanager
def running(run: Run, keep_on_failure: bool = False):
    """Finish ``run`` as complete; on an interruption (Ctrl-C, SIGTERM, or any error raised while
    a signal is pending: :func:`nnvisual.runtime.interrupts.pending`) mark it interrupted and keep
    it; on an error mark it failed, or delete it unless ``keep_on_failure``. A full disk that
    keeps the failure from being recorded leaves the last manifest written, whole."""
    from nnvisual.runtime.interrupts import Interrupted, pending

    try:
        yield run
    except (KeyboardInterrupt, Interrupted):
        if run.manifest.get("status") == "running":
            run.finish("interrupted")
        raise
    except BaseException as exc:
        if pending() is not None:  # the signal's KeyboardInterrupt, turned into another error
            if run.manifest.get("status") == "running":
                run.finish("interrupted")
            raise KeyboardInterrupt(pending()) from exc
        if run.manifest.get("status") != "running":  # already finished, e.g. as interrupted
            raise
        if keep_on_failure:
            with contextlib.suppress(DiskError):  # a full disk: the older manifest stands
                run.finish("failed")
        else:
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    if run.manifest.get("status") == "running":
        try:
            run.finish("complete")
        except DiskError:
            if not keep_on_failure:
                shutil.rmtree(run.path, ignore_errors=True)
            raise
