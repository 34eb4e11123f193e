"""A scan's checkpoint in its run folder (``attribute``, ``deconv --top9``), so that a scan stopped
at any point (Ctrl-C, SIGTERM, kill -9, a crash) continues from its last completed batch
(``--resume RUN``; docs/distributed.md, "Resuming a scan").

``checkpoint/state.json`` is the commit point, replaced atomically after a batch: the batches
done, the scan's key (what the run must still be for the scan to continue: its config, images and
model), the length of every file the scan appends to (its arrays' rows in ``checkpoint/rows/``,
its logs ``checkpoint/<name>.log``), the name of its arrays file and the scan's own facts. Appended
bytes are flushed to the disk before a state counts them and cut back on resume to what the state
counts; an arrays file is written whole, under a new name, before a state names it. So whatever
stops a scan, the folder holds the state before or the state after, and every file a state names
is whole. The folder goes once the run's outputs are written.

A scan commits after every batch unless its last commit is recent: flushing files to the disk
takes milliseconds (15-25 ms on the development machine's virtual disk), as long as a whole batch
of a small network's top-9 scan, so a commit waits until the scan has run ``1 / BUDGET`` times as
long as the last commit took. Commits then cost at most ``BUDGET`` of a scan's time, and a stopped
scan loses at most that wait (about a second here) besides the batch it was in.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time

import numpy as np

from nnvisual.errors import UserError
from nnvisual.runs.rows import RowArrays
from nnvisual.runtime.files import disk_errors, remove_temporaries, sync, write_bytes_atomic

FOLDER = "checkpoint"
STATE = "state.json"
BUDGET = 0.02  # the share of a scan's time its commits may take (math.inf: commit every batch)


class ScanCheckpoint:
    """The checkpoint of ``run``'s scan (see the module docstring): :meth:`new` for a new run,
    :meth:`found` then :meth:`restore` to continue one. ``key``: JSON values that the run must
    still match to continue (the parts of a key are named in the refusal)."""

    def __init__(self, run, key: dict, state: dict | None = None):
        self.run = run
        self.key = json.loads(json.dumps(key))  # as a state holds it: lists, not tuples
        self.folder = run.file(FOLDER)
        self.state = state or {"batches": 0, "rows": [], "logs": {}, "arrays": None, "facts": {}}
        self.rows = RowArrays.restored(self.folder / "rows", self.state["rows"])
        self._logs = dict(self.state["logs"])
        self._last_cost, self._last_end = 0.0, time.monotonic()

    @classmethod
    def new(cls, run, key: dict) -> ScanCheckpoint:
        """An empty checkpoint in a new run folder."""
        checkpoint = cls(run, key)
        checkpoint.restore()
        return checkpoint

    @classmethod
    def found(cls, run, key: dict) -> ScanCheckpoint:
        """The checkpoint ``run`` holds (empty if it was stopped before its first), to
        :meth:`restore`; UserError when it does not match ``key`` or a file it names is shorter
        or gone. Writes nothing."""
        path = run.file(FOLDER) / STATE
        if not path.is_file():
            return cls(run, key)
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot resume {run.path}: {path} cannot be read ({exc})") from None
        ours = json.loads(json.dumps(key))
        part = next((name for name in sorted(ours.keys() | state["key"].keys())
                     if ours.get(name) != state["key"].get(name)), None)
        if part is not None:
            raise UserError(f"cannot resume {run.path}: its checkpoint does not match its {part} (changed "
                            f"since the scan began); start it again with --out {run.path} --force")
        try:
            checkpoint = cls(run, key, state)
        except UserError as exc:
            raise UserError(f"cannot resume {run.path}: {exc}; start it again with --out {run.path} "
                            "--force") from None
        for name, size in state["logs"].items():
            log = checkpoint._log(name)
            if not log.is_file() or log.stat().st_size < size:
                raise UserError(f"cannot resume {run.path}: {log} is shorter than its checkpoint "
                                f"records; start it again with --out {run.path} --force")
        if state["arrays"] is not None and not (checkpoint.folder / state["arrays"]).is_file():
            raise UserError(f"cannot resume {run.path}: {checkpoint.folder / state['arrays']} is "
                            f"gone; start it again with --out {run.path} --force")
        return checkpoint

    def restore(self) -> None:
        """Make the folder what the state says: appended files cut back to it, other arrays files
        and temporary files removed (an empty state: an empty folder)."""
        with disk_errors(self.folder):
            if not self.state["batches"]:
                shutil.rmtree(self.folder, ignore_errors=True)
            (self.folder / "rows").mkdir(parents=True, exist_ok=True)
            remove_temporaries(self.folder)
            self.rows.cut()
            for path in self.folder.glob("*.log"):
                size = self._logs.get(path.stem)
                if size is None:
                    path.unlink()
                else:
                    os.truncate(path, size)
            for path in self.folder.glob("arrays-*.npz"):
                if path.name != self.state["arrays"]:
                    path.unlink()

    @property
    def batches(self) -> int:
        """The batches the state counts as done."""
        return self.state["batches"]

    @property
    def facts(self) -> dict:
        """What the scan committed with its last batch."""
        return self.state["facts"]

    def _log(self, name: str):
        return self.folder / f"{name}.log"

    def append(self, log: str, text: str) -> None:
        """Append ``text`` to the log ``log`` (counted by the next :meth:`commit`)."""
        data = text.encode()
        with disk_errors(self._log(log)), open(self._log(log), "ab") as handle:
            handle.write(data)
        self._logs[log] = self._logs.get(log, 0) + len(data)

    def read(self, log: str) -> str:
        """The text of ``log`` that the state counts."""
        if log not in self.state["logs"]:
            return ""
        with open(self._log(log), "rb") as handle:
            return handle.read(self.state["logs"][log]).decode()

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the last commit that gave some (empty if none did)."""
        if self.state["arrays"] is None:
            return {}
        with np.load(self.folder / self.state["arrays"]) as stored:
            return {name: stored[name] for name in stored.files}

    def due(self) -> bool:
        """Whether to commit now: the scan has run ``1 / BUDGET`` times as long as the last
        commit took since it ended (a scan's first commit: at once)."""
        return time.monotonic() - self._last_end >= self._last_cost / BUDGET

    def commit(self, batches: int, arrays: dict[str, np.ndarray] | None = None, **facts) -> None:
        """Count ``batches`` done, with everything appended so far, ``arrays`` (None: those of
        the last commit) and ``facts``: flush the appended files, write the arrays under a new
        name, replace the state, remove the arrays it replaced."""
        began = time.monotonic()
        for path in [*self.rows.paths(), *(self._log(name) for name in self._logs)]:
            sync(path)
        previous = self.state["arrays"]
        name = previous
        if arrays is not None:
            name = f"arrays-{batches:06d}.npz"
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            write_bytes_atomic(self.folder / name, buffer.getvalue())
        state = {"key": self.key, "batches": batches, "rows": self.rows.state(), "logs": dict(self._logs),
                 "arrays": name, "facts": facts}
        write_bytes_atomic(self.folder / STATE, (json.dumps(state, indent=1) + "\n").encode())
        self.state = state
        if previous is not None and previous != name:
            (self.folder / previous).unlink(missing_ok=True)
        self._last_end = time.monotonic()
        self._last_cost = self._last_end - began

    def remove(self) -> None:
        """Remove the checkpoint (the run's outputs are written): its state first, so that a
        removal cut short leaves no state naming files that are gone (a resume then starts over)."""
        (self.folder / STATE).unlink(missing_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)
