"""Atomic file writing, the one way nnvisual puts bytes on disk (run folders and caches).

A file is written to a temporary name in its own folder, flushed to the disk (fsync) and renamed
into place, so a reader never sees a half-written or empty file, whatever stops the writer (a
crash, a signal, a full disk): the target is the old file or the whole new one. A full disk or
quota, a read-only file system and an I/O error are the user's to fix: they end as one
:class:`DiskError` line naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError

DISK_ERRORS = {  # errno -> what the user is told
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
}


class DiskError(UserError):
    """The disk refused a write (full, over quota, read-only or failing)."""


def sha256_file(path: Path) -> str:
    """The hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def disk_errors(path: Path):
    """Turn a disk's refusal (:data:`DISK_ERRORS`) inside the block into a DiskError naming
    ``path``; other errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        raise DiskError(f"{DISK_ERRORS[exc.errno]} while writing {path}") from None


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; if the block succeeds, flush it to the disk and
    rename it to ``path``.

    The file gets the permissions of an ordinary new file (0666 less the umask); on any error
    the temporary file is removed and ``path`` is left as it was (a disk's refusal becomes a
    :class:`DiskError`).
    """
    path = Path(path)
    tmp = None
    with disk_errors(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                                       dir=path.parent)
            os.close(fd)
            yield Path(tmp)
            _fsync(tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)


def sync(path: Path) -> None:
    """Flush the file at ``path`` to the disk (a DiskError when the disk refuses)."""
    with disk_errors(path):
        _fsync(path)


_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp.*")  # atomic_path's names (tempfile.mkstemp's)


def remove_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files that writers stopped mid-write (kill -9, a power cut) left in
    ``folder`` and below (:func:`atomic_path`'s ``.<name>.<random>.tmp<suffix>``); returns them."""
    found = [path for path in Path(folder).rglob(".*") if path.is_file() and _TEMPORARY.fullmatch(path.name)]
    for path in found:
        path.unlink()
    return found


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_npz_streamed(path: Path, entries: Iterable[tuple[str, np.dtype, tuple, Iterable[bytes]]]) -> None:
    """Write a .npz file atomically one array at a time, each from its bytes (C order) in chunks,
    so that no whole array is ever in memory. ``entries`` are ``(name, dtype, shape, chunks)``;
    the archive's members are those ``np.savez_compressed`` writes for the whole arrays (deflated
    ``name.npy`` files with format 1.0 headers; deflate's output does not depend on the chunks)."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED,
                                                   allowZip64=True) as archive:
        for name, dtype, shape, chunks in entries:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                      "shape": tuple(shape)}
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, header)
                for chunk in chunks:
                    member.write(chunk)
