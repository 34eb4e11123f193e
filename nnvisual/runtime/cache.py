"""nnvisual's caches: decoded image folders and descriptor features, as ``.npz`` files.

They live under ``$NNVISUAL_CACHE`` (default ``~/.cache/nnvisual``), one subfolder per kind,
named by a key that the caller derives from everything the content depends on. A cache is
written atomically (:mod:`nnvisual.runtime.files`) and read whole: a file that does not load (truncated,
corrupt, another format: numpy checks every array's zip CRC) or lacks an expected array is
discarded with one warning line and rebuilt, so a damaged cache never stops a run.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnvisual.runtime.cache_root import cache_dir
from nnvisual.runtime.files import DiskError, atomic_path

log = logging.getLogger(__name__)


def cache_path(kind: str, name: str) -> Path:
    """Where the cache ``name`` (a file name ending in .npz) of ``kind`` lives."""
    return cache_dir() / kind / name


def _load(path: Path, keys) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or None (with a warning) if they cannot all be read."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in keys}
    except zipfile.BadZipFile:  # numpy's message, "File is not a zip file", hides the usual cause
        log.warning("discarding the unreadable cache %s (not a complete .npz archive: truncated, "
                    "e.g. by a full disk or a killed run?); rebuilding it", path)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        log.warning("discarding the unreadable cache %s (%s); rebuilding it",
                    path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    path.unlink(missing_ok=True)
    return None


def cached_arrays(path: Path, keys, build: Callable[[], dict[str, np.ndarray]]
                  ) -> dict[str, np.ndarray]:
    """The arrays ``keys`` cached at ``path``, or ``build()``'s, which are then stored there.

    A cache that cannot be stored (a read-only or full disk) is skipped with a warning: the
    arrays are still returned.
    """
    path = Path(path)
    if path.exists() and (arrays := _load(path, keys)) is not None:
        return arrays
    arrays = build()
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    except (OSError, DiskError) as exc:  # e.g. a full disk: the run goes on without a cache
        log.warning("could not store the cache %s (%s); continuing without it", path,
                    exc.strerror if isinstance(exc, OSError) else exc)
    return arrays
