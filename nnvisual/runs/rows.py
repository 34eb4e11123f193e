"""Arrays that grow a batch of rows at a time on disk, not in memory, until a run folder writes
them as one .npz (:meth:`nnvisual.runs.folder.Run.row_arrays`, or a scan's checkpoint:
:mod:`nnvisual.runs.scan_checkpoint`, which records their :meth:`RowArrays.state` and cuts them
back to it on resume)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError
from nnvisual.runtime.files import disk_errors


@dataclasses.dataclass
class _Rows:
    dtype: np.dtype
    row_shape: tuple[int, ...]
    path: Path
    count: int = 0

    @property
    def size(self) -> int:
        """Bytes of the rows."""
        return self.count * self.dtype.itemsize * int(np.prod(self.row_shape, dtype=np.int64))


class RowArrays:
    """Named arrays appended to a batch of rows at a time, each to a raw file in ``folder``
    (:meth:`Run.row_arrays`); every batch of a name has the same dtype and row shape."""

    CHUNK_BYTES = 1 << 20  # read back 1 MiB at a time

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._arrays: dict[str, _Rows] = {}

    def append(self, **batches: np.ndarray) -> None:
        for name, batch in batches.items():
            batch = np.ascontiguousarray(batch)
            rows = self._arrays.setdefault(
                name, _Rows(batch.dtype, batch.shape[1:], self.folder / f"{len(self._arrays)}.rows"))
            if (batch.dtype, batch.shape[1:]) != (rows.dtype, rows.row_shape):
                raise ValueError(f"{name}: rows of {batch.dtype} {batch.shape[1:]} after "
                                 f"{rows.dtype} {rows.row_shape}")
            with disk_errors(rows.path), open(rows.path, "ab") as handle:
                handle.write(batch.tobytes())
            rows.count += len(batch)

    def state(self) -> list[list]:
        """``[name, dtype, row shape, rows]`` of each array, in order: what :meth:`restored` needs."""
        return [[name, rows.dtype.str, list(rows.row_shape), rows.count]
                for name, rows in self._arrays.items()]

    @classmethod
    def restored(cls, folder: Path, state: list[list]) -> RowArrays:
        """The arrays of ``folder`` as they were at ``state`` (:meth:`state`), to be :meth:`cut`
        back to it; UserError when a file is shorter. Writes nothing."""
        arrays = cls(folder)
        for name, dtype, row_shape, count in state:
            rows = _Rows(np.dtype(dtype), tuple(row_shape),
                         arrays.folder / f"{len(arrays._arrays)}.rows", count)
            if not rows.path.is_file() or rows.path.stat().st_size < rows.size:
                raise UserError(f"{rows.path} holds fewer rows of {name} than its checkpoint records")
            arrays._arrays[name] = rows
        return arrays

    def cut(self) -> None:
        """Cut each file back to its rows, dropping what was appended after the state restored
        (a file begun after it goes)."""
        kept = {rows.path for rows in self._arrays.values()}
        with disk_errors(self.folder):
            for path in self.folder.glob("*.rows"):
                if path not in kept:
                    path.unlink()
            for rows in self._arrays.values():
                os.truncate(rows.path, rows.size)

    def paths(self) -> list[Path]:
        """The files the rows are in."""
        return [rows.path for rows in self._arrays.values()]

    def entries(self) -> Iterator[tuple[str, np.dtype, tuple, Iterator[bytes]]]:
        """``(name, dtype, shape, chunks)`` per array, in the order of their first batch."""
        for name, rows in self._arrays.items():
            yield name, rows.dtype, (rows.count, *rows.row_shape), _chunks(rows.path, self.CHUNK_BYTES)


def _chunks(path: Path, size: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(size):
            yield block
