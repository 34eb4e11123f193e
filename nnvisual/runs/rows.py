"""Arrays that grow a batch of rows at a time on disk, not in memory, until a run folder writes
them as one .npz (:meth:`nnvisual.runs.folder.Run.row_arrays`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nnvisual.runtime.files import disk_errors


@dataclasses.dataclass
class _Rows:
    dtype: np.dtype
    row_shape: tuple[int, ...]
    path: Path
    count: int = 0


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

    def entries(self) -> Iterator[tuple[str, np.dtype, tuple, Iterator[bytes]]]:
        """``(name, dtype, shape, chunks)`` per array, in the order of their first batch."""
        for name, rows in self._arrays.items():
            yield name, rows.dtype, (rows.count, *rows.row_shape), _chunks(rows.path, self.CHUNK_BYTES)


def _chunks(path: Path, size: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(size):
            yield block
